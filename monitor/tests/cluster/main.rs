//! Several instances on one real SurrealDB server: event numbers handed out
//! by the database (unique, dense, in commit order however many instances
//! commit at once), and every instance's live clients receiving every
//! instance's events, in order, once, with the products they are about;
//! each shop polled by one instance at a time. `accounts`: alerts and
//! sign-in throttles shared by the instances; `run_outage`: runs written
//! after the database server comes back; `lapse`: a read stops asking the
//! shop once its lease is about to lapse.

mod accounts;
#[path = "../common/mod.rs"]
mod common;
mod lapse;
mod run_outage;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use model::{Event, EventKind};
use serde_json::json;

use common::surreal::SurrealServer;
use common::{quick_config, Harness};
use monitor::{Engine, Store};

async fn instance(url: &str) -> Arc<Engine> {
    let store = Store::open(url).await.expect("the server's database opens");
    assert!(store.is_shared());
    Engine::open(store, quick_config())
        .await
        .expect("engine opens")
}

fn note(source: &str, i: usize) -> Event {
    Event {
        seq: 0,
        kind: EventKind::RepriceFailed,
        at: Utc::now(),
        source: source.into(),
        product: None,
        variant: None,
        old_price: None,
        new_price: None,
        reason: Some(format!("{source} #{i}")),
    }
}

/// The next `n` events of a feed, failing after 10 s without one.
async fn take(feed: &mut monitor::live::LiveFeed, n: usize) -> Vec<Event> {
    let mut got = vec![];
    while got.len() < n {
        let e = tokio::time::timeout(Duration::from_secs(10), feed.next())
            .await
            .unwrap_or_else(|_| panic!("only {} of {n} events arrived", got.len()))
            .expect("the feed reads")
            .expect("the feed goes on");
        got.push(e);
    }
    got
}

