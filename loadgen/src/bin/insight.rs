//! Deal scores and restock outlooks at scale, against the release binary
//! (issue 20): 10,000 demo products, each with a year of made-up history
//! (`--demo-history-products`), on the default on-disk database.
//!
//! - full recompute: the pass over every product that follows the history
//!   being written (`dropwatch_insight_last_full_pass_seconds`);
//! - per-change update: 5 rounds of 200 demo changes, each product an event
//!   touched assessed again a second later (history read included), mean
//!   time per product from `dropwatch_insight_assess_seconds_total`;
//! - dashboard SSR with the badges: the grid as it opens and sorted by best
//!   deal, median of 20 requests each, against the same binary and catalogue
//!   first started without history (no scores, no badges, an empty trending
//!   strip): what the dashboard cost before insight.
//!
//! `scripts/bench-insight.sh` builds the release binary and runs this
//! (`DW_INSIGHT_PRODUCTS` changes the size).

use std::time::{Duration, Instant};

use loadgen::{env_or, percentile, start, Server};
use serde_json::json;

#[tokio::main]
async fn main() {
    let products = env_or("DW_INSIGHT_PRODUCTS", 10_000);
    let n = products.to_string();
    println!("baseline: {products} demo products without history (no badges)");
    let baseline = {
        let s = start(products, &["--demo-history-products", "0"]).await;
        // Every product read and assessed (on its first sight: no score).
        let started = Instant::now();
        while s.counter("dropwatch_insight_assessments_total").await < products as f64 {
            assert!(
                started.elapsed() < Duration::from_secs(600),
                "the baseline's products were not all read in 10 minutes"
            );
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        let shown = s.get("/api/v1/products").await["matched"]
            .as_u64()
            .unwrap_or(0);
        assert_eq!(
            shown, products as u64,
            "the baseline's grid has every product"
        );
        ssr(&s, "/").await
    };
    println!(
        "dashboard SSR / without insight: median {:.0} ms, p95 {:.0} ms",
        baseline.0, baseline.1
    );
    println!("starting the release binary: {products} demo products, a year of history each");
    let started = Instant::now();
    let s = start(products, &["--demo-history-products", &n]).await;
    // Wait for the history to be written and every product assessed with it.
    let mut last_report = Instant::now();
    loop {
        let scored = s.counter("dropwatch_deals_scored").await;
        let passes = s.counter("dropwatch_insight_full_passes_total").await;
        if scored >= products as f64 * 0.5 && passes >= 2.0 {
            break;
        }
        if last_report.elapsed() > Duration::from_secs(30) {
            println!(
                "  … {scored} scored after {passes} passes ({:.0} s)",
                started.elapsed().as_secs_f64()
            );
            last_report = Instant::now();
        }
        if started.elapsed() > Duration::from_secs(1800) {
            panic!("no full pass with scores after 30 minutes");
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let full = s.counter("dropwatch_insight_last_full_pass_seconds").await;
    let scored = s.counter("dropwatch_deals_scored").await;
    println!(
        "history written and assessed after {:.0} s; full recompute of {products} products: {full:.1} s ({:.2} ms a product), {scored} with a score",
        started.elapsed().as_secs_f64(),
        full * 1000.0 / products as f64
    );

    // Per-change updates.
    let (n0, t0) = (
        s.counter("dropwatch_insight_assessments_total").await,
        s.counter("dropwatch_insight_assess_seconds_total").await,
    );
    for _ in 0..5 {
        let status = s
            .post("/demo/control/tick", json!({ "changes": 200 }))
            .await;
        assert!(status < 300, "demo tick: {status}");
        tokio::time::sleep(Duration::from_secs(15)).await;
    }
    let (n1, t1) = (
        s.counter("dropwatch_insight_assessments_total").await,
        s.counter("dropwatch_insight_assess_seconds_total").await,
    );
    let updates = n1 - n0;
    println!(
        "per-change update: {updates} products assessed again after 1,000 changes, {:.2} ms each",
        if updates > 0.0 {
            (t1 - t0) * 1000.0 / updates
        } else {
            f64::NAN
        }
    );

    for path in ["/", "/?sort=best_deal"] {
        let (median, p95) = ssr(&s, path).await;
        println!(
            "dashboard SSR {path} with {products} products and their badges: median {median:.0} ms, p95 {p95:.0} ms ({:+.1} % against / without insight)",
            (median / baseline.0 - 1.0) * 100.0
        );
    }
}

/// Median and p95 (ms) of 20 renders of `path`, after 3 to warm up.
async fn ssr(s: &Server, path: &str) -> (f64, f64) {
    for _ in 0..3 {
        let _ = s.timed(path).await;
    }
    let mut times = vec![];
    for _ in 0..20 {
        times.push(s.timed(path).await.expect("the dashboard renders"));
    }
    (percentile(&mut times, 0.5), percentile(&mut times, 0.95))
}
