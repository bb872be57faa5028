//! What Dropwatch would read at a URL ("Test this URL", `dropwatch probe`):
//! the kind of source it is, what would be tracked, where each value came
//! from, and why anything is missing. The engine (`monitor::probe`) fills
//! it; the Sources page, the REST API and the command line show it as it is.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// The kind of source a URL turned out to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ProbeKind {
    /// A Shopify store: it answers `products.json` with a `products` list.
    Shopify,
    /// A JSON API: the answer is JSON (read through a field mapping).
    Json,
    /// A product page of any shop (HTML).
    Page,
}

impl ProbeKind {
    /// The source kind to add it as (`shopify`, `json`, `page`).
    pub fn source_kind(self) -> &'static str {
        match self {
            ProbeKind::Shopify => crate::SOURCE_KIND_SHOPIFY,
            ProbeKind::Json => crate::SOURCE_KIND_JSON,
            ProbeKind::Page => crate::SOURCE_KIND_PAGE,
        }
    }

    /// In words, for people.
    pub fn label(self) -> &'static str {
        match self {
            ProbeKind::Shopify => "Shopify store",
            ProbeKind::Json => "JSON API",
            ProbeKind::Page => "Product page",
        }
    }
}

/// How the probe ended, from the user's side.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ProbeVerdict {
    /// Dropwatch can track it as it is.
    Tracks,
    /// The answer came, but what to track could not be read from it (no
    /// price, a contradiction, a JSON API without a mapping): see `error`
    /// and `missing`.
    Unreadable,
    /// A challenge, block or password page came instead of the product.
    Blocked,
    /// The URL could not be read at all (no answer, an HTTP error).
    Failed,
}

impl ProbeVerdict {
    /// Whether the URL could not be read (the command exits non-zero).
    pub fn unread(self) -> bool {
        matches!(self, ProbeVerdict::Blocked | ProbeVerdict::Failed)
    }
}

/// Where a value came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// schema.org JSON-LD (`<script type="application/ld+json">`).
    JsonLd,
    /// schema.org microdata (`itemprop="price"`...).
    Microdata,
    /// OpenGraph product tags (`product:price:amount`, `og:title`...).
    OpenGraph,
    /// OpenGraph's sale price, beside JSON-LD's regular one.
    OpenGraphSale,
    /// The page's `<h1>`.
    Heading,
    /// The page's `<title>`.
    TitleTag,
    /// The user's CSS selector for the price.
    PriceSelector,
    /// The user's stock text selector, read against the stock phrases.
    StockPhrases,
    /// Shopify's `products.json`.
    Catalogue,
    /// Not on the page: the source's currency.
    SourceCurrency,
    /// Not on the page: a shown price is taken as in stock.
    Assumed,
    /// Not on the page: the address stands for the title.
    Address,
    /// Not on the page (sold out, no price shown): the last read's prices.
    LastRead,
    /// Not on the page and never read before: a sold-out page hiding its
    /// price; it is tracked as sold out and the price recorded once shown.
    NotShown,
}

impl Origin {
    /// In words, for people.
    pub fn label(self) -> &'static str {
        match self {
            Origin::JsonLd => "JSON-LD",
            Origin::Microdata => "microdata",
            Origin::OpenGraph => "OpenGraph",
            Origin::OpenGraphSale => "OpenGraph (on sale)",
            Origin::Heading => "the page's heading",
            Origin::TitleTag => "the page's <title>",
            Origin::PriceSelector => "the price selector",
            Origin::StockPhrases => "the stock phrases",
            Origin::Catalogue => "products.json",
            Origin::SourceCurrency => "the source's currency",
            Origin::Assumed => "assumed",
            Origin::Address => "the address",
            Origin::LastRead => "the last read",
            Origin::NotShown => "not shown while sold out",
        }
    }
}

/// A value and where it came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Fact {
    pub value: String,
    pub from: Origin,
}

impl Fact {
    pub fn new(value: impl Into<String>, from: Origin) -> Fact {
        Fact {
            value: value.into(),
            from,
        }
    }
}

/// One size as it would be tracked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProbeSize {
    pub label: String,
    /// None: the page shows no price (sold out) and none was read before.
    #[serde(default)]
    pub price: Option<Decimal>,
    /// The "was" price, when the shop shows one.
    #[serde(default)]
    pub compare_at: Option<Decimal>,
    pub available: bool,
}

impl ProbeSize {
    /// "120.00 USD", "99.00 USD (was 120.00)", or that the price is not shown.
    pub fn price_words(&self, currency: &str) -> String {
        match (self.price, self.compare_at) {
            (Some(now), Some(was)) => format!("{now} {currency} (was {was})"),
            (Some(now), None) => format!("{now} {currency}"),
            (None, _) => crate::UNKNOWN_PRICE.into(),
        }
    }
}

