//! The `untrusted_numbers` fuzz target on stable Rust, for a bounded time,
//! in every test run: prices, `Retry-After` values, JSON numbers, links,
//! channel URLs, push subscriptions and outbound addresses must never panic
//! and must stay within their bounds (the checks are in
//! `fuzz/fuzz_targets/untrusted_numbers_body.rs`, shared with libFuzzer).
//!
//! It runs every committed seed (`fuzz/seeds/untrusted_numbers/`, one
//! value per line), then mutates them at random, without coverage feedback,
//! for `DW_FUZZ_SECS` seconds (default 20). The random seed comes from
//! `DW_FUZZ_SEED` or the clock and is printed; the same seed replays the
//! same inputs in the same order, so a failure recurs when run at least as
//! long. A failing input is printed as escaped bytes: keep it as a new seed
//! file once fixed.
//!
//! ```text
//! DW_FUZZ_SECS=120 DW_FUZZ_SEED=42 cargo test -p monitor --test hostile_fuzz -- --nocapture
//! ```
//!
//! For a deep, coverage-guided run use libFuzzer on nightly instead (see
//! the top of `fuzz/Cargo.toml`):
//!
//! ```text
//! cd fuzz && cargo +nightly fuzz run --sanitizer none untrusted_numbers \
//!     corpus/untrusted_numbers seeds/untrusted_numbers -- -max_total_time=600
//! ```

#[path = "../../fuzz/fuzz_targets/untrusted_numbers_body.rs"]
mod body;

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Fewer executions than this means the runner is broken (or the body far
/// too slow to be worth running), not that the code is sound.
const MIN_EXECUTIONS: u64 = 1_000;
/// Inputs longer than this only slow each execution down.
const MAX_INPUT: usize = 4096;
/// Mutated inputs kept to mutate further (a drift away from the seeds).
const MAX_POOL: usize = 1024;

/// Tokens that turn a number, a date, a URL or an address into a hostile one.
const DICTIONARY: &[&str] = &[
    "e",
    "E",
    "e-",
    "e+",
    "-",
    "+",
    ".",
    ",",
    "_",
    " ",
    "\t",
    "\n",
    "0",
    "9",
    "9999999999999999999999",
    "79228162514264337593543950335",
    "1000000000",
    "0.0001",
    "NaN",
    "nan",
    "inf",
    "-inf",
    "infinity",
    "0x",
    "[",
    "]",
    ":",
    "//",
    "@",
    "%",
    "%2F",
    "%00",
    "?",
    "#",
    "\\",
    "::ffff:",
    "::",
    "127.0.0.1",
    "127.1",
    "0.0.0.0",
    "169.254.169.254",
    "localhost",
    "http://",
    "https:",
    "webpush:",
    "discord://",
    "mailto://",
    "ntfys://",
    "json://",
    "\"",
    "{",
    "}",
    " GMT",
    "Fri, 31 Dec 9999 23:59:59",
    "é",
    "\u{202e}",
    "\u{a0}",
    "\u{feff}",
    "\u{1}",
];

fn seed_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds/untrusted_numbers")
}

fn seeds() -> Vec<(String, Vec<u8>)> {
    let dir = seed_dir();
    let mut seeds: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("the seeds in {}: {e}", dir.display()))
        .map(|entry| entry.expect("a seed directory entry").path())
        .filter(|p| {
            p.is_file()
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (
                p.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned(),
                bytes,
            )
        })
        .collect();
    // read_dir's order is the file system's; a replay needs the same pool.
    seeds.sort();
    seeds
}

/// Runs one input; on a panic, says which input and how to replay it, then
/// lets the panic fail the test.
fn execute(input: &[u8], origin: &str, replay: &str) {
    if let Err(panic) = catch_unwind(AssertUnwindSafe(|| body::run(input))) {
        eprintln!(
            "hostile_fuzz: {origin} failed on the input (one value per line)\n  b\"{}\"\n{replay}",
            input.escape_ascii()
        );
        resume_unwind(panic);
    }
}

fn env_u64(name: &str) -> Option<u64> {
    let raw = std::env::var(name).ok()?;
    Some(
        raw.trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={raw:?} is not a whole number")),
    )
}

