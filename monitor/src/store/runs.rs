//! A source's poll runs. Every run is a `poll_run` record (retention keeps
//! each source's newest `--keep-runs` and folds the rest into `poll_day`),
//! and the ids of the newest [`RECENT_RUNS`] sit beside the source in one
//! small `poll_recent` record, written when a run starts.
//!
//! Pages and the API read the latest runs through those ids: one record and
//! a few point reads per source, however many runs were ever made. Reading
//! them from `poll_run` through its `source` index instead walks every kept
//! run of the source and, on the on-disk store, every run retention deleted
//! since the last compaction (their tombstones): the sources list slowed
//! with every check (issue 22's soak: 25 -> 145 ms in 7 minutes). The ids
//! alone are kept there (not the runs) because every byte written goes
//! through SurrealKV's in-memory write buffer first.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::json;

use model::PollRun;

use super::write::to_json;
use super::{decode, Result, Store};

/// How many of a source's latest runs can be listed from beside it.
pub const RECENT_RUNS: usize = 10;

/// What `poll_recent` holds for a source.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct Recent {
    /// Run ids (start times in µs), newest first.
    ids: Vec<i64>,
}

impl Recent {
    /// With `id` first, at most [`RECENT_RUNS`]; `None` when it is already
    /// there (a run is saved when it starts and again when it ends).
    fn with(mut self, id: i64) -> Option<Recent> {
        if self.ids.contains(&id) {
            return None;
        }
        self.ids.push(id);
        self.ids.sort_unstable_by(|a, b| b.cmp(a));
        self.ids.truncate(RECENT_RUNS);
        Some(self)
    }
}

const RUN_FIELDS: &str = "record::id(id) AS id, source, started, finished, pages, products, \
     changes, complete, error, error_class, skipped ?? [] AS skipped, notes ?? [] AS notes";

impl Store {
    /// Records a poll run (at its start, and again when it ends); a new run
    /// also joins the source's recent ones, in the same transaction.
    pub async fn save_run(&self, run: &PollRun) -> Result<()> {
        self.save_run_as(run, run.finished.is_none()).await
    }

    async fn save_run_as(&self, run: &PollRun, new: bool) -> Result<()> {
        let recent = if !new {
            // Saved when it started, and joined the recent ones then.
            None
        } else {
            match self.recent(&run.source).await? {
                Some(r) => r.with(run.id),
                // Runs saved before `poll_recent` existed: start from them.
                None => Recent {
                    ids: self
                        .indexed_runs(&run.source, RECENT_RUNS)
                        .await?
                        .iter()
                        .map(|r| r.id)
                        .collect(),
                }
                .with(run.id),
            }
        };
        let sql = if recent.is_some() {
            "BEGIN TRANSACTION;
             UPSERT type::record('poll_run', $id) CONTENT $row;
             UPSERT type::record('poll_recent', $source) CONTENT $recent;
             COMMIT TRANSACTION;"
        } else {
            "UPSERT type::record('poll_run', $id) CONTENT $row"
        };
        self.db()
            .query(sql)
            .bind(json!({
                "id": run.id,
                "row": to_json(run),
                "source": run.source,
                "recent": to_json(&recent.unwrap_or_default()),
            }))
            .await?
            .check()?;
        Ok(())
    }

    /// A source's latest runs, newest first: up to [`RECENT_RUNS`] by the ids
    /// kept beside the source, more from every kept run.
    pub async fn runs(&self, source: &str, limit: usize) -> Result<Vec<PollRun>> {
        self.write_queued_runs_first().await;
        let Some(recent) = self.recent(source).await?.filter(|_| limit <= RECENT_RUNS) else {
            return self.indexed_runs(source, limit).await;
        };
        let ids: Vec<i64> = recent.ids.into_iter().take(limit).collect();
        if ids.is_empty() {
            return Ok(vec![]);
        }
        self.runs_by_id(&ids).await
    }

