//! Retention in the store: the queries that keep the tables from growing
//! without bound, each working on a bounded batch so that it never holds
//! the database for long (the background task in `crate::retention` calls
//! them in a loop, yielding between batches).
//!
//! - Runs: a source's runs beyond its newest `keep` are folded into one
//!   aggregate per source and day (`poll_day`: count, failures, a duration
//!   histogram) and deleted, in one transaction.
//! - Events: the oldest events older than the window are deleted from the
//!   front, and `meta:events_oldest` says where the kept ones start, so a
//!   client asking for older ones is told to reload instead of getting a gap.
//! - History: a product's price and stock points older than a cut-off are
//!   thinned to the last point of each hour.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

use model::{PollDay, PollRun};

use super::{decode, root_error, Result, Store};

const EVENTS_OLDEST: &str = "events_oldest";

impl Store {
    async fn rows_of(&self, sql: &str, vars: Value) -> Result<Vec<Value>> {
        let mut res = self.db().query(sql).bind(vars).await?.check()?;
        Ok(res.take(0)?)
    }

    /// The oldest event still kept (1 until retention has removed any).
    pub fn oldest_event(&self) -> u64 {
        self.oldest_event.load(Ordering::SeqCst).max(1)
    }

    pub(super) async fn load_oldest_event(&self) -> Result<()> {
        let oldest = self
            .meta(EVENTS_OLDEST)
            .await?
            .and_then(|v| v.as_u64())
            .unwrap_or(1);
        self.oldest_event.store(oldest, Ordering::SeqCst);
        Ok(())
    }

    /// Up to `batch` of `source`'s runs beyond its newest `keep`, oldest first.
    pub async fn runs_beyond(
        &self,
        source: &str,
        keep: usize,
        batch: usize,
    ) -> Result<Vec<PollRun>> {
        self.write_queued_runs_first().await;
        let mut runs: Vec<PollRun> = decode(
            self.rows_of(
                "SELECT record::id(id) AS id, source, started, finished, pages, products, changes,
                        complete, error, error_class, skipped ?? [] AS skipped
                 FROM poll_run WHERE source = $s ORDER BY id DESC START $keep LIMIT $batch",
                json!({ "s": source, "keep": keep, "batch": batch }),
            )
            .await?,
        )?;
        runs.reverse();
        Ok(runs)
    }

    /// Folds finished `runs` into their days' aggregates and deletes them,
    /// in one transaction (runs still going are left alone).
    pub async fn fold_runs(&self, runs: &[PollRun]) -> Result<usize> {
        let done: Vec<&PollRun> = runs.iter().filter(|r| r.finished.is_some()).collect();
        if done.is_empty() {
            return Ok(0);
        }
        let mut days: BTreeMap<(String, String), PollDay> = BTreeMap::new();
        for r in &done {
            let day = r.started.format("%Y-%m-%d").to_string();
            let d = days
                .entry((r.source.clone(), day.clone()))
                .or_insert_with(|| PollDay {
                    source: r.source.clone(),
                    day,
                    ..PollDay::default()
                });
            let ms = r
                .finished
                .map(|f| (f - r.started).num_milliseconds().max(0) as u64)
                .unwrap_or(0);
            d.add(ms, r.error.is_some());
        }
        // Merge with what the days already hold (only this task writes them).
        let keys: Vec<Value> = days.keys().map(|(s, d)| json!([s, d])).collect();
        let stored: Vec<PollDay> = decode(
            self.rows_of(
                "SELECT * OMIT id FROM poll_day WHERE [source, day] IN $keys",
                json!({ "keys": keys }),
            )
            .await?,
        )?;
        for s in stored {
            if let Some(d) = days.get_mut(&(s.source.clone(), s.day.clone())) {
                d.merge(&s);
            }
        }
        let rows: Vec<Value> = days
            .values()
            .map(|d| json!({ "key": [d.source, d.day], "row": d }))
            .collect();
        let ids: Vec<i64> = done.iter().map(|r| r.id).collect();
        let mut response = self
            .db()
            .query(
                "BEGIN TRANSACTION;
                 FOR $d IN $days { UPSERT type::record('poll_day', $d.key) CONTENT $d.row; };
                 FOR $id IN $ids { DELETE type::record('poll_run', $id); };
                 COMMIT TRANSACTION;",
            )
            .bind(json!({ "days": rows, "ids": ids }))
            .await?;
        root_error(response.take_errors())?;
        Ok(done.len())
    }

