//! Watch rules, notification channels and the notification log, as the
//! pages and the REST API see them.
//!
//! A rule has a scope (which products and sizes) and a condition (what must
//! happen); when an event fits both, a notification goes to the rule's
//! channels, at most once per product and size within the cooldown.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Which products (and sizes) a rule watches. Empty fields do not narrow.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Scope {
    /// Words that must all appear in the title (any case).
    #[serde(default)]
    pub keywords: Vec<String>,
    #[serde(default)]
    pub brand: Option<String>,
    /// Series or collection (the product type).
    #[serde(default)]
    pub series: Option<String>,
    /// A source key.
    #[serde(default)]
    pub source: Option<String>,
    /// One product's key.
    #[serde(default)]
    pub product: Option<String>,
    /// Size labels; empty means any size.
    #[serde(default)]
    pub sizes: Vec<String>,
}

/// What must happen for a rule to fire.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Condition {
    /// The price is at or below this (fires again only after it went back above).
    PriceAtOrBelow {
        price: Decimal,
    },
    /// A drop of at least this many percent in one change.
    DropPercent {
        percent: Decimal,
    },
    /// A drop of at least this amount in one change.
    DropAmount {
        amount: Decimal,
    },
    /// A size (one of the scope's sizes, if given) came back in stock.
    Restocked,
    SoldOut,
    /// A product new to its source, matching the scope.
    NewArrival,
    /// A source answers normally again after being blocked.
    BackOnline,
    /// Any price drop, or any size back in stock: what the one-click
    /// "Watch" buttons create.
    DropOrRestock,
    /// A price drop or restock after which the deal score (see
    /// `model::deal`) is at least this (1–100).
    DealScoreAtLeast {
        score: u8,
    },
    /// A price drop to the lowest price in at least this many days.
    LowestInDays {
        days: u32,
    },
}

impl Condition {
    /// The condition in words, for lists and notifications.
    pub fn describe(&self) -> String {
        match self {
            Condition::PriceAtOrBelow { price } => format!("price at or below {price}"),
            Condition::DropPercent { percent } => format!("price drops by {percent}% or more"),
            Condition::DropAmount { amount } => format!("price drops by {amount} or more"),
            Condition::Restocked => "a size restocks".into(),
            Condition::SoldOut => "sells out".into(),
            Condition::NewArrival => "new arrival".into(),
            Condition::BackOnline => "source back online after being blocked".into(),
            Condition::DropOrRestock => "any price drop or restock".into(),
            Condition::DealScoreAtLeast { score } => {
                format!("a drop or restock makes the deal score {score} or more")
            }
            Condition::LowestInDays { days } => {
                format!("price drops to its lowest in {days} days or more")
            }
        }
    }
}

impl Scope {
    /// Whether the scope takes in this product, whatever its sizes (a rule
    /// with sizes also needs one of them in the event). The one answer for
    /// the alert matcher, related products and picks.
    pub fn covers(&self, p: &crate::ProductSummary) -> bool {
        self.covers_item(&p.key, &p.source, &p.title, &p.brand, &p.product_type)
    }

    /// [`Scope::covers`] for a product as the engine holds it.
    pub fn covers_product(&self, p: &crate::Product) -> bool {
        self.covers_item(&p.key, &p.source, &p.title, &p.brand, &p.product_type)
    }

    fn covers_item(&self, key: &str, source: &str, title: &str, brand: &str, series: &str) -> bool {
        if self.source.as_ref().is_some_and(|s| s != source)
            || self.product.as_ref().is_some_and(|k| k != key)
            || self
                .brand
                .as_ref()
                .is_some_and(|b| !b.eq_ignore_ascii_case(brand))
            || self
                .series
                .as_ref()
                .is_some_and(|s| !s.eq_ignore_ascii_case(series))
        {
            return false;
        }
        if self.keywords.is_empty() {
            return true;
        }
        let title = title.to_lowercase();
        self.keywords
            .iter()
            .all(|k| title.contains(&k.to_lowercase()))
    }

    /// Whether the scope names what it watches (words, a brand, a series or
    /// a product), rather than a whole store or everything.
    pub fn narrows(&self) -> bool {
        !self.keywords.is_empty()
            || self.brand.is_some()
            || self.series.is_some()
            || self.product.is_some()
    }

