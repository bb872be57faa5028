//! Several instances (issue 18): events per second and change-to-browser
//! latency with one instance and with three on one SurrealDB server, on the
//! same workload, against the release binary.
//!
//! The workload: `DW_CLUSTER_SHOPS` Shopify-like shops (default 6), each on
//! its own loopback host (127.0.0.2, ...) so that their leases spread over
//! the instances, with `DW_CLUSTER_PRODUCTS` products of five sizes
//! (default 100), polled every second; each shop changes the price of
//! `DW_CLUSTER_CHANGES` sizes a second (default 50). Two live clients on
//! every instance read the feed for `DW_CLUSTER_SECS` (default 30).
//!
//! Latency is from an event's `at` (when the instance polling its shop read
//! the change) to a client receiving it, split by whether the client's
//! instance is the one that polled that shop ("own") or another ("other":
//! the event went through the database and the other instance's follower).
//! Target: "other" p99 within 500 ms.
//!
//! `scripts/bench-cluster.sh` builds the release binary and runs this; it
//! needs `surreal` on PATH (scripts/setup.sh --cluster).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use loadgen::{env_or, percentile, socket, Server};
use parking_lot::Mutex;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

const KEY: &str = "YmVuY2gta2V5LWJlbmNoLWtleS1iZW5jaC1rZXktMDA=";
const SIZES: usize = 5;

/// A shop: its products' prices (cents), changed in place.
struct Shop {
    addr: SocketAddr,
    prices: Mutex<Vec<u64>>,
    products: usize,
    /// Product ids start here (distinct per shop).
    first_id: u64,
}

impl Shop {
    async fn open(ip: &str, products: usize, n: u64) -> Arc<Shop> {
        let listener = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
        let shop = Arc::new(Shop {
            addr: listener.local_addr().unwrap(),
            prices: Mutex::new(vec![10_000; products * SIZES]),
            products,
            first_id: (n + 1) * 1_000_000,
        });
        let serving = shop.clone();
        tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                tokio::spawn(serving.clone().answer(conn));
            }
        });
        shop
    }

    /// Answers the requests of one connection (keep-alive): page 1 of
    /// `/products.json` is the catalogue, later pages are empty.
    async fn answer(self: Arc<Self>, mut conn: tokio::net::TcpStream) {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                match conn.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
                continue;
            };
            let head = String::from_utf8_lossy(&buf[..end]).to_string();
            buf.drain(..end + 4);
            let first_page = head.contains("page=1 ") || !head.contains("page=");
            let body = if first_page {
                self.catalogue()
            } else {
                r#"{"products":[]}"#.to_string()
            };
            let reply = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            );
            if conn.write_all(reply.as_bytes()).await.is_err() {
                return;
            }
        }
    }

    fn catalogue(&self) -> String {
        let prices = self.prices.lock().clone();
        let products: Vec<Value> = (0..self.products)
            .map(|p| {
                let id = self.first_id + p as u64;
                let variants: Vec<Value> = (0..SIZES)
                    .map(|s| {
                        let cents = prices[p * SIZES + s];
                        json!({
                            "id": id * 10 + s as u64,
                            "title": format!("US {}", 7 + s),
                            "available": true,
                            "price": format!("{}.{:02}", cents / 100, cents % 100),
                        })
                    })
                    .collect();
                json!({
                    "id": id, "title": format!("Bench runner {id}"), "handle": format!("runner-{id}"),
                    "vendor": "Bench", "product_type": "Shoes", "tags": [], "variants": variants,
                })
            })
            .collect();
        json!({ "products": products }).to_string()
    }

    /// Changes `n` sizes' prices, round the catalogue.
    fn change(&self, n: usize, tick: usize) {
        let mut prices = self.prices.lock();
        let len = prices.len();
        for i in 0..n {
            let at = (tick * n + i) % len;
            prices[at] = if prices[at] == 10_000 { 9_000 } else { 10_000 };
        }
    }

    fn host(&self) -> String {
        self.addr.to_string()
    }
}

/// A SurrealDB server in memory on a free port.
struct Surreal(std::process::Child, u16);

