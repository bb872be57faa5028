//! Amazon through the Oxylabs Web Scraper API: the captured Oxylabs answers
//! (fixtures/oxylabs-amazon) parse to their values, and an Amazon
//! source is read over HTTP from the fake Oxylabs (monitor::demo::oxylabs,
//! whose Amazon mirrors the demo catalogue): realtime for a few ASINs, one
//! batch for many, a price change and a sell-out followed, and every
//! failure Oxylabs has (401, 422, 429 with Retry-After, 524, 612, HTML,
//! garbage, 5 MB, a hang, an unknown ASIN) said in words without losing or
//! "selling out" anything stored.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use model::{AmazonSettings, EventKind};
use monitor::demo::oxylabs::{asin_of, FakeOxylabs, OxyFault};
use monitor::normalise::BrandTable;
use monitor::sources::amazon::{parse_result, AmazonContext, ItemError, OxylabsAccount};
use monitor::{EngineConfig, NewSource};
use serde_json::Value;

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/../fixtures/oxylabs-amazon/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("fixture {path} is missing ({e}); the shared fixtures sit beside the clone")
    });
    serde_json::from_str(&text).unwrap()
}

fn settings(asins: &[&str]) -> AmazonSettings {
    AmazonSettings {
        asins: asins.iter().map(|a| a.to_string()).collect(),
        domain: "com".into(),
        geo_location: None,
    }
}

#[test]
fn captured_oxylabs_answers_parse_to_their_values() {
    let brands = BrandTable::default();
    let none = HashMap::new();
    let s = settings(&["B00JTX7SH2"]);
    let ctx = AmazonContext {
        source: "amz",
        settings: &s,
        currency: "USD",
        brands: &brands,
        previous: &none,
    };

    // In stock, a number price, delivery date, rating.
    let r = fixture("amazon-product-instock.json");
    let p = parse_result(&r["results"][0], "B00JTX7SH2", &ctx).unwrap();
    assert_eq!(p.key, "amz:b00jtx7sh2");
    assert_eq!(p.variants[0].price.unwrap().to_string(), "31.68");
    assert!(p.variants[0].available);
    assert_eq!(p.currency, "USD");
    assert_eq!(p.brand, "Orgain");
    assert!(
        p.title
            .starts_with("Orgain Organic Nutritional Vegan Protein Shake"),
        "{}",
        p.title
    );
    assert_eq!(p.url, "https://www.amazon.com/dp/B00JTX7SH2");
    assert_eq!(
        p.image.as_deref(),
        Some("https://m.media-amazon.com/images/I/814b1+2eooL._AC_SL1500_.jpg")
    );
    assert_eq!(p.facts["stock"], "In Stock");
    assert_eq!(p.facts["delivery"], "Sunday, June 22 (FREE delivery)");
    assert_eq!(p.facts["rating"], "4.3 of 5 (12007 reviews)");
    // price_strikethrough equals the price: no "was" price.
    assert_eq!(p.variants[0].compare_at, None);

    // HTTP 200, parsed, but price 0 / price_buybox -1 / stock "": no offer.
    // Never "sold out" at first sight (there is no price to record) ...
    let r = fixture("amazon-product-no-buybox-price0.json");
    let err = parse_result(&r["results"][0], "B084Y7CHX5", &ctx).unwrap_err();
    assert_eq!(
        err,
        ItemError::NoOffer {
            asin: "B084Y7CHX5".into()
        }
    );
    assert!(err.to_string().contains("no offer"), "{err}");
    // ... and, once known, out of stock at its last price.
    let mut known = p.clone();
    known.key = "amz:b084y7chx5".into();
    known.variants[0].price = "899.00".parse().ok();
    let previous = HashMap::from([("B084Y7CHX5".to_string(), known)]);
    let ctx2 = AmazonContext {
        previous: &previous,
        ..ctx
    };
    let p2 = parse_result(&r["results"][0], "B084Y7CHX5", &ctx2).unwrap();
    assert_eq!(
        (
            p2.variants[0].price.unwrap().to_string().as_str(),
            p2.variants[0].available
        ),
        ("899.00", false)
    );
    assert_eq!(p2.brand, "JOBOX");
    assert_eq!(p2.facts["offer"], "no buy-box offer");

    // status_code 404 with parse code 12003: no such product.
    let r = fixture("amazon-product-404-parse12003.json");
    assert_eq!(
        parse_result(&r["results"][0], "B0846G5N74", &ctx).unwrap_err(),
        ItemError::NotFound {
            asin: "B0846G5N74".into()
        }
    );

    // An amazon_pricing answer (offers, no top-level price or stock) is not
    // a product page: it is not read as sold out either.
    let r = fixture("amazon-pricing-offers.json");
    assert!(matches!(
        parse_result(&r["results"][0], "B0CYVN8CCQ", &ctx),
        Err(ItemError::NoOffer { .. })
    ));
}

