//! What picks learn from, per user (see `model::picks`): the products a
//! user opened, the grid filters they used and the watch rules they made.
//!
//! One row per signal, keyed `signal:[user, kind, key]`, so a repeat (the
//! same product opened again, the same filters) counts up the row it has
//! instead of adding one. The write that keeps a signal also deletes the
//! user's rows beyond their newest [`MAX_SIGNALS`] and any older than
//! [`MAX_AGE_DAYS`], in the same transaction, so a user's rows stay
//! bounded without a background task. The rows are in the database, so
//! they survive a restart and every instance on one database sees the same.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use model::picks::{Noted, Signal, MAX_AGE_DAYS, MAX_SIGNALS};

use super::{root_error, Result, Store};

impl Store {
    /// Keeps one of `user`'s signals as given at `at` (a repeat counts up
    /// the one kept), and forgets what is beyond the bounds.
    pub async fn note_signal(&self, user: &str, signal: &Signal, at: DateTime<Utc>) -> Result<()> {
        let cutoff = at - Duration::days(MAX_AGE_DAYS);
        let mut res = self
            .db()
            .query(
                "BEGIN TRANSACTION;
                 UPSERT type::record('signal', [$user, $kind, $key])
                     SET user = $user, signal = $signal, at = $at, ts = $ts, times = (times ?? 0) + 1;
                 LET $beyond = (SELECT id, ts FROM signal WHERE user = $user ORDER BY ts DESC START $keep).id;
                 DELETE $beyond;
                 DELETE signal WHERE user = $user AND ts < $cutoff;
                 COMMIT TRANSACTION;",
            )
            .bind(json!({
                "user": user,
                "kind": signal.kind().as_str(),
                "key": signal.key(),
                "signal": signal,
                "at": at,
                "ts": at.timestamp_millis(),
                "keep": MAX_SIGNALS,
                "cutoff": cutoff.timestamp_millis(),
            }))
            .await?;
        root_error(res.take_errors())
    }

    /// `user`'s signals, newest first.
    pub async fn signals(&self, user: &str) -> Result<Vec<Noted>> {
        self.all(
            "SELECT signal, at, times, ts FROM signal WHERE user = $user ORDER BY ts DESC LIMIT $keep",
            json!({ "user": user, "keep": MAX_SIGNALS }),
        )
        .await
    }

    /// Forgets everything picks learned about `user` ("Clear what
    /// Dropwatch learned"); returns how many signals were kept.
    pub async fn forget_signals(&self, user: &str) -> Result<usize> {
        let mut res = self
            .db()
            .query("DELETE signal WHERE user = $user RETURN BEFORE")
            .bind(json!({ "user": user }))
            .await?
            .check()?;
        let gone: Vec<serde_json::Value> = res.take(0)?;
        Ok(gone.len())
    }
}
