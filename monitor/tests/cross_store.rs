//! Cross-store comparison over real sources: the demo store (Shopify) and
//! its mirror on Amazon (the fake Oxylabs) carry the same items, matched by
//! brand and model; each item's spread between the stores is on its
//! summary and the grid sorts by it; a user's verdicts (not the same item,
//! the same item after all, back to automatic) apply at once and survive a
//! restart.

mod common;

use std::time::Duration;

use model::{AmazonSettings, MatchedBy, ProductFilter, Sort};
use monitor::demo::oxylabs::{asin_of, FakeOxylabs};
use monitor::sources::amazon::OxylabsAccount;
use monitor::NewSource;
use serde_json::json;

#[tokio::test]
async fn items_are_compared_across_stores_and_users_confirm_split_and_merge() {
    let dir = common::TempDir::new("cross-store");
    let db = format!("surrealkv://{}/db", dir.0.display());
    let h = common::Harness::with(4, &db, common::quick_config()).await;
    h.check().await;
    let fake = FakeOxylabs::new(h.demo.clone(), "u", "p");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = fake.router();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    h.engine.set_oxylabs(Some(OxylabsAccount {
        username: "u".into(),
        password: "p".into(),
        realtime: base.parse().unwrap(),
        data: base.parse().unwrap(),
    }));

    let (ids, first) = {
        let cat = h.demo.catalogue.lock();
        let ids: Vec<u64> = cat.products.iter().map(|p| p.id).collect();
        let p = &cat.products[0];
        (
            ids,
            (
                p.title.clone(),
                p.vendor.clone(),
                p.variants
                    .iter()
                    .filter(|v| v.available)
                    .map(|v| v.price)
                    .min(),
            ),
        )
    };
    // Amazon sells the first item 25 % dearer than the demo store.
    let demo_low = first
        .2
        .expect("the first demo product has a size in stock (seed 11)");
    let dearer = (demo_low * rust_decimal::Decimal::new(125, 2)).round_dp(2);
    let asin0 = asin_of(ids[0]);
    reqwest::Client::new()
        .post(format!("{base}/control/answer"))
        .json(&json!({ "asin": asin0, "result": { "status_code": 200, "content": {
            "asin": asin0, "title": format!("{} {}", first.1, first.0), "brand": first.1,
            "price": dearer.to_string().parse::<f64>().unwrap(), "stock": "In Stock", "currency": "USD", "parse_status_code": 12000 } } }))
        .send()
        .await
        .unwrap();
    let asins: Vec<String> = ids.iter().map(|id| asin_of(*id)).collect();
    let amazon = h
        .engine
        .add_source(NewSource {
            amazon: Some(AmazonSettings::from_text(&asins.join(" "), "com").unwrap()),
            ..NewSource::new("amazon", "", Duration::from_secs(3600))
        })
        .await
        .unwrap();
    let run = h.engine.check_now(&amazon.key).await.unwrap();
    assert!(run.complete, "{run:?}");

    let demo0 = format!("{}:{}", h.source.key, ids[0]);
    let amz0 = format!("{}:{}", amazon.key, asin0.to_lowercase());
    let amz1 = format!("{}:{}", amazon.key, asin_of(ids[1]).to_lowercase());
    let same = |key: &str| -> Vec<(String, MatchedBy)> {
        h.engine
            .same_items(key)
            .into_iter()
            .map(|(p, w)| (p.key, w))
            .collect()
    };
    assert_eq!(same(&demo0), vec![(amz0.clone(), MatchedBy::BrandAndModel)]);

    // The spread is on both offers' summaries, and the grid sorts by it.
    let products = h.engine.products_compared();
    let spread = products
        .iter()
        .find(|p| p.key == demo0)
        .unwrap()
        .spread
        .clone()
        .expect("two stores in stock");
    assert_eq!(
        (spread.stores, spread.low, spread.high, spread.percent),
        (2, demo_low, dearer, rust_decimal::Decimal::from(25))
    );
    let filter = ProductFilter {
        sort: Sort::Spread,
        ..ProductFilter::default()
    };
    let page = filter.apply(products.clone());
    let top: Vec<&str> = page
        .products
        .iter()
        .take(2)
        .map(|p| p.key.as_str())
        .collect();
    assert!(
        top.contains(&demo0.as_str()) && top.contains(&amz0.as_str()),
        "{top:?}"
    );
    // Items in one store only come last.
    assert!(page
        .products
        .last()
        .unwrap()
        .spread
        .as_ref()
        .is_none_or(|s| s.percent.is_zero()));

    // Split: not the same item. Then merge another by hand.
    h.engine
        .judge_match(&demo0, &amz0, Some(false))
        .await
        .unwrap();
    assert!(same(&demo0).is_empty());
    assert!(h
        .engine
        .products_compared()
        .iter()
        .find(|p| p.key == demo0)
        .unwrap()
        .spread
        .is_none());
    h.engine
        .judge_match(&demo0, &amz1, Some(true))
        .await
        .unwrap();
    assert_eq!(same(&demo0), vec![(amz1.clone(), MatchedBy::ByHand)]);
    // Two products of one store are never the same item; unknown keys are said.
    let demo1 = format!("{}:{}", h.source.key, ids[1]);
    let e = h
        .engine
        .judge_match(&demo0, &demo1, Some(true))
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("same store"), "{e}");
    assert!(h
        .engine
        .judge_match(&demo0, "nope:1", Some(true))
        .await
        .unwrap_err()
        .to_string()
        .contains("nope:1"));

    // The verdicts survive a restart.
    let (demo, addr) = (h.demo.clone(), h.addr);
    drop(h);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let h = common::Harness::attach(demo, addr, &db, common::quick_config()).await;
    let same = |key: &str| -> Vec<(String, MatchedBy)> {
        h.engine
            .same_items(key)
            .into_iter()
            .map(|(p, w)| (p.key, w))
            .collect()
    };
    assert_eq!(same(&demo0), vec![(amz1.clone(), MatchedBy::ByHand)]);
    // Back to automatic matching.
    h.engine.judge_match(&demo0, &amz0, None).await.unwrap();
    h.engine.judge_match(&demo0, &amz1, None).await.unwrap();
    assert_eq!(same(&demo0), vec![(amz0, MatchedBy::BrandAndModel)]);
}