impl Surreal {
    async fn start() -> Surreal {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = std::process::Command::new("surreal")
            .args(["start", "--user", "root", "--pass", "root", "--log", "warn"])
            .args(["--bind", &format!("127.0.0.1:{port}"), "memory"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("`surreal` runs (scripts/setup.sh --cluster installs it)");
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Surreal(child, port)
    }
}

impl Drop for Surreal {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn now_ms() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// One sample: latency (ms), the event's source key, the client's instance.
type Sample = (f64, String, usize);

/// Runs the workload on `n` instances; prints and returns nothing else.
async fn run(n: usize, shops: &[Arc<Shop>], secs: u64, changes: usize) {
    let db = Surreal::start().await;
    let url = format!("ws://127.0.0.1:{}", db.1);
    let env = [("DROPWATCH_DB_USER", "root"), ("DROPWATCH_DB_PASS", "root")];
    let sources: Vec<String> = shops
        .iter()
        .map(|s| format!("shopify=http://{}", s.addr))
        .collect();
    let mut instances: Vec<Server> = vec![];
    for i in 0..n {
        let mut args = vec![
            "--db",
            &url,
            "--no-demo",
            "--secret-key",
            KEY,
            "--interval",
            "1s",
            "--allow-private-networks",
        ];
        if i == 0 {
            for s in &sources {
                args.extend(["--source", s.as_str()]);
            }
        }
        instances.push(loadgen::start_with(0, &args, &env).await);
    }
    let products = (shops.len() * shops[0].products) as u64;
    // Every instance has every product, and the shops are spread.
    let settled = Instant::now();
    loop {
        let mut ready = true;
        for s in &instances {
            let matched = s.get("/api/v1/products?limit=1").await["matched"].as_u64();
            ready &= matched == Some(products);
        }
        let held = holders(&instances[0]).await;
        let owners: std::collections::BTreeSet<&String> = held.values().collect();
        if ready && held.len() == shops.len() && owners.len() == n {
            break;
        }
        assert!(
            settled.elapsed() < Duration::from_secs(120),
            "the instances never settled: {held:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let held = holders(&instances[0]).await;
    let sources = source_hosts(&instances[0]).await;
    let start_seq = instances[0].get("/api/v1/events?limit=1").await["last_seq"]
        .as_u64()
        .unwrap_or(0);

    let samples: Arc<Mutex<Vec<Sample>>> = Arc::default();
    let mut readers = vec![];
    for (i, s) in instances.iter().enumerate() {
        for _ in 0..2 {
            let mut ws = socket(s, start_seq).await;
            let samples = samples.clone();
            readers.push(tokio::spawn(async move {
                while let Some(Ok(m)) = ws.next().await {
                    let Message::Text(t) = m else { continue };
                    let Ok(e) = serde_json::from_str::<Value>(&t) else {
                        continue;
                    };
                    let (Some(_), Some(at), Some(source)) =
                        (e["seq"].as_u64(), e["at"].as_str(), e["source"].as_str())
                    else {
                        continue;
                    };
                    let Some(at) = parse_ms(at) else { continue };
                    samples.lock().push((now_ms() - at, source.to_string(), i));
                }
            }));
        }
    }

    let began = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut t = 0;
    while began.elapsed() < Duration::from_secs(secs) {
        tick.tick().await;
        for shop in shops {
            shop.change(changes, t);
        }
        t += 1;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let cpu: f64 = instances.iter().map(|s| s.cpu_secs()).sum();
    for r in readers {
        r.abort();
    }
    let samples = std::mem::take(&mut *samples.lock());
    let clients = (2 * n) as f64;
    let per_client = samples.len() as f64 / clients;
    let owner_of = |source: &str| {
        let host = sources.get(source)?;
        let addr = held.get(host)?;
        instances
            .iter()
            .position(|s| s.base.ends_with(addr.as_str()))
    };
    let (mut own, mut other): (Vec<f64>, Vec<f64>) = (vec![], vec![]);
    for (ms, source, at) in &samples {
        if owner_of(source) == Some(*at) {
            own.push(*ms);
        } else {
            other.push(*ms);
        }
    }
    let line = |v: &mut Vec<f64>| {
        if v.is_empty() {
            "none".to_string()
        } else {
            format!(
                "p50 {:.0} ms, p99 {:.0} ms",
                percentile(v, 0.5),
                percentile(v, 0.99)
            )
        }
    };
    println!(
        "cluster {n} instance(s): {:.0} events/s per client ({per_client:.0} events in {secs} s), \
         latency own {}, other {}; CPU {cpu:.1} s over all instances",
        per_client / secs as f64,
        line(&mut own),
        line(&mut other),
    );
    if n > 1 {
        let p99 = percentile(&mut other, 0.99);
        println!(
            "cluster result: cross-instance p99 {p99:.0} ms: {}",
            if p99 <= 500.0 {
                "within the target (<= 500 ms)"
            } else {
                "OUTSIDE the target (<= 500 ms)"
            }
        );
    }
    drop(instances);
    drop(db);
}

/// An event's time (RFC 3339) in ms since the epoch.
fn parse_ms(at: &str) -> Option<f64> {
    let t = chrono::DateTime::parse_from_rfc3339(at).ok()?;
    Some(t.timestamp_micros() as f64 / 1000.0)
}

/// Which instance (its address) holds each host, from /api/v1/instances.
async fn holders(s: &Server) -> HashMap<String, String> {
    let list = s.get("/api/v1/instances").await;
    let mut out = HashMap::new();
    for i in list.as_array().into_iter().flatten() {
        for l in i["leases"].as_array().into_iter().flatten() {
            if let (Some(h), Some(a)) = (l["host"].as_str(), i["addr"].as_str()) {
                if !h.starts_with("task:") {
                    out.insert(h.to_string(), a.to_string());
                }
            }
        }
    }
    out
}

/// Each source's host (`host:port`), by source key.
async fn source_hosts(s: &Server) -> HashMap<String, String> {
    let list = s.get("/api/v1/sources").await;
    let mut out = HashMap::new();
    for row in list.as_array().into_iter().flatten() {
        let (Some(key), Some(url)) = (row["source"]["key"].as_str(), row["source"]["url"].as_str())
        else {
            continue;
        };
        let host = url
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap_or("");
        out.insert(key.to_string(), host.to_string());
    }
    out
}

#[tokio::main]
async fn main() {
    let n_shops = env_or("DW_CLUSTER_SHOPS", 6);
    let products = env_or("DW_CLUSTER_PRODUCTS", 100);
    let changes = env_or("DW_CLUSTER_CHANGES", 50);
    let secs = env_or("DW_CLUSTER_SECS", 30) as u64;
    let mut shops = vec![];
    for i in 0..n_shops {
        shops.push(Shop::open(&format!("127.0.0.{}", i + 2), products, i as u64).await);
    }
    println!(
        "cluster: {n_shops} shops ({}) of {products} products x {SIZES} sizes, polled every second, \
         {changes} price changes per shop per second; two clients per instance for {secs} s",
        shops.iter().map(|s| s.host()).collect::<Vec<_>>().join(", ")
    );
    for n in [1, 3] {
        run(n, &shops, secs, changes).await;
    }
}
