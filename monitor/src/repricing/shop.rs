//! Connecting the user's Shopify store: the Admin API client under the
//! engine's outbound policy, the domain and token kept sealed in the vault,
//! the shop's name and currency as it last said them, and the shop the
//! server may offer to connect with one button.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use model::{Link, Role};

use super::admin::{endpoint_for, AdminShop};
use super::service::{
    RepriceError, Repricer, SHOP_CURRENCY_META, SHOP_DOMAIN, SHOP_NAME_META, SHOP_TOKEN,
};
use crate::auth::Identity;
use crate::outbound::Outbound;

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

/// A shop the server offers ready to connect: its Admin API address and
/// token stay on the server; the page shows the label.
#[derive(Clone, Debug)]
pub struct OfferedShop {
    pub label: String,
    pub url: String,
    pub token: String,
}

/// The Admin API's clients, under the engine's outbound policy (the shop's
/// domain is typed by an admin, or offered by the server). They follow no
/// redirects, so the access token goes to the shop's own address only.
pub(super) fn http(policy: Arc<crate::outbound::Policy>) -> Outbound {
    Outbound::new(policy, |b| {
        b.timeout(Duration::from_secs(30)).user_agent(concat!(
            "Dropwatch/",
            env!("CARGO_PKG_VERSION"),
            " (repricing)"
        ))
    })
}

/// An Admin API client for `endpoint`, or why it may not be reached.
pub(super) fn shop_at(
    http: &Outbound,
    endpoint: url::Url,
    token: &str,
) -> Result<AdminShop, RepriceError> {
    let client = http
        .client_for(&endpoint)
        .map_err(|e| RepriceError::Invalid(format!("refused: {e}")))?
        .clone();
    Ok(AdminShop::new(endpoint, token, client))
}

impl Repricer {
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
    pub(super) async fn note_currency(&self, currency: &str) {
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
}
