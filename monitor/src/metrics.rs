//! Counters the engine keeps for `/metrics`: poll runs by source and outcome,
//! how long runs take, and events by type. The server adds its own (HTTP
//! requests) and renders everything in the Prometheus text format.

use parking_lot::Mutex;
use std::collections::BTreeMap;

/// Upper bounds (seconds) of the poll-duration histogram's buckets.
pub const POLL_BUCKETS: [f64; 10] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

#[derive(Clone, Debug, Default)]
pub struct Histogram {
    /// Cumulative counts per bucket of [`POLL_BUCKETS`].
    pub buckets: [u64; POLL_BUCKETS.len()],
    pub count: u64,
    pub sum: f64,
}

impl Histogram {
    pub fn observe(&mut self, secs: f64) {
        for (i, le) in POLL_BUCKETS.iter().enumerate() {
            if secs <= *le {
                self.buckets[i] += 1;
            }
        }
        self.count += 1;
        self.sum += secs;
    }
}

#[derive(Default)]
struct Inner {
    /// (source, outcome) -> runs; outcome is "ok" or the failure class.
    polls: BTreeMap<(String, String), u64>,
    poll_seconds: Histogram,
    events: BTreeMap<String, u64>,
}

#[derive(Default)]
pub struct EngineMetrics {
    inner: Mutex<Inner>,
    /// Restarts of long-lived tasks (schedulers, senders, followers).
    pub restarts: crate::supervise::Restarts,
    /// Pages read (product pages, catalogue pages) that were the same as the
    /// last read (not parsed).
    pub unchanged_pages: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

/// A copy of the counters at one moment.
#[derive(Clone, Debug, Default)]
pub struct MetricsSnapshot {
    pub polls: Vec<((String, String), u64)>,
    pub poll_seconds: Histogram,
    pub events: Vec<(String, u64)>,
    /// `(task, restarts)`.
    pub restarts: Vec<(&'static str, u64)>,
    pub unchanged_pages: u64,
}

impl EngineMetrics {
    pub(crate) fn poll(&self, source: &str, outcome: &str, secs: f64) {
        let mut m = self.inner.lock();
        *m.polls
            .entry((source.to_string(), outcome.to_string()))
            .or_default() += 1;
        m.poll_seconds.observe(secs);
    }

    pub(crate) fn events<'a>(&self, kinds: impl Iterator<Item = &'a str>) {
        let mut m = self.inner.lock();
        for k in kinds {
            *m.events.entry(k.to_string()).or_default() += 1;
        }
    }

    pub fn snapshot(&self) -> MetricsSnapshot {
        let m = self.inner.lock();
        MetricsSnapshot {
            polls: m.polls.iter().map(|(k, v)| (k.clone(), *v)).collect(),
            poll_seconds: m.poll_seconds.clone(),
            events: m.events.iter().map(|(k, v)| (k.clone(), *v)).collect(),
            restarts: self.restarts.snapshot(),
            unchanged_pages: self
                .unchanged_pages
                .load(std::sync::atomic::Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let mut h = Histogram::default();
        h.observe(0.3);
        h.observe(7.0);
        assert_eq!(h.buckets[2], 0); // <= 0.25
        assert_eq!(h.buckets[3], 1); // <= 0.5
        assert_eq!(h.buckets[7], 2); // <= 10
        assert_eq!(h.count, 2);
        assert!((h.sum - 7.3).abs() < 1e-9);
    }
}
