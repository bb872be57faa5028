//! Probes of real captured product pages (fixtures/product-pages)
//! and of the demo store, served over HTTP on this machine.

use std::net::SocketAddr;

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use rust_decimal::Decimal;

use model::probe::{Field, Origin, ProbeKind, ProbeVerdict};
use model::{PageSettings, Probe};

use super::{run, test_fetcher, ProbeError, ProbeRequest};
use crate::demo::{DemoConfig, DemoStore};
use crate::normalise::BrandTable;
use crate::outbound::Policy;

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

const CHALLENGE: &str = r#"<!DOCTYPE html><html><head><title>Just a moment...</title></head>
<body><div id="cf-chl-widget">Checking your browser before accessing the shop.</div>
<script src="/cdn-cgi/challenge-platform/h/g/orchestrate/chl_page/v1"></script></body></html>"#;

const NO_PRICE: &str = r#"<!DOCTYPE html><html><head><title>Trail Runner 2 | Shop</title></head>
<body><h1>Trail Runner 2</h1><p class="price">Now only <span class="amount">€ 89,95</span></p>
<button>Add to cart</button></body></html>"#;

const CONTRADICTION: &str = r#"<html><head>
<meta property="product:price:amount" content="99.00"><meta property="product:price:currency" content="EUR">
<script type="application/ld+json">{"@context":"https://schema.org","@type":"Product","name":"Lamp",
 "offers":{"@type":"Offer","price":"129.00","priceCurrency":"EUR","availability":"https://schema.org/InStock"}}</script>
</head><body><h1>Lamp</h1></body></html>"#;

fn fixture(name: &str) -> Response {
    let path = format!(
        "{}/../fixtures/product-pages/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    match std::fs::read(&path) {
        Ok(body) => ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response(),
        Err(e) => (StatusCode::NOT_FOUND, format!("{path}: {e}")).into_response(),
    }
}

