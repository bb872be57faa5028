//! A watched shop turned hostile, against the real `dropwatch` binary: its
//! built-in demo store plays the shop (driven through its control API by an
//! admin), and the server must keep polling, serving its pages, its status
//! and its readiness through every answer.

mod common;

use std::time::Duration;

use common::{start, Auth, Server, ADMIN_PASSWORD};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn get_json(s: &Server, path: &str, auth: &Auth) -> Value {
    let (status, body) = s.call(Method::GET, path, auth, None).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"))
}

/// Waits until the demo source has finished a run started after `since`
/// (its runs are listed newest first); returns that run.
async fn next_run(s: &Server, auth: &Auth, since: Time) -> Value {
    for _ in 0..100 {
        let sources = get_json(s, "/api/v1/sources", auth).await;
        let row = sources
            .as_array()
            .and_then(|a| a.iter().find(|x| x["source"]["key"] == "demo"))
            .cloned();
        let run = row
            .as_ref()
            .and_then(|r| r["runs"].as_array())
            .and_then(|r| r.first())
            .cloned();
        if let Some(run) = run {
            let started: Option<Time> = run["started"].as_str().and_then(|t| t.parse().ok());
            if started.is_some_and(|t| t > since) && !run["finished"].is_null() {
                return run;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("the demo source was not polled again:\n{}", s.printed());
}

type Time = chrono::DateTime<chrono::Utc>;

fn now() -> Time {
    chrono::Utc::now()
}

#[tokio::test]
async fn a_retry_after_of_ten_quintillion_seconds_stops_nothing() {
    let s = start(&["--admin-password", ADMIN_PASSWORD], &[]);
    let admin = Auth::Cookie(s.admin().await);
    let since = now();
    let (status, body) = s
        .call(
            Method::POST,
            "/demo/control/fault",
            &admin,
            Some(json!({ "kind": "429", "retry_after": 10_000_000_000_000_000_000u64 })),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let run = next_run(&s, &admin, since).await;
    assert_eq!(run["error_class"], "rate_limited", "{run}");
    // The status page and readiness still answer, and the wait is an hour at most.
    let hosts = get_json(&s, "/api/v1/hosts", &admin).await;
    let latest = chrono::Utc::now() + chrono::Duration::seconds(3600 + 60);
    for h in hosts.as_array().unwrap() {
        if let Some(until) = h["until"].as_str() {
            let until: chrono::DateTime<chrono::Utc> = until.parse().unwrap();
            assert!(until <= latest, "{h}");
        }
    }
    let (status, body) = s.call(Method::GET, "/readyz", &Auth::None, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = s.call(Method::GET, "/", &admin, None).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_price_of_ten_to_the_twenty_five_is_left_out_and_every_page_still_renders() {
    let s = start(&["--admin-password", ADMIN_PASSWORD], &[]);
    let admin = Auth::Cookie(s.admin().await);
    let state = get_json(&s, "/demo/control/state", &admin).await;
    let variant = state["sample_variants"][0]["variant_id"].as_u64().unwrap();
    // From a cent to 10^25: the move a percentage would overflow on.
    for price in ["0.01", "10000000000000000000000000"] {
        let since = now();
        let (status, body) = s
            .call(
                Method::POST,
                "/demo/control/price",
                &admin,
                Some(json!({ "variant_id": variant, "price": price })),
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
        next_run(&s, &admin, since).await;
    }
    let since = now();
    let run = next_run(&s, &admin, since).await;
    assert!(run["error"].is_null(), "{run}");
    let skipped = run["skipped"].as_array().map(|a| a.len()).unwrap_or(0);
    assert_eq!(skipped, 1, "the product is named in the run: {run}");
    assert!(
        run["skipped"][0]
            .as_str()
            .unwrap()
            .contains("above the largest price"),
        "{run}"
    );
    for path in [
        "/",
        "/?sort=biggest_drop",
        "/api/v1/products?sort=biggest_drop",
        "/api/v1/events?since=0&limit=500",
    ] {
        let (status, body) = s.call(Method::GET, path, &admin, None).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        assert!(
            !body.contains("10000000000000000000000000"),
            "{path} shows the absurd price as a product's"
        );
    }
    // The Sources page names it (that is where the price may be read).
    let (status, body) = s.call(Method::GET, "/sources", &admin, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("left as they were"), "{body}");
}
