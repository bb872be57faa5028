//! A price change in the demo store reaches a (fake) Discord webhook: poll ->
//! event -> rule -> queued delivery -> sent, and how long that takes.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Router;
use chrono::Utc;
use serde_json::{json, Value};

use common::Harness;
use model::{Condition, Rule, Scope};
use monitor::alerts::channel::{Channel, Endpoints};
use monitor::alerts::service::AlertService;

type Seen = Arc<Mutex<Vec<(chrono::DateTime<Utc>, Value)>>>;

async fn fake_discord() -> (Seen, Endpoints) {
    let seen: Seen = Arc::default();
    let app = Router::new()
        .fallback(|State(s): State<Seen>, body: Bytes| async move {
            s.lock().unwrap().push((
                Utc::now(),
                serde_json::from_slice(&body).unwrap_or(Value::Null),
            ));
            StatusCode::NO_CONTENT
        })
        .with_state(seen.clone());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    let mut at = Endpoints::default();
    at.discord = url::Url::parse(&format!("http://{addr}/api/webhooks/")).unwrap();
    (seen, at)
}

#[tokio::test]
async fn a_price_drop_reaches_discord_within_a_second_once() {
    let h = Harness::new(40).await;
    h.check().await;
    let (seen, at) = fake_discord().await;
    let alerts = AlertService::new(at);
    alerts
        .channels
        .write()
        .unwrap()
        .insert("d".into(), Channel::parse("discord://1/token").unwrap());
    let (pid, variant, _) = h.variant(5, 1);
    let key = format!("{}:{pid}", h.engine.sources()[0].key);
    alerts.rules.write().unwrap().push(Rule {
        id: "watch".into(),
        name: "this one cheaper".into(),
        scope: Scope {
            product: Some(key.clone()),
            ..Scope::default()
        },
        condition: Condition::DropPercent { percent: 5.into() },
        channels: vec!["d".into()],
        cooldown_secs: 0,
        paused: false,
        created: Utc::now(),
    });
    alerts.start(h.engine.clone());
    tokio::time::sleep(Duration::from_millis(100)).await;

    let old = h.engine.product(&key).unwrap().variants[1].price;
    let new = (old * rust_decimal::Decimal::new(80, 2)).round_dp(2);
    assert_eq!(
        h.control(
            "price",
            json!({ "variant_id": variant, "price": new.to_string() })
        )
        .await,
        204
    );
    let before = h.engine.store().last_seq();
    h.check().await;
    let event = h
        .engine
        .store()
        .events_since(before, 10)
        .await
        .unwrap()
        .remove(0);
    let mut waited = Duration::ZERO;
    while seen.lock().unwrap().is_empty() && waited < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(10)).await;
        waited += Duration::from_millis(10);
    }
    let got = seen.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "one notification");
    // From the moment the change was detected (before it was stored).
    let latency = (got[0].0 - event.at).to_std().unwrap();
    println!("change detected -> Discord received: {latency:?}");
    assert!(latency < Duration::from_secs(1), "{latency:?}");
    let embed = &got[0].1["embeds"][0];
    assert!(
        embed["title"].as_str().unwrap().starts_with("Price drop:"),
        "{embed}"
    );
    assert!(
        embed["description"]
            .as_str()
            .unwrap()
            .contains(&format!("{old} -> {new}")),
        "{embed}"
    );
    // Another poll without change sends nothing more.
    h.check().await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(seen.lock().unwrap().len(), 1);
    let log = h.engine.store().deliveries(10).await.unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].state, "sent");
}
