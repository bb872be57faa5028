//! One-page checks' runs, written behind in batches.
//!
//! A product page checked every second whose bytes did not change costs a
//! fetch and a digest; writing its run on its own (a read of the source's
//! recent ids, then a transaction with the run and the ids, each with its
//! fsync) was most of what was left of such a check (issue 17). Finished
//! one-page runs are queued here instead and written together: one
//! transaction for every run queued since the last write, the recent ids
//! joined inside the database (so two instances that take turns polling one
//! source never write over each other's ids).
//!
//! What a user reads never misses a run: every read of runs in this process
//! writes the queue first. The engine writes it a moment after a run is
//! queued (see `Engine::start`) and when it shuts down; a crash loses at
//! most that moment's runs (never products, history or events, which
//! `Store::commit` writes at once). A database that fails keeps the runs
//! queued for the next write, up to [`MAX_QUEUED`].

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use serde_json::json;
use tokio::sync::Notify;

use model::PollRun;

use super::runs::RECENT_RUNS;
use super::write::to_json;
use super::{Result, Store};

/// Runs kept queued while the database fails; older ones are dropped then.
pub const MAX_QUEUED: usize = 10_000;

/// How long after a run is queued the batch is written: the checks of that
/// second share one transaction.
const WRITE_AFTER: Duration = Duration::from_secs(1);

/// The queue of finished runs not yet written.
#[derive(Default)]
pub(crate) struct RunLog {
    queued: Mutex<Vec<PollRun>>,
    /// Held while a batch is written, so runs are written in order.
    writing: tokio::sync::Mutex<()>,
    /// Sources whose recent ids are known to be kept (`poll_recent`), so a
    /// run joins them in the database.
    known: Mutex<HashSet<String>>,
    /// Told when a run is queued.
    wake: Notify,
}

impl Store {
    /// Queues a finished one-page run (see the module doc); it is written
    /// with the next batch, and before any read of runs.
    pub fn queue_finished_run(&self, run: PollRun) {
        let mut q = self.run_log.queued.lock();
        if q.len() >= MAX_QUEUED {
            q.remove(0);
        }
        q.push(run);
        drop(q);
        self.run_log.wake.notify_one();
    }

    /// The engine's writer: writes the queue a moment after a run joins
    /// it. Returns (to be restarted by its supervisor) when a write fails.
    pub async fn write_runs_behind(self: Arc<Self>) -> std::result::Result<(), String> {
        loop {
            self.run_log.wake.notified().await;
            tokio::time::sleep(WRITE_AFTER).await;
            self.write_queued_runs()
                .await
                .map_err(|e| format!("could not save the latest checks' runs: {e}"))?;
        }
    }

    /// Writes the queue before a read of runs. A failure is logged, not
    /// returned: the read goes on with what is stored (a batch the database
    /// refuses must not take the Sources page down with it).
    pub(crate) async fn write_queued_runs_first(&self) {
        if let Err(e) = self.write_queued_runs().await {
            tracing::warn!("the latest checks' runs are not saved yet: {e}");
        }
    }

    /// Writes every queued run in one transaction. On failure they stay
    /// queued (before any queued since) and the error is returned.
    pub async fn write_queued_runs(&self) -> Result<()> {
        let _one = self.run_log.writing.lock().await;
        let runs = std::mem::take(&mut *self.run_log.queued.lock());
        if runs.is_empty() {
            return Ok(());
        }
        let written = self.write_runs(&runs).await;
        if written.is_err() {
            let mut q = self.run_log.queued.lock();
            let newer = std::mem::replace(&mut *q, runs);
            q.extend(newer);
            let over = q.len().saturating_sub(MAX_QUEUED);
            q.drain(..over);
        }
        written
    }

    async fn write_runs(&self, runs: &[PollRun]) -> Result<()> {
        // Each source's new ids, newest first, with the ids of runs saved
        // before `poll_recent` existed for a source seen the first time.
        let mut ids: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
        for r in runs {
            ids.entry(r.source.as_str()).or_default().push(r.id);
        }
        for (source, new) in ids.iter_mut() {
            if self.run_log.known.lock().contains(*source) {
                continue;
            }
            if self.recent(source).await?.is_none() {
                let before = self.indexed_runs(source, RECENT_RUNS).await?;
                new.extend(before.iter().map(|r| r.id));
            }
            self.run_log.known.lock().insert(source.to_string());
        }
        let recent: Vec<_> = ids
            .into_iter()
            .map(|(source, ids)| json!({ "source": source, "ids": ids }))
            .collect();
        let rows: Vec<_> = runs
            .iter()
            .map(|r| json!({ "id": r.id, "row": to_json(r) }))
            .collect();
        self.db()
            .query(
                "BEGIN TRANSACTION;
                 FOR $r IN $runs { UPSERT type::record('poll_run', $r.id) CONTENT $r.row; };
                 FOR $s IN $recent {
                     UPSERT type::record('poll_recent', $s.source) SET ids =
                         array::slice(array::sort::desc(array::distinct(array::concat(ids ?? [], $s.ids))), 0, $keep);
                 };
                 COMMIT TRANSACTION;",
            )
            .bind(json!({ "runs": rows, "recent": recent, "keep": RECENT_RUNS }))
            .await?
            .check()?;
        Ok(())
    }
}
