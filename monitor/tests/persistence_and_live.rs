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

#[tokio::test]
async fn events_committed_while_a_client_catches_up_are_not_lost() {
    let h = Harness::new(300).await;
    // A client starts reading from 0 while the first import is being written.
    let engine = h.engine.clone();
    let reader = tokio::spawn(async move {
        let mut feed = engine.feed(0);
        let mut seqs = vec![];
        while seqs.len() < 300 {
            let e = tokio::time::timeout(Duration::from_secs(20), feed.next())
                .await
                .unwrap()
                .unwrap()
                .unwrap();
            seqs.push(e.seq);
        }
        seqs
    });
    h.check().await;
    let seqs = reader.await.unwrap();
    assert_eq!(seqs, (1..=300).collect::<Vec<u64>>());
}
