//! The "page" source: real captured product pages parse to what they say;
//! a demo product page over HTTP is tracked per size (price changes,
//! restocks); challenge pages are `blocked`, never sold out, and keep the
//! stock; broken, huge and hung answers are errors that lose nothing; the
//! user's CSS selectors and phrases decide when the page's data is missing
//! or contradicts itself.

mod common;

use std::time::Duration;

use axum::response::Html;
use axum::routing::get;
use model::{EventKind, PageSettings, Product};
use monitor::demo::Fault;
use monitor::normalise::BrandTable;
use monitor::sources::page::{parse_page, PageContext, PageError};
use monitor::NewSource;
use rust_decimal::Decimal;
use url::Url;

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/../fixtures/product-pages/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    String::from_utf8_lossy(&std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
        .into_owned()
}

fn parse(
    html: &str,
    settings: &PageSettings,
    previous: Option<&Product>,
) -> Result<Product, PageError> {
    let url = Url::parse("https://shop.example/products/thing-1").unwrap();
    let brands = BrandTable::default();
    parse_page(
        html,
        &PageContext {
            source: "shop",
            url: &url,
            currency: "EUR",
            brands: &brands,
            settings,
            previous,
        },
    )
}

fn one(p: &Product) -> (Decimal, bool, &str) {
    assert_eq!(p.variants.len(), 1, "{:?}", p.variants);
    (
        p.variants[0].price.expect("a price"),
        p.variants[0].available,
        p.currency.as_str(),
    )
}

#[test]
fn captured_pages_parse_to_what_they_say() {
    let none = PageSettings::default();
    // JSON-LD with a number price, also in OpenGraph (they agree).
    let p = parse(&fixture("wayfair-jsonld-instock.html"), &none, None).unwrap();
    assert_eq!(one(&p), (d("111.99"), true, "USD"));
    assert!(!p.title.is_empty());
    // A string price and a bare "InStock".
    let p = parse(&fixture("overstock-jsonld-bare-instock.html"), &none, None).unwrap();
    assert_eq!(one(&p), (d("31.49"), true, "USD"));
    // No availability at all: a shown price is not "sold out". On sale: the
    // JSON-LD says the regular 150.00, OpenGraph the sale price 120.00 and
    // `og:price:standard_amount` 150.00 -- it costs 120.00, was 150.00.
    let p = parse(
        &fixture("rejuvenation-jsonld-no-availability.html"),
        &none,
        None,
    )
    .unwrap();
    assert_eq!(one(&p), (d("120.00"), true, "USD"));
    assert_eq!(p.variants[0].compare_at, Some(d("150.00")));
    assert!(p.title.contains("Keystick"), "{}", p.title);
    // OpenGraph only.
    let p = parse(&fixture("costco-og-price-only.html"), &none, None).unwrap();
    assert_eq!(one(&p), (d("329.99"), true, "USD"));
    // OpenGraph and microdata, agreeing.
    let p = parse(&fixture("fye-og-price-and-microdata.html"), &none, None).unwrap();
    assert_eq!(one(&p), (d("17.99"), true, "USD"));
    // Sold out with `price: {}`: nothing to record the first time; once
    // known, its sizes go out of stock and the last price stays.
    let html = fixture("potterybarn-jsonld-outofstock.html");
    let first = parse(&html, &none, None).unwrap();
    assert_eq!(
        (first.variants[0].price, first.variants[0].available),
        (None, false),
        "tracked as sold out, its price not shown"
    );
    let mut known = parse(
        &fixture("rejuvenation-jsonld-no-availability.html"),
        &none,
        None,
    )
    .unwrap();
    known.key = "shop:thing-1".into();
    let p = parse(&html, &none, Some(&known)).unwrap();
    assert_eq!(one(&p), (d("120.00"), false, "USD"));
}

const GROUP: &str = r#"<html><head><title>Dunk Low</title>
<script type="application/ld+json">{"@context":"https://schema.org","@graph":[{"@type":"BreadcrumbList"},
 {"@type":"ProductGroup","name":"Dunk Low Panda","brand":{"@type":"Brand","name":"NIKE"},"image":["/img/dunk.jpg"],
  "hasVariant":[
   {"@type":"Product","name":"Dunk Low Panda - 9","sku":"DD1391-100-9","offers":{"@type":"Offer","price":"110.00","priceCurrency":"USD","availability":"https://schema.org/InStock"}},
   {"@type":"Product","name":"Dunk Low Panda - 9.5","sku":"DD1391-100-95","size":"9.5","offers":{"@type":"Offer","price":"115.00","priceCurrency":"USD","availability":"https://schema.org/OutOfStock"}},
   {"@type":"Product","name":"Dunk Low Panda - 10","sku":"DD1391-100-10","offers":[{"@type":"Offer","price":120,"priceCurrency":"USD","availability":"PreOrder"}]}
  ]}]}</script></head><body><h1>Dunk Low</h1></body></html>"#;

