//! Sources (the shops and APIs Dropwatch polls) and the record of each poll run.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A shop or API that Dropwatch polls.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Source {
    /// A short id made from the URL ("kith-com"); products' keys start with it.
    pub key: String,
    /// The kind ("shopify", "page"...) with the settings only it has,
    /// written beside the other fields as `kind` and `page` / `json` /
    /// `amazon` / `popmart`.
    #[serde(flatten)]
    pub settings: crate::SourceSettings,
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
    /// The user's own labels ("sneakers", "EU"), e.g. carried over from
    /// changedetection.io's tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// For sources of many products: only those these keywords admit are
    /// watched ("dunk, jordan", not "kids").
    #[serde(default, skip_serializing_if = "crate::KeywordFilter::is_empty")]
    pub keywords: crate::KeywordFilter,
}

impl Source {
    /// The kind's name ("shopify", "page"...).
    pub fn kind(&self) -> &'static str {
        self.settings.kind()
    }
}

/// What an Amazon source reads through Oxylabs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AmazonSettings {
    /// Ten-character ASINs ("B00JTX7SH2").
    pub asins: Vec<String>,
    /// The Amazon site's domain ending: "com", "co.uk", "de"...
    pub domain: String,
    /// A delivery ZIP or country for prices and delivery dates ("90210").
    #[serde(default)]
    pub geo_location: Option<String>,
}

impl AmazonSettings {
    /// Reads ASINs and Amazon product URLs, one or more per line (or
    /// separated by commas or spaces). The site comes from the URLs when
    /// they name one, else `domain`. Says which entry is neither.
    pub fn from_text(text: &str, domain: &str) -> Result<AmazonSettings, String> {
        let mut asins: Vec<String> = vec![];
        let mut site: Option<String> = None;
        for entry in text
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|e| !e.is_empty())
        {
            let (asin, from) = asin_of(entry).ok_or_else(|| {
                format!("{entry:?} is neither an ASIN (10 letters and digits, e.g. B00JTX7SH2) nor an Amazon product URL")
            })?;
            if let Some(d) = from {
                if site.as_ref().is_some_and(|s| s != &d) {
                    return Err(format!("the URLs are from different Amazon sites (amazon.{} and amazon.{d}); add one source per site", site.unwrap()));
                }
                site = Some(d);
            }
            if !asins.contains(&asin) {
                asins.push(asin);
            }
        }
        if asins.is_empty() {
            return Err("give at least one ASIN or Amazon product URL".into());
        }
        let domain = site.unwrap_or_else(|| domain.trim().trim_start_matches('.').to_lowercase());
        let domain = if domain.is_empty() {
            "com".to_string()
        } else {
            domain
        };
        if !domain
            .split('.')
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
        {
            return Err(format!(
                "{domain:?} is not an Amazon site ending such as com, co.uk or de"
            ));
        }
        Ok(AmazonSettings {
            asins,
            domain,
            geo_location: None,
        })
    }
}

/// The ASIN of an entry, and the Amazon site when it is a URL.
fn asin_of(entry: &str) -> Option<(String, Option<String>)> {
    let is_asin = |s: &str| s.len() == 10 && s.chars().all(|c| c.is_ascii_alphanumeric());
    if is_asin(entry) {
        return Some((entry.to_ascii_uppercase(), None));
    }
    let rest = entry
        .strip_prefix("https://")
        .or_else(|| entry.strip_prefix("http://"))?;
    let (host, path) = rest.split_once('/')?;
    let host = host.to_ascii_lowercase();
    let site = host
        .strip_prefix("www.")
        .unwrap_or(&host)
        .strip_prefix("amazon.")?
        .to_string();
    let mut parts = path.split(['/', '?']);
    while let Some(p) = parts.next() {
        if matches!(p, "dp" | "product" | "ASIN") {
            let next = parts.next()?;
            return is_asin(next).then(|| (next.to_ascii_uppercase(), Some(site)));
        }
    }
    None
}

/// Pop Mart's regions: code, name, API host, currency.
pub const POPMART_REGIONS: &[(&str, &str, &str, &str)] = &[
    (
        "HK",
        "Hong Kong",
        "https://prod-intl-api.popmart.com",
        "HKD",
    ),
    (
        "SG",
        "Singapore",
        "https://prod-intl-api.popmart.com",
        "SGD",
    ),
    ("JP", "Japan", "https://prod-intl-api.popmart.com", "JPY"),
    ("TW", "Taiwan", "https://prod-intl-api.popmart.com", "TWD"),
    ("EU", "Europe", "https://prod-intl-api.popmart.com", "EUR"),
    (
        "US",
        "United States",
        "https://prod-na-api.popmart.com",
        "USD",
    ),
    ("CA", "Canada", "https://prod-na-api.popmart.com", "CAD"),
    ("TH", "Thailand", "https://prod-asia-api.popmart.com", "THB"),
];

