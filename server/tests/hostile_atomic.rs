//! A request that is refused changes nothing (issue 23), against the running
//! binary: for every REST route and server function that takes more than one
//! field, a request with one valid change beside one invalid field is
//! refused, and everything a user could read before it (users, tokens,
//! sources, rules, channels, markups, links, the shop, the connector
//! accounts, matches, the audit log) reads the same after it.
//!
//! REST answers a refusal with a 4xx. A server function answers the form's
//! refusal as a result with `ok: false` (the page shows it next to the
//! field; a status the page's client would read as an error is for callers
//! who may not call at all), so for them "refused" is a 4xx or `ok: false`;
//! never a 5xx, never a success.

mod common;

use common::{server_fn_name, server_fns, start, Auth, Server, ADMIN_PASSWORD};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// The REST reads that together hold what a mutation could change.
const READS: &[&str] = &[
    "/api/v1/users",
    "/api/v1/tokens",
    "/api/v1/sources",
    "/api/v1/rules",
    "/api/v1/channels",
    "/api/v1/reprice/markups",
    "/api/v1/reprice/links",
    "/api/v1/shopify",
    "/api/v1/audit?limit=500",
];

/// Mutations with a body that are not in the table, and why.
const NOT_IN_TABLE: &[(&str, &str)] = &[
    // Reads a JSON API through a mapping; adds nothing.
    ("post", "/api/v1/sources/preview"),
    // One field (the version seen); a stale one is a 409, nothing changes.
    ("post", "/api/v1/reprice/proposals/{id}/approve"),
    ("post", "/api/v1/reprice/proposals/{id}/reject"),
    // By design each proposal of a bulk approval is decided on alone, and
    // the answer says how each went (README, REST API).
    ("post", "/api/v1/reprice/proposals/approve"),
    // Likewise each line of a CSV import of links (README, Repricing); a
    // preview changes nothing at all.
    ("post", "/api/v1/reprice/links/import"),
    // One field: the subscription's endpoint.
    ("delete", "/api/v1/push/subscriptions"),
    // Reads a URL and says what it would track; adds nothing.
    ("post", "/api/v1/probe"),
    // Each source of an import is added on its own and the answer says how
    // each went (README, Moving in and out); a preview changes nothing.
    ("post", "/api/v1/import"),
];

/// Server functions that take more than one field or make more than one
/// change; each must have a case below.
const MULTI_FIELD_FNS: &[&str] = &[
    "add_source",
    "edit_source",
    "save_rule",
    "watch_product",
    "create_user",
    "set_user_role",
    "reset_user_password",
    "change_password",
    "create_token",
    "save_markup",
    "link_product",
    "edit_link",
    "edit_rule",
    "connect_shop",
    "save_oxylabs",
    "save_popmart_keys",
    "judge_match",
];

/// One hostile REST request: the route as documented, and as called.
struct Case {
    method: &'static str,
    route: &'static str,
    path: String,
    body: Value,
}

fn case(method: &'static str, route: &'static str, path: &str, body: Value) -> Case {
    Case {
        method,
        route,
        path: path.to_string(),
        body,
    }
}