#[test]
fn product_groups_aggregate_offers_and_microdata() {
    let none = PageSettings::default();
    let p = parse(GROUP, &none, None).unwrap();
    assert_eq!(p.title, "Dunk Low Panda");
    assert_eq!(p.brand, "Nike");
    assert_eq!(
        p.image.as_deref(),
        Some("https://shop.example/img/dunk.jpg")
    );
    let sizes: Vec<(&str, String, bool)> = p
        .variants
        .iter()
        .map(|v| (v.size.as_str(), v.price.unwrap().to_string(), v.available))
        .collect();
    assert_eq!(
        sizes,
        vec![
            ("9", "110.00".into(), true),
            ("9.5", "115.00".into(), false),
            ("10", "120".into(), true)
        ]
    );
    assert_eq!(p.variants[0].id, "DD1391-100-9");

    let agg = r#"<script type="application/ld+json">[{"@type":"Product","name":"Labubu","offers":{"@type":"AggregateOffer","lowPrice":"19.90","highPrice":"25","priceCurrency":"hkd","offerCount":3}}]</script>"#;
    assert_eq!(
        one(&parse(agg, &none, None).unwrap()),
        (d("19.90"), true, "HKD")
    );

    let micro = r#"<div itemscope itemtype="https://schema.org/Product"><h1 itemprop="name">Tee</h1>
      <span itemprop="price" content="25.00">$25</span><meta itemprop="priceCurrency" content="USD">
      <link itemprop="availability" href="https://schema.org/SoldOut"></div>"#;
    assert_eq!(
        one(&parse(micro, &none, None).unwrap()),
        (d("25.00"), false, "USD")
    );
    // No currency on the page: the source's.
    let bare = r#"<meta property="og:title" content="Cap"><meta property="product:price:amount" content="1.299,00">"#;
    assert_eq!(
        one(&parse(bare, &none, None).unwrap()),
        (d("1299.00"), true, "EUR")
    );
}

/// Two products with offers, neither named like the page, and OpenGraph
/// saying a third price: which is the page's own is not clear.
const CONFLICT: &str = r#"<html><head><meta property="og:title" content="Jacket | Outlet">
<meta property="product:price:amount" content="199.00"><meta property="product:price:currency" content="USD">
<script type="application/ld+json">[{"@type":"Product","name":"Jacket","offers":{"@type":"Offer","price":"249.00","priceCurrency":"USD"}},
{"@type":"Product","name":"Hood","offers":{"@type":"Offer","price":"59.00","priceCurrency":"USD"}}]</script></head>
<body><div class="pdp"><span class="price now">$189.00</span><span class="price was">$249.00</span>
<button class="atc">Notify me when available</button></div></body></html>"#;

#[test]
fn contradictions_ask_for_selectors_and_selectors_decide() {
    match parse(CONFLICT, &PageSettings::default(), None) {
        Err(PageError::Unreadable(why)) => {
            assert!(
                why.contains("249") && why.contains("199") && why.contains("CSS selector"),
                "{why}"
            )
        }
        other => panic!("{other:?}"),
    }
    let s = PageSettings {
        price_selector: Some(".pdp .price.now".into()),
        stock_selector: Some("button.atc".into()),
        ..PageSettings::default()
    };
    let p = parse(CONFLICT, &s, None).unwrap();
    assert_eq!(
        one(&p),
        (d("189.00"), false, "USD"),
        "'notify me' means sold out"
    );
    // The user's own phrases.
    let s2 = PageSettings {
        price_selector: Some(".pdp .price.now".into()),
        stock_selector: Some("button.atc".into()),
        in_stock_phrases: vec!["notify me".into()],
        out_of_stock_phrases: vec!["gone forever".into()],
    };
    assert!(one(&parse(CONFLICT, &s2, None).unwrap()).1);
    // A selector that finds nothing, or no price, says so.
    let bad = PageSettings {
        price_selector: Some(".nope".into()),
        ..PageSettings::default()
    };
    assert!(
        matches!(parse(CONFLICT, &bad, None), Err(PageError::Unreadable(w)) if w.contains("matches nothing"))
    );
    let words = PageSettings {
        price_selector: Some("button.atc".into()),
        ..PageSettings::default()
    };
    assert!(
        matches!(parse(CONFLICT, &words, None), Err(PageError::Unreadable(w)) if w.contains("holds no price"))
    );
    let unknown_stock = PageSettings {
        stock_selector: Some("h1, .price.was".into()),
        price_selector: Some(".price.now".into()),
        ..PageSettings::default()
    };
    assert!(
        matches!(parse(CONFLICT, &unknown_stock, None), Err(PageError::Unreadable(w)) if w.contains("none of the in-stock or sold-out phrases"))
    );
}

