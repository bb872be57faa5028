//! Long-lived tasks that come back: a scheduler, sender or follower that
//! panics is restarted, counted and logged, never silently gone.
//!
//! Nothing a shop or a service sends should be able to panic Dropwatch (the
//! numbers are bounded in [`crate::bounds`] and `model::money`), but a bug
//! somewhere must cost one item, not the monitor. Two layers:
//!
//! - [`isolate`] runs one item of work (one event, one notification, one
//!   connector call) and turns a panic into an error for that item, so a
//!   "poison" item that panics on every try is skipped, not retried forever;
//! - [`supervised`] runs a task's loop and starts it again (after a short,
//!   growing pause) when it panics or fails, counting each restart in
//!   [`Restarts`] (`dropwatch_task_restarts_total{task}` on `/metrics`).

use std::any::Any;
use std::collections::BTreeMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use parking_lot::Mutex;

/// How many times each kind of task was restarted since the process started.
#[derive(Clone, Default)]
pub struct Restarts(Arc<Mutex<BTreeMap<&'static str, u64>>>);

impl Restarts {
    pub fn count(&self, task: &'static str) {
        *self.0.lock().entry(task).or_default() += 1;
    }

    /// `(task, restarts)` for every task that was ever restarted.
    pub fn snapshot(&self) -> Vec<(&'static str, u64)> {
        self.0.lock().iter().map(|(k, v)| (*k, *v)).collect()
    }

    pub fn get(&self, task: &str) -> u64 {
        self.0.lock().get(task).copied().unwrap_or(0)
    }
}

/// The message of a panic, for the log and the item's error.
pub fn panic_message(p: &(dyn Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

/// Runs one item of work; a panic in it becomes `Err` with its message.
pub async fn isolate<T>(fut: impl Future<Output = T>) -> Result<T, String> {
    AssertUnwindSafe(fut)
        .catch_unwind()
        .await
        .map_err(|p| panic_message(&*p))
}

/// Runs `make()`'s task until it ends with `Ok`, starting it again whenever
/// it panics or ends with `Err` (each time counted as a restart of `task`,
/// after a pause of 1 s doubling to at most a minute). Aborting the future
/// that runs this stops it for good.
pub async fn supervised<F, Fut>(task: &'static str, restarts: Restarts, mut make: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    let mut pause = Duration::from_secs(1);
    loop {
        let why = match isolate(make()).await {
            Ok(Ok(())) => return,
            Ok(Err(e)) => e,
            Err(panic) => format!("panicked: {panic}"),
        };
        restarts.count(task);
        tracing::error!(task, "task stopped ({why}); starting it again in {pause:?}");
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(60));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn a_task_that_panics_is_restarted_and_counted() {
        let restarts = Restarts::default();
        let runs = Arc::new(AtomicU32::new(0));
        let r = runs.clone();
        supervised("test", restarts.clone(), move || {
            let n = r.fetch_add(1, Ordering::SeqCst);
            async move {
                match n {
                    0 => panic!("boom"),
                    1 => Err("the store went away".to_string()),
                    _ => Ok(()),
                }
            }
        })
        .await;
        assert_eq!(runs.load(Ordering::SeqCst), 3);
        assert_eq!(restarts.get("test"), 2);
    }

    #[tokio::test]
    async fn isolate_turns_a_panic_into_an_error() {
        let e = isolate(async {
            if true {
                panic!("poison item")
            }
            1
        })
        .await
        .unwrap_err();
        assert_eq!(e, "poison item");
        assert_eq!(isolate(async { 7 }).await, Ok(7));
    }
}
