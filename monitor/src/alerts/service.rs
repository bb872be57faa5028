//! The alert service: follows the engine's events, decides which rules
//! fire, queues a delivery per (rule, event, channel) in the store, and a
//! worker sends what is due, retrying with back-off.
//!
//! Following the feed from the last event it handled (kept in the store)
//! means a restart neither skips events nor queues them twice (the queue's
//! key dedupes too).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::Utc;
use serde_json::json;
use tokio::sync::Notify;

use model::Rule;

use super::channel::{Channel, Endpoints};
use super::rules::Matcher;
use super::send::{send, Message, SendError};
use crate::store::{Delivery, Store};
use crate::Engine;

/// How many times a transient failure is retried before giving up.
pub const MAX_ATTEMPTS: u32 = 8;

pub struct AlertService {
    pub rules: RwLock<Vec<Rule>>,
    pub channels: RwLock<HashMap<String, Channel>>,
    pub endpoints: Endpoints,
    http: reqwest::Client,
    wake: Notify,
}

/// Back-off after the `attempt`-th failure: 2 s, 4 s, 8 s ... up to 10 min.
fn backoff(attempt: u32) -> Duration {
    Duration::from_secs((2u64 << attempt.min(10).saturating_sub(1)).min(600))
}

impl AlertService {
    pub fn new(endpoints: Endpoints) -> Arc<AlertService> {
        Arc::new(AlertService {
            rules: RwLock::new(vec![]),
            channels: RwLock::new(HashMap::new()),
            endpoints,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(15))
                .user_agent(concat!(
                    "Dropwatch/",
                    env!("CARGO_PKG_VERSION"),
                    " (notifications)"
                ))
                .build()
                .expect("the HTTP client builds"),
            wake: Notify::new(),
        })
    }

    /// Starts following the engine's events and sending.
    pub fn start(self: &Arc<Self>, engine: Arc<Engine>) {
        let me = self.clone();
        let store = engine.store().clone();
        let worker_store = store.clone();
        tokio::spawn(async move {
            let _ = store.requeue_unfinished().await;
            let since = store
                .meta("alerts_seq")
                .await
                .ok()
                .flatten()
                .and_then(|v| v.as_u64())
                .unwrap_or_else(|| store.last_seq());
            let mut feed = engine.feed(since);
            let mut matcher = Matcher::default();
            while let Ok(Some(event)) = feed.next().await {
                let rules = me.rules.read().unwrap().clone();
                let fired = matcher.fire(&rules, &event);
                if !fired.is_empty() {
                    let m = Message::from_event(&event);
                    let now = Utc::now();
                    let queue: Vec<Delivery> = fired
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
                        .collect();
                    if let Err(e) = store.enqueue(&queue).await {
                        tracing::warn!(
                            "could not queue notifications for event {}: {e}",
                            event.seq
                        );
                    }
                    me.wake.notify_one();
                }
                let _ = store.set_meta("alerts_seq", json!(event.seq)).await;
            }
        });
        let me = self.clone();
        let store = worker_store;
        tokio::spawn(async move {
            loop {
                me.send_due(&store).await;
                tokio::select! {
                    _ = me.wake.notified() => {}
                    _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                }
            }
        });
    }

    async fn send_due(&self, store: &Store) {
        let Ok(due) = store.claim_due(Utc::now(), 50).await else {
            return;
        };
        for mut d in due {
            let channel = self.channels.read().unwrap().get(&d.channel).cloned();
            let outcome = match channel {
                None => Err(SendError::Permanent(format!(
                    "channel {:?} no longer exists",
                    d.channel
                ))),
                Some(c) => match message_from_json(&d.body) {
                    Some(m) => send(&self.http, &self.endpoints, &c, &m).await,
                    None => Err(SendError::Permanent(
                        "the queued message could not be read".into(),
                    )),
                },
            };
            let now = Utc::now();
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
                Err(e) if d.attempts >= MAX_ATTEMPTS => {
                    d.state = "failed".into();
                    d.last_error = Some(format!("gave up after {} attempts: {e}", d.attempts));
                }
                Err(SendError::RetryAfter(wait)) => {
                    d.state = "pending".into();
                    d.next_at = (now + chrono::Duration::from_std(wait).unwrap_or_default())
                        .timestamp_millis();
                    d.last_error = Some(format!("rate limited; retrying after {wait:?}"));
                }
                Err(SendError::Transient(why)) => {
                    d.state = "pending".into();
                    let wait = backoff(d.attempts);
                    d.next_at = (now + chrono::Duration::from_std(wait).unwrap_or_default())
                        .timestamp_millis();
                    d.last_error = Some(why);
                }
            }
            if let Err(e) = store.finish_delivery(&d).await {
                tracing::warn!("could not record a notification's outcome: {e}");
            }
        }
    }
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
