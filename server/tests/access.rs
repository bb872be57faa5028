//! Who may do what, checked against the running binary: every server
//! function and every REST route, for anonymous clients, viewers, editors
//! and admins; CSRF; throttled sign-in; tokens revoked at once; the socket.

mod common;

use std::time::Duration;

use common::{server_fn_name, server_fns, start, Auth, Server, ADMIN_PASSWORD};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// Changes a signed-in viewer may make to their own account.
const OWN_ACCOUNT_FNS: &[&str] = &[
    "change_password",
    "create_token",
    "revoke_token",
    // What picks learned about them.
    "clear_picks",
];

fn read_only(name: &str) -> bool {
    app::access::READ_ONLY_SERVER_FNS.contains(&name)
}

/// Calls a server function the way the pages do (JSON for reads, a form for
/// changes), with every argument any of them takes.
async fn call_fn(s: &Server, path: &str, auth: &Auth) -> (StatusCode, String) {
    let name = server_fn_name(path);
    let mut req = s.http.post(s.url(path)).headers(s.headers(auth));
    if read_only(&name) {
        req = req.json(
            &json!({ "filter": model::ProductFilter::default(), "key": "demo", "before": null }),
        );
    } else {
        req = req.form(&[
            ("kind", "shopify"),
            ("url", "https://shop.example"),
            ("name", "someone"),
            ("interval", "1h"),
            ("key", "demo"),
            ("enabled", "false"),
            ("current", "x"),
            ("password", "p"),
            ("password2", "p"),
            ("role", "viewer"),
            ("id", "nope"),
            ("other", "nope:1"),
            ("verdict", "auto"),
            ("user", "someone"),
            ("region", "HK"),
            ("client_key", "ck"),
            ("salt", "s"),
        ]);
    }
    let resp = req.send().await.unwrap();
    (resp.status(), resp.text().await.unwrap_or_default())
}

