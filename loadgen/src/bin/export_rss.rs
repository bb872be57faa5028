//! Export memory ("Moving in and out"): the release binary with 10,000 demo
//! products (`DW_EXPORT_PRODUCTS`), given history by ROUNDS of 10,000
//! price and stock changes each polled in (`DW_EXPORT_ROUNDS`, default 52:
//! a change a week for a year, spread over the catalogue), then downloads
//! the products and history exports as CSV (and products as JSON). For
//! each it prints bytes, rows, time, and the server's resident memory
//! before and at its peak during the download (the peak is reset first),
//! so "streamed" can be read as "the peak does not grow with the file".
//!
//! `scripts/bench-export.sh` builds the release binary and runs this.

use std::time::{Duration, Instant};

use loadgen::env_or;
use serde_json::json;

/// The newest event's number.
async fn last_seq(s: &loadgen::Server) -> u64 {
    s.get("/api/v1/events?limit=1").await["last_seq"]
        .as_u64()
        .unwrap_or(0)
}

/// Waits until `seq` grows to `want` or stops growing for 5 s (changes to
/// one size within a round may cancel out, so `want` is a guess).
async fn settle(s: &loadgen::Server, want: u64) -> u64 {
    let (mut last, mut since) = (last_seq(s).await, Instant::now());
    while last < want && since.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let now = last_seq(s).await;
        if now != last {
            (last, since) = (now, Instant::now());
        }
    }
    last
}

struct Measured {
    bytes: u64,
    rows: u64,
    secs: f64,
    rss_before: f64,
    rss_peak: f64,
}

/// Downloads `path` chunk by chunk (nothing kept but counts), watching the
/// server's memory.
async fn download(s: &loadgen::Server, path: &str) -> Measured {
    tokio::time::sleep(Duration::from_millis(500)).await;
    s.reset_peak_rss();
    let rss_before = s.rss_mb().0;
    let t = Instant::now();
    let mut resp = s
        .http
        .get(format!("{}{path}", s.base))
        .bearer_auth(&s.token)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    assert!(resp.status().is_success(), "{path}: {}", resp.status());
    let (mut bytes, mut lines, mut chunks, mut sampled) = (0u64, 0u64, 0u64, rss_before);
    while let Some(chunk) = resp
        .chunk()
        .await
        .unwrap_or_else(|e| panic!("{path} was cut off: {e}"))
    {
        bytes += chunk.len() as u64;
        lines += chunk.iter().filter(|b| **b == b'\n').count() as u64;
        // /proc's peak (VmHWM) is the measure; a sample now and then shows
        // it was not a moment before the download.
        chunks += 1;
        if chunks % 16 == 0 {
            sampled = sampled.max(s.rss_mb().0);
        }
    }
    let secs = t.elapsed().as_secs_f64();
    let rss_peak = s.rss_mb().1.max(sampled);
    // CSV: a header line; JSON: "[" and "]" lines around one row a line.
    let rows = if path.contains("format=json") {
        lines.saturating_sub(2)
    } else {
        lines.saturating_sub(1)
    };
    Measured {
        bytes,
        rows,
        secs,
        rss_before,
        rss_peak,
    }
}

#[tokio::main]
async fn main() {
    let products = env_or("DW_EXPORT_PRODUCTS", 10_000);
    let rounds = env_or("DW_EXPORT_ROUNDS", 52);
    // Changes only when asked (the rounds), polled every second.
    let s = loadgen::start(products, &[]).await;
    let t = Instant::now();
    loop {
        let matched = s.get("/api/v1/products").await["matched"]
            .as_u64()
            .unwrap_or(0);
        if matched as usize >= products {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(600),
            "only {matched} of {products} products after 10 minutes"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    println!(
        "export: {products} products imported in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let t = Instant::now();
    let mut seq = last_seq(&s).await;
    for round in 1..=rounds {
        let done = s
            .http
            .post(format!("{}/demo/control/tick", s.base))
            .bearer_auth(&s.token)
            .json(&json!({ "changes": 10_000 }))
            .send()
            .await
            .unwrap()
            .json::<Vec<String>>()
            .await
            .unwrap_or_default();
        seq = settle(&s, seq + done.len() as u64 * 3 / 4).await;
        if round % 10 == 0 {
            println!("export: history round {round}/{rounds}, {seq} events");
        }
    }
    println!(
        "export: {rounds} rounds of changes in {:.1} s, {seq} events",
        t.elapsed().as_secs_f64()
    );
    let (idle, _) = s.rss_mb();
    println!("export: server RSS idle {idle:.1} MB");
    println!(
        "export: {:<36} {:>10} {:>9} {:>7} {:>10} {:>9} {:>8}",
        "download", "MB", "rows", "s", "RSS before", "RSS peak", "growth"
    );
    for path in [
        "/api/v1/export/products?format=csv",
        "/api/v1/export/products?format=json",
        "/api/v1/export/history?format=csv",
        "/api/v1/export/events?format=csv",
    ] {
        let m = download(&s, path).await;
        println!(
            "export: {:<36} {:>10.1} {:>9} {:>7.1} {:>10.1} {:>9.1} {:>8.1}",
            path.trim_start_matches("/api/v1/export/"),
            m.bytes as f64 / 1e6,
            m.rows,
            m.secs,
            m.rss_before,
            m.rss_peak,
            m.rss_peak - m.rss_before
        );
    }
}
