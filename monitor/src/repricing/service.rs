//! The repricer: proposals from source price changes, approval, and the
//! push to the user's Shopify store as a job whose state is written before
//! each step.
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

use parking_lot::RwLock;
use std::time::Duration;

use chrono::Utc;
use rust_decimal::Decimal;
use serde_json::json;

use model::{Event, EventKind, Link, Markup, MarkupRule, Priced, Proposal, ProposalState, Role};

use super::admin::{endpoint_for, AdminError, AdminShop};
use crate::auth::{Accounts, AuthError, Identity, VaultError};
use crate::outbound::Outbound;
use crate::store::{Store, StoreError};
use crate::Engine;

const SHOP_DOMAIN: &str = "shopify/domain";
const SHOP_TOKEN: &str = "shopify/admin-token";
const WEBHOOK_SECRET: &str = "shopify/webhook-secret";
const RULES_META: &str = "repricing_rules";
const SHOP_NAME_META: &str = "shopify_shop_name";
/// The currency the shop sells in, as it said at connect or the last push.
const SHOP_CURRENCY_META: &str = "shopify_shop_currency";
/// Transient push failures are retried this many times.
pub const PUSH_ATTEMPTS: u32 = 5;

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

/// What became of a webhook delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WebhookOutcome {
    /// This many linked variants took the new state.
    Applied(usize),
    /// Seen before (same `X-Shopify-Webhook-Id`).
    Duplicate,
    /// Older than what is known, or about nothing linked.
    Ignored,
}

fn gid(kind: &str, v: &serde_json::Value) -> Option<String> {
    v.as_str()
        .filter(|s| s.starts_with("gid://"))
        .map(str::to_string)
        .or_else(|| v.as_u64().map(|n| format!("gid://shopify/{kind}/{n}")))
}

/// The connected store as the Repricing page shows it (never the token).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ShopStatus {
    /// The shop domain (or URL) it was connected with.
    pub domain: Option<String>,
    /// The shop's name as it said when last connected.
    pub name: Option<String>,
    /// The currency the shop sells in (ISO 4217), as it said when connected
    /// or before the last push; none: not read yet (connected before
    /// Dropwatch read it).
    #[serde(default)]
    pub currency: Option<String>,
    /// Whether webhooks can be checked (an app secret is set).
    pub webhook_secret_set: bool,
}

/// What the user names as the target: a variant id or admin URL, or a SKU.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetSpec {
    /// `gid://shopify/ProductVariant/N`
    Variant(String),
    Sku(String),
}

/// Reads the "your variant" field: an admin URL
/// (`https://admin.shopify.com/store/S/products/P/variants/V`,
/// `https://S.myshopify.com/admin/products/P/variants/V`), a variant gid, or
/// a SKU (`sku:ABC` or just `ABC`).
pub fn target_spec(raw: &str) -> Result<TargetSpec, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err("name your store's variant: its SKU, or its admin URL".into());
    }
    if let Some(n) = raw.strip_prefix("gid://shopify/ProductVariant/") {
        return match n.parse::<u64>() {
            Ok(n) => Ok(TargetSpec::Variant(format!(
                "gid://shopify/ProductVariant/{n}"
            ))),
            Err(_) => Err(format!("{raw:?} is not a variant id")),
        };
    }
    if raw.starts_with("http://") || raw.starts_with("https://") {
        let url = url::Url::parse(raw).map_err(|e| format!("{raw:?} is not a URL: {e}"))?;
        let segs: Vec<&str> = url.path_segments().map(|s| s.collect()).unwrap_or_default();
        let variant = segs
            .windows(2)
            .rev()
            .find(|w| w[0] == "variants")
            .and_then(|w| w[1].parse::<u64>().ok())
            .or_else(|| {
                url.query_pairs()
                    .find(|(k, _)| k == "variant")
                    .and_then(|(_, v)| v.parse::<u64>().ok())
            });
        return match variant {
            Some(n) => Ok(TargetSpec::Variant(format!("gid://shopify/ProductVariant/{n}"))),
            None => Err("that URL names no variant: open the variant in your Shopify admin (…/products/N/variants/M) and copy its address".into()),
        };
    }
    let sku = raw.strip_prefix("sku:").unwrap_or(raw).trim();
    if sku.is_empty() {
        return Err("the SKU is empty".into());
    }
    Ok(TargetSpec::Sku(sku.to_string()))
}

