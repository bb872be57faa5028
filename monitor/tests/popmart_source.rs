//! Pop Mart: a source per region reads products by id, a category, a
//! series, new arrivals or a search from the fake Pop Mart API
//! (monitor::demo::popmart), every request signed; per-SKU online stock
//! followed; the WAF's 471 is `blocked` (never sold out), 429 honours
//! Retry-After, a wrong key or salt is refused in words; the politeness the
//! users asked for (3 in flight, 1.5–4 s apart) holds.

mod common;

use std::sync::Arc;
use std::time::Duration;

use model::{EventKind, PopmartSettings};
use monitor::demo::popmart::FakePopmart;
use monitor::sources::popmart::PopmartKeys;
use monitor::NewSource;

async fn serve(fake: &Arc<FakePopmart>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = fake.router();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    base
}

/// Keys for the fake at `base` (keys go to the API they were saved for only).
fn keys(base: &str, salt: &str) -> Option<PopmartKeys> {
    Some(PopmartKeys {
        client_key: "ck-test".into(),
        salt: salt.into(),
        api: Some(base.parse().unwrap()),
    })
}

async fn popmart_source(
    h: &common::Harness,
    base: &str,
    watch: &str,
    target: &str,
) -> Result<model::Source, monitor::EngineError> {
    h.engine
        .add_source(NewSource {
            popmart: Some(PopmartSettings {
                region: "hk".into(),
                watch: watch.into(),
                target: target.into(),
            }),
            ..NewSource::new("popmart", base, Duration::from_secs(3600))
        })
        .await
}

async fn control(base: &str, path: &str, body: serde_json::Value) {
    reqwest::Client::new()
        .post(format!("{base}{path}"))
        .json(&body)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
}

#[tokio::test]
async fn products_lists_searches_and_stock_per_sku() {
    let mut cfg = common::quick_config();
    cfg.popmart_politeness = cfg.politeness.clone();
    let h = common::Harness::with(1, "mem://", cfg).await;
    let fake = FakePopmart::new("ck-test", "salt-test");
    let base = serve(&fake).await;
    h.engine.set_popmart_keys("HK", keys(&base, "salt-test"));

    // Bad settings are refused in words.
    let e = popmart_source(&h, &base, "products", "labubu")
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("spuId"), "{e}");
    let e = popmart_source(&h, &base, "search", "  ")
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("search for"), "{e}");

    // Products by id: every SKU with its online stock, in the region's currency.
    let src = popmart_source(&h, &base, "products", "1159, 1160")
        .await
        .unwrap();
    assert_eq!(
        (src.key.as_str(), src.currency.as_str()),
        ("popmart-hk", "HKD")
    );
    let run = h.engine.check_now(&src.key).await.unwrap();
    assert!(run.complete && run.error.is_none(), "{run:?}");
    assert_eq!(run.products, 2);
    let p = h.engine.product("popmart-hk:1159").unwrap();
    assert_eq!(p.title, "LABUBU Big into Energy Vinyl Plush Pendant");
    assert_eq!(p.brand, "Pop Mart");
    let stock_of = |sku: u64| {
        fake.spus
            .lock()
            .iter()
            .flat_map(|s| s.skus.clone())
            .find(|k| k.id == sku)
            .unwrap()
            .stock
    };
    for v in &p.variants {
        assert_eq!(v.available, stock_of(v.id.parse().unwrap()) > 0, "{v:?}");
    }

    // A SKU restocks and another sells out: events per SKU.
    let sku = p.variants[0].id.parse::<u64>().unwrap();
    control(
        &base,
        "/control/stock",
        serde_json::json!({ "sku": sku, "stock": 0 }),
    )
    .await;
    let before = h.engine.store().last_seq();
    h.engine.check_now(&src.key).await.unwrap();
    control(
        &base,
        "/control/stock",
        serde_json::json!({ "sku": sku, "stock": 6 }),
    )
    .await;
    h.engine.check_now(&src.key).await.unwrap();
    let kinds: Vec<EventKind> = h
        .events_after(before)
        .await
        .iter()
        .map(|e| e.kind)
        .collect();
    let was_in_stock = p.variants[0].available;
    if was_in_stock {
        assert_eq!(kinds, vec![EventKind::SoldOut, EventKind::Restocked]);
    } else {
        assert_eq!(kinds, vec![EventKind::Restocked]);
    }
    control(
        &base,
        "/control/price",
        serde_json::json!({ "sku": sku, "price": "129" }),
    )
    .await;
    h.engine.check_now(&src.key).await.unwrap();
    assert_eq!(
        h.engine.product("popmart-hk:1159").unwrap().variants[0]
            .price
            .unwrap()
            .to_string(),
        "129"
    );

    // A series, a category, new arrivals and a search, each a list (the
    // fake's pages hold 4: the category and new arrivals take two pages).
    for (watch, target, expect, requests) in [
        ("series", "202", 2, 1),
        ("category", "1", 5, 2),
        ("new", "", 6, 2),
        ("search", "crybaby", 2, 1),
    ] {
        let s = popmart_source(&h, &base, watch, target).await.unwrap();
        let before = reqwest::get(format!("{base}/control/state"))
            .await
            .unwrap()
            .json::<serde_json::Value>()
            .await
            .unwrap()["requests"]
            .as_u64()
            .unwrap();
        let run = h.engine.check_now(&s.key).await.unwrap();
        assert!(run.complete && run.error.is_none(), "{watch}: {run:?}");
        assert_eq!(run.products, expect, "{watch}");
        let after = reqwest::get(format!("{base}/control/state"))
            .await
            .unwrap()
            .json::<serde_json::Value>()
            .await
            .unwrap()["requests"]
            .as_u64()
            .unwrap();
        assert_eq!(after - before, requests, "{watch}: pages asked for");
    }
}

