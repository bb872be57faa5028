//! Attacks that try to turn Dropwatch against its own machine or network
//! (server-side request forgery) or to make it send its secrets elsewhere:
//! source addresses, redirects and `next` links to private addresses,
//! environment variables in headers, keys sent to an edited address, and
//! links that are not web addresses. The hostile parties are local fakes.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use common::Harness;
use model::{JsonMapping, PopmartSettings};
use monitor::outbound::Policy;
use monitor::{EngineConfig, NewSource};
use serde_json::json;

async fn serve(app: axum::Router) -> SocketAddr {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    addr
}

/// An engine whose policy is the server's default (private networks
/// refused), trusting only what the test says.
async fn strict() -> (Harness, Arc<Policy>) {
    let policy = Policy::strict();
    // The harness's own demo store is added by "the operator".
    let demo = monitor::demo::DemoStore::new(&common::demo_config(2));
    let addr = demo.spawn("127.0.0.1:0".parse().unwrap()).await.unwrap();
    policy.trust(&format!("http://{addr}/").parse().unwrap());
    let cfg = EngineConfig {
        outbound: policy.clone(),
        ..common::quick_config()
    };
    (Harness::attach(demo, addr, "mem://", cfg).await, policy)
}

/// A server that counts the requests it gets (it must get none).
async fn secret_server() -> (SocketAddr, Arc<AtomicU32>) {
    let hits = Arc::new(AtomicU32::new(0));
    let h2 = hits.clone();
    let app = axum::Router::new().fallback(move || {
        h2.fetch_add(1, Ordering::SeqCst);
        async { axum::Json(json!({ "products": [{ "id": 1, "title": "internal secret", "handle": "s", "vendor": "x", "variants": [{ "id": 1, "title": "9", "price": "1.00", "available": true }] }] })) }
    });
    (serve(app).await, hits)
}

/// Adds a Shopify source at `url` and reads it once.
async fn check(h: &Harness, url: &str) -> model::PollRun {
    let src = h
        .engine
        .add_source(NewSource::new("shopify", url, Duration::from_secs(3600)))
        .await
        .unwrap();
    h.engine.check_now(&src.key).await.unwrap()
}

fn json_mapping(headers: &str) -> JsonMapping {
    JsonMapping::from_lines("items = /items\nid = /id\ntitle = /title\nprice = /price\nurl = /url\nimage = /image\nnext = /next", headers).unwrap()
}

fn json_source(url: String, mapping: JsonMapping) -> NewSource {
    NewSource {
        json: Some(mapping),
        currency: Some("USD".into()),
        ..NewSource::new("json", &url, Duration::from_secs(3600))
    }
}

