//! Deal scores and restock outlooks over REST, against the running binary
//! whose demo store starts with a year of history: the grid sorts by best
//! deal and filters near the low, one product carries its deal (with the
//! windows it was judged on) and each size's restock outlook, `/metrics`
//! counts the work, and a database opened again is assessed again from its
//! stored history (nothing to write twice).

mod common;

use std::time::{Duration, Instant};

use common::{start, Auth, Server, ADMIN_PASSWORD};
use reqwest::{Method, StatusCode};
use serde_json::Value;

async fn json(s: &Server, path: &str, auth: &Auth) -> Value {
    let (status, body) = s.call(Method::GET, path, auth, None).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    serde_json::from_str(&body).unwrap()
}

/// The grid sorted by best deal, once the demo's history has been assessed.
async fn best_deals(s: &Server, auth: &Auth) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let page = json(s, "/api/v1/products?sort=best_deal", auth).await;
        let products = page["products"].as_array().cloned().unwrap_or_default();
        // Every product assessed on its year (none still "New"), the best a real deal.
        let assessed = products.iter().all(|p| {
            p["deal"]["label"]
                .as_str()
                .is_some_and(|l| !l.starts_with("New"))
        });
        if assessed
            && products
                .first()
                .is_some_and(|p| p["deal"]["score"].as_u64().is_some_and(|s| s >= 70))
        {
            return products;
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "no deal scores after 90 s: {page}\n{}",
            s.printed()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn scores(products: &[Value]) -> Vec<i64> {
    products
        .iter()
        .map(|p| p["deal"]["score"].as_i64().unwrap_or(-1))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn products_carry_their_deal_and_restock_outlook() {
    let s = start(&["--admin-password", ADMIN_PASSWORD], &[]);
    let auth = Auth::Cookie(s.admin().await);
    let products = best_deals(&s, &auth).await;
    let sorted = scores(&products);
    assert!(sorted.windows(2).all(|w| w[0] >= w[1]), "{sorted:?}");

    // One product: its deal with the windows it was judged on, and every size's outlook.
    let key = products[0]["key"].as_str().unwrap();
    let p = json(
        &s,
        &format!("/api/v1/products/{}", key.replace(':', "%3A")),
        &auth,
    )
    .await;
    assert_eq!(
        p["key"], key,
        "the product's own fields are still at the top"
    );
    let deal = &p["deal"];
    assert!(deal["score"].as_u64().unwrap() >= 70, "{deal}");
    assert!(deal["history_days"].as_u64().unwrap() >= 364, "{deal}");
    let windows: Vec<u64> = deal["windows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["days"].as_u64().unwrap())
        .collect();
    assert_eq!(windows, [30, 90, 365]);
    assert!(deal["reason"]
        .as_str()
        .unwrap()
        .contains("USD now. Over 90 days it cost"));
    let restock = p["restock"].as_array().unwrap();
    assert_eq!(restock.len(), p["variants"].as_array().unwrap().len());
    for size in restock {
        let sold_out = size["available"] == false;
        // A sold-out size has a window or says why not; one in stock has neither.
        assert_eq!(
            sold_out,
            !size["window"].is_null() || !size["note"].is_null(),
            "{size}"
        );
    }

    // Near the low: only those.
    let near = json(&s, "/api/v1/products?near_low=1", &auth).await;
    let near = near["products"].as_array().unwrap();
    assert!(!near.is_empty());
    assert!(near.iter().all(|p| p["deal"]["near_low"] == true));

    // The work is counted.
    let (status, metrics) = s.call(Method::GET, "/metrics", &auth, None).await;
    assert_eq!(status, StatusCode::OK);
    let value = |name: &str| {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    assert!(value("dropwatch_deals_scored") >= 10.0, "{metrics}");
    assert!(value("dropwatch_insight_full_passes_total") >= 1.0);
    assert!(value("dropwatch_insight_assessments_total") >= 20.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reopened_database_is_assessed_again_from_its_history() {
    let dir = std::env::temp_dir().join(format!("dropwatch-insight-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let db = format!("surrealkv://{}", dir.join("db").display());
    let args = ["--admin-password", ADMIN_PASSWORD, "--db", db.as_str()];
    let first = {
        let s = start(&args, &[]);
        let auth = Auth::Cookie(s.admin().await);
        scores(&best_deals(&s, &auth).await)
    };
    // Started again on the same database: the history is not written twice
    // (the demo source exists), and the scores come back from what is stored.
    let s = start(&args, &[]);
    let auth = Auth::Cookie(s.admin().await);
    let again = scores(&best_deals(&s, &auth).await);
    assert!(!s
        .printed()
        .contains("wrote a year of the demo store's history"));
    // The same history gives the same scores (a few seconds later: within a point).
    assert_eq!(first.len(), again.len());
    assert!(
        first.iter().zip(&again).all(|(a, b)| (a - b).abs() <= 1),
        "{first:?} / {again:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
