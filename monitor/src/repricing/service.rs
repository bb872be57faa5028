//! The repricer: proposals from source price changes, approval, and the
//! push to the user's Shopify store as a job whose state is written before
//! each step. This module holds the [`Repricer`] itself (its state, opening
//! it from the store, and following the engine's price changes); its
//! concerns live beside it and are re-exported here, so callers name
//! everything as `repricing::service::…`:
//! connecting the shop (`shop.rs`), links between tracked products and the
//! store's variants (`links.rs`), the store-wide and per-tag markups
//! (`markup.rs`), proposals and their approval (`proposals.rs`), the push
//! queue (`push.rs`), and the shop's webhook deliveries (`shop_updates.rs`).
//!
//! proposed -(approve, v)-> approved -(claim)-> pushing -> done | failed
//!
//! Every step is [`Store::advance_proposal`] from the version it saw, so two
//! approvals or two instances push once; a process that stopped while a job
//! was `approved` or `pushing` finishes it at the next start (setting an
//! absolute price is idempotent, so pushing again is safe).
//!
//! Currency: the shop's (`shop { currencyCode }`) is read at connect and
//! before each push. A proposal is priced in it; a source in another
//! currency is converted at the rate the markup names, or not priced. A
//! price computed in a currency the shop no longer sells in is not pushed.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::RwLock;

use model::{EventKind, Link, MarkupRule};

use super::admin::{endpoint_for, AdminError, AdminShop};
use super::shop::{http, shop_at};
use crate::auth::{Accounts, AuthError, VaultError};
use crate::outbound::Outbound;
use crate::store::{Store, StoreError};
use crate::Engine;

pub use super::links::{target_spec, TargetSpec};
pub use super::push::PUSH_ATTEMPTS;
pub use super::shop::{OfferedShop, ShopStatus};
pub use super::shop_updates::WebhookOutcome;

pub(super) const SHOP_DOMAIN: &str = "shopify/domain";
pub(super) const SHOP_TOKEN: &str = "shopify/admin-token";
pub(super) const WEBHOOK_SECRET: &str = "shopify/webhook-secret";
pub(super) const RULES_META: &str = "repricing_rules";
pub(super) const SHOP_NAME_META: &str = "shopify_shop_name";
/// The currency the shop sells in, as it said at connect or the last push.
pub(super) const SHOP_CURRENCY_META: &str = "shopify_shop_currency";

#[derive(Debug, thiserror::Error)]
pub enum RepriceError {
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("{0}")]
    Invalid(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("no Shopify store is connected yet")]
    NotConnected,
    #[error("this proposal changed meanwhile (someone else approved, rejected or pushed it); reload to see its state")]
    Conflict,
    #[error(transparent)]
    Shopify(#[from] AdminError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// A webhook without a valid signature (or none configured): 401.
    #[error("the webhook's signature does not match (or no webhook secret is configured)")]
    BadSignature,
}

pub struct Repricer {
    pub(super) accounts: Arc<Accounts>,
    pub(super) engine: Arc<Engine>,
    pub(super) shop: RwLock<Option<Arc<AdminShop>>>,
    pub(super) status: RwLock<ShopStatus>,
    pub(super) links: RwLock<Vec<Link>>,
    pub(super) rules: RwLock<Vec<MarkupRule>>,
    /// A shop the server offers to connect with one button (set at start).
    pub(super) offered_shop: RwLock<Option<OfferedShop>>,
    pub(super) http: Outbound,
}

/// The task's name among the instances sharing a server (see `crate::lease`).
const TASK: &str = "repricing";

/// How often the instance running repricing on a shared server reads the
/// links and markup rules again, while price changes come in.
const RELOAD_EVERY: Duration = Duration::from_secs(1);

impl Repricer {
    pub async fn open(
        engine: Arc<Engine>,
        accounts: Arc<Accounts>,
    ) -> Result<Arc<Repricer>, RepriceError> {
        let store = accounts.store().clone();
        let http = http(engine.outbound().clone());
        let domain = accounts.vault.get(&store, SHOP_DOMAIN).await?;
        let shop = match (&domain, accounts.vault.get(&store, SHOP_TOKEN).await?) {
            (Some(domain), Some(token)) => endpoint_for(domain)
                .ok()
                .and_then(|e| shop_at(&http, e, &token).ok())
                .map(Arc::new),
            _ => None,
        };
        let rules: Vec<MarkupRule> = store
            .meta(RULES_META)
            .await?
            .and_then(|v| serde_json::from_value(v["rules"].clone()).ok())
            .unwrap_or_default();
        let text_meta =
            |v: Option<serde_json::Value>| v.and_then(|v| v.as_str().map(str::to_string));
        let status = ShopStatus {
            domain: shop.as_ref().and(domain),
            name: text_meta(store.meta(SHOP_NAME_META).await?),
            currency: text_meta(store.meta(SHOP_CURRENCY_META).await?),
            webhook_secret_set: accounts.vault.get(&store, WEBHOOK_SECRET).await?.is_some(),
        };
        Ok(Arc::new(Repricer {
            links: RwLock::new(store.links().await?),
            rules: RwLock::new(rules),
            status: RwLock::new(status),
            offered_shop: RwLock::default(),
            accounts,
            engine,
            shop: RwLock::new(shop),
            http,
        }))
    }

