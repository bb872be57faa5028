//! A restart on a file database keeps products, history and the event
//! sequence; the live feed delivers every event once, in order, from any point.

mod common;

use std::time::Duration;

use common::{quick_config, Harness};
use model::EventKind;
use serde_json::json;

#[tokio::test]
async fn a_restart_keeps_products_history_and_the_sequence() {
    let dir = common::TempDir::new("restart");
    let db = format!("surrealkv://{}/db", dir.0.display());
    let h = Harness::with(40, &db, quick_config()).await;
    h.check().await;
    let (_, variant, _) = h.variant(2, 1);
    h.control("price", json!({"variant_id": variant, "price": "55.00"}))
        .await;
    h.check().await;
    let last = h.engine.store().last_seq();
    let counts = h.engine.store().counts().await.unwrap();
    let products = h.engine.products();
    let key = h.events_after(last - 1).await[0]
        .product
        .as_ref()
        .unwrap()
        .key
        .clone();
    let history = h.engine.store().price_history(&key).await.unwrap();
    let (demo, addr) = (h.demo.clone(), h.addr);
    drop(h);
    // SurrealKV releases its directory lock once the handle is gone.
    tokio::time::sleep(Duration::from_millis(200)).await;

    let h = Harness::attach(demo, addr, &db, quick_config()).await;
    assert_eq!(
        h.engine.sources().len(),
        1,
        "the source was kept, not added twice"
    );
    assert_eq!(h.engine.store().last_seq(), last);
    assert_eq!(h.engine.store().counts().await.unwrap(), counts);
    assert!(
        h.engine.products() == products,
        "products differ after the restart"
    );
    assert_eq!(h.engine.store().price_history(&key).await.unwrap(), history);
    // Nothing changed while we were away: no new events on the first read.
    assert_eq!(h.check().await.changes, 0);
    // The sequence continues where it stopped.
    h.control("price", json!({"variant_id": variant, "price": "56.00"}))
        .await;
    h.check().await;
    let e = h.events_after(last).await;
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].seq, last + 1);
}