/// Waits up to 5 s for `ok`.
async fn wait_for(ok: impl Fn() -> bool) {
    for _ in 0..100 {
        if ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("not so after 5 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instances_committing_at_once_get_unique_dense_numbers_and_every_client_sees_all() {
    let server = SurrealServer::start().await;
    let (a, b) = (instance(&server.url()).await, instance(&server.url()).await);
    let (mut feed_a, mut feed_b) = (a.feed(0), b.feed(0));

    // Both instances commit 40 batches of 3 events at the same time.
    let writer = |e: Arc<Engine>, name: &'static str| {
        tokio::spawn(async move {
            let mut seqs = vec![];
            for i in 0..40 {
                let batch = (0..3).map(|j| note(name, i * 3 + j)).collect();
                let stored = e.record(batch).await.expect("the batch commits");
                seqs.extend(stored.iter().map(|ev| ev.seq));
            }
            seqs
        })
    };
    let (sa, sb) = tokio::join!(writer(a.clone(), "a"), writer(b.clone(), "b"));
    let mut all: Vec<u64> = sa.unwrap().into_iter().chain(sb.unwrap()).collect();
    all.sort_unstable();
    assert_eq!(
        all,
        (1..=240).collect::<Vec<u64>>(),
        "every number once, none skipped"
    );

    // A client of either instance receives all 240, in order, once.
    let (got_a, got_b) = (take(&mut feed_a, 240).await, take(&mut feed_b, 240).await);
    let seqs = |v: &[Event]| v.iter().map(|e| e.seq).collect::<Vec<u64>>();
    assert_eq!(seqs(&got_a), (1..=240).collect::<Vec<u64>>());
    assert_eq!(got_a, got_b, "both instances' clients see the same events");
    // Each batch's 3 events kept their order and their numbers are adjacent.
    for w in got_a.chunks(3) {
        assert_eq!(w[0].source, w[2].source, "a batch was interleaved: {w:?}");
    }
    for e in [&a, &b] {
        wait_for(|| e.store().last_seq() == 240).await;
    }

    // A third instance started now continues the sequence.
    let c = instance(&server.url()).await;
    let more = c.record(vec![note("c", 0)]).await.unwrap();
    assert_eq!(more[0].seq, 241);
    assert_eq!(take(&mut feed_a, 1).await[0].seq, 241);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn another_instances_change_reaches_this_instances_products_and_clients() {
    let server = SurrealServer::start().await;
    let poller = Harness::with(20, &server.url(), quick_config()).await;
    poller.check().await;
    let watcher = instance(&server.url()).await;
    assert_eq!(
        watcher.products().len(),
        20,
        "read from the shared database"
    );
    let mut feed = watcher.feed(watcher.store().last_seq());

    let (_, variant, _) = poller.variant(4, 0);
    poller
        .control("price", json!({"variant_id": variant, "price": "77.00"}))
        .await;
    poller.check().await;

    let e = take(&mut feed, 1).await.remove(0);
    assert_eq!(e.kind, EventKind::PriceChanged);
    let key = e.product.as_ref().expect("about a product").key.clone();
    let p = watcher.product(&key).expect("the product is known here");
    let v = p
        .variants
        .iter()
        .find(|v| v.id == variant.to_string())
        .expect("the variant is known here");
    assert_eq!(
        v.price.map(|d| d.to_string()).as_deref(),
        Some("77.00"),
        "this instance shows the price the other one read"
    );
}

/// A demo shop on its own loopback address whose catalogue requests are counted.
struct Shop {
    demo: Arc<monitor::demo::DemoStore>,
    addr: std::net::SocketAddr,
}

impl Shop {
    async fn on(ip: &str) -> Shop {
        let demo = monitor::demo::DemoStore::new(&common::demo_config(10));
        let addr = demo
            .spawn(format!("{ip}:0").parse().unwrap())
            .await
            .expect("the loopback address is free");
        Shop { demo, addr }
    }

    fn host(&self) -> String {
        self.addr.to_string()
    }

    /// The first variant's price.
    fn price(&self) -> rust_decimal::Decimal {
        let cat = self.demo.catalogue.lock();
        cat.products[0].variants[0].price
    }

    /// Sets the first variant's price, as the shop would.
    async fn reprice(&self, price: &str) -> u64 {
        let mut cat = self.demo.catalogue.lock();
        let variant = cat.products[0].variants[0].id;
        assert!(cat.set_price(variant, price.parse().unwrap()));
        variant
    }
}

fn polling_config() -> monitor::EngineConfig {
    monitor::EngineConfig {
        lease_ttl: Duration::from_secs(3),
        jitter: 0.0,
        ..quick_config()
    }
}

async fn polling_instance(url: &str) -> Arc<Engine> {
    let store = Store::open(url).await.expect("the server's database opens");
    let e = Engine::open(store, polling_config())
        .await
        .expect("engine opens");
    e.start();
    e
}

/// Hosts (not tasks) an instance polls.
fn hosts_held(e: &Engine) -> usize {
    e.leases()
        .held()
        .iter()
        .filter(|l| !l.host.starts_with("task:"))
        .count()
}

/// Who holds each host's lease, by host.
async fn owners(e: &Engine) -> std::collections::BTreeMap<String, Option<String>> {
    e.store()
        .leases()
        .await
        .unwrap()
        .into_iter()
        .filter(|l| l.expires > Utc::now().timestamp_millis())
        .map(|l| (l.host, l.owner))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_host_is_polled_by_one_instance_and_a_dead_ones_hosts_are_taken_over() {
    let server = SurrealServer::start().await;
    let shops = [
        Shop::on("127.0.0.2").await,
        Shop::on("127.0.0.3").await,
        Shop::on("127.0.0.4").await,
    ];
    let first = polling_instance(&server.url()).await;
    for shop in &shops {
        first
            .add_source(monitor::NewSource {
                name: Some(format!("Shop {}", shop.host())),
                ..monitor::NewSource::new(
                    "shopify",
                    &format!("http://{}", shop.addr),
                    Duration::from_secs(1),
                )
            })
            .await
            .expect("source added");
    }
    let mut instances = vec![
        first,
        polling_instance(&server.url()).await,
        polling_instance(&server.url()).await,
    ];

    // Within a few rounds every host has one owner, and the three
    // instances hold one each (the sources reached the other two through
    // the database).
    let mut spread = false;
    for _ in 0..100 {
        let held: Vec<usize> = instances.iter().map(|e| hosts_held(e)).collect();
        if held == [1, 1, 1] && owners(&instances[0]).await.len() >= 3 {
            spread = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        spread,
        "hosts were not spread one per instance: {:?} {:?}",
        instances
            .iter()
            .map(|e| e.leases().held())
            .collect::<Vec<_>>(),
        owners(&instances[0]).await
    );
    for e in &instances {
        assert_eq!(e.sources().len(), 3, "every instance knows every source");
    }

    // Over 5 s at a 1 s interval a shop polled by one instance is read
    // about 5 times, two requests a read (the page, then the empty one
    // after it); polled by three, about 30.
    let before: Vec<u64> = shops.iter().map(|s| s.demo.catalogue_requests()).collect();
    tokio::time::sleep(Duration::from_secs(5)).await;
    for (shop, was) in shops.iter().zip(&before) {
        let asked = shop.demo.catalogue_requests() - was;
        assert!(
            (6..=14).contains(&asked),
            "{} was asked {asked} times in 5 s at a 1 s interval",
            shop.host()
        );
    }

    // The instance polling the first shop dies (no goodbye: its lease just
    // stops being renewed) and the shop changes a price meanwhile.
    let host = shops[0].host();
    let owner_at = instances
        .iter()
        .position(|e| e.leases().held().iter().any(|l| l.host == host))
        .expect("someone holds the first shop");
    let dead = instances.remove(owner_at);
    let dead_id = dead.leases().me.clone();
    dead.stop();
    drop(dead);
    let last = instances[0].store().last_seq();
    let variant = shops[0].reprice("123.45").await;

    // Another instance takes it over within the TTL and a round, and polls.
    let took_at = std::time::Instant::now();
    let mut taken = false;
    while took_at.elapsed() < Duration::from_secs(3 + 1 + 2) {
        let now = owners(&instances[0]).await;
        if now
            .get(&host)
            .is_some_and(|o| o.is_some() && o.as_deref() != Some(dead_id.as_str()))
        {
            taken = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(taken, "{host} was not taken over within TTL + a round");

    // The price change is recorded once, numbered after what came before,
    // and every live instance's clients get it.
    let mut feeds: Vec<_> = instances.iter().map(|e| e.feed(last)).collect();
    for feed in &mut feeds {
        let mut found = None;
        while found.is_none() {
            let e = take(feed, 1).await.remove(0);
            if e.kind == EventKind::PriceChanged
                && e.variant
                    .as_ref()
                    .is_some_and(|v| v.id == variant.to_string())
            {
                found = Some(e);
            }
        }
        assert!(found.unwrap().seq > last);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let events = instances[0]
        .store()
        .events_since(last, 10_000)
        .await
        .unwrap();
    let changes = events
        .iter()
        .filter(|e| {
            e.kind == EventKind::PriceChanged
                && e.variant
                    .as_ref()
                    .is_some_and(|v| v.id == variant.to_string())
        })
        .count();
    assert_eq!(changes, 1, "the price change was recorded once");
    let mut seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    seqs.dedup();
    assert_eq!(seqs.len(), events.len(), "no number repeated");
}
