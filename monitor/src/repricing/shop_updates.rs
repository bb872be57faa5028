//! The shop's webhook deliveries (`POST /webhooks/shopify`) applied to
//! links: the app secret they are signed with (admins), and the price and
//! stock of linked variants as the shop reports them, each delivery
//! checked, deduplicated by its id and applied only if newer than what is
//! known. The HMAC itself is `webhook.rs`.

use chrono::Utc;

use model::Role;

use super::service::{RepriceError, Repricer, WEBHOOK_SECRET};
use crate::auth::Identity;

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

impl Repricer {
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
}
