//! Every way the demo store can answer badly is classified right, marks
//! nothing sold out, and loses nothing already stored.

mod common;

use std::time::Duration;

use common::{kinds, quick_config, Harness};
use model::EventKind;
use monitor::demo::{Fault, FaultSetting};

/// (availability by variant, sorted) of every product the engine holds.
fn stock_snapshot(h: &Harness) -> Vec<(String, bool)> {
    let mut v: Vec<(String, bool)> = h
        .engine
        .products()
        .iter()
        .flat_map(|s| {
            let p = h.engine.product(&s.key).unwrap();
            p.variants
                .into_iter()
                .map(|v| (v.id, v.available))
                .collect::<Vec<_>>()
        })
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn each_fault_is_classified_and_harmless() {
    let h = Harness::new(300).await;
    assert!(h.check().await.complete);
    let stock = stock_snapshot(&h);
    let counts = h.engine.store().counts().await.unwrap();

    let cases = [
        (Fault::RateLimited, "rate_limited", false),
        (Fault::SecurityRejection, "rate_limited", false),
        (Fault::Password, "password_protected", true),
        (Fault::ServerError, "server_error", false),
        (Fault::Hang, "timeout", false),
        (Fault::Html, "blocked", true),
        (Fault::Garbage, "blocked", true),
        (Fault::Huge, "too_large", false),
    ];
    for (fault, class, blocks) in cases {
        for from_page in [1, 2] {
            let before = h.engine.store().last_seq();
            h.demo.set_fault(Some(FaultSetting {
                kind: fault,
                retry_after: None,
                retry_after_raw: None,
                from_page: Some(from_page),
            }));
            let run = h.check().await;
            assert_eq!(
                run.error_class.as_deref(),
                Some(class),
                "{fault:?} from page {from_page}: {run:?}"
            );
            assert!(!run.complete);
            assert!(run.error.as_deref().is_some_and(|e| !e.is_empty()));
            let events = h.events_after(before).await;
            assert!(
                events
                    .iter()
                    .all(|e| !matches!(e.kind, EventKind::SoldOut | EventKind::Removed)),
                "{fault:?}: {:?}",
                kinds(&events)
            );
            assert_eq!(stock_snapshot(&h), stock, "{fault:?} changed stock");
            // Back to normal: the next read is complete and finds nothing changed.
            h.demo.set_fault(None);
            tokio::time::sleep(Duration::from_millis(120)).await;
            let ok = h.check().await;
            assert!(ok.complete, "{fault:?}: recovery run {ok:?}");
            let all = h.events_after(before).await;
            let expected = if blocks {
                vec![EventKind::Blocked, EventKind::Unblocked]
            } else {
                vec![]
            };
            assert_eq!(kinds(&all), expected, "{fault:?} from page {from_page}");
            if blocks {
                assert!(all[0].reason.as_deref().is_some_and(|r| !r.is_empty()));
            }
        }
    }
    let after = h.engine.store().counts().await.unwrap();
    assert_eq!(after.products, counts.products);
    assert_eq!(after.variants, counts.variants);
    assert_eq!(after.price_history, counts.price_history);
    assert_eq!(after.stock_history, counts.stock_history);
}

#[tokio::test]
async fn retry_after_is_honoured_without_touching_the_shop() {
    let h = Harness::new(20).await;
    h.check().await;
    h.fault(Fault::RateLimited, Some(60));
    let run = h.check().await;
    assert_eq!(run.error_class.as_deref(), Some("rate_limited"));
    assert!(run.error.unwrap().contains("60s"));
    h.demo.set_fault(None);
    let asked = h.demo.catalogue_requests();
    // The shop asked for 60 s: the next run is refused by our own gate.
    let next = h.check().await;
    assert_eq!(next.error_class.as_deref(), Some("backing_off"), "{next:?}");
    assert_eq!(
        h.demo.catalogue_requests(),
        asked,
        "no request reached the shop"
    );
    let host = &h.engine.hosts()[0];
    assert_eq!(host.state, "backing_off");
    assert!(host.until.unwrap() > chrono::Utc::now() + chrono::Duration::seconds(50));
}

#[tokio::test]
async fn a_raised_size_cap_turns_the_huge_body_into_blocked() {
    let mut cfg = quick_config();
    cfg.limits.max_body_bytes = 8 * 1024 * 1024;
    let h = Harness::with(10, "mem://", cfg).await;
    h.check().await;
    h.fault(Fault::Huge, None);
    let run = h.check().await;
    assert_eq!(run.error_class.as_deref(), Some("blocked"), "{run:?}");
    assert_eq!(h.engine.products().len(), 10);
}

#[tokio::test]
async fn the_breaker_opens_after_repeated_failures_and_recovers() {
    let mut cfg = quick_config();
    cfg.politeness.breaker_threshold = 3;
    cfg.politeness.breaker_cooldown = Duration::from_millis(400);
    cfg.politeness.max_backoff = Duration::from_secs(1);
    let h = Harness::with(10, "mem://", cfg).await;
    h.fault(Fault::ServerError, None);
    for _ in 0..3 {
        assert_eq!(h.check().await.error_class.as_deref(), Some("server_error"));
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    let asked = h.demo.catalogue_requests();
    assert_eq!(h.check().await.error_class.as_deref(), Some("backing_off"));
    assert_eq!(h.demo.catalogue_requests(), asked);
    assert_eq!(h.engine.hosts()[0].state, "breaker_open");
    h.demo.set_fault(None);
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert!(
        h.check().await.complete,
        "the half-open probe succeeds and closes the breaker"
    );
    assert_eq!(h.engine.hosts()[0].state, "ok");
}
