//! The alert service: keeps the rules and channels (in the store, channel
//! addresses sealed in the vault), follows the engine's events, decides
//! which rules fire, queues a delivery per (rule, event, channel) in the
//! store, and a worker sends what is due, retrying with back-off.
//! This module holds the [`AlertService`] itself (its state, opening it
//! from the store, and what it reports); editing rules is `rule_edits.rs`,
//! adding, testing and removing channels `channel_edits.rs`, and the
//! follower and sender around the delivery queue `queue.rs`.
//!
//! Following the feed from the last event it handled (kept in the store)
//! means a restart neither skips events nor queues them twice (the queue's
//! key dedupes too). Every change to rules and channels needs the editor
//! role and lands in the audit log, with channel secrets masked.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use std::time::Duration;

use tokio::sync::Notify;

use model::{ChannelInfo, Delivery, Role, Rule};

use super::channel::{Channel, Endpoints};
use super::push;
use crate::auth::{Accounts, AuthError, Identity, VaultError};
use crate::outbound::Outbound;
use crate::store::{Store, StoreError};

pub use super::queue::MAX_ATTEMPTS;

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

pub(super) fn invalid(field: &'static str, message: impl Into<String>) -> AlertError {
    AlertError::Invalid {
        field,
        message: message.into(),
    }
}

/// A channel as loaded: what may be shown, and the parsed address.
#[derive(Clone)]
pub(super) struct Loaded {
    pub(super) info: ChannelInfo,
    pub(super) channel: Channel,
}

pub struct AlertService {
    pub(super) accounts: Arc<Accounts>,
    pub(super) rules: RwLock<Vec<Rule>>,
    pub(super) channels: RwLock<HashMap<String, Loaded>>,
    pub(super) endpoints: Endpoints,
    pub(super) http: Outbound,
    pub(super) wake: Notify,
    /// (channel kind, outcome) -> count, for /metrics.
    pub(super) outcomes: Mutex<HashMap<(String, String), u64>>,
    /// The feed follower and the sender, while started.
    pub(super) tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    pub(super) stopping: std::sync::atomic::AtomicBool,
    /// How many cooldown and re-arm keys the follower holds (for /metrics).
    pub(super) matcher_keys: std::sync::atomic::AtomicUsize,
}

pub(super) fn new_id(prefix: &str) -> String {
    format!("{prefix}{:012x}", rand::random::<u64>() & 0xffff_ffff_ffff)
}

pub(super) fn secret_name(channel_id: &str) -> String {
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
        let channels = load_channels(&store, vault).await?;
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

    pub(super) fn store(&self) -> &Arc<Store> {
        self.accounts.store()
    }

    /// Reads the rules and channels again (another instance sharing the
    /// server may have edited them); keeps what it has when the store fails.
    pub(super) async fn reload(&self) {
        let store = self.store();
        match (
            store.rules().await,
            load_channels(store, &self.accounts.vault).await,
        ) {
            (Ok(rules), Ok(channels)) => {
                *self.rules.write() = rules;
                *self.channels.write() = channels;
            }
            (Err(e), _) => tracing::warn!("could not read the alert rules again: {e}"),
            (_, Err(e)) => tracing::warn!("could not read the channels again: {e}"),
        }
    }

    /// Before an edit on a shared server: the rules and channels as stored
    /// (another instance may have changed them a moment ago).
    pub(super) async fn current(&self) {
        if self.store().is_shared() {
            self.reload().await;
        }
    }

    /// The accounts it checks roles and audits with.
    pub fn accounts(&self) -> &Arc<Accounts> {
        &self.accounts
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

    /// Cooldown and re-arm keys the rule matcher holds (bounded by pruning).
    pub fn matcher_keys(&self) -> usize {
        self.matcher_keys.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub(super) fn count(&self, kind: &str, outcome: &str) {
        *self
            .outcomes
            .lock()
            .entry((kind.to_string(), outcome.to_string()))
            .or_default() += 1;
    }
}

/// Every channel with its address unsealed (one that cannot be read is
/// left out and logged).
async fn load_channels(
    store: &Store,
    vault: &crate::auth::Vault,
) -> Result<HashMap<String, Loaded>, AlertError> {
    let mut channels = HashMap::new();
    for info in store.channels().await? {
        match vault.get(store, &secret_name(&info.id)).await? {
            Some(address) => match Channel::parse(&address) {
                Ok(channel) => {
                    channels.insert(info.id.clone(), Loaded { info, channel });
                }
                Err(e) => tracing::warn!("channel {:?} cannot be read: {e}", info.name),
            },
            None => tracing::warn!("channel {:?} has lost its address", info.name),
        }
    }
    Ok(channels)
}