#[tokio::test]
async fn blocks_rate_limits_and_wrong_keys_lose_nothing() {
    let mut cfg = common::quick_config();
    cfg.popmart_politeness = cfg.politeness.clone();
    let h = common::Harness::with(1, "mem://", cfg).await;
    let fake = FakePopmart::new("ck-test", "salt-test");
    let base = serve(&fake).await;
    let src = popmart_source(&h, &base, "products", "1161").await.unwrap();

    // No keys for the region yet.
    let run = h.engine.check_now(&src.key).await.unwrap();
    assert_eq!(run.error_class.as_deref(), Some("refused"));
    assert!(run.error.unwrap().contains("region HK"));

    h.engine.set_popmart_keys("HK", keys(&base, "salt-test"));
    assert!(h.engine.check_now(&src.key).await.unwrap().complete);
    let stored = h.engine.product("popmart-hk:1161").unwrap();

    for (status, class, words) in [
        ("471", "blocked", "HTTP 471"),
        ("500", "server_error", "HTTP 500"),
        ("garbage", "unreadable", "not valid JSON"),
        ("html", "blocked", "HTML page"),
        ("huge", "too_large", "larger than"),
        ("hang", "timeout", "no answer"),
        ("429", "rate_limited", "asked to wait 1s"),
    ] {
        let retry = (status == "429").then_some(1);
        control(
            &base,
            "/control/fault",
            serde_json::json!({ "status": status, "retry_after": retry }),
        )
        .await;
        let run = h.engine.check_now(&src.key).await.unwrap();
        assert_eq!(run.error_class.as_deref(), Some(class), "{status}: {run:?}");
        assert!(
            run.error.as_deref().unwrap_or("").contains(words),
            "{status}: {run:?}"
        );
        reqwest::Client::new()
            .delete(format!("{base}/control/fault"))
            .send()
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(if status == "429" {
            1100
        } else {
            120
        }))
        .await;
        assert_eq!(
            h.engine.product("popmart-hk:1161").unwrap(),
            stored,
            "{status} changed nothing"
        );
    }
    // The WAF's block was reported once, then lifted; never sold out.
    assert!(h.engine.check_now(&src.key).await.unwrap().complete);
    let kinds: Vec<EventKind> = h.events().await.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == EventKind::Blocked).count(),
        1,
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&EventKind::Unblocked) && !kinds.contains(&EventKind::SoldOut),
        "{kinds:?}"
    );

    // A wrong salt: the signature is refused, in words; a wrong client key too.
    h.engine.set_popmart_keys("HK", keys(&base, "wrong-salt"));
    let run = h.engine.check_now(&src.key).await.unwrap();
    assert_eq!(run.error_class.as_deref(), Some("refused"), "{run:?}");
    assert!(
        run.error.as_deref().unwrap().contains("signing salt")
            && !run.error.as_deref().unwrap().contains("wrong-salt")
    );
    h.engine.set_popmart_keys(
        "HK",
        Some(PopmartKeys {
            client_key: "nope".into(),
            salt: "salt-test".into(),
            api: Some(base.parse().unwrap()),
        }),
    );
    let run = h.engine.check_now(&src.key).await.unwrap();
    assert!(
        run.error.as_deref().unwrap().contains("HTTP 403"),
        "{run:?}"
    );
    assert_eq!(h.engine.product("popmart-hk:1161").unwrap(), stored);
}

#[tokio::test]
async fn requests_keep_pop_marts_politeness() {
    // The real rules: at most 3 in flight, 1.5 s plus up to 2.5 s apart.
    let h = common::Harness::with(1, "mem://", common::quick_config()).await;
    let fake = FakePopmart::with_latency("ck-test", "salt-test", Duration::from_millis(300));
    let base = serve(&fake).await;
    h.engine.set_popmart_keys("HK", keys(&base, "salt-test"));
    let src = popmart_source(&h, &base, "products", "1159 1160 1161")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let run = h.engine.check_now(&src.key).await.unwrap();
    assert!(run.complete, "{run:?}");
    let state: serde_json::Value = reqwest::get(format!("{base}/control/state"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state["requests"], 3);
    assert!(state["max_in_flight"].as_u64().unwrap() <= 3);
    let gap = state["min_gap_ms"].as_u64().unwrap();
    assert!(gap >= 1450, "requests {gap} ms apart");
    assert!(
        started.elapsed() >= Duration::from_millis(3000)
            && started.elapsed() < Duration::from_secs(10)
    );
}