#[tokio::test]
async fn source_addresses_on_private_networks_are_refused_naming_the_rule() {
    let (h, _) = strict().await;
    for (url, rule) in [
        ("http://127.0.0.1:9/", "loopback"),
        ("http://127.1/", "loopback"),
        ("http://2130706433/", "loopback"),
        ("http://0x7f.0.0.1/", "loopback"),
        ("http://[::ffff:127.0.0.1]/", "IPv4 address inside an IPv6"),
        ("http://[::1]/", "loopback"),
        ("http://0.0.0.0:3000/", "unspecified"),
        ("http://localhost:3000/", "loopback"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://10.1.2.3/", "private"),
        ("http://192.168.0.1/products.json", "private"),
        ("http://100.64.1.1/", "carrier-grade NAT"),
        ("http://[fd12::1]/", "unique-local"),
    ] {
        for kind in ["shopify", "page"] {
            let err = h
                .engine
                .add_source(NewSource::new(kind, url, Duration::from_secs(60)))
                .await
                .unwrap_err()
                .to_string();
            assert!(
                err.starts_with("refused:") && err.contains(rule),
                "{kind} {url}: {err}"
            );
        }
    }
    let err = h
        .engine
        .preview_json("http://169.254.169.254/latest/", None, json_mapping(""))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("link-local"), "{err}");
    // Editing a source's address is checked the same way.
    let err = h
        .engine
        .update_source(
            &h.source.key,
            monitor::SourceEdit {
                url: Some("http://127.0.0.1:1/".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("loopback"), "{err}");
    assert_eq!(h.engine.sources().len(), 1, "only the operator's source");
}

#[tokio::test]
async fn redirects_are_followed_only_where_the_policy_allows() {
    let (h, policy) = strict().await;
    let (secret, secret_hits) = secret_server().await;
    let shop = serve(
        axum::Router::new()
            .route(
                "/inner/products.json",
                get(|| async { axum::Json(json!({ "products": [] })) }),
            )
            .route(
                "/moved/products.json",
                get(|| async {
                    (
                        StatusCode::MOVED_PERMANENTLY,
                        [("location", "/inner/products.json")],
                    )
                        .into_response()
                }),
            )
            .route(
                "/products.json",
                get(move || async move {
                    (
                        StatusCode::FOUND,
                        [("location", format!("http://{secret}/products.json"))],
                    )
                        .into_response()
                }),
            )
            .route(
                "/metadata/products.json",
                get(|| async {
                    (
                        StatusCode::FOUND,
                        [("location", "http://169.254.169.254/latest/meta-data/")],
                    )
                        .into_response()
                }),
            )
            .route(
                "/loop/products.json",
                get(|| async {
                    (StatusCode::FOUND, [("location", "/loop/products.json")]).into_response()
                }),
            ),
    )
    .await;
    // The operator trusts the shop (say it is on their LAN); not what it points to.
    policy.trust(&format!("http://{shop}/").parse().unwrap());
    let run = check(&h, &format!("http://{shop}")).await;
    assert_eq!(run.error_class.as_deref(), Some("refused"), "{run:?}");
    assert!(
        run.error
            .as_deref()
            .unwrap()
            .contains("redirect was refused"),
        "{run:?}"
    );
    assert_eq!(
        secret_hits.load(Ordering::SeqCst),
        0,
        "the private address was never contacted"
    );
    let run = check(&h, &format!("http://{shop}/metadata")).await;
    assert!(
        run.error.as_deref().unwrap().contains("link-local"),
        "{run:?}"
    );
    // A redirect within the trusted shop is followed.
    let run = check(&h, &format!("http://{shop}/moved")).await;
    assert!(run.complete && run.error.is_none(), "{run:?}");
    let run = check(&h, &format!("http://{shop}/loop")).await;
    assert!(
        run.error
            .as_deref()
            .unwrap()
            .contains("more than 5 redirects"),
        "{run:?}"
    );
    assert!(h
        .engine
        .products()
        .iter()
        .all(|p| p.title != "internal secret"));
}

#[tokio::test]
async fn a_next_link_to_a_private_address_is_refused_and_the_first_page_kept() {
    let (h, policy) = strict().await;
    let (secret, secret_hits) = secret_server().await;
    let api = serve(axum::Router::new().route(
        "/items",
        get(move || async move {
            axum::Json(json!({ "items": [{ "id": "a1", "title": "Public item", "price": "10.00" }], "next": format!("http://{secret}/items?page=2") }))
        }),
    ))
    .await;
    policy.trust(&format!("http://{api}/").parse().unwrap());
    let src = h
        .engine
        .add_source(json_source(format!("http://{api}/items"), json_mapping("")))
        .await
        .unwrap();
    let run = h.engine.check_now(&src.key).await.unwrap();
    assert!(!run.complete, "{run:?}");
    assert_eq!(run.error_class.as_deref(), Some("refused"), "{run:?}");
    assert_eq!(secret_hits.load(Ordering::SeqCst), 0);
    assert!(
        h.engine.product(&format!("{}:a1", src.key)).is_some(),
        "page 1 is kept"
    );
}

#[tokio::test]
async fn secret_headers_go_to_the_sources_own_host_only() {
    std::env::set_var("DW_HOSTILE_API_KEY", "k3y-for-the-api-only");
    std::env::set_var("DW_HOSTILE_NOT_ALLOWED", "server-secret");
    let cfg = EngineConfig {
        source_env: vec!["DW_HOSTILE_API_KEY".into()],
        ..common::quick_config()
    };
    let h = Harness::with(1, "mem://", cfg).await;
    let seen_elsewhere: Arc<Mutex<Vec<Option<String>>>> = Arc::default();
    let s2 = seen_elsewhere.clone();
    let elsewhere = serve(axum::Router::new().fallback(move |headers: HeaderMap| {
        s2.lock().unwrap().push(
            headers
                .get("x-api-key")
                .map(|v| v.to_str().unwrap_or("").to_string()),
        );
        async {
            axum::Json(json!({ "items": [{ "id": "b1", "title": "Page two", "price": "2.00" }] }))
        }
    }))
    .await;
    let seen_home: Arc<Mutex<Vec<Option<String>>>> = Arc::default();
    let s3 = seen_home.clone();
    let api = serve(axum::Router::new().route(
        "/items",
        get(move |headers: HeaderMap| {
            s3.lock().unwrap().push(headers.get("x-api-key").map(|v| v.to_str().unwrap_or("").to_string()));
            async move { axum::Json(json!({ "items": [{ "id": "a1", "title": "Page one", "price": "1.00" }], "next": format!("http://{elsewhere}/items?page=2") })) }
        }),
    ))
    .await;
    // The server's own secrets cannot be named: refused on save and preview,
    // in words that do not say whether the variable exists.
    let err = h
        .engine
        .add_source(json_source(
            format!("http://{api}/items"),
            json_mapping("X-Api-Key: ${DW_HOSTILE_NOT_ALLOWED}"),
        ))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("--source-env DW_HOSTILE_NOT_ALLOWED") && !err.contains("server-secret"),
        "{err}"
    );
    let err = h
        .engine
        .preview_json(
            &format!("http://{api}/items"),
            None,
            json_mapping("X-Api-Key: ${DROPWATCH_SECRET_KEY}"),
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("--source-env DROPWATCH_SECRET_KEY"), "{err}");
    assert!(seen_home.lock().unwrap().is_empty(), "nothing was sent");

    let src = h
        .engine
        .add_source(json_source(
            format!("http://{api}/items"),
            json_mapping("X-Api-Key: ${DW_HOSTILE_API_KEY}"),
        ))
        .await
        .unwrap();
    let run = h.engine.check_now(&src.key).await.unwrap();
    assert!(run.complete && run.error.is_none(), "{run:?}");
    assert_eq!(
        seen_home.lock().unwrap().as_slice(),
        [Some("k3y-for-the-api-only".to_string())]
    );
    assert_eq!(
        seen_elsewhere.lock().unwrap().as_slice(),
        [None],
        "the next page elsewhere got no key"
    );
    assert!(h.engine.product(&format!("{}:b1", src.key)).is_some());
}

#[tokio::test]
async fn pop_mart_keys_go_only_to_the_api_they_were_saved_for() {
    use monitor::demo::popmart::FakePopmart;
    use monitor::sources::popmart::PopmartKeys;
    let h = Harness::new(1).await;
    let real = FakePopmart::new("ck-test", "salt-test");
    let real_addr = serve(real.router()).await;
    let real_base = format!("http://{real_addr}");
    let (other, other_hits) = secret_server().await;
    h.engine.set_popmart_keys(
        "HK",
        Some(PopmartKeys {
            client_key: "ck-test".into(),
            salt: "salt-test".into(),
            api: Some(real_base.parse().unwrap()),
        }),
    );
    let src = h
        .engine
        .add_source(NewSource {
            popmart: Some(PopmartSettings {
                region: "HK".into(),
                watch: "products".into(),
                target: "1159".into(),
            }),
            ..NewSource::new("popmart", &real_base, Duration::from_secs(3600))
        })
        .await
        .unwrap();
    assert!(h.engine.check_now(&src.key).await.unwrap().complete);
    // An editor moves the source elsewhere: the keys stay home.
    h.engine
        .update_source(
            &src.key,
            monitor::SourceEdit {
                url: Some(format!("http://{other}")),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let run = h.engine.check_now(&src.key).await.unwrap();
    assert_eq!(run.error_class.as_deref(), Some("refused"), "{run:?}");
    assert!(
        run.error
            .as_deref()
            .unwrap()
            .contains("are not sent anywhere else"),
        "{run:?}"
    );
    assert_eq!(other_hits.load(Ordering::SeqCst), 0, "the keys never left");
}

#[tokio::test]
async fn links_that_are_not_web_addresses_are_dropped() {
    let h = Harness::new(1).await;
    let api = serve(axum::Router::new().route(
        "/items",
        get(|| async {
            axum::Json(json!({ "items": [
                { "id": "x1", "title": "Script link", "price": "10.00", "url": "javascript:fetch('/api/v1/tokens',{method:'POST'})", "image": "data:image/svg+xml,<svg onload=alert(1)>" },
                { "id": "x2", "title": "Fine", "price": "11.00", "url": "https://shop.example/p/x2", "image": "https://cdn.example/x2.jpg" }
            ] }))
        }),
    ))
    .await;
    let src = h
        .engine
        .add_source(json_source(format!("http://{api}/items"), json_mapping("")))
        .await
        .unwrap();
    assert!(h.engine.check_now(&src.key).await.unwrap().complete);
    let bad = h.engine.product(&format!("{}:x1", src.key)).unwrap();
    assert_eq!((bad.url.as_str(), bad.image.as_deref()), ("", None));
    let fine = h.engine.product(&format!("{}:x2", src.key)).unwrap();
    assert_eq!(
        (fine.url.as_str(), fine.image.as_deref()),
        (
            "https://shop.example/p/x2",
            Some("https://cdn.example/x2.jpg")
        )
    );
}