/// What a Pop Mart source can watch: value, label, what `target` holds.
pub const POPMART_WATCHES: &[(&str, &str, &str)] = &[
    (
        "products",
        "Products (by id)",
        "product ids (spuId), e.g. 1159, 1160",
    ),
    ("category", "A category's list", "a category id"),
    ("new", "New arrivals", "nothing"),
    ("search", "Keyword search", "the words to search for"),
    ("series", "A series or collection", "a series id"),
];

/// What a Pop Mart source reads.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PopmartSettings {
    /// A region code from [`POPMART_REGIONS`] ("HK", "US"...).
    pub region: String,
    /// One of [`POPMART_WATCHES`].
    pub watch: String,
    /// The product ids, category id, search words or series id.
    #[serde(default)]
    pub target: String,
}

impl PopmartSettings {
    /// Checks the region, the watch and its target; product ids are split on
    /// commas and spaces.
    pub fn check(&mut self) -> Result<(), String> {
        self.region = self.region.trim().to_uppercase();
        if !POPMART_REGIONS.iter().any(|r| r.0 == self.region) {
            let known: Vec<&str> = POPMART_REGIONS.iter().map(|r| r.0).collect();
            return Err(format!(
                "unknown Pop Mart region {:?}; the regions are {}",
                self.region,
                known.join(", ")
            ));
        }
        self.watch = self.watch.trim().to_lowercase();
        self.target = self.target.trim().to_string();
        match self.watch.as_str() {
            "products" => {
                let ids = self.product_ids();
                if ids.is_empty() || ids.iter().any(|i| !i.chars().all(|c| c.is_ascii_digit())) {
                    return Err(
                        "give the product ids (spuId, digits) separated by commas, e.g. 1159, 1160"
                            .into(),
                    );
                }
                self.target = ids.join(", ");
            }
            "category" | "series" => {
                if self.target.is_empty() || !self.target.chars().all(|c| c.is_ascii_digit()) {
                    return Err(format!("give the {} id (digits)", self.watch));
                }
            }
            "search" => {
                if self.target.is_empty() {
                    return Err("give the words to search for".into());
                }
            }
            "new" => self.target.clear(),
            other => {
                let known: Vec<&str> = POPMART_WATCHES.iter().map(|w| w.0).collect();
                return Err(format!(
                    "unknown Pop Mart watch {other:?}; choose one of {}",
                    known.join(", ")
                ));
            }
        }
        Ok(())
    }

    pub fn product_ids(&self) -> Vec<String> {
        self.target
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// The region's API host and currency.
    pub fn region_info(&self) -> Option<(&'static str, &'static str)> {
        POPMART_REGIONS
            .iter()
            .find(|r| r.0 == self.region)
            .map(|r| (r.2, r.3))
    }
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
    /// Where the answer says the next page is (its URL, absolute or
    /// relative); empty for an API that answers everything at once.
    #[serde(default)]
    pub next: String,
}

impl JsonMapping {
    /// The fields a mapping may name, in the order a form lists them.
    pub const FIELDS: [&'static str; 15] = [
        "items",
        "id",
        "title",
        "brand",
        "price",
        "currency",
        "stock",
        "image",
        "url",
        "variants",
        "variant_id",
        "variant_size",
        "variant_price",
        "variant_stock",
        "next",
    ];

    /// Reads `field = path` lines (blank lines and `#` comments skipped);
    /// `headers` are `Name: value` lines.
    pub fn from_lines(mapping: &str, headers: &str) -> Result<JsonMapping, String> {
        let mut m = JsonMapping {
            headers: headers
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect(),
            ..JsonMapping::default()
        };
        for line in mapping
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            let (field, path) = line.split_once('=').ok_or_else(|| {
                format!("write each line as field = path, e.g. price = /price (got {line:?})")
            })?;
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
                "next" => &mut m.next,
                other => {
                    return Err(format!(
                        "unknown field {other:?}; the fields are {}",
                        JsonMapping::FIELDS.join(", ")
                    ))
                }
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
    /// Products left as they were because what the source sent for them
    /// could not be read (a price out of bounds, too many sizes), in words;
    /// at most [`PollRun::MAX_SKIPPED`]. The rest of the run counts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<String>,
    /// What the run noticed but did not act on, in words: a page whose
    /// OpenGraph price is not its product's own offer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl PollRun {
    /// How many skipped products a run names.
    pub const MAX_SKIPPED: usize = 10;
}

/// One source's runs on one day (UTC), kept after the runs themselves are
/// pruned (`--keep-runs`): how many, how many failed, and how long they took.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PollDay {
    pub source: String,
    /// "2026-11-30".
    pub day: String,
    pub runs: u32,
    pub failures: u32,
    /// Sum of the runs' durations, for the mean.
    pub total_ms: u64,
    /// How many runs took at most 2^i ms (i = 0..=16; the last counts the rest).
    pub buckets: Vec<u32>,
}

impl PollDay {
    /// Buckets of run durations: up to 1, 2, 4, ... 32768 ms, and longer.
    pub const BUCKETS: usize = 17;

