//! Deal scores and restock outlooks over REST, against the running binary
//! whose demo store starts with a year of history: the grid sorts by best
//! deal and filters near the low, one product carries its deal (with the
//! windows it was judged on) and each size's restock outlook, `/metrics`
//! counts the work, and a database opened again is assessed again from its
//! stored history (nothing to write twice). The store's restock rhythm
//! (the demo store's delivery day is Thursday) is in the product, and a
//! deal that changes reaches the live socket.

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
    // The demo store's rhythm: Thursday mornings (UTC).
    let rhythm = &p["store_rhythm"];
    assert_eq!(rhythm["weekday"], "Thu", "{rhythm}");
    assert!(
        rhythm["hour"]
            .as_u64()
            .is_some_and(|h| (8..=11).contains(&h)),
        "{rhythm}"
    );
    assert!(rhythm["said"]
        .as_str()
        .unwrap()
        .starts_with("This store restocks most on Thursdays"));
    // Sold-out sizes' windows name the Thursday inside them, when they hold one.
    let mut likely = vec![];
    for q in &products {
        let key = q["key"].as_str().unwrap().replace(':', "%3A");
        let detail = json(&s, &format!("/api/v1/products/{key}"), &auth).await;
        for size in detail["restock"].as_array().unwrap() {
            let w = &size["window"];
            if let Some(at) = w["likely"].as_str() {
                let at = chrono::DateTime::parse_from_rfc3339(at).unwrap();
                let from =
                    chrono::DateTime::parse_from_rfc3339(w["from"].as_str().unwrap()).unwrap();
                let until =
                    chrono::DateTime::parse_from_rfc3339(w["until"].as_str().unwrap()).unwrap();
                assert!(from <= at && at <= until, "{w}");
                likely.push(chrono::Datelike::weekday(&at));
            }
        }
    }
    assert!(!likely.is_empty(), "no window names a likely moment");
    assert!(
        likely.iter().all(|d| *d == chrono::Weekday::Thu),
        "{likely:?}"
    );
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
    // The drifting demo prices are forecast, though the first sight of
    // each product was assessed before its year was written.
    assert!(value("dropwatch_forecasts_shown") >= 1.0, "{metrics}");
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

/// The next text message on `socket` within 30 s, as JSON.
async fn next_message<S>(socket: &mut S) -> Value
where
    S: futures::Stream<
            Item = Result<
                tokio_tungstenite::tungstenite::Message,
                tokio_tungstenite::tungstenite::Error,
            >,
        > + Unpin,
{
    use futures::StreamExt;
    loop {
        let m = tokio::time::timeout(Duration::from_secs(30), socket.next())
            .await
            .expect("a message within 30 s")
            .expect("the socket stays open")
            .expect("a readable message");
        if let Ok(text) = m.to_text() {
            if !text.is_empty() {
                return serde_json::from_str(text).expect("JSON");
            }
        }
    }
}

/// A price drop's new deal reaches a socket open at the time as a `deal`
/// notice after the event; a socket that catches up on that event later
/// gets the product's current deal right after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_deal_reaches_the_live_socket() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;

    let s = start(&["--admin-password", ADMIN_PASSWORD], &[]);
    let admin = s.admin().await;
    let auth = Auth::Cookie(admin.clone());
    let token = s.token(&admin, "viewer").await;
    let products = best_deals(&s, &auth).await;
    // A product that is no deal today, with a size in stock.
    let (key, variant, lowest) = {
        let mut found = None;
        for p in products
            .iter()
            .rev()
            .filter(|p| p["deal"]["score"].as_u64().is_some_and(|s| s < 60))
        {
            let key = p["key"].as_str().unwrap();
            let detail = json(
                &s,
                &format!("/api/v1/products/{}", key.replace(':', "%3A")),
                &auth,
            )
            .await;
            let in_stock = detail["variants"]
                .as_array()
                .unwrap()
                .iter()
                .find(|v| v["available"] == true && v["price"].is_string());
            if let Some(v) = in_stock {
                let lowest = detail["deal"]["all_time"]["low"]
                    .as_str()
                    .unwrap()
                    .parse::<f64>()
                    .unwrap();
                found = Some((
                    key.to_string(),
                    v["id"].as_str().unwrap().to_string(),
                    lowest,
                ));
                break;
            }
        }
        found.expect("a product that is no deal, with a size in stock")
    };
    let socket_at = |since: u64| {
        let mut req = format!(
            "{}/api/live?since={since}",
            s.base.replace("http://", "ws://")
        )
        .into_client_request()
        .unwrap();
        req.headers_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
        tokio_tungstenite::connect_async(req)
    };
    // From now on.
    let (mut live, _) = socket_at(u64::MAX).await.expect("the socket opens");

    // Half the lowest price it ever had, in any size.
    let price = format!("{:.2}", lowest / 2.0);
    let change =
        serde_json::json!({ "variant_id": variant.parse::<u64>().unwrap(), "price": price });
    let (status, body) = s
        .call(Method::POST, "/demo/control/price", &auth, Some(change))
        .await;
    assert!(status.is_success(), "{body}");

    // The event first, then the deal it made.
    let mut event_seq = None;
    let deal = loop {
        let m = next_message(&mut live).await;
        if m["type"] == "price_changed" && m["product"]["key"] == key.as_str() {
            event_seq = m["seq"].as_u64();
        }
        if m["type"] == "deal" && m["product"] == key.as_str() {
            assert!(event_seq.is_some(), "the deal came before its event: {m}");
            break m["deal"].clone();
        }
    };
    assert!(deal["score"].as_u64().unwrap() >= 90, "{deal}");
    assert_eq!(deal["near_low"], true, "{deal}");
    let now_price = deal["price"].as_str().unwrap().parse::<f64>().unwrap();
    assert!((now_price - lowest / 2.0).abs() < 0.01, "{deal}");
    // What REST says is what the socket said.
    let p = json(
        &s,
        &format!("/api/v1/products/{}", key.replace(':', "%3A")),
        &auth,
    )
    .await;
    assert_eq!(p["deal"]["score"], deal["score"]);

    // Catching up later on that event: the event, then its product's deal now.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let seq = event_seq.unwrap();
    let (mut late, _) = socket_at(seq - 1).await.expect("the socket opens");
    let first = next_message(&mut late).await;
    assert_eq!(first["seq"], seq, "{first}");
    let second = next_message(&mut late).await;
    assert_eq!(second["type"], "deal", "{second}");
    assert_eq!(second["product"], key.as_str());
    assert_eq!(second["deal"]["score"], deal["score"]);
}
