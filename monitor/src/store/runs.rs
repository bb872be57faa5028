//! A source's poll runs. Every run is a `poll_run` record (retention keeps
//! each source's newest `--keep-runs` and folds the rest into `poll_day`),
//! and the newest [`RECENT_RUNS`] also sit beside the source in one
//! `poll_recent` record, rewritten with each run.
//!
//! Pages and the API read the latter: one record per source, however many
//! runs were ever made. Reading the latest runs from `poll_run` through its
//! `source` index instead walks every kept run of the source and, on the
//! on-disk store, every run retention deleted since the last compaction
//! (its tombstones): the sources list slowed with every check (issue 22).

use serde_json::{json, Value};

use model::PollRun;

use super::write::to_json;
use super::{decode, Result, Store};

/// How many of a source's latest runs are kept beside it.
pub const RECENT_RUNS: usize = 20;

/// Puts `run` first among `recent` (replacing its earlier state: a run is
/// saved when it starts and again when it ends), newest first, at most
/// [`RECENT_RUNS`].
fn with_run(mut recent: Vec<PollRun>, run: &PollRun) -> Vec<PollRun> {
    recent.retain(|r| r.id != run.id);
    recent.push(run.clone());
    recent.sort_by(|a, b| b.id.cmp(&a.id));
    recent.truncate(RECENT_RUNS);
    recent
}

impl Store {
    /// Records a poll run (at its start, and again when it ends), and keeps
    /// it among the source's recent runs, in one transaction.
    pub async fn save_run(&self, run: &PollRun) -> Result<()> {
        let recent = with_run(self.recent_runs(&run.source).await?, run);
        self.db()
            .query(
                "BEGIN TRANSACTION;
                 UPSERT type::record('poll_run', $id) CONTENT $row;
                 UPSERT type::record('poll_recent', $source) CONTENT { runs: $recent };
                 COMMIT TRANSACTION;",
            )
            .bind(json!({
                "id": run.id,
                "row": to_json(run),
                "source": run.source,
                "recent": to_json(&recent),
            }))
            .await?
            .check()?;
        Ok(())
    }

    /// A source's latest runs, newest first. Up to [`RECENT_RUNS`] come from
    /// the one record beside the source; more are read from every kept run.
    pub async fn runs(&self, source: &str, limit: usize) -> Result<Vec<PollRun>> {
        if limit > RECENT_RUNS {
            return self.kept_runs(source, limit).await;
        }
        let mut runs = self.recent_runs(source).await?;
        runs.truncate(limit);
        Ok(runs)
    }

    /// The runs kept beside the source; for a source whose runs were saved
    /// before `poll_recent` existed, its latest runs from `poll_run`.
    async fn recent_runs(&self, source: &str) -> Result<Vec<PollRun>> {
        let mut res = self
            .db()
            .query("SELECT VALUE runs FROM type::record('poll_recent', $s)")
            .bind(json!({ "s": source }))
            .await?
            .check()?;
        let found: Vec<Value> = res.take(0)?;
        match found.into_iter().next() {
            Some(Value::Array(runs)) => decode(runs),
            _ => self.kept_runs(source, RECENT_RUNS).await,
        }
    }

    /// A source's latest runs from every kept run (through its index).
    async fn kept_runs(&self, source: &str, limit: usize) -> Result<Vec<PollRun>> {
        let mut res = self
            .db()
            .query(
                "SELECT record::id(id) AS id, source, started, finished, pages, products, changes,
                        complete, error, error_class, skipped ?? [] AS skipped
                 FROM poll_run WHERE source = $s ORDER BY id DESC LIMIT $limit",
            )
            .bind(json!({ "s": source, "limit": limit }))
            .await?
            .check()?;
        decode(res.take(0)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(id: i64) -> PollRun {
        PollRun {
            id,
            source: "s".into(),
            started: chrono::Utc::now(),
            finished: None,
            pages: 1,
            products: 0,
            changes: 0,
            complete: false,
            error: None,
            error_class: None,
            skipped: vec![],
        }
    }

    #[test]
    fn a_run_saved_twice_is_listed_once_newest_first_and_the_list_is_bounded() {
        let mut recent = vec![];
        for id in 1..=30 {
            recent = with_run(recent, &run(id));
        }
        let mut ended = run(30);
        ended.complete = true;
        recent = with_run(recent, &ended);
        assert_eq!(recent.len(), RECENT_RUNS);
        assert_eq!(recent[0].id, 30);
        assert!(recent[0].complete, "the run's later state replaces its first");
        assert_eq!(recent[RECENT_RUNS - 1].id, 11);
        assert!(recent.windows(2).all(|w| w[0].id > w[1].id));
    }
}
