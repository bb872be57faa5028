//! "For you" and "Related" against the running binary, as a browser
//! without JavaScript meets them (the pages as the server renders them, the
//! clear button as a plain form post): a signed-in user who opens products
//! of one brand finds picks of that brand on the dashboard with the reason,
//! and clearing makes them go; a rule made over REST is its maker's and
//! teaches their picks; a product page lists related products with why; an
//! anonymous visitor is learned nothing about and sees no picks.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::{server_fn_name, server_fns, start, Auth, Server, ADMIN_PASSWORD};
use reqwest::{Method, StatusCode};
use serde_json::Value;

const DEMO_PRODUCTS: usize = 60;

/// Every demo product's summary, once the first read is in.
async fn summaries(s: &Server, auth: &Auth) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let (status, body) = s.call(Method::GET, "/api/v1/products", auth, None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let page: Value = serde_json::from_str(&body).unwrap();
        if page["matched"].as_u64() == Some(DEMO_PRODUCTS as u64) {
            return page["products"].as_array().cloned().unwrap_or_default();
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the demo store was not read: {body}\n{}",
            s.printed()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

async fn page(s: &Server, path: &str, auth: &Auth) -> String {
    let (status, body) = s.call(Method::GET, path, auth, None).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body
}

/// The text of each element `data-testid="{testid}"` up to the next `</li>`.
fn entries<'a>(html: &'a str, testid: &str) -> Vec<&'a str> {
    html.split(&format!("data-testid=\"{testid}\""))
        .skip(1)
        .map(|rest| rest.split("</li>").next().unwrap_or(rest))
        .collect()
}

