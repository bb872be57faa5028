//! Change detection end to end: demo store over real HTTP -> engine -> mem:// SurrealDB.

mod common;

use common::{kinds, Harness};
use model::EventKind;
use serde_json::json;

#[tokio::test]
async fn first_read_imports_everything_as_new() {
    let h = Harness::new(300).await;
    let run = h.check().await;
    assert!(run.complete, "{run:?}");
    assert_eq!(run.error, None);
    assert_eq!(run.products, 300);
    assert_eq!(
        run.pages, 2,
        "250 + 50 products, then an empty page ends the read"
    );
    let events = h.events().await;
    assert_eq!(events.len(), 300);
    assert!(events.iter().all(|e| e.kind == EventKind::NewProduct));
    // Numbers run 1..=300 without gaps.
    assert!(events
        .iter()
        .enumerate()
        .all(|(i, e)| e.seq == i as u64 + 1));
    assert_eq!(h.engine.products().len(), 300);
    // Brands arrive canonical even though the demo spells them many ways.
    let brands: std::collections::HashSet<String> =
        h.engine.products().into_iter().map(|p| p.brand).collect();
    assert!(brands.contains("Nike") && !brands.contains("NIKE") && !brands.contains("Nike Inc."));
    assert!(brands.contains("POP MART") && !brands.contains("Pop Mart"));
}

#[tokio::test]
async fn one_price_change_is_exactly_one_price_changed_event() {
    let h = Harness::new(60).await;
    h.check().await;
    let before = h.engine.store().last_seq();
    let (_, variant, _) = h.variant(3, 2);
    assert_eq!(
        h.control("price", json!({"variant_id": variant, "price": "77.50"}))
            .await,
        204
    );
    let run = h.check().await;
    assert_eq!(run.changes, 1, "{run:?}");
    let events = h.events_after(before).await;
    assert_eq!(kinds(&events), vec![EventKind::PriceChanged]);
    let e = &events[0];
    assert_eq!(e.new_price, Some("77.50".parse().unwrap()));
    assert_ne!(e.old_price, e.new_price);
    assert_eq!(e.variant.as_ref().unwrap().id, variant.to_string());
    // The stored state follows, and a history point was written for it.
    let key = &e.product.as_ref().unwrap().key;
    let product = h.engine.product(key).unwrap();
    let v = product
        .variants
        .iter()
        .find(|v| v.id == variant.to_string())
        .unwrap();
    assert_eq!(v.price, "77.50".parse().ok());
    let history = h.engine.store().price_history(key).await.unwrap();
    assert_eq!(history.len(), 2, "first sight, then the change");
    assert_eq!(history[1].variants.len(), 1);
    // Nothing changed since: the next read raises nothing.
    assert_eq!(h.check().await.changes, 0);
}

#[tokio::test]
async fn a_size_restock_is_restocked_for_that_size() {
    let h = Harness::new(40).await;
    // Make sure the size starts sold out, then read.
    let (_, variant, _) = h.variant(0, 4);
    h.control(
        "availability",
        json!({"variant_id": variant, "available": false}),
    )
    .await;
    h.check().await;
    let before = h.engine.store().last_seq();
    h.control(
        "availability",
        json!({"variant_id": variant, "available": true}),
    )
    .await;
    h.check().await;
    let events = h.events_after(before).await;
    assert_eq!(kinds(&events), vec![EventKind::Restocked]);
    let v = events[0].variant.as_ref().unwrap();
    assert_eq!(v.id, variant.to_string());
    assert!(v.available);
    let size = v.size.clone();
    assert!(events[0]
        .product
        .as_ref()
        .unwrap()
        .sizes_in_stock
        .contains(&size));
    assert!(v
        .cart_url
        .as_ref()
        .unwrap()
        .ends_with(&format!("/cart/add?id={variant}")));

    // And selling out again is `sold_out` for that size.
    let before = h.engine.store().last_seq();
    h.control(
        "availability",
        json!({"variant_id": variant, "available": false}),
    )
    .await;
    h.check().await;
    assert_eq!(
        kinds(&h.events_after(before).await),
        vec![EventKind::SoldOut]
    );
}