    /// The scope in words ("Nike, size 10" / "everything").
    pub fn describe(&self) -> String {
        let mut parts = vec![];
        if !self.keywords.is_empty() {
            parts.push(format!("\"{}\"", self.keywords.join(" ")));
        }
        if let Some(b) = &self.brand {
            parts.push(format!("brand {b}"));
        }
        if let Some(s) = &self.series {
            parts.push(format!("series {s}"));
        }
        if let Some(s) = &self.source {
            parts.push(format!("source {s}"));
        }
        if let Some(p) = &self.product {
            parts.push(format!("product {p}"));
        }
        if !self.sizes.is_empty() {
            parts.push(format!("size {}", self.sizes.join(", ")));
        }
        if parts.is_empty() {
            "everything".into()
        } else {
            parts.join(", ")
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Rule {
    pub id: String,
    pub name: String,
    pub scope: Scope,
    pub condition: Condition,
    /// Channel ids to notify.
    pub channels: Vec<String>,
    /// No repeat for the same product and size within this many seconds.
    pub cooldown_secs: u64,
    #[serde(default)]
    pub paused: bool,
    pub created: DateTime<Utc>,
    /// The signed-in user who created it (set when saved; `None` for rules
    /// made before rules had owners, by a program without a user, or by
    /// an import).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
}

/// A notification channel as it may be shown: its address with the secrets
/// masked. The address itself stays sealed on the server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChannelInfo {
    pub id: String,
    pub name: String,
    /// discord, slack, telegram, ntfy, json, email or webpush.
    pub kind: String,
    /// The address with its secrets masked ("discord://123/****abcd").
    pub redacted: String,
    /// Who added it.
    pub owner: String,
    pub created: DateTime<Utc>,
}

/// One notification: queued, being sent, sent, or failed (with why).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Delivery {
    /// The rule that fired.
    pub rule: String,
    /// The event it is about.
    pub seq: u64,
    pub channel: String,
    pub title: String,
    /// The message as queued (JSON: title, body, url, image, sizes).
    pub body: String,
    /// "pending", "sending", "sent" or "failed".
    pub state: String,
    pub attempts: u32,
    /// Milliseconds since the epoch: not before this.
    pub next_at: i64,
    #[serde(default)]
    pub last_error: Option<String>,
    pub created: DateTime<Utc>,
    #[serde(default)]
    pub sent_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scope_covers_what_it_names_and_old_rules_still_read() {
        let mut p = crate::Product::observed("kith", "1", "1", Utc::now());
        p.title = "Dunk Low Panda".into();
        p.brand = "Nike".into();
        p.product_type = "Sneakers".into();
        let scope = |json: serde_json::Value| -> Scope { serde_json::from_value(json).unwrap() };
        assert!(Scope::default().covers_product(&p));
        assert!(!Scope::default().narrows(), "everything names nothing");
        let nike = scope(serde_json::json!({"brand": "NIKE", "keywords": ["dunk", "PANDA"]}));
        assert!(nike.narrows() && nike.covers_product(&p));
        assert!(nike.covers(&p.summary()));
        assert!(!scope(serde_json::json!({"series": "Apparel"})).covers_product(&p));
        assert!(!scope(serde_json::json!({"product": "kith:2"})).covers_product(&p));
        assert!(!scope(serde_json::json!({"source": "snkrs"})).covers_product(&p));
        assert!(
            !scope(serde_json::json!({"source": "kith"})).narrows(),
            "a whole store"
        );
        assert!(!scope(serde_json::json!({"keywords": ["high"]})).covers_product(&p));

        // Rules stored before they had owners read, and are written back without one.
        let old = serde_json::json!({
            "id": "r1", "name": "n", "scope": {}, "condition": {"kind": "sold_out"},
            "channels": ["c"], "cooldown_secs": 0, "created": "2026-01-01T00:00:00Z"
        });
        let rule: Rule = serde_json::from_value(old.clone()).unwrap();
        assert_eq!(rule.owner, None);
        assert_eq!(serde_json::to_value(&rule).unwrap().get("owner"), None);
    }
}
