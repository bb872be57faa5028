//! Three real `dropwatch` processes on one real SurrealDB server, run as a
//! user runs them (`scripts/cluster.sh`): three shops on their own loopback
//! hosts, each counting the requests it is answering at once; a socket on
//! every instance; one alert rule. Then one instance is killed (SIGKILL)
//! while it polls, and the database server is restarted under the others.
//!
//! What must hold throughout: a shop is polled by one instance at a time;
//! every socket receives the same events with the same numbers, dense and
//! never repeated (a socket whose instance died carries on from another one
//! with `since`); a change is recorded and alerted once; the dead
//! instance's shop is polled again within the lease TTL and an interval;
//! the instances say they are not ready while the database is gone and
//! recover by themselves.

mod common;
#[path = "../../monitor/tests/common/surreal.rs"]
mod surreal;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::middleware::Next;
use futures::StreamExt;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use common::{start, Auth, Server, ADMIN_PASSWORD};
use monitor::demo::{DemoConfig, DemoStore};
use surreal::SurrealServer;

const KEY: &str = "Y2x1c3Rlci1rZXktY2x1c3Rlci1rZXktY2x1c3RlciE=";
const TTL_SECS: u64 = 3;
/// How long each catalogue request takes the shops: long enough for two
/// instances polling one shop to overlap.
const SHOP_DELAY: Duration = Duration::from_millis(200);

/// Requests a shop is answering now, the most at once, and all.
#[derive(Default)]
struct Traffic {
    now: AtomicUsize,
    most: AtomicUsize,
    total: AtomicUsize,
}

/// One request being answered.
struct Answering(Arc<Traffic>);

impl Answering {
    fn start(t: Arc<Traffic>) -> Answering {
        let now = t.now.fetch_add(1, Ordering::SeqCst) + 1;
        t.most.fetch_max(now, Ordering::SeqCst);
        t.total.fetch_add(1, Ordering::SeqCst);
        Answering(t)
    }
}

impl Drop for Answering {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A Shopify-like demo shop on its own loopback host.
struct Shop {
    demo: Arc<DemoStore>,
    addr: SocketAddr,
    traffic: Arc<Traffic>,
}

impl Shop {
    /// A shop of ten products; `seed` makes its ids its own.
    async fn on(ip: &str, seed: u64) -> Shop {
        let demo = DemoStore::new(&DemoConfig {
            products: 10,
            seed,
            ..DemoConfig::default()
        });
        let traffic = Arc::new(Traffic::default());
        let counted = traffic.clone();
        let app = demo.router().layer(axum::middleware::from_fn(
            move |req: Request, next: Next| {
                let t = counted.clone();
                async move {
                    // Counted down when the answer is done or abandoned
                    // (its client was killed).
                    let answering = req
                        .uri()
                        .path()
                        .ends_with("products.json")
                        .then(|| Answering::start(t));
                    if answering.is_some() {
                        tokio::time::sleep(SHOP_DELAY).await;
                    }
                    next.run(req).await
                }
            },
        ));
        let listener = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Shop {
            demo,
            addr,
            traffic,
        }
    }

    fn host(&self) -> String {
        self.addr.to_string()
    }

    fn requests(&self) -> usize {
        self.traffic.total.load(Ordering::SeqCst)
    }

    /// Sets the first variant's price to `share` percent of what it is.
    async fn lower(&self, share: u32) -> (String, u64) {
        let mut cat = self.demo.catalogue.lock();
        let v = &cat.products[0].variants[0];
        let (variant, was) = (v.id, v.price);
        let was: f64 = was.to_string().parse().unwrap();
        let price = format!("{:.2}", was * f64::from(share) / 100.0);
        assert!(cat.set_price(variant, price.parse().unwrap()));
        (self.host(), variant)
    }
}

/// Discord webhook posts received; the fake's address.
type Posts = Arc<Mutex<Vec<Value>>>;

async fn fake_discord() -> (Posts, String) {
    let posts: Posts = Arc::default();
    let kept = posts.clone();
    let app = axum::Router::new().fallback(move |body: axum::body::Bytes| {
        let kept = kept.clone();
        async move {
            let v = serde_json::from_slice(&body).unwrap_or(Value::Null);
            kept.lock().unwrap().push(v);
            StatusCode::NO_CONTENT
        }
    });
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await });
    (posts, format!("http://{addr}/api/webhooks/"))
}

