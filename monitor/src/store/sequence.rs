//! Event sequence numbers, handed out by the database.
//!
//! The counter is the record `meta:events`: the transaction that writes a
//! batch's events adds their number to `last_seq` and numbers them up to the
//! new value ([`NUMBER_EVENTS`]). On one machine only this process writes it.
//! On a SurrealDB server shared by several instances two transactions may
//! write it at once; the database lets the first commit and fails the other
//! with a transaction conflict, which [`with_retry`] runs again on the new
//! count. Numbers are therefore unique, dense, and committed in order: a
//! reader that sees event N has every event below it.
//!
//! Which numbers this process has seen: on one machine, every event is its
//! own, and `last_seq` rises as batches commit. On a shared server the events
//! reach live clients through the follower (`crate::follow`), in order with
//! every other instance's; `last_seq` then rises as the follower publishes,
//! and the store remembers which numbers were its own so the follower does not
//! load those products again.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::atomic::Ordering;
use std::time::Duration;

use rand::Rng;

use super::{Result, Store, StoreError};

/// Numbers `$events` (written without numbers) from the counter and inserts
/// them keyed `[seq]`; its last statement but one (before COMMIT) returns the
/// number before the first.
pub(super) const NUMBER_EVENTS: &str = "\
LET $count = array::len($events);
LET $last = (UPSERT meta:events SET last_seq = (last_seq ?? 0) + $count RETURN VALUE last_seq)[0];
LET $base = $last - $count;
INSERT INTO event $events.map(|$e, $i| object::extend($e, { id: [$base + $i + 1], seq: $base + $i + 1 }));
RETURN $base;
";

/// How many times a transaction that met a conflict is tried in all.
const ATTEMPTS: u32 = 12;

/// Whether the database refused a commit because another transaction wrote
/// the same records first (safe to run again).
pub(crate) fn is_conflict(e: &StoreError) -> bool {
    match e {
        StoreError::Db(e) => {
            e.query_details() == Some(&surrealdb::types::QueryError::TransactionConflict)
                || e.to_string().contains("can be retried")
        }
        _ => false,
    }
}

/// Runs `attempt` until it does not meet a transaction conflict (at most
/// [`ATTEMPTS`] times), waiting a few random milliseconds more each time so
/// two instances do not collide again in step.
pub(super) async fn with_retry<T, F, Fut>(mut attempt: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let mut tries = 0u32;
    loop {
        tries += 1;
        match attempt().await {
            Err(e) if tries < ATTEMPTS && is_conflict(&e) => {
                let most = 4u64 << tries.min(6);
                let wait = rand::rng().random_range(1..=most);
                tokio::time::sleep(Duration::from_millis(wait)).await;
            }
            other => return other,
        }
    }
}

/// The event numbers this process committed and the follower has not
/// published yet (shared server only), as inclusive ranges, oldest first.
#[derive(Default)]
pub(super) struct OwnEvents(parking_lot::Mutex<VecDeque<(u64, u64)>>);

/// At most this many ranges are remembered; a follower far behind treats
/// older ones as another instance's (it loads those products again: slower,
/// still right).
const OWN_RANGES: usize = 4096;

impl Store {
    /// Whether several instances may share this database (a SurrealDB
    /// server): events then reach live clients through the follower.
    pub fn is_shared(&self) -> bool {
        self.shared
    }

    /// A batch numbered `first..=last` has committed.
    pub(super) fn committed(&self, first: u64, last: u64) {
        if self.shared {
            let mut own = self.own.0.lock();
            if own.len() >= OWN_RANGES {
                own.pop_front();
            }
            own.push_back((first, last));
        } else {
            self.last_seq.fetch_max(last, Ordering::SeqCst);
        }
    }

    /// Whether event `seq` was committed by this process; forgets the ranges
    /// below it (the follower asks in order).
    pub(crate) fn own_event(&self, seq: u64) -> bool {
        let mut own = self.own.0.lock();
        while own.front().is_some_and(|&(_, last)| last < seq) {
            own.pop_front();
        }
        own.front().is_some_and(|&(first, _)| first <= seq)
    }

    /// The newest event number committed by any instance (the counter).
    pub async fn event_counter(&self) -> Result<u64> {
        let mut res = self
            .db()
            .query("SELECT VALUE last_seq FROM ONLY meta:events")
            .await?
            .check()?;
        let n: Option<u64> = res.take(0)?;
        Ok(n.unwrap_or(0))
    }

    /// The follower has published every event up to `seq`.
    pub(crate) fn advance(&self, seq: u64) {
        self.last_seq.fetch_max(seq, Ordering::SeqCst);
    }
}
