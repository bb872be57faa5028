//! A price change in the demo store reaches a (fake) Discord webhook: poll ->
//! event -> rule -> queued delivery -> sent, and how long that takes.

mod common;

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use common::Harness;
use model::{Condition, Role, Rule, Scope};
use monitor::alerts::channel::Endpoints;
use monitor::alerts::service::AlertService;
use monitor::auth::{KeySource, LoginLimits, Vault};
use monitor::{Accounts, Identity};

async fn service(h: &Harness, at: Endpoints) -> (Arc<AlertService>, Identity) {
    common::alert_service(h, at).await
}

#[tokio::test]
async fn a_price_drop_reaches_discord_within_a_second_once() {
    let h = Harness::new(40).await;
    h.check().await;
    let (seen, at) = common::fake_discord(Duration::ZERO).await;
    let (alerts, who) = service(&h, at).await;
    let d = alerts
        .add_channel(&who, "my discord", "discord://1/token-abcdefgh")
        .await
        .unwrap();
    let (pid, variant, _) = h.variant(5, 1);
    let key = format!("{}:{pid}", h.engine.sources()[0].key);
    alerts
        .save_rule(
            &who,
            common::rule(
                "this one cheaper",
                Scope {
                    product: Some(key.clone()),
                    ..Scope::default()
                },
                Condition::DropPercent { percent: 5.into() },
                vec![d.id.clone()],
            ),
        )
        .await
        .unwrap();
    alerts.start(h.engine.clone());
    tokio::time::sleep(Duration::from_millis(100)).await;

    let old = h.engine.product(&key).unwrap().variants[1].price.unwrap();
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
    // (How fast: `cargo bench -p monitor --bench alert_latency`.)
    assert!(got[0].0 >= event.at);
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
    let log = alerts.log(&who, 10).await.unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].state, "sent");
    assert_eq!(log[0].channel, d.id);
}

/// The alert service on a SurrealKV file, with its key in a file beside it
/// (so a second start opens the sealed channels).
async fn service_on(h: &Harness, dir: &std::path::Path, at: Endpoints) -> Arc<AlertService> {
    let store = h.engine.store().clone();
    let vault = Vault::open(&KeySource::File(dir.join("secret.key")), &store)
        .await
        .unwrap();
    let accounts = Arc::new(Accounts::new(store, vault, LoginLimits::default()));
    AlertService::open(accounts, at, "mailto:ops@example.com")
        .await
        .unwrap()
}

