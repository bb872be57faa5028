//! How soon an alert leaves after its event: 100 price drops in the demo
//! store (on loopback), each polled, matched by a rule and sent to a local
//! fake Discord webhook. Prints the time from the change being detected (the
//! event's timestamp, taken before it is stored) to the webhook receiving
//! the request: median, p99 and max. Target: within 1 s.
//!
//! `scripts/bench-alerts.sh` (or `cargo bench -p monitor --bench alert_latency`,
//! which builds SurrealDB once more with another feature set).

#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use serde_json::json;

use model::{Condition, Rule, Scope};
use monitor::alerts::AlertService;
use monitor::auth::{KeySource, LoginLimits, Vault};
use monitor::{Accounts, Identity};

#[tokio::main]
async fn main() {
    // Like libtest: a name filter that does not match skips this benchmark.
    if std::env::args().skip(1).any(|a| {
        !a.starts_with('-') && a.parse::<f64>().is_err() && !"alert_latency".contains(a.as_str())
    }) {
        return;
    }
    let h = common::Harness::new(200).await;
    h.check().await;

    let (seen, at) = common::fake_discord(Duration::ZERO).await;

    let store = h.engine.store().clone();
    let vault = Vault::open(&KeySource::Ephemeral, &store).await.unwrap();
    let accounts = Arc::new(Accounts::new(store, vault, LoginLimits::default()));
    let alerts = AlertService::open(accounts, at, "mailto:bench@example.com")
        .await
        .unwrap();
    let who = Identity::system("bench");
    let d = alerts
        .add_channel(&who, "bench", "discord://1/bench-token")
        .await
        .unwrap();
    alerts
        .save_rule(
            &who,
            Rule {
                id: String::new(),
                name: "any drop".into(),
                scope: Scope::default(),
                condition: Condition::DropOrRestock,
                channels: vec![d.id],
                cooldown_secs: 0,
                paused: false,
                created: Utc::now(),
                owner: None,
            },
        )
        .await
        .unwrap();
    alerts.start(h.engine.clone());
    tokio::time::sleep(Duration::from_millis(200)).await;

    let n = 100;
    let mut latencies = vec![];
    for i in 0..n {
        let (pid, variant, _) = h.variant(i % 200, 0);
        let key = format!("{}:{pid}", h.source.key);
        let old = h.engine.product(&key).unwrap().variants[0].price;
        let new = (old * rust_decimal::Decimal::new(90, 2)).round_dp(2);
        h.control(
            "price",
            json!({ "variant_id": variant, "price": new.to_string() }),
        )
        .await;
        let before = h.engine.store().last_seq();
        let already = seen.lock().unwrap().len();
        h.check().await;
        let events = h.events_after(before).await;
        let event = events
            .iter()
            .find(|e| e.kind == model::EventKind::PriceChanged)
            .expect("the drop was detected");
        let mut waited = Duration::ZERO;
        while seen.lock().unwrap().len() == already && waited < Duration::from_secs(10) {
            tokio::time::sleep(Duration::from_millis(1)).await;
            waited += Duration::from_millis(1);
        }
        let got = seen.lock().unwrap().last().expect("the alert arrived").0;
        latencies.push((got - event.at).to_std().unwrap_or_default());
    }
    latencies.sort();
    let pick = |q: f64| latencies[((latencies.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "alert latency over {n} price drops (detected -> fake Discord received): median {:.1?}, p99 {:.1?}, max {:.1?} (target <= 1 s)",
        pick(0.5),
        pick(0.99),
        latencies[latencies.len() - 1]
    );
}
