//! A large catalogue against the real binary (issue 17): CPU per poll cycle
//! of 10,000 products and the server's memory, on the default on-disk
//! database.
//!
//! - idle: the built-in demo as it starts by default (200 products, a few
//!   changes every 4 s, polled every 5 s), RSS after 60 s. Target 40 MB.
//! - 10,000 products (65,000 sizes) in a shop of their own (`dropwatch
//!   demo-store` in another process, on 127.0.0.2, as a real shop would
//!   be), polled back to back within the politeness limit of one request a
//!   second (40 pages: a cycle of about 40 s), 2 sizes changing every 4 s,
//!   100 live clients reading every event: RSS after 2 minutes of polling
//!   and its peak (target 80 MB), and CPU per cycle.
//! - the same with 1 % of the sizes changing per cycle (16 every second):
//!   CPU per cycle (target 0.3 s).
//! - 10,000 products of the built-in demo (`--demo-products`, in the same
//!   process, whose pages are not spaced): CPU per cycle of a quiet
//!   catalogue, the demo answering the 40 pages included.
//!
//! CPU per cycle is the server's (user + system) from the end of one
//! read to the end of a later one, net of its idle CPU (measured first,
//! with nothing to poll) over that time, divided by the reads between;
//! measured once insight has worked out the products the first reads
//! brought (a one-off per new product, printed on its own).
//! RSS is split into heap (anonymous) and code and files mapped from disk.
//!
//! `scripts/bench-catalogue.sh` builds the release binary and runs this
//! (`DW_BIN` names the binary; `DW_CAT_PRODUCTS`, `DW_CAT_CLIENTS`,
//! `DW_CAT_SECS` change the load).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use loadgen::{env_or, socket, Server};

/// A demo store in a process of its own on 127.0.0.2, killed on drop.
struct Shop(std::process::Child, String);