    pub(super) fn store(&self) -> &Arc<Store> {
        self.accounts.store()
    }

    pub(super) fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    pub(super) fn accounts(&self) -> &Arc<Accounts> {
        &self.accounts
    }

    pub(super) fn shop(&self) -> Result<Arc<AdminShop>, RepriceError> {
        self.shop.read().clone().ok_or(RepriceError::NotConnected)
    }

    /// Follows the engine's price changes and proposes for linked products,
    /// supervised: a follower that fails is started again and counted, and
    /// an event whose proposal panics is skipped, not retried for ever.
    pub fn start(self: &Arc<Self>) {
        let me = self.clone();
        let restarts = self.engine.restarts();
        // On a shared server one instance proposes and resumes for all.
        self.engine.want_task(TASK);
        tokio::spawn(crate::supervise::supervised(
            "repricer",
            restarts,
            move || {
                let me = me.clone();
                async move {
                    loop {
                        me.engine.until_holds_task(TASK).await;
                        if !me.follow().await? {
                            return Ok(());
                        }
                    }
                }
            },
        ));
    }

    /// Proposes for the price changes after where repricing left off, while
    /// this instance runs it: `Ok(false)` when the engine shuts down,
    /// `Ok(true)` when another instance took repricing over.
    async fn follow(&self) -> Result<bool, String> {
        let store = self.store().clone();
        if store.is_shared() {
            self.reload().await;
        }
        let _ = self.resume().await;
        let since = store
            .meta("repricing_seq")
            .await
            .map_err(|e| format!("could not read where repricing left off: {e}"))?
            .and_then(|v| v.as_u64())
            .unwrap_or_else(|| store.last_seq());
        let mut feed = self.engine.internal_feed(since);
        let mut cursor = crate::live::FollowCursor::new("repricing_seq", since);
        let mut reloaded = std::time::Instant::now();
        loop {
            let e = match feed.next().await {
                Ok(Some(e)) => e,
                Ok(None) => return Ok(false),
                Err(err) => return Err(format!("could not read the events: {err}")),
            };
            if !self.engine.holds_task(TASK) {
                return Ok(true);
            }
            // Links and markup rules edited on another instance.
            if store.is_shared() && reloaded.elapsed() >= RELOAD_EVERY {
                self.reload().await;
                reloaded = std::time::Instant::now();
            }
            if let Err(panic) = crate::supervise::isolate(self.on_event(&e)).await {
                tracing::error!(
                    seq = e.seq,
                    "repricing for event {} failed: {panic}; skipped",
                    e.seq
                );
            }
            cursor.done(&store, &feed).await;
        }
    }

    /// Reads the links and markup rules again (another instance sharing the
    /// server may have edited them); keeps what it has when the store fails.
    async fn reload(&self) {
        let store = self.store();
        match (store.links().await, store.meta(RULES_META).await) {
            (Ok(links), Ok(rules)) => {
                *self.links.write() = links;
                *self.rules.write() = rules
                    .and_then(|v| serde_json::from_value(v["rules"].clone()).ok())
                    .unwrap_or_default();
            }
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!("could not read the repricing links again: {e}")
            }
        }
    }

    async fn on_event(&self, e: &model::Event) {
        if e.kind != EventKind::PriceChanged {
            return;
        }
        let Some(p) = &e.product else { return };
        for link in self
            .links()
            .into_iter()
            .filter(|l| l.source_product == p.key)
        {
            let price = match (&link.source_variant, &e.variant) {
                (Some(want), Some(v)) if *want == v.id => v.price,
                (Some(_), _) => None,
                (None, _) => p.min_price,
            };
            if let Some(price) = price {
                if let Err(err) = self.propose(&link, e.seq, price, &p.currency).await {
                    tracing::warn!("could not propose a price for link {}: {err}", link.id);
                }
            }
        }
    }
}
