//! Abuse that does not crash anything but would make Dropwatch wrong: a
//! shop that glitches and answers an empty catalogue once, and a cursor
//! beyond the last event.

mod common;

use common::{kinds, Harness};
use model::EventKind;
use monitor::demo::{Fault, FaultSetting};

fn empty_catalogue() -> Option<FaultSetting> {
    Some(FaultSetting {
        kind: Fault::Empty,
        retry_after: None,
        retry_after_raw: None,
        from_page: None,
    })
}

#[tokio::test]
async fn a_glitching_shop_does_not_empty_the_catalogue_but_a_real_clear_out_does() {
    let h = Harness::new(10).await;
    assert!(h.check().await.complete);
    let listed = |h: &Harness| h.engine.products().iter().filter(|p| !p.removed).count();
    assert_eq!(listed(&h), 10);

    // One valid but empty answer: held, nothing removed, the run says why.
    h.demo.set_fault(empty_catalogue());
    let seq = h.engine.store().last_seq();
    let run = h.check().await;
    assert!(run.complete && run.error.is_none(), "{run:?}");
    assert!(
        run.skipped
            .iter()
            .any(|s| s.contains("10 of 10 products were not listed")),
        "{run:?}"
    );
    assert_eq!(listed(&h), 10);
    assert!(h.events_after(seq).await.is_empty(), "no removed events");

    // The shop is back: nothing to say, no new_product storm.
    h.demo.set_fault(None);
    let run = h.check().await;
    assert!(run.skipped.is_empty(), "{run:?}");
    assert!(
        h.events_after(seq).await.is_empty(),
        "no new_product events"
    );

    // A real clear-out: seen twice in a row, then removed.
    h.demo.set_fault(empty_catalogue());
    h.check().await;
    assert_eq!(listed(&h), 10, "held once more");
    h.check().await;
    assert_eq!(listed(&h), 0, "confirmed by the next read");
    let removed = kinds(&h.events_after(seq).await)
        .iter()
        .filter(|k| **k == EventKind::Removed)
        .count();
    assert_eq!(removed, 10);

    // A small change is not held: one product off the catalogue goes at once.
    h.demo.set_fault(None);
    h.check().await;
    assert_eq!(listed(&h), 10);
    let gone = h.variant(0, 0).0;
    assert_eq!(
        h.control("remove", serde_json::json!({ "product_id": gone }))
            .await,
        204
    );
    let run = h.check().await;
    assert!(run.skipped.is_empty(), "{run:?}");
    assert_eq!(listed(&h), 9);
}

#[tokio::test]
async fn a_cursor_beyond_the_last_event_means_from_now() {
    let h = Harness::new(3).await;
    h.check().await;
    let last = h.engine.store().last_seq();
    assert!(last > 0);
    assert!(h
        .engine
        .store()
        .events_since(u64::MAX, 10)
        .await
        .unwrap()
        .is_empty());
    assert!(h
        .engine
        .store()
        .events_since(u64::MAX - 1, 10)
        .await
        .unwrap()
        .is_empty());
    // A feed from beyond the end sees the next event, not the history again.
    let mut feed = h.engine.feed(u64::MAX);
    let vid = h.variant(1, 0).1;
    assert_eq!(
        h.control(
            "price",
            serde_json::json!({ "variant_id": vid, "price": "1.23" })
        )
        .await,
        204
    );
    h.check().await;
    let next = tokio::time::timeout(std::time::Duration::from_secs(5), feed.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(next.seq, last + 1, "{next:?}");
}

#[tokio::test]
async fn a_page_of_the_backlog_reads_that_page() {
    let h = Harness::new(30).await;
    h.check().await;
    let store = h.engine.store();
    assert!(store.last_seq() >= 30);
    let one = store.events_since(0, 1).await.unwrap();
    assert_eq!(one.iter().map(|e| e.seq).collect::<Vec<_>>(), [1]);
    let page = store.events_since(10, 5).await.unwrap();
    assert_eq!(
        page.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [11, 12, 13, 14, 15]
    );
    assert_eq!(store.events_since(0, 0).await.unwrap().len(), 0);
}
