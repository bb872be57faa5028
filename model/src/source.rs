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
    /// For "json" sources: request headers and where each field is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json: Option<JsonMapping>,
}

/// A generic JSON API: its headers and a field mapping. Paths are JSON
/// Pointers (`/data/items`) or simple JSONPath (`$.data.items[*]`); item
/// fields are relative to one item (`/price`, `$.offer.price`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JsonMapping {
    /// `Name: value` headers. A value may name an environment variable of
    /// the server as `${NAME}` (an API key: kept out of the database, the
    /// browser and the logs).
    #[serde(default)]
    pub headers: Vec<String>,
    /// The list of items; empty: the answer itself (a list, or one item).
    #[serde(default)]
    pub items: String,
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub brand: String,
    pub price: String,
    #[serde(default)]
    pub currency: String,
    /// A number (> 0: in stock), a boolean, or text ("in stock", "sold out").
    #[serde(default)]
    pub stock: String,
    #[serde(default)]
    pub image: String,
    #[serde(default)]
    pub url: String,
    /// Optional sizes inside each item, with their own fields.
    #[serde(default)]
    pub variants: String,
    #[serde(default)]
    pub variant_id: String,
    #[serde(default)]
    pub variant_size: String,
    #[serde(default)]
    pub variant_price: String,
    #[serde(default)]
    pub variant_stock: String,
}

impl JsonMapping {
    /// The fields a mapping may name, in the order a form lists them.
    pub const FIELDS: [&'static str; 14] = [
        "items", "id", "title", "brand", "price", "currency", "stock", "image", "url",
        "variants", "variant_id", "variant_size", "variant_price", "variant_stock",
    ];

    /// Reads `field = path` lines (blank lines and `#` comments skipped);
    /// `headers` are `Name: value` lines.
    pub fn from_lines(mapping: &str, headers: &str) -> Result<JsonMapping, String> {
        let mut m = JsonMapping {
            headers: headers.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect(),
            ..JsonMapping::default()
        };
        for line in mapping.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
            let (field, path) = line
                .split_once('=')
                .ok_or_else(|| format!("write each line as field = path, e.g. price = /price (got {line:?})"))?;
            let path = path.trim().to_string();
            let slot = match field.trim() {
                "items" => &mut m.items,
                "id" => &mut m.id,
                "title" => &mut m.title,
                "brand" => &mut m.brand,
                "price" => &mut m.price,
                "currency" => &mut m.currency,
                "stock" => &mut m.stock,
                "image" => &mut m.image,
                "url" => &mut m.url,
                "variants" => &mut m.variants,
                "variant_id" => &mut m.variant_id,
                "variant_size" => &mut m.variant_size,
                "variant_price" => &mut m.variant_price,
                "variant_stock" => &mut m.variant_stock,
                other => return Err(format!("unknown field {other:?}; the fields are {}", JsonMapping::FIELDS.join(", "))),
            };
            *slot = path;
        }
        Ok(m)
    }
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

#[cfg(test)]
mod json_mapping_tests {
    use super::*;

    #[test]
    fn mapping_lines() {
        let m = JsonMapping::from_lines("# Luckdata\nitems = $.data[*]\nid = /sku\n\ntitle = name\nprice = $.price", "X-Luckdata-Api-Key: ${LUCKDATA_KEY}\n").unwrap();
        assert_eq!((m.items.as_str(), m.id.as_str(), m.title.as_str(), m.price.as_str()), ("$.data[*]", "/sku", "name", "$.price"));
        assert_eq!(m.headers, vec!["X-Luckdata-Api-Key: ${LUCKDATA_KEY}".to_string()]);
        assert!(JsonMapping::from_lines("colour = /c", "").unwrap_err().contains("unknown field"));
        assert!(JsonMapping::from_lines("price /p", "").is_err());
    }
}