    /// A source's daily aggregates, newest day first.
    pub async fn days(&self, source: &str, limit: usize) -> Result<Vec<PollDay>> {
        decode(
            self.rows_of(
                "SELECT * OMIT id FROM poll_day WHERE source = $s ORDER BY day DESC LIMIT $limit",
                json!({ "s": source, "limit": limit }),
            )
            .await?,
        )
    }

    /// Deletes daily aggregates of days before `before` ("YYYY-MM-DD").
    pub async fn prune_days(&self, before: &str) -> Result<()> {
        self.rows_of(
            "DELETE poll_day WHERE day < $before",
            json!({ "before": before }),
        )
        .await?;
        Ok(())
    }

    /// Deletes up to `batch` of the oldest events that are older than
    /// `before`, always keeping the newest `keep_at_least`. Returns how many
    /// went (0: nothing more to do now).
    pub async fn prune_events(
        &self,
        before: DateTime<Utc>,
        keep_at_least: u64,
        batch: usize,
    ) -> Result<usize> {
        #[derive(Deserialize)]
        struct Row {
            seq: u64,
            at: DateTime<Utc>,
        }
        let oldest = self.oldest_event();
        let newest_prunable = self.last_seq().saturating_sub(keep_at_least);
        if oldest > newest_prunable || batch == 0 {
            return Ok(0);
        }
        let upper = oldest.saturating_add(batch as u64 - 1).min(newest_prunable);
        let rows: Vec<Row> = decode(
            self.rows_of(
                "SELECT seq, at FROM event:[$from]..=[$to]",
                json!({ "from": oldest, "to": upper }),
            )
            .await?,
        )?;
        // Events are in time order; stop at the first one inside the window.
        let cut = rows
            .iter()
            .take_while(|r| r.at < before)
            .last()
            .map(|r| r.seq);
        let Some(cut) = cut else {
            // The range may be empty only past a gap: move the start on.
            if rows.is_empty() && upper < newest_prunable {
                self.set_meta(EVENTS_OLDEST, json!(upper + 1)).await?;
                self.oldest_event.store(upper + 1, Ordering::SeqCst);
            }
            return Ok(0);
        };
        let mut response = self
            .db()
            .query(
                "BEGIN TRANSACTION;
                 DELETE event:[$from]..=[$to];
                 UPSERT type::record('meta', $key) SET value = $next;
                 COMMIT TRANSACTION;",
            )
            .bind(json!({ "from": oldest, "to": cut, "key": EVENTS_OLDEST, "next": cut + 1 }))
            .await?;
        root_error(response.take_errors())?;
        self.oldest_event.store(cut + 1, Ordering::SeqCst);
        Ok(rows.iter().filter(|r| r.seq <= cut).count())
    }

    /// Thins `product`'s price and stock points from before `before_ms` to
    /// the last point of each hour. Returns how many points went.
    pub async fn compact_history(&self, product: &str, before_ms: i64) -> Result<usize> {
        #[derive(Deserialize)]
        struct Point {
            ts: i64,
        }
        let mut removed = 0;
        for table in ["price_history", "stock_history"] {
            let points: Vec<Point> = decode(
                self.rows_of(
                    &format!("SELECT ts FROM {table}:[$p, NONE]..[$p, $before]"),
                    json!({ "p": product, "before": before_ms }),
                )
                .await?,
            )?;
            // Points come in time order: keep each hour's last.
            let mut thin: Vec<i64> = vec![];
            for pair in points.windows(2) {
                if pair[0].ts / 3_600_000 == pair[1].ts / 3_600_000 {
                    thin.push(pair[0].ts);
                }
            }
            if thin.is_empty() {
                continue;
            }
            removed += thin.len();
            let mut response = self
                .db()
                .query(format!(
                    "BEGIN TRANSACTION;
                     FOR $ts IN $thin {{ DELETE type::record('{table}', [$p, $ts]); }};
                     COMMIT TRANSACTION;"
                ))
                .bind(json!({ "p": product, "thin": thin }))
                .await?;
            root_error(response.take_errors())?;
        }
        Ok(removed)
    }
}