    /// The latest runs of each of `sources` (the sources list): two queries
    /// however many sources there are, for up to [`RECENT_RUNS`] each.
    pub async fn latest_runs(
        &self,
        sources: &[String],
        limit: usize,
    ) -> Result<HashMap<String, Vec<PollRun>>> {
        self.write_queued_runs_first().await;
        let mut out: HashMap<String, Vec<PollRun>> = HashMap::new();
        if limit > RECENT_RUNS {
            for s in sources {
                out.insert(s.clone(), self.runs(s, limit).await?);
            }
            return Ok(out);
        }
        #[derive(Deserialize)]
        struct Row {
            source: String,
            ids: Vec<i64>,
        }
        let mut res = self
            .db()
            .query("SELECT record::id(id) AS source, ids FROM poll_recent WHERE record::id(id) IN $sources")
            .bind(json!({ "sources": sources }))
            .await?
            .check()?;
        let rows: HashMap<String, Vec<i64>> = decode::<Row>(res.take(0)?)?
            .into_iter()
            .map(|r| (r.source, r.ids))
            .collect();
        let mut ids: Vec<i64> = vec![];
        for s in sources {
            match rows.get(s) {
                Some(kept) => ids.extend(kept.iter().take(limit)),
                // Runs saved before `poll_recent` existed.
                None => {
                    out.insert(s.clone(), self.indexed_runs(s, limit).await?);
                }
            }
        }
        if !ids.is_empty() {
            let runs = self.runs_by_id(&ids).await?;
            for run in runs {
                out.entry(run.source.clone()).or_default().push(run);
            }
        }
        Ok(out)
    }

    /// Runs by id, newest first (ids from our own store).
    async fn runs_by_id(&self, ids: &[i64]) -> Result<Vec<PollRun>> {
        // Numbers, written into the query as such.
        let targets = ids
            .iter()
            .map(|id| format!("poll_run:{id}"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut res = self
            .db()
            .query(format!("SELECT {RUN_FIELDS} FROM {targets}"))
            .await?
            .check()?;
        let mut runs: Vec<PollRun> = decode(res.take(0)?)?;
        runs.sort_by(|a, b| b.id.cmp(&a.id));
        Ok(runs)
    }

    /// The ids kept beside a source; `None` for a source whose runs were
    /// all saved before they were kept.
    pub(super) async fn recent(&self, source: &str) -> Result<Option<Recent>> {
        let mut res = self
            .db()
            .query("SELECT ids FROM type::record('poll_recent', $s)")
            .bind(json!({ "s": source }))
            .await?
            .check()?;
        Ok(decode::<Recent>(res.take(0)?)?.into_iter().next())
    }

    /// A source's latest runs from every kept run (through its index).
    pub(super) async fn indexed_runs(&self, source: &str, limit: usize) -> Result<Vec<PollRun>> {
        let mut res = self
            .db()
            .query(format!(
                "SELECT {RUN_FIELDS} FROM poll_run WHERE source = $s ORDER BY id DESC LIMIT $limit"
            ))
            .bind(json!({ "s": source, "limit": limit }))
            .await?
            .check()?;
        decode(res.take(0)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_joins_once_newest_first_and_the_list_is_bounded() {
        let mut recent = Recent::default();
        for id in [3, 1, 2] {
            recent = recent.with(id).expect("a new run joins");
        }
        assert_eq!(recent.ids, vec![3, 2, 1]);
        assert!(
            Recent { ids: vec![3, 2, 1] }.with(2).is_none(),
            "a run saved again when it ends is not written again"
        );
        for id in 4..40 {
            recent = recent.with(id).unwrap();
        }
        assert_eq!(recent.ids.len(), RECENT_RUNS);
        assert_eq!(recent.ids[0], 39);
        assert_eq!(recent.ids[RECENT_RUNS - 1], 30);
    }
}
