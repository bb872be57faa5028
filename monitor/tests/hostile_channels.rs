//! Attacks by a notification service, or through a channel's address: a
//! 429 whose wait is nonsense, and addresses on private networks. The
//! sender must keep sending, and never be turned against the machine.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::Utc;
use common::Harness;
use model::{Condition, Rule, Scope};
use monitor::alerts::channel::{Channel, Endpoints};
use monitor::alerts::send::{send, Message, SendError};
use monitor::alerts::service::AlertService;
use monitor::outbound::{Outbound, Policy};
use monitor::Identity;

/// A Discord webhook that answers each request with the next scripted
/// (status, Retry-After header, body), then 204; and what it received.
async fn hostile_discord(
    script: Vec<(u16, Option<&'static str>, &'static str)>,
) -> (Arc<Mutex<u32>>, Endpoints) {
    let script = Arc::new(Mutex::new(script));
    let hits = Arc::new(Mutex::new(0u32));
    let (s2, h2) = (script.clone(), hits.clone());
    let app = axum::Router::new().fallback(move || {
        let (script, hits) = (s2.clone(), h2.clone());
        async move {
            *hits.lock().unwrap() += 1;
            let next = {
                let mut s = script.lock().unwrap();
                (!s.is_empty()).then(|| s.remove(0))
            };
            match next {
                None => StatusCode::NO_CONTENT.into_response(),
                Some((status, header, body)) => {
                    let mut r = (StatusCode::from_u16(status).unwrap(), body).into_response();
                    if let Some(h) = header {
                        r.headers_mut().insert("retry-after", h.parse().unwrap());
                    }
                    r
                }
            }
        }
    });
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    let at = Endpoints {
        discord: url::Url::parse(&format!("http://{addr}/api/webhooks/")).unwrap(),
        ..Endpoints::default()
    };
    (hits, at)
}

fn message() -> Message {
    Message {
        title: "Price drop: Dunk".into(),
        body: "120 -> 100 USD".into(),
        url: None,
        image: None,
        good_news: true,
        sizes_in_stock: vec![],
        at: Utc::now(),
    }
}