impl Drop for Shop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn shop(products: usize, change_every: &str, changes: usize) -> Shop {
    let bin = std::env::var("DW_BIN").expect("DW_BIN names the release binary");
    let port = std::net::TcpListener::bind("127.0.0.2:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.2:{port}");
    let child = std::process::Command::new(bin)
        .args([
            "demo-store",
            "--addr",
            &addr,
            "--products",
            &products.to_string(),
        ])
        .args([
            "--change-every",
            change_every,
            "--changes-per-tick",
            &changes.to_string(),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the demo store starts");
    Shop(child, format!("http://{addr}/"))
}

/// A server with no demo, watching `shop` (polled back to back).
async fn watching(shop: &Shop) -> Server {
    let source = format!("shopify={}", shop.1);
    loadgen::start(
        0,
        &[
            "--no-demo",
            "--source",
            &source,
            "--interval",
            "1s",
            "--trust-url",
            &shop.1,
        ],
    )
    .await
}

/// Waits until `n` more reads have ended (complete or not). Looks every
/// 2 s: each look (`/metrics`, with its token checked) costs the server
/// about 2 ms, which looking every half second had added to each 40-s
/// cycle (160 ms); a read's end is seen at most 2 s late, at both ends of
/// the measured cycles alike.
async fn polls(s: &Server, n: f64) {
    let start = s.counter("dropwatch_polls_total").await;
    for _ in 0..300 {
        if s.counter("dropwatch_polls_total").await >= start + n {
            return;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    panic!("{n} reads never ended");
}

/// Waits until insight has worked out every product the first reads
/// brought (for 5 s in a row, fewer than 100 assessments a second: what
/// steady changes ask for): a one-off per new product (and a pass over all
/// at start and every few hours), not part of a steady cycle.
/// Returns (seconds waited, assessments made, their CPU time as counted).
async fn insight_settled(s: &Server) -> (f64, f64, f64) {
    let t0 = std::time::Instant::now();
    let (n0, secs0) = (
        s.counter("dropwatch_insight_assessments_total").await,
        s.counter("dropwatch_insight_assess_seconds_total").await,
    );
    let mut last = n0;
    let mut quiet = 0;
    for _ in 0..300 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let n = s.counter("dropwatch_insight_assessments_total").await;
        quiet = if n - last < 100.0 { quiet + 1 } else { 0 };
        last = n;
        if quiet >= 5 {
            break;
        }
    }
    let secs = s.counter("dropwatch_insight_assess_seconds_total").await - secs0;
    (t0.elapsed().as_secs_f64(), last - n0, secs)
}

/// CPU seconds per poll cycle over `cycles` whole cycles, net of the
/// server's idle CPU per second `idle` over their time.
async fn cpu_per_cycle(s: &Server, cycles: usize, idle: f64) -> f64 {
    polls(s, 1.0).await;
    let (cpu0, t0) = (s.cpu_secs(), std::time::Instant::now());
    polls(s, cycles as f64).await;
    let (cpu, secs) = (s.cpu_secs() - cpu0, t0.elapsed().as_secs_f64());
    (cpu - idle * secs).max(0.0) / cycles as f64
}

/// The CPU seconds per second of a server with nothing to poll.
async fn idle_cpu() -> f64 {
    let s = loadgen::start(0, &["--no-demo"]).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (cpu0, t0) = (s.cpu_secs(), std::time::Instant::now());
    tokio::time::sleep(Duration::from_secs(20)).await;
    (s.cpu_secs() - cpu0) / t0.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() {
    let products = env_or("DW_CAT_PRODUCTS", 10_000);
    let clients = env_or("DW_CAT_CLIENTS", 100);
    let secs = env_or("DW_CAT_SECS", 120) as u64;
    let idle = idle_cpu().await;
    println!("idle CPU (no sources): {:.1} ms a second", idle * 1000.0);

    {
        let s = loadgen::start(200, &["--demo-change-every", "4s", "--demo-interval", "5s"]).await;
        tokio::time::sleep(Duration::from_secs(60)).await;
        println!(
            "idle, default demo (200 products), after 60 s: {}",
            s.memory()
        );
    }

    {
        let shop = shop(products, "4s", 2);
        let s = watching(&shop).await;
        // The first read (everything new) and one more.
        polls(&s, 2.0).await;
        println!("{products} products read: {}", s.memory());
        let (waited, assessed, took) = insight_settled(&s).await;
        println!(
            "insight on the new products: {assessed:.0} assessed in {took:.1} s (settled {waited:.0} s after the second read)"
        );
        let last = s.get("/api/v1/events?limit=1").await["last_seq"]
            .as_u64()
            .unwrap_or(0);
        let received = Arc::new(AtomicU64::new(0));
        for _ in 0..clients {
            let mut ws = socket(&s, last).await;
            let received = received.clone();
            tokio::spawn(async move {
                while let Some(Ok(_)) = ws.next().await {
                    received.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        s.reset_peak_rss();
        let started = std::time::Instant::now();
        let cpu = cpu_per_cycle(&s, 2, idle).await;
        tokio::time::sleep(Duration::from_secs(secs).saturating_sub(started.elapsed())).await;
        let unchanged = s.counter("dropwatch_pages_unchanged_total").await;
        println!(
            "{products} products, 2 sizes changing every 4 s, {clients} live clients, after {secs} s of polling: {}; CPU per cycle {:.0} ms ({unchanged:.0} catalogue pages read unchanged; {} messages to the clients)",
            s.memory(),
            cpu * 1000.0,
            received.load(Ordering::Relaxed),
        );
    }

    {
        let per_second = (products * 65 / 10 / 100 / 40).max(1);
        let shop = shop(products, "1s", per_second);
        let s = watching(&shop).await;
        polls(&s, 2.0).await;
        insight_settled(&s).await;
        let cpu = cpu_per_cycle(&s, 2, idle).await;
        println!(
            "{products} products, {per_second} sizes changing every second (about 1 % a cycle): CPU per cycle {:.0} ms; {}",
            cpu * 1000.0,
            s.memory()
        );
    }

    {
        // The built-in demo is the server's own shop: its pages are not
        // spaced, so a cycle is the read itself (and the demo answering it).
        let s = loadgen::start(products, &["--demo-change-every", "4s"]).await;
        polls(&s, 2.0).await;
        insight_settled(&s).await;
        let cpu = cpu_per_cycle(&s, 10, idle).await;
        println!(
            "{products} products of the built-in demo (same process, polled 1 s after each read, 2 sizes changing every 4 s): CPU per cycle {:.0} ms, the demo answering included",
            cpu * 1000.0,
        );
    }
}
