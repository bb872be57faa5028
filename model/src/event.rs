//! Change events: what the engine detected, numbered so that no client misses one.
//!
//! Every event has a sequence number (`seq`) that only grows. The store keeps
//! them all; the live socket sends them as JSON, one message per event, in
//! sequence order. A client that reconnects with the last `seq` it saw gets
//! exactly the events after it.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::ProductSummary;

/// What changed. On the wire this is the message's `type`, in snake case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A product seen for the first time (or listed again after `removed`).
    NewProduct,
    /// One variant's price changed; `old_price` and `new_price` are set.
    PriceChanged,
    /// One size went from unavailable to available.
    Restocked,
    /// One size went from available to unavailable.
    SoldOut,
    /// A complete read of the catalogue no longer lists the product.
    Removed,
    /// The source answered with something that is not its catalogue (a
    /// password page, a challenge, garbage). Stock is left as it was.
    Blocked,
    /// The source answers normally again after `blocked`.
    Unblocked,
    /// Repricing: a source price change proposed a new price for a variant
    /// of the user's Shopify store (`old_price` its price now, `new_price`
    /// the proposal; `reason` names the target).
    RepriceProposed,
    /// Repricing: the store took the new price (`new_price` as read back).
    RepricePushed,
    /// Repricing: the push failed; `reason` says why.
    RepriceFailed,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::NewProduct => "new_product",
            EventKind::PriceChanged => "price_changed",
            EventKind::Restocked => "restocked",
            EventKind::SoldOut => "sold_out",
            EventKind::Removed => "removed",
            EventKind::Blocked => "blocked",
            EventKind::Unblocked => "unblocked",
            EventKind::RepriceProposed => "reprice_proposed",
            EventKind::RepricePushed => "reprice_pushed",
            EventKind::RepriceFailed => "reprice_failed",
        }
    }

    /// About the user's own store (repricing), not about a tracked product's
    /// state: the grid and the product's price history leave these alone.
    pub fn is_repricing(self) -> bool {
        matches!(
            self,
            EventKind::RepriceProposed | EventKind::RepricePushed | EventKind::RepriceFailed
        )
    }
}

/// The product an event is about, as it was right after the change.
pub type EventProduct = ProductSummary;

/// The variant (size) an event is about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventVariant {
    pub id: String,
    pub size: String,
    /// None: not shown by the shop and never seen before.
    #[serde(default)]
    pub price: Option<Decimal>,
    pub available: bool,
    #[serde(default)]
    pub cart_url: Option<String>,
}

/// One detected change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Event {
    pub seq: u64,
    #[serde(rename = "type")]
    pub kind: EventKind,
    pub at: DateTime<Utc>,
    /// The source's id (its record key).
    pub source: String,
    #[serde(default)]
    pub product: Option<EventProduct>,
    #[serde(default)]
    pub variant: Option<EventVariant>,
    #[serde(default)]
    pub old_price: Option<Decimal>,
    #[serde(default)]
    pub new_price: Option<Decimal>,
    /// For `blocked`: what the source answered, in words.
    #[serde(default)]
    pub reason: Option<String>,
}

impl Event {
    /// The price move of a `price_changed` event (old and new price), the one
    /// answer to "is this a drop, and by how much" for feeds, rules and messages.
    pub fn price_move(&self) -> Option<crate::PriceMove> {
        match (self.kind, self.old_price, self.new_price) {
            (EventKind::PriceChanged, Some(old), Some(new)) => Some(crate::PriceMove {
                old,
                new,
                at: self.at,
            }),
            _ => None,
        }
    }

    /// A one-line description for feeds and logs ("Dunk Low size 9.5: 129.99 -> 119.99 USD").
    pub fn describe(&self) -> String {
        let title = self
            .product
            .as_ref()
            .map(|p| p.title.as_str())
            .unwrap_or("");
        let currency = self
            .product
            .as_ref()
            .map(|p| p.currency.as_str())
            .unwrap_or("");
        let size = self
            .variant
            .as_ref()
            .map(|v| format!(" size {}", v.size))
            .unwrap_or_default();
        match self.kind {
            EventKind::NewProduct => format!("New: {title}"),
            EventKind::PriceChanged => format!(
                "{title}{size}: {} -> {} {currency}",
                self.old_price.unwrap_or_default(),
                self.new_price.unwrap_or_default()
            ),
            // Back at a price the feed says (it may be its first one: a
            // sold-out page that hid its price).
            EventKind::Restocked => match self.variant.as_ref().and_then(|v| v.price) {
                Some(price) => format!("Restocked: {title}{size} at {price} {currency}"),
                None => format!("Restocked: {title}{size}"),
            },
            EventKind::SoldOut => format!("Sold out: {title}{size}"),
            EventKind::Removed => format!("Removed from the store: {title}"),
            EventKind::Blocked => format!(
                "Source {} blocked: {}",
                self.source,
                self.reason.as_deref().unwrap_or("unknown reason")
            ),
            EventKind::Unblocked => format!("Source {} answers normally again", self.source),
            EventKind::RepriceProposed => format!(
                "{title}: proposed {} {currency} for {} (now {})",
                self.new_price.unwrap_or_default(),
                self.reason.as_deref().unwrap_or("your store"),
                self.old_price
                    .map(|p| p.to_string())
                    .unwrap_or_else(|| "unknown".into())
            ),
            EventKind::RepricePushed => format!(
                "{title}: your store's price {} -> {} {currency}",
                self.old_price
                    .map(|p| p.to_string())
                    .unwrap_or_else(|| "?".into()),
                self.new_price.unwrap_or_default()
            ),
            EventKind::RepriceFailed => format!(
                "{title}: the push to your store failed: {}",
                self.reason.as_deref().unwrap_or("unknown reason")
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_format_names_the_type_in_snake_case() {
        let e = Event {
            seq: 7,
            kind: EventKind::PriceChanged,
            at: Utc::now(),
            source: "demo".into(),
            product: None,
            variant: None,
            old_price: Some("129.99".parse().unwrap()),
            new_price: Some("119.99".parse().unwrap()),
            reason: None,
        };
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["type"], "price_changed");
        assert_eq!(v["seq"], 7);
        assert_eq!(v["new_price"], "119.99");
        let back: Event = serde_json::from_value(v).unwrap();
        assert_eq!(back, e);
    }

    #[test]
    fn a_restock_says_its_price_when_it_has_one() {
        let mut e = Event {
            seq: 1,
            kind: EventKind::Restocked,
            at: Utc::now(),
            source: "demo".into(),
            product: None,
            variant: Some(EventVariant {
                id: "1".into(),
                size: "9.5".into(),
                price: Some("27.99".parse().unwrap()),
                available: true,
                cart_url: None,
            }),
            old_price: None,
            new_price: None,
            reason: None,
        };
        assert_eq!(e.describe(), "Restocked:  size 9.5 at 27.99 ");
        if let Some(v) = e.variant.as_mut() {
            v.price = None;
        }
        assert_eq!(e.describe(), "Restocked:  size 9.5");
    }
}
