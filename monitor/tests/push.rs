//! Web Push to a local push service: the request carries a VAPID JWT that
//! verifies with the key browsers subscribe with, the payload decrypts with
//! the subscription's private key (RFC 8291, so the encryption is right),
//! and a 410 from the push service ends the subscription's channel.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use web_push_native::jwt_simple::prelude::*;
use web_push_native::p256;
use web_push_native::p256::elliptic_curve::sec1::ToEncodedPoint;

use model::Role;
use monitor::alerts::service::{AlertError, AlertService};
use monitor::auth::{KeySource, LoginLimits, Vault};
use monitor::{Accounts, Identity, Store};

type Seen = Arc<Mutex<Vec<(HeaderMap, Vec<u8>)>>>;

async fn push_service() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let app = Router::new()
        .route(
            "/push/{id}",
            post(
                |State(s): State<Seen>, Path(id): Path<String>, h: HeaderMap, body: Bytes| async move {
                    if id == "gone" {
                        return StatusCode::GONE;
                    }
                    s.lock().unwrap().push((h, body.to_vec()));
                    StatusCode::CREATED
                },
            ),
        )
        .with_state(seen.clone());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    (format!("http://{addr}"), seen)
}

/// A browser's side of a subscription: its key pair and auth secret.
struct Browser {
    secret: p256::SecretKey,
    auth: [u8; 16],
}

impl Browser {
    fn new() -> Browser {
        Browser {
            secret: p256::SecretKey::from_slice(&rand::random::<[u8; 32]>()).unwrap(),
            auth: rand::random(),
        }
    }

    /// What `PushSubscription.toJSON()` gives.
    fn subscription(&self, endpoint: &str) -> String {
        serde_json::json!({
            "endpoint": endpoint,
            "expirationTime": null,
            "keys": {
                "p256dh": URL_SAFE_NO_PAD.encode(self.secret.public_key().to_encoded_point(false).as_bytes()),
                "auth": URL_SAFE_NO_PAD.encode(self.auth),
            }
        })
        .to_string()
    }
}

async fn service() -> (Arc<AlertService>, Identity) {
    let store = Arc::new(Store::open("mem://").await.unwrap());
    let vault = Vault::open(&KeySource::Ephemeral, &store).await.unwrap();
    let accounts = Arc::new(Accounts::new(store, vault, LoginLimits::default()));
    accounts
        .ensure_admin("root", "root-password-1")
        .await
        .unwrap();
    accounts
        .create_user(
            &Identity::system("test"),
            "vera",
            Role::Viewer,
            "vera-password",
        )
        .await
        .unwrap();
    let (_, vera) = accounts.login("vera", "vera-password", None).await.unwrap();
    // The fake push service listens on this machine.
    let at = monitor::alerts::Endpoints {
        policy: monitor::outbound::Policy::open(),
        ..Default::default()
    };
    let alerts = AlertService::open(accounts, at, "mailto:ops@example.com")
        .await
        .unwrap();
    (alerts, vera)
}

#[tokio::test]
async fn a_push_decrypts_with_the_subscription_key_and_carries_a_valid_vapid_jwt() {
    let (base, seen) = push_service().await;
    let (alerts, vera) = service().await;
    let browser = Browser::new();
    // A viewer may register their own device...
    let ch = alerts
        .add_push_subscription(
            &vera,
            "Vera's phone",
            &browser.subscription(&format!("{base}/push/abc")),
        )
        .await
        .unwrap();
    assert_eq!(ch.kind, "webpush");
    assert_eq!(ch.owner, "vera");
    assert!(!ch.redacted.contains("/push/abc"), "{}", ch.redacted);
    // ...the same subscription twice is one channel...
    let again = alerts
        .add_push_subscription(
            &vera,
            "Vera's phone",
            &browser.subscription(&format!("{base}/push/abc")),
        )
        .await
        .unwrap();
    assert_eq!(again.id, ch.id);
    // ...but "Send test" is for editors.
    assert!(matches!(
        alerts.send_test(&vera, &ch.id).await,
        Err(AlertError::Auth(_))
    ));
    assert_eq!(alerts.channels().len(), 1);
    let root = Identity::system("test");
    alerts.send_test(&root, &ch.id).await.unwrap();

    let (headers, body) = seen.lock().unwrap().remove(0);
    assert_eq!(headers["content-encoding"], "aes128gcm");
    assert!(headers["ttl"].to_str().unwrap().parse::<u64>().unwrap() > 0);
    assert_eq!(headers["urgency"], "high");
    // Authorization: vapid t=<ES256 JWT>, k=<our public key>
    let auth = headers["authorization"].to_str().unwrap();
    let rest = auth.strip_prefix("vapid t=").expect(auth);
    let (jwt, k) = rest.split_once(", k=").expect(auth);
    assert_eq!(
        k,
        alerts.vapid_public_key(),
        "k is the key browsers subscribed with"
    );
    let key = ES256PublicKey::from_bytes(&URL_SAFE_NO_PAD.decode(k).unwrap()).unwrap();
    let claims = key
        .verify_token::<NoCustomClaims>(jwt, None)
        .expect("the JWT verifies");
    assert_eq!(claims.subject.as_deref(), Some("mailto:ops@example.com"));
    assert!(claims
        .audiences
        .unwrap()
        .contains(&std::collections::HashSet::from([
            "http://127.0.0.1".to_string()
        ])));
    // The payload opens with the browser's private key and auth secret.
    let plain = web_push_native::decrypt(
        body,
        &browser.secret,
        web_push_native::Auth::from_slice(&browser.auth),
    )
    .expect("decrypts with the subscription's key");
    let msg: serde_json::Value = serde_json::from_slice(&plain).unwrap();
    assert_eq!(msg["title"], "Dropwatch test notification");
    assert!(
        msg["body"].as_str().unwrap().contains("Vera's phone"),
        "{msg}"
    );
}

#[tokio::test]
async fn a_gone_subscription_removes_its_channel() {
    let (base, _seen) = push_service().await;
    let (alerts, vera) = service().await;
    let ch = alerts
        .add_push_subscription(
            &vera,
            "old laptop",
            &Browser::new().subscription(&format!("{base}/push/gone")),
        )
        .await
        .unwrap();
    let err = alerts
        .send_test(&Identity::system("test"), &ch.id)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("410") && err.contains("removed"), "{err}");
    assert!(alerts.channels().is_empty());
    // Bad subscriptions are refused with words.
    let err = alerts
        .add_push_subscription(
            &vera,
            "x",
            r#"{"endpoint":"https://push.example/1","keys":{}}"#,
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("p256dh"), "{err}");
}
