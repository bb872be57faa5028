//! Following the shared event table: how events of every instance reach this
//! instance's live clients when several share one SurrealDB server.
//!
//! On one machine the engine publishes each batch's events as it commits
//! them. On a shared server that would be wrong twice over: a browser would
//! see only the events of the instance it is connected to, and two instances'
//! events could reach it out of order. So there, every instance reads the
//! event table by sequence number (a cursor: the events after the last one it
//! published, an id range read) and publishes what it finds, its own events
//! and everyone else's, in order, each once. Numbers commit in order (see
//! `store/sequence.rs`), so a read never skips one still to come.
//!
//! The follower reads as soon as this instance commits, and otherwise every
//! [`FOLLOW_EVERY`], so another instance's change reaches this instance's
//! clients within that plus one read. For another instance's events it also
//! loads those products from the database, so this instance's pages and
//! insight show them as they are now.
//!
//! SurrealDB's `LIVE SELECT` would push the rows instead, but its docs say it
//! works on a single node only (not on TiKV), so the cursor read is used
//! everywhere.

use std::collections::BTreeSet;
use std::sync::Weak;
use std::time::Duration;

use crate::engine::Engine;

/// How often the table is read when this instance commits nothing.
pub const FOLLOW_EVERY: Duration = Duration::from_millis(100);

/// Events read at once.
const PAGE: usize = 500;

/// After a failed read, the wait before the next grows to this.
const MOST_BACKOFF: Duration = Duration::from_secs(5);

/// Follows the event table until the engine is gone.
pub(crate) async fn run(engine: Weak<Engine>) -> Result<(), String> {
    let mut backoff = FOLLOW_EVERY;
    let mut failing = false;
    loop {
        let Some(e) = engine.upgrade() else {
            return Ok(());
        };
        let wait = match step(&e).await {
            Ok(full) => {
                if failing {
                    tracing::info!("reading the shared event table again");
                    failing = false;
                    backoff = FOLLOW_EVERY;
                }
                if full {
                    Duration::ZERO
                } else {
                    FOLLOW_EVERY
                }
            }
            Err(err) => {
                if !failing {
                    tracing::warn!("cannot read the shared event table ({err}); retrying");
                }
                failing = true;
                backoff = (backoff * 2).min(MOST_BACKOFF);
                backoff
            }
        };
        let wake = e.follow.wake.clone();
        drop(e);
        if !wait.is_zero() {
            tokio::select! {
                _ = wake.notified() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }
}

/// Reads and publishes one page; `true` when it was full (read again now).
async fn step(e: &Engine) -> Result<bool, crate::store::StoreError> {
    let store = e.store();
    let events = store.events_after(store.last_seq(), PAGE).await?;
    let Some(last) = events.last().map(|ev| ev.seq) else {
        return Ok(false);
    };
    let foreign: BTreeSet<String> = events
        .iter()
        .filter(|ev| !store.own_event(ev.seq))
        .filter_map(|ev| ev.product.as_ref().map(|p| p.key.clone()))
        .collect();
    if !foreign.is_empty() {
        let keys: Vec<String> = foreign.into_iter().collect();
        let products = store.load_products_by_key(&keys).await?;
        e.apply_products(products);
    }
    e.hub.publish(&events);
    store.advance(last);
    Ok(events.len() == PAGE)
}

/// The follower's side of the engine: what wakes it.
#[derive(Default)]
pub(crate) struct Follow {
    pub(crate) wake: std::sync::Arc<tokio::sync::Notify>,
}
