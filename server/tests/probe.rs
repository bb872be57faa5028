//! `dropwatch probe URL` run as a process against real captured product
//! pages (fixtures/product-pages) and the demo store, served on
//! this machine; and `POST /api/v1/probe`, which follows the server's
//! outbound policy: a private address is refused unless the operator
//! trusts it.

mod common;

use std::net::SocketAddr;
use std::process::Output;

use axum::extract::Path;
use axum::http::{header, StatusCode as AxumStatus};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use common::{start, Auth, ADMIN_PASSWORD};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const CHALLENGE: &str = r#"<!DOCTYPE html><html><head><title>Just a moment...</title></head>
<body><div id="cf-chl-widget">Checking your browser.</div></body></html>"#;

const NO_PRICE: &str =
    "<!DOCTYPE html><html><head><title>Trail Runner 2</title></head><body><h1>Trail Runner 2</h1><p>89,95 €</p></body></html>";

fn fixture(name: &str) -> Response {
    let path = format!(
        "{}/../fixtures/product-pages/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    match std::fs::read(&path) {
        Ok(body) => ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response(),
        Err(e) => (AxumStatus::NOT_FOUND, format!("{path}: {e}")).into_response(),
    }
}

/// A shop on this machine: captured pages under `/pages/`, a challenge and
/// a page without any price data.
async fn shop() -> SocketAddr {
    let app = Router::new()
        .route(
            "/pages/{name}",
            get(|Path(n): Path<String>| async move { fixture(&n) }),
        )
        .route("/challenge", get(|| async { Html(CHALLENGE) }))
        .route("/plain", get(|| async { Html(NO_PRICE) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

async fn dropwatch(args: &[&str]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_dropwatch"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .await
        .expect("the dropwatch binary runs")
}

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[tokio::test]
async fn the_command_says_what_it_would_track_and_from_where() {
    let addr = shop().await;
    let url = format!("http://{addr}/pages/wayfair-jsonld-instock.html");
    let out = dropwatch(&["probe", &url, "--json"]).await;
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let p = json_of(&out);
    assert_eq!(p["kind"], "page");
    assert_eq!(p["verdict"], "tracks");
    assert_eq!(p["status"], 200);
    assert!(p["bytes"].as_u64().unwrap() > 600_000);
    let t = &p["products"][0];
    assert_eq!(t["price_from"], "json_ld");
    assert_eq!(t["stock_from"], "json_ld");
    assert_eq!(t["currency"], json!({ "value": "USD", "from": "json_ld" }));
    assert_eq!(t["sizes"][0]["price"], "111.99");
    assert_eq!(t["sizes"][0]["available"], true);
    assert_eq!(p["evidence"][2]["from"], "open_graph");

    // In words: a table of each value and where it came from.
    let url = format!("http://{addr}/pages/costco-og-price-only.html");
    let out = dropwatch(&["probe", &url]).await;
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Product page: Dropwatch would track it."),
        "{text}"
    );
    assert!(text.contains("329.99 USD"), "{text}");
    assert!(text.contains("OpenGraph"), "{text}");
    assert!(text.contains("Missing:\n  brand:"), "{text}");
}

#[tokio::test]
async fn the_command_exits_non_zero_when_nothing_can_be_tracked() {
    let addr = shop().await;
    // A challenge page: it cannot be read.
    let out = dropwatch(&["probe", &format!("http://{addr}/challenge"), "--json"]).await;
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let p = json_of(&out);
    assert_eq!(p["verdict"], "blocked");
    assert_eq!(
        p["error"],
        "the page is a Cloudflare challenge, not the product"
    );
    // Read, but no price anywhere: what each kind of data lacks.
    let out = dropwatch(&["probe", &format!("http://{addr}/plain"), "--json"]).await;
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let p = json_of(&out);
    assert_eq!(p["verdict"], "unreadable");
    assert_eq!(p["missing"][0]["field"], "price");
    assert_eq!(
        p["missing"][0]["why"],
        "no JSON-LD Product, no microdata price, no og:price:amount: give a CSS selector for the price"
    );
    // ... which a price selector then reads.
    let out = dropwatch(&[
        "probe",
        &format!("http://{addr}/plain"),
        "--currency",
        "EUR",
        "--price-selector",
        "p",
        "--json",
    ])
    .await;
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let p = json_of(&out);
    assert_eq!(p["products"][0]["price_from"], "price_selector");
    assert_eq!(p["products"][0]["sizes"][0]["price"], "89.95");
    // Nothing there: not read, and said so.
    let out = dropwatch(&["probe", &format!("http://{addr}/gone"), "--json"]).await;
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(json_of(&out)["status"], 404);
    // Not an address at all.
    let out = dropwatch(&["probe", "shop.example/x"]).await;
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a URL"));
}

#[tokio::test]
async fn the_command_recognises_a_shopify_store() {
    let demo = monitor::demo::DemoStore::new(&monitor::demo::DemoConfig {
        products: 12,
        seed: 5,
        change_every: None,
        changes_per_tick: 0,
    });
    let addr = demo.spawn("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let out = dropwatch(&["probe", &format!("http://{addr}/"), "--json"]).await;
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let p = json_of(&out);
    assert_eq!(p["kind"], "shopify");
    assert_eq!(p["product_count"], 12);
    assert_eq!(p["products"].as_array().unwrap().len(), 5);
    assert_eq!(p["products"][0]["price_from"], "catalogue");
    assert!(!p["products"][0]["sizes"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn the_api_follows_the_servers_outbound_policy() {
    let addr = shop().await;
    let trusted = format!("http://{addr}/pages/");
    let s = start(
        &["--admin-password", ADMIN_PASSWORD, "--trust-url", &trusted],
        &[],
    );
    let admin = s.admin().await;
    let editor = Auth::Token(s.token(&admin, "editor").await);
    let viewer = s.user(&admin, "vera", "viewer").await;

    // Viewers may not make the server fetch anything.
    let body = json!({ "url": format!("{trusted}costco-og-price-only.html") });
    let (status, answer) = s
        .call(
            Method::POST,
            "/api/v1/probe",
            &Auth::Cookie(viewer),
            Some(body.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");

    // A trusted address is read.
    let (status, answer) = s
        .call(Method::POST, "/api/v1/probe", &editor, Some(body))
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let p: Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(
        (&p["kind"], &p["verdict"]),
        (&json!("page"), &json!("tracks"))
    );
    assert_eq!(p["products"][0]["price_from"], "open_graph");

    // This machine outside the trusted address, and the cloud metadata
    // service, are refused before anything is sent, in words.
    for (url, rule) in [
        (format!("http://{addr}/plain"), "loopback"),
        (
            "http://169.254.169.254/latest/meta-data/".to_string(),
            "link-local",
        ),
    ] {
        let resp = s
            .http
            .post(s.url("/api/v1/probe"))
            .headers(s.headers(&editor))
            .json(&json!({ "url": url, "currency": "EUR" }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(resp.headers()["content-type"], "application/problem+json");
        let problem: Value = resp.json().await.unwrap();
        let detail = problem["detail"].as_str().unwrap();
        assert!(
            detail.contains(rule) && detail.contains("--allow-private-networks"),
            "{detail}"
        );
    }

    // The built-in demo is the operator's own: a Shopify store.
    let (status, answer) = s
        .call(
            Method::POST,
            "/api/v1/probe",
            &editor,
            Some(json!({ "url": format!("{}/demo/", s.base) })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let p: Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(p["kind"], "shopify", "{p}");
    assert_eq!(p["product_count"], 20);

    // A body that is not one is a problem too.
    let (status, answer) = s
        .call(
            Method::POST,
            "/api/v1/probe",
            &editor,
            Some(json!({ "address": "x" })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert!(answer.contains("unknown field `address`"), "{answer}");
}

#[tokio::test]
async fn the_sources_form_tests_a_url_even_without_javascript() {
    let addr = shop().await;
    let trusted = format!("http://{addr}/pages/");
    let s = start(
        &["--admin-password", ADMIN_PASSWORD, "--trust-url", &trusted],
        &[],
    );
    let admin = Auth::Cookie(s.admin().await);
    let (status, page) = s.call(Method::GET, "/sources", &admin, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("data-testid=\"probe-button\""), "{page}");

    // The add form posted to the button's server function, as a browser
    // without the page's wasm does: back to the form, the outcome under it.
    let fns = common::server_fns();
    let (_, path) = fns
        .iter()
        .find(|(_, p)| common::server_fn_name(p) == "probe_url")
        .expect("probe_url is a server function");
    let url = format!("{trusted}fye-og-price-and-microdata.html");
    let resp = s
        .http
        .post(s.url(path))
        .headers(s.headers(&admin))
        .header("accept", "text/html,application/xhtml+xml")
        .form(&[
            ("kind", "page"),
            ("url", url.as_str()),
            ("name", ""),
            ("interval", "5m"),
            ("price_selector", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let back = resp.headers()["location"].to_str().unwrap().to_string();
    assert!(back.starts_with("/sources?form=add&field=probe"), "{back}");
    let (status, page) = s.call(Method::GET, &back, &admin, None).await;
    assert_eq!(status, StatusCode::OK);
    let said = page
        .split("data-testid=\"probe-said\"")
        .nth(1)
        .and_then(|rest| rest.split_once('>'))
        .and_then(|(_, rest)| rest.split('<').next())
        .unwrap_or_else(|| panic!("the outcome is shown: {page}"));
    assert!(
        said.starts_with("Product page: Dropwatch would track it.")
            && said.contains("17.99 USD (microdata)"),
        "{said}"
    );
    // The address is still typed in the form.
    assert!(page.contains(&format!("value=\"{url}\"")), "{page}");
}
