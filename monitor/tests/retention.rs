//! Retention over real polls and a real SurrealDB: runs beyond the kept
//! number are folded into daily counts, old events go from the front (a
//! feed from before them is told it missed some), history is thinned to an
//! hour's last point.

mod common;

use std::time::Duration;

use common::Harness;
use monitor::retention::{pass, Retention};
use monitor::EngineConfig;

fn keeping(retention: Retention) -> EngineConfig {
    EngineConfig {
        retention,
        ..common::quick_config()
    }
}

#[tokio::test]
async fn runs_beyond_the_kept_ones_become_daily_counts() {
    let h = Harness::with(
        3,
        "mem://",
        keeping(Retention {
            keep_runs: 5,
            batch: 3,
            ..Retention::default()
        }),
    )
    .await;
    for _ in 0..12 {
        h.check().await;
    }
    let store = h.engine.store();
    assert_eq!(store.runs(&h.source.key, 100).await.unwrap().len(), 12);
    let done = pass(&h.engine).await.unwrap();
    assert_eq!(done.runs, 7);
    let kept = store.runs(&h.source.key, 100).await.unwrap();
    assert_eq!(kept.len(), 5, "the newest five");
    // The sources list reads the latest runs by the ids kept beside the
    // source: the same newest five, each as it ended.
    let shown = store.runs(&h.source.key, 10).await.unwrap();
    assert_eq!(shown, kept);
    assert!(
        shown.iter().all(|r| r.finished.is_some()),
        "each run as it ended"
    );
    // The list of every source reads the same runs in one go; a source
    // with no runs yet has none.
    let keys = vec![h.source.key.clone(), "never-polled".to_string()];
    let mut latest = store.latest_runs(&keys, 3).await.unwrap();
    assert_eq!(latest.remove(&h.source.key), Some(kept[..3].to_vec()));
    assert_eq!(latest.remove("never-polled").unwrap_or_default(), vec![]);
    let days = store.days(&h.source.key, 10).await.unwrap();
    assert_eq!(days.len(), 1);
    assert_eq!((days[0].runs, days[0].failures), (7, 0));
    assert!(days[0].median_ms().is_some());
    // Again: nothing more to fold, and the counts add up.
    for _ in 0..3 {
        h.check().await;
    }
    assert_eq!(pass(&h.engine).await.unwrap().runs, 3);
    assert_eq!(store.days(&h.source.key, 10).await.unwrap()[0].runs, 10);
}

#[tokio::test]
async fn old_events_go_from_the_front_and_a_feed_from_before_them_must_reload() {
    let retention = Retention {
        keep_events: Duration::ZERO,
        keep_events_at_least: 3,
        batch: 4,
        ..Retention::default()
    };
    let h = Harness::with(10, "mem://", keeping(retention)).await;
    h.check().await;
    let store = h.engine.store();
    let last = store.last_seq();
    assert!(last >= 10);
    let done = pass(&h.engine).await.unwrap();
    assert_eq!(done.events as u64, last - 3);
    assert_eq!(store.oldest_event(), last - 2);
    let kept: Vec<u64> = store
        .events_since(0, 100)
        .await
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(kept, (last - 2..=last).collect::<Vec<_>>());
    assert_eq!(
        h.engine.feed(0).missed(),
        Some(last - 2),
        "asked from before: reload"
    );
    assert_eq!(
        h.engine.feed(last - 3).missed(),
        None,
        "resuming right before the oldest is fine"
    );
}

#[tokio::test]
async fn history_is_thinned_to_the_last_point_of_each_hour() {
    let h = Harness::with(
        2,
        "mem://",
        keeping(Retention {
            compact_after: Duration::ZERO,
            ..Retention::default()
        }),
    )
    .await;
    h.check().await;
    let (pid, vid, _) = h.variant(0, 0);
    let key = format!("{}:{pid}", h.source.key);
    for price in ["10.00", "11.00", "12.00", "13.00"] {
        assert_eq!(
            h.control(
                "price",
                serde_json::json!({ "variant_id": vid, "price": price })
            )
            .await,
            204
        );
        h.check().await;
    }
    let store = h.engine.store();
    let before = store.price_history(&key).await.unwrap();
    assert_eq!(before.len(), 5, "first sight and four changes");
    let done = pass(&h.engine).await.unwrap();
    assert!(done.history_points >= 3, "{done:?}");
    let after = store.price_history(&key).await.unwrap();
    assert!(
        after.len() <= 2,
        "one an hour (two if the test crossed an hour): {after:?}"
    );
    let last = after.last().unwrap();
    assert_eq!(
        last.variants[0].price.to_string(),
        "13.00",
        "the chart still ends at today's price"
    );
}