/// One product as it would be tracked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProbeProduct {
    pub title: Fact,
    /// None: no brand anywhere.
    #[serde(default)]
    pub brand: Option<Fact>,
    pub currency: Fact,
    /// Where every size's price came from.
    pub price_from: Origin,
    /// Where every size's stock came from.
    pub stock_from: Origin,
    pub sizes: Vec<ProbeSize>,
    /// The product's own page.
    pub url: String,
}

impl ProbeProduct {
    /// Its price in words: "120.00 USD", or "110.00–125.00 USD" across sizes.
    pub fn price_words(&self) -> String {
        let prices = self.sizes.iter().filter_map(|s| s.price);
        match (prices.clone().min(), prices.max()) {
            (Some(lo), Some(hi)) if lo != hi => format!("{lo}–{hi} {}", self.currency.value),
            (Some(p), _) => format!("{p} {}", self.currency.value),
            _ => crate::UNKNOWN_PRICE.into(),
        }
    }

    /// Its stock in words: "in stock", "sold out", or "3 of 5 sizes in stock".
    pub fn stock_words(&self) -> String {
        let available = self.sizes.iter().filter(|s| s.available).count();
        match (self.sizes.len(), available) {
            (1, 1) => "in stock".into(),
            (1, _) => "sold out".into(),
            (n, a) => format!("{a} of {n} sizes in stock"),
        }
    }
}

/// What one kind of structured data on a page says (whatever Dropwatch
/// then makes of it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Evidence {
    pub from: Origin,
    /// Whether the page has it at all.
    pub present: bool,
    #[serde(default)]
    pub title: Option<String>,
    /// The lowest price it gives.
    #[serde(default)]
    pub price: Option<Decimal>,
    #[serde(default)]
    pub currency: Option<String>,
    /// The stock as written (`InStock`, `https://schema.org/OutOfStock`...).
    #[serde(default)]
    pub availability: Option<String>,
    /// How many offers (sizes) it lists.
    pub offers: usize,
}

/// A value the probe could not find.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Title,
    Brand,
    Price,
    Currency,
    Stock,
    Products,
}

impl Field {
    pub fn label(self) -> &'static str {
        match self {
            Field::Title => "title",
            Field::Brand => "brand",
            Field::Price => "price",
            Field::Currency => "currency",
            Field::Stock => "stock",
            Field::Products => "products",
        }
    }
}

/// Something missing, and why (with what to do about it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Missing {
    pub field: Field,
    pub why: String,
}

/// What a JSON API answered, for writing its field mapping.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JsonOutline {
    /// The JSON Pointer of the first list of objects ("/data/items"; "" for
    /// the answer itself), if any.
    #[serde(default)]
    pub items_at: Option<String>,
    /// How many items that list holds.
    pub items: usize,
    /// The fields of its first item.
    pub fields: Vec<String>,
}

/// What Dropwatch would read at a URL.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Probe {
    /// The address as read.
    pub url: String,
    /// None when nothing could be read.
    #[serde(default)]
    pub kind: Option<ProbeKind>,
    pub verdict: ProbeVerdict,
    /// The HTTP status of the answer read (a fetch that failed on a status
    /// gives it; any 2xx answer is read alike and shown as 200).
    #[serde(default)]
    pub status: Option<u16>,
    /// The size of the answer read.
    pub bytes: u64,
    /// How long reading it took, waits for the shop's politeness included.
    pub millis: u64,
    /// Why it could not be read, or why the page is refused, in words.
    #[serde(default)]
    pub error: Option<String>,
    /// What would be tracked: the product of a page, or the first few
    /// products of a Shopify store.
    #[serde(default)]
    pub products: Vec<ProbeProduct>,
    /// A Shopify store: how many products its first catalogue page lists.
    #[serde(default)]
    pub product_count: Option<usize>,
    /// A product page: what each kind of structured data on it says.
    #[serde(default)]
    pub evidence: Vec<Evidence>,
    /// A JSON API: where its items are and what they hold.
    #[serde(default)]
    pub json: Option<JsonOutline>,
    #[serde(default)]
    pub missing: Vec<Missing>,
    /// What else to know (e.g. that the shop is a Shopify store).
    #[serde(default)]
    pub notes: Vec<String>,
}

