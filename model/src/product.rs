//! Products and their variants (sizes), as the engine holds them and the page shows them.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// What a page shows where a price is not known.
pub const UNKNOWN_PRICE: &str = "price not shown";

/// One purchasable option of a product: for sneakers and apparel, a size.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Variant {
    /// The source's own id for the variant (Shopify's variant id).
    pub id: String,
    /// The size label as a user reads it ("9.5", "M", "One size").
    pub size: String,
    #[serde(default)]
    pub sku: Option<String>,
    /// None: the shop does not show it (a sold-out page often hides the
    /// price) and it was never seen before. Such a size is never in stock.
    #[serde(default)]
    pub price: Option<Decimal>,
    /// The "was" price a shop shows struck through, when it has one.
    #[serde(default)]
    pub compare_at: Option<Decimal>,
    pub available: bool,
    /// A link that puts this size straight into the shop's cart, where the source has one.
    #[serde(default)]
    pub cart_url: Option<String>,
}

/// A product as last observed in one source.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Product {
    /// Unique across sources: `{source}:{source's product id}`.
    pub key: String,
    pub source: String,
    /// The source's own id for the product.
    pub external_id: String,
    pub title: String,
    /// The canonical brand name (see the engine's brand table).
    pub brand: String,
    #[serde(default)]
    pub product_type: String,
    #[serde(default)]
    pub tags: Vec<String>,
    /// The product's page in its store.
    pub url: String,
    #[serde(default)]
    pub image: Option<String>,
    /// ISO 4217 code of every price of this product.
    pub currency: String,
    pub variants: Vec<Variant>,
    pub first_seen: DateTime<Utc>,
    /// When a price, stock or detail of this product last changed.
    pub updated: DateTime<Utc>,
    /// Set after a complete read of the catalogue no longer listed it.
    #[serde(default)]
    pub removed: bool,
    /// The last change of its lowest price (for the change badge and the
    /// "biggest drop" sort).
    #[serde(default)]
    pub last_change: Option<PriceMove>,
    /// What else the source tells about it, by name: "delivery" (the
    /// expected date), "rating", "stock" (the shop's own words), "list price".
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub facts: std::collections::BTreeMap<String, String>,
}

/// A move of a product's lowest price.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PriceMove {
    pub old: Decimal,
    pub new: Decimal,
    pub at: DateTime<Utc>,
}

impl PriceMove {
    /// The change in percent of the old price (negative for a drop), to one
    /// decimal; `None` from a zero price (or one too odd to compute with).
    pub fn percent(&self) -> Option<Decimal> {
        crate::money::percent_change(self.old, self.new)
    }

    /// The one answer to "is this a drop" (detection, rules, messages, the
    /// feed badge and the sorts all ask here).
    pub fn is_drop(&self) -> bool {
        self.new < self.old
    }

    /// How much the price fell (old - new); `None` for a rise.
    pub fn drop_amount(&self) -> Option<Decimal> {
        self.old.checked_sub(self.new).filter(|_| self.is_drop())
    }

    /// How much it fell in percent of the old price, unrounded (so a drop
    /// of 9.96 % does not meet a rule's 10 %); `None` for a rise or from a
    /// zero price.
    pub fn drop_percent(&self) -> Option<Decimal> {
        if self.old.is_zero() {
            return None;
        }
        self.drop_amount()?
            .checked_mul(Decimal::ONE_HUNDRED)?
            .checked_div(self.old)
    }
}

impl Product {
    /// A product as a connector read it at `now`: its key is
    /// `{source}:{id}` (`id` is the source's id for it, made safe for a key
    /// where it needs to be), every field is empty until the connector fills
    /// it, and the bookkeeping (first seen, updated, removed, the last
    /// change) is the engine's diff to set.
    pub fn observed(
        source: &str,
        id: &str,
        external_id: impl Into<String>,
        now: DateTime<Utc>,
    ) -> Product {
        Product {
            key: format!("{source}:{id}"),
            source: source.to_string(),
            external_id: external_id.into(),
            title: String::new(),
            brand: String::new(),
            product_type: String::new(),
            tags: vec![],
            url: String::new(),
            image: None,
            currency: String::new(),
            variants: vec![],
            first_seen: now,
            updated: now,
            removed: false,
            last_change: None,
            facts: Default::default(),
        }
    }

    /// The lowest and highest known variant price (None: no price known).
    pub fn price_range(&self) -> Option<(Decimal, Decimal)> {
        let mut prices = self.variants.iter().filter_map(|v| v.price);
        let first = prices.next()?;
        Some(prices.fold((first, first), |(lo, hi), p| (lo.min(p), hi.max(p))))
    }

    /// The lowest price of a size that can be bought now.
    pub fn lowest_in_stock(&self) -> Option<Decimal> {
        self.variants
            .iter()
            .filter(|v| v.available)
            .filter_map(|v| v.price)
            .min()
    }

    /// Size labels currently in stock, in the shop's order.
    pub fn sizes_in_stock(&self) -> Vec<String> {
        self.variants
            .iter()
            .filter(|v| v.available)
            .map(|v| v.size.clone())
            .collect()
    }

    /// The compact form that lists and live events carry.
    pub fn summary(&self) -> ProductSummary {
        let range = self.price_range();
        let compare_at = self.variants.iter().filter_map(|v| v.compare_at).max();
        ProductSummary {
            key: self.key.clone(),
            source: self.source.clone(),
            title: self.title.clone(),
            brand: self.brand.clone(),
            product_type: self.product_type.clone(),
            url: self.url.clone(),
            image: self.image.clone(),
            currency: self.currency.clone(),
            min_price: range.map(|r| r.0),
            max_price: range.map(|r| r.1),
            compare_at: compare_at.filter(|c| range.is_some_and(|(lo, _)| *c > lo)),
            sizes_in_stock: self.sizes_in_stock(),
            variant_count: self.variants.len(),
            removed: self.removed,
            updated: self.updated,
            change: self.last_change.clone(),
            spread: None,
            deal: None,
        }
    }
}