/// A markup the engine can use: no negative percentage below -100, floor
/// not above ceiling, a positive step guard, a bounded conversion rate.
pub(super) fn check_markup(m: &Markup) -> Result<(), RepriceError> {
    if m.percent <= Decimal::from(-100) {
        return Err(RepriceError::Invalid(
            "a markup of -100 % or less gives nothing to sell".into(),
        ));
    }
    if let (Some(f), Some(c)) = (m.floor, m.ceiling) {
        if f > c {
            return Err(RepriceError::Invalid(format!(
                "the floor {f} is above the ceiling {c}"
            )));
        }
    }
    if m.floor.is_some_and(|f| f.is_sign_negative())
        || m.ceiling.is_some_and(|c| c <= Decimal::ZERO)
    {
        return Err(RepriceError::Invalid(
            "floor and ceiling are positive prices".into(),
        ));
    }
    if m.max_step_percent.is_some_and(|x| x <= Decimal::ZERO) {
        return Err(RepriceError::Invalid(
            "the step guard is a positive percentage".into(),
        ));
    }
    // Bounded like every price: a markup of 10^20 % is a typo, not a price.
    let limit = model::money::MAX_PRICE;
    let too_big = [
        Some(m.percent),
        Some(m.fixed.abs()),
        m.floor,
        m.ceiling,
        m.max_step_percent,
    ]
    .into_iter()
    .flatten()
    .find(|v| *v > limit);
    if let Some(v) = too_big {
        return Err(RepriceError::Invalid(format!(
            "{v} is beyond the largest value a markup may hold ({limit})"
        )));
    }
    if let Some(r) = m.rate {
        model::check_rate(r).map_err(RepriceError::Invalid)?;
    }
    Ok(())
}

/// The currency a proposal's price was computed in.
fn priced_in(job: &Proposal, link: &Link) -> String {
    job.target_currency
        .clone()
        .unwrap_or_else(|| link.target_currency.clone())
}

/// A shop the server offers ready to connect: its Admin API address and
/// token stay on the server; the page shows the label.
#[derive(Clone, Debug)]
pub struct OfferedShop {
    pub label: String,
    pub url: String,
    pub token: String,
}

pub struct Repricer {
    accounts: Arc<Accounts>,
    engine: Arc<Engine>,
    shop: RwLock<Option<Arc<AdminShop>>>,
    status: RwLock<ShopStatus>,
    links: RwLock<Vec<Link>>,
    rules: RwLock<Vec<MarkupRule>>,
    /// A shop the server offers to connect with one button (set at start).
    offered_shop: RwLock<Option<OfferedShop>>,
    http: Outbound,
}

/// The Admin API's clients, under the engine's outbound policy (the shop's
/// domain is typed by an admin, or offered by the server). They follow no
/// redirects, so the access token goes to the shop's own address only.
fn http(policy: Arc<crate::outbound::Policy>) -> Outbound {
    Outbound::new(policy, |b| {
        b.timeout(Duration::from_secs(30)).user_agent(concat!(
            "Dropwatch/",
            env!("CARGO_PKG_VERSION"),
            " (repricing)"
        ))
    })
}