fn instance(db: &str, shops: &[Shop], discord: &str) -> Server {
    let ttl = format!("{TTL_SECS}s");
    let endpoint = format!("discord={discord}");
    let sources: Vec<String> = shops
        .iter()
        .map(|s| format!("shopify=http://{}", s.addr))
        .collect();
    let mut args = vec![
        "--db",
        db,
        "--no-demo",
        "--interval",
        "1s",
        "--lease-ttl",
        &ttl,
        "--admin-password",
        ADMIN_PASSWORD,
        "--secret-key",
        KEY,
        "--notify-endpoint",
        &endpoint,
        "--trust-url",
        discord,
    ];
    for s in &sources {
        args.extend(["--source", s.as_str()]);
    }
    start(
        &args,
        &[("DROPWATCH_DB_USER", "root"), ("DROPWATCH_DB_PASS", "root")],
    )
}

/// Events received by one client, by number, across reconnections.
type Received = Arc<Mutex<Vec<Value>>>;

/// A client of the event feed: opens `/api/live?since=` on the first of
/// `bases` that answers, and when the socket ends, carries on from the last
/// number it has on the next one.
fn client(bases: Arc<Mutex<Vec<String>>>, token: String) -> Received {
    let got: Received = Arc::default();
    let kept = got.clone();
    tokio::spawn(async move {
        let mut turn = 0;
        loop {
            let base = {
                let b = bases.lock().unwrap();
                b[turn % b.len()].clone()
            };
            turn += 1;
            let since = kept
                .lock()
                .unwrap()
                .last()
                .and_then(|e: &Value| e["seq"].as_u64())
                .unwrap_or(0);
            let url = format!(
                "{}/api/live?since={since}",
                base.replace("http://", "ws://")
            );
            let mut req = url.into_client_request().unwrap();
            req.headers_mut()
                .insert("authorization", format!("Bearer {token}").parse().unwrap());
            let Ok((mut socket, _)) = tokio_tungstenite::connect_async(req).await else {
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            };
            while let Some(Ok(msg)) = socket.next().await {
                let Ok(text) = msg.to_text() else { continue };
                let Ok(v) = serde_json::from_str::<Value>(text) else {
                    continue;
                };
                if v["seq"].is_u64() && v["source"].is_string() {
                    kept.lock().unwrap().push(v);
                }
            }
        }
    });
    got
}

async fn json_of(s: &Server, path: &str, auth: &Auth) -> Value {
    let (status, body) = s.call(Method::GET, path, auth, None).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    serde_json::from_str(&body).unwrap()
}

/// Who holds each shop's host, by instance address, as `s` lists them.
async fn holders(s: &Server, auth: &Auth) -> Vec<(String, String)> {
    let list = json_of(s, "/api/v1/instances", auth).await;
    let mut out = vec![];
    for i in list.as_array().into_iter().flatten() {
        for l in i["leases"].as_array().into_iter().flatten() {
            let host = l["host"].as_str().unwrap_or("");
            if !host.starts_with("task:") {
                out.push((
                    host.to_string(),
                    i["addr"].as_str().unwrap_or("").to_string(),
                ));
            }
        }
    }
    out.sort();
    out
}

/// Each instance's log lines about `host` (its leases and polls), for a
/// failure to show who polled it when.
fn said_of(instances: &[Server], host: &str) -> String {
    let mut lines = String::new();
    for s in instances {
        lines += &format!("-- {}\n", s.base);
        for line in s.output.lock().unwrap().lines() {
            if line.contains(host) && !line.contains("GET /") {
                lines += line;
                lines.push('\n');
            }
        }
    }
    lines
}

