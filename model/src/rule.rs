//! Watch rules: what a user wants to be told about (issue 5, in progress).
//!
//! A rule has a scope (which products and sizes) and a condition (what must
//! happen); when an event fits both, a notification goes to the rule's
//! channels, at most once per product and size within the cooldown.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Which products (and sizes) a rule watches. Empty fields do not narrow.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
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
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
}