#[tokio::test]
async fn the_live_feed_misses_nothing_and_repeats_nothing() {
    let h = Harness::new(120).await;
    h.check().await; // 120 new_product events, stored before anyone listens
    let mut from_start = h.engine.feed(0);
    let mut from_middle = h.engine.feed(100);
    for seq in 1..=120 {
        assert_eq!(from_start.next().await.unwrap().unwrap().seq, seq);
    }
    for seq in 101..=120 {
        assert_eq!(from_middle.next().await.unwrap().unwrap().seq, seq);
    }
    // Live events arrive on both, once.
    let (_, variant, _) = h.variant(5, 0);
    h.control("price", json!({"variant_id": variant, "price": "1.00"}))
        .await;
    h.check().await;
    for feed in [&mut from_start, &mut from_middle] {
        let e = tokio::time::timeout(Duration::from_secs(5), feed.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!((e.seq, e.kind), (121, EventKind::PriceChanged));
        assert!(
            tokio::time::timeout(Duration::from_millis(200), feed.next())
                .await
                .is_err(),
            "nothing more"
        );
    }
    // A client that reconnects with its last number gets exactly what came after.
    h.control("price", json!({"variant_id": variant, "price": "2.00"}))
        .await;
    h.check().await;
    let mut resumed = h.engine.feed(121);
    assert_eq!(resumed.next().await.unwrap().unwrap().seq, 122);
}

/// The sequence numbers of the first `n` events of a feed from `since`.
async fn read_feed(engine: std::sync::Arc<monitor::Engine>, since: u64, n: usize) -> Vec<u64> {
    let mut feed = engine.feed(since);
    let mut seqs = vec![];
    while seqs.len() < n {
        let e = tokio::time::timeout(Duration::from_secs(20), feed.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        seqs.push(e.seq);
    }
    seqs
}

#[tokio::test]
async fn events_committed_while_a_client_catches_up_are_not_lost() {
    let h = Harness::new(300).await;
    // A client starts reading from 0 while the first import is being written.
    let engine = h.engine.clone();
    let reader = tokio::spawn(read_feed(engine, 0, 300));
    h.check().await;
    let seqs = reader.await.unwrap();
    assert_eq!(seqs, (1..=300).collect::<Vec<u64>>());
}

/// A crowd of clients catching up from the same cursor is served from
/// shared pages: every client still gets every event once, in order, and
/// only full pages are kept (the last one may still grow).
#[tokio::test]
async fn a_crowd_catching_up_shares_full_pages_and_misses_nothing() {
    let h = Harness::new(450).await;
    h.check().await;
    let mut readers = vec![];
    for since in [0, 0, 0, 0, 0, 37] {
        let engine = h.engine.clone();
        readers.push((
            since,
            tokio::spawn(read_feed(engine, since, (450 - since) as usize)),
        ));
    }
    for (since, r) in readers {
        let seqs = r.await.unwrap();
        assert_eq!(seqs, (since + 1..=450).collect::<Vec<u64>>());
    }
    let shared = h
        .engine
        .memory()
        .into_iter()
        .find(|(name, _)| *name == "live_shared_pages")
        .map(|(_, n)| n);
    // after 0 and 200 (from 0), after 37 and 237 (from 37); 400.. and 437.. are short
    assert_eq!(shared, Some(4));
}

/// A database written by schema 1 (random history and event ids behind
/// secondary indexes) opens under schema 2 with every row kept and found.
#[tokio::test]
async fn a_schema_1_database_is_migrated_without_losing_rows() {
    let dir = common::TempDir::new("migrate");
    let url = format!("surrealkv://{}/db", dir.0.display());
    {
        let db = surrealdb::engine::any::connect(url.as_str()).await.unwrap();
        db.use_ns("dropwatch").use_db("dropwatch").await.unwrap();
        let point = |ts: i64, price: &str| {
            json!({"product": "s/p", "at": "2026-11-01T00:00:00Z", "ts": ts,
                   "variants": [{"variant": "1", "size": "9", "price": price, "compare_at": null}]})
        };
        let event = |seq: u64| {
            json!({"seq": seq, "type": "blocked", "at": "2026-11-01T00:00:00Z",
                   "source": "s", "reason": format!("answer {seq}")})
        };
        db.query(
            "DEFINE INDEX price_history_product ON price_history FIELDS product, ts;
             DEFINE FIELD seq ON event TYPE int;
             DEFINE INDEX event_seq ON event FIELDS seq UNIQUE;
             UPSERT meta:schema SET version = 1;
             UPSERT meta:events SET last_seq = 3;
             INSERT INTO price_history $prices;
             INSERT INTO event $events;",
        )
        .bind(json!({
            "prices": [point(2000, "90.00"), point(1000, "100.00")],
            "events": [event(2), event(3), event(1)],
        }))
        .await
        .unwrap()
        .check()
        .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(200)).await;

    let store = monitor::Store::open(&url).await.unwrap();
    assert_eq!(store.last_seq(), 3);
    let events = store.events_since(0, 10).await.unwrap();
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [1, 2, 3]);
    assert_eq!(events[1].reason.as_deref(), Some("answer 2"));
    assert_eq!(store.events_since(1, 10).await.unwrap().len(), 2);
    let history = store.price_history("s/p").await.unwrap();
    let prices: Vec<String> = history
        .iter()
        .map(|p| p.variants[0].price.to_string())
        .collect();
    assert_eq!(prices, ["100.00", "90.00"], "oldest first");
}

/// A follower of the feed (alerts, repricing) saves where it left off once
/// it has caught up, not after every event of a burst.
#[tokio::test]
async fn a_follower_saves_where_it_left_off_once_caught_up() {
    let h = Harness::new(300).await;
    h.check().await;
    let store = h.engine.store().clone();
    let mut feed = h.engine.internal_feed(0);
    let mut cursor = monitor::live::FollowCursor::new("test_seq", 0);
    for n in 1..=300u64 {
        let e = feed.next().await.unwrap().unwrap();
        assert_eq!(e.seq, n);
        cursor.done(&store, &feed).await;
        if n == 1 {
            assert!(feed.has_ready());
            assert_eq!(
                store.meta("test_seq").await.unwrap(),
                None,
                "not saved while the burst goes on"
            );
        }
    }
    assert!(!feed.has_ready());
    assert_eq!(store.meta("test_seq").await.unwrap(), Some(json!(300)));
}
