//! Soak (issue 22): 40 product-page sources checked every second on
//! loopback for MINUTES (`DW_SOAK_MINUTES`, default 30), against the release
//! binary. Every minute it prints RSS, CPU per check, and the latency of the
//! sources list, a product page and the dashboard; at the end it compares
//! the last 10 minutes with minutes 10–20 (target: within 10 %, i.e. flat:
//! nothing grows with every check).
//!
//! `scripts/bench-soak.sh MINUTES` builds the release binary and runs this.

use std::time::{Duration, Instant};

use loadgen::{env_or, percentile};
use serde_json::json;

#[derive(Clone, Copy, Default)]
struct Minute {
    rss: f64,
    cpu_per_check_ms: f64,
    sources_ms: f64,
    product_ms: f64,
    dashboard_ms: f64,
}

async fn median_of(s: &loadgen::Server, path: &str) -> f64 {
    let mut v = vec![];
    for _ in 0..5 {
        if let Ok(ms) = s.timed(path).await {
            v.push(ms);
        }
    }
    percentile(&mut v, 0.5)
}

fn mean(rows: &[Minute], f: impl Fn(&Minute) -> f64) -> f64 {
    rows.iter().map(&f).sum::<f64>() / rows.len().max(1) as f64
}

#[tokio::main]
async fn main() {
    let minutes = env_or("DW_SOAK_MINUTES", 30);
    let pages = env_or("DW_SOAK_SOURCES", 40);
    let s = loadgen::start(200, &["--demo-change-every", "2s"]).await;
    while s.get("/api/v1/events?limit=1").await["last_seq"]
        .as_u64()
        .unwrap_or(0)
        < 200
    {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let products = s.get("/api/v1/products").await;
    let urls: Vec<(String, String)> = products["products"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|p| {
                    Some((
                        p["key"].as_str()?.to_string(),
                        p["url"].as_str()?.to_string(),
                    ))
                })
                .take(pages)
                .collect()
        })
        .unwrap_or_default();
    for (i, (_, url)) in urls.iter().enumerate() {
        let status = s
            .post("/api/v1/sources", json!({ "kind": "page", "url": url, "name": format!("page {i}"), "interval_secs": 1 }))
            .await;
        assert!(status < 300, "adding a page source answered {status}");
    }
    let product = urls
        .first()
        .map(|(k, _)| format!("/product/{k}"))
        .unwrap_or_else(|| "/".into());
    println!("soak: {} page sources at 1 s for {minutes} min", urls.len());
    println!("soak: min  RSS MB  CPU/check ms  sources ms  product ms  dashboard ms");
    let mut rows = vec![];
    let (mut cpu0, mut checks0) = (s.cpu_secs(), s.counter("dropwatch_polls_total").await);
    for m in 1..=minutes {
        let until = Instant::now() + Duration::from_secs(60);
        tokio::time::sleep_until(until.into()).await;
        let (cpu, checks) = (s.cpu_secs(), s.counter("dropwatch_polls_total").await);
        let row = Minute {
            rss: s.rss_mb().0,
            cpu_per_check_ms: (cpu - cpu0) * 1000.0 / (checks - checks0).max(1.0),
            sources_ms: median_of(&s, "/api/v1/sources").await,
            product_ms: median_of(&s, &product).await,
            dashboard_ms: median_of(&s, "/").await,
        };
        (cpu0, checks0) = (cpu, checks);
        println!(
            "soak: {m:>3}  {:>6.0}  {:>12.2}  {:>10.1}  {:>10.1}  {:>12.1}",
            row.rss, row.cpu_per_check_ms, row.sources_ms, row.product_ms, row.dashboard_ms
        );
        rows.push(row);
    }
    if rows.len() >= 30 {
        let (early, late) = (&rows[10..20], &rows[rows.len() - 10..]);
        let grew = |f: fn(&Minute) -> f64| mean(late, f) / mean(early, f).max(1e-9) - 1.0;
        let checks: [(&str, fn(&Minute) -> f64); 4] = [
            ("RSS", |r| r.rss),
            ("sources list", |r| r.sources_ms),
            ("product page", |r| r.product_ms),
            ("dashboard", |r| r.dashboard_ms),
        ];
        for (name, f) in checks {
            let g = grew(f) * 100.0;
            println!(
                "soak result: {name}: last 10 min vs minutes 10-20: {g:+.1} % ({})",
                if g <= 10.0 { "flat" } else { "GROWS" }
            );
        }
    } else {
        println!("soak result: run 30 minutes or more to compare the last 10 with minutes 10-20");
    }
}
