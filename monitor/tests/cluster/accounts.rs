//! What the instances share besides products and events: an alert is sent
//! once however many instances run (and after the one running alerts dies),
//! and wrong passwords are counted together.

use std::sync::Arc;
use std::time::Duration;

use super::common;
use super::common::surreal::SurrealServer;
use super::{polling_instance, wait_for, Shop};
use monitor::{Engine, Store};

/// The accounts of `store`, with the key every instance shares and the
/// first admin `root`.
async fn accounts_on(store: &Arc<Store>) -> Arc<monitor::Accounts> {
    use monitor::auth::{KeySource, LoginLimits, Vault};
    let key = KeySource::Given("c2hhcmVkLWtleS1zaGFyZWQta2V5LXNoYXJlZC1rZXk=".into());
    let vault = Vault::open(&key, store).await.unwrap();
    let accounts = Arc::new(monitor::Accounts::new(
        store.clone(),
        vault,
        LoginLimits::default(),
    ));
    accounts
        .ensure_admin("root", "root-password-1")
        .await
        .unwrap();
    accounts
}

/// An alert service on `e`'s store, signed in as `root`.
async fn alerts_on(
    e: &Arc<Engine>,
    at: monitor::alerts::Endpoints,
) -> (Arc<monitor::alerts::AlertService>, monitor::Identity) {
    let accounts = accounts_on(e.store()).await;
    let (_, who) = accounts
        .login("root", "root-password-1", None)
        .await
        .unwrap();
    let alerts = monitor::alerts::AlertService::open(accounts, at, "mailto:ops@example.com")
        .await
        .unwrap();
    alerts.start(e.clone());
    (alerts, who)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_alert_is_sent_once_however_many_instances_run_and_after_one_dies() {
    let server = SurrealServer::start().await;
    let shop = Shop::on("127.0.0.5").await;
    let (seen, at) = common::fake_discord(Duration::ZERO).await;
    let mut instances = vec![
        polling_instance(&server.url()).await,
        polling_instance(&server.url()).await,
        polling_instance(&server.url()).await,
    ];
    let mut services = vec![];
    for e in &instances {
        services.push(alerts_on(e, at.clone()).await);
    }
    // The rule and its channel are made on the last instance.
    let (alerts, who) = &services[2];
    let channel = alerts
        .add_channel(who, "team discord", "discord://1/token-abcdefgh")
        .await
        .unwrap();
    alerts
        .save_rule(
            who,
            common::rule(
                "any drop",
                model::Scope::default(),
                model::Condition::DropPercent { percent: 1.into() },
                vec![channel.id.clone()],
            ),
        )
        .await
        .unwrap();
    instances[0]
        .add_source(monitor::NewSource::new(
            "shopify",
            &format!("http://{}", shop.addr),
            Duration::from_secs(1),
        ))
        .await
        .unwrap();
    let runs_alerts = |v: &[Arc<Engine>]| v.iter().filter(|e| e.holds_task("alerts")).count();
    wait_for(|| runs_alerts(&instances) == 1).await;
    wait_for(|| instances.iter().all(|e| e.product_count() == 10)).await;
    let was = shop.price();
    let lower = |share: i64| {
        (was * rust_decimal::Decimal::new(share, 2))
            .round_dp(2)
            .to_string()
    };

    // Three drops, each seen by whichever instance polls the shop.
    let drops = |n: usize| {
        let seen = seen.clone();
        move || seen.lock().unwrap().len() >= n
    };
    for (i, share) in [90, 80, 70].into_iter().enumerate() {
        shop.reprice(&lower(share)).await;
        wait_for(drops(i + 1)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(seen.lock().unwrap().len(), 3, "one notification per drop");

    // The instance running the alerts dies; another takes them over and
    // the next drop is still sent once.
    let at_ = instances
        .iter()
        .position(|e| e.holds_task("alerts"))
        .unwrap();
    let dead = instances.remove(at_);
    let (dead_alerts, _) = services.remove(at_);
    dead_alerts.stop().await;
    dead.stop();
    drop((dead, dead_alerts));
    shop.reprice(&lower(60)).await;
    wait_for_long(drops(4), Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(runs_alerts(&instances), 1, "one instance runs the alerts");
    assert_eq!(
        seen.lock().unwrap().len(),
        4,
        "the fourth drop was sent once"
    );
}

/// Waits up to `most` for `ok`.
async fn wait_for_long(ok: impl Fn() -> bool, most: Duration) {
    let start = std::time::Instant::now();
    while !ok() {
        assert!(start.elapsed() < most, "not so after {most:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn wrong_passwords_are_counted_together_by_every_instance() {
    use monitor::auth::AuthError;
    let server = SurrealServer::start().await;
    let mut instances = vec![];
    for _ in 0..3 {
        let store = Arc::new(Store::open(&server.url()).await.unwrap());
        instances.push(accounts_on(&store).await);
    }
    let guesser: std::net::IpAddr = "192.0.2.7".parse().unwrap();
    // Nine wrong passwords at once from one address, three per instance:
    // five are checked, the rest wait, as on one instance.
    let guesses = (0..9).map(|i| {
        let accounts = instances[i % 3].clone();
        tokio::spawn(async move {
            accounts
                .login("root", "not-the-password", Some(guesser))
                .await
        })
    });
    let mut wrong = 0;
    let mut throttled = 0;
    for guess in futures::future::join_all(guesses).await {
        match guess.unwrap() {
            Err(AuthError::BadLogin) => wrong += 1,
            Err(AuthError::Throttled(_)) => throttled += 1,
            Err(e) => panic!("unexpected refusal: {e}"),
            Ok(_) => panic!("a wrong password signed in"),
        }
    }
    assert_eq!((wrong, throttled), (5, 4));
    // Every instance now makes that address wait, even with the right
    // password; the owner elsewhere signs in.
    for accounts in &instances {
        let again = accounts
            .login("root", "root-password-1", Some(guesser))
            .await;
        assert!(
            matches!(again, Err(AuthError::Throttled(_))),
            "{:?}",
            again.err()
        );
    }
    let owner: std::net::IpAddr = "198.51.100.20".parse().unwrap();
    instances[1]
        .login("root", "root-password-1", Some(owner))
        .await
        .expect("the owner signs in from elsewhere");
}
