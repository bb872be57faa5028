//! CPU per product-page check on real pages (issue 17), black box, against
//! the release binary: the captured pages of `monitor/tests/fixtures/pages`
//! and `fixtures/product-pages` (`DW_PAGE_DIRS`, colon-separated)
//! are served on loopback, each one a "page" source checked every second,
//! each on a loopback address of its own (a shop's politeness allows one
//! request a second).
//!
//! Two phases, each on a fresh server: the pages byte for byte the same at
//! every fetch ("unchanged": a digest, no parse), and with bytes changing at
//! every fetch as real pages do ("changing": a comment with a counter, so
//! each check parses and diffs). Each prints the server's CPU per check, net
//! of the same server's idle CPU (the demo store polled every second),
//! measured for `DW_PAGES_SECS` (default 30) seconds.
//!
//! `scripts/bench-pages.sh` builds the release binary and runs this.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use loadgen::env_or;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The pages to serve: (file name, bytes). Pages no connector can read
/// (no structured data at all) are left out: they measure the error path.
fn pages() -> Vec<(String, Vec<u8>)> {
    let dirs = std::env::var("DW_PAGE_DIRS")
        .unwrap_or_else(|_| "monitor/tests/fixtures/pages:fixtures/product-pages".into());
    let mut out = vec![];
    for dir in dirs.split(':') {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if !name.ends_with(".html") || name.contains("no-structured-data") {
                continue;
            }
            if let Ok(bytes) = std::fs::read(e.path()) {
                out.push((name, bytes));
            }
        }
    }
    out.sort();
    out
}

/// A minimal HTTP/1.1 server: `GET /NAME` answers that page (keep-alive);
/// with `changing`, a comment with a counter at the end of every answer.
async fn serve(pages: Arc<Vec<(String, Vec<u8>)>>, changing: bool) -> u16 {
    // Every loopback address: each page has a host of its own (127.0.0.N),
    // so the one-request-a-second politeness of a host does not pace them.
    let l = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let counter = Arc::new(AtomicU64::new(0));
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = l.accept().await {
            let (pages, counter) = (pages.clone(), counter.clone());
            tokio::spawn(async move {
                let mut buf = Vec::with_capacity(4096);
                loop {
                    let mut chunk = [0u8; 4096];
                    let Ok(n) = sock.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                        continue;
                    };
                    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
                    buf.drain(..end + 4);
                    let path = head.split_whitespace().nth(1).unwrap_or("/");
                    let name = path.trim_start_matches('/');
                    let body = match pages.iter().find(|(n, _)| n == name) {
                        Some((_, b)) if changing => {
                            let mut b = b.clone();
                            let n = counter.fetch_add(1, Ordering::Relaxed);
                            b.extend_from_slice(format!("\n<!-- fetch {n} -->\n").as_bytes());
                            b
                        }
                        Some((_, b)) => b.clone(),
                        None => b"not found".to_vec(),
                    };
                    let status = if body == b"not found" {
                        "404 Not Found"
                    } else {
                        "200 OK"
                    };
                    let head = format!(
                        "HTTP/1.1 {status}\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\n\r\n",
                        body.len()
                    );
                    if sock.write_all(head.as_bytes()).await.is_err()
                        || sock.write_all(&body).await.is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    port
}

/// (CPU seconds, checks) of the server over `secs` seconds.
async fn window(s: &loadgen::Server, secs: u64) -> (f64, f64) {
    let (cpu0, checks0) = (s.cpu_secs(), s.counter("dropwatch_polls_total").await);
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let (cpu1, checks1) = (s.cpu_secs(), s.counter("dropwatch_polls_total").await);
    (cpu1 - cpu0, checks1 - checks0)
}

async fn phase(pages: &Arc<Vec<(String, Vec<u8>)>>, changing: bool, secs: u64) {
    let port = serve(pages.clone(), changing).await;
    // The fewest demo products: its store is polled every second all the same.
    let host = |i: usize| format!("127.0.0.{}:{port}", i + 2);
    let trusted: Vec<String> = (0..pages.len())
        .flat_map(|i| ["--trust-url".to_string(), format!("http://{}/", host(i))])
        .collect();
    let args: Vec<&str> = trusted.iter().map(String::as_str).collect();
    let s = loadgen::start(1, &args).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (idle_cpu, idle_checks) = window(&s, secs.min(15)).await;
    let idle_rate = idle_cpu / secs.min(15) as f64;
    let idle_checks_rate = idle_checks / secs.min(15) as f64;
    for (i, (name, _)) in pages.iter().enumerate() {
        let status = s
            .post(
                "/api/v1/sources",
                json!({ "kind": "page", "url": format!("http://{}/{name}", host(i)), "name": format!("page {i}"), "interval_secs": 1 }),
            )
            .await;
        assert!(status < 300, "adding {name} answered {status}");
    }
    // Every page read once (and parsed) before measuring.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let unchanged0 = s.counter("dropwatch_pages_unchanged_total").await;
    let (cpu, checks) = window(&s, secs).await;
    let unchanged = s.counter("dropwatch_pages_unchanged_total").await - unchanged0;
    let net_cpu = cpu - idle_rate * secs as f64;
    let page_checks = checks - idle_checks_rate * secs as f64;
    let bytes: usize = pages.iter().map(|(_, b)| b.len()).sum();
    println!(
        "page check ({}): {:.2} ms CPU per check ({:.0} checks of {} pages, {:.0} KB on average, {:.0} skipped as unchanged; idle {:.1} % of a core)",
        if changing { "bytes changing every fetch" } else { "unchanged" },
        net_cpu * 1000.0 / page_checks.max(1.0),
        page_checks,
        pages.len(),
        bytes as f64 / pages.len().max(1) as f64 / 1024.0,
        unchanged,
        idle_rate * 100.0,
    );
}

#[tokio::main]
async fn main() {
    let pages = Arc::new(pages());
    assert!(!pages.is_empty(), "no pages found: set DW_PAGE_DIRS");
    let secs = env_or("DW_PAGES_SECS", 30) as u64;
    phase(&pages, false, secs).await;
    phase(&pages, true, secs).await;
}
