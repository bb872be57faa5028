//! Load (issue 22): 1,000 live WebSocket clients plus 200 HTTP requests a
//! second (the dashboard, the products API, product pages, the events API)
//! for 60 seconds against the release binary, with the demo store changing
//! prices every second. Prints HTTP p50/p99 and errors, whether every client
//! got every event, and the server's RSS. Target: p99 < 100 ms.
//!
//! `scripts/bench-load.sh` builds the release binary and runs this
//! (`DW_LOAD_CLIENTS`, `DW_LOAD_RPS`, `DW_LOAD_SECS` change the load).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use loadgen::{env_or, percentile, socket};
use tokio_tungstenite::tungstenite::Message;

#[tokio::main]
async fn main() {
    let clients = env_or("DW_LOAD_CLIENTS", 1000);
    let rps = env_or("DW_LOAD_RPS", 200);
    let secs = env_or("DW_LOAD_SECS", 60) as u64;
    let s = Arc::new(loadgen::start(200, &["--demo-change-every", "1s"]).await);
    // The demo is imported first.
    while s.get("/api/v1/events?limit=1").await["last_seq"]
        .as_u64()
        .unwrap_or(0)
        < 200
    {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let products: Vec<String> = s.get("/api/v1/products").await["products"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|p| p["key"].as_str().map(str::to_string))
                .take(20)
                .collect()
        })
        .unwrap_or_default();
    let start_seq = s.get("/api/v1/events?limit=1").await["last_seq"]
        .as_u64()
        .unwrap();

    // The live clients, each counting what it receives and the last seq.
    let received = Arc::new(
        (0..clients)
            .map(|_| (AtomicU64::new(0), AtomicU64::new(0)))
            .collect::<Vec<_>>(),
    );
    let mut readers = vec![];
    for i in 0..clients {
        let ws = socket(&s, start_seq).await;
        let received = received.clone();
        readers.push(tokio::spawn(async move {
            let mut ws = ws;
            while let Some(Ok(m)) = ws.next().await {
                if let Message::Text(t) = m {
                    // Notices (a product's deal) carry no seq: not events.
                    let Some(seq) = t
                        .split("\"seq\":")
                        .nth(1)
                        .and_then(|r| r.split(',').next())
                        .and_then(|n| n.parse::<u64>().ok())
                    else {
                        continue;
                    };
                    received[i].0.fetch_add(1, Ordering::Relaxed);
                    received[i].1.store(seq, Ordering::Relaxed);
                }
            }
        }));
    }
    println!("load: {clients} live clients connected; {rps} requests/s for {secs} s");

    // The HTTP load: a fixed rate, each request on its own task.
    let paths: Vec<String> = ["/", "/api/v1/products", "/api/v1/events?since=0&limit=100"]
        .into_iter()
        .map(str::to_string)
        .chain(products.iter().map(|k| format!("/product/{k}")))
        .collect();
    let latencies = Arc::new(parking_lot::Mutex::new(Vec::<f64>::new()));
    let errors = Arc::new(AtomicU64::new(0));
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rps as f64));
    let began = Instant::now();
    let mut sent = 0usize;
    let mut peak_rss: f64 = 0.0;
    while began.elapsed() < Duration::from_secs(secs) {
        tick.tick().await;
        let path = paths[sent % paths.len()].clone();
        sent += 1;
        let (server, latencies, errors) = (s.clone(), latencies.clone(), errors.clone());
        tokio::spawn(async move {
            match server.timed(&path).await {
                Ok(ms) => latencies.lock().push(ms),
                Err(_) => {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
        if sent % rps == 0 {
            peak_rss = peak_rss.max(s.rss_mb().0);
        }
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut all = std::mem::take(&mut *latencies.lock());
    let (p50, p99) = (percentile(&mut all, 0.5), percentile(&mut all, 0.99));
    let last_seq = s.get("/api/v1/events?limit=1").await["last_seq"]
        .as_u64()
        .unwrap();
    let complete = received
        .iter()
        .filter(|(_, seq)| seq.load(Ordering::Relaxed) == last_seq)
        .count();
    let (rss, hwm) = s.rss_mb();
    println!(
        "load: {} requests, p50 {p50:.1} ms, p99 {p99:.1} ms, {} errors; {} events during the run, {complete} of {clients} clients got every one; RSS {rss:.0} MB (peak {:.0} MB)",
        all.len(),
        errors.load(Ordering::Relaxed),
        last_seq - start_seq,
        hwm.max(peak_rss)
    );
    println!(
        "load result: p99 {p99:.1} ms: {}",
        if p99 < 100.0 {
            "within the target (< 100 ms)"
        } else {
            "OUTSIDE the target (< 100 ms)"
        }
    );
    for r in readers {
        r.abort();
    }
}
