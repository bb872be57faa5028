//! Attacks by a watched shop (or a service Dropwatch notifies): numbers
//! chosen to overflow, answered over real HTTP by the demo store playing
//! the hostile party. Each one must cost at most that source's run, never
//! the poller, the status page, another host or anything stored.

mod common;

use std::time::Duration;

use chrono::Utc;
use common::Harness;
use model::Decimal;
use monitor::demo::{DemoStore, Fault, FaultSetting};
use monitor::NewSource;

/// A second shop on another host: it must keep being read whatever the first does.
async fn second_shop(h: &Harness) -> model::Source {
    let other = DemoStore::new(&common::demo_config(3));
    let addr = other.spawn("127.0.0.1:0".parse().unwrap()).await.unwrap();
    // Kept alive by its server task.
    h.engine
        .add_source(NewSource {
            key: Some("other".into()),
            ..NewSource::new(
                "shopify",
                &format!("http://{addr}"),
                Duration::from_secs(3600),
            )
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn a_hostile_retry_after_backs_off_an_hour_at_most_and_stops_nothing() {
    for raw in [
        "10000000000000000000",
        "1e20",
        "inf",
        "-1",
        "NaN",
        "Fri, 31 Dec 9999 23:59:59 GMT",
    ] {
        let h = Harness::new(3).await;
        h.engine.start();
        assert!(h.check().await.complete);
        h.demo.set_fault(Some(FaultSetting {
            kind: Fault::RateLimited,
            retry_after: None,
            retry_after_raw: Some(raw.into()),
            from_page: None,
        }));
        let run = h.check().await;
        assert_eq!(
            run.error_class.as_deref(),
            Some("rate_limited"),
            "{raw}: {run:?}"
        );
        // The status page still answers, and no host waits more than an hour.
        let hosts = h.engine.hosts();
        let latest = Utc::now() + chrono::Duration::seconds(3600 + 60);
        assert!(
            hosts.iter().all(|s| s.until.is_none_or(|u| u <= latest)),
            "{raw}: {hosts:?}"
        );
        // Another shop is still read, and every scheduler still runs.
        let other = second_shop(&h).await;
        let run = h.engine.check_now(&other.key).await.unwrap();
        assert!(run.complete && run.error.is_none(), "{raw}: {run:?}");
        assert!(h.engine.stopped_schedulers().is_empty(), "{raw}");
        h.engine.stop();
    }
}

#[tokio::test]
async fn absurd_prices_leave_the_product_as_it_was_and_are_named_in_the_run() {
    let h = Harness::new(4).await;
    assert!(h.check().await.complete);
    let key = |i: usize| format!("{}:{}", h.source.key, h.variant(i, 0).0);
    let before: Vec<_> = (0..3).map(|i| h.engine.product(&key(i)).unwrap()).collect();
    // 10^25, and a cent above the largest price kept (10^9).
    for (i, price) in [(0, "10000000000000000000000000"), (1, "1000000000.01")] {
        let vid = h.variant(i, 0).1;
        h.demo
            .catalogue
            .lock()
            .set_price(vid, price.parse().unwrap());
    }
    // A sane change beside them goes through.
    let sane = h.variant(2, 0).1;
    h.demo
        .catalogue
        .lock()
        .set_price(sane, "77.70".parse().unwrap());
    let seq = h.engine.store().last_seq();
    let run = h.check().await;
    assert!(run.complete && run.error.is_none(), "{run:?}");
    assert_eq!(run.skipped.len(), 2, "{run:?}");
    assert!(
        run.skipped
            .iter()
            .all(|s| s.contains("above the largest price")),
        "{:?}",
        run.skipped
    );
    for i in 0..2 {
        let now = h.engine.product(&key(i)).unwrap();
        assert_eq!(
            now.variants, before[i].variants,
            "product {i} is left as it was"
        );
        assert!(!now.removed);
    }
    assert_eq!(
        h.engine.product(&key(2)).unwrap().variants[0].price,
        Some("77.70".parse::<Decimal>().unwrap())
    );
    // Nothing was raised for the absurd ones.
    let events = h.events_after(seq).await;
    assert!(
        !events.is_empty()
            && events
                .iter()
                .all(|e| e.product.as_ref().is_some_and(|p| p.key == key(2))),
        "{events:?}"
    );
}

#[tokio::test]
async fn an_interval_beyond_a_week_is_refused() {
    let h = Harness::new(1).await;
    let err = h
        .engine
        .add_source(NewSource::new(
            "shopify",
            &format!("http://{}/x", h.addr),
            Duration::from_secs(u64::MAX),
        ))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("at most 7 days"), "{err}");
    let err = h
        .engine
        .update_source(
            &h.source.key,
            monitor::SourceEdit {
                interval: Some(Duration::from_secs(8 * 86_400)),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("at most 7 days"), "{err}");
}

#[test]
fn the_admin_apis_throttle_numbers_cannot_hold_a_push_for_long() {
    use monitor::repricing::admin::{read_answer, wait_for, AdminError, Cost, MAX_THROTTLE_WAIT};
    // A bucket that "refills" at 1e-300 points a second, or is NaN.
    for (available, rate) in [
        (0.0, 1e-300),
        (f64::NAN, 50.0),
        (0.0, f64::NAN),
        (-1e308, 1e-10),
    ] {
        let cost = Cost {
            requested: 10.0,
            actual: None,
            maximum: 1000.0,
            available,
            restore_rate: rate,
        };
        assert!(
            wait_for(&cost, 10.0) <= MAX_THROTTLE_WAIT,
            "{available} {rate}"
        );
    }
    for header in [-1.0, f64::NAN, f64::INFINITY, 1e20] {
        match read_answer(429, Some(header), "") {
            Err(AdminError::Throttled(wait)) => {
                assert!(wait <= MAX_THROTTLE_WAIT, "{header}: {wait:?}")
            }
            other => panic!("{header}: {other:?}"),
        }
    }
    let body = r#"{"errors":[{"message":"Throttled","extensions":{"code":"THROTTLED"}}],"extensions":{"cost":{"requestedQueryCost":10,"actualQueryCost":null,"throttleStatus":{"maximumAvailable":1000.0,"currentlyAvailable":0,"restoreRate":1e-300}}}}"#;
    match read_answer(200, None, body) {
        Err(AdminError::Throttled(wait)) => assert!(wait <= MAX_THROTTLE_WAIT, "{wait:?}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn stored_absurd_prices_cannot_break_a_page() {
    // Prices stored before the bounds existed may be anything: every
    // computation on them is checked.
    let tiny: Decimal = "0.0000000000000000000000000001".parse().unwrap();
    let mv = model::PriceMove {
        old: tiny,
        new: Decimal::MAX,
        at: Utc::now(),
    };
    assert_eq!(mv.percent(), None);
    let markup = model::Markup {
        percent: Decimal::MAX,
        fixed: Decimal::ZERO,
        rounding: model::Rounding::Cents,
        floor: None,
        ceiling: None,
        max_step_percent: None,
        auto_approve: true,
        rate: None,
    };
    assert!(matches!(
        markup.apply(Decimal::MAX, "USD", "USD", Some(tiny)),
        model::Priced::CannotPrice(_)
    ));
}
