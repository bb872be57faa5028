//! A backlog storm against the real binary: 100 live clients asking for the
//! whole history (`/api/live?since=0`) at once, half of them never reading,
//! on a database of 25,000 events. Measures what a user would notice
//! before and during the storm: change-detection latency (a price set in
//! the demo store -> the event on a reading client), `/healthz` time, and
//! the server's memory (RSS now and at its peak).
//!
//! Targets (issue 23): latency and `/healthz` within 2x of normal during
//! the storm, RSS under 150 MB.
//!
//! The events are made the way a busy store makes them: the demo store (200
//! products) changes thousands of prices and sizes between polls until
//! 25,000 events are stored.
//!
//! `scripts/bench-storm.sh` builds the release binary and runs this
//! (`DW_BIN` names the binary; `DW_STORM_CLIENTS`, `DW_STORM_EVENTS`
//! change the load).

use std::time::{Duration, Instant};

use futures::StreamExt;
use loadgen::{env_or, percentile, socket, socket_at, Server};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

/// Detection latency over `n` price changes (ms), and /healthz times (ms).
async fn measure(s: &Server, n: usize, label: &str) -> (f64, f64) {
    let state = s.get("/demo/control/state").await;
    let variant = state["sample_variants"][0]["variant_id"].as_u64().unwrap();
    let last = s.get("/api/v1/events?limit=1").await["last_seq"]
        .as_u64()
        .unwrap();
    let mut watcher = socket(s, last).await;
    let (mut latency, mut health) = (vec![], vec![]);
    for i in 0..n {
        let price = format!("{}.{:02}", 500 + i, i % 100);
        let set = Instant::now();
        assert_eq!(
            s.post(
                "/demo/control/price",
                json!({ "variant_id": variant, "price": price })
            )
            .await,
            204
        );
        loop {
            match tokio::time::timeout(Duration::from_secs(30), watcher.next()).await {
                Ok(Some(Ok(Message::Text(t))))
                    if t.contains(&format!("\"new_price\":\"{price}\"")) =>
                {
                    break
                }
                Ok(Some(Ok(_))) => {}
                other => panic!("{label}: the change never arrived: {other:?}"),
            }
        }
        latency.push(set.elapsed().as_secs_f64() * 1000.0);
        let h = Instant::now();
        s.http
            .get(format!("{}/healthz", s.base))
            .send()
            .await
            .unwrap();
        health.push(h.elapsed().as_secs_f64() * 1000.0);
    }
    let _ = watcher.close(None).await;
    let (l50, l99) = (
        percentile(&mut latency, 0.5),
        percentile(&mut latency, 0.99),
    );
    let (h50, h99) = (percentile(&mut health, 0.5), percentile(&mut health, 0.99));
    println!(
        "storm {label}: detection p50 {l50:.0} ms p99 {l99:.0} ms; /healthz p50 {h50:.1} ms p99 {h99:.1} ms; {}",
        s.memory()
    );
    (l99, h99)
}

#[tokio::main]
async fn main() {
    let clients = env_or("DW_STORM_CLIENTS", 100);
    let wanted = env_or("DW_STORM_EVENTS", 25_000) as u64;
    let s = loadgen::start(200, &[]).await;
    let started = Instant::now();
    let stored = |v: Value| v["last_seq"].as_u64().unwrap_or(0);
    while stored(s.get("/api/v1/events?limit=1").await) < wanted {
        assert!(
            started.elapsed() < Duration::from_secs(900),
            "the events were not made"
        );
        let before = stored(s.get("/api/v1/events?limit=1").await);
        assert_eq!(
            s.post("/demo/control/tick", json!({ "changes": 5000 }))
                .await,
            200
        );
        // The next poll (every second) records them.
        while stored(s.get("/api/v1/events?limit=1").await) == before {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let events = s.get("/api/v1/events?limit=1").await["last_seq"]
        .as_u64()
        .unwrap();
    println!("storm: {events} events stored, {clients} clients (half reading, half never reading)");
    // The peak from here on: the storm's, not the making of 25,000 events.
    s.reset_peak_rss();
    let (base_latency, base_health) = measure(&s, 20, "before").await;

    // The storm: every client asks for the whole history at once. The
    // clients run on a thread of their own, so that reading 2.5 million
    // messages does not delay this runtime's own measurements.
    let (base, token) = (s.base.clone(), s.token.clone());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let storm = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let mut tasks = vec![];
            for i in 0..clients {
                let mut ws = socket_at(&base, &token, 0).await;
                tasks.push(tokio::spawn(async move {
                    if i % 2 == 0 {
                        // Never reads: the server must not queue for it.
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                    } else {
                        while let Some(Ok(_)) = ws.next().await {}
                    }
                }));
            }
            let _ = stopped.await;
            for t in tasks {
                t.abort();
            }
        });
    });
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (storm_latency, storm_health) = measure(&s, 20, "during").await;
    let (_, peak) = s.rss_mb();
    let ok = storm_latency <= 2.0 * base_latency.max(1000.0)
        && storm_health <= 2.0 * base_health.max(5.0)
        && peak < 150.0;
    println!(
        "storm result: detection p99 {storm_latency:.0} ms vs {base_latency:.0} ms before, /healthz p99 {storm_health:.1} ms vs {base_health:.1} ms, peak RSS {peak:.0} MB: {}",
        if ok { "within the targets (2x, 150 MB)" } else { "OUTSIDE the targets (2x, 150 MB)" }
    );
    let _ = stop.send(());
    let _ = storm.join();
}