/// What an entry says of why it is there.
fn why(entry: &str) -> &str {
    entry
        .split("class=\"why\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap_or("")
}

fn product_path(key: &str) -> String {
    format!("/product/{}", key.replace(':', "%3A"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_who_opens_one_brand_gets_picks_of_it_and_can_clear_them() {
    let products = DEMO_PRODUCTS.to_string();
    let s = start(
        &[
            "--admin-password",
            ADMIN_PASSWORD,
            "--demo-products",
            &products,
        ],
        &[],
    );
    let admin = s.admin().await;
    let pat = Auth::Cookie(s.user(&admin, "pat", "viewer").await);
    let all = summaries(&s, &pat).await;

    // The brand with the most products in stock; Pat opens three of them.
    let in_stock: Vec<&Value> = all
        .iter()
        .filter(|p| {
            p["sizes_in_stock"]
                .as_array()
                .is_some_and(|s| !s.is_empty())
        })
        .collect();
    let mut by_brand: HashMap<&str, Vec<&str>> = HashMap::new();
    for p in &in_stock {
        by_brand
            .entry(p["brand"].as_str().unwrap())
            .or_default()
            .push(p["key"].as_str().unwrap());
    }
    let (brand, keys) = by_brand
        .into_iter()
        .max_by_key(|(b, k)| (k.len(), *b))
        .unwrap();
    assert!(keys.len() >= 5, "{brand}: {keys:?}");
    let home = page(&s, "/", &pat).await;
    assert!(
        !home.contains("data-testid=\"for-you\""),
        "nothing learned yet, nothing shown"
    );
    let opened = &keys[..3];
    for key in opened {
        let html = page(&s, &product_path(key), &pat).await;
        // The product page lists related products, each saying why.
        let related = entries(&html, "related");
        assert!(!related.is_empty() && related.len() <= 12, "{key}");
        assert!(
            related.iter().all(|r| why(r).starts_with("Same ")),
            "{related:?}"
        );
        assert!(!related
            .iter()
            .any(|r| r.contains(&format!("data-key=\"{key}\""))));
    }

    // The dashboard's "For you": that brand, with the reason, none of the
    // products opened.
    let home = page(&s, "/", &pat).await;
    assert!(home.contains(">For you<"), "{home}");
    let picks = entries(&home, "pick");
    assert!(!picks.is_empty());
    let first = picks[0];
    assert!(first.contains(brand), "{first}");
    assert!(
        why(first).starts_with(&format!("{brand}, ")),
        "the reason names the brand: {first}"
    );
    for key in opened {
        assert!(picks
            .iter()
            .all(|p| !p.contains(&format!("data-key=\"{key}\""))));
    }
    // The same over REST: Pat's picks with their reasons, and a product's
    // related products with why.
    let (status, body) = s.call(Method::GET, "/api/v1/me/picks", &pat, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let rest: Value = serde_json::from_str(&body).unwrap();
    let rest_picks = rest["picks"].as_array().unwrap();
    assert!(!rest_picks.is_empty(), "{rest}");
    assert_eq!(rest_picks[0]["product"]["brand"], brand, "{rest}");
    assert!(rest_picks[0]["why"]
        .as_array()
        .is_some_and(|w| !w.is_empty()));
    assert!(rest["signals"].as_u64().unwrap() >= 3, "{rest}");
    let path = format!("/api/v1/products/{}/related", keys[0].replace(':', "%3A"));
    let (status, body) = s.call(Method::GET, &path, &pat, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let related: Value = serde_json::from_str(&body).unwrap();
    let related = related.as_array().unwrap();
    assert!(!related.is_empty());
    assert!(related.iter().all(|r| r["product"]["key"] != keys[0]));
    assert!(
        related.iter().all(|r| r["why"][0]["kind"].is_string()),
        "{related:?}"
    );
    let (status, _) = s
        .call(
            Method::GET,
            "/api/v1/products/demo%3Anone/related",
            &pat,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The admin learned nothing from Pat.
    let admin = Auth::Cookie(admin);
    let theirs = page(&s, "/", &admin).await;
    assert!(!theirs.contains("data-testid=\"for-you\""));
    // A rule made over REST is the admin's, and teaches their picks.
    let (status, ch) = s
        .call(
            Method::POST,
            "/api/v1/channels",
            &admin,
            Some(serde_json::json!({ "name": "team", "url": "discord://42/token-abcdefgh" })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ch}");
    let ch: Value = serde_json::from_str(&ch).unwrap();
    let (status, rule) = s
        .call(
            Method::POST,
            "/api/v1/rules",
            &admin,
            Some(serde_json::json!({
                "scope": { "product": keys[4] },
                "condition": { "kind": "restocked" },
                "channels": [ch["id"]],
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{rule}");
    let rule: Value = serde_json::from_str(&rule).unwrap();
    assert_eq!(rule["owner"], "admin");
    let theirs = page(&s, "/", &admin).await;
    let picks = entries(&theirs, "pick");
    assert!(!picks.is_empty(), "picks from the rule");
    assert!(picks
        .iter()
        .all(|p| !p.contains(&format!("data-key=\"{}\"", keys[4]))));

    // "Clear what Dropwatch learned", posted as a plain form: back to the
    // dashboard, and the picks are gone.
    let fns = server_fns();
    let clear = fns
        .iter()
        .find(|(_, p)| server_fn_name(p) == "clear_picks")
        .map(|(_, p)| p.clone())
        .expect("clear_picks is a server function");
    assert!(home.contains(&format!("action=\"{clear}\"")), "{home}");
    let resp = s
        .http
        .post(s.url(&clear))
        .headers(s.headers(&pat))
        .header("accept", "text/html")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(resp.headers()["location"], "/");
    let home = page(&s, "/", &pat).await;
    assert!(!home.contains("data-testid=\"for-you\""), "cleared");
    assert!(entries(&home, "pick").is_empty());

    // Pat opens a product again, then clears it over REST.
    page(&s, &product_path(keys[0]), &pat).await;
    let (status, body) = s.call(Method::DELETE, "/api/v1/me/picks", &pat, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let forgot: Value = serde_json::from_str(&body).unwrap();
    assert!(forgot["forgot"].as_u64().unwrap() >= 1, "{forgot}");
    let (_, body) = s.call(Method::GET, "/api/v1/me/picks", &pat, None).await;
    let rest: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(rest["signals"], 0, "{rest}");
    assert!(rest["picks"].as_array().unwrap().is_empty(), "{rest}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_anonymous_visitor_is_learned_nothing_about() {
    let s = start(
        &["--admin-password", ADMIN_PASSWORD, "--anonymous", "viewer"],
        &[],
    );
    let all = summaries_of(&s).await;
    let key = all[0]["key"].as_str().unwrap();
    let html = page(&s, &product_path(key), &Auth::None).await;
    assert!(html.contains("data-testid=\"related-list\""));
    let home = page(&s, "/", &Auth::None).await;
    assert!(!home.contains("data-testid=\"for-you\""));
    // Nor can they clear anything: nobody is signed in.
    let clear = server_fns()
        .into_iter()
        .find(|(_, p)| server_fn_name(p) == "clear_picks")
        .map(|(_, p)| p)
        .unwrap();
    let (status, _) = s
        .call_text(
            Method::POST,
            &clear,
            &Auth::None,
            "application/x-www-form-urlencoded",
            "",
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// The default demo's summaries (20 products), for an anonymous reader.
async fn summaries_of(s: &Server) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let (_, body) = s
            .call(Method::GET, "/api/v1/products", &Auth::None, None)
            .await;
        let page: Value = serde_json::from_str(&body).unwrap_or_default();
        if page["matched"].as_u64().is_some_and(|n| n > 0) {
            return page["products"].as_array().cloned().unwrap_or_default();
        }
        assert!(started.elapsed() < Duration::from_secs(60), "{body}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}