#[test]
fn untrusted_numbers_and_headers_stay_within_their_bounds() {
    let seeds = seeds();
    assert!(
        seeds.len() >= 30,
        "only {} seeds in {}",
        seeds.len(),
        seed_dir().display()
    );
    for (name, input) in &seeds {
        execute(
            input,
            &format!("the seed {name}"),
            "  (a committed seed, not a mutation)",
        );
    }

    let secs = env_u64("DW_FUZZ_SECS").unwrap_or(20);
    let seed = env_u64("DW_FUZZ_SEED").unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    });
    let replay = format!(
        "  replay: DW_FUZZ_SEED={seed} DW_FUZZ_SECS={secs} cargo test -p monitor --test hostile_fuzz"
    );
    eprintln!(
        "hostile_fuzz: {} seeds, then mutations for {secs} s with DW_FUZZ_SEED={seed}",
        seeds.len()
    );

    let mut rng = StdRng::seed_from_u64(seed);
    let mut pool: Vec<Vec<u8>> = seeds.into_iter().map(|(_, input)| input).collect();
    let seeded = pool.len();
    let mut executions = seeded as u64;
    let started = Instant::now();
    let deadline = started
        .checked_add(Duration::from_secs(secs))
        .expect("DW_FUZZ_SECS is a sane number of seconds");
    while Instant::now() < deadline {
        let input = mutate(&mut rng, &pool);
        execute(&input, &format!("execution {executions}"), &replay);
        executions += 1;
        // Keep some mutants to mutate again; replace old ones once full,
        // never the seeds themselves.
        if rng.random_ratio(1, 8) {
            if pool.len() < MAX_POOL {
                pool.push(input);
            } else if seeded < pool.len() {
                let at = rng.random_range(seeded..pool.len());
                pool[at] = input;
            }
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    eprintln!(
        "hostile_fuzz: {executions} executions in {elapsed:.1} s ({:.0}/s), DW_FUZZ_SEED={seed}",
        executions as f64 / elapsed.max(1e-3)
    );
    assert!(
        executions >= MIN_EXECUTIONS,
        "only {executions} executions in {secs} s: the runner ran almost nothing (DW_FUZZ_SECS too small, or the body too slow)"
    );
}

/// One to eight stacked mutations of an input from the pool.
fn mutate(rng: &mut StdRng, pool: &[Vec<u8>]) -> Vec<u8> {
    let mut data = pool[rng.random_range(0..pool.len())].clone();
    for _ in 0..rng.random_range(1..=8) {
        match rng.random_range(0..10) {
            // Flip one bit.
            0 if !data.is_empty() => {
                let at = rng.random_range(0..data.len());
                data[at] ^= 1u8 << rng.random_range(0..8u32);
            }
            // Overwrite a byte with a boundary value.
            1 if !data.is_empty() => {
                const EDGES: [u8; 10] = [0, 0x7f, 0x80, 0xff, b'\n', b' ', b'0', b'9', b'.', b'-'];
                let at = rng.random_range(0..data.len());
                data[at] = EDGES[rng.random_range(0..EDGES.len())];
            }
            // Insert a random byte.
            2 => {
                let at = rng.random_range(0..=data.len());
                data.insert(at, rng.random());
            }
            // Delete a range.
            3 if !data.is_empty() => {
                let range = span(rng, data.len());
                put(&mut data, range, &[]);
            }
            // Duplicate a range in place.
            4 if !data.is_empty() => {
                let range = span(rng, data.len());
                let copy = data[range.clone()].to_vec();
                put(&mut data, range.end..range.end, &copy);
            }
            // Splice with another input: a piece of it inserted, or its tail.
            5 => {
                let other = &pool[rng.random_range(0..pool.len())];
                if other.is_empty() {
                    continue;
                }
                let piece = span(rng, other.len());
                let at = rng.random_range(0..=data.len());
                if rng.random_bool(0.5) {
                    put(&mut data, at..at, &other[piece]);
                } else {
                    data.truncate(at);
                    data.extend_from_slice(&other[piece.start..]);
                }
            }
            // Insert a dictionary token.
            6 | 7 => {
                let token = DICTIONARY[rng.random_range(0..DICTIONARY.len())].as_bytes();
                let at = rng.random_range(0..=data.len());
                put(&mut data, at..at, token);
            }
            // Replace a range with a dictionary token.
            8 if !data.is_empty() => {
                let token = DICTIONARY[rng.random_range(0..DICTIONARY.len())].as_bytes();
                let range = span(rng, data.len());
                put(&mut data, range, token);
            }
            // Change a digit (numbers near their bounds), or add one.
            _ => {
                let digit = b'0' + rng.random_range(0..10u8);
                let first_digit = data.iter().position(|b| b.is_ascii_digit());
                match first_digit {
                    Some(first) if rng.random_bool(0.5) => {
                        let at = rng.random_range(first..data.len());
                        if data[at].is_ascii_digit() {
                            data[at] = digit;
                        }
                    }
                    _ => {
                        let at = rng.random_range(0..=data.len());
                        data.insert(at, digit);
                    }
                }
            }
        }
    }
    data.truncate(MAX_INPUT);
    data
}

/// Replaces `range` of `data` with `bytes` (an empty range inserts, empty
/// bytes delete).
fn put(data: &mut Vec<u8>, range: std::ops::Range<usize>, bytes: &[u8]) {
    let tail = data.split_off(range.end);
    data.truncate(range.start);
    data.extend_from_slice(bytes);
    data.extend_from_slice(&tail);
}

/// A random non-empty range of at most 16 bytes within `len` (> 0).
fn span(rng: &mut StdRng, len: usize) -> std::ops::Range<usize> {
    let start = rng.random_range(0..len);
    let end = rng.random_range(start + 1..=len.min(start + 16));
    start..end
}
