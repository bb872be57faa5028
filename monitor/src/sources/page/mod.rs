//! The "page" connector: one product page of any shop.
//!
//! Price, currency, availability and sizes come from, in order:
//! 1. schema.org JSON-LD (`Product` with `Offer`/`AggregateOffer`,
//!    `ProductGroup` with `hasVariant`, wrapped in `@graph` or arrays), read
//!    without building a DOM (the common case stays cheap; [`json_ld`]);
//! 2. microdata: every `Offer` itemscope of the page's `Product` ([`meta`]);
//! 3. OpenGraph product meta (`product:price:amount`, `og:availability`...).
//!
//! The JSON-LD offer of the page's own product wins over an OpenGraph or
//! microdata price that says otherwise, as the microdata offers of a
//! `Product` win over OpenGraph; the disagreement is a note in the run, not
//! a refusal. Where the page's own product is not clear (several products
//! with offers, none named like the page), or microdata outside any
//! `Product` and OpenGraph disagree, the user's CSS selectors for price and stock text
//! (with "in stock" / "sold out" phrases) decide; without selectors that is
//! an error that asks for them, never a guess. A sold-out page that hides
//! its price is tracked as sold out, with the last known price or none, and
//! its restock is seen like any other. A page with nothing to read that
//! looks like a challenge (Cloudflare, DataDome, PerimeterX, Incapsula, a
//! CAPTCHA) is `blocked`, never "sold out"; the last known stock stays.
//! The formats are in docs/sources.md ("Any product page").

mod check;
mod items;
mod json_ld;
mod meta;
mod read;
mod scan;
#[cfg(test)]
mod tests;
mod words;

use rust_decimal::Decimal;
use url::Url;

use model::probe::Origin;
use model::{PageSettings, Product};

use crate::normalise::BrandTable;

pub(crate) use check::read;
pub use json_ld::{from_json_ld, json_ld_products, main_product, MainProduct};
pub use meta::{from_tags, Meta};
pub use read::{parse_page, read_page};
pub(crate) use scan::decode;
pub use words::{challenge, price_in, stock_from_text};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PageError {
    /// A challenge or CAPTCHA page: not the product.
    #[error("{0}")]
    Blocked(String),
    /// Nothing on the page says the price.
    #[error("{0}")]
    NothingFound(String),
    /// The page's data disagree, or a selector found nothing readable.
    #[error("{0}")]
    Unreadable(String),
}

/// Whether a size can be bought.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Availability {
    InStock,
    OutOfStock,
    /// Pre-order, back-order, made to order: orderable, later.
    Later,
}

impl Availability {
    /// From a schema.org value, with or without its `https://schema.org/` prefix.
    pub fn from_schema(raw: &str) -> Option<Availability> {
        let tail = raw
            .trim()
            .rsplit('/')
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        let tail = tail
            .trim_start_matches("schema:")
            .replace(['_', ' ', '-'], "");
        match tail.as_str() {
            "instock" | "instoreonly" | "limitedavailability" | "onlineonly" | "presale" => {
                Some(Availability::InStock)
            }
            "outofstock" | "soldout" | "discontinued" | "oos" => Some(Availability::OutOfStock),
            "preorder" | "backorder" | "madetoorder" | "available for order" | "pending" => {
                Some(Availability::Later)
            }
            _ => None,
        }
    }

    /// Orderable now or later counts as available; only "out" does not.
    pub(crate) fn available(self) -> bool {
        self != Availability::OutOfStock
    }
}

/// One size as the page says it.
#[derive(Clone, Debug, PartialEq)]
pub struct Offer {
    pub id: Option<String>,
    pub size: Option<String>,
    pub sku: Option<String>,
    /// None: the page says the stock but shows no price (a sold-out page
    /// often does).
    pub price: Option<Decimal>,
    pub currency: Option<String>,
    pub availability: Option<Availability>,
}

/// What one source of structured data on the page says.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Found {
    /// The product's own address (`url` or `@id`), as the page wrote it.
    pub url: Option<String>,
    pub title: Option<String>,
    pub brand: Option<String>,
    pub image: Option<String>,
    pub sku: Option<String>,
    pub offers: Vec<Offer>,
}

/// Where a page source's facts come from.
pub struct PageContext<'a> {
    pub source: &'a str,
    pub url: &'a Url,
    /// The source's currency, for pages that do not say theirs.
    pub currency: &'a str,
    pub brands: &'a BrandTable,
    pub settings: &'a PageSettings,
    /// The product as last read (a sold-out page without a price keeps its prices).
    pub previous: Option<&'a Product>,
}

/// The id and size label of the one offer of a page that lists a single
/// offer without its own id or size (history imported for such a page
/// uses them too, so it charts as the same size).
pub(crate) const SINGLE_OFFER: (&str, &str) = ("one", "One size");

/// The key of the product a page source reads at `url`.
pub(crate) fn product_key(source: &str, url: &Url) -> String {
    format!("{source}:{}", external_id(url))
}

fn external_id(url: &Url) -> String {
    let last = url
        .path_segments()
        .and_then(|s| s.filter(|x| !x.is_empty()).last().map(str::to_string))
        .unwrap_or_default();
    let slug = crate::engine::slug_text(&last);
    if slug.is_empty() {
        "page".into()
    } else {
        slug
    }
}

fn same_price(a: Decimal, b: Decimal) -> bool {
    (a - b).abs() < Decimal::new(1, 2)
}

/// Where [`read_page`] took each value of the product from, and what it
/// noticed on the way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trace {
    pub title: Origin,
    /// None: the page names no brand.
    pub brand: Option<Origin>,
    pub price: Origin,
    pub currency: Origin,
    pub stock: Origin,
    /// What the page says that was not used, in words: another price
    /// than its product's own offer. The run shows them.
    pub notes: Vec<String>,
}
