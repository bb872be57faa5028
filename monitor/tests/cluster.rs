//! Several instances on one real SurrealDB server: event numbers handed out
//! by the database (unique, dense, in commit order however many instances
//! commit at once), and every instance's live clients receiving every
//! instance's events, in order, once, with the products they are about.

mod common;

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
