//! The recent events trending is worked out from: a compact record of the
//! last 7 days' restocks, sell-outs, drops and arrivals (at most
//! [`MAX_KEPT`]), filled from the stored events at start and kept up by the
//! insight task as events come. Trending itself is computed on request
//! from it (`model::trending`), a scan of memory, no database read.

use std::collections::VecDeque;

use chrono::{DateTime, Utc};
use parking_lot::Mutex;

use model::trending::{self, TrendEvent, TrendWindow, Trending};
use model::Event;

use crate::engine::Engine;
use crate::store::StoreError;

/// Events kept at most (about 100 bytes each).
pub const MAX_KEPT: usize = 100_000;
/// Stored events read back at start, at most.
const BACKFILL: u64 = 50_000;
const WEEK_MS: i64 = 7 * model::history::DAY_MS;

#[derive(Default)]
pub struct TrendLog {
    events: Mutex<VecDeque<TrendEvent>>,
}

impl TrendLog {
    /// Keeps what trending needs of `e`, and forgets what is over a week old.
    pub fn record(&self, e: &Event) {
        let Some(t) = TrendEvent::of(e) else {
            return;
        };
        let mut events = self.events.lock();
        let oldest = t.ts.saturating_sub(WEEK_MS);
        while events.front().is_some_and(|f| f.ts < oldest) || events.len() >= MAX_KEPT {
            events.pop_front();
        }
        events.push_back(t);
    }

    pub fn len(&self) -> usize {
        self.events.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Engine {
    /// Trending over `window`, in `store` or all, with `watched` (product
    /// key, watch rules naming it) from the alert rules.
    pub fn trending(
        &self,
        window: TrendWindow,
        store: Option<&str>,
        watched: &[(String, usize)],
        now: DateTime<Utc>,
    ) -> Trending {
        let events: Vec<TrendEvent> = self.trends.events.lock().iter().cloned().collect();
        trending::compute(&events, watched, window, store, now)
    }

    /// Reads the last week's stored events (up to `until`) into the trend log.
    pub(super) async fn backfill_trends(&self, until: u64) -> Result<(), StoreError> {
        // A restarted task reads them again from the start.
        self.trends.events.lock().clear();
        let week_ago = Utc::now().timestamp_millis().saturating_sub(WEEK_MS);
        let mut since = until.saturating_sub(BACKFILL);
        while since < until {
            let page = self.store().events_since(since, 1000).await?;
            let Some(last) = page.last().map(|e| e.seq) else {
                break;
            };
            for e in page.iter().filter(|e| e.seq <= until) {
                if e.at.timestamp_millis() >= week_ago {
                    self.trends.record(e);
                }
            }
            since = last;
            tokio::task::yield_now().await;
        }
        Ok(())
    }
}