/// Waits up to `most` for `ok`, saying `what` if it never comes.
async fn until(most: Duration, what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + most;
    while !ok() {
        assert!(Instant::now() < deadline, "not within {most:?}: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Price changes of `shop`'s `variant` a client has received (the shops
/// are alike: the same ids, each on its own host).
fn changes_of(got: &Received, (shop, variant): &(String, u64)) -> usize {
    let id = variant.to_string();
    got.lock()
        .unwrap()
        .iter()
        .filter(|e| {
            e["type"] == "price_changed"
                && e["variant"]["id"] == id.as_str()
                && e["product"]["url"]
                    .as_str()
                    .is_some_and(|u| u.contains(shop))
        })
        .count()
}

/// What an event says, apart from the product as it is now.
fn said(e: &Value) -> Value {
    json!([
        e["seq"],
        e["type"],
        e["source"],
        e["product"]["key"],
        e["variant"]["id"],
        e["old_price"],
        e["new_price"],
        e["at"]
    ])
}

/// Checks a client's events: numbered 1, 2, 3... with none missing or
/// repeated, and the same as `other`'s where both have them.
fn dense_and_agreeing(got: &Received, other: &Received) {
    let got: Vec<Value> = got.lock().unwrap().iter().map(said).collect();
    let other: Vec<Value> = other.lock().unwrap().iter().map(said).collect();
    for (i, e) in got.iter().enumerate() {
        assert_eq!(e[0].as_u64(), Some(i as u64 + 1), "event {i} is {e}");
    }
    for (a, b) in got.iter().zip(&other) {
        assert_eq!(a, b, "two clients were told different things");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_instances_share_the_shops_and_the_feed_through_a_death_and_a_database_restart() {
    let dir = std::env::temp_dir().join(format!("dropwatch-cluster-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut db = SurrealServer::start_on_files(&dir).await;
    let shops = [
        Shop::on("127.0.0.2", 2).await,
        Shop::on("127.0.0.3", 3).await,
        Shop::on("127.0.0.4", 4).await,
    ];
    let (posts, discord) = fake_discord().await;
    let url = db.url();
    // The first adds the sources (and the admin); the others find them.
    let mut instances = vec![instance(&url, &shops, &discord)];
    instances.push(instance(&url, &shops, &discord));
    instances.push(instance(&url, &shops, &discord));

    // A session opened on one instance is good on the others.
    let cookie = instances[0].admin().await;
    let admin = Auth::Cookie(cookie.clone());
    let token = instances[1].token(&cookie, "viewer").await;
    let viewer = Auth::Token(token.clone());
    let (status, channel) = instances[2]
        .call(
            Method::POST,
            "/api/v1/channels",
            &admin,
            Some(json!({"name": "team", "url": "discord://1/token-abcdefgh"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{channel}");
    let channel: Value = serde_json::from_str(&channel).unwrap();
    let rule = json!({
        "condition": {"kind": "drop_percent", "percent": "1"},
        "channels": [channel["id"]],
        "cooldown_secs": 0,
    });
    let (status, body) = instances[1]
        .call(Method::POST, "/api/v1/rules", &admin, Some(rule))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // Each instance comes to hold one shop.
    let mut spread = vec![];
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        spread = holders(&instances[0], &viewer).await;
        let mut owners: Vec<&String> = spread.iter().map(|(_, o)| o).collect();
        owners.sort();
        owners.dedup();
        if spread.len() == 3 && owners.len() == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(spread.len(), 3, "every shop has a holder: {spread:?}");

    // A client on each instance, from the first event.
    let bases: Vec<String> = instances.iter().map(|s| s.base.clone()).collect();
    let clients: Vec<Received> = (0..3)
        .map(|i| {
            let mut order = bases.clone();
            order.rotate_left(i);
            client(Arc::new(Mutex::new(order)), token.clone())
        })
        .collect();
    // Each shop's ten products arrive everywhere.
    until(
        Duration::from_secs(20),
        "30 new products on every client",
        || clients.iter().all(|c| c.lock().unwrap().len() >= 30),
    )
    .await;

    // A drop at every shop: recorded once, told to every client, alerted once.
    let mut variants = vec![];
    for shop in &shops {
        variants.push(shop.lower(90).await);
    }
    until(
        Duration::from_secs(15),
        "three drops on every client",
        || {
            clients
                .iter()
                .all(|c| variants.iter().all(|v| changes_of(c, v) == 1))
        },
    )
    .await;
    until(Duration::from_secs(10), "three alerts", || {
        posts.lock().unwrap().len() >= 3
    })
    .await;

    // The instance holding the first shop dies while it polls that shop.
    let host = shops[0].host();
    let spread = holders(&instances[0], &viewer).await;
    let owner = spread
        .iter()
        .find(|(h, _)| *h == host)
        .map(|(_, o)| o.clone())
        .expect("the first shop has a holder");
    let dead_at = instances
        .iter()
        .position(|s| s.base.ends_with(&owner))
        .expect("its holder is one of ours");
    until(Duration::from_secs(5), "the first shop being read", || {
        shops[0].traffic.now.load(Ordering::SeqCst) > 0
    })
    .await;
    drop(instances.remove(dead_at));
    let killed = Instant::now();
    let asked = shops[0].requests();
    let dropped = shops[0].lower(80).await;
    until(
        Duration::from_secs(TTL_SECS + 1 + 3),
        "the first shop polled again by another instance",
        || shops[0].requests() > asked,
    )
    .await;
    let resumed = killed.elapsed();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !clients.iter().all(|c| changes_of(c, &dropped) == 2) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let seen: Vec<(usize, usize)> = clients
        .iter()
        .map(|c| (changes_of(c, &dropped), c.lock().unwrap().len()))
        .collect();
    assert!(
        seen.iter().all(|(n, _)| *n == 2),
        "the drop on every client (changes, events): {seen:?}"
    );
    until(Duration::from_secs(10), "the fourth alert", || {
        posts.lock().unwrap().len() >= 4
    })
    .await;
    println!("the first shop was polled again {resumed:?} after its holder died");
    // Recorded as sent before the database goes (one sent but not yet
    // recorded would be sent again, which is not what this tests).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let log = json_of(&instances[0], "/api/v1/notifications", &admin).await;
        let sent = log
            .as_array()
            .into_iter()
            .flatten()
            .filter(|d| d["state"] == "sent")
            .count();
        if sent >= 4 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "four notifications recorded as sent: {log}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The database server goes away: both say they are not ready, and
    // are ready again once it is back, without a restart of their own.
    db.kill();
    for s in &instances {
        let mut ready = StatusCode::OK;
        let deadline = Instant::now() + Duration::from_secs(15);
        while ready == StatusCode::OK && Instant::now() < deadline {
            ready = s.call(Method::GET, "/readyz", &Auth::None, None).await.0;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert_eq!(ready, StatusCode::SERVICE_UNAVAILABLE, "{}", s.base);
    }
    db.restart().await;
    for s in &instances {
        let mut ready = StatusCode::SERVICE_UNAVAILABLE;
        let deadline = Instant::now() + Duration::from_secs(30);
        while ready != StatusCode::OK && Instant::now() < deadline {
            ready = s.call(Method::GET, "/readyz", &Auth::None, None).await.0;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert_eq!(ready, StatusCode::OK, "{} is ready again", s.base);
    }
    let after = shops[1].lower(80).await;
    until(
        Duration::from_secs(20),
        "a drop after the restart on every client",
        || clients.iter().all(|c| changes_of(c, &after) == 2),
    )
    .await;
    until(Duration::from_secs(10), "the fifth alert", || {
        posts.lock().unwrap().len() >= 5
    })
    .await;

    // Nothing lost or repeated, everyone told the same; one alert per
    // drop; never two instances at one shop.
    tokio::time::sleep(Duration::from_secs(2)).await;
    for c in &clients {
        dense_and_agreeing(c, &clients[0]);
    }
    let stored = json_of(&instances[0], "/api/v1/events?limit=1", &viewer).await;
    let last = stored["last_seq"].as_u64().unwrap();
    for c in &clients {
        assert_eq!(
            c.lock().unwrap().len() as u64,
            last,
            "every event reached every client"
        );
    }
    assert_eq!(posts.lock().unwrap().len(), 5, "one alert per drop");
    for shop in &shops {
        assert_eq!(
            shop.traffic.most.load(Ordering::SeqCst),
            1,
            "{} was polled by two instances at once; what the live instances said of it:\n{}",
            shop.host(),
            said_of(&instances, &shop.host())
        );
    }
    drop(instances);
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
}
