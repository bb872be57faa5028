//! Sources (the shops and APIs Dropwatch polls) and the record of each poll run.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A shop or API that Dropwatch polls.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Source {
    /// A short id made from the URL ("kith-com"); products' keys start with it.
    pub key: String,
    /// The connector: "shopify" (a storefront's catalogue) or "page" (one
    /// product page of any shop).
    pub kind: String,
    pub name: String,
    /// The store's address (for Shopify, the storefront root or a collection).
    pub url: String,
    /// The currency of the store's prices (the Shopify catalogue does not say).
    pub currency: String,
    pub interval_secs: u64,
    pub enabled: bool,
    pub created: DateTime<Utc>,
    /// Whether the last run found the source blocked (or password protected).
    #[serde(default)]
    pub blocked: bool,
    /// For "page" sources: how to read the page when its structured data
    /// does not say (or contradicts itself).
    #[serde(default, skip_serializing_if = "PageSettings::is_empty")]
    pub page: PageSettings,
}

/// What a user tells Dropwatch about a product page whose structured data
/// (JSON-LD, microdata, OpenGraph) is missing or conflicting.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PageSettings {
    /// A CSS selector for the element holding the price ("span.price").
    #[serde(default)]
    pub price_selector: Option<String>,
    /// A CSS selector for the element whose text says whether it is in stock.
    #[serde(default)]
    pub stock_selector: Option<String>,
    /// Phrases meaning in stock ("add to cart"); matched without case.
    #[serde(default)]
    pub in_stock_phrases: Vec<String>,
    /// Phrases meaning sold out ("sold out", "notify me"); matched without case.
    #[serde(default)]
    pub out_of_stock_phrases: Vec<String>,
}

impl PageSettings {
    pub fn is_empty(&self) -> bool {
        self == &PageSettings::default()
    }
}

/// One poll of one source, recorded from start to end.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PollRun {
    /// Unique and sortable: the start time in microseconds.
    pub id: i64,
    pub source: String,
    pub started: DateTime<Utc>,
    #[serde(default)]
    pub finished: Option<DateTime<Utc>>,
    pub pages: u32,
    /// Products read.
    pub products: u32,
    /// Events raised.
    pub changes: u32,
    /// Whether the whole catalogue was read (only then can products be `removed`).
    pub complete: bool,
    /// What went wrong, in words; `None` for a clean run.
    #[serde(default)]
    pub error: Option<String>,
    /// The failure class (`rate_limited`, `blocked`, ...), for filtering.
    #[serde(default)]
    pub error_class: Option<String>,
}

/// A run's progress while it goes, for progress bars.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunProgress {
    pub source: String,
    pub running: bool,
    pub pages_done: u32,
    /// The page count of the last complete run; `None` before the first one.
    pub pages_expected: Option<u32>,
    pub products_seen: u32,
}

impl RunProgress {
    /// 0–100; a run past the expected count shows 99 until it ends.
    pub fn percent(&self) -> u8 {
        match self.pages_expected {
            _ if !self.running => 100,
            Some(n) if n > 0 => ((self.pages_done * 100) / n).min(99) as u8,
            _ => 0,
        }
    }
}

/// What the politeness gate says about one host Dropwatch talks to (the
/// status page and `GET /api/v1/hosts`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HostView {
    pub host: String,
    /// `ok`, `backing_off`, `breaker_open` or `half_open`.
    pub state: String,
    /// Until when it backs off or the breaker stays open.
    pub until: Option<DateTime<Utc>>,
    pub consecutive_failures: u32,
    pub in_flight: usize,
    pub last_error: Option<String>,
}
