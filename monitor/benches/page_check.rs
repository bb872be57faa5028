//! CPU time per product-page check: 1,000 demo product pages (JSON-LD
//! ProductGroup, one Product per size, as shops publish it), each a "page"
//! source, checked on loopback: fetch + extract + diff against the stored
//! state (+ the write when something changed). Prints the median and p99
//! wall time of one check (the demo server answering in the same process,
//! so this bounds the CPU time from above) and the process CPU time per
//! check (user + system from /proc, over the whole round). Target: <= 2 ms.
//!
//! `scripts/bench-pages.sh` (or `cargo bench -p monitor --bench page_check`,
//! which builds SurrealDB once more with another feature set).

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use monitor::NewSource;

fn cpu_secs() -> f64 {
    // utime + stime, fields 14 and 15 of /proc/self/stat, in clock ticks.
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|x| x.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted[((p / 100.0) * sorted.len() as f64).ceil() as usize - 1]
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    if std::env::args().skip(1).any(|a| {
        !a.starts_with('-') && a.parse::<f64>().is_err() && !"page_check".contains(a.as_str())
    }) {
        return;
    }
    const N: usize = 1000;
    let h = common::Harness::new(N).await;
    let handles: Vec<String> = h
        .demo
        .catalogue
        .lock()
        .products
        .iter()
        .map(|p| p.handle.clone())
        .collect();
    let mut keys = vec![];
    for handle in &handles {
        let s = h
            .engine
            .add_source(NewSource::new(
                "page",
                &format!("http://{}/products/{handle}", h.addr),
                Duration::from_secs(3600),
            ))
            .await
            .unwrap();
        keys.push(s.key);
    }
    let bytes = reqwest::get(format!("http://{}/products/{}", h.addr, handles[0]))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
        .len();
    // First sight of every page (each product written once).
    for k in &keys {
        let run = h.engine.check_now(k).await.unwrap();
        assert!(run.error.is_none(), "{run:?}");
    }
    for (label, change) in [("unchanged", false), ("1 size repriced", true)] {
        let mut wall = vec![];
        let cpu0 = cpu_secs();
        let t0 = Instant::now();
        for (i, k) in keys.iter().enumerate() {
            if change {
                let vid = h.demo.catalogue.lock().products[i].variants[0].id;
                h.control("price", serde_json::json!({ "variant_id": vid, "price": format!("{}.{:02}", 300 + i % 50, i % 100) })).await;
            }
            let t = Instant::now();
            let run = h.engine.check_now(k).await.unwrap();
            wall.push(t.elapsed().as_secs_f64() * 1000.0);
            assert!(run.error.is_none(), "{run:?}");
            assert_eq!(run.changes > 0, change, "{run:?}");
        }
        let total = t0.elapsed().as_secs_f64();
        let cpu_ms = (cpu_secs() - cpu0) * 1000.0 / N as f64;
        wall.sort_by(|a, b| a.partial_cmp(b).unwrap());
        println!(
            "page check ({label}), {N} pages of ~{} KB: wall median {:.2} ms, p99 {:.2} ms; process CPU {:.2} ms per check (round {:.1} s)",
            bytes / 1024,
            pct(&wall, 50.0),
            pct(&wall, 99.0),
            cpu_ms,
            total
        );
    }
    real_pages(&h).await;
}

/// The captured real product pages (shared fixtures, 1 KB to ~900 KB),
/// served on loopback: CPU per check when a page is byte for byte the same
/// as last time (not parsed again), and when its bytes change every time
/// while its product does not (as real pages do: tokens, timestamps).
async fn real_pages(h: &common::Harness) {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::Arc;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/product-pages");
    let Ok(entries) = std::fs::read_dir(dir) else {
        println!("page check (real pages): no fixtures at {dir}");
        return;
    };
    let mut pages: Vec<(String, String)> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let body = std::fs::read(e.path()).ok()?;
            Some((name, String::from_utf8_lossy(&body).into_owned()))
        })
        .collect();
    pages.sort();
    let vary = Arc::new(AtomicBool::new(false));
    let counter = Arc::new(AtomicU64::new(0));
    let mut app = axum::Router::new();
    for (name, body) in &pages {
        let (body, vary, counter) = (body.clone(), vary.clone(), counter.clone());
        app = app.route(
            &format!("/{name}"),
            axum::routing::get(move || {
                let mut body = body.clone();
                if vary.load(Ordering::Relaxed) {
                    let n = counter.fetch_add(1, Ordering::Relaxed);
                    body.push_str(&format!("<!-- request {n} -->"));
                }
                async move { axum::response::Html(body) }
            }),
        );
    }
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    let mut keys = vec![];
    for (name, _) in &pages {
        let s = h
            .engine
            .add_source(NewSource::new(
                "page",
                &format!("http://{addr}/{name}"),
                Duration::from_secs(3600),
            ))
            .await
            .unwrap();
        if h.engine.check_now(&s.key).await.unwrap().error.is_none() {
            keys.push(s.key);
        }
    }
    let total_kb: usize = pages.iter().map(|(_, b)| b.len()).sum::<usize>() / 1024;
    const ROUNDS: usize = 50;
    for (label, varying) in [
        ("unchanged bytes", false),
        ("bytes changing, product not", true),
    ] {
        vary.store(varying, Ordering::Relaxed);
        let cpu0 = cpu_secs();
        for _ in 0..ROUNDS {
            for k in &keys {
                let run = h.engine.check_now(k).await.unwrap();
                assert!(run.error.is_none() && run.changes == 0, "{run:?}");
            }
        }
        let checks = (ROUNDS * keys.len()).max(1);
        println!(
            "page check (real pages, {label}): {} pages, {total_kb} KB in all: process CPU {:.2} ms per check",
            keys.len(),
            (cpu_secs() - cpu0) * 1000.0 / checks as f64
        );
    }
}