/// An Admin API client for `endpoint`, or why it may not be reached.
fn shop_at(http: &Outbound, endpoint: url::Url, token: &str) -> Result<AdminShop, RepriceError> {
    let client = http
        .client_for(&endpoint)
        .map_err(|e| RepriceError::Invalid(format!("refused: {e}")))?
        .clone();
    Ok(AdminShop::new(endpoint, token, client))
}

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

    /// The currency the store's prices are in: as the shop last said, else
    /// (connected before Dropwatch read it) the link's.
    pub fn store_currency(&self, link: &Link) -> String {
        self.status
            .read()
            .currency
            .clone()
            .unwrap_or_else(|| link.target_currency.clone())
    }

    /// Keeps the currency the shop just said it sells in.
    async fn note_currency(&self, currency: &str) {
        let changed = self.status.read().currency.as_deref() != Some(currency);
        if changed {
            self.status.write().currency = Some(currency.to_string());
            if let Err(e) = self
                .store()
                .set_meta(SHOP_CURRENCY_META, json!(currency))
                .await
            {
                tracing::warn!("could not keep the shop's currency {currency}: {e}");
            }
        }
    }

    pub fn links(&self) -> Vec<Link> {
        self.links.read().clone()
    }

    /// Offers a shop to connect with one button (configured at start).
    pub fn offer_shop(&self, shop: OfferedShop) {
        *self.offered_shop.write() = Some(shop);
    }

    /// The offered shop's label ("the built-in demo shop"), if one is offered.
    pub fn offered_shop(&self) -> Option<String> {
        self.offered_shop.read().as_ref().map(|s| s.label.clone())
    }

    /// Connects the offered shop (admins), with its token.
    pub async fn connect_offered(&self, who: &Identity) -> Result<String, RepriceError> {
        let shop = self.offered_shop.read().clone().ok_or_else(|| {
            RepriceError::Invalid(
                "this server offers no shop; give your shop's domain and token".into(),
            )
        })?;
        self.connect(who, &shop.url, &shop.token).await
    }

    pub fn status(&self) -> ShopStatus {
        self.status.read().clone()
    }

    /// The store-wide and per-tag markups, in the order they are tried.
    pub fn markup_rules(&self) -> Vec<MarkupRule> {
        self.rules.read().clone()
    }

    /// The newest proposals first.
    pub async fn proposals(&self, limit: usize) -> Result<Vec<Proposal>, RepriceError> {
        Ok(self.store().proposals(limit).await?)
    }

    /// Replaces the store-wide default and the per-tag markups (editors).
    /// At most one store default; tags are matched without case.
    pub async fn set_markup_rules(
        &self,
        who: &Identity,
        rules: Vec<MarkupRule>,
    ) -> Result<(), RepriceError> {
        who.require(Role::Editor)?;
        let mut seen = std::collections::HashSet::new();
        let mut clean = vec![];
        for mut r in rules {
            r.tag = r
                .tag
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty());
            let key = r.tag.as_ref().map(|t| t.to_lowercase());
            if !seen.insert(key.clone()) {
                return Err(RepriceError::Invalid(match key {
                    None => "there is one store default markup".into(),
                    Some(t) => format!("the tag {t:?} has two markups"),
                }));
            }
            check_markup(&r.markup)?;
            clean.push(r);
        }
        // Tag rules first (in the order given), the store default last.
        clean.sort_by_key(|r| r.tag.is_none());
        // In an object: a list as the value would read back as rows.
        self.store()
            .set_meta(RULES_META, json!({ "rules": clean }))
            .await?;
        let before = std::mem::replace(&mut *self.rules.write(), clean.clone());
        self.accounts
            .audit(
                who,
                "reprice.rules",
                "markup",
                Some(json!(before)),
                Some(json!(clean)),
            )
            .await?;
        Ok(())
    }

    /// The markup a link's proposals use, and the rule's words.
    pub fn effective_markup(&self, link: &Link) -> (Markup, String) {
        self.markup_for(&link.source_product, &link.markup, link.inherit)
    }

    /// The markup a link from `source_product` with its own `markup` (or
    /// following the store's, `inherit`) would use, and the rule's words.
    pub(super) fn markup_for(
        &self,
        source_product: &str,
        markup: &Markup,
        inherit: bool,
    ) -> (Markup, String) {
        if inherit {
            let tags: Vec<String> = self
                .engine
                .product(source_product)
                .map(|p| p.tags.iter().map(|t| t.to_lowercase()).collect())
                .unwrap_or_default();
            let rules = self.rules.read();
            let hit = rules
                .iter()
                .find(|r| {
                    r.tag
                        .as_ref()
                        .is_some_and(|t| tags.contains(&t.to_lowercase()))
                })
                .or_else(|| rules.iter().find(|r| r.tag.is_none()));
            if let Some(r) = hit {
                return (r.markup.clone(), r.describe());
            }
        }
        (markup.clone(), format!("this link ({})", markup.describe()))
    }

    /// Connects the user's store (admins): reads its name and currency with
    /// the token first, then keeps domain and token sealed. Returns the
    /// shop's name.
    pub async fn connect(
        &self,
        who: &Identity,
        domain: &str,
        token: &str,
    ) -> Result<String, RepriceError> {
        who.require(Role::Admin)?;
        let endpoint = endpoint_for(domain).map_err(RepriceError::Invalid)?;
        self.engine
            .check_address(&endpoint)
            .await
            .map_err(|e| RepriceError::Invalid(e.to_string()))?;
        let shop = shop_at(&self.http, endpoint, token.trim())?;
        let super::admin::ShopInfo { name, currency } = shop.shop_info().await?;
        let store = self.store();
        // Domain and token together: never one store's domain with another's token.
        self.accounts
            .vault
            .put_all(
                store,
                &[(SHOP_DOMAIN, domain.trim()), (SHOP_TOKEN, token.trim())],
            )
            .await?;
        store.set_meta(SHOP_NAME_META, json!(name)).await?;
        store.set_meta(SHOP_CURRENCY_META, json!(currency)).await?;
        *self.shop.write() = Some(Arc::new(shop));
        {
            let mut st = self.status.write();
            st.domain = Some(domain.trim().to_string());
            st.name = Some(name.clone());
            st.currency = Some(currency.clone());
        }
        self.accounts
            .audit(
                who,
                "shopify.connect",
                domain.trim(),
                None,
                Some(json!({ "shop": name, "currency": currency })),
            )
            .await?;
        Ok(name)
    }

    /// Links a tracked product (or one size) to the store's variant with
    /// this SKU (editors).
    pub async fn link_by_sku(
        &self,
        who: &Identity,
        source_product: &str,
        source_variant: Option<String>,
        sku: &str,
        markup: Markup,
    ) -> Result<Link, RepriceError> {
        self.link(
            who,
            source_product,
            source_variant,
            &TargetSpec::Sku(sku.to_string()),
            markup,
            false,
        )
        .await
    }

    /// Variants of the user's store for a search ("Find in your store").
    pub async fn search_targets(
        &self,
        who: &Identity,
        query: &str,
    ) -> Result<Vec<super::admin::AdminVariant>, RepriceError> {
        who.require(Role::Editor)?;
        if query.trim().is_empty() {
            return Err(RepriceError::Invalid(
                "type words of the product's title, or a SKU".into(),
            ));
        }
        Ok(self.shop()?.search_variants(query).await?)
    }

    /// Links a tracked product (or one size) to a variant of the user's
    /// store, named by SKU or id (editors). One source may feed several
    /// targets; one target is fed by one link.
    pub async fn link(
        &self,
        who: &Identity,
        source_product: &str,
        source_variant: Option<String>,
        target: &TargetSpec,
        markup: Markup,
        inherit: bool,
    ) -> Result<Link, RepriceError> {
        who.require(Role::Editor)?;
        check_markup(&markup)?;
        let product = self
            .engine
            .product(source_product)
            .ok_or_else(|| RepriceError::NotFound(format!("product {source_product}")))?;
        let source_variant = source_variant.filter(|v| !v.trim().is_empty());
        if let Some(v) = &source_variant {
            if !product.variants.iter().any(|x| &x.id == v) {
                return Err(RepriceError::NotFound(format!(
                    "size {v} of {source_product}"
                )));
            }
        }
        let target = self.find_target(&*self.shop()?, target).await?;
        self.add_link(who, &product, source_variant, target, markup, inherit)
            .await
    }

    /// The store's variant a "your variant" field names, or why not.
    pub(super) async fn find_target(
        &self,
        shop: &AdminShop,
        target: &TargetSpec,
    ) -> Result<super::admin::AdminVariant, RepriceError> {
        match target {
            TargetSpec::Variant(id) => shop
                .variant(id)
                .await?
                .ok_or_else(|| RepriceError::Invalid(format!("your store has no variant {id}"))),
            TargetSpec::Sku(sku) => {
                let found = shop.variants_by_sku(sku).await?;
                match found.as_slice() {
                    [one] => Ok(one.clone()),
                    [] => Err(RepriceError::Invalid(format!(
                        "no variant of your store has the SKU {sku:?}"
                    ))),
                    _ => Err(RepriceError::Invalid(format!(
                        "{} variants of your store have the SKU {sku:?}; link by admin URL instead",
                        found.len()
                    ))),
                }
            }
        }
    }

    /// Why `target` cannot take another link, if it cannot: one target is
    /// fed by one link.
    pub(super) fn already_linked(&self, target: &super::admin::AdminVariant) -> Option<String> {
        self.links()
            .iter()
            .find(|l| l.target_variant == target.id)
            .map(|other| {
                format!(
                    "{} is already fed by another link ({}); remove that link first",
                    target.title, other.source_product
                )
            })
    }

    /// Makes, keeps and audits a link whose parts were found and checked.
    pub(super) async fn add_link(
        &self,
        who: &Identity,
        product: &model::Product,
        source_variant: Option<String>,
        target: super::admin::AdminVariant,
        markup: Markup,
        inherit: bool,
    ) -> Result<Link, RepriceError> {
        if let Some(why) = self.already_linked(&target) {
            return Err(RepriceError::Invalid(why));
        }
        let link = Link {
            id: format!("l{:012x}", rand::random::<u64>() & 0xffff_ffff_ffff),
            source_product: product.key.clone(),
            source_variant,
            target_variant: target.id,
            target_product: target.product_id,
            target_title: target.title,
            // The Admin API's prices are in the shop's currency (the
            // source's, for a shop connected before Dropwatch read it).
            target_currency: self
                .status
                .read()
                .currency
                .clone()
                .unwrap_or_else(|| product.currency.clone()),
            target_price: Some(target.price),
            target_updated: None,
            target_inventory_item: target.inventory_item_id,
            target_stock: None,
            target_stock_updated: None,
            markup,
            inherit,
            created: Utc::now(),
        };
        self.store().save_link(&link).await?;
        self.links.write().push(link.clone());
        self.accounts
            .audit(who, "reprice.link", &link.id, None, Some(json!(link)))
            .await?;
        Ok(link)
    }

    /// Changes a link's markup, or makes it follow the store's tag and
    /// default markups (editors). Checked whole before anything is written;
    /// the next proposal uses it (a waiting one keeps the price it has).
    pub async fn edit_link(
        &self,
        who: &Identity,
        id: &str,
        markup: Markup,
        inherit: bool,
    ) -> Result<Link, RepriceError> {
        who.require(Role::Editor)?;
        check_markup(&markup)?;
        let before = self
            .links()
            .into_iter()
            .find(|l| l.id == id)
            .ok_or_else(|| RepriceError::NotFound(format!("link {id}")))?;
        let after = Link {
            markup,
            inherit,
            ..before.clone()
        };
        self.store().save_link(&after).await?;
        if let Some(x) = self.links.write().iter_mut().find(|x| x.id == id) {
            *x = after.clone();
        }
        self.accounts
            .audit(
                who,
                "reprice.link_edit",
                id,
                Some(json!({ "markup": before.markup, "inherit": before.inherit })),
                Some(json!({ "markup": after.markup, "inherit": after.inherit })),
            )
            .await?;
        Ok(after)
    }

    /// Removes a link (editors); its proposals stay in the log.
    pub async fn unlink(&self, who: &Identity, id: &str) -> Result<(), RepriceError> {
        who.require(Role::Editor)?;
        let Some(link) = self.links().into_iter().find(|l| l.id == id) else {
            return Err(RepriceError::NotFound(format!("link {id}")));
        };
        self.store().delete_link(id).await?;
        self.links.write().retain(|l| l.id != id);
        self.accounts
            .audit(who, "reprice.unlink", id, Some(json!(link)), None)
            .await?;
        Ok(())
    }

    /// A proposal for the link from its source's current price (editors):
    /// after linking, or after changing the markup.
    pub async fn propose_now(
        &self,
        who: &Identity,
        link_id: &str,
    ) -> Result<Proposal, RepriceError> {
        who.require(Role::Editor)?;
        let link = self
            .links()
            .into_iter()
            .find(|l| l.id == link_id)
            .ok_or_else(|| RepriceError::NotFound(format!("link {link_id}")))?;
        let product = self
            .engine
            .product(&link.source_product)
            .ok_or_else(|| RepriceError::NotFound(format!("product {}", link.source_product)))?;
        let price = match &link.source_variant {
            Some(v) => product
                .variants
                .iter()
                .find(|x| &x.id == v)
                .and_then(|x| x.price),
            None => product.summary().min_price,
        }
        .ok_or_else(|| {
            RepriceError::NotFound(format!(
                "a price for the linked size of {} (the shop shows none yet)",
                link.source_product
            ))
        })?;
        let id = format!("{}-m{}", link.id, Utc::now().timestamp_millis());
        self.propose_as(id, &link, self.store().last_seq(), price, &product.currency)
            .await
    }

    /// A proposal for `link` from a source price (from event `seq`).
    pub async fn propose(
        &self,
        link: &Link,
        seq: u64,
        source_price: Decimal,
        source_currency: &str,
    ) -> Result<Proposal, RepriceError> {
        self.propose_as(
            format!("{}-{seq}", link.id),
            link,
            seq,
            source_price,
            source_currency,
        )
        .await
    }

    async fn propose_as(
        &self,
        id: String,
        link: &Link,
        seq: u64,
        source_price: Decimal,
        source_currency: &str,
    ) -> Result<Proposal, RepriceError> {
        let now = Utc::now();
        let (markup, rule) = self.effective_markup(link);
        let target_currency = self.store_currency(link);
        let (state, proposed, note, auto, rate) = match markup.apply(
            source_price,
            source_currency,
            &target_currency,
            link.target_price,
        ) {
            Priced::Price {
                price,
                auto,
                note,
                rate,
            } => (ProposalState::Proposed, Some(price), note, auto, rate),
            Priced::CannotPrice(why) => (ProposalState::CannotPrice, None, Some(why), false, None),
        };
        let p = Proposal {
            id,
            link: link.id.clone(),
            seq,
            source_price,
            source_currency: source_currency.to_string(),
            target_currency: Some(target_currency),
            rate,
            current_target: link.target_price,
            proposed,
            note,
            rule,
            state,
            version: 1,
            approved_by: None,
            attempts: 0,
            error: None,
            pushed_price: None,
            created: now,
            updated: now,
        };
        if !self.store().create_proposal(&p).await? {
            return self
                .store()
                .proposal(&p.id)
                .await?
                .ok_or_else(|| RepriceError::NotFound(p.id.clone()));
        }
        // An older proposal for the same target still waiting is replaced.
        for old in self
            .store()
            .proposals_in(&[ProposalState::Proposed])
            .await?
        {
            if old.link == p.link && old.id != p.id {
                let mut next = old.clone();
                next.state = ProposalState::Superseded;
                next.version += 1;
                next.updated = now;
                next.note = Some(format!(
                    "replaced by a newer proposal ({})",
                    p.proposed
                        .map(|x| x.to_string())
                        .unwrap_or_else(|| "cannot price".into())
                ));
                let _ = self.store().advance_proposal(&next, old.version).await?;
            }
        }
        self.announce(EventKind::RepriceProposed, link, &p).await;
        if auto {
            return self
                .approve(&Identity::system("auto-approve"), &p.id, p.version)
                .await;
        }
        Ok(p)
    }

    /// Tells the live feed (and so the Repricing page) what happened.
    async fn announce(&self, kind: EventKind, link: &Link, p: &Proposal) {
        let tracked = self.engine.product(&link.source_product);
        let product = tracked.as_ref().map(|x| x.summary());
        let (old_price, new_price, reason) = match kind {
            EventKind::RepriceProposed => (
                p.current_target,
                p.proposed,
                Some(link.target_title.clone()),
            ),
            EventKind::RepricePushed => (
                p.current_target,
                p.pushed_price.or(p.proposed),
                Some(link.target_title.clone()),
            ),
            _ => (
                p.current_target,
                p.proposed,
                p.error.clone().or_else(|| p.note.clone()),
            ),
        };
        let source = tracked
            .map(|x| x.source)
            .unwrap_or_else(|| "repricing".into());
        let e = Event {
            seq: 0,
            kind,
            at: Utc::now(),
            source,
            product,
            variant: None,
            old_price,
            new_price,
            reason,
        };
        if let Err(err) = self.engine.record(vec![e]).await {
            tracing::warn!("could not record the repricing event: {err}");
        }
    }

    /// Approves the proposal as seen at `version`, and pushes it.
    pub async fn approve(
        &self,
        who: &Identity,
        id: &str,
        version: u64,
    ) -> Result<Proposal, RepriceError> {
        let approved = self.mark_approved(who, id, version).await?;
        Ok(self.push(approved).await)
    }

    /// proposed (at `version`) -> approved, or why not.
    async fn mark_approved(
        &self,
        who: &Identity,
        id: &str,
        version: u64,
    ) -> Result<Proposal, RepriceError> {
        self.decide(who, id, version, ProposalState::Approved).await
    }

    /// Rejects the proposal as seen at `version`.
    pub async fn reject(
        &self,
        who: &Identity,
        id: &str,
        version: u64,
    ) -> Result<Proposal, RepriceError> {
        let done = self
            .decide(who, id, version, ProposalState::Rejected)
            .await?;
        self.accounts
            .audit(who, "reprice.reject", id, None, None)
            .await?;
        Ok(done)
    }

    /// An editor's decision on a waiting proposal as seen at `version`:
    /// approved (noting who) or rejected, in the one write that checks and
    /// bumps the version; `Conflict` when it is no longer that proposal.
    async fn decide(
        &self,
        who: &Identity,
        id: &str,
        version: u64,
        to: ProposalState,
    ) -> Result<Proposal, RepriceError> {
        who.require(Role::Editor)?;
        let p = self
            .store()
            .proposal(id)
            .await?
            .ok_or_else(|| RepriceError::NotFound(format!("proposal {id}")))?;
        if p.version != version || p.state != ProposalState::Proposed {
            return Err(RepriceError::Conflict);
        }
        let mut next = p;
        next.state = to;
        next.version += 1;
        if to == ProposalState::Approved {
            next.approved_by = Some(who.label.clone());
        }
        next.updated = Utc::now();
        self.store()
            .advance_proposal(&next, version)
            .await?
            .ok_or(RepriceError::Conflict)
    }

    /// Approves several proposals (each as seen at its version) and pushes
    /// them, one `productVariantsBulkUpdate` per product of the shop; one
    /// that changed meanwhile is skipped with its reason. In the order given.
    pub async fn approve_many(
        &self,
        who: &Identity,
        picks: &[(String, u64)],
    ) -> Vec<(String, Result<Proposal, RepriceError>)> {
        let mut out: Vec<(String, Result<Proposal, RepriceError>)> = vec![];
        let mut approved = vec![];
        for (id, version) in picks {
            match self.mark_approved(who, id, *version).await {
                Ok(p) => approved.push(p),
                Err(e) => out.push((id.clone(), Err(e))),
            }
        }
        for p in self.push_all(approved).await {
            out.push((p.id.clone(), Ok(p)));
        }
        out.sort_by_key(|(id, _)| picks.iter().position(|(x, _)| x == id));
        out
    }

    /// Claims an approved (or interrupted) job and pushes it. Returns the
    /// proposal as it ended (or as another pusher left it).
    pub async fn push(&self, p: Proposal) -> Proposal {
        self.push_all(vec![p]).await.remove(0)
    }

    /// Claims each approved job (approved -> pushing, from the version it
    /// has; a job someone else claimed first is left to them and returned
    /// as it is) and pushes the claimed ones.
    async fn push_all(&self, jobs: Vec<Proposal>) -> Vec<Proposal> {
        let mut out = vec![];
        let mut claimed = vec![];
        for p in jobs {
            let mut job = p.clone();
            job.state = ProposalState::Pushing;
            job.version += 1;
            job.updated = Utc::now();
            match self.store().advance_proposal(&job, p.version).await {
                Ok(Some(j)) => claimed.push(j),
                // Someone else holds it (or the store is down): leave it to them.
                _ => out.push(p),
            }
        }
        out.extend(self.finish_all(claimed).await);
        out
    }

    /// Pushes claimed jobs: those for variants of one shop product go in one
    /// call. Each ends done (with the price read back) or failed.
    async fn finish_all(&self, jobs: Vec<Proposal>) -> Vec<Proposal> {
        let links = self.links();
        let mut groups: Vec<(String, Vec<(Proposal, Link)>)> = vec![];
        let mut out = vec![];
        for job in jobs {
            let link = links.iter().find(|l| l.id == job.link).cloned();
            let why = match (&link, job.proposed) {
                (None, _) => Some("its link was removed"),
                (_, None) => Some("there is no price to push"),
                _ => None,
            };
            match (why, link) {
                (Some(why), link) => out.push(self.settle(job, link, Err(why.to_string())).await),
                (None, Some(link)) => {
                    // One price per variant in a call: a second job for the
                    // same variant goes in a call of its own.
                    match groups.iter_mut().find(|(product, g)| {
                        *product == link.target_product
                            && !g
                                .iter()
                                .any(|(_, l)| l.target_variant == link.target_variant)
                    }) {
                        Some((_, g)) => g.push((job, link)),
                        None => groups.push((link.target_product.clone(), vec![(job, link)])),
                    }
                }
                (None, None) => unreachable!("a job without a link has a reason"),
            }
        }
        for (product, group) in groups {
            let shop = match self.shop() {
                Ok(s) => s,
                Err(e) => {
                    for (job, link) in group {
                        out.push(self.settle(job, Some(link), Err(e.to_string())).await);
                    }
                    continue;
                }
            };
            let mut wait = Duration::from_millis(500);
            let mut attempts = 0;
            let result = loop {
                attempts += 1;
                match self.push_in_currency(&shop, &product, &group).await {
                    Ok(done) => break Ok(done),
                    Err(AdminError::Throttled(d)) if attempts < PUSH_ATTEMPTS => {
                        tokio::time::sleep(d).await
                    }
                    Err(e) if e.is_transient() && attempts < PUSH_ATTEMPTS => {
                        tokio::time::sleep(wait).await;
                        wait *= 2;
                    }
                    Err(e) => break Err(e.to_string()),
                }
            };
            for (mut job, link) in group {
                job.attempts += attempts;
                let r = match &result {
                    Ok((currency, _)) if !priced_in(&job, &link).eq_ignore_ascii_case(currency) => {
                        Err(format!(
                            "your store sells in {currency}, but this price was computed in {}: not pushed; propose again (with a conversion rate in the markup if the source is not priced in {currency})",
                            priced_in(&job, &link)
                        ))
                    }
                    Ok((_, vs)) => Ok(vs
                        .iter()
                        .find(|v| v.id == link.target_variant)
                        .map(|v| v.price)),
                    Err(e) => Err(e.clone()),
                };
                out.push(self.settle(job, Some(link), r).await);
            }
        }
        out
    }

    /// One attempt at a group's push: the shop's currency first (its
    /// prices are set in it, and a merchant may change it), then the prices
    /// of the jobs computed in that currency. Returns the currency and the
    /// variants as Shopify now has them.
    async fn push_in_currency(
        &self,
        shop: &AdminShop,
        product: &str,
        group: &[(Proposal, Link)],
    ) -> Result<(String, Vec<super::admin::AdminVariant>), AdminError> {
        let currency = shop.shop_currency().await?;
        self.note_currency(&currency).await;
        let prices: Vec<(String, Decimal)> = group
            .iter()
            .filter(|(j, l)| priced_in(j, l).eq_ignore_ascii_case(&currency))
            .map(|(j, l)| (l.target_variant.clone(), j.proposed.expect("checked above")))
            .collect();
        if prices.is_empty() {
            return Ok((currency, vec![]));
        }
        Ok((currency, shop.set_prices(product, &prices).await?))
    }

    /// Records how a push ended: the job's state, the price read back on
    /// the link, the audit entry and the live event.
    async fn settle(
        &self,
        mut job: Proposal,
        link: Option<Link>,
        result: Result<Option<Decimal>, String>,
    ) -> Proposal {
        let before = job.version;
        job.version += 1;
        job.updated = Utc::now();
        match &result {
            Ok(read_back) => {
                job.state = ProposalState::Done;
                job.pushed_price = *read_back;
                job.error = None;
            }
            Err(why) => {
                job.state = ProposalState::Failed;
                job.error = Some(why.clone());
            }
        }
        if let (Ok(Some(price)), Some(link)) = (&result, &link) {
            let mut l = link.clone();
            l.target_price = Some(*price);
            if self.store().save_link(&l).await.is_ok() {
                if let Some(x) = self.links.write().iter_mut().find(|x| x.id == l.id) {
                    *x = l;
                }
            }
        }
        let who = Identity::system(job.approved_by.as_deref().unwrap_or("repricer"));
        let _ = self
            .accounts
            .audit(
                &who,
                if result.is_ok() { "reprice.push" } else { "reprice.push_failed" },
                &job.id,
                Some(json!({ "price": job.current_target })),
                Some(json!({ "price": job.proposed, "read_back": job.pushed_price, "error": job.error, "attempts": job.attempts })),
            )
            .await;
        let done = match self.store().advance_proposal(&job, before).await {
            Ok(Some(done)) => done,
            _ => job,
        };
        if let Some(link) = &link {
            let kind = if done.state == ProposalState::Done {
                EventKind::RepricePushed
            } else {
                EventKind::RepriceFailed
            };
            self.announce(kind, link, &done).await;
        }
        done
    }

    /// At start: jobs left approved or pushing by a stopped process.
    pub async fn resume(&self) -> Result<usize, RepriceError> {
        let open = self
            .store()
            .proposals_in(&[ProposalState::Approved, ProposalState::Pushing])
            .await?;
        let n = open.len();
        let (pushing, approved): (Vec<_>, Vec<_>) = open
            .into_iter()
            .partition(|p| p.state == ProposalState::Pushing);
        // Their pusher stopped mid-call: push again from here (setting an
        // absolute price twice is harmless).
        self.finish_all(pushing).await;
        self.push_all(approved).await;
        Ok(n)
    }

    /// Sets the app secret webhooks are signed with (admins).
    pub async fn set_webhook_secret(
        &self,
        who: &Identity,
        secret: &str,
    ) -> Result<(), RepriceError> {
        who.require(Role::Admin)?;
        if secret.trim().len() < 16 {
            return Err(RepriceError::Invalid(
                "the app's secret has at least 16 characters".into(),
            ));
        }
        self.accounts
            .vault
            .put(self.store(), WEBHOOK_SECRET, secret.trim())
            .await?;
        self.status.write().webhook_secret_set = true;
        self.accounts
            .audit(who, "shopify.webhook_secret", "shopify", None, None)
            .await?;
        Ok(())
    }

    /// A delivery of the shop's webhook: checked (HMAC over the raw body),
    /// deduplicated by its id, and applied if newer than what is known.
    pub async fn webhook(
        &self,
        topic: &str,
        webhook_id: &str,
        signature: &str,
        body: &[u8],
    ) -> Result<WebhookOutcome, RepriceError> {
        let secret = self
            .accounts
            .vault
            .get(self.store(), WEBHOOK_SECRET)
            .await?
            .ok_or(RepriceError::BadSignature)?;
        if !super::webhook::verify(secret.as_bytes(), body, signature) {
            return Err(RepriceError::BadSignature);
        }
        let payload: serde_json::Value = serde_json::from_slice(body)
            .map_err(|e| RepriceError::Invalid(format!("the webhook's body is not JSON: {e}")))?;
        if webhook_id.trim().is_empty() || !self.store().first_delivery(webhook_id.trim()).await? {
            return Ok(WebhookOutcome::Duplicate);
        }
        let at = |v: &serde_json::Value| {
            v.as_str()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&Utc))
        };
        let mut changed = vec![];
        {
            let links = self.links();
            match topic {
                "products/update" => {
                    let product_at = at(&payload["updated_at"]);
                    for v in payload["variants"].as_array().into_iter().flatten() {
                        let Some(id) = gid("ProductVariant", &v["admin_graphql_api_id"])
                            .or_else(|| gid("ProductVariant", &v["id"]))
                        else {
                            continue;
                        };
                        let Some(price) = v["price"]
                            .as_str()
                            .and_then(|p| model::money::parse_price(p).ok())
                        else {
                            continue;
                        };
                        let when = at(&v["updated_at"]).or(product_at);
                        for l in links.iter().filter(|l| l.target_variant == id) {
                            if when.is_some()
                                && l.target_updated.is_some_and(|known| Some(known) >= when)
                            {
                                continue; // an older delivery, late
                            }
                            let mut l = l.clone();
                            l.target_price = Some(price);
                            l.target_updated = when;
                            changed.push(l);
                        }
                    }
                }
                "inventory_levels/update" => {
                    let item = gid("InventoryItem", &payload["inventory_item_id"]);
                    let when = at(&payload["updated_at"]);
                    let available = payload["available"].as_i64();
                    for l in links
                        .iter()
                        .filter(|l| item.is_some() && l.target_inventory_item == item)
                    {
                        if when.is_some()
                            && l.target_stock_updated
                                .is_some_and(|known| Some(known) >= when)
                        {
                            continue;
                        }
                        let mut l = l.clone();
                        l.target_stock = available;
                        l.target_stock_updated = when;
                        changed.push(l);
                    }
                }
                _ => {}
            }
        }
        if changed.is_empty() {
            return Ok(WebhookOutcome::Ignored);
        }
        for l in &changed {
            self.store().save_link(l).await?;
        }
        let mut links = self.links.write();
        for l in &changed {
            if let Some(x) = links.iter_mut().find(|x| x.id == l.id) {
                *x = l.clone();
            }
        }
        Ok(WebhookOutcome::Applied(changed.len()))
    }

    /// Follows the engine's price changes and proposes for linked products,
    /// supervised: a follower that fails is started again and counted, and
    /// an event whose proposal panics is skipped, not retried for ever.
    pub fn start(self: &Arc<Self>) {
        let me = self.clone();
        let restarts = self.engine.restarts();
        tokio::spawn(crate::supervise::supervised(
            "repricer",
            restarts,
            move || {
                let me = me.clone();
                async move { me.follow().await }
            },
        ));
    }

    async fn follow(&self) -> Result<(), String> {
        let _ = self.resume().await;
        let store = self.store().clone();
        let since = store
            .meta("repricing_seq")
            .await
            .map_err(|e| format!("could not read where repricing left off: {e}"))?
            .and_then(|v| v.as_u64())
            .unwrap_or_else(|| store.last_seq());
        let mut feed = self.engine.internal_feed(since);
        let mut cursor = crate::live::FollowCursor::new("repricing_seq", since);
        loop {
            let e = match feed.next().await {
                Ok(Some(e)) => e,
                Ok(None) => return Ok(()),
                Err(err) => return Err(format!("could not read the events: {err}")),
            };
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