#[tokio::test]
async fn every_server_function_checks_the_role() {
    let mut fns = server_fns();
    // Removing the source last, so that the calls before it find it.
    fns.sort_by_key(|(_, p)| (server_fn_name(p) == "remove_source", server_fn_name(p)));
    assert!(
        fns.len() >= 15,
        "the registry lists the server functions: {fns:?}"
    );
    for (_, path) in &fns {
        let name = server_fn_name(path);
        assert!(
            read_only(&name) || fns.iter().any(|(_, p)| server_fn_name(p) == name),
            "{name}"
        );
    }

    // No anonymous access: everything but `whoami` is refused at the door.
    let closed = start(&["--admin-password", ADMIN_PASSWORD], &[]);
    for (_, path) in &fns {
        let (status, body) = call_fn(&closed, path, &Auth::None).await;
        if server_fn_name(path) == "whoami" {
            assert_eq!(
                (status, body.as_str()),
                (StatusCode::OK, "null"),
                "whoami tells a stranger nobody is signed in"
            );
        } else {
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{path} without sign-in: {body}"
            );
        }
    }

    // Anonymous viewers (--anonymous viewer) and signed-in viewers read, and
    // change nothing; editors change sources but not users.
    let open = start(
        &["--admin-password", ADMIN_PASSWORD, "--anonymous", "viewer"],
        &[],
    );
    let admin = open.admin().await;
    let viewer = open.user(&admin, "vera", "viewer").await;
    let editor = open.user(&admin, "ed", "editor").await;
    let admin_only = [
        "load_users",
        "load_audit",
        "create_user",
        "set_user_role",
        "reset_user_password",
        "delete_user",
        "connect_shop",
        "connect_offered_shop",
        "set_webhook_secret",
        "save_oxylabs",
        "save_popmart_keys",
        "use_offered_accounts",
    ];
    for (_, path) in &fns {
        let name = server_fn_name(path);
        for (who, auth) in [
            ("anonymous", Auth::None),
            ("viewer", Auth::Cookie(viewer.clone())),
            ("editor", Auth::Cookie(editor.clone())),
        ] {
            let (status, body) = call_fn(&open, path, &auth).await;
            let may = if admin_only.contains(&name.as_str()) {
                false
            } else if read_only(&name) {
                true
            } else if OWN_ACCOUNT_FNS.contains(&name.as_str()) {
                who != "anonymous"
            } else {
                who == "editor"
            };
            if may {
                assert_ne!(
                    status,
                    StatusCode::FORBIDDEN,
                    "{who} may call {name}: {body}"
                );
                assert_ne!(
                    status,
                    StatusCode::UNAUTHORIZED,
                    "{who} may call {name}: {body}"
                );
            } else {
                assert!(
                    status == StatusCode::FORBIDDEN || status == StatusCode::UNAUTHORIZED,
                    "{who} must not call {name}, got {status}: {body}"
                );
            }
        }
    }
    // Nothing a refused call asked for happened: the audit log holds the
    // editor's source changes and nothing done by the viewer or a stranger.
    let (_, log) = open
        .call(
            Method::GET,
            "/api/v1/audit?limit=500",
            &Auth::Cookie(admin.clone()),
            None,
        )
        .await;
    let log: Vec<Value> = serde_json::from_str(&log).unwrap();
    let by = |actor: &str| {
        log.iter()
            .filter(|e| e["actor"] == actor)
            .map(|e| e["action"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let editor_did = by("ed");
    for action in [
        "source.add",
        "source.edit",
        "source.pause",
        "source.check",
        "source.remove",
    ] {
        assert!(
            editor_did.iter().any(|a| a == action),
            "{action} by the editor: {editor_did:?}"
        );
    }
    assert!(
        editor_did.iter().all(|a| a.starts_with("source.")
            || a.starts_with("session.")
            || a.starts_with("token.")
            || a.starts_with("rule.")
            || a.starts_with("channel.")
            || a.starts_with("reprice.")
            || a.starts_with("match.")),
        "{editor_did:?}"
    );
    assert!(by("anonymous").is_empty());
    // The viewer's own account (a token) is theirs to change; nothing else.
    assert!(
        by("vera")
            .iter()
            .all(|a| a.starts_with("session.") || a.starts_with("token.")),
        "{:?}",
        by("vera")
    );
    let (_, users) = open
        .call(
            Method::GET,
            "/api/v1/users",
            &Auth::Cookie(admin.clone()),
            None,
        )
        .await;
    assert!(
        !users.contains("someone"),
        "no user was created by a refused call"
    );
}

/// A sample for each path parameter, made for the purpose.
struct Samples {
    source: String,
    user: String,
    token: String,
    rule: String,
    channel: String,
    /// Repricing: a link, a proposal to approve, one to reject, one for
    /// the bulk approval, and a variant of the demo shop not linked yet.
    link: String,
    approve: String,
    reject: String,
    bulk: String,
    free_sku: String,
    demo_shop: String,
    product: String,
}

fn fill(path: &str, s: &Samples) -> String {
    let id = if path.starts_with("/api/v1/reprice/links") {
        &s.link
    } else if path.ends_with("/approve") {
        &s.approve
    } else if path.ends_with("/reject") {
        &s.reject
    } else if path.starts_with("/api/v1/rules") {
        &s.rule
    } else if path.starts_with("/api/v1/channels") {
        &s.channel
    } else {
        &s.token
    };
    path.replace("{key}", &s.source)
        .replace("{name}", &s.user)
        .replace("{id}", id)
}

fn urlencoding(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

fn body_for(method: &str, path: &str, s: &Samples) -> Option<Value> {
    match (method, path) {
        ("post", "/api/v1/rules") => {
            Some(json!({ "condition": { "kind": "restocked" }, "channels": [s.channel] }))
        }
        ("patch", "/api/v1/rules/{id}") => Some(json!({ "paused": true })),
        ("post", "/api/v1/channels") => {
            Some(json!({ "name": "doc", "url": "ntfy://doc-topic-1234" }))
        }
        ("post", "/api/v1/push/subscriptions") => Some(json!({ "name": "doc browser",
            "subscription": { "endpoint": "https://push.example/doc", "keys": { "p256dh": "BPk", "auth": "q1" } } })),
        ("delete", "/api/v1/push/subscriptions") => {
            Some(json!({ "endpoint": "https://push.example/doc" }))
        }
        ("post", "/api/v1/sources") => {
            Some(json!({ "kind": "shopify", "url": "https://doc.example", "interval_secs": 3600 }))
        }
        ("patch", "/api/v1/sources/{key}") => Some(json!({ "name": "Renamed", "enabled": false })),
        ("post", "/api/v1/users") => {
            Some(json!({ "name": "doc-new", "role": "viewer", "password": "doc-new-password" }))
        }
        ("patch", "/api/v1/users/{name}") => Some(json!({ "role": "editor" })),
        ("post", "/api/v1/tokens") => Some(json!({ "name": "doc", "role": "viewer" })),
        ("post", "/api/v1/probe") => Some(json!({
            "url": format!("{}/", s.demo_shop.trim_end_matches("/shop")) })),
        ("post", "/api/v1/sources/preview") => Some(json!({
            "url": format!("{}/products.json", s.demo_shop.trim_end_matches("/shop")),
            "json": { "items": "/products", "id": "/id", "title": "/title", "brand": "/vendor", "price": "/variants/0/price",
                      "variants": "/variants", "variant_id": "/id", "variant_size": "/title", "variant_price": "/price", "variant_stock": "/available" } })),
        ("post", "/api/v1/shopify/connect") => {
            Some(json!({ "domain": s.demo_shop, "token": monitor::demo::admin::DEMO_TOKEN }))
        }
        ("put", "/api/v1/shopify/webhook-secret") => {
            Some(json!({ "secret": "doc-webhook-secret-0123456789" }))
        }
        ("post", "/api/v1/reprice/links") => Some(
            json!({ "source_product": s.product, "target": s.free_sku, "markup": { "percent": "20", "rounding": "to99" } }),
        ),
        ("patch", "/api/v1/reprice/links/{id}") => {
            Some(json!({ "markup": { "percent": "25", "rate": "0.92" } }))
        }
        ("put", "/api/v1/reprice/markups") => Some(
            json!([{ "tag": null, "markup": { "percent": "10" } }, { "tag": "sneakers", "markup": { "percent": "25" } }]),
        ),
        ("post", "/api/v1/reprice/proposals/{id}/approve") => Some(json!({ "version": 1 })),
        ("post", "/api/v1/reprice/proposals/{id}/reject") => Some(json!({ "version": 1 })),
        ("post", "/api/v1/reprice/proposals/approve") => {
            Some(json!({ "proposals": [{ "id": s.bulk, "version": 1 }] }))
        }
        _ => None,
    }
}

#[tokio::test]
async fn the_openapi_document_validates_and_every_route_answers_as_documented() {
    let s = start(&["--admin-password", ADMIN_PASSWORD], &[]);
    let (status, doc) = s
        .call(Method::GET, "/api/v1/openapi.json", &Auth::None, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let doc: Value = serde_json::from_str(&doc).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    // Every reference resolves.
    let text = doc.to_string();
    let mut refs = 0;
    for part in text.split("\"$ref\":\"").skip(1) {
        let r = part.split('"').next().unwrap();
        let pointer = r.strip_prefix('#').expect("local references only");
        assert!(doc.pointer(pointer).is_some(), "{r} does not resolve");
        refs += 1;
    }
    assert!(refs > 10);

    let admin = s.admin().await;
    let token = s.token(&admin, "admin").await;
    let auth = Auth::Token(token);
    // Targets for the routes that take one.
    let (_, src) = s.call(Method::POST, "/api/v1/sources", &auth, Some(json!({ "kind": "shopify", "url": format!("{}/demo/doc", s.base), "interval_secs": 3600 }))).await;
    let source = serde_json::from_str::<Value>(&src).unwrap()["key"]
        .as_str()
        .unwrap()
        .to_string();
    s.user(&admin, "doc-user", "viewer").await;
    // Tokens are made from a signed-in browser, not with a token.
    let (_, created) = s
        .call(
            Method::POST,
            "/api/v1/tokens",
            &Auth::Cookie(admin.clone()),
            Some(json!({ "name": "to revoke", "role": "viewer" })),
        )
        .await;
    let victim = serde_json::from_str::<Value>(&created).unwrap()["token"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Wait for the demo's first import, for a product key.
    let mut product = String::new();
    for _ in 0..100 {
        let (_, page) = s.call(Method::GET, "/api/v1/products", &auth, None).await;
        if let Some(k) =
            serde_json::from_str::<Value>(&page).unwrap()["products"][0]["key"].as_str()
        {
            product = k.to_string();
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(!product.is_empty(), "the demo store was imported");
    // A channel that cannot be reached (its test answers "not delivered")
    // and a rule sending to it.
    let (_, ch) = s
        .call(
            Method::POST,
            "/api/v1/channels",
            &auth,
            Some(json!({ "name": "sample", "url": "json://unreachable.invalid/hook" })),
        )
        .await;
    let channel = serde_json::from_str::<Value>(&ch).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, r) = s
        .call(
            Method::POST,
            "/api/v1/rules",
            &auth,
            Some(json!({ "condition": { "kind": "sold_out" }, "channels": [channel] })),
        )
        .await;
    let rule = serde_json::from_str::<Value>(&r).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Repricing: the demo shop connected; one tracked product linked to four
    // variants of the shop (a proposal each), a fifth variant left free.
    let demo_shop = format!("{}/demo/shop", s.base);
    let (status, body) = s
        .call(
            Method::POST,
            "/api/v1/shopify/connect",
            &auth,
            Some(json!({ "domain": demo_shop, "token": monitor::demo::admin::DEMO_TOKEN })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains(monitor::demo::admin::SHOP_NAME), "{body}");
    let mut skus = vec![];
    let (_, page) = s
        .call(Method::GET, "/api/v1/products?limit=5", &auth, None)
        .await;
    for p in serde_json::from_str::<Value>(&page).unwrap()["products"]
        .as_array()
        .unwrap()
    {
        let key = p["key"].as_str().unwrap();
        let (_, detail) = s
            .call(
                Method::GET,
                &format!("/api/v1/products/{}", urlencoding(key)),
                &auth,
                None,
            )
            .await;
        for v in serde_json::from_str::<Value>(&detail).unwrap()["variants"]
            .as_array()
            .unwrap()
        {
            skus.push(format!("DW-{}", v["id"].as_str().unwrap()));
        }
    }
    assert!(skus.len() >= 5, "{skus:?}");
    let mut links = vec![];
    for sku in &skus[..4] {
        let (status, l) = s
            .call(Method::POST, "/api/v1/reprice/links", &auth, Some(json!({ "source_product": product, "target": sku, "markup": { "percent": "20" } })))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{l}");
        links.push(
            serde_json::from_str::<Value>(&l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let mut proposals = vec![];
    for l in &links[1..] {
        let (status, p) = s
            .call(
                Method::POST,
                &format!("/api/v1/reprice/links/{l}/propose"),
                &auth,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{p}");
        let p: Value = serde_json::from_str(&p).unwrap();
        assert_eq!(p["state"], "proposed", "{p}");
        proposals.push(p["id"].as_str().unwrap().to_string());
    }
    let samples = Samples {
        source,
        user: "doc-user".into(),
        token: victim,
        rule,
        channel,
        link: links[0].clone(),
        approve: proposals[0].clone(),
        reject: proposals[1].clone(),
        bulk: proposals[2].clone(),
        free_sku: skus[4].clone(),
        demo_shop: format!("{}/demo/shop", s.base),
        product: product.clone(),
    };

    let paths = doc["paths"].as_object().unwrap();
    let mut calls = vec![];
    for (path, ops) in paths {
        for (method, op) in ops.as_object().unwrap() {
            assert!(
                op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                "{method} {path} documents its answers"
            );
            calls.push((path.clone(), method.clone(), op.clone()));
        }
    }
    // Deletions last, so the other routes still find their targets.
    calls.sort_by_key(|(_, m, _)| m == "delete");
    assert!(calls.len() >= 20, "{} routes", calls.len());
    for (path, method, op) in calls {
        let mut url = fill(&path, &samples);
        if path == "/api/v1/reprice/targets" {
            url.push_str("?q=DW");
        }
        if path.starts_with("/api/v1/products/{key}") {
            url = path.replace("{key}", &urlencoding(&product));
        }
        let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let by = if (method.as_str(), path.as_str()) == ("post", "/api/v1/tokens") {
            Auth::Cookie(admin.clone())
        } else {
            auth.clone()
        };
        let (status, body) = if path == "/api/v1/reprice/links/import" {
            // CSV, not JSON: a preview of one line.
            let csv = format!("{},{}\n", samples.product, samples.free_sku);
            s.call_text(m, &url, &by, "text/csv", &csv).await
        } else {
            s.call(m, &url, &by, body_for(&method, &path, &samples))
                .await
        };
        let documented = op["responses"].as_object().unwrap();
        assert!(
            documented.contains_key(status.as_str()),
            "{method} {url} answered {status}, documented: {:?}; {body}",
            documented.keys().collect::<Vec<_>>()
        );
        assert!(status.is_success(), "{method} {url}: {status} {body}");
    }
    // The docs page lists them too.
    let (status, page) = s.call(Method::GET, "/api/docs", &Auth::None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("/api/v1/products/{key}/history"));
}

#[tokio::test]
async fn viewers_and_strangers_change_nothing_through_rest() {
    let s = start(
        &["--admin-password", ADMIN_PASSWORD, "--anonymous", "viewer"],
        &[],
    );
    let admin = s.admin().await;
    let viewer = s.user(&admin, "vera", "viewer").await;
    let viewer_token = s.token(&viewer, "viewer").await;
    let (_, doc) = s
        .call(Method::GET, "/api/v1/openapi.json", &Auth::None, None)
        .await;
    let doc: Value = serde_json::from_str(&doc).unwrap();
    let samples = Samples {
        source: "demo".into(),
        user: "admin".into(),
        token: "nope".into(),
        rule: "nope".into(),
        channel: "nope".into(),
        link: "nope".into(),
        approve: "nope".into(),
        reject: "nope".into(),
        bulk: "nope".into(),
        free_sku: "DW-1".into(),
        demo_shop: format!("{}/demo/shop", s.base),
        product: "demo:1".into(),
    };
    let mut mutations = 0;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys().filter(|m| *m != "get") {
            if path.starts_with("/api/v1/tokens")
                || path.starts_with("/api/v1/push/")
                || path == "/api/v1/me/picks"
            {
                continue; // one's own tokens, push subscriptions and picks: checked below
            }
            mutations += 1;
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            for auth in [
                Auth::None,
                Auth::Cookie(viewer.clone()),
                Auth::Token(viewer_token.clone()),
            ] {
                let (status, body) = s
                    .call(
                        m.clone(),
                        &fill(path, &samples),
                        &auth,
                        body_for(method, path, &samples),
                    )
                    .await;
                assert_eq!(
                    status,
                    StatusCode::FORBIDDEN,
                    "{method} {path} as {auth:?}: {body}"
                );
                assert!(body.contains("\"status\":403"), "problem+json: {body}");
            }
        }
    }
    assert!(mutations >= 7, "{mutations}");
    // Strangers have no account to make tokens for; a viewer's token is a viewer's.
    let (status, _) = s
        .call(
            Method::POST,
            "/api/v1/tokens",
            &Auth::None,
            body_for("post", "/api/v1/tokens", &samples),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = s
        .call(
            Method::POST,
            "/api/v1/tokens",
            &Auth::Cookie(viewer.clone()),
            Some(json!({ "name": "x", "role": "editor" })),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // A signed-in viewer may register their own browser for push (and end
    // it); an anonymous visitor has no account to attach it to.
    let sub = body_for("post", "/api/v1/push/subscriptions", &samples);
    let (status, _) = s
        .call(
            Method::POST,
            "/api/v1/push/subscriptions",
            &Auth::None,
            sub.clone(),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = s
        .call(
            Method::POST,
            "/api/v1/push/subscriptions",
            &Auth::Cookie(viewer.clone()),
            sub,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(
        !body.contains("/doc\""),
        "the endpoint is not shown back: {body}"
    );
    let (status, _) = s
        .call(
            Method::DELETE,
            "/api/v1/push/subscriptions",
            &Auth::Cookie(viewer.clone()),
            body_for("delete", "/api/v1/push/subscriptions", &samples),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // A signed-in viewer may clear what picks learned about them; an
    // anonymous visitor has nothing learned to clear.
    let (status, _) = s
        .call(Method::DELETE, "/api/v1/me/picks", &Auth::None, None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = s
        .call(
            Method::DELETE,
            "/api/v1/me/picks",
            &Auth::Cookie(viewer.clone()),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Reads are fine for all three.
    for auth in [
        Auth::None,
        Auth::Cookie(viewer.clone()),
        Auth::Token(viewer_token.clone()),
    ] {
        let (status, _) = s.call(Method::GET, "/api/v1/sources", &auth, None).await;
        assert_eq!(status, StatusCode::OK);
    }
}

#[tokio::test]
async fn cross_site_requests_and_password_guessing_are_refused() {
    let s = start(&["--admin-password", ADMIN_PASSWORD], &[]);
    let admin = s.admin().await;
    // With the cookie but from another site, or with no origin at all: refused.
    let (status, body) = s
        .call(
            Method::POST,
            "/api/v1/sources/demo/check",
            &Auth::CrossSite(admin.clone()),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("Cross-site"));
    let bare = s
        .http
        .post(s.url("/api/v1/sources/demo/check"))
        .header("cookie", format!("dw_session={admin}"))
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status(), StatusCode::FORBIDDEN);
    let fns = server_fns();
    let (_, check_fn) = fns
        .iter()
        .find(|(_, p)| server_fn_name(p) == "check_source")
        .unwrap();
    let (status, _) = call_fn(&s, check_fn, &Auth::CrossSite(admin.clone())).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "server functions too");
    let (status, _) = s
        .call(
            Method::POST,
            "/api/v1/sources/demo/check",
            &Auth::Cookie(admin.clone()),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "from our own origin it works");
    let login = s
        .http
        .post(s.url("/auth/login"))
        .header("origin", "http://evil.example")
        .form(&[("name", "admin"), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(
        login.status(),
        StatusCode::FORBIDDEN,
        "no sign-in from another site's form"
    );

    // Wrong passwords: 401, then after five, 429 with Retry-After, even for the right one.
    for _ in 0..5 {
        let (status, _) = s.login("admin", "guess").await.unwrap_err();
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let resp = s
        .http
        .post(s.url("/auth/login"))
        .form(&[("name", "admin"), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 60 && retry <= 900, "{retry}");
    // The session opened before still works.
    let (status, _) = s
        .call(Method::GET, "/api/v1/me", &Auth::Cookie(admin), None)
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_revoked_token_stops_at_once_on_rest_and_on_the_socket() {
    use futures::StreamExt;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;

    let s = start(&["--admin-password", ADMIN_PASSWORD], &[]);
    let admin = s.admin().await;
    let token = s.token(&admin, "viewer").await;
    let id = token.split('_').nth(1).unwrap().to_string();

    let ws_url = s.base.replace("http://", "ws://") + "/api/live?since=0";
    // Without a credential the socket is refused.
    assert!(tokio_tungstenite::connect_async(ws_url.as_str())
        .await
        .is_err());
    let mut req = ws_url.as_str().into_client_request().unwrap();
    req.headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    let (mut socket, _) = tokio_tungstenite::connect_async(req.clone())
        .await
        .expect("a token opens the socket");
    let first = tokio::time::timeout(Duration::from_secs(30), socket.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let event: Value = serde_json::from_str(first.to_text().unwrap()).unwrap();
    assert_eq!(event["seq"], 1, "events from the start");
    // A second socket on the same token, and one on another token (the
    // open sockets' credentials are checked together, once each).
    let (mut second, _) = tokio_tungstenite::connect_async(req.clone())
        .await
        .expect("a second socket on the token");
    let other = s.token(&admin, "viewer").await;
    let mut other_req = ws_url.as_str().into_client_request().unwrap();
    other_req
        .headers_mut()
        .insert("authorization", format!("Bearer {other}").parse().unwrap());
    let (mut kept, _) = tokio_tungstenite::connect_async(other_req)
        .await
        .expect("another token opens a socket");

    let (status, _) = s
        .call(
            Method::DELETE,
            &format!("/api/v1/tokens/{id}"),
            &Auth::Cookie(admin.clone()),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = s
        .call(Method::GET, "/api/v1/me", &Auth::Token(token.clone()), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "REST refuses it at once");
    // Its open sockets are closed with 4401 within the recheck period; the
    // other token's socket stays open.
    for socket in [&mut socket, &mut second] {
        let closed = tokio::time::timeout(Duration::from_secs(15), async {
            while let Some(msg) = socket.next().await {
                if let Ok(tokio_tungstenite::tungstenite::Message::Close(Some(frame))) = msg {
                    return u16::from(frame.code);
                }
            }
            0
        })
        .await
        .expect("the socket closes");
        assert_eq!(closed, 4401);
    }
    let ended = tokio::time::timeout(Duration::from_secs(6), async {
        loop {
            match kept.next().await {
                Some(Ok(tokio_tungstenite::tungstenite::Message::Close(_)))
                | Some(Err(_))
                | None => {
                    return;
                }
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(ended.is_err(), "another token's socket was closed too");
    assert!(
        tokio_tungstenite::connect_async(req).await.is_err(),
        "and cannot reopen"
    );
}

#[tokio::test]
async fn metrics_health_and_readiness() {
    let s = start(
        &[
            "--admin-password",
            ADMIN_PASSWORD,
            "--metrics-token",
            "scrape-token-123456",
        ],
        &[],
    );
    let (status, _) = s.call(Method::GET, "/healthz", &Auth::None, None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, ready) = s.call(Method::GET, "/readyz", &Auth::None, None).await;
    assert_eq!(status, StatusCode::OK, "{ready}");
    assert!(ready.contains("\"poller\":\"running\""));
    let (status, _) = s.call(Method::GET, "/metrics", &Auth::None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = s
        .call(Method::GET, "/metrics", &Auth::Token("wrong".into()), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Wait for the demo's first poll, then scrape with the metrics token.
    let mut text = String::new();
    for _ in 0..100 {
        let (status, t) = s
            .call(
                Method::GET,
                "/metrics",
                &Auth::Token("scrape-token-123456".into()),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        text = t;
        if text.contains("dropwatch_polls_total{source=\"demo\",outcome=\"ok\"}") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for needle in [
        "dropwatch_polls_total{source=\"demo\",outcome=\"ok\"}",
        "dropwatch_poll_duration_seconds_bucket{le=\"+Inf\"}",
        "dropwatch_products_tracked 20",
        "dropwatch_events_total{type=\"new_product\"} 20",
        "dropwatch_live_clients 0",
        "dropwatch_http_requests_total{route=\"/healthz\",method=\"GET\",status=\"200\"} 1",
        "dropwatch_http_requests_total{route=\"/metrics\",method=\"GET\",status=\"401\"} 2",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
    // A viewer reads it too.
    let admin = s.admin().await;
    let viewer = s.user(&admin, "vera", "viewer").await;
    let (status, _) = s
        .call(Method::GET, "/metrics", &Auth::Cookie(viewer), None)
        .await;
    assert_eq!(status, StatusCode::OK);
}