impl Probe {
    /// A probe that read nothing (yet).
    pub fn new(url: impl Into<String>) -> Probe {
        Probe {
            url: url.into(),
            kind: None,
            verdict: ProbeVerdict::Failed,
            status: None,
            bytes: 0,
            millis: 0,
            error: None,
            products: vec![],
            product_count: None,
            evidence: vec![],
            json: None,
            missing: vec![],
            notes: vec![],
        }
    }

    /// Adds a missing value and why.
    pub fn miss(&mut self, field: Field, why: impl Into<String>) {
        self.missing.push(Missing {
            field,
            why: why.into(),
        });
    }

    /// What came of it, in one line.
    pub fn headline(&self) -> String {
        let kind = self.kind.map_or("The address", ProbeKind::label);
        match (self.verdict, self.kind, self.product_count) {
            (ProbeVerdict::Tracks, Some(ProbeKind::Shopify), Some(n)) => format!(
                "Shopify store: Dropwatch would track it ({n} product{} on the first catalogue page).",
                if n == 1 { "" } else { "s" }
            ),
            (ProbeVerdict::Tracks, ..) => format!("{kind}: Dropwatch would track it."),
            (ProbeVerdict::Unreadable, ..) => {
                format!("{kind}: read, but Dropwatch finds nothing it can track in it.")
            }
            (ProbeVerdict::Blocked, ..) => {
                "Blocked: the shop answered with something other than the product.".into()
            }
            (ProbeVerdict::Failed, ..) => "The address could not be read.".into(),
        }
    }

    /// The answer's status, size and time: "HTTP 200 · 634,857 bytes · 312 ms".
    pub fn http_line(&self) -> String {
        let status = self
            .status
            .map_or_else(|| "no HTTP answer".to_string(), |s| format!("HTTP {s}"));
        let mut digits = self.bytes.to_string();
        let mut grouped = String::new();
        while digits.len() > 3 {
            let tail = digits.split_off(digits.len() - 3);
            grouped = format!(",{tail}{grouped}");
        }
        format!("{status} · {digits}{grouped} bytes · {} ms", self.millis)
    }

    /// The reason given for a missing field.
    pub fn why_missing(&self, field: Field) -> Option<&str> {
        self.missing
            .iter()
            .find(|m| m.field == field)
            .map(|m| m.why.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_origins_travel_as_words() {
        let mut p = Probe::new("https://shop.example/p/1");
        p.kind = Some(ProbeKind::Page);
        p.miss(Field::Price, "no price");
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["kind"], "page");
        assert_eq!(json["verdict"], "failed");
        assert_eq!(json["missing"][0]["field"], "price");
        assert_eq!(
            serde_json::to_value(Origin::JsonLd).unwrap(),
            serde_json::json!("json_ld")
        );
        let back: Probe = serde_json::from_value(json).unwrap();
        assert_eq!(back, p);
        assert_eq!(back.why_missing(Field::Price), Some("no price"));
        assert_eq!(ProbeKind::Shopify.source_kind(), crate::SOURCE_KIND_SHOPIFY);
    }

    #[test]
    fn headlines_and_sizes_read_as_words() {
        let mut p = Probe::new("https://shop.example/");
        assert_eq!(p.headline(), "The address could not be read.");
        assert_eq!(p.http_line(), "no HTTP answer · 0 bytes · 0 ms");
        p.kind = Some(ProbeKind::Shopify);
        p.verdict = ProbeVerdict::Tracks;
        p.product_count = Some(1);
        (p.status, p.bytes, p.millis) = (Some(200), 1_234_567, 42);
        assert_eq!(
            p.headline(),
            "Shopify store: Dropwatch would track it (1 product on the first catalogue page)."
        );
        assert_eq!(p.http_line(), "HTTP 200 · 1,234,567 bytes · 42 ms");
        p.bytes = 999;
        assert!(p.http_line().contains(" 999 bytes"));
    }

    #[test]
    fn a_products_price_and_stock_in_words() {
        let size = |price: &str, available| ProbeSize {
            label: "M".into(),
            price: price.parse().ok(),
            compare_at: None,
            available,
        };
        let mut t = ProbeProduct {
            title: Fact::new("Tee", Origin::Catalogue),
            brand: None,
            currency: Fact::new("EUR", Origin::SourceCurrency),
            price_from: Origin::Catalogue,
            stock_from: Origin::Catalogue,
            sizes: vec![size("25.00", false)],
            url: "https://shop.example/products/tee".into(),
        };
        assert_eq!(
            (t.price_words(), t.stock_words()),
            ("25.00 EUR".into(), "sold out".into())
        );
        t.sizes.push(size("20.00", true));
        assert_eq!(t.price_words(), "20.00–25.00 EUR");
        assert_eq!(t.stock_words(), "1 of 2 sizes in stock");
    }
}