/// A shop on this machine: the captured pages under `/pages/`, a
/// challenge, a page without structured data, a contradiction and an API.
async fn shop() -> SocketAddr {
    let app = Router::new()
        .route(
            "/pages/{name}",
            get(|Path(n): Path<String>| async move { fixture(&n) }),
        )
        .route("/challenge", get(|| async { Html(CHALLENGE) }))
        .route("/plain", get(|| async { Html(NO_PRICE) }))
        .route("/lamp", get(|| async { Html(CONTRADICTION) }))
        .route(
            "/api/v2/catalog",
            get(|| async {
                axum::Json(serde_json::json!({"data": {"total": 1, "items": [
                    {"sku": "A-1", "name": "Alpha", "price": "12.50", "in_stock": true}
                ]}}))
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

async fn probe_at(url: &str, page: PageSettings) -> Probe {
    let fetcher = test_fetcher(Policy::open());
    let request = ProbeRequest {
        url: url.to_string(),
        currency: Some("eur".into()),
        page,
    };
    run(&fetcher, &BrandTable::default(), &request)
        .await
        .unwrap()
}

async fn page(addr: SocketAddr, path: &str) -> Probe {
    probe_at(&format!("http://{addr}{path}"), PageSettings::default()).await
}

#[tokio::test]
async fn json_ld_pages_say_where_each_value_came_from() {
    let addr = shop().await;
    let p = page(addr, "/pages/wayfair-jsonld-instock.html").await;
    assert_eq!(p.kind, Some(ProbeKind::Page));
    assert_eq!(p.verdict, ProbeVerdict::Tracks, "{:?}", p.error);
    assert_eq!(p.status, Some(200));
    assert!(p.bytes > 600_000, "{}", p.bytes);
    let t = &p.products[0];
    assert_eq!(
        (t.price_from, t.stock_from),
        (Origin::JsonLd, Origin::JsonLd)
    );
    assert_eq!(
        (t.currency.value.as_str(), t.currency.from),
        ("USD", Origin::JsonLd)
    );
    assert_eq!(t.title.from, Origin::JsonLd);
    assert_eq!(t.sizes.len(), 1);
    assert_eq!(
        (t.sizes[0].price, t.sizes[0].available),
        (Some(d("111.99")), true)
    );
    // What each kind of data says: JSON-LD and OpenGraph agree.
    let ld = &p.evidence[0];
    assert_eq!(
        (ld.from, ld.present, ld.price),
        (Origin::JsonLd, true, Some(d("111.99")))
    );
    assert_eq!(ld.availability.as_deref(), Some("in stock"));
    let og = &p.evidence[2];
    assert_eq!((og.from, og.price), (Origin::OpenGraph, Some(d("111.99"))));

    // On sale: JSON-LD's regular price, OpenGraph's sale price; no stock said.
    let p = page(addr, "/pages/rejuvenation-jsonld-no-availability.html").await;
    let t = &p.products[0];
    assert_eq!(t.price_from, Origin::OpenGraphSale);
    assert_eq!(t.sizes[0].price, Some(d("120.00")));
    assert_eq!(t.sizes[0].compare_at, Some(d("150.00")));
    assert_eq!(t.stock_from, Origin::Assumed);
    // OpenGraph says the stock, but it is read with the price (JSON-LD's).
    let why = p.why_missing(Field::Stock).unwrap();
    assert!(why.contains("OpenGraph says \"in stock\""), "{why}");
    assert!(why.ends_with("give a stock text selector to read it from the page"));
}

#[tokio::test]
async fn opengraph_and_microdata_pages() {
    let addr = shop().await;
    let p = page(addr, "/pages/costco-og-price-only.html").await;
    assert_eq!(p.verdict, ProbeVerdict::Tracks, "{:?}", p.error);
    let t = &p.products[0];
    assert_eq!(
        (t.price_from, t.stock_from),
        (Origin::OpenGraph, Origin::OpenGraph)
    );
    assert_eq!(
        (t.sizes[0].price, t.currency.from),
        (Some(d("329.99")), Origin::OpenGraph)
    );
    assert!(!p.evidence[0].present, "no JSON-LD on Costco's page");
    // Only JSON-LD names a brand.
    assert!(p.why_missing(Field::Brand).is_some());

    let p = page(addr, "/pages/fye-og-price-and-microdata.html").await;
    let t = &p.products[0];
    assert_eq!(t.price_from, Origin::Microdata);
    assert_eq!(t.sizes[0].price, Some(d("17.99")));
    assert!(p.evidence[1].present && p.evidence[2].present);
}

#[tokio::test]
async fn refused_pages_say_why() {
    let addr = shop().await;
    let p = page(addr, "/challenge").await;
    assert_eq!(p.verdict, ProbeVerdict::Blocked);
    assert_eq!(
        p.error.as_deref(),
        Some("the page is a Cloudflare challenge, not the product")
    );
    assert!(p.verdict.unread());

    let p = page(addr, "/plain").await;
    assert_eq!(p.verdict, ProbeVerdict::Unreadable);
    assert!(!p.verdict.unread(), "it was read; only nothing to track");
    assert_eq!(
        p.why_missing(Field::Price),
        Some("no JSON-LD Product, no microdata price, no og:price:amount: give a CSS selector for the price")
    );
    assert!(p.products.is_empty());

    // OpenGraph says otherwise than the product's own JSON-LD offer: the
    // offer is tracked, and the probe says what was not used.
    let p = page(addr, "/lamp").await;
    assert_eq!(p.verdict, ProbeVerdict::Tracks);
    assert_eq!(p.products[0].price_words(), "129.00 EUR");
    assert!(
        p.notes.iter().any(|n| n.contains("OpenGraph says 99.00")),
        "{:?}",
        p.notes
    );

    // Sold out and no price: tracked as sold out, the price not shown yet.
    let p = page(addr, "/pages/potterybarn-jsonld-outofstock.html").await;
    assert_eq!(p.verdict, ProbeVerdict::Tracks);
    let t = &p.products[0];
    assert_eq!(
        (t.price_words(), t.stock_words(), t.price_from),
        (
            "price not shown".to_string(),
            "sold out".to_string(),
            Origin::NotShown
        )
    );

    let p = page(addr, "/nothing-here").await;
    assert_eq!((p.verdict, p.status), (ProbeVerdict::Failed, Some(404)));
    assert!(p.error.unwrap().contains("check it in a browser"));
}

#[tokio::test]
async fn selectors_read_what_the_data_does_not_say() {
    let addr = shop().await;
    let settings = PageSettings {
        price_selector: Some("span.amount".into()),
        stock_selector: Some("button".into()),
        ..PageSettings::default()
    };
    let p = probe_at(&format!("http://{addr}/plain"), settings).await;
    assert_eq!(p.verdict, ProbeVerdict::Tracks, "{:?}", p.error);
    let t = &p.products[0];
    assert_eq!(
        (t.price_from, t.stock_from),
        (Origin::PriceSelector, Origin::StockPhrases)
    );
    assert_eq!(
        (t.sizes[0].price, t.sizes[0].available),
        (Some(d("89.95")), true)
    );
    // The title from the page's heading; the currency is the one given.
    assert_eq!(
        (t.title.value.as_str(), t.title.from),
        ("Trail Runner 2", Origin::Heading)
    );
    assert_eq!(
        (t.currency.value.as_str(), t.currency.from),
        ("EUR", Origin::SourceCurrency)
    );
    assert!(p
        .why_missing(Field::Currency)
        .unwrap()
        .contains("EUR is assumed"));
}

#[tokio::test]
async fn a_shopify_store_and_its_product_pages() {
    let demo = DemoStore::new(&DemoConfig {
        products: 8,
        seed: 3,
        change_every: None,
        changes_per_tick: 0,
    });
    let addr = demo.spawn("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let p = page(addr, "/").await;
    assert_eq!(p.kind, Some(ProbeKind::Shopify));
    assert_eq!(p.verdict, ProbeVerdict::Tracks);
    assert_eq!(p.product_count, Some(8));
    assert_eq!(p.products.len(), super::SHOWN_PRODUCTS);
    let first = &p.products[0];
    assert_eq!(
        (first.price_from, first.stock_from),
        (Origin::Catalogue, Origin::Catalogue)
    );
    assert_eq!(first.currency.from, Origin::SourceCurrency);
    assert!(!first.sizes.is_empty());
    assert!(first.url.starts_with(&format!("http://{addr}/products/")));

    // One of its product pages is read as a page, and the store is named.
    let handle = demo.catalogue.lock().products[0].handle.clone();
    let p = page(addr, &format!("/products/{handle}")).await;
    assert_eq!(p.kind, Some(ProbeKind::Page));
    assert_eq!(p.verdict, ProbeVerdict::Tracks, "{:?}", p.error);
    let t = &p.products[0];
    assert!(t.sizes.len() > 1, "one size each: {:?}", t.sizes);
    assert_eq!(t.brand.as_ref().map(|b| b.from), Some(Origin::JsonLd));
    assert!(
        p.notes
            .iter()
            .any(|n| n.contains("Shopify store") && n.contains(&format!("http://{addr}/ "))),
        "{:?}",
        p.notes
    );
}

#[tokio::test]
async fn a_json_api_is_outlined() {
    let addr = shop().await;
    let p = page(addr, "/api/v2/catalog").await;
    assert_eq!(p.kind, Some(ProbeKind::Json));
    let outline = p.json.unwrap();
    assert_eq!(outline.items_at.as_deref(), Some("/data/items"));
    assert_eq!(outline.items, 1);
}

#[tokio::test]
async fn the_strict_policy_refuses_this_machine() {
    let addr = shop().await;
    let fetcher = test_fetcher(Policy::strict());
    let request = ProbeRequest::new(&format!("http://{addr}/plain"), None);
    match run(&fetcher, &BrandTable::default(), &request).await {
        Err(e @ ProbeError::Refused(_)) => {
            assert!(e.to_string().contains("loopback"), "{e}")
        }
        other => panic!("{other:?}"),
    }
    let bad = ProbeRequest::new("shop.example", None);
    assert!(matches!(
        run(&fetcher, &BrandTable::default(), &bad).await,
        Err(ProbeError::Address(_))
    ));
    let request = ProbeRequest::new("https://shop.example", Some("euro"));
    assert!(matches!(
        run(&fetcher, &BrandTable::default(), &request).await,
        Err(ProbeError::Currency(_))
    ));
}

#[tokio::test]
async fn a_woocommerce_shop_is_recognised_from_one_of_its_pages() {
    let products = include_str!("../../tests/fixtures/woocommerce/products.json");
    // The page as a WooCommerce theme writes it: its body names the plugin.
    let woo_lamp =
        CONTRADICTION.replace("<body>", r#"<body class="woocommerce woocommerce-page">"#);
    let app = Router::new()
        .route("/lamp", get(move || async move { Html(woo_lamp) }))
        .route(
            "/wp-json/wc/store/v1/products",
            get(move || async move { ([(header::CONTENT_TYPE, "application/json")], products) }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let p = page(addr, "/lamp").await;
    assert_eq!(p.verdict, ProbeVerdict::Tracks, "{:?}", p.error);
    let note = p
        .notes
        .iter()
        .find(|n| n.contains("WooCommerce"))
        .unwrap_or_else(|| panic!("{:?}", p.notes));
    assert!(
        note.contains(&format!("add http://{addr}/ as a WooCommerce shop")),
        "{note}"
    );
    // A shop without a Store API gets no such note.
    let other = shop().await;
    assert!(page(other, "/lamp")
        .await
        .notes
        .iter()
        .all(|n| !n.contains("WooCommerce")));
}