/// The demo store, an engine, and a fake Oxylabs mirroring the demo.
async fn setup(products: usize, cfg: EngineConfig) -> (common::Harness, Arc<FakeOxylabs>, String) {
    let h = common::Harness::with(products, "mem://", cfg).await;
    let fake = FakeOxylabs::new(h.demo.clone(), "oxy-user", "oxy-secret-password");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = fake.router();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    h.engine
        .set_oxylabs(Some(account(&base, "oxy-secret-password")));
    (h, fake, base)
}

fn account(base: &str, password: &str) -> OxylabsAccount {
    OxylabsAccount {
        username: "oxy-user".into(),
        password: password.into(),
        realtime: base.parse().unwrap(),
        data: base.parse().unwrap(),
    }
}

async fn amazon_source(h: &common::Harness, asins: &[String]) -> model::Source {
    let text = asins.join("\n");
    h.engine
        .add_source(NewSource {
            amazon: Some(AmazonSettings::from_text(&text, "com").unwrap()),
            ..NewSource::new("amazon", "", Duration::from_secs(3600))
        })
        .await
        .unwrap()
}

async fn fault(base: &str, status: &str, retry_after: Option<u64>) {
    let client = reqwest::Client::new();
    let f = OxyFault {
        status: status.into(),
        retry_after,
        body: None,
    };
    client
        .post(format!("{base}/control/fault"))
        .json(&f)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
}

