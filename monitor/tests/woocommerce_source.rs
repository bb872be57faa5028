//! WooCommerce shops end to end: the demo store's Store API (WooCommerce's
//! field names, paging, variations request, errors and rate limit) over real
//! HTTP -> the woocommerce connector -> the engine -> mem:// SurrealDB.

mod common;

use common::{kinds, Harness};
use model::EventKind;
use monitor::demo::Fault;
use serde_json::json;

#[tokio::test]
async fn a_woocommerce_shop_is_read_with_every_size() {
    let h = Harness::of_kind(130, model::SOURCE_KIND_WOOCOMMERCE).await;
    let run = h.check().await;
    assert!(run.complete, "{run:?}");
    assert_eq!(run.error, None);
    assert_eq!(run.products, 130);
    assert_eq!(
        run.pages, 2,
        "100 + 30 products, then an empty list ends it"
    );
    let events = h.events().await;
    assert_eq!(events.len(), 130);
    assert!(events.iter().all(|e| e.kind == EventKind::NewProduct));

    // Every size as the shop has it: id, label, price, sale and stock.
    let cat = h.demo.catalogue.lock();
    for demo in &cat.products {
        let key = format!("{}:{}", h.source.key, demo.id);
        let p = h.engine.product(&key).expect("every product read");
        assert_eq!(
            p.title.replace('\u{2019}', "'"),
            demo.title,
            "names decoded"
        );
        let simple = demo.variants.len() == 1 && demo.variants[0].title == "Default Title";
        assert_eq!(p.variants.len(), demo.variants.len(), "{}", demo.title);
        for (v, d) in p.variants.iter().zip(&demo.variants) {
            let id = if simple { demo.id } else { d.id };
            assert_eq!(v.id, id.to_string());
            let size = if simple { "One size" } else { d.title.as_str() };
            assert_eq!(v.size, size);
            assert_eq!(v.price, Some(d.price.round_dp(2)), "{}", demo.title);
            assert_eq!(v.available, d.available, "{} {}", demo.title, d.title);
            assert_eq!(v.compare_at, d.compare_at.filter(|c| *c > d.price));
        }
        assert!(p.brand == "Nike" || !p.brand.eq_ignore_ascii_case("nike"));
    }
}

#[tokio::test]
async fn a_size_selling_out_and_a_price_drop_are_one_event_each() {
    let h = Harness::of_kind(40, model::SOURCE_KIND_WOOCOMMERCE).await;
    h.check().await;
    let unchanged = h.engine.metrics().unchanged_pages;
    // Nothing changed: the page (list and variations) is not read again.
    let run = h.check().await;
    assert_eq!(run.changes, 0, "{run:?}");
    assert_eq!(h.engine.metrics().unchanged_pages, unchanged + 1);

    let before = h.engine.store().last_seq();
    // Product 0 is a sneaker with ten sizes: its stock shows only in the
    // variations answer, never in the product list.
    let (_, size, available) = h.variant(0, 3);
    h.control(
        "availability",
        json!({"variant_id": size, "available": !available}),
    )
    .await;
    let (_, other, _) = h.variant(1, 0);
    h.control("price", json!({"variant_id": other, "price": "61.00"}))
        .await;
    let run = h.check().await;
    assert!(run.complete, "{run:?}");
    let events = h.events_after(before).await;
    let mut got = kinds(&events);
    got.sort_by_key(|k| k.as_str());
    let stock = if available {
        EventKind::SoldOut
    } else {
        EventKind::Restocked
    };
    let mut want = vec![EventKind::PriceChanged, stock];
    want.sort_by_key(|k| k.as_str());
    assert_eq!(got, want);
    let drop = events
        .iter()
        .find(|e| e.kind == EventKind::PriceChanged)
        .unwrap();
    assert_eq!(drop.new_price, Some("61.00".parse().unwrap()));
    assert_eq!(drop.variant.as_ref().unwrap().id, other.to_string());

    // A product taken off the shop is removed after a complete read.
    let (gone, _, _) = h.variant(5, 0);
    h.control("remove", json!({"product_id": gone})).await;
    let before = h.engine.store().last_seq();
    h.check().await;
    let events = h.events_after(before).await;
    assert_eq!(kinds(&events), vec![EventKind::Removed]);
    assert_eq!(
        events[0].product.as_ref().unwrap().key,
        format!("{}:{gone}", h.source.key)
    );
}

#[tokio::test]
async fn the_store_apis_rate_limit_is_honoured_and_loses_nothing() {
    let h = Harness::of_kind(30, model::SOURCE_KIND_WOOCOMMERCE).await;
    h.check().await;
    let stored = h.engine.products().len();
    // WooCommerce limits with HTTP 400 `rate_limit_exceeded` and its own
    // RateLimit-Retry-After header, not a 429.
    h.fault(Fault::RateLimited, Some(7));
    let run = h.check().await;
    assert!(!run.complete);
    assert_eq!(run.error_class.as_deref(), Some("rate_limited"), "{run:?}");
    let said = run.error.unwrap();
    assert!(said.contains("HTTP 400") && said.contains("7s"), "{said}");
    let host = h
        .engine
        .hosts()
        .into_iter()
        .find(|s| s.host == h.addr.to_string())
        .expect("the shop's host is known");
    assert!(
        host.until.is_some(),
        "the host waits as asked before the next request: {host:?}"
    );
    // Asked again before the wait is over, nothing is sent.
    let served = h.demo.catalogue_requests();
    let run = h.check().await;
    assert_eq!(run.error_class.as_deref(), Some("backing_off"), "{run:?}");
    assert_eq!(h.demo.catalogue_requests(), served);
    // A challenge page instead of the list: the source is blocked for the
    // run, its products stay as they were.
    h.fault(Fault::Html, None);
    tokio::time::sleep(std::time::Duration::from_millis(7100)).await;
    let run = h.check().await;
    assert_eq!(run.error_class.as_deref(), Some("blocked"), "{run:?}");
    h.demo.set_fault(None);
    tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    let run = h.check().await;
    assert!(run.complete, "back to normal once the shop is: {run:?}");
    assert_eq!(h.engine.products().len(), stored);
    assert!(h.engine.products().iter().all(|p| !p.removed));
}
