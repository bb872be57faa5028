//! What picks learn from: a [`Signal`] is one thing a user did that says
//! what they like (a product page opened, the grid filtered, a watch rule
//! made), and [`Noted`] one as the store keeps it. A signal's kind and key
//! say which one it is, so the same thing done again counts up the one
//! kept instead of adding another.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::{Product, ProductFilter, Rule};

/// One thing a user did that says what they like.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Signal {
    /// A product page opened: its brand, series and price then.
    Opened {
        product: String,
        brand: String,
        series: String,
        /// Its lowest price in stock (or at all) when opened.
        #[serde(default)]
        price: Option<Decimal>,
        currency: String,
    },
    /// The grid filtered (only what says what they like).
    Filtered {
        #[serde(default)]
        brand: String,
        #[serde(default)]
        series: String,
        #[serde(default)]
        size: String,
        #[serde(default)]
        min_price: Option<Decimal>,
        #[serde(default)]
        max_price: Option<Decimal>,
    },
    /// A watch rule created: what its scope names (a product's brand and
    /// series are looked up when picks are worked out).
    Watched {
        rule: String,
        #[serde(default)]
        product: Option<String>,
        #[serde(default)]
        brand: Option<String>,
        #[serde(default)]
        series: Option<String>,
        #[serde(default)]
        sizes: Vec<String>,
    },
}

/// The kinds of [`Signal`], as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignalKind {
    Opened,
    Filtered,
    Watched,
}

impl SignalKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SignalKind::Opened => "opened",
            SignalKind::Filtered => "filtered",
            SignalKind::Watched => "watched",
        }
    }
}

impl Signal {
    /// A product page opened.
    pub fn opened(p: &Product) -> Signal {
        Signal::Opened {
            product: p.key.clone(),
            brand: p.brand.clone(),
            series: p.product_type.clone(),
            price: p.lowest_in_stock().or_else(|| p.price_range().map(|r| r.0)),
            currency: p.currency.clone(),
        }
    }

    /// The grid filtered by `f`; `None` when the filter names no brand,
    /// series, size or price (a search or a sort alone says little).
    pub fn filtered(f: &ProductFilter) -> Option<Signal> {
        let said = !f.brand.is_empty()
            || !f.series.is_empty()
            || !f.size.is_empty()
            || f.min_price.is_some()
            || f.max_price.is_some();
        said.then(|| Signal::Filtered {
            brand: f.brand.trim().to_string(),
            series: f.series.trim().to_string(),
            size: f.size.trim().to_string(),
            min_price: f.min_price,
            max_price: f.max_price,
        })
    }

    /// A watch rule created.
    pub fn watched(r: &Rule) -> Signal {
        Signal::Watched {
            rule: r.id.clone(),
            product: r.scope.product.clone(),
            brand: r.scope.brand.clone(),
            series: r.scope.series.clone(),
            sizes: r.scope.sizes.clone(),
        }
    }

    pub fn kind(&self) -> SignalKind {
        match self {
            Signal::Opened { .. } => SignalKind::Opened,
            Signal::Filtered { .. } => SignalKind::Filtered,
            Signal::Watched { .. } => SignalKind::Watched,
        }
    }

    /// What makes two signals of a kind the same one (a product opened
    /// again, the same filters again): the store counts a repeat up.
    pub fn key(&self) -> String {
        match self {
            Signal::Opened { product, .. } => product.clone(),
            Signal::Filtered {
                brand,
                series,
                size,
                min_price,
                max_price,
            } => {
                let price = |d: &Option<Decimal>| d.map(|d| d.normalize().to_string());
                format!(
                    "brand={}&series={}&size={}&min={}&max={}",
                    brand.to_lowercase(),
                    series.to_lowercase(),
                    size.to_lowercase(),
                    price(min_price).unwrap_or_default(),
                    price(max_price).unwrap_or_default()
                )
            }
            Signal::Watched { rule, .. } => rule.clone(),
        }
    }
}

/// A signal as kept: when it was last given, and how many times.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Noted {
    pub signal: Signal,
    pub at: DateTime<Utc>,
    pub times: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_that_say_what_they_like_and_repeats_that_count_up() {
        // A search or a sort alone says nothing about what they like.
        let f = ProductFilter::from_query([("q", "dunk"), ("sort", "price_asc")]);
        assert_eq!(Signal::filtered(&f), None);
        // The same filters on another page, or spelled in another case: one signal.
        let f = ProductFilter::from_query([("brand", "Nike"), ("size", "9.5"), ("page", "2")]);
        let again = ProductFilter::from_query([("brand", "nike"), ("size", "9.5")]);
        let (a, b) = (
            Signal::filtered(&f).unwrap(),
            Signal::filtered(&again).unwrap(),
        );
        assert_eq!((a.kind(), a.key()), (b.kind(), b.key()));
        assert_eq!(a.key(), "brand=nike&series=&size=9.5&min=&max=");
        let cheaper = ProductFilter::from_query([("brand", "Nike"), ("max", "100.00")]);
        assert_eq!(
            Signal::filtered(&cheaper).unwrap().key(),
            "brand=nike&series=&size=&min=&max=100",
            "100.00 and 100 are one price"
        );
        // Stored before a field existed: still reads.
        let old = serde_json::json!({"kind": "watched", "rule": "r1"});
        let s: Signal = serde_json::from_value(old).unwrap();
        assert_eq!(s.kind(), SignalKind::Watched);
        assert_eq!(s.key(), "r1");
    }
}
