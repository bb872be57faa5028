//! Retention: a monitor runs for months, so what it writes on every check
//! must not pile up for ever.
//!
//! A background task (supervised, see [`crate::supervise`]) wakes every
//! [`Retention::every`] and, in bounded batches with a pause between them so
//! that polls are never held up:
//!
//! - keeps each source's newest [`Retention::keep_runs`] runs and folds the
//!   older ones into daily aggregates (kept [`Retention::keep_days`] days);
//! - deletes events older than [`Retention::keep_events`] (always keeping the
//!   newest [`Retention::keep_events_at_least`]); a live client asking for
//!   older ones is told to reload (`/api/live` closes with 4410, the REST
//!   events page answers 410);
//! - thins price and stock history older than [`Retention::compact_after`]
//!   to the last point of each hour, a few products per pass (where it got
//!   to is kept in the database, so a restart goes on from there);
//! - forgets the politeness gates of hosts idle for an hour.

use std::sync::Weak;
use std::time::Duration;

use chrono::Utc;

use crate::engine::Engine;
use crate::store::StoreError;

/// What is kept, and how often retention runs.
#[derive(Clone, Debug)]
pub struct Retention {
    /// Runs kept per source (`--keep-runs`).
    pub keep_runs: usize,
    /// Days of per-day run aggregates kept.
    pub keep_days: u32,
    /// How long events are kept (`--keep-events`).
    pub keep_events: Duration,
    /// Events always kept, however old.
    pub keep_events_at_least: u64,
    /// History older than this is thinned to one point an hour.
    pub compact_after: Duration,
    /// How often a pass runs.
    pub every: Duration,
    /// Rows a batch handles (a pass goes on batch by batch until done).
    pub batch: usize,
    /// Products whose history one pass thins.
    pub compact_products: usize,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            keep_runs: 100,
            keep_days: 400,
            keep_events: Duration::from_secs(30 * 86_400),
            keep_events_at_least: 10_000,
            compact_after: Duration::from_secs(30 * 86_400),
            every: Duration::from_secs(60),
            batch: 500,
            compact_products: 200,
        }
    }
}

/// What one pass did, for the log and tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pruned {
    pub runs: usize,
    pub events: usize,
    pub history_points: usize,
}

const COMPACT_CURSOR: &str = "compact_cursor";

/// A short pause between batches, so a long clean-up shares the database.
const BETWEEN_BATCHES: Duration = Duration::from_millis(20);

/// Runs passes until the engine is gone.
pub(crate) async fn run(engine: Weak<Engine>) -> Result<(), String> {
    loop {
        let Some(e) = engine.upgrade() else {
            return Ok(());
        };
        let every = e.cfg.retention.every;
        // On a shared server one instance prunes for all.
        e.want_task("retention");
        if !e.holds_task("retention") {
            drop(e);
            tokio::time::sleep(every.min(std::time::Duration::from_secs(5))).await;
            continue;
        }
        match pass(&e).await {
            Ok(p) if p != Pruned::default() => tracing::info!(
                runs = p.runs,
                events = p.events,
                history_points = p.history_points,
                "retention: pruned"
            ),
            Ok(_) => {}
            Err(err) => return Err(format!("retention pass failed: {err}")),
        }
        drop(e);
        tokio::time::sleep(every).await;
    }
}

/// One pass over runs, events and history.
pub async fn pass(e: &Engine) -> Result<Pruned, StoreError> {
    let cfg = &e.cfg.retention;
    let store = e.store();
    let mut done = Pruned::default();
    for source in e.sources() {
        loop {
            let runs = store
                .runs_beyond(&source.key, cfg.keep_runs, cfg.batch)
                .await?;
            let folded = store.fold_runs(&runs).await?;
            done.runs += folded;
            if folded == 0 || runs.len() < cfg.batch {
                break;
            }
            tokio::time::sleep(BETWEEN_BATCHES).await;
        }
    }
    let oldest_day = (Utc::now() - chrono::Duration::days(i64::from(cfg.keep_days)))
        .format("%Y-%m-%d")
        .to_string();
    store.prune_days(&oldest_day).await?;

    let before =
        Utc::now() - chrono::Duration::from_std(cfg.keep_events).unwrap_or(chrono::Duration::MAX);
    loop {
        let n = store
            .prune_events(before, cfg.keep_events_at_least, cfg.batch)
            .await?;
        done.events += n;
        if n == 0 {
            break;
        }
        tokio::time::sleep(BETWEEN_BATCHES).await;
    }

    // Politeness gates of hosts not contacted for an hour.
    e.fetcher.gates.prune(Duration::from_secs(3600));

    // History: a few products a pass, going round the catalogue.
    let cutoff =
        Utc::now() - chrono::Duration::from_std(cfg.compact_after).unwrap_or(chrono::Duration::MAX);
    let mut keys: Vec<String> = e.state.lock().keys().cloned().collect();
    keys.sort();
    let cursor = store
        .meta(COMPACT_CURSOR)
        .await?
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let start = keys.partition_point(|k| *k <= cursor);
    let mut last = None;
    for key in keys
        .iter()
        .cycle()
        .skip(start)
        .take(cfg.compact_products.min(keys.len()))
    {
        done.history_points += store
            .compact_history(key, cutoff.timestamp_millis())
            .await?;
        last = Some(key.clone());
    }
    if let Some(last) = last {
        store
            .set_meta(COMPACT_CURSOR, serde_json::json!(last))
            .await?;
    }
    Ok(done)
}
