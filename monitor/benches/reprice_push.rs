//! Repricing figures against the fake Shopify Admin API (on loopback) with
//! the Standard plan's bucket: 1,000 points, 100 restored per second, 10
//! points per `productVariantsBulkUpdate` (as the fake charges).
//!
//! 1. Source price change -> proposal stored: 50 price changes in the demo
//!    store, each polled; from the event's detection timestamp to the
//!    proposal's creation (median, p99, max).
//! 2. Pushes per second sustained: the bucket starts EMPTY (so no burst
//!    flatters the figure); 100 proposals for 100 variants approved one by
//!    one (one call each), then 120 variants approved in bulk (grouped, one
//!    call per shop product). Prints pushes/s and how many answers were
//!    THROTTLED (the client paces itself by the cost block, so few or none).
//!
//! `scripts/bench-repricing.sh` (or `cargo bench -p monitor --bench
//! reprice_push`, which builds SurrealDB once more with another feature set).

#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use rust_decimal::Decimal;
use serde_json::json;

use model::{Markup, ProposalState, Rounding};
use monitor::auth::{KeySource, LoginLimits, Vault};
use monitor::repricing::service::{Repricer, TargetSpec};
use monitor::{Accounts, Identity};

const TOKEN: &str = "shpat_bench";

fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted[((p / 100.0) * sorted.len() as f64).ceil() as usize - 1]
}

#[tokio::main]
async fn main() {
    if std::env::args().skip(1).any(|a| {
        !a.starts_with('-') && a.parse::<f64>().is_err() && !"reprice_push".contains(a.as_str())
    }) {
        return;
    }
    let h = common::Harness::new(60).await;
    h.check().await;
    let (admin, shop_url) = h.fake_admin(TOKEN, usize::MAX).await;
    let store = h.engine.store().clone();
    let vault = Vault::open(&KeySource::Ephemeral, &store).await.unwrap();
    let accounts = Arc::new(Accounts::new(store.clone(), vault, LoginLimits::default()));
    let who = Identity::system("bench");
    let r = Repricer::open(h.engine.clone(), accounts).await.unwrap();
    r.connect(&who, &shop_url, TOKEN).await.unwrap();
    let markup = Markup {
        percent: 20.into(),
        fixed: Decimal::ZERO,
        rounding: Rounding::Cents,
        floor: None,
        ceiling: None,
        max_step_percent: None,
        auto_approve: false,
        rate: None,
    };

    // Every variant of the first products, linked by id.
    let variants: Vec<(u64, u64)> = {
        let cat = h.demo.catalogue.lock();
        cat.products
            .iter()
            .flat_map(|p| p.variants.iter().map(move |v| (p.id, v.id)))
            .collect()
    };
    assert!(variants.len() >= 220, "{} variants", variants.len());
    let mut links = vec![];
    for (pid, vid) in &variants[..220] {
        let key = format!("{}:{pid}", h.source.key);
        let target =
            TargetSpec::Variant(format!("gid://shopify/ProductVariant/{}", 9_000_000 + vid));
        links.push(
            r.link(
                &who,
                &key,
                Some(vid.to_string()),
                &target,
                markup.clone(),
                false,
            )
            .await
            .unwrap(),
        );
    }

    // 1. Change -> proposal.
    r.start();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut lat = vec![];
    for i in 0..50u32 {
        let (_, vid) = variants[i as usize];
        let price = format!("{}.{:02}", 200 + i, i % 100);
        assert_eq!(
            h.control("price", json!({ "variant_id": vid, "price": price }))
                .await,
            204
        );
        h.check().await;
        let event = store
            .events_since(store.last_seq().saturating_sub(20), 50)
            .await
            .unwrap();
        let detected = event
            .iter()
            .rev()
            .find(|e| {
                e.kind == model::EventKind::PriceChanged
                    && e.variant.as_ref().is_some_and(|v| v.id == vid.to_string())
            })
            .expect("the change is an event")
            .at;
        let link = links[i as usize].id.clone();
        let created = loop {
            if let Some(p) = store
                .proposals(5)
                .await
                .unwrap()
                .into_iter()
                .find(|p| p.link == link && p.source_price.to_string() == price)
            {
                break p.created;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        };
        lat.push((created - detected).num_microseconds().unwrap() as f64 / 1000.0);
    }
    lat.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "reprice change -> proposal over {} changes: median {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        lat.len(),
        pct(&lat, 50.0),
        pct(&lat, 99.0),
        lat[lat.len() - 1]
    );

    // 2. Pushes per second from an empty bucket.
    let empty_bucket = || async {
        reqwest::Client::new()
            .post(format!("{shop_url}/admin-control/bucket"))
            .json(&json!({ "maximum": 1000, "available": 0, "restore_rate": 100 }))
            .send()
            .await
            .unwrap();
    };
    let mut seq = 1_000_000;
    let mut proposals = vec![];
    for l in &links[..100] {
        seq += 1;
        proposals.push(
            r.propose(l, seq, "99.00".parse().unwrap(), "USD")
                .await
                .unwrap(),
        );
    }
    empty_bucket().await;
    let throttled_before = admin.state.lock().throttled;
    let t0 = Instant::now();
    for p in &proposals {
        let done = r.approve(&who, &p.id, p.version).await.unwrap();
        assert_eq!(done.state, ProposalState::Done, "{done:?}");
    }
    let secs = t0.elapsed().as_secs_f64();
    let throttled = admin.state.lock().throttled - throttled_before;
    println!(
        "reprice pushes, one variant per call, bucket empty at start (100 points/s): {} pushes in {secs:.1} s = {:.1} pushes/s, {throttled} THROTTLED answers",
        proposals.len(),
        proposals.len() as f64 / secs
    );

    let mut picks = vec![];
    for l in &links[100..220] {
        seq += 1;
        let p = r
            .propose(l, seq, "98.00".parse().unwrap(), "USD")
            .await
            .unwrap();
        picks.push((p.id, p.version));
    }
    empty_bucket().await;
    let calls_before = admin.state.lock().updates;
    let throttled_before = admin.state.lock().throttled;
    let t0 = Instant::now();
    let out = r.approve_many(&who, &picks).await;
    let secs = t0.elapsed().as_secs_f64();
    assert!(out
        .iter()
        .all(|(_, p)| p.as_ref().unwrap().state == ProposalState::Done));
    let calls = admin.state.lock().updates - calls_before;
    let throttled = admin.state.lock().throttled - throttled_before;
    println!(
        "reprice pushes, bulk approval grouped by product, bucket empty at start: {} variants in {calls} calls, {secs:.1} s = {:.1} variant prices/s, {throttled} THROTTLED answers",
        picks.len(),
        picks.len() as f64 / secs
    );
}