async fn no_fault(base: &str) {
    reqwest::Client::new()
        .delete(format!("{base}/control/fault"))
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn a_few_asins_are_read_in_realtime_and_followed() {
    let (h, fake, base) = setup(4, common::quick_config()).await;
    let mut asins = fake.asins(3);
    // And one answered with the captured Oxylabs result.
    let captured = fixture("amazon-product-instock.json");
    reqwest::Client::new()
        .post(format!("{base}/control/answer"))
        .json(&serde_json::json!({ "asin": "B00JTX7SH2", "result": captured["results"][0] }))
        .send()
        .await
        .unwrap();
    asins.push("https://www.amazon.com/Orgain-Organic/dp/B00JTX7SH2?th=1".into());
    let src = amazon_source(&h, &asins).await;
    assert_eq!(
        (src.key.as_str(), src.url.as_str()),
        ("amazon-com", "https://www.amazon.com")
    );

    let run = h.engine.check_now(&src.key).await.unwrap();
    assert!(run.complete && run.error.is_none(), "{run:?}");
    assert_eq!(run.products, 4);
    assert_eq!(fake.counts.lock().realtime, 4);
    assert_eq!(fake.counts.lock().batches, 0);
    let orgain = h.engine.product("amazon-com:b00jtx7sh2").unwrap();
    assert_eq!(orgain.variants[0].price.unwrap().to_string(), "31.68");

    // The demo's first product on Amazon: the lowest price of a size in stock.
    let (pid, _, _) = h.variant(0, 0);
    let key = format!("amazon-com:{}", asin_of(pid).to_lowercase());
    let lowest_in_stock = |h: &common::Harness| {
        let cat = h.demo.catalogue.lock();
        cat.products[0]
            .variants
            .iter()
            .filter(|v| v.available)
            .map(|v| v.price)
            .min()
    };
    let amz = h.engine.product(&key).unwrap();
    assert_eq!(amz.variants[0].price, lowest_in_stock(&h));
    assert!(
        amz.facts.contains_key("delivery") && amz.facts.contains_key("rating"),
        "{:?}",
        amz.facts
    );

    // A price drop at the shop shows on Amazon: an event.
    let before = h.engine.store().last_seq();
    let variant_ids: Vec<u64> = h.demo.catalogue.lock().products[0]
        .variants
        .iter()
        .map(|v| v.id)
        .collect();
    for id in &variant_ids {
        h.demo.catalogue.lock().set_available(*id, true);
    }
    h.demo
        .catalogue
        .lock()
        .set_price(variant_ids[0], "12.34".parse().unwrap());
    let run = h.engine.check_now(&src.key).await.unwrap();
    assert!(run.error.is_none(), "{run:?}");
    let events = h.events_after(before).await;
    assert!(
        events.iter().any(|e| e.kind == EventKind::PriceChanged
            && e.product.as_ref().is_some_and(|p| p.key == key)
            && e.new_price.map(|p| p.to_string()) == Some("12.34".into())),
        "{events:?}"
    );

    // All but two sizes gone: "Only 2 left in stock" is low stock, still buyable.
    for id in &variant_ids[2..] {
        h.demo.catalogue.lock().set_available(*id, false);
    }
    h.engine.check_now(&src.key).await.unwrap();
    let amz = h.engine.product(&key).unwrap();
    if variant_ids.len() > 3 {
        assert_eq!(
            amz.facts.get("low stock").map(String::as_str),
            Some("only 2 left"),
            "{:?}",
            amz.facts
        );
        assert!(amz.variants[0].available);
    }

    // Nobody sells it: Amazon's price 0 / buy box -1 is sold out at the last price, not removed.
    for id in &variant_ids {
        h.demo.catalogue.lock().set_available(*id, false);
    }
    let before = h.engine.store().last_seq();
    let run = h.engine.check_now(&src.key).await.unwrap();
    assert!(run.error.is_none(), "{run:?}");
    let amz = h.engine.product(&key).unwrap();
    assert!(!amz.variants[0].available && !amz.removed);
    assert_eq!(amz.variants[0].price.unwrap().to_string(), "12.34");
    assert!(h
        .events_after(before)
        .await
        .iter()
        .any(|e| e.kind == EventKind::SoldOut));

    // An ASIN Amazon does not have: said by name; the others are still read;
    // nothing is marked removed.
    h.engine
        .update_source(
            &src.key,
            monitor::SourceEdit {
                amazon: Some(
                    AmazonSettings::from_text(&format!("{}\nB0NOTHERE1", asins.join("\n")), "com")
                        .unwrap(),
                ),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let run = h.engine.check_now(&src.key).await.unwrap();
    let err = run.error.clone().unwrap();
    assert!(
        err.contains("1 of 5 ASINs")
            && err.contains("B0NOTHERE1")
            && err.contains("no such product"),
        "{err}"
    );
    assert_eq!(run.products, 4);
    assert!(!run.complete);
    assert!(h
        .engine
        .products()
        .iter()
        .filter(|p| p.source == src.key)
        .all(|p| !p.removed));
}

#[tokio::test]
async fn every_oxylabs_failure_is_said_and_loses_nothing() {
    let (h, fake, base) = setup(3, common::quick_config()).await;
    let src = amazon_source(&h, &fake.asins(2)).await;
    let run = h.engine.check_now(&src.key).await.unwrap();
    assert!(run.complete, "{run:?}");
    let stored: Vec<_> = h
        .engine
        .products()
        .into_iter()
        .filter(|p| p.source == src.key)
        .collect();
    assert_eq!(stored.len(), 2);

    let cases: &[(&str, Option<u64>, &str, &str)] = &[
        ("429", Some(1), "rate_limited", "asked to wait 1s"),
        ("524", None, "server_error", "HTTP 524"),
        ("612", None, "server_error", "HTTP 612"),
        ("500", None, "server_error", "HTTP 500"),
        ("422", None, "unreadable", "rejected the query"),
        ("garbage", None, "unreadable", "not valid JSON"),
        ("huge", None, "too_large", "larger than"),
        ("hang", None, "timeout", "no answer"),
        ("401", None, "refused", "username and password"),
        ("html", None, "blocked", "HTML page"),
    ];
    for (status, retry, class, words) in cases {
        fault(&base, status, *retry).await;
        let run = h.engine.check_now(&src.key).await.unwrap();
        assert_eq!(
            run.error_class.as_deref(),
            Some(*class),
            "{status}: {run:?}"
        );
        assert!(
            run.error.as_deref().unwrap_or("").contains(words),
            "{status}: {run:?}"
        );
        no_fault(&base).await;
        // The gate's back-off after a failure is short in tests (Retry-After
        // is honoured: 1 s); wait it out.
        tokio::time::sleep(Duration::from_millis(if *status == "429" {
            1100
        } else {
            120
        }))
        .await;
        let now: Vec<_> = h
            .engine
            .products()
            .into_iter()
            .filter(|p| p.source == src.key)
            .collect();
        assert_eq!(now.len(), 2, "{status}");
        for (a, b) in stored.iter().zip(&now) {
            assert_eq!(
                (a.min_price, &a.sizes_in_stock, a.removed),
                (b.min_price, &b.sizes_in_stock, b.removed),
                "{status} changed nothing"
            );
        }
    }
    // The HTML answer was "blocked" once; a good answer unblocks.
    let run = h.engine.check_now(&src.key).await.unwrap();
    assert!(run.complete, "{run:?}");
    let kinds: Vec<EventKind> = h.events().await.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == EventKind::Blocked).count(),
        1,
        "{kinds:?}"
    );
    assert!(kinds.contains(&EventKind::Unblocked));
    assert!(
        !kinds.contains(&EventKind::SoldOut) && !kinds.contains(&EventKind::Removed),
        "{kinds:?}"
    );

    // A wrong password: refused, in words, without the password in them.
    h.engine.set_oxylabs(Some(account(&base, "wrong-password")));
    let run = h.engine.check_now(&src.key).await.unwrap();
    assert_eq!(run.error_class.as_deref(), Some("refused"));
    assert!(!run.error.unwrap().contains("wrong-password"));
    // No account at all: said, nothing fetched.
    h.engine.set_oxylabs(None);
    let run = h.engine.check_now(&src.key).await.unwrap();
    assert!(run.error.unwrap().contains("no Oxylabs account"));
    // The password is in no stored source.
    let rows = serde_json::to_string(&h.engine.store().sources().await.unwrap()).unwrap();
    assert!(!rows.contains("oxy-secret-password"));
}

#[tokio::test]
async fn many_asins_go_as_one_batch_and_are_polled_until_done() {
    let mut cfg = common::quick_config();
    cfg.amazon.realtime_max = 3;
    cfg.amazon.batch_poll = Duration::from_millis(30);
    let (h, fake, base) = setup(8, cfg).await;
    reqwest::Client::new()
        .post(format!("{base}/control/job-delay"))
        .json(&serde_json::json!({ "ms": 150 }))
        .send()
        .await
        .unwrap();
    let src = amazon_source(&h, &fake.asins(8)).await;
    let run = h.engine.check_now(&src.key).await.unwrap();
    assert!(run.complete && run.error.is_none(), "{run:?}");
    assert_eq!(run.products, 8);
    let c = fake.counts.lock();
    assert_eq!(
        (c.batches, c.realtime, c.result_fetches),
        (1, 0, 8),
        "one batch, each job's results once"
    );
    // Jobs were pending at first: each was asked about more than once.
    assert!(c.status_polls > 8, "{}", c.status_polls);
    drop(c);

    // Jobs that do not finish in time: said, the rest asked for next run.
    let mut cfg = common::quick_config();
    cfg.amazon.realtime_max = 3;
    cfg.amazon.batch_poll = Duration::from_millis(30);
    cfg.amazon.batch_wait = Duration::from_millis(100);
    let (h2, fake2, base2) = setup(5, cfg).await;
    reqwest::Client::new()
        .post(format!("{base2}/control/job-delay"))
        .json(&serde_json::json!({ "ms": 60_000 }))
        .send()
        .await
        .unwrap();
    let src2 = amazon_source(&h2, &fake2.asins(5)).await;
    let run = h2.engine.check_now(&src2.key).await.unwrap();
    assert!(
        run.error
            .as_deref()
            .unwrap_or("")
            .contains("had not finished 5 of 5 jobs"),
        "{run:?}"
    );
    assert!(!run.complete);
}