#[tokio::test]
async fn removed_only_after_a_complete_read_no_longer_lists_it() {
    let h = Harness::new(260).await;
    h.check().await;
    let (product_id, _, _) = h.variant(10, 0);
    assert_eq!(
        h.control("remove", json!({"product_id": product_id})).await,
        204
    );

    // A read that fails part-way (second page) must not call anything removed.
    h.demo.set_fault(Some(monitor::demo::FaultSetting {
        kind: monitor::demo::Fault::ServerError,
        retry_after: None,
        retry_after_raw: None,
        from_page: Some(2),
    }));
    let partial = h.check().await;
    assert!(!partial.complete);
    assert_eq!(partial.pages, 1);
    assert_eq!(partial.error_class.as_deref(), Some("server_error"));
    assert_eq!(
        h.engine.products().len(),
        260,
        "nothing removed by a partial read"
    );
    let before = h.engine.store().last_seq();
    h.demo.set_fault(None);
    let run = h.check().await;
    assert!(run.complete);
    let events = h.events_after(before).await;
    assert_eq!(kinds(&events), vec![EventKind::Removed]);
    assert_eq!(
        events[0].product.as_ref().unwrap().key,
        format!("{}:{product_id}", h.source.key)
    );
    assert_eq!(h.engine.products().len(), 259);
}

#[tokio::test]
async fn an_unchanged_cycle_writes_no_history() {
    let h = Harness::new(120).await;
    h.check().await;
    let before = h.engine.store().counts().await.unwrap();
    let run = h.check().await;
    assert_eq!(run.changes, 0);
    let after = h.engine.store().counts().await.unwrap();
    assert_eq!(after.price_history, before.price_history);
    assert_eq!(after.stock_history, before.stock_history);
    assert_eq!(after.events, before.events);
    assert_eq!(
        after.poll_runs,
        before.poll_runs + 1,
        "the run itself is recorded"
    );
    let runs = h.engine.store().runs(&h.source.key, 10).await.unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0], run, "newest first, stored as it ended");
    assert!(runs[0].finished.unwrap() >= runs[0].started);
    assert_eq!(
        (runs[1].products, runs[1].changes, runs[1].complete),
        (120, 120, true)
    );
}

#[tokio::test]
async fn a_second_check_while_one_runs_is_refused() {
    let h = Harness::new(30).await;
    h.fault(monitor::demo::Fault::Hang, None);
    let engine = h.engine.clone();
    let key = h.source.key.clone();
    let first = tokio::spawn(async move { engine.check_now(&key).await });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let progress = h.engine.progress(&h.source.key).unwrap();
    assert!(progress.running);
    let second = h.engine.check_now(&h.source.key).await;
    assert!(
        matches!(second, Err(monitor::EngineError::AlreadyRunning(_))),
        "{second:?}"
    );
    let run = first.await.unwrap().unwrap();
    assert_eq!(run.error_class.as_deref(), Some("timeout"));
    assert!(!h.engine.progress(&h.source.key).unwrap().running);
}

#[tokio::test]
async fn catalogue_pages_byte_for_byte_the_same_are_not_read_again() {
    // 600 products: pages of 250, 250 and 100, then an empty page.
    let h = Harness::new(600).await;
    let unchanged = || h.engine.metrics().unchanged_pages;
    let first = h.check().await;
    assert_eq!((first.pages, first.changes), (3, 600));
    assert_eq!(unchanged(), 0);

    // Nothing changed: every page is the one saved, none is parsed.
    let run = h.check().await;
    assert!(run.complete, "{run:?}");
    assert_eq!((run.pages, run.products, run.changes), (3, 600, 0));
    assert_eq!(unchanged(), 3);

    // A price on page 2 changes: that page is read, the others are not, and
    // the change is exactly one event.
    let before = h.engine.store().last_seq();
    let (_, variant, _) = h.variant(300, 0);
    h.control("price", json!({"variant_id": variant, "price": "61.25"}))
        .await;
    let run = h.check().await;
    assert_eq!((run.pages, run.products, run.changes), (3, 600, 1));
    assert_eq!(unchanged(), 5);
    assert_eq!(
        kinds(&h.events_after(before).await),
        vec![EventKind::PriceChanged]
    );

    // A product gone from page 3 is removed after that complete read, and
    // the unchanged pages still count as listing theirs (none removed).
    let (gone, _, _) = h.variant(590, 0);
    h.control("remove", json!({"product_id": gone})).await;
    let before = h.engine.store().last_seq();
    let run = h.check().await;
    assert!(run.complete);
    assert_eq!(run.products, 599);
    assert_eq!(
        kinds(&h.events_after(before).await),
        vec![EventKind::Removed]
    );

    // A new brand spelling changes how the same bytes read: every page is
    // read again and the products carry the new name.
    let vendor = h.engine.products()[0].brand.clone();
    h.engine
        .add_brand_alias(&vendor, "Renamed Brand")
        .await
        .unwrap();
    let seen = unchanged();
    h.check().await;
    assert_eq!(unchanged(), seen, "read again after the alias");
    assert!(h
        .engine
        .products()
        .iter()
        .any(|p| p.brand == "Renamed Brand"));
}
