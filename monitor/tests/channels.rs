//! Each HTTP channel against a local fake of its service that records the
//! exact request and answers as the real one does (success, 429 with the
//! service's own retry hint, permanent failures, 5xx).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
use axum::Router;
use chrono::Utc;
use serde_json::{json, Value};

use model::{Event, EventKind, EventVariant, ProductSummary};
use monitor::alerts::channel::{Channel, Endpoints};
use monitor::alerts::send::{send, Message, SendError};
use monitor::outbound::{Outbound, Policy};

/// A notification client that may reach the local fakes.
fn http() -> Outbound {
    Outbound::new(Policy::open(), |b| b)
}

#[derive(Clone, Default)]
struct Fake {
    /// (path, headers, body) of every request.
    seen: Arc<Mutex<Vec<(String, HeaderMap, Bytes)>>>,
    /// The answers to give, in order (then 204).
    script: Arc<Mutex<Vec<(u16, Vec<(&'static str, String)>, String)>>>,
}

async fn record(
    State(f): State<Fake>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    f.seen
        .lock()
        .unwrap()
        .push((uri.to_string(), headers, body));
    let next = {
        let mut s = f.script.lock().unwrap();
        (!s.is_empty()).then(|| s.remove(0))
    };
    match next {
        None => StatusCode::NO_CONTENT.into_response(),
        Some((status, headers, body)) => {
            let mut r = (StatusCode::from_u16(status).unwrap(), body).into_response();
            for (k, v) in headers {
                r.headers_mut().insert(k, v.parse().unwrap());
            }
            r
        }
    }
}

async fn fake() -> (Fake, Endpoints) {
    let f = Fake::default();
    let app = Router::new().fallback(record).with_state(f.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let base = |p: &str| url::Url::parse(&format!("http://{addr}/{p}")).unwrap();
    (
        f,
        Endpoints {
            discord: base("api/webhooks/"),
            slack: base("services/"),
            telegram: base(""),
            ntfy: base(""),
            // The fakes listen on this machine.
            policy: Policy::open(),
            ..Endpoints::default()
        },
    )
}

fn price_drop() -> Message {
    let product = ProductSummary {
        key: "demo:1".into(),
        source: "demo".into(),
        title: "Dunk Low 'Panda'".into(),
        brand: "Nike".into(),
        product_type: "Sneakers".into(),
        url: "http://shop.example/products/dunk".into(),
        image: Some("http://shop.example/dunk.svg".into()),
        currency: "USD".into(),
        min_price: "99.00".parse().ok(),
        max_price: "119.00".parse().ok(),
        compare_at: None,
        sizes_in_stock: vec!["9".into(), "9.5".into()],
        variant_count: 10,
        removed: false,
        updated: Utc::now(),
        change: None,
        spread: None,
        deal: None,
    };
    Message::from_event(&Event {
        seq: 7,
        kind: EventKind::PriceChanged,
        at: Utc::now(),
        source: "demo".into(),
        product: Some(product),
        variant: Some(EventVariant {
            id: "11".into(),
            size: "9.5".into(),
            price: "99.00".parse().ok(),
            available: true,
            cart_url: None,
        }),
        old_price: Some("110.00".parse().unwrap()),
        new_price: Some("99.00".parse().unwrap()),
        reason: None,
    })
}

#[tokio::test]
async fn each_channel_posts_its_own_wire_format() {
    let (f, at) = fake().await;
    let http = http();
    let m = price_drop();
    assert_eq!(m.title, "Price drop: Dunk Low 'Panda' size 9.5");
    assert_eq!(m.body, "110.00 -> 99.00 USD (-10.0%)");
    for raw in [
        "discord://111/tok-discord-secret",
        "slack://T1/B2/slack-secret",
        "tgram://123:bot-secret/-1009",
        "ntfy://drops-topic",
        &format!(
            "json://{}/hook/path",
            at.ntfy.host_str().unwrap().to_string() + ":" + &at.ntfy.port().unwrap().to_string()
        ),
    ] {
        let c = Channel::parse(raw).unwrap();
        send(&http, &at, &c, &m)
            .await
            .unwrap_or_else(|e| panic!("{raw}: {e}"));
    }
    let seen = f.seen.lock().unwrap().clone();
    let body = |i: usize| serde_json::from_slice::<Value>(&seen[i].2).unwrap_or(Value::Null);
    // Discord: an embed with title, link, colour, thumbnail, sizes, timestamp.
    assert_eq!(seen[0].0, "/api/webhooks/111/tok-discord-secret");
    let embed = &body(0)["embeds"][0];
    assert_eq!(embed["title"], "Price drop: Dunk Low 'Panda' size 9.5");
    assert_eq!(embed["url"], "http://shop.example/products/dunk");
    assert_eq!(embed["thumbnail"]["url"], "http://shop.example/dunk.svg");
    assert_eq!(
        embed["fields"][0],
        json!({ "name": "In stock", "value": "9, 9.5", "inline": false })
    );
    assert_eq!(embed["color"], 0x15803d);
    assert!(embed["timestamp"].as_str().unwrap().ends_with("+00:00"));
    assert_eq!(seen[0].1["content-type"], "application/json");
    // Slack: text.
    assert_eq!(seen[1].0, "/services/T1/B2/slack-secret");
    assert!(body(1)["text"]
        .as_str()
        .unwrap()
        .starts_with("Price drop: Dunk Low 'Panda' size 9.5\n110.00 -> 99.00 USD"));
    // Telegram: sendMessage with chat_id and text.
    assert_eq!(seen[2].0, "/bot123:bot-secret/sendMessage");
    assert_eq!(body(2)["chat_id"], "-1009");
    assert!(body(2)["text"]
        .as_str()
        .unwrap()
        .contains("In stock: 9, 9.5"));
    // ntfy: the message as the body, the rest in headers.
    assert_eq!(seen[3].0, "/drops-topic");
    assert_eq!(&seen[3].2[..], b"110.00 -> 99.00 USD (-10.0%)");
    assert_eq!(seen[3].1["title"], "Price drop: Dunk Low 'Panda' size 9.5");
    assert_eq!(seen[3].1["click"], "http://shop.example/products/dunk");
    assert_eq!(seen[3].1["priority"], "4");
    // Generic JSON webhook: the documented payload.
    assert_eq!(seen[4].0, "/hook/path");
    assert_eq!(body(4)["title"], "Price drop: Dunk Low 'Panda' size 9.5");
    assert_eq!(body(4)["sizes_in_stock"], json!(["9", "9.5"]));
}

#[tokio::test]
async fn rate_limits_use_each_services_hint_and_failures_are_sorted() {
    let (f, at) = fake().await;
    let http = Outbound::new(Policy::open(), |b| b.timeout(Duration::from_secs(2)));
    let m = price_drop();
    let discord = Channel::parse("discord://111/tok").unwrap();
    let telegram = Channel::parse("tgram://123:abc/55").unwrap();
    let slack = Channel::parse("slack://T/B/X").unwrap();
    f.script.lock().unwrap().extend([
        (429, vec![], r#"{"message":"You are being rate limited.","retry_after":1.5,"global":false}"#.to_string()),
        (429, vec![], r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 34","parameters":{"retry_after":34}}"#.to_string()),
        (429, vec![("retry-after", "7".to_string())], "rate limited".to_string()),
        (401, vec![], r#"{"ok":false,"error_code":401,"description":"Unauthorized"}"#.to_string()),
        (404, vec![], r#"{"message": "Unknown Webhook", "code": 10015}"#.to_string()),
        (503, vec![], "upstream down".to_string()),
    ]);
    assert_eq!(
        send(&http, &at, &discord, &m).await,
        Err(SendError::RetryAfter(Duration::from_millis(1500)))
    );
    assert_eq!(
        send(&http, &at, &telegram, &m).await,
        Err(SendError::RetryAfter(Duration::from_secs(34)))
    );
    assert_eq!(
        send(&http, &at, &slack, &m).await,
        Err(SendError::RetryAfter(Duration::from_secs(7)))
    );
    match send(&http, &at, &telegram, &m).await {
        Err(SendError::Permanent(w)) => {
            assert!(w.contains("401") && w.contains("Unauthorized"), "{w}")
        }
        other => panic!("{other:?}"),
    }
    match send(&http, &at, &discord, &m).await {
        Err(SendError::Permanent(w)) => {
            assert!(w.contains("Unknown Webhook") && !w.contains("tok"), "{w}")
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        send(&http, &at, &slack, &m).await,
        Err(SendError::Transient(_))
    ));
    // Nobody listening: transient, and the error does not carry the webhook URL.
    let mut gone = at.clone();
    gone.discord = url::Url::parse("http://127.0.0.1:9/api/webhooks/").unwrap();
    match send(
        &http,
        &gone,
        &Channel::parse("discord://1/secret-token-xyz").unwrap(),
        &m,
    )
    .await
    {
        Err(SendError::Transient(w)) => assert!(!w.contains("secret-token-xyz"), "{w}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn nobody_answering_is_retried_and_the_words_never_hold_the_token() {
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let at = Endpoints {
        discord: url::Url::parse(&format!("http://{closed}/api/webhooks/")).unwrap(),
        policy: Policy::open(),
        ..Endpoints::default()
    };
    let c = Channel::parse("discord://42/very-secret-webhook-token").unwrap();
    match send(&http(), &at, &c, &price_drop()).await {
        Err(SendError::Transient(words)) => {
            assert!(words.starts_with("discord did not answer"), "{words}");
            assert!(
                words.to_lowercase().contains("connect"),
                "says why: {words}"
            );
            assert!(!words.contains("very-secret-webhook-token"), "{words}");
        }
        other => panic!("{other:?}"),
    }
}
