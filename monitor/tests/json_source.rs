//! The generic JSON API source: a field mapping over a real-format API (the
//! demo store's products.json read as "any API", with sizes), an API that
//! wants a key in a header (taken from the environment, never stored),
//! preview before adding, and the failures: HTML instead of JSON is
//! `blocked` (stock kept), a mapping that finds nothing says where it
//! looked, 429 honours Retry-After.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use model::{EventKind, JsonMapping};
use monitor::NewSource;

fn shopify_as_any_api() -> JsonMapping {
    JsonMapping::from_lines(
        "items = $.products[*]\nid = /id\ntitle = /title\nbrand = /vendor\nprice = /variants/0/price\nurl = /handle\nvariants = /variants\nvariant_id = /id\nvariant_size = /title\nvariant_price = /price\nvariant_stock = /available",
        "",
    )
    .unwrap()
}

async fn json_source(
    h: &common::Harness,
    url: String,
    json: JsonMapping,
) -> Result<model::Source, monitor::EngineError> {
    h.engine
        .add_source(NewSource {
            key: None,
            kind: "json".into(),
            url,
            name: Some("API".into()),
            currency: Some("usd".into()),
            interval: Duration::from_secs(3600),
            page: Default::default(),
            json: Some(json),
            amazon: None,
            popmart: None,
            tags: vec![],
            keywords: Default::default(),
        })
        .await
}

#[tokio::test]
async fn a_mapping_reads_an_api_with_sizes_and_follows_its_changes() {
    let h = common::Harness::new(4).await;
    let url = format!("http://{}/products.json?limit=250", h.addr);
    // Preview first: what would be tracked, nothing added.
    let preview = h
        .engine
        .preview_json(&url, Some("USD"), shopify_as_any_api())
        .await
        .unwrap();
    assert_eq!(preview.len(), 4);
    assert!(h.engine.sources().iter().all(|s| s.kind() != "json"));
    let cat_sizes = h.demo.catalogue.lock().products[0].variants.len();
    assert_eq!(
        preview
            .iter()
            .find(|p| p.title == h.demo.catalogue.lock().products[0].title)
            .unwrap()
            .variants
            .len(),
        cat_sizes
    );

    let src = json_source(&h, url, shopify_as_any_api()).await.unwrap();
    let run = h.engine.check_now(&src.key).await.unwrap();
    assert!(run.complete && run.error.is_none(), "{run:?}");
    assert_eq!(run.products, 4);
    let (pid, vid, _) = h.variant(0, 0);
    let key = format!("{}:{pid}", src.key);
    let p = h.engine.product(&key).expect("mapped by id");
    assert_eq!(p.variants[0].id, vid.to_string());
    assert!(
        p.url
            .ends_with(&format!("/{}", h.demo.catalogue.lock().products[0].handle)),
        "{}",
        p.url
    );

    let seq = h.engine.store().last_seq();
    assert_eq!(
        h.control(
            "price",
            serde_json::json!({ "variant_id": vid, "price": "66.60" })
        )
        .await,
        204
    );
    h.engine.check_now(&src.key).await.unwrap();
    let events = h.events_after(seq).await;
    assert!(
        events
            .iter()
            .any(|e| e.kind == EventKind::PriceChanged && e.source == src.key),
        "{events:?}"
    );

    // HTML where JSON belongs: blocked once, stock kept; a removed product
    // is only "removed" after a complete read.
    let before = h.engine.product(&key).unwrap();
    h.fault(monitor::demo::Fault::Html, None);
    let run = h.engine.check_now(&src.key).await.unwrap();
    assert_eq!(run.error_class.as_deref(), Some("blocked"), "{run:?}");
    assert_eq!(h.engine.product(&key).unwrap().variants, before.variants);
    h.fault(monitor::demo::Fault::Garbage, None);
    let run = h.engine.check_now(&src.key).await.unwrap();
    assert!(run.error.is_some());
    h.demo.set_fault(None);
    assert!(h.engine.check_now(&src.key).await.unwrap().error.is_none());
}