fn urlencoding(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// A read without what changes by itself: runs and their progress (the
/// demo polls every second), and when someone last signed in or used a token.
fn steady(mut v: Value) -> Value {
    match &mut v {
        Value::Object(o) => {
            for k in ["runs", "progress", "last_login", "last_used"] {
                o.remove(k);
            }
            for x in o.values_mut() {
                *x = steady(x.take());
            }
        }
        Value::Array(a) => {
            for x in a.iter_mut() {
                *x = steady(x.take());
            }
        }
        _ => {}
    }
    v
}

/// Everything a refused request must leave as it was, read as the admin.
async fn state(
    s: &Server,
    admin: &Auth,
    product: &str,
    load_sources: &str,
) -> Vec<(String, Value)> {
    let mut paths: Vec<String> = READS.iter().map(|p| p.to_string()).collect();
    paths.push(format!("/api/v1/products/{}/matches", urlencoding(product)));
    let mut out = vec![];
    for path in paths {
        let (status, body) = s.call(Method::GET, &path, admin, None).await;
        assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
        out.push((path, steady(serde_json::from_str(&body).unwrap())));
    }
    // The connector accounts (Oxylabs, Pop Mart) show on the sources page.
    let resp = s
        .http
        .post(s.url(load_sources))
        .headers(s.headers(admin))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let view: Value = resp.json().await.unwrap();
    out.push((
        "load_sources: connectors".into(),
        view["connectors"].clone(),
    ));
    out
}

fn assert_same(what: &str, before: &[(String, Value)], after: &[(String, Value)]) {
    for ((read, b), (_, a)) in before.iter().zip(after) {
        assert_eq!(b, a, "{what} was refused, yet {read} changed");
    }
}

/// Whether a server function refused: a 4xx, or its form's result says so.
fn refused_form(status: StatusCode, body: &str) -> bool {
    if status.is_client_error() {
        return true;
    }
    if !status.is_success() {
        return false;
    }
    let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let ok = v.get("ok").or_else(|| v.pointer("/result/ok"));
    ok == Some(&Value::Bool(false))
}

#[tokio::test]
async fn a_refused_request_changes_nothing_through_rest_or_server_functions() {
    let s = start(&["--admin-password", ADMIN_PASSWORD], &[]);
    let admin_cookie = s.admin().await;
    let admin = Auth::Cookie(admin_cookie.clone());
    let ed_cookie = s.user(&admin_cookie, "ed", "editor").await;
    let ed_token = s.token(&ed_cookie, "editor").await;

    // Something of each kind to change: products (the demo's first
    // import), a channel, a rule, markups.
    let mut products = vec![];
    for _ in 0..100 {
        let (_, page) = s.call(Method::GET, "/api/v1/products", &admin, None).await;
        let page: Value = serde_json::from_str(&page).unwrap();
        products = page["products"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| p["key"].as_str().map(str::to_string))
            .collect();
        if products.len() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(products.len() >= 2, "the demo store was imported");
    let (product, other) = (products[0].clone(), products[1].clone());
    let (status, body) = s
        .call(
            Method::POST,
            "/api/v1/channels",
            &admin,
            Some(json!({ "name": "sample", "url": "json://unreachable.invalid/hook" })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let channel = serde_json::from_str::<Value>(&body).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, body) = s
        .call(
            Method::POST,
            "/api/v1/rules",
            &admin,
            Some(json!({ "condition": { "kind": "sold_out" }, "channels": [channel] })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let rule = serde_json::from_str::<Value>(&body).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, body) = s
        .call(
            Method::PUT,
            "/api/v1/reprice/markups",
            &admin,
            Some(json!([{ "tag": null, "markup": { "percent": "10" } }])),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, demo) = s
        .call(Method::GET, "/api/v1/sources/demo", &admin, None)
        .await;
    let demo_url = serde_json::from_str::<Value>(&demo).unwrap()["source"]["url"]
        .as_str()
        .unwrap()
        .to_string();
    let new_source_url = format!("{}/demo/atomic", s.base);
    // The demo shop connected and a link to it, to edit.
    let (status, body) = s
        .call(
            Method::POST,
            "/api/v1/shopify/connect",
            &admin,
            Some(json!({ "domain": format!("{}/demo/shop", s.base), "token": monitor::demo::admin::DEMO_TOKEN })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, detail) = s
        .call(
            Method::GET,
            &format!("/api/v1/products/{}", urlencoding(&product)),
            &admin,
            None,
        )
        .await;
    let variant = serde_json::from_str::<Value>(&detail).unwrap()["variants"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, body) = s
        .call(
            Method::POST,
            "/api/v1/reprice/links",
            &admin,
            Some(json!({ "source_product": product, "target": format!("DW-{variant}"), "markup": { "percent": "10" } })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let link = serde_json::from_str::<Value>(&body).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let link_path = format!("/api/v1/reprice/links/{link}");

    let fns = server_fns();
    let fn_path = |name: &str| {
        fns.iter()
            .find(|(_, p)| server_fn_name(p) == name)
            .map(|(_, p)| p.clone())
            .unwrap_or_else(|| panic!("the server function {name} is registered"))
    };
    let load_sources = fn_path("load_sources");

    let rule_path = format!("/api/v1/rules/{rule}");
    let cases = vec![
        // Issue 23, exactly: the only admin, demoted and given a new password.
        case(
            "patch",
            "/api/v1/users/{name}",
            "/api/v1/users/admin",
            json!({ "role": "viewer", "password": "a-new-password-123" }),
        ),
        case(
            "patch",
            "/api/v1/users/{name}",
            "/api/v1/users/ed",
            json!({ "role": "admin", "password": "short" }),
        ),
        case(
            "patch",
            "/api/v1/users/{name}",
            "/api/v1/users/ed",
            json!({ "role": "superuser", "password": "ed-new-password-2" }),
        ),
        case(
            "patch",
            "/api/v1/users/{name}",
            "/api/v1/users/ed",
            json!({ "password": "ed-new-password-2", "colour": "red" }),
        ),
        case(
            "post",
            "/api/v1/users",
            "/api/v1/users",
            json!({ "name": "newbie", "role": "viewer", "password": "short" }),
        ),
        case(
            "post",
            "/api/v1/users",
            "/api/v1/users",
            json!({ "name": "new user!", "role": "viewer", "password": "newbie-password-1" }),
        ),
        case(
            "post",
            "/api/v1/tokens",
            "/api/v1/tokens",
            json!({ "name": "", "role": "viewer" }),
        ),
        case(
            "post",
            "/api/v1/tokens",
            "/api/v1/tokens",
            json!({ "name": "atomic", "role": "superuser" }),
        ),
        case(
            "patch",
            "/api/v1/sources/{key}",
            "/api/v1/sources/demo",
            json!({ "enabled": false, "url": "not a url" }),
        ),
        case(
            "patch",
            "/api/v1/sources/{key}",
            "/api/v1/sources/demo",
            json!({ "name": "Renamed", "interval_secs": 0 }),
        ),
        case(
            "patch",
            "/api/v1/sources/{key}",
            "/api/v1/sources/demo",
            json!({ "enabled": false, "interval_secs": 999_999_999 }),
        ),
        case(
            "patch",
            "/api/v1/sources/{key}",
            "/api/v1/sources/demo",
            // A private address: refused by the outbound policy, after the
            // name and the pause were found fine.
            json!({ "enabled": false, "name": "Renamed", "url": "http://10.0.0.1/" }),
        ),
        case(
            "patch",
            "/api/v1/sources/{key}",
            "/api/v1/sources/demo",
            json!({ "enabled": false, "page": { "price_selector": ".price" } }),
        ),
        case(
            "patch",
            "/api/v1/sources/{key}",
            "/api/v1/sources/demo",
            json!({ "enabled": false, "intervl_secs": 60 }),
        ),
        case(
            "post",
            "/api/v1/sources",
            "/api/v1/sources",
            json!({ "kind": "shopify", "url": new_source_url, "interval_secs": 0 }),
        ),
        case(
            "post",
            "/api/v1/sources",
            "/api/v1/sources",
            json!({ "kind": "shopify", "url": new_source_url, "interval_secs": 60,
                    "page": { "price_selector": ".price" } }),
        ),
        case(
            "patch",
            "/api/v1/rules/{id}",
            &rule_path,
            json!({ "paused": true, "cooldown_secs": 99_999_999 }),
        ),
        case(
            "patch",
            "/api/v1/rules/{id}",
            &rule_path,
            json!({ "name": "Renamed", "channels": ["nope"] }),
        ),
        case(
            "patch",
            "/api/v1/rules/{id}",
            &rule_path,
            json!({ "paused": true, "condition": { "kind": "drop_percent", "percent": "150" } }),
        ),
        case(
            "patch",
            "/api/v1/rules/{id}",
            &rule_path,
            json!({ "paused": true, "colour": "red" }),
        ),
        case(
            "post",
            "/api/v1/rules",
            "/api/v1/rules",
            json!({ "name": "atomic", "condition": { "kind": "restocked" },
                    "channels": [channel], "cooldown_secs": 99_999_999 }),
        ),
        case(
            "post",
            "/api/v1/channels",
            "/api/v1/channels",
            json!({ "name": "x".repeat(81), "url": "json://unreachable.invalid/other" }),
        ),
        case(
            "post",
            "/api/v1/push/subscriptions",
            "/api/v1/push/subscriptions",
            json!({ "name": "x".repeat(81), "subscription": { "endpoint": "https://push.example/atomic",
                    "keys": { "p256dh": "BPk", "auth": "q1" } } }),
        ),
        case(
            "put",
            "/api/v1/reprice/markups",
            "/api/v1/reprice/markups",
            json!([{ "tag": null, "markup": { "percent": "20" } },
                   { "tag": "sneakers", "markup": { "percent": "10", "floor": "50", "ceiling": "10" } }]),
        ),
        case(
            "put",
            "/api/v1/reprice/markups",
            "/api/v1/reprice/markups",
            json!([{ "tag": "boots", "markup": { "percent": "5" } },
                   { "tag": "Boots", "markup": { "percent": "6" } }]),
        ),
        case(
            "post",
            "/api/v1/reprice/links",
            "/api/v1/reprice/links",
            json!({ "source_product": product, "target": "DW-1", "markup": { "percent": "-150" } }),
        ),
        case(
            "patch",
            "/api/v1/reprice/links/{id}",
            &link_path,
            json!({ "inherit": true, "markup": { "percent": "30", "rate": "-1" } }),
        ),
        case(
            "patch",
            "/api/v1/reprice/links/{id}",
            &link_path,
            json!({ "inherit": true, "colour": "red" }),
        ),
        case(
            "post",
            "/api/v1/shopify/connect",
            "/api/v1/shopify/connect",
            json!({ "domain": "https://", "token": "shpat_atomic_0123456789" }),
        ),
        case(
            "put",
            "/api/v1/shopify/webhook-secret",
            "/api/v1/shopify/webhook-secret",
            json!({ "secret": "short" }),
        ),
    ];

    // The table covers every documented mutation that takes a body.
    let (_, doc) = s
        .call(Method::GET, "/api/v1/openapi.json", &Auth::None, None)
        .await;
    let doc: Value = serde_json::from_str(&doc).unwrap();
    for (route, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            if method == "get" || op.get("requestBody").is_none() {
                continue;
            }
            let listed = cases
                .iter()
                .any(|c| c.method == method.as_str() && c.route == route.as_str())
                || NOT_IN_TABLE.contains(&(method.as_str(), route.as_str()));
            assert!(listed, "{method} {route} takes a body: add a case for it");
        }
    }

    for c in &cases {
        let what = format!("{} {} {}", c.method.to_uppercase(), c.path, c.body);
        let before = state(&s, &admin, &product, &load_sources).await;
        let m = Method::from_bytes(c.method.to_uppercase().as_bytes()).unwrap();
        let (status, body) = s.call(m, &c.path, &admin, Some(c.body.clone())).await;
        assert!(
            status.is_client_error(),
            "{what} answered {status}, not a refusal (4xx): {body}"
        );
        assert_same(
            &what,
            &before,
            &state(&s, &admin, &product, &load_sources).await,
        );
    }

    let text = |v: &str| v.to_string();
    let fn_cases: Vec<(&str, Vec<(&str, String)>)> = vec![
        (
            "edit_source",
            vec![
                ("key", text("demo")),
                ("url", demo_url.clone()),
                ("name", text("Renamed")),
                ("interval", text("forever")),
            ],
        ),
        // Found fine by the form, refused by the engine (a private address).
        (
            "edit_source",
            vec![
                ("key", text("demo")),
                ("url", text("http://10.0.0.1/")),
                ("name", text("Renamed")),
                ("interval", text("1h")),
            ],
        ),
        (
            "add_source",
            vec![
                ("kind", text("shopify")),
                ("url", new_source_url.clone()),
                ("name", text("Atomic")),
                ("interval", text("0s")),
            ],
        ),
        (
            "add_source",
            vec![
                ("kind", text("shopify")),
                ("url", new_source_url.clone()),
                ("name", text("Atomic")),
                ("interval", text("1h")),
                ("price_selector", text(".price")),
            ],
        ),
        (
            "save_rule",
            vec![
                ("id", rule.clone()),
                ("name", text("Renamed")),
                ("condition", text("price_at_or_below")),
                ("value", text("cheap")),
            ],
        ),
        (
            "save_rule",
            vec![
                ("id", rule.clone()),
                ("name", text("Renamed")),
                ("condition", text("sold_out")),
                ("channel", text("nope")),
            ],
        ),
        (
            "edit_rule",
            vec![
                ("id", rule.clone()),
                ("name", text("Renamed")),
                ("condition", text("drop_percent")),
                ("value", text("150")),
                ("channels[]", channel.clone()),
            ],
        ),
        (
            "edit_rule",
            vec![
                ("id", rule.clone()),
                ("name", text("Renamed")),
                ("condition", text("sold_out")),
                ("channels[]", text("nope")),
            ],
        ),
        (
            "edit_link",
            vec![
                ("id", link.clone()),
                ("percent", text("30")),
                ("inherit", text("on")),
                ("rate", text("0")),
            ],
        ),
        (
            "edit_link",
            vec![
                ("id", link.clone()),
                ("percent", text("30")),
                ("floor", text("50")),
                ("ceiling", text("10")),
            ],
        ),
        (
            "watch_product",
            vec![
                ("key", product.clone()),
                ("condition", text("drop_percent")),
                ("value", text("150")),
            ],
        ),
        (
            "set_user_role",
            vec![("name", text("admin")), ("role", text("viewer"))],
        ),
        (
            "reset_user_password",
            vec![("name", text("ed")), ("password", text("short"))],
        ),
        (
            "create_user",
            vec![
                ("name", text("newbie")),
                ("role", text("viewer")),
                ("password", text("short")),
            ],
        ),
        (
            "create_user",
            vec![
                ("name", text("newbie")),
                ("role", text("superuser")),
                ("password", text("newbie-password-1")),
            ],
        ),
        (
            "create_token",
            vec![("name", text("")), ("role", text("viewer"))],
        ),
        (
            "change_password",
            vec![
                ("current", text(ADMIN_PASSWORD)),
                ("password", text("a-new-password-123")),
                ("password2", text("another-password-456")),
            ],
        ),
        (
            "change_password",
            vec![
                ("current", text(ADMIN_PASSWORD)),
                ("password", text("short")),
                ("password2", text("short")),
            ],
        ),
        (
            "save_markup",
            vec![
                ("tag", text("sneakers")),
                ("percent", text("10")),
                ("floor", text("50")),
                ("ceiling", text("10")),
            ],
        ),
        (
            "link_product",
            vec![
                ("product", product.clone()),
                ("target", text("DW-1")),
                ("percent", text("a lot")),
            ],
        ),
        (
            "connect_shop",
            vec![
                ("domain", text("https://")),
                ("token", text("shpat_atomic_0123456789")),
            ],
        ),
        (
            "save_oxylabs",
            vec![("user", text("someone")), ("password", text(""))],
        ),
        (
            "save_popmart_keys",
            vec![
                ("region", text("HK")),
                ("client_key", text("ck")),
                ("salt", text("")),
            ],
        ),
        (
            "judge_match",
            vec![
                ("key", product.clone()),
                ("other", other.clone()),
                ("verdict", text("maybe")),
            ],
        ),
        // Two offers of one store cannot be the same item.
        (
            "judge_match",
            vec![
                ("key", product.clone()),
                ("other", other.clone()),
                ("verdict", text("same")),
            ],
        ),
        ("set_webhook_secret", vec![("secret", text("short"))]),
    ];
    for name in MULTI_FIELD_FNS {
        assert!(fn_cases.iter().any(|(n, _)| n == name), "{name} has a case");
    }
    for (name, form) in &fn_cases {
        let what = format!("the server function {name} with {form:?}");
        let before = state(&s, &admin, &product, &load_sources).await;
        let resp = s
            .http
            .post(s.url(&fn_path(*name)))
            .headers(s.headers(&admin))
            .form(form)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let body = resp.text().await.unwrap_or_default();
        assert!(
            refused_form(status, &body),
            "{what} answered {status}, not a refusal: {body}"
        );
        assert_same(
            &what,
            &before,
            &state(&s, &admin, &product, &load_sources).await,
        );
    }

    // Issue 23 once more, with what the admin would notice: 422 saying
    // why; the session still works; the old password still signs in.
    let (status, body) = s
        .call(
            Method::PATCH,
            "/api/v1/users/admin",
            &admin,
            Some(json!({ "role": "viewer", "password": "a-new-password-123" })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("only admin"), "{body}");
    let (status, me) = s.call(Method::GET, "/api/v1/me", &admin, None).await;
    assert_eq!(status, StatusCode::OK, "the admin's session still works");
    assert_eq!(serde_json::from_str::<Value>(&me).unwrap()["role"], "admin");
    assert!(
        s.login("admin", "a-new-password-123").await.is_err(),
        "the refused password was not set"
    );
    assert!(
        s.login("admin", ADMIN_PASSWORD).await.is_ok(),
        "the old password still signs in"
    );
    // The editor, whose role and password were asked for too: their
    // session and token still work, their password is the old one.
    let (status, _) = s
        .call(Method::GET, "/api/v1/me", &Auth::Cookie(ed_cookie), None)
        .await;
    assert_eq!(status, StatusCode::OK, "the editor's session still works");
    let (status, me) = s
        .call(Method::GET, "/api/v1/me", &Auth::Token(ed_token), None)
        .await;
    assert_eq!(status, StatusCode::OK, "the editor's token still works");
    assert_eq!(
        serde_json::from_str::<Value>(&me).unwrap()["role"],
        "editor"
    );
    assert!(s.login("ed", "ed-password-1").await.is_ok());
    assert!(s.login("ed", "ed-new-password-2").await.is_err());
}

#[tokio::test]
async fn an_accepted_change_of_several_fields_applies_all_of_them_and_audits_each() {
    let s = start(&["--admin-password", ADMIN_PASSWORD], &[]);
    let admin_cookie = s.admin().await;
    let admin = Auth::Cookie(admin_cookie.clone());
    let ed_cookie = s.user(&admin_cookie, "ed", "editor").await;
    let ed_token = s.token(&ed_cookie, "editor").await;

    // Role and password together: both, with the sessions and tokens gone.
    let (status, body) = s
        .call(
            Method::PATCH,
            "/api/v1/users/ed",
            &admin,
            Some(json!({ "role": "viewer", "password": "ed-new-password-2" })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let user: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(user["role"], "viewer");
    assert!(user["password_changed"].is_string(), "{user}");
    for auth in [Auth::Cookie(ed_cookie), Auth::Token(ed_token)] {
        let (status, _) = s.call(Method::GET, "/api/v1/me", &auth, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{auth:?} ended");
    }
    let ed = s.login("ed", "ed-new-password-2").await.unwrap();
    let (_, me) = s
        .call(Method::GET, "/api/v1/me", &Auth::Cookie(ed), None)
        .await;
    assert_eq!(
        serde_json::from_str::<Value>(&me).unwrap()["role"],
        "viewer"
    );

    // A source renamed and paused at once: both, one save.
    let (status, body) = s
        .call(
            Method::PATCH,
            "/api/v1/sources/demo",
            &admin,
            Some(json!({ "name": "Renamed", "enabled": false })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let source: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (source["name"].as_str(), source["enabled"].as_bool()),
        (Some("Renamed"), Some(false))
    );

    // Each change in the audit log once, as before.
    let (_, log) = s
        .call(Method::GET, "/api/v1/audit?limit=100", &admin, None)
        .await;
    let log: Vec<Value> = serde_json::from_str(&log).unwrap();
    let count = |action: &str| log.iter().filter(|e| e["action"] == action).count();
    for (action, n) in [
        ("user.role", 1),
        ("user.password_reset", 1),
        ("token.revoke", 1),
        ("source.edit", 1),
        ("source.pause", 1),
    ] {
        assert_eq!(count(action), n, "{action} in {log:?}");
    }
    let edit = log.iter().find(|e| e["action"] == "source.edit").unwrap();
    assert_eq!(edit["after"]["name"], "Renamed");
    assert_eq!(edit["after"]["enabled"], true, "the pause is its own entry");
}

#[tokio::test]
async fn a_refused_source_field_is_named_in_the_problem() {
    let s = start(&["--admin-password", ADMIN_PASSWORD], &[]);
    let admin = Auth::Cookie(s.admin().await);
    let url = format!("{}/demo", s.base);
    for (body, field) in [
        (
            json!({ "kind": "shopify", "url": url, "interval_secs": 0 }),
            "interval",
        ),
        (json!({ "kind": "shop", "url": url }), "kind"),
        (
            json!({ "kind": "woocommerce", "url": "ftp://files.example/x" }),
            "url",
        ),
        (
            json!({ "kind": "page", "url": format!("{url}/products/x"), "keywords": { "include": ["dunk"] } }),
            "keywords",
        ),
        (
            json!({ "kind": "page", "url": format!("{url}/products/x"), "page": { "stock_selector": "div[" } }),
            "stock_selector",
        ),
        (
            json!({ "kind": "amazon", "url": "", "amazon": { "asins": ["nope"], "domain": "com" } }),
            "asins",
        ),
    ] {
        let (status, answer) = s
            .call(Method::POST, "/api/v1/sources", &admin, Some(body.clone()))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {answer}");
        let problem: Value = serde_json::from_str(&answer).unwrap();
        assert_eq!(problem["field"], field, "{body}: {problem}");
        assert!(problem["detail"].as_str().is_some_and(|d| !d.is_empty()));
    }
    let (status, answer) = s
        .call(
            Method::PATCH,
            "/api/v1/sources/demo",
            &admin,
            Some(json!({ "keywords": { "include": ["x".repeat(61)] } })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(
        serde_json::from_str::<Value>(&answer).unwrap()["field"],
        "keywords"
    );
}