#[test]
fn challenge_pages_are_blocked_and_plain_pages_say_what_is_missing() {
    let none = PageSettings::default();
    for html in [
        "<html><head><title>Just a moment...</title></head><body><div id=\"cf-chl-widget\"></div></body></html>",
        "<html><body><script src=\"https://ct.captcha-delivery.com/c.js\"></script></body></html>",
        "<html><head><title>Robot Check</title></head><body>Enter the characters you see below</body></html>",
        "<html><body><div id=\"px-captcha\"></div></body></html>",
    ] {
        assert!(matches!(parse(html, &none, None), Err(PageError::Blocked(_))), "{html}");
    }
    match parse("<html><body><h1>About us</h1></body></html>", &none, None) {
        Err(PageError::NothingFound(why)) => assert!(why.contains("CSS selector"), "{why}"),
        other => panic!("{other:?}"),
    }
    // Broken JSON-LD is skipped, not fatal; garbage is nothing found.
    let broken = "<script type=\"application/ld+json\">{\"@type\":\"Product\",</script><meta property=\"og:price:amount\" content=\"5\">";
    assert_eq!(one(&parse(broken, &none, None).unwrap()).0, d("5"));
    assert!(parse("{\"products\":[{\"id\":1,", &none, None).is_err());
}

async fn page_source(h: &common::Harness, url: String, page: PageSettings) -> model::Source {
    h.engine
        .add_source(NewSource {
            key: None,
            kind: "page".into(),
            url,
            name: None,
            currency: None,
            interval: Duration::from_secs(3600),
            page,
            json: None,
            amazon: None,
            popmart: None,
            tags: vec![],
            keywords: Default::default(),
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn a_demo_product_page_is_tracked_per_size_and_a_challenge_is_blocked_not_sold_out() {
    let h = common::Harness::new(3).await;
    let (handle, pid, vid, title) = {
        let cat = h.demo.catalogue.lock();
        let p = &cat.products[1];
        (p.handle.clone(), p.id, p.variants[0].id, p.title.clone())
    };
    h.check().await;
    let src = page_source(
        &h,
        format!("http://{}/products/{handle}", h.addr),
        PageSettings::default(),
    )
    .await;
    let run = h.engine.check_now(&src.key).await.unwrap();
    assert!(run.complete && run.error.is_none(), "{run:?}");
    let key = format!("{}:{}", src.key, handle);
    let p = h.engine.product(&key).expect("the page's product");
    // The same item in the catalogue source and on its page: compared.
    let demo_key = format!("{}:{pid}", h.source.key);
    let same: Vec<(String, model::MatchedBy)> = h
        .engine
        .same_items(&demo_key)
        .into_iter()
        .map(|(p, w)| (p.key, w))
        .collect();
    assert_eq!(same, vec![(key.clone(), model::MatchedBy::BrandAndModel)]);
    // A store no longer watched is nobody's offer.
    let other = page_source(
        &h,
        format!("http://localhost:{}/products/{handle}", h.addr.port()),
        PageSettings::default(),
    )
    .await;
    h.engine.check_now(&other.key).await.unwrap();
    assert_eq!(h.engine.same_items(&demo_key).len(), 2);
    h.engine.remove_source(&other.key).await.unwrap();
    assert_eq!(h.engine.same_items(&demo_key).len(), 1);
    assert_eq!(p.title, title);
    let demo_sizes = h.demo.catalogue.lock().products[1].variants.len();
    assert_eq!(p.variants.len(), demo_sizes, "one variant per size");
    assert_eq!(p.variants[0].id, format!("DW-{vid}"));

    // A price change and a sell-out of one size, read from the page.
    let seq = h.engine.store().last_seq();
    assert_eq!(
        h.control(
            "price",
            serde_json::json!({ "variant_id": vid, "price": "77.70" })
        )
        .await,
        204
    );
    assert_eq!(
        h.control(
            "availability",
            serde_json::json!({ "variant_id": vid, "available": false })
        )
        .await,
        204
    );
    h.engine.check_now(&src.key).await.unwrap();
    let kinds: Vec<EventKind> = h
        .events_after(seq)
        .await
        .into_iter()
        .filter(|e| e.source == src.key)
        .map(|e| e.kind)
        .collect();
    assert!(
        kinds.contains(&EventKind::PriceChanged) && kinds.contains(&EventKind::SoldOut),
        "{kinds:?}"
    );
    assert_eq!(
        h.engine.product(&key).unwrap().variants[0].price,
        Some(d("77.70"))
    );

    // A challenge page: blocked once, stock untouched, then back.
    let before = h.engine.product(&key).unwrap();
    let seq = h.engine.store().last_seq();
    h.fault(Fault::Html, None);
    let run = h.engine.check_now(&src.key).await.unwrap();
    assert_eq!(run.error_class.as_deref(), Some("blocked"), "{run:?}");
    h.engine.check_now(&src.key).await.unwrap();
    let events = h.events_after(seq).await;
    assert_eq!(
        events
            .iter()
            .filter(|e| e.kind == EventKind::Blocked)
            .count(),
        1
    );
    assert!(
        !events
            .iter()
            .any(|e| e.kind == EventKind::SoldOut || e.kind == EventKind::Removed),
        "{events:?}"
    );
    assert_eq!(
        h.engine.product(&key).unwrap().variants,
        before.variants,
        "stock kept"
    );
    // Broken, huge, hung: errors in words, nothing lost, never "blocked" for garbage.
    for (fault, class) in [
        (Fault::Garbage, "unreadable"),
        (Fault::Huge, "too_large"),
        (Fault::Hang, "timeout"),
        (Fault::ServerError, "server_error"),
    ] {
        h.fault(fault, None);
        let run = h.engine.check_now(&src.key).await.unwrap();
        assert_eq!(run.error_class.as_deref(), Some(class), "{run:?}");
        assert_eq!(h.engine.product(&key).unwrap().variants, before.variants);
    }
    h.demo.set_fault(None);
    let run = h.engine.check_now(&src.key).await.unwrap();
    assert!(run.error.is_none(), "{run:?}");
    assert!(h
        .events_after(seq)
        .await
        .iter()
        .any(|e| e.kind == EventKind::Unblocked));
    assert!(!h.engine.product(&key).unwrap().removed);
}

#[tokio::test]
async fn selectors_are_checked_when_added_and_used_on_a_live_page() {
    let h = common::Harness::new(1).await;
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    // One product whose JSON-LD offer OpenGraph contradicts: its own offer.
    let own = r#"<html><head><meta property="og:title" content="Coat">
<meta property="product:price:amount" content="199.00">
<script type="application/ld+json">{"@type":"Product","name":"Coat","offers":{"@type":"Offer","price":"249.00","priceCurrency":"USD"}}</script></head></html>"#;
    let app = axum::Router::new()
        .route("/jacket", get(|| async { Html(CONFLICT) }))
        .route("/coat", get(move || async move { Html(own) }));
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });

    let bad = PageSettings {
        price_selector: Some("span[".into()),
        ..PageSettings::default()
    };
    let err = h
        .engine
        .add_source(NewSource {
            key: None,
            kind: "page".into(),
            url: format!("http://{addr}/jacket"),
            name: None,
            currency: None,
            interval: Duration::from_secs(60),
            page: bad,
            json: None,
            amazon: None,
            popmart: None,
            tags: vec![],
            keywords: Default::default(),
        })
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not valid CSS"), "{err}");
    let shopify_with_selectors = h
        .engine
        .add_source(NewSource {
            key: None,
            kind: "shopify".into(),
            url: format!("http://{addr}"),
            name: None,
            currency: None,
            interval: Duration::from_secs(60),
            page: PageSettings {
                price_selector: Some(".p".into()),
                ..PageSettings::default()
            },
            json: None,
            amazon: None,
            popmart: None,
            tags: vec![],
            keywords: Default::default(),
        })
        .await;
    assert!(shopify_with_selectors.is_err());

    // The product's own offer is read; the run says what was not used,
    // again when the same page is read again.
    let coat = page_source(&h, format!("http://{addr}/coat"), PageSettings::default()).await;
    for _ in 0..2 {
        let run = h.engine.check_now(&coat.key).await.unwrap();
        assert!(run.error.is_none(), "{run:?}");
        assert!(
            run.notes.len() == 1 && run.notes[0].contains("OpenGraph says 199.00"),
            "{run:?}"
        );
    }
    let p = h.engine.product(&format!("{}:coat", coat.key)).unwrap();
    assert_eq!(p.variants[0].price, Some(d("249.00")));
    // As the Sources page reads them back: both runs, each with its note.
    let runs = h.engine.store().runs(&coat.key, 10).await.unwrap();
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert!(runs
        .iter()
        .all(|r| r.finished.is_some() && r.notes.len() == 1));

    // Without selectors the contradiction is an error (not blocked, nothing stored).
    let src = page_source(&h, format!("http://{addr}/jacket"), PageSettings::default()).await;
    let run = h.engine.check_now(&src.key).await.unwrap();
    assert_eq!(run.error_class.as_deref(), Some("unreadable"), "{run:?}");
    assert!(run.error.unwrap().contains("CSS selector"));
    // The user adds selectors: read.
    h.engine
        .update_source(
            &src.key,
            monitor::SourceEdit {
                page: Some(PageSettings {
                    price_selector: Some(".price.now".into()),
                    stock_selector: Some("button.atc".into()),
                    ..PageSettings::default()
                }),
                ..monitor::SourceEdit::default()
            },
        )
        .await
        .unwrap();
    let run = h.engine.check_now(&src.key).await.unwrap();
    assert!(run.error.is_none(), "{run:?}");
    let p = h.engine.product(&format!("{}:jacket", src.key)).unwrap();
    assert_eq!(
        (
            p.variants[0].price,
            p.variants[0].available,
            p.currency.as_str()
        ),
        (Some(d("189.00")), false, "USD")
    );
}

fn offer_page(price: &str) -> String {
    format!(
        r#"<html><head><title>Court Classic</title>
<script type="application/ld+json">{{"@context":"https://schema.org","@type":"Product","name":"Court Classic","brand":"Nike","offers":{{"@type":"Offer","price":"{price}","priceCurrency":"EUR","availability":"https://schema.org/InStock"}}}}</script>
</head><body><span class="p">{price}</span></body></html>"#
    )
}

/// A page that is byte for byte what it was is not parsed again (the
/// metric counts it) and changes nothing; a changed page, or the same page
/// read with other settings, is read afresh.
#[tokio::test]
async fn an_unchanged_page_is_not_parsed_again_and_a_changed_one_is() {
    let h = common::Harness::new(1).await;
    let body = std::sync::Arc::new(parking_lot::Mutex::new(offer_page("99.00")));
    let served = body.clone();
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let app = axum::Router::new().route(
        "/court",
        get(move || {
            let served = served.clone();
            async move { Html(served.lock().clone()) }
        }),
    );
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    let src = page_source(&h, format!("http://{addr}/court"), PageSettings::default()).await;
    let unchanged = || h.engine.metrics().unchanged_pages;
    let price = || {
        h.engine
            .products()
            .into_iter()
            .find(|p| p.source == src.key)
            .and_then(|p| h.engine.product(&p.key))
            .and_then(|p| p.variants[0].price)
    };

    assert!(h.engine.check_now(&src.key).await.unwrap().error.is_none());
    assert_eq!((price(), unchanged()), (Some(d("99.00")), 0));
    let run = h.engine.check_now(&src.key).await.unwrap();
    assert!(run.complete && run.changes == 0, "{run:?}");
    assert_eq!((price(), unchanged()), (Some(d("99.00")), 1));

    *body.lock() = offer_page("79.00");
    let run = h.engine.check_now(&src.key).await.unwrap();
    assert_eq!(run.changes, 1, "{run:?}");
    assert_eq!((price(), unchanged()), (Some(d("79.00")), 1));

    // The same page with a price selector added is read with it.
    h.engine
        .update_source(
            &src.key,
            monitor::SourceEdit {
                page: Some(PageSettings {
                    price_selector: Some("span.p".into()),
                    ..PageSettings::default()
                }),
                ..monitor::SourceEdit::default()
            },
        )
        .await
        .unwrap();
    assert!(h.engine.check_now(&src.key).await.unwrap().error.is_none());
    assert_eq!(unchanged(), 1);
    h.engine.check_now(&src.key).await.unwrap();
    assert_eq!(unchanged(), 2);

    // Every check is in the source's runs at once (they are written behind,
    // in batches, and before any read), the latest ten newest first.
    let mut ids = vec![];
    for _ in 0..12 {
        ids.push(h.engine.check_now(&src.key).await.unwrap().id);
    }
    assert_eq!(unchanged(), 14);
    let store = h.engine.store();
    assert_eq!(store.counts().await.unwrap().poll_runs, 17);
    let runs = store.runs(&src.key, 10).await.unwrap();
    ids.reverse();
    ids.truncate(10);
    assert_eq!(runs.iter().map(|r| r.id).collect::<Vec<_>>(), ids);
    assert!(runs.iter().all(|r| r.complete && r.finished.is_some()));
    assert_eq!(store.runs(&src.key, 100).await.unwrap().len(), 17);
}

/// A drop page that hides its price while sold out, then restocks.
const SOLD_OUT_NO_PRICE: &str = r#"<html><head><meta property="og:title" content="Labubu Big Into Energy">
<script type="application/ld+json">{"@type":"Product","name":"Labubu Big Into Energy","brand":"Pop Mart",
"offers":{"@type":"Offer","price":"","availability":"https://schema.org/SoldOut"}}</script></head></html>"#;
const RESTOCKED_AT_PRICE: &str = r#"<html><head><meta property="og:title" content="Labubu Big Into Energy">
<script type="application/ld+json">{"@type":"Product","name":"Labubu Big Into Energy","brand":"Pop Mart",
"offers":{"@type":"Offer","price":"27.99","priceCurrency":"USD","availability":"https://schema.org/InStock"}}</script></head></html>"#;

#[tokio::test]
async fn a_sold_out_page_without_a_price_is_watched_until_it_restocks() {
    let h = common::Harness::new(1).await;
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let shown = std::sync::Arc::new(parking_lot::Mutex::new(SOLD_OUT_NO_PRICE));
    let serve = shown.clone();
    let app = axum::Router::new().route(
        "/labubu",
        get(move || {
            let s = serve.clone();
            async move { Html(*s.lock()) }
        }),
    );
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });

    // Added while sold out: tracked, sold out, price not shown, no history.
    let src = page_source(&h, format!("http://{addr}/labubu"), PageSettings::default()).await;
    let run = h.engine.check_now(&src.key).await.unwrap();
    assert!(run.error.is_none(), "{run:?}");
    let key = format!("{}:labubu", src.key);
    let p = h.engine.product(&key).expect("tracked while sold out");
    assert_eq!(
        (p.variants[0].price, p.variants[0].available),
        (None, false)
    );
    assert_eq!(p.summary().price_label(), "price not shown");
    assert!(h
        .engine
        .store()
        .price_history(&key)
        .await
        .unwrap()
        .is_empty());

    // It comes back at a price: restocked, with that price; not a "price
    // change" from nothing; the first price is history.
    let seq = h.engine.store().last_seq();
    *shown.lock() = RESTOCKED_AT_PRICE;
    let run = h.engine.check_now(&src.key).await.unwrap();
    assert!(run.error.is_none(), "{run:?}");
    let events = h.events_after(seq).await;
    let kinds: Vec<EventKind> = events.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [EventKind::Restocked], "{events:?}");
    let v = events[0].variant.as_ref().unwrap();
    assert_eq!((v.price, v.available), (Some(d("27.99")), true));
    let prices = h.engine.store().price_history(&key).await.unwrap();
    assert_eq!(prices.len(), 1);
    assert_eq!(prices[0].variants[0].price, d("27.99"));

    // Sold out again, the price hidden again: the last price stays.
    let seq = h.engine.store().last_seq();
    *shown.lock() = SOLD_OUT_NO_PRICE;
    h.engine.check_now(&src.key).await.unwrap();
    let kinds: Vec<EventKind> = h.events_after(seq).await.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [EventKind::SoldOut]);
    let p = h.engine.product(&key).unwrap();
    assert_eq!(
        (p.variants[0].price, p.variants[0].available),
        (Some(d("27.99")), false)
    );
}