#[tokio::test]
async fn keys_come_from_the_environment_and_bad_mappings_say_why() {
    // The operator allows these two (--source-env).
    let cfg = monitor::EngineConfig {
        source_env: vec![
            "DW_JSON_TEST_LUCK_KEY".into(),
            "DW_JSON_TEST_WRONG_KEY".into(),
        ],
        ..common::quick_config()
    };
    let h = common::Harness::with(1, "mem://", cfg).await;
    let seen: Arc<Mutex<Vec<Option<String>>>> = Arc::default();
    let s2 = seen.clone();
    let hits = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let hits2 = hits.clone();
    let app = axum::Router::new().route(
        "/api/sneaker-API/stockx",
        get(move |headers: HeaderMap| {
            let seen = s2.clone();
            let hits = hits2.clone();
            async move {
                let key = headers.get("x-luckdata-api-key").and_then(|v| v.to_str().ok()).map(str::to_string);
                seen.lock().unwrap().push(key.clone());
                if hits.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 3 {
                    return (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "7")], "slow down").into_response();
                }
                if key.as_deref() != Some("luck-key-123") {
                    return (StatusCode::UNAUTHORIZED, "bad key").into_response();
                }
                axum::Json(serde_json::json!({ "code": 0, "data": { "product": {
                    "styleId": "DD1391-100", "title": "Nike Dunk Low Retro White Black", "brand": "Nike",
                    "market": { "lowestAsk": 118, "currency": "USD" },
                    "sizes": [ { "size": "9", "lowestAsk": "121.00", "available": 4 }, { "size": "10", "lowestAsk": null, "available": 0 }, { "size": "11", "lowestAsk": 130, "available": "0" } ]
                } } }))
                .into_response()
            }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    let url = format!("http://{addr}/api/sneaker-API/stockx?url=https://stockx.com/nike-dunk-low-retro-white-black-2021");
    let mapping = |headers: &str| {
        JsonMapping::from_lines(
            "items = /data/product\nid = /styleId\ntitle = /title\nbrand = /brand\nprice = /market/lowestAsk\ncurrency = /market/currency\nvariants = /sizes\nvariant_size = /size\nvariant_price = /lowestAsk\nvariant_stock = /available",
            headers,
        )
        .unwrap()
    };
    // The variable is not set: refused when added, naming it (never a value).
    let err = json_source(
        &h,
        url.clone(),
        mapping("X-Luckdata-Api-Key: ${DW_JSON_TEST_LUCK_KEY}"),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("DW_JSON_TEST_LUCK_KEY"), "{err}");
    std::env::set_var("DW_JSON_TEST_LUCK_KEY", "luck-key-123");
    let src = json_source(
        &h,
        url.clone(),
        mapping("X-Luckdata-Api-Key: ${DW_JSON_TEST_LUCK_KEY}"),
    )
    .await
    .unwrap();
    // Stored and shown as the template, not the key.
    let stored = serde_json::to_string(&h.engine.sources()).unwrap();
    assert!(stored.contains("${DW_JSON_TEST_LUCK_KEY}") && !stored.contains("luck-key-123"));
    let run = h.engine.check_now(&src.key).await.unwrap();
    assert!(run.error.is_none(), "{run:?}");
    assert_eq!(
        seen.lock().unwrap().last().unwrap().as_deref(),
        Some("luck-key-123")
    );
    let p = h
        .engine
        .product(&format!("{}:dd1391-100", src.key))
        .expect("one item, by style id");
    let sizes: Vec<(String, String, bool)> = p
        .variants
        .iter()
        .map(|v| (v.size.clone(), v.price.unwrap().to_string(), v.available))
        .collect();
    // Size 10 has no ask of its own: the item's price; "0" is out of stock.
    assert_eq!(
        sizes,
        vec![
            ("9".into(), "121.00".into(), true),
            ("10".into(), "118".into(), false),
            ("11".into(), "130".into(), false)
        ]
    );
    // A wrong key: the run fails in words (401), nothing lost.
    // A key written out in the header line is refused (it would be stored and shown).
    let err = json_source(
        &h,
        format!("{url}&x=1"),
        mapping("X-Luckdata-Api-Key: luck-key-123"),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("environment variable") && !err.contains("luck-key-123"),
        "{err}"
    );
    std::env::set_var("DW_JSON_TEST_WRONG_KEY", "nope");
    let wrong = json_source(
        &h,
        format!("{url}&x=1"),
        mapping("X-Luckdata-Api-Key: ${DW_JSON_TEST_WRONG_KEY}"),
    )
    .await
    .unwrap();
    let run = h.engine.check_now(&wrong.key).await.unwrap();
    assert!(
        run.error
            .as_deref()
            .unwrap_or("")
            .contains("refused the request"),
        "{run:?}"
    );
    // Mappings that cannot work are refused with the reason.
    let mut m = mapping("");
    m.price = String::new();
    m.variant_price = String::new();
    assert!(json_source(&h, url.clone(), m)
        .await
        .unwrap_err()
        .to_string()
        .contains("price"));
    let mut m = mapping("");
    m.items = "$.data[*].x".into();
    assert!(json_source(&h, url.clone(), m).await.is_err());
    let mut m = mapping("X-Luckdata-Api-Key: ${DW_JSON_TEST_LUCK_KEY}");
    m.items = "/data/nothing".into();
    match h.engine.preview_json(&url, None, m).await {
        Err(e) => assert!(e.to_string().contains("/data/nothing"), "{e}"),
        Ok(p) => panic!("{p:?}"),
    }
    assert!(json_source(&h, url, JsonMapping::default()).await.is_err());

    // 429 with Retry-After: rate limited.
    let run = h.engine.check_now(&src.key).await.unwrap();
    assert_eq!(run.error_class.as_deref(), Some("rate_limited"), "{run:?}");
    assert!(run.error.unwrap().contains("7s"));
}

#[tokio::test]
async fn an_api_with_pages_is_followed_through_its_next_links() {
    let h = common::Harness::new(1).await;
    // Three pages of two items; the answer says where the next page is
    // (a relative URL), the last page says null. `fail` breaks page 3.
    let fail = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let f2 = fail.clone();
    let app = axum::Router::new().route(
        "/v2/items",
        get(move |axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>| {
            let fail = f2.clone();
            async move {
                let page: u32 = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
                if page == 3 && fail.load(std::sync::atomic::Ordering::SeqCst) {
                    return (StatusCode::BAD_GATEWAY, "upstream failed").into_response();
                }
                let items: Vec<serde_json::Value> = (0..2)
                    .map(|i| serde_json::json!({ "sku": format!("P{page}-{i}"), "name": format!("Item {page}.{i}"), "price": format!("{}.00", 10 * page + i) }))
                    .collect();
                let next = (page < 3).then(|| format!("/v2/items?page={}", page + 1));
                axum::Json(serde_json::json!({ "items": items, "links": { "next": next } })).into_response()
            }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    let mapping = JsonMapping::from_lines(
        "items = /items\nid = /sku\ntitle = /name\nprice = /price\nnext = $.links.next",
        "",
    )
    .unwrap();
    let src = json_source(&h, format!("http://{addr}/v2/items"), mapping)
        .await
        .unwrap();
    let run = h.engine.check_now(&src.key).await.unwrap();
    assert!(run.complete && run.error.is_none(), "{run:?}");
    assert_eq!(run.products, 6, "every page read");
    assert_eq!(
        h.engine
            .product(&format!("{}:p3-1", src.key))
            .unwrap()
            .variants[0]
            .price
            .unwrap()
            .to_string(),
        "31.00"
    );

    // Page 3 fails: pages 1 and 2 are still read and kept, the run says
    // why it is incomplete, and page 3's items are not marked removed.
    fail.store(true, std::sync::atomic::Ordering::SeqCst);
    let run = h.engine.check_now(&src.key).await.unwrap();
    assert!(!run.complete, "{run:?}");
    assert_eq!(run.error_class.as_deref(), Some("server_error"), "{run:?}");
    assert_eq!(run.products, 4);
    let p3 = h.engine.product(&format!("{}:p3-0", src.key)).unwrap();
    assert!(!p3.removed && p3.variants[0].available);
    assert!(h
        .events()
        .await
        .iter()
        .all(|e| e.kind != EventKind::Removed && e.kind != EventKind::SoldOut));
}