    /// Counts one run that took `ms`.
    pub fn add(&mut self, ms: u64, failed: bool) {
        if self.buckets.len() != Self::BUCKETS {
            self.buckets.resize(Self::BUCKETS, 0);
        }
        self.runs = self.runs.saturating_add(1);
        self.failures = self.failures.saturating_add(u32::from(failed));
        self.total_ms = self.total_ms.saturating_add(ms);
        let i = (64 - ms.max(1).saturating_sub(1).leading_zeros()) as usize;
        self.buckets[i.min(Self::BUCKETS - 1)] += 1;
    }

    /// Adds another day's counts of the same source and day.
    pub fn merge(&mut self, other: &PollDay) {
        self.buckets.resize(Self::BUCKETS, 0);
        self.runs = self.runs.saturating_add(other.runs);
        self.failures = self.failures.saturating_add(other.failures);
        self.total_ms = self.total_ms.saturating_add(other.total_ms);
        for (a, b) in self.buckets.iter_mut().zip(&other.buckets) {
            *a = a.saturating_add(*b);
        }
    }

    /// The median duration, as the upper bound of its bucket (ms).
    pub fn median_ms(&self) -> Option<u64> {
        let half = self.runs.div_ceil(2);
        let mut seen = 0u32;
        for (i, n) in self.buckets.iter().enumerate() {
            seen = seen.saturating_add(*n);
            if seen >= half && *n > 0 {
                return Some(1u64 << i);
            }
        }
        None
    }
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
    fn asins_and_amazon_urls() {
        let a = AmazonSettings::from_text(
            "B00JTX7SH2\nhttps://www.amazon.com/Orgain-Organic/dp/b084y7chx5?th=1, B00JTX7SH2",
            "",
        )
        .unwrap();
        assert_eq!(a.asins, vec!["B00JTX7SH2", "B084Y7CHX5"]);
        assert_eq!(a.domain, "com");
        assert_eq!(
            AmazonSettings::from_text("https://amazon.co.uk/gp/product/B0CYVN8CCQ", "com")
                .unwrap()
                .domain,
            "co.uk"
        );
        assert_eq!(
            AmazonSettings::from_text("B0CYVN8CCQ", "de")
                .unwrap()
                .domain,
            "de"
        );
        let e = AmazonSettings::from_text("B00JTX7SH2 https://example.com/dp/B00JTX7SH2", "com")
            .unwrap_err();
        assert!(e.contains("example.com"), "{e}");
        assert!(AmazonSettings::from_text(
            "https://www.amazon.com/dp/B00JTX7SH2 https://www.amazon.de/dp/B084Y7CHX5",
            ""
        )
        .unwrap_err()
        .contains("different Amazon sites"));
        assert!(AmazonSettings::from_text("  ", "com").is_err());
    }

    #[test]
    fn popmart_settings() {
        let mut p = PopmartSettings {
            region: "hk".into(),
            watch: "Products".into(),
            target: "1159 1160,1161".into(),
        };
        p.check().unwrap();
        assert_eq!(
            (p.region.as_str(), p.target.as_str()),
            ("HK", "1159, 1160, 1161")
        );
        assert_eq!(
            p.region_info(),
            Some(("https://prod-intl-api.popmart.com", "HKD"))
        );
        let mut bad = PopmartSettings {
            region: "XX".into(),
            watch: "new".into(),
            target: String::new(),
        };
        assert!(bad.check().unwrap_err().contains("region"));
        let mut bad = PopmartSettings {
            region: "US".into(),
            watch: "products".into(),
            target: "labubu".into(),
        };
        assert!(bad.check().unwrap_err().contains("spuId"));
        let mut bad = PopmartSettings {
            region: "US".into(),
            watch: "search".into(),
            target: " ".into(),
        };
        assert!(bad.check().is_err());
    }

    #[test]
    fn mapping_lines() {
        let m = JsonMapping::from_lines(
            "# Luckdata\nitems = $.data[*]\nid = /sku\n\ntitle = name\nprice = $.price",
            "X-Luckdata-Api-Key: ${LUCKDATA_KEY}\n",
        )
        .unwrap();
        assert_eq!(
            (
                m.items.as_str(),
                m.id.as_str(),
                m.title.as_str(),
                m.price.as_str()
            ),
            ("$.data[*]", "/sku", "name", "$.price")
        );
        assert_eq!(
            m.headers,
            vec!["X-Luckdata-Api-Key: ${LUCKDATA_KEY}".to_string()]
        );
        assert!(JsonMapping::from_lines("colour = /c", "")
            .unwrap_err()
            .contains("unknown field"));
        assert!(JsonMapping::from_lines("price /p", "").is_err());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_days_runs_keep_their_median() {
        let mut d = PollDay::default();
        for ms in [1, 3, 3, 4, 120, 900, 70_000] {
            d.add(ms, ms > 800);
        }
        assert_eq!((d.runs, d.failures), (7, 2));
        assert_eq!(
            d.median_ms(),
            Some(4),
            "the fourth of seven is in the bucket up to 4 ms"
        );
        let mut other = PollDay::default();
        other.add(100_000, true);
        d.merge(&other);
        assert_eq!(
            (d.runs, d.failures, d.buckets[PollDay::BUCKETS - 1]),
            (8, 3, 2)
        );
        assert_eq!(PollDay::default().median_ms(), None);
    }
}
