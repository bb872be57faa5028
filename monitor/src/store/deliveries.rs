//! The delivery queue: every notification to send is a row before it is
//! sent, keyed `[rule, event seq, channel]`, so the same rule and event never
//! queue twice for a channel, and a restart finds what is still to send.
//!
//! A row goes `pending` -> `sent`, or back to `pending` with a later
//! `next_at` after a transient failure, or `failed` (with why) when retrying
//! cannot help. Rows are claimed (`sending`) before the request; a process
//! that stopped between claiming and recording the answer leaves `sending`
//! rows, which [`Store::requeue_unfinished`] puts back at start (the service
//! may then see that one notification twice: HTTP gives no way to know).

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::{decode, Result, Store};

pub use model::Delivery;

fn id(d: &Delivery) -> Value {
    json!([d.rule, d.seq, d.channel])
}

impl Store {
    /// Queues deliveries; those already queued (same rule, event, channel)
    /// are left as they are. Returns how many were new.
    pub async fn enqueue(&self, deliveries: &[Delivery]) -> Result<usize> {
        let mut new = 0;
        for d in deliveries {
            let mut res = self
                .db()
                .query("CREATE type::record('delivery', $id) CONTENT $row")
                .bind(json!({ "id": id(d), "row": d }))
                .await?;
            if res.take_errors().is_empty() {
                new += 1;
            }
        }
        Ok(new)
    }

    /// Claims up to `limit` due deliveries (marks them `sending`), oldest first.
    pub async fn claim_due(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Delivery>> {
        let mut res = self
            .db()
            .query(
                // One statement, so claiming is atomic.
                "UPDATE (SELECT VALUE id FROM delivery
                     WHERE state = 'pending' AND next_at <= $now ORDER BY next_at LIMIT $limit)
                 SET state = 'sending', attempts += 1 WHERE state = 'pending' RETURN AFTER",
            )
            .bind(json!({ "now": now.timestamp_millis(), "limit": limit }))
            .await?
            .check()?;
        let rows: Vec<Value> = res.take(0)?;
        let mut out: Vec<Delivery> = decode(
            rows.into_iter()
                .map(|mut r| {
                    if let Some(o) = r.as_object_mut() {
                        o.remove("id");
                    }
                    r
                })
                .collect(),
        )?;
        out.sort_by_key(|d| (d.next_at, d.seq));
        Ok(out)
    }

    /// Records how a claimed delivery ended.
    pub async fn finish_delivery(&self, d: &Delivery) -> Result<()> {
        self.db()
            .query("UPDATE type::record('delivery', $id) CONTENT $row")
            .bind(json!({ "id": id(d), "row": d }))
            .await?
            .check()?;
        Ok(())
    }

    /// At start: deliveries claimed by a process that stopped before it knew
    /// the answer go back to the queue.
    pub async fn requeue_unfinished(&self) -> Result<()> {
        self.db()
            .query("UPDATE delivery SET state = 'pending' WHERE state = 'sending'")
            .await?
            .check()?;
        Ok(())
    }

    /// The newest deliveries, for the notification log.
    pub async fn deliveries(&self, limit: usize) -> Result<Vec<Delivery>> {
        let mut res = self
            .db()
            .query("SELECT * OMIT id FROM delivery ORDER BY created DESC, seq DESC LIMIT $limit")
            .bind(json!({ "limit": limit }))
            .await?
            .check()?;
        let rows: Vec<Value> = res.take(0)?;
        decode(rows)
    }

    /// How many deliveries are in each state (for /metrics).
    pub async fn delivery_counts(&self) -> Result<Vec<(String, u64)>> {
        let mut res = self
            .db()
            .query("SELECT state, count() AS n FROM delivery GROUP BY state")
            .await?
            .check()?;
        let rows: Vec<Value> = res.take(0)?;
        Ok(rows
            .iter()
            .filter_map(|r| Some((r["state"].as_str()?.to_string(), r["n"].as_u64()?)))
            .collect())
    }
}
