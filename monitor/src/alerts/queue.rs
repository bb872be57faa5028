//! The delivery queue: a supervised follower reads the engine's events
//! from where it left off and queues a notification per rule that fires
//! and channel it names; a supervised sender sends what is due, retrying
//! transient failures with back-off and giving up after [`MAX_ATTEMPTS`].
//! Stopping records the notification in flight, so a restart neither
//! repeats nor loses one.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use serde_json::json;

use model::Delivery;

use super::rules::{wants_deal, Matcher};
use super::send::{send, Message, SendError};
use super::service::AlertService;
use crate::store::Store;
use crate::supervise::{isolate, panic_message, supervised};
use crate::Engine;

/// The task's name among the instances sharing a server (see `crate::lease`).
const TASK: &str = "alerts";

/// Where the follower left off, and its cooldowns (in the store's meta).
const CURSOR: &str = "alerts_seq";
const MATCHER: &str = "alerts_matcher";

/// How often the instance running the alerts on a shared server asks whether
/// rules or channels were edited (on another instance).
const CONFIG_CHECK_EVERY: Duration = Duration::from_millis(100);

/// On a shared server: rules and channels as edited on any instance.
#[derive(Default)]
struct ConfigCheck {
    version: Option<u64>,
    at: Option<std::time::Instant>,
}

impl ConfigCheck {
    fn due(&self) -> bool {
        self.at.is_some_and(|t| t.elapsed() >= CONFIG_CHECK_EVERY)
    }

    /// Reads them again when their version moved (nothing on one machine,
    /// where every edit goes through this service).
    async fn check(&mut self, alerts: &AlertService, store: &Store) {
        if !store.is_shared() {
            return;
        }
        self.at = Some(std::time::Instant::now());
        match store.alerts_config_version().await {
            Ok(v) if self.version != Some(v) => {
                alerts.reload().await;
                self.version = Some(v);
            }
            Ok(_) => {}
            Err(e) => tracing::warn!("could not ask whether alert rules changed: {e}"),
        }
    }
}

/// How many times a transient failure is retried before giving up.
pub const MAX_ATTEMPTS: u32 = 8;

/// Back-off after the `attempt`-th failure: 2 s, 4 s, 8 s ... up to 10 min.
fn backoff(attempt: u32) -> Duration {
    Duration::from_secs((2u64 << attempt.min(10).saturating_sub(1)).min(600))
}

impl AlertService {
    /// Starts following the engine's events and sending.
    /// Both run supervised: one that fails is started again and counted
    /// (`dropwatch_task_restarts_total`), and one event or notification that
    /// makes them panic is skipped, not retried for ever.
    pub fn start(self: &Arc<Self>, engine: Arc<Engine>) {
        let restarts = engine.restarts();
        let store = engine.store().clone();
        // On a shared server one instance matches and sends for all.
        engine.want_task(TASK);
        let watcher = store.is_shared().then(|| {
            let (me, store) = (self.clone(), store.clone());
            // Every instance shows (and checks edits against) the rules and
            // channels as edited on any instance, not only the one sending.
            tokio::spawn(async move {
                let mut config = ConfigCheck::default();
                while !me.stopping.load(std::sync::atomic::Ordering::SeqCst) {
                    config.check(&me, &store).await;
                    tokio::time::sleep(CONFIG_CHECK_EVERY).await;
                }
            })
        });
        let (me, follower_store, follower_engine) = (self.clone(), store.clone(), engine.clone());
        let follower = tokio::spawn(supervised("alert_follower", restarts.clone(), move || {
            let (me, store, engine) = (me.clone(), follower_store.clone(), follower_engine.clone());
            async move {
                loop {
                    engine.until_holds_task(TASK).await;
                    if !me.follow(&engine, &store).await? {
                        return Ok(());
                    }
                }
            }
        }));
        let me = self.clone();
        let sender = tokio::spawn(supervised("alert_sender", restarts, move || {
            let (me, store, engine) = (me.clone(), store.clone(), engine.clone());
            async move {
                let mut held = false;
                while !me.stopping.load(std::sync::atomic::Ordering::SeqCst) {
                    let now_held = engine.holds_task(TASK);
                    if now_held && !held {
                        // Claimed but never finished (a crash, this task's
                        // last failure, or the instance that sent before
                        // died): back to the queue.
                        let _ = store.requeue_unfinished().await;
                    }
                    held = now_held;
                    if held {
                        me.send_due(&store).await;
                    }
                    tokio::select! {
                        _ = me.wake.notified() => {}
                        _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                    }
                }
                Ok(())
            }
        }));
        self.tasks
            .lock()
            .extend([follower, sender].into_iter().chain(watcher));
    }

