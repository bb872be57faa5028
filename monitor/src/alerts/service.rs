//! The alert service: keeps the rules and channels (in the store, channel
//! addresses sealed in the vault), follows the engine's events, decides
//! which rules fire, queues a delivery per (rule, event, channel) in the
//! store, and a worker sends what is due, retrying with back-off.
//!
//! Following the feed from the last event it handled (kept in the store)
//! means a restart neither skips events nor queues them twice (the queue's
//! key dedupes too). Every change to rules and channels needs the editor
//! role and lands in the audit log, with channel secrets masked.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use std::time::Duration;

use chrono::Utc;
use serde_json::json;
use tokio::sync::Notify;

use model::{ChannelInfo, Delivery, Role, Rule};

use super::channel::{Channel, ChannelError, Endpoints};
use super::push;
use super::rules::Matcher;
use super::send::{send, Message, SendError};
use crate::auth::{Accounts, AuthError, Identity, VaultError};
use crate::outbound::Outbound;
use crate::store::{Store, StoreError};
use crate::supervise::{isolate, panic_message, supervised};
use crate::Engine;

/// How many times a transient failure is retried before giving up.
pub const MAX_ATTEMPTS: u32 = 8;

/// The vault entry holding the VAPID private key.
const VAPID_SECRET: &str = "webpush/vapid";

