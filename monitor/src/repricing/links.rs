//! Links: which tracked product (or one size of it) feeds which variant
//! of the user's store, with the markup it is priced by. Reading the
//! "your variant" field, finding the variant in the shop, and adding,
//! editing and removing links (one target is fed by one link).

use chrono::Utc;
use serde_json::json;

use model::{Link, Markup, Role};

use super::admin::AdminShop;
use super::markup::check_markup;
use super::service::{RepriceError, Repricer};
use crate::auth::Identity;

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

impl Repricer {
    pub fn links(&self) -> Vec<Link> {
        self.links.read().clone()
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
}
