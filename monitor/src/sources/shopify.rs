//! The Shopify storefront catalogue: `GET {store}/products.json?limit=250&page=N`.
//!
//! Public and unauthenticated. Prices are decimal strings; `compare_at_price`
//! may be null; the catalogue carries no currency, so the source says which one
//! its shop uses. Paging stops at an empty page or one that repeats the page
//! before it (some stores stop paging that way). The Ajax `/products/{handle}.js`
//! format (integer cents) is different and deliberately not accepted here.

use chrono::Utc;
use serde::{Deserialize, Deserializer};
use url::Url;

use model::{Product, Variant};

use crate::normalise::{parse_price, size_label, BrandTable};

/// Products per page; Shopify's maximum.
pub const PAGE_LIMIT: usize = 250;

/// The URL of catalogue page `page` (1-based) of a store.
pub fn page_url(store: &Url, page: u32) -> Url {
    let mut url = store.clone();
    let path = url.path().trim_end_matches('/').to_string();
    url.set_path(&format!("{path}/products.json"));
    url.set_query(Some(&format!("limit={PAGE_LIMIT}&page={page}")));
    url
}

/// Why a page that arrived could not be read as a catalogue.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("the answer is an HTML page, not the JSON catalogue (a challenge or error page)")]
    Html,
    #[error("the answer is not the JSON catalogue: {0}")]
    NotCatalogue(String),
}

#[derive(Deserialize)]
struct RawPage {
    products: Vec<RawProduct>,
}

#[derive(Deserialize)]
struct RawProduct {
    id: u64,
    title: String,
    handle: String,
    #[serde(default, deserialize_with = "null_as_default")]
    vendor: String,
    #[serde(default, deserialize_with = "null_as_default")]
    product_type: String,
    #[serde(default, deserialize_with = "tags")]
    tags: Vec<String>,
    #[serde(default)]
    variants: Vec<RawVariant>,
    #[serde(default)]
    images: Vec<RawImage>,
}

#[derive(Deserialize)]
struct RawVariant {
    id: u64,
    #[serde(default, deserialize_with = "null_as_default")]
    title: String,
    #[serde(default)]
    sku: Option<String>,
    #[serde(default)]
    available: bool,
    price: RawMoney,
    #[serde(default)]
    compare_at_price: Option<RawMoney>,
    #[serde(default)]
    featured_image: Option<RawImage>,
}

#[derive(Deserialize)]
struct RawImage {
    src: String,
}

/// A price as the catalogue sends it: a decimal string, rarely a number.
#[derive(Deserialize)]
#[serde(untagged)]
enum RawMoney {
    Text(String),
    Number(serde_json::Number),
}

impl RawMoney {
    fn parse(&self) -> Option<rust_decimal::Decimal> {
        match self {
            RawMoney::Text(s) => parse_price(s),
            RawMoney::Number(n) => parse_price(&n.to_string()),
        }
    }
}

fn null_as_default<'de, D: Deserializer<'de>, T: Default + Deserialize<'de>>(
    d: D,
) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Tags are an array in `products.json`, a comma-separated string in older exports.
fn tags<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Tags {
        List(Vec<String>),
        Text(String),
    }
    Ok(match Option::<Tags>::deserialize(d)? {
        None => vec![],
        Some(Tags::List(v)) => v,
        Some(Tags::Text(s)) => s
            .split(',')
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect(),
    })
}

/// Where a page came from and how to read it.
pub struct PageContext<'a> {
    pub source: &'a str,
    pub store: &'a Url,
    pub currency: &'a str,
    pub brands: &'a BrandTable,
}

/// Reads one `products.json` page into products. Variants without a readable
/// price are skipped (a product with none left is skipped too) rather than
/// failing the page: one odd product must not hide the rest of the catalogue.
pub fn parse_page(body: &[u8], ctx: &PageContext<'_>) -> Result<Vec<Product>, ParseError> {
    let start = body.iter().position(|b| !b.is_ascii_whitespace());
    if start.is_some_and(|i| body[i] == b'<') {
        return Err(ParseError::Html);
    }
    let page: RawPage =
        serde_json::from_slice(body).map_err(|e| ParseError::NotCatalogue(e.to_string()))?;
    let now = Utc::now();
    let base = ctx.store.as_str().trim_end_matches('/');
    Ok(page
        .products
        .into_iter()
        .filter_map(|raw| {
            let variants: Vec<Variant> = raw
                .variants
                .iter()
                .filter_map(|v| {
                    Some(Variant {
                        id: v.id.to_string(),
                        size: size_label(&v.title),
                        sku: v.sku.clone().filter(|s| !s.is_empty()),
                        price: v.price.parse()?,
                        compare_at: v.compare_at_price.as_ref().and_then(RawMoney::parse),
                        available: v.available,
                        cart_url: Some(format!("{base}/cart/add?id={}", v.id)),
                    })
                })
                .collect();
            if variants.is_empty() {
                return None;
            }
            let image = raw
                .images
                .first()
                .or_else(|| raw.variants.iter().find_map(|v| v.featured_image.as_ref()))
                .map(|i| i.src.clone());
            Some(Product {
                key: format!("{}:{}", ctx.source, raw.id),
                source: ctx.source.to_string(),
                external_id: raw.id.to_string(),
                title: raw.title.trim().to_string(),
                brand: ctx.brands.canonical(&raw.vendor),
                product_type: raw.product_type,
                tags: raw.tags,
                url: format!("{base}/products/{}", raw.handle),
                image,
                currency: ctx.currency.to_string(),
                variants,
                first_seen: now,
                updated: now,
                removed: false,
                last_change: None,
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_urls_keep_the_store_path() {
        let store = Url::parse("https://shop.example/collections/new/").unwrap();
        assert_eq!(
            page_url(&store, 3).as_str(),
            "https://shop.example/collections/new/products.json?limit=250&page=3"
        );
        let root = Url::parse("https://shop.example").unwrap();
        assert_eq!(
            page_url(&root, 1).as_str(),
            "https://shop.example/products.json?limit=250&page=1"
        );
    }

    #[test]
    fn html_and_garbage_are_not_catalogues() {
        let brands = BrandTable::default();
        let store = Url::parse("https://s.example").unwrap();
        let ctx = PageContext {
            source: "s",
            store: &store,
            currency: "USD",
            brands: &brands,
        };
        assert!(matches!(
            parse_page(b"  <!DOCTYPE html><html>", &ctx),
            Err(ParseError::Html)
        ));
        assert!(matches!(
            parse_page(b"{\"products\": [", &ctx),
            Err(ParseError::NotCatalogue(_))
        ));
        assert!(matches!(
            parse_page(b"{\"errors\":\"Not Found\"}", &ctx),
            Err(ParseError::NotCatalogue(_))
        ));
    }
}