    /// Follows the engine's events from the last one handled and queues a
    /// notification per rule that fires and channel it names, while this
    /// instance runs the alerts. `Ok(false)` when the engine shuts down,
    /// `Ok(true)` when another instance took the alerts over.
    async fn follow(&self, engine: &Engine, store: &Arc<Store>) -> Result<bool, String> {
        let mut config = ConfigCheck::default();
        config.check(self, store).await;
        let since = store
            .meta(CURSOR)
            .await
            .map_err(|e| format!("could not read where the alerts left off: {e}"))?
            .and_then(|v| v.as_u64())
            .unwrap_or_else(|| store.last_seq());
        let saved = store
            .meta(MATCHER)
            .await
            .map_err(|e| format!("could not read the alerts' cooldowns: {e}"))?
            .and_then(|v| v.get("matcher").cloned());
        let mut feed = engine.internal_feed(since);
        let mut cursor = crate::live::FollowCursor::new(CURSOR, since);
        let mut matcher = Matcher::from_saved(saved);
        loop {
            let event = match feed.next().await {
                Ok(Some(event)) => event,
                Ok(None) => return Ok(false),
                Err(e) => return Err(format!("could not read the events: {e}")),
            };
            if !engine.holds_task(TASK) {
                return Ok(true);
            }
            if config.due() {
                config.check(self, store).await;
            }
            let rules = self.rules();
            // Rules on the deal score judge the product as it is after
            // this event (its history already holds it).
            let deal = match &event.product {
                Some(p) if wants_deal(&rules, &event) => {
                    engine.assess_deal(&p.key).await.ok().flatten()
                }
                _ => None,
            };
            if event.seq % 1024 == 0 {
                matcher.prune(&rules, Utc::now());
            }
            self.matcher_keys
                .store(matcher.len(), std::sync::atomic::Ordering::Relaxed);
            // One event's matching and wording: a panic costs this event's
            // alerts, never the feed (nor every later start).
            let queue = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let fired = matcher.fire_with(&rules, &event, deal.as_ref());
                if fired.is_empty() {
                    return vec![];
                }
                let m = Message::from_event(&event);
                let now = Utc::now();
                fired
                    .iter()
                    .flat_map(|r| r.channels.iter().map(move |c| (r, c)))
                    .map(|(r, c)| Delivery {
                        rule: r.id.clone(),
                        seq: event.seq,
                        channel: c.clone(),
                        title: m.title.clone(),
                        body: serde_json::to_string(&message_json(&m)).unwrap_or_default(),
                        state: "pending".into(),
                        attempts: 0,
                        next_at: now.timestamp_millis(),
                        last_error: None,
                        created: now,
                        sent_at: None,
                    })
                    .collect::<Vec<Delivery>>()
            }))
            .unwrap_or_else(|p| {
                tracing::error!(
                    seq = event.seq,
                    "matching event {} against the rules failed: {}; skipped",
                    event.seq,
                    panic_message(&*p)
                );
                vec![]
            });
            if !queue.is_empty() {
                if let Err(e) = store.enqueue(&queue).await {
                    tracing::warn!("could not queue notifications for event {}: {e}", event.seq);
                }
                self.wake.notify_one();
            }
            // The cooldowns before the cursor: a replayed event then finds
            // its firing already recorded.
            if let Some(m) = matcher.saved() {
                if let Err(e) = store.set_meta(MATCHER, json!({ "matcher": m })).await {
                    tracing::warn!("could not save the alerts' cooldowns: {e}");
                }
            }
            cursor.done(store, &feed).await;
        }
    }

    /// Stops following events at once, and sending after the notification
    /// in flight has been recorded (so a restart neither repeats nor loses
    /// it). What is left in the queue is sent after the next start.
    pub async fn stop(&self) {
        self.stopping
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.wake.notify_one();
        let tasks: Vec<_> = self.tasks.lock().drain(..).collect();
        let mut tasks = tasks.into_iter();
        if let Some(follower) = tasks.next() {
            follower.abort();
            let _ = follower.await;
        }
        for sender in tasks {
            let _ = sender.await;
        }
    }

    async fn send_due(&self, store: &Store) {
        let Ok(due) = store.claim_due(Utc::now(), 50).await else {
            return;
        };
        for mut d in due {
            if self.stopping.load(std::sync::atomic::Ordering::SeqCst) {
                // Claimed but not sent: back to the queue for the next start.
                d.state = "pending".into();
                d.attempts = d.attempts.saturating_sub(1);
                let _ = store.finish_delivery(&d).await;
                continue;
            }
            let loaded = self.channels.read().get(&d.channel).cloned();
            let kind = loaded
                .as_ref()
                .map(|l| l.info.kind.clone())
                .unwrap_or_else(|| "unknown".into());
            let channel = loaded.map(|l| l.channel);
            let outcome = match channel {
                None => Err(SendError::Permanent(format!(
                    "channel {:?} no longer exists",
                    d.channel
                ))),
                Some(c) => match message_from_json(&d.body) {
                    // A panic while sending fails this notification only.
                    Some(m) => isolate(send(&self.http, &self.endpoints, &c, &m)).await.unwrap_or_else(|p| {
                        Err(SendError::Permanent(format!("sending failed inside Dropwatch ({p}); this is a bug, please report it")))
                    }),
                    None => Err(SendError::Permanent(
                        "the queued message could not be read".into(),
                    )),
                },
            };
            let now = Utc::now();
            self.count(
                &kind,
                match &outcome {
                    Ok(()) => "sent",
                    Err(SendError::RetryAfter(_) | SendError::Transient(_)) => "retried",
                    Err(_) => "failed",
                },
            );
            match outcome {
                Ok(()) => {
                    d.state = "sent".into();
                    d.sent_at = Some(now);
                    d.last_error = None;
                }
                Err(SendError::Permanent(why)) => {
                    d.state = "failed".into();
                    d.last_error = Some(why);
                }
                Err(SendError::Gone(why)) => {
                    d.state = "failed".into();
                    d.last_error = Some(format!("{why}; the channel was removed"));
                    tracing::info!("push channel {} is gone; removing it", d.channel);
                    if let Err(e) = self.forget_channel(&d.channel).await {
                        tracing::warn!("could not remove a gone push channel: {e}");
                    }
                }
                Err(e) if d.attempts >= MAX_ATTEMPTS => {
                    d.state = "failed".into();
                    d.last_error = Some(format!("gave up after {} attempts: {e}", d.attempts));
                }
                Err(SendError::RetryAfter(wait)) => {
                    d.state = "pending".into();
                    d.next_at = retry_at(now, wait);
                    d.last_error = Some(format!("rate limited; retrying after {wait:?}"));
                }
                Err(SendError::Transient(why)) => {
                    d.state = "pending".into();
                    let wait = backoff(d.attempts);
                    d.next_at = retry_at(now, wait);
                    d.last_error = Some(why);
                }
            }
            self.record(store, &d).await;
        }
    }

    /// Records a notification's outcome, trying again while the database is
    /// away (up to [`RECORD_FOR`]): one sent but not recorded as sent would
    /// be sent again by whoever runs the alerts next.
    async fn record(&self, store: &Store, d: &Delivery) {
        let deadline = tokio::time::Instant::now() + RECORD_FOR;
        let mut told = false;
        loop {
            let Err(e) = store.finish_delivery(d).await else {
                if told {
                    tracing::info!("recorded the notification's outcome after all");
                }
                return;
            };
            let stopping = self.stopping.load(std::sync::atomic::Ordering::SeqCst);
            if stopping || tokio::time::Instant::now() >= deadline {
                tracing::warn!(
                    "could not record a notification's outcome ({e}); it may be sent again"
                );
                return;
            }
            if !told {
                tracing::warn!("could not record a notification's outcome ({e}); trying again");
                told = true;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

/// How long the outcome of a notification is retried while the database is away.
const RECORD_FOR: Duration = Duration::from_secs(30);

/// When a delivery that must wait `wait` is due again (waits are bounded, and
/// the sum saturates rather than panicking).
fn retry_at(now: chrono::DateTime<Utc>, wait: Duration) -> i64 {
    chrono::Duration::from_std(wait.min(crate::bounds::MAX_WAIT))
        .ok()
        .and_then(|w| now.checked_add_signed(w))
        .unwrap_or(now)
        .timestamp_millis()
}

fn message_json(m: &Message) -> serde_json::Value {
    json!({ "title": m.title, "body": m.body, "url": m.url, "image": m.image,
            "good_news": m.good_news, "sizes_in_stock": m.sizes_in_stock, "at": m.at })
}

fn message_from_json(text: &str) -> Option<Message> {
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    Some(Message {
        title: v["title"].as_str()?.to_string(),
        body: v["body"].as_str().unwrap_or_default().to_string(),
        url: v["url"].as_str().map(str::to_string),
        image: v["image"].as_str().map(str::to_string),
        good_news: v["good_news"].as_bool().unwrap_or(false),
        sizes_in_stock: serde_json::from_value(v["sizes_in_stock"].clone()).unwrap_or_default(),
        at: serde_json::from_value(v["at"].clone()).ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_ten_minutes() {
        assert_eq!(backoff(1), Duration::from_secs(2));
        assert_eq!(backoff(2), Duration::from_secs(4));
        assert_eq!(backoff(5), Duration::from_secs(32));
        assert_eq!(backoff(30), Duration::from_secs(600));
    }
}