#[tokio::test]
async fn a_restart_in_the_middle_of_a_burst_of_100_alerts_delivers_each_exactly_once() {
    let dir = std::env::temp_dir().join(format!("dropwatch-alert-burst-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = format!("surrealkv://{}", dir.join("db").display());
    let (seen, at) = common::fake_discord(Duration::from_millis(20)).await;

    let h = Harness::with(100, &db, common::quick_config()).await;
    h.check().await;
    let alerts = service_on(&h, &dir, at.clone()).await;
    let who = Identity::system("test");
    let d = alerts
        .add_channel(&who, "discord", "discord://1/burst-token-123456")
        .await
        .unwrap();
    alerts
        .save_rule(
            &who,
            common::rule(
                "every drop",
                Scope::default(),
                Condition::DropOrRestock,
                vec![d.id],
            ),
        )
        .await
        .unwrap();
    alerts.start(h.engine.clone());
    // 100 sizes of 100 products get cheaper; one poll sees them all.
    for i in 0..100 {
        let (pid, variant, _) = h.variant(i, 0);
        let key = format!("{}:{pid}", h.source.key);
        let old = h.engine.product(&key).unwrap().variants[0].price.unwrap();
        let new = (old * rust_decimal::Decimal::new(90, 2)).round_dp(2);
        h.control(
            "price",
            json!({ "variant_id": variant, "price": new.to_string() }),
        )
        .await;
    }
    h.check().await;
    // Stop (as on SIGTERM) once some have gone out.
    let mut waited = 0;
    while seen.lock().unwrap().len() < 25 && waited < 10_000 {
        tokio::time::sleep(Duration::from_millis(5)).await;
        waited += 5;
    }
    alerts.stop().await;
    let before_restart = seen.lock().unwrap().len();
    assert!(
        (25..100).contains(&before_restart),
        "stopped mid-burst: {before_restart}"
    );
    let (demo, addr) = (h.demo.clone(), h.addr);
    h.engine.stop();
    drop(alerts);
    drop(h);
    tokio::time::sleep(Duration::from_millis(500)).await;

    let h = Harness::attach(demo, addr, &db, common::quick_config()).await;
    let alerts = service_on(&h, &dir, at).await;
    assert_eq!(alerts.channels().len(), 1, "the sealed channel opens again");
    assert_eq!(alerts.rules().len(), 1);
    alerts.start(h.engine.clone());
    let mut waited = 0;
    while seen.lock().unwrap().len() < 100 && waited < 20_000 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        waited += 20;
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    let got: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        // The product's address and the title (which names the size).
        .map(|(_, v)| format!("{} {}", v["embeds"][0]["url"], v["embeds"][0]["title"]))
        .collect();
    assert_eq!(got.len(), 100, "all delivered, none twice");
    let unique: std::collections::HashSet<_> = got.iter().collect();
    assert_eq!(unique.len(), 100, "100 different alerts");
    let log = alerts.log(&who, 500).await.unwrap();
    assert_eq!(log.iter().filter(|d| d.state == "sent").count(), 100);
    alerts.stop().await;
    h.engine.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn channels_are_sealed_at_rest_and_changes_need_an_editor_and_are_audited() {
    let dir = std::env::temp_dir().join(format!("dropwatch-alert-seal-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = format!("surrealkv://{}", dir.join("db").display());
    let h = Harness::with(5, &db, common::quick_config()).await;
    let store = h.engine.store().clone();
    let vault = Vault::open(&KeySource::File(dir.join("secret.key")), &store)
        .await
        .unwrap();
    let accounts = Arc::new(Accounts::new(store, vault, LoginLimits::default()));
    accounts
        .ensure_admin("root", "root-password-1")
        .await
        .unwrap();
    let (_, root) = accounts
        .login("root", "root-password-1", None)
        .await
        .unwrap();
    accounts
        .create_user(&root, "vera", Role::Viewer, "vera-password")
        .await
        .unwrap();
    let (_, vera) = accounts.login("vera", "vera-password", None).await.unwrap();
    let alerts = AlertService::open(
        accounts.clone(),
        Endpoints::default(),
        "mailto:x@example.com",
    )
    .await
    .unwrap();
    let secret = "SuperSecretWebhookToken42";
    assert!(matches!(
        alerts
            .add_channel(&vera, "x", &format!("discord://1/{secret}"))
            .await,
        Err(monitor::alerts::AlertError::Auth(_))
    ));
    let c = alerts
        .add_channel(&root, "team", &format!("discord://1/{secret}"))
        .await
        .unwrap();
    assert_eq!(c.redacted, "discord://1/****en42");
    // A mistake says what is wrong with which field.
    match alerts.add_channel(&root, "bad", "discord://only-id").await {
        Err(monitor::alerts::AlertError::Invalid { field, message }) => {
            assert_eq!(field, "url");
            assert!(message.contains("webhook id and token"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let rule = |channels: Vec<String>| Rule {
        cooldown_secs: 600,
        ..common::rule(
            "",
            Scope {
                brand: Some("Nike".into()),
                ..Scope::default()
            },
            Condition::PriceAtOrBelow { price: 100.into() },
            channels,
        )
    };
    assert!(matches!(
        alerts.save_rule(&vera, rule(vec![c.id.clone()])).await,
        Err(monitor::alerts::AlertError::Auth(_))
    ));
    assert!(matches!(
        alerts.save_rule(&root, rule(vec![])).await,
        Err(monitor::alerts::AlertError::Invalid {
            field: "channels",
            ..
        })
    ));
    let r = alerts
        .save_rule(&root, rule(vec![c.id.clone()]))
        .await
        .unwrap();
    assert_eq!(
        r.name, "brand Nike: price at or below 100",
        "a name from scope and condition"
    );
    assert!(alerts.set_rule_paused(&vera, &r.id, true).await.is_err());
    alerts.set_rule_paused(&root, &r.id, true).await.unwrap();
    assert!(alerts.rules()[0].paused);
    let audit = accounts.audit_log(&root, None, 100).await.unwrap();
    let actions: Vec<&str> = audit.iter().map(|a| a.action.as_str()).collect();
    for a in ["channel.create", "rule.create", "rule.pause"] {
        assert!(actions.contains(&a), "{actions:?}");
    }
    assert!(!serde_json::to_string(&audit).unwrap().contains(secret));
    h.engine.stop();
    drop(alerts);
    drop(accounts);
    drop(h);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !common::files_contain(&dir.join("db"), secret),
        "the webhook token is stored sealed"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
