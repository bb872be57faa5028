//! Numbers and headers from outside (prices, `Retry-After`, JSON numbers,
//! links, channel URLs, push subscriptions, addresses): never a panic, and
//! what is kept stays within its bounds. The checks and the input format
//! are in `untrusted_numbers_body.rs`, which `monitor/tests/hostile_fuzz.rs`
//! also runs for a bounded time on stable Rust in every test run.
#![no_main]

#[path = "untrusted_numbers_body.rs"]
mod body;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| body::run(data));