/// What a product list shows of a product, and what every live event carries so
/// that a page can update its row without asking the server again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProductSummary {
    pub key: String,
    pub source: String,
    pub title: String,
    pub brand: String,
    /// The series or collection (Shopify's product type).
    #[serde(default)]
    pub product_type: String,
    pub url: String,
    pub image: Option<String>,
    pub currency: String,
    /// None: the shop shows no price and none was seen before (sold out).
    #[serde(default)]
    pub min_price: Option<Decimal>,
    #[serde(default)]
    pub max_price: Option<Decimal>,
    /// The highest "was" price, shown only when it is above the current price.
    pub compare_at: Option<Decimal>,
    pub sizes_in_stock: Vec<String>,
    pub variant_count: usize,
    pub removed: bool,
    pub updated: DateTime<Utc>,
    /// The last move of the lowest price, if it ever moved.
    #[serde(default)]
    pub change: Option<PriceMove>,
    /// How far apart this item's in-stock prices are across the stores
    /// carrying it (set by lists that compare stores).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spread: Option<Spread>,
    /// Where today's price stands against its history (set by lists from
    /// the engine's deal book; see `model::deal`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deal: Option<crate::deal::DealBadge>,
}

/// One item's lowest in-stock prices across stores.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Spread {
    /// Stores that have it in stock.
    pub stores: u32,
    pub low: Decimal,
    pub high: Decimal,
    /// (high - low) in percent of low, to one decimal.
    pub percent: Decimal,
}

impl ProductSummary {
    /// "129.99 USD", or "110.00–129.99 USD" when sizes are priced
    /// differently, or "price not shown" when the shop hides it.
    pub fn price_label(&self) -> String {
        match (self.min_price, self.max_price) {
            (Some(lo), Some(hi)) if lo != hi => format!("{lo}–{hi} {}", self.currency),
            (Some(lo), _) => format!("{lo} {}", self.currency),
            _ => UNKNOWN_PRICE.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn variant(size: &str, price: &str, available: bool) -> Variant {
        Variant {
            id: size.into(),
            size: size.into(),
            sku: None,
            price: Some(price.parse().unwrap()),
            compare_at: None,
            available,
            cart_url: None,
        }
    }

    #[test]
    fn summary_shows_price_range_and_sizes_in_stock() {
        let p = Product {
            key: "s:1".into(),
            source: "s".into(),
            external_id: "1".into(),
            title: "Dunk Low".into(),
            brand: "Nike".into(),
            product_type: String::new(),
            tags: vec![],
            url: "http://x/products/dunk".into(),
            image: None,
            currency: "USD".into(),
            variants: vec![
                variant("9", "110.00", false),
                variant("9.5", "129.99", true),
                variant("10", "120", true),
            ],
            first_seen: Utc::now(),
            updated: Utc::now(),
            removed: false,
            last_change: None,
            facts: Default::default(),
        };
        let s = p.summary();
        assert_eq!(s.price_label(), "110.00–129.99 USD");
        assert_eq!(s.sizes_in_stock, vec!["9.5", "10"]);
        // Decimals travel as strings, exactly as the shop wrote them.
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["min_price"], "110.00");
    }

    #[test]
    fn a_product_whose_price_was_never_shown_says_so() {
        let mut v = variant("One size", "1", false);
        v.price = None;
        let p = Product {
            key: "s:1".into(),
            source: "s".into(),
            external_id: "1".into(),
            title: "Labubu".into(),
            brand: String::new(),
            product_type: String::new(),
            tags: vec![],
            url: "http://x/p/labubu".into(),
            image: None,
            currency: "USD".into(),
            variants: vec![v],
            first_seen: Utc::now(),
            updated: Utc::now(),
            removed: false,
            last_change: None,
            facts: Default::default(),
        };
        assert_eq!(p.price_range(), None);
        let s = p.summary();
        assert_eq!((s.min_price, s.max_price), (None, None));
        assert_eq!(s.price_label(), "price not shown");
        // Stored before prices could be unknown: still reads.
        let old = serde_json::json!({"id": "a", "size": "9", "price": "120.00", "available": true});
        let v: Variant = serde_json::from_value(old).unwrap();
        assert_eq!(v.price, Some("120.00".parse().unwrap()));
    }

    #[test]
    fn one_answer_to_is_this_a_drop_and_by_how_much() {
        let m = |old: &str, new: &str| PriceMove {
            old: old.parse().unwrap(),
            new: new.parse().unwrap(),
            at: chrono::Utc::now(),
        };
        let d = m("129.99", "117.00");
        assert!(d.is_drop());
        assert_eq!(d.drop_amount(), Some("12.99".parse().unwrap()));
        assert!(d.drop_percent().unwrap() > "9.99".parse().unwrap());
        assert!(
            d.drop_percent().unwrap() < "10".parse().unwrap(),
            "unrounded: 9.99..., not 10"
        );
        assert_eq!(d.percent(), Some("-10.0".parse().unwrap()), "shown rounded");
        let up = m("100", "110");
        assert!(!up.is_drop());
        assert_eq!((up.drop_amount(), up.drop_percent()), (None, None));
        assert_eq!(m("0", "0").drop_percent(), None);
    }
}