#[tokio::test]
async fn a_nonsense_retry_after_from_a_channel_is_bounded() {
    let cases: Vec<(Option<&'static str>, &'static str)> = vec![
        (Some("1e20"), "{}"),
        (Some("-1"), "{}"),
        (Some("NaN"), "{}"),
        (
            None,
            r#"{"message":"You are being rate limited.","retry_after":-1,"global":false}"#,
        ),
        (None, r#"{"retry_after":1e300}"#),
        (
            None,
            r#"{"ok":false,"error_code":429,"parameters":{"retry_after":18446744073709551615}}"#,
        ),
    ];
    let http = Outbound::new(Policy::open(), |b| b);
    for (header, body) in cases {
        let (_, mut at) = hostile_discord(vec![(429, header, body)]).await;
        at.policy = Policy::open();
        let discord = Channel::parse("discord://1/token-abcdefgh").unwrap();
        match send(&http, &at, &discord, &message()).await {
            Err(SendError::RetryAfter(wait)) => assert!(
                wait <= Duration::from_secs(3600),
                "{header:?} {body}: {wait:?}"
            ),
            other => panic!("{header:?} {body}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn the_sender_keeps_sending_after_a_hostile_429() {
    let h = Harness::new(10).await;
    h.check().await;
    let (hits, at) = hostile_discord(vec![(
        429,
        Some("10000000000000000000"),
        r#"{"retry_after":1e300}"#,
    )])
    .await;
    let (alerts, root) = common::alert_service(&h, at).await;
    let d = alerts
        .add_channel(&root, "discord", "discord://1/token-abcdefgh")
        .await
        .unwrap();
    let rule = Rule {
        id: String::new(),
        name: "any drop or restock".into(),
        scope: Scope::default(),
        condition: Condition::DropOrRestock,
        channels: vec![d.id.clone()],
        cooldown_secs: 0,
        paused: false,
        created: Utc::now(),
        owner: None,
    };
    alerts.save_rule(&root, rule).await.unwrap();
    alerts.start(h.engine.clone());
    // Two drops, one after the other: the first notification is answered
    // with the hostile 429, the second must still go out.
    for i in 0..2 {
        let vid = h.variant(i, 0).1;
        h.control(
            "price",
            serde_json::json!({ "variant_id": vid, "price": "1.00" }),
        )
        .await;
        h.check().await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let mut waited = Duration::ZERO;
    while *hits.lock().unwrap() < 2 && waited < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += Duration::from_millis(50);
    }
    assert!(
        *hits.lock().unwrap() >= 2,
        "the sender stopped after the hostile answer"
    );
    let log = alerts.log(&root, 10).await.unwrap();
    let retried = log
        .iter()
        .find(|l| l.state == "pending")
        .expect("the rate-limited one waits");
    assert!(
        retried.next_at <= (Utc::now() + chrono::Duration::seconds(3600 + 60)).timestamp_millis(),
        "{retried:?}"
    );
    assert!(log.iter().any(|l| l.state == "sent"), "{log:?}");
    assert_eq!(
        h.engine.restarts().get("alert_sender"),
        0,
        "nothing had to be restarted"
    );
    alerts.stop().await;
}

async fn strict_service(h: &Harness) -> (Arc<AlertService>, Identity) {
    // The server's default: private networks refused.
    let at = Endpoints {
        policy: Policy::strict(),
        ..Endpoints::default()
    };
    common::alert_service(h, at).await
}

#[tokio::test]
async fn channels_and_push_endpoints_on_private_networks_are_refused() {
    let h = Harness::new(1).await;
    let (alerts, root) = strict_service(&h).await;
    for address in [
        "json://127.0.0.1:9/hook",
        "json://169.254.169.254/latest/meta-data/",
        "jsons://[::ffff:127.0.0.1]/x",
        "json://2130706433/x",
        "ntfy://localhost/topic",
        "ntfys://10.0.0.5/topic",
        "mailto://me:pw@127.0.0.1:25?to=a@example.com",
        "mailto://me:pw@localhost?to=a@example.com",
    ] {
        match alerts.add_channel(&root, "x", address).await {
            Err(monitor::alerts::AlertError::Invalid { field, message }) => {
                assert_eq!(field, "url", "{address}");
                assert!(
                    message.starts_with("refused:") && message.contains("--allow-private-networks"),
                    "{address}: {message}"
                );
            }
            other => panic!("{address}: {other:?}"),
        }
    }
    assert!(alerts.channels().is_empty());
    // A push "subscription" pointing at this machine, from any signed-in user.
    let sub = r#"{"endpoint":"http://127.0.0.1:3000/api/v1/users","keys":{"p256dh":"BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM","auth":"tBHItJI5svbpez7KI4CCXg"}}"#;
    match alerts.add_push_subscription(&root, "laptop", sub).await {
        Err(monitor::alerts::AlertError::Invalid { message, .. }) => {
            assert!(message.contains("loopback"), "{message}")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_rule_with_an_absurd_price_is_refused_before_it_is_kept() {
    let h = Harness::new(1).await;
    let (alerts, root) = strict_service(&h).await;
    let d = alerts
        .add_channel(&root, "discord", "discord://1/token-abcdefgh")
        .await
        .unwrap();
    for (condition, field) in [
        (
            Condition::PriceAtOrBelow {
                price: "100000000000000000000".parse().unwrap(),
            },
            "price",
        ),
        (
            Condition::PriceAtOrBelow {
                price: "0.000001".parse().unwrap(),
            },
            "price",
        ),
        (
            Condition::DropAmount {
                amount: "100000000000000000000".parse().unwrap(),
            },
            "amount",
        ),
    ] {
        let rule = Rule {
            id: String::new(),
            name: "absurd".into(),
            scope: Scope::default(),
            condition,
            channels: vec![d.id.clone()],
            cooldown_secs: 0,
            paused: false,
            created: Utc::now(),
            owner: None,
        };
        match alerts.save_rule(&root, rule).await {
            Err(monitor::alerts::AlertError::Invalid { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{other:?}"),
        }
    }
    assert!(alerts.rules().is_empty());
}