#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// A field the user filled in wrong: which, and why.
    #[error("{message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("{0} not found")]
    NotFound(String),
    #[error("the test message was not delivered: {0}")]
    TestFailed(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Vault(#[from] VaultError),
}

fn invalid(field: &'static str, message: impl Into<String>) -> AlertError {
    AlertError::Invalid {
        field,
        message: message.into(),
    }
}

/// A channel as loaded: what may be shown, and the parsed address.
#[derive(Clone)]
struct Loaded {
    info: ChannelInfo,
    channel: Channel,
}

pub struct AlertService {
    accounts: Arc<Accounts>,
    rules: RwLock<Vec<Rule>>,
    channels: RwLock<HashMap<String, Loaded>>,
    endpoints: Endpoints,
    http: Outbound,
    wake: Notify,
    /// (channel kind, outcome) -> count, for /metrics.
    outcomes: Mutex<HashMap<(String, String), u64>>,
    /// The feed follower and the sender, while started.
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    stopping: std::sync::atomic::AtomicBool,
    /// How many cooldown and re-arm keys the follower holds (for /metrics).
    matcher_keys: std::sync::atomic::AtomicUsize,
}

/// Back-off after the `attempt`-th failure: 2 s, 4 s, 8 s ... up to 10 min.
fn backoff(attempt: u32) -> Duration {
    Duration::from_secs((2u64 << attempt.min(10).saturating_sub(1)).min(600))
}

fn new_id(prefix: &str) -> String {
    format!("{prefix}{:012x}", rand::random::<u64>() & 0xffff_ffff_ffff)
}

fn secret_name(channel_id: &str) -> String {
    format!("channel/{channel_id}")
}

impl AlertService {
    /// Loads the rules, the channels (unsealing their addresses) and the
    /// VAPID key (made and sealed on first start). `contact` is the VAPID
    /// subject push services may write to (`mailto:` or an https URL).
    pub async fn open(
        accounts: Arc<Accounts>,
        mut endpoints: Endpoints,
        contact: &str,
    ) -> Result<Arc<AlertService>, AlertError> {
        let store = accounts.store().clone();
        let vault = &accounts.vault;
        let vapid = match vault.get(&store, VAPID_SECRET).await? {
            Some(text) => push::vapid_from(&text, contact)
                .ok_or_else(|| VaultError::Corrupt(VAPID_SECRET.into()))?,
            None => {
                let key = push::new_vapid_key();
                vault
                    .put(&store, VAPID_SECRET, &push::vapid_text(&key))
                    .await?;
                tracing::info!("made the Web Push (VAPID) key pair");
                push::vapid_from(&push::vapid_text(&key), contact).expect("a fresh key reads back")
            }
        };
        endpoints.vapid = Some(vapid);
        // The services' addresses are the operator's (--notify-endpoint).
        for base in [
            &endpoints.discord,
            &endpoints.slack,
            &endpoints.telegram,
            &endpoints.ntfy,
        ] {
            endpoints.policy.trust(base);
        }
        let mut channels = HashMap::new();
        for info in store.channels().await? {
            match vault.get(&store, &secret_name(&info.id)).await? {
                Some(address) => match Channel::parse(&address) {
                    Ok(channel) => {
                        channels.insert(info.id.clone(), Loaded { info, channel });
                    }
                    Err(e) => tracing::warn!("channel {:?} cannot be read: {e}", info.name),
                },
                None => tracing::warn!("channel {:?} has lost its address", info.name),
            }
        }
        let rules = store.rules().await?;
        let http = Outbound::new(endpoints.policy.clone(), |b| {
            b.timeout(Duration::from_secs(15)).user_agent(concat!(
                "Dropwatch/",
                env!("CARGO_PKG_VERSION"),
                " (notifications)"
            ))
        });
        Ok(Arc::new(AlertService {
            accounts,
            rules: RwLock::new(rules),
            channels: RwLock::new(channels),
            endpoints,
            http,
            wake: Notify::new(),
            outcomes: Mutex::default(),
            tasks: Mutex::default(),
            stopping: Default::default(),
            matcher_keys: Default::default(),
        }))
    }

    fn store(&self) -> &Arc<Store> {
        self.accounts.store()
    }

    /// The accounts it checks roles and audits with.
    pub fn accounts(&self) -> &Arc<Accounts> {
        &self.accounts
    }

    pub fn rules(&self) -> Vec<Rule> {
        self.rules.read().clone()
    }

    /// One rule, or `NotFound`.
    pub fn rule(&self, id: &str) -> Result<Rule, AlertError> {
        self.rules
            .read()
            .iter()
            .find(|r| r.id == id)
            .cloned()
            .ok_or_else(|| AlertError::NotFound(format!("rule {id}")))
    }

    /// The channels as they may be shown (secrets masked), oldest first.
    pub fn channels(&self) -> Vec<ChannelInfo> {
        let mut v: Vec<ChannelInfo> = self
            .channels
            .read()
            .values()
            .map(|l| l.info.clone())
            .collect();
        v.sort_by(|a, b| a.created.cmp(&b.created).then(a.id.cmp(&b.id)));
        v
    }

    /// The key browsers subscribe with (`applicationServerKey`).
    pub fn vapid_public_key(&self) -> String {
        self.endpoints
            .vapid
            .as_ref()
            .map(|v| v.public_key())
            .unwrap_or_default()
    }

    /// Notifications sent and failed per channel kind since start.
    pub fn outcomes(&self) -> Vec<(String, String, u64)> {
        let mut v: Vec<_> = self
            .outcomes
            .lock()
            .iter()
            .map(|((k, o), n)| (k.clone(), o.clone(), *n))
            .collect();
        v.sort();
        v
    }

    /// The newest notifications (viewers and up).
    pub async fn log(&self, who: &Identity, limit: usize) -> Result<Vec<Delivery>, AlertError> {
        who.require(Role::Viewer)?;
        Ok(self.store().deliveries(limit.clamp(1, 500)).await?)
    }

    /// Creates a rule (empty id) or replaces the one with that id.
    pub async fn save_rule(&self, who: &Identity, mut rule: Rule) -> Result<Rule, AlertError> {
        who.require(Role::Editor)?;
        rule.name = rule.name.trim().to_string();
        if rule.name.chars().count() > 120 {
            return Err(invalid("name", "A rule's name has at most 120 characters."));
        }
        if rule.name.is_empty() {
            rule.name = format!("{}: {}", rule.scope.describe(), rule.condition.describe());
        }
        rule.scope.keywords.retain(|k| !k.trim().is_empty());
        rule.scope.sizes.retain(|k| !k.trim().is_empty());
        match &rule.condition {
            // Bounded like every price (model::money): 0 to 10^9, 4 decimals.
            model::Condition::PriceAtOrBelow { price } => {
                if let Err(e) = model::money::check_price(*price) {
                    return Err(invalid("price", format!("{e}.")));
                }
            }

            model::Condition::DropPercent { percent }
                if *percent <= 0.into() || *percent >= 100.into() =>
            {
                return Err(invalid(
                    "percent",
                    "A drop in percent is between 0 and 100.",
                ));
            }
            model::Condition::DropAmount { amount } if *amount <= 0.into() => {
                return Err(invalid("amount", "A drop amount is more than 0."));
            }
            model::Condition::DropAmount { amount }
                if model::money::check_price(*amount).is_err() =>
            {
                return Err(invalid(
                    "amount",
                    "A drop amount is at most 1000000000, with at most 4 decimals.",
                ));
            }
            _ => {}
        }
        if rule.channels.is_empty() {
            return Err(invalid(
                "channels",
                "Choose at least one channel to notify (add one under Channels first).",
            ));
        }
        {
            let known = self.channels.read();
            if let Some(missing) = rule.channels.iter().find(|c| !known.contains_key(*c)) {
                return Err(invalid(
                    "channels",
                    format!("There is no channel {missing:?}."),
                ));
            }
        }
        if rule.cooldown_secs > 30 * 86_400 {
            return Err(invalid("cooldown", "A cooldown is at most 30 days."));
        }
        let before = if rule.id.is_empty() {
            rule.id = new_id("r");
            rule.created = Utc::now();
            None
        } else {
            let old = self.rule(&rule.id)?;
            rule.created = old.created;
            Some(old)
        };
        self.store().save_rule(&rule).await?;
        {
            let mut rules = self.rules.write();
            match rules.iter_mut().find(|r| r.id == rule.id) {
                Some(r) => *r = rule.clone(),
                None => rules.push(rule.clone()),
            }
        }
        self.accounts
            .audit(
                who,
                if before.is_some() {
                    "rule.update"
                } else {
                    "rule.create"
                },
                &rule.id,
                before.map(|r| json!(r)),
                Some(json!(rule)),
            )
            .await?;
        Ok(rule)
    }

    pub async fn set_rule_paused(
        &self,
        who: &Identity,
        id: &str,
        paused: bool,
    ) -> Result<Rule, AlertError> {
        who.require(Role::Editor)?;
        let mut rule = self.rule(id)?;
        rule.paused = paused;
        self.store().save_rule(&rule).await?;
        if let Some(r) = self.rules.write().iter_mut().find(|r| r.id == id) {
            r.paused = paused;
        }
        self.accounts
            .audit(
                who,
                if paused { "rule.pause" } else { "rule.resume" },
                id,
                None,
                None,
            )
            .await?;
        Ok(rule)
    }

    pub async fn delete_rule(&self, who: &Identity, id: &str) -> Result<(), AlertError> {
        who.require(Role::Editor)?;
        let old = self.rule(id)?;
        self.store().delete_rule(id).await?;
        self.rules.write().retain(|r| r.id != id);
        self.accounts
            .audit(who, "rule.delete", id, Some(json!(old)), None)
            .await?;
        Ok(())
    }

    /// Cooldown and re-arm keys the rule matcher holds (bounded by pruning).
    pub fn matcher_keys(&self) -> usize {
        self.matcher_keys.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Refuses a channel whose address the outbound policy refuses (a
    /// private network), in words; checked again on every send.
    async fn check_destination(&self, channel: &Channel) -> Result<(), String> {
        let policy = &self.endpoints.policy;
        match (channel, channel.endpoint(&self.endpoints)) {
            (_, Some(url)) => policy.check_resolved(&url).await.map(|_| ()),
            (Channel::Email { host, .. }, None) => {
                // Read as a web address would be (so "127.1" is an IP address).
                let host = if host.contains(':') && !host.starts_with('[') {
                    format!("[{host}]")
                } else {
                    host.clone()
                };
                let probe = url::Url::parse(&format!("http://{host}/")).ok();
                policy.check_host(probe.as_ref().and_then(|u| u.host()))
            }
            (_, None) => Ok(()),
        }
        .map_err(|e| format!("refused: {e}"))
    }

    /// Adds a channel from an Apprise-style URL. The URL is sealed; only its
    /// masked form is kept in the open and returned.
    pub async fn add_channel(
        &self,
        who: &Identity,
        name: &str,
        address: &str,
    ) -> Result<ChannelInfo, AlertError> {
        who.require(Role::Editor)?;
        let channel = Channel::parse(address).map_err(|e| invalid("url", e.to_string()))?;
        if matches!(channel, Channel::WebPush { .. }) {
            return Err(invalid(
                "url",
                "Push channels are made with \"Enable push on this device\".",
            ));
        }
        self.check_destination(&channel)
            .await
            .map_err(|e| invalid("url", e))?;
        self.insert_channel(who, name, address.trim(), channel)
            .await
    }

    /// Adds (or finds) the channel for a browser's push subscription.
    pub async fn add_push_subscription(
        &self,
        who: &Identity,
        name: &str,
        subscription_json: &str,
    ) -> Result<ChannelInfo, AlertError> {
        who.require(Role::Viewer)?;
        // A push channel belongs to a signed-in user (anonymous viewers have none).
        if who.viewer.user.is_none() {
            return Err(AuthError::Unauthenticated.into());
        }
        let channel = Channel::web_push(subscription_json)
            .map_err(|e: ChannelError| invalid("subscription", e.to_string()))?;
        self.check_destination(&channel)
            .await
            .map_err(|e| invalid("subscription", e))?;
        if let Some(existing) = self.channels.read().values().find(|l| l.channel == channel) {
            return Ok(existing.info.clone());
        }
        let address = channel.web_push_address().expect("a push channel");
        self.insert_channel(who, name, &address, channel).await
    }

    async fn insert_channel(
        &self,
        who: &Identity,
        name: &str,
        address: &str,
        channel: Channel,
    ) -> Result<ChannelInfo, AlertError> {
        let name = name.trim();
        let name = if name.is_empty() {
            channel.kind().to_string()
        } else if name.chars().count() > 80 {
            return Err(invalid(
                "name",
                "A channel's name has at most 80 characters.",
            ));
        } else {
            name.to_string()
        };
        let info = ChannelInfo {
            id: new_id("c"),
            name,
            kind: channel.kind().into(),
            redacted: channel.redacted(),
            owner: who.viewer.user.clone().unwrap_or_else(|| who.label.clone()),
            created: Utc::now(),
        };
        let store = self.store();
        self.accounts
            .vault
            .put(store, &secret_name(&info.id), address)
            .await?;
        store.save_channel(&info).await?;
        self.channels.write().insert(
            info.id.clone(),
            Loaded {
                info: info.clone(),
                channel,
            },
        );
        self.accounts
            .audit(who, "channel.create", &info.id, None, Some(json!(info)))
            .await?;
        Ok(info)
    }

    pub async fn remove_channel(&self, who: &Identity, id: &str) -> Result<(), AlertError> {
        let found = self.channels.read().get(id).map(|l| l.info.clone());
        let Some(info) = found else {
            // Viewers learn nothing about which channels exist.
            who.require(Role::Editor)?;
            return Err(AlertError::NotFound(format!("channel {id}")));
        };
        // Anyone may remove their own device's push channel.
        let own_push =
            info.kind == "webpush" && who.viewer.user.as_deref() == Some(info.owner.as_str());
        if !own_push {
            who.require(Role::Editor)?;
        }
        self.forget_channel(id).await?;
        self.accounts
            .audit(who, "channel.delete", id, Some(json!(info)), None)
            .await?;
        Ok(())
    }

    /// Ends the push channel of a browser's subscription (by its endpoint).
    pub async fn remove_push_subscription(
        &self,
        who: &Identity,
        endpoint: &str,
    ) -> Result<(), AlertError> {
        let id = self
            .channels
            .read()
            .values()
            .find(|l| matches!(&l.channel, Channel::WebPush { endpoint: e, .. } if e.as_str() == endpoint))
            .map(|l| l.info.id.clone())
            .ok_or_else(|| AlertError::NotFound("push subscription".into()))?;
        self.remove_channel(who, &id).await
    }

    async fn forget_channel(&self, id: &str) -> Result<(), AlertError> {
        let store = self.store();
        store.delete_channel(id).await?;
        store.delete_secret(&secret_name(id)).await?;
        self.channels.write().remove(id);
        Ok(())
    }

    /// Sends a test message to a channel now and says how it went.
    pub async fn send_test(&self, who: &Identity, id: &str) -> Result<(), AlertError> {
        who.require(Role::Editor)?;
        let loaded = self
            .channels
            .read()
            .get(id)
            .cloned()
            .ok_or_else(|| AlertError::NotFound(format!("channel {id}")))?;
        let m = Message {
            title: "Dropwatch test notification".into(),
            body: format!(
                "This is {:?} ({}). Alerts from your rules will arrive here.",
                loaded.info.name, loaded.info.kind
            ),
            url: None,
            image: None,
            good_news: true,
            sizes_in_stock: vec![],
            at: Utc::now(),
        };
        let result = send(&self.http, &self.endpoints, &loaded.channel, &m).await;
        self.count(
            &loaded.info.kind,
            if result.is_ok() { "sent" } else { "failed" },
        );
        self.accounts
            .audit(
                who,
                "channel.test",
                id,
                None,
                Some(json!({ "ok": result.is_ok(), "error": result.as_ref().err().map(|e| e.to_string()) })),
            )
            .await?;
        match result {
            Ok(()) => Ok(()),
            Err(SendError::Gone(why)) => {
                self.forget_channel(id).await?;
                Err(AlertError::TestFailed(format!(
                    "{why}; the channel was removed"
                )))
            }
            Err(e) => Err(AlertError::TestFailed(e.to_string())),
        }
    }

    fn count(&self, kind: &str, outcome: &str) {
        *self
            .outcomes
            .lock()
            .entry((kind.to_string(), outcome.to_string()))
            .or_default() += 1;
    }

    /// Starts following the engine's events and sending.
    /// Both run supervised: one that fails is started again and counted
    /// (`dropwatch_task_restarts_total`), and one event or notification that
    /// makes them panic is skipped, not retried for ever.
    pub fn start(self: &Arc<Self>, engine: Arc<Engine>) {
        let restarts = engine.restarts();
        let store = engine.store().clone();
        let (me, follower_store) = (self.clone(), store.clone());
        let follower = tokio::spawn(supervised("alert_follower", restarts.clone(), move || {
            let (me, store, engine) = (me.clone(), follower_store.clone(), engine.clone());
            async move { me.follow(&engine, &store).await }
        }));
        let me = self.clone();
        let sender = tokio::spawn(supervised("alert_sender", restarts, move || {
            let (me, store) = (me.clone(), store.clone());
            async move {
                // Claimed but never finished (a crash, or this task's last
                // failure): back to the queue.
                let _ = store.requeue_unfinished().await;
                while !me.stopping.load(std::sync::atomic::Ordering::SeqCst) {
                    me.send_due(&store).await;
                    tokio::select! {
                        _ = me.wake.notified() => {}
                        _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                    }
                }
                Ok(())
            }
        }));
        self.tasks.lock().extend([follower, sender]);
    }

    /// Follows the engine's events from the last one handled and queues a
    /// notification per rule that fires and channel it names.
    async fn follow(&self, engine: &Engine, store: &Arc<Store>) -> Result<(), String> {
        let since = store
            .meta("alerts_seq")
            .await
            .map_err(|e| format!("could not read where the alerts left off: {e}"))?
            .and_then(|v| v.as_u64())
            .unwrap_or_else(|| store.last_seq());
        let mut feed = engine.internal_feed(since);
        let mut cursor = crate::live::FollowCursor::new("alerts_seq", since);
        let mut matcher = Matcher::default();
        loop {
            let event = match feed.next().await {
                Ok(Some(event)) => event,
                Ok(None) => return Ok(()),
                Err(e) => return Err(format!("could not read the events: {e}")),
            };
            let rules = self.rules();
            if event.seq % 1024 == 0 {
                matcher.prune(&rules, Utc::now());
            }
            self.matcher_keys
                .store(matcher.len(), std::sync::atomic::Ordering::Relaxed);
            // One event's matching and wording: a panic costs this event's
            // alerts, never the feed (nor every later start).
            let queue = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let fired = matcher.fire(&rules, &event);
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
            if let Err(e) = store.finish_delivery(&d).await {
                tracing::warn!("could not record a notification's outcome: {e}");
            }
        }
    }
}

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
