//! WooCommerce shops through their public Store API (no key):
//! `GET {shop}/wp-json/wc/store/v1/products?per_page=100&page=N`.
//!
//! Prices are strings of minor units with the currency's `currency_minor_unit`
//! ("12999" and 2 is 129.99) and the currency's code; names are HTML-escaped
//! ("Nike &#8211; Dunk"). A variable product lists its variations only as ids
//! and attributes, so their own price and stock come from one more request
//! per page: `products?type=variation&parent=ID,ID,...`. A page past the last
//! is an empty list. The format is written down in `docs/woocommerce.md`.
//!
//! (Over 500 lines only with its unit tests, the last 160-odd lines:
//! they test this file's private parsing and state, so they stay beside it.)

use std::collections::HashMap;

use chrono::Utc;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::Value;
use url::Url;

use model::{Product, Variant};

use super::connector::{catalogue_page, PageRead, ReadContext};
use crate::fetch::FetchError;
use crate::normalise::{collapse_spaces, size_label, BrandTable, MAX_VARIANTS};
use crate::sources::page::decode;

/// Products per page; the Store API's maximum.
pub const PAGE_LIMIT: usize = 100;
/// The most variation pages one catalogue page is read with (100 products
/// with 5,000 sizes between them; a real page needs a handful). A page with
/// more fails the run there rather than being read with sizes missing (a
/// missing size would read as sold out).
const MAX_VARIATION_PAGES: usize = 50;

/// The Store API's address in a shop whose address is `shop`.
fn api(shop: &Url) -> Url {
    let mut url = shop.clone();
    let path = url.path().trim_end_matches('/').to_string();
    url.set_path(&format!("{path}/wp-json/wc/store/v1/products"));
    url.set_query(None);
    url.set_fragment(None);
    url
}

/// The URL of catalogue page `page` (1-based), in the order of ids: new
/// arrivals join at the end instead of moving every product a place.
pub fn page_url(shop: &Url, page: u32) -> Url {
    let mut url = api(shop);
    url.set_query(Some(&format!(
        "per_page={PAGE_LIMIT}&page={page}&orderby=id&order=asc"
    )));
    url
}

/// The shop whose Store API `url` is (`{shop}/wp-json/wc/store/...`), if it is one.
pub fn shop_of(url: &Url) -> Option<Url> {
    let path = url.path();
    let i = path.find("/wp-json/wc/store")?;
    let mut shop = url.clone();
    shop.set_path(&format!("{}/", path.get(..i).unwrap_or("")));
    shop.set_query(None);
    shop.set_fragment(None);
    Some(shop)
}

/// Whether the shop at `shop` answers the Store API (one product asked
/// for). Read as a page: an HTML answer here says "no", it is not a failure
/// the host's gate should count.
pub async fn answers_store_api(fetcher: &crate::fetch::Fetcher, shop: &Url) -> bool {
    let mut url = api(shop);
    url.set_query(Some("per_page=1"));
    match fetcher.get_html(&url).await {
        Ok(body) => parse_list(body.as_bytes()).is_ok(),
        Err(_) => false,
    }
}

/// The URL of the variations of these products, page `page`.
fn variations_url(shop: &Url, parents: &[u64], page: usize) -> Url {
    let ids: Vec<String> = parents.iter().map(u64::to_string).collect();
    let mut url = api(shop);
    url.set_query(Some(&format!(
        "type=variation&parent={}&per_page={PAGE_LIMIT}&page={page}",
        ids.join(",")
    )));
    url
}

/// Why an answer could not be read as the Store API's products.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("the answer is an HTML page, not the Store API's JSON (a challenge page, or a shop that is not WooCommerce)")]
    Html,
    #[error("the shop answered with an error: {0}")]
    Api(String),
    #[error("the answer is not the Store API's product list: {0}")]
    NotProducts(String),
}

#[derive(Deserialize)]
struct RawProduct {
    id: u64,
    #[serde(default)]
    name: String,
    #[serde(default)]
    permalink: String,
    #[serde(default)]
    sku: String,
    #[serde(default)]
    prices: Option<RawPrices>,
    #[serde(default)]
    images: Vec<RawImage>,
    #[serde(default)]
    categories: Vec<Named>,
    #[serde(default)]
    tags: Vec<Named>,
    #[serde(default)]
    brands: Vec<Named>,
    #[serde(default)]
    variations: Vec<VariationRef>,
    #[serde(default)]
    is_in_stock: bool,
    /// A variation's own attributes, written out ("Size: 10").
    #[serde(default)]
    variation: String,
}

#[derive(Deserialize)]
struct RawPrices {
    #[serde(default)]
    currency_code: String,
    #[serde(default)]
    currency_minor_unit: Option<Value>,
    #[serde(default)]
    price: Option<Value>,
    #[serde(default)]
    regular_price: Option<Value>,
}

#[derive(Deserialize)]
struct RawImage {
    #[serde(default)]
    src: String,
}

#[derive(Deserialize)]
struct Named {
    #[serde(default)]
    name: String,
}

#[derive(Deserialize)]
struct VariationRef {
    id: u64,
    #[serde(default)]
    attributes: Vec<Attribute>,
}

#[derive(Deserialize)]
struct Attribute {
    /// The term's slug ("10-5"), or the option's text; null for "any".
    #[serde(default)]
    value: Option<String>,
}

/// A price of `raw` minor units with `unit` decimals ("12999", 2 -> 129.99):
/// digits only, at most 15 of them, at most 6 decimals.
pub fn minor_units(raw: Option<&Value>, unit: Option<&Value>) -> Option<Decimal> {
    let unit = match unit {
        None | Some(Value::Null) => 2,
        Some(v) => v.as_u64().filter(|u| *u <= 6)? as u32,
    };
    let digits = match raw? {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => n.as_u64()?.to_string(),
        _ => return None,
    };
    if digits.is_empty() || digits.len() > 15 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(Decimal::new(digits.parse::<i64>().ok()?, unit))
}

impl RawPrices {
    /// The price and, when the regular price is higher (on sale), it.
    fn read(&self) -> Option<(Decimal, Option<Decimal>)> {
        let unit = self.currency_minor_unit.as_ref();
        let price = minor_units(self.price.as_ref(), unit)?;
        let regular = minor_units(self.regular_price.as_ref(), unit).filter(|r| *r > price);
        Some((price, regular))
    }
}

/// Reads one answer: a list of products (or of variations).
fn parse_list(body: &[u8]) -> Result<Vec<RawProduct>, ParseError> {
    let start = body.iter().position(|b| !b.is_ascii_whitespace());
    if start.and_then(|i| body.get(i)) == Some(&b'<') {
        return Err(ParseError::Html);
    }
    let v: Value =
        serde_json::from_slice(body).map_err(|e| ParseError::NotProducts(e.to_string()))?;
    if let Some(message) = v.get("message").and_then(Value::as_str) {
        let code = v.get("code").and_then(Value::as_str).unwrap_or("error");
        let message: String = message.chars().take(200).collect();
        return Err(ParseError::Api(format!("{code}: {message}")));
    }
    serde_json::from_value(v).map_err(|e| ParseError::NotProducts(e.to_string()))
}

/// Where a page came from and how to read it.
pub struct PageContext<'a> {
    pub source: &'a str,
    pub shop: &'a Url,
    /// For an answer that names no currency.
    pub currency: &'a str,
    pub brands: &'a BrandTable,
}

/// The variable products of a page and how many variations they list.
fn parents(products: &[RawProduct]) -> (Vec<u64>, usize) {
    let mut ids = vec![];
    let mut count = 0usize;
    for p in products.iter().filter(|p| !p.variations.is_empty()) {
        ids.push(p.id);
        count = count.saturating_add(p.variations.len());
    }
    (ids, count)
}

/// Reads a products page and the answers about its variations into
/// products. A product with no readable price (nor a variation with one) is
/// left out rather than failing the page.
pub fn parse_page(
    list: &[u8],
    variations: &[Vec<u8>],
    ctx: &PageContext<'_>,
) -> Result<Vec<Product>, ParseError> {
    let mut all = vec![];
    for body in variations {
        all.extend(parse_list(body)?);
    }
    Ok(products(parse_list(list)?, all, ctx))
}

fn products(
    products: Vec<RawProduct>,
    variations: Vec<RawProduct>,
    ctx: &PageContext<'_>,
) -> Vec<Product> {
    let by_id: HashMap<u64, RawProduct> = variations.into_iter().map(|v| (v.id, v)).collect();
    let now = Utc::now();
    let base = ctx.shop.as_str().trim_end_matches('/');
    products
        .into_iter()
        .filter_map(|raw| {
            let text = |s: &str| collapse_spaces(&decode(s));
            let currency = raw
                .prices
                .as_ref()
                .map(|p| p.currency_code.trim().to_ascii_uppercase())
                .filter(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase()))
                .unwrap_or_else(|| ctx.currency.to_string());
            let variants: Vec<Variant> = if raw.variations.is_empty() {
                let (price, regular) = raw.prices.as_ref()?.read()?;
                vec![Variant {
                    id: raw.id.to_string(),
                    size: size_label(""),
                    sku: Some(raw.sku.clone()).filter(|s| !s.is_empty()),
                    price: Some(price),
                    compare_at: regular,
                    available: raw.is_in_stock,
                    cart_url: Some(format!("{base}/?add-to-cart={}", raw.id)),
                }]
            } else {
                raw.variations
                    .iter()
                    .take(MAX_VARIANTS)
                    .filter_map(|r| {
                        let v = by_id.get(&r.id)?;
                        let (price, regular) = v.prices.as_ref()?.read()?;
                        // The variation's own words ("Size: 10.5, Colour:
                        // Red" -> "10.5 / Red"); else the parent's slugs.
                        let written = text(&v.variation);
                        let size = if written.is_empty() {
                            let slugs: Vec<String> = r
                                .attributes
                                .iter()
                                .filter_map(|a| a.value.as_deref().map(text))
                                .filter(|a| !a.is_empty())
                                .collect();
                            slugs.join(" / ")
                        } else {
                            written
                                .split(", ")
                                .map(|part| part.split_once(": ").map_or(part, |(_, val)| val))
                                .collect::<Vec<_>>()
                                .join(" / ")
                        };
                        Some(Variant {
                            id: r.id.to_string(),
                            size: size_label(&size),
                            sku: Some(v.sku.clone()).filter(|s| !s.is_empty()),
                            price: Some(price),
                            compare_at: regular,
                            available: v.is_in_stock,
                            cart_url: Some(format!(
                                "{base}/?add-to-cart={}&variation_id={}",
                                raw.id, r.id
                            )),
                        })
                    })
                    .collect()
            };
            if variants.is_empty() {
                return None;
            }
            let brand = raw
                .brands
                .first()
                .map(|b| text(&b.name))
                .unwrap_or_default();
            Some(Product {
                title: text(&raw.name),
                brand: ctx.brands.canonical(&brand),
                product_type: raw
                    .categories
                    .first()
                    .map(|c| text(&c.name))
                    .unwrap_or_default(),
                tags: raw.tags.iter().map(|t| text(&t.name)).collect(),
                url: raw.permalink.clone(),
                image: raw
                    .images
                    .first()
                    .map(|i| i.src.clone())
                    .filter(|s| !s.is_empty()),
                currency,
                variants,
                ..Product::observed(ctx.source, &raw.id.to_string(), raw.id.to_string(), now)
            })
        })
        .collect()
}

/// Reads catalogue page `page` of a shop, with its variations (see
/// `connector.rs`). The page's digest covers every answer it was read from,
/// so a size that sells out (a change only the variations show) is read.
pub(crate) async fn read(ctx: &ReadContext, page: u32) -> Result<PageRead, FetchError> {
    let url = page_url(&ctx.store, page);
    let body = ctx.fetcher.get_json(&url).await?;
    let list = parse_list(&body).map_err(|e| FetchError::Blocked(e.to_string()))?;
    let (ids, count) = parents(&list);
    let (mut bodies, mut variations) = (vec![], vec![]);
    if !ids.is_empty() {
        // The list says how many sizes there are (hidden ones may be fewer).
        let pages = count.div_ceil(PAGE_LIMIT).max(1);
        if pages > MAX_VARIATION_PAGES {
            return Err(FetchError::Unreadable(format!(
                "catalogue page {page} lists {count} sizes, more than the {} read for one page; its products are left as they were",
                MAX_VARIATION_PAGES * PAGE_LIMIT
            )));
        }
        for n in 1..=pages {
            let body = ctx
                .fetcher
                .get_json(&variations_url(&ctx.store, &ids, n))
                .await?;
            let got = parse_list(&body)
                .map_err(|e| FetchError::Unreadable(format!("the variations: {e}")))?;
            let full = got.len() >= PAGE_LIMIT;
            variations.extend(got);
            bodies.push(body);
            if !full {
                break;
            }
        }
    }
    let mut read_with: Vec<&[u8]> = bodies.iter().map(Vec::as_slice).collect();
    read_with.extend([url.as_str().as_bytes(), ctx.currency.as_bytes()]);
    let digest = crate::unchanged::digest(&body, &read_with);
    catalogue_page(ctx, page, digest, || {
        let pctx = PageContext {
            source: &ctx.key,
            shop: &ctx.store,
            currency: &ctx.currency,
            brands: &ctx.brands,
        };
        Ok(products(list, variations, &pctx))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRODUCTS: &[u8] = include_bytes!("../../tests/fixtures/woocommerce/products.json");
    const VARIATIONS: &[u8] = include_bytes!("../../tests/fixtures/woocommerce/variations.json");

    fn read(list: &[u8], variations: &[&[u8]]) -> Result<Vec<Product>, ParseError> {
        let brands = BrandTable::default();
        let shop = Url::parse("https://shop.example/").unwrap();
        let ctx = PageContext {
            source: "shop",
            shop: &shop,
            currency: "EUR",
            brands: &brands,
        };
        let bodies: Vec<Vec<u8>> = variations.iter().map(|b| b.to_vec()).collect();
        parse_page(list, &bodies, &ctx)
    }

    #[test]
    fn a_store_api_page_reads_as_products_with_their_sizes() {
        let products = read(PRODUCTS, &[VARIATIONS]).unwrap();
        let ids: Vec<&str> = products.iter().map(|p| p.external_id.as_str()).collect();
        assert_eq!(
            ids,
            ["1001", "2001", "4001"],
            "the grouped product has no price of its own"
        );
        let shoe = &products[0];
        assert_eq!(shoe.key, "shop:1001");
        assert_eq!(shoe.title, "Trail Runner\u{2019}s Shoe", "entities decoded");
        assert_eq!(shoe.brand, "Nike", "brands go through the brand table");
        assert_eq!(shoe.product_type, "Shoes & Boots");
        assert_eq!(shoe.tags, ["trail"]);
        assert_eq!(
            shoe.currency, "USD",
            "the API's currency, not the source's guess"
        );
        assert_eq!(
            shoe.image.as_deref(),
            Some("https://shop.example/wp-content/uploads/tr.jpg")
        );
        let sizes: Vec<(&str, &str, String, Option<String>, bool)> = shoe
            .variants
            .iter()
            .map(|v| {
                (
                    v.id.as_str(),
                    v.size.as_str(),
                    v.price.unwrap().to_string(),
                    v.compare_at.map(|c| c.to_string()),
                    v.available,
                )
            })
            .collect();
        assert_eq!(
            sizes,
            [
                ("1011", "9", "99.00".into(), Some("120.00".into()), true),
                ("1012", "10.5", "135.00".into(), None, false),
                ("1013", "One size", "120.00".into(), None, true),
            ],
            "each size's own price, sale and stock from the variations answer"
        );
        assert_eq!(
            shoe.variants[1].cart_url.as_deref(),
            Some("https://shop.example/?add-to-cart=1001&variation_id=1012")
        );
        let socks = &products[1];
        assert_eq!(socks.variants.len(), 1);
        assert_eq!(socks.variants[0].size, "One size");
        assert_eq!(socks.variants[0].price, Some("8.99".parse().unwrap()));
        assert_eq!(socks.variants[0].compare_at, Some("12.99".parse().unwrap()));
        let tee = &products[2];
        assert_eq!(
            (
                tee.currency.as_str(),
                tee.variants[0].price,
                tee.variants[0].available
            ),
            ("JPY", Some(Decimal::from(4500)), false),
            "a zero-decimal currency's minor unit is the unit"
        );
    }

    #[test]
    fn sizes_the_variations_answer_leaves_out_are_not_guessed() {
        let products = read(PRODUCTS, &[]).unwrap();
        assert!(
            products.iter().all(|p| p.external_id != "1001"),
            "a variable product whose sizes could not be read is left out"
        );
    }

    #[test]
    fn errors_html_and_garbage_are_not_products() {
        assert!(matches!(
            read(b"\n <!DOCTYPE html><html>Just a moment...", &[]),
            Err(ParseError::Html)
        ));
        let e = read(
            br#"{"code":"rest_no_route","message":"No route was found matching the URL and request method.","data":{"status":404}}"#,
            &[],
        )
        .unwrap_err();
        assert!(e.to_string().contains("rest_no_route"), "{e}");
        assert!(matches!(
            read(b"[{\"id\":", &[]),
            Err(ParseError::NotProducts(_))
        ));
        assert!(matches!(
            read(br#"{"products":[]}"#, &[]),
            Err(ParseError::NotProducts(_))
        ));
        assert!(matches!(
            read(PRODUCTS, &[b"<html>"]),
            Err(ParseError::Html)
        ));
        assert_eq!(read(b"[]", &[]).unwrap().len(), 0, "past the last page");
    }

    #[test]
    fn minor_units_are_bounded() {
        let v = |s: &str| Some(Value::String(s.into()));
        let two = Some(serde_json::json!(2));
        assert_eq!(
            minor_units(v("12999").as_ref(), two.as_ref()),
            Some("129.99".parse().unwrap())
        );
        assert_eq!(
            minor_units(Some(&serde_json::json!(500)), None),
            Some("5.00".parse().unwrap())
        );
        for bad in ["", "-100", "12.5", "1e9", "9999999999999999", " "] {
            assert_eq!(minor_units(v(bad).as_ref(), two.as_ref()), None, "{bad:?}");
        }
        assert_eq!(
            minor_units(v("100").as_ref(), Some(&serde_json::json!(40))),
            None
        );
        assert_eq!(
            minor_units(v("100").as_ref(), Some(&serde_json::json!(-1))),
            None
        );
        assert_eq!(minor_units(Some(&serde_json::json!(-5)), None), None);
    }

    #[test]
    fn page_urls_ask_for_the_most_in_a_stable_order() {
        let shop = Url::parse("https://shop.example/boutique/?ref=x#top").unwrap();
        assert_eq!(
            page_url(&shop, 2).as_str(),
            "https://shop.example/boutique/wp-json/wc/store/v1/products?per_page=100&page=2&orderby=id&order=asc"
        );
        assert_eq!(
            variations_url(&shop, &[7, 9], 1).as_str(),
            "https://shop.example/boutique/wp-json/wc/store/v1/products?type=variation&parent=7,9&per_page=100&page=1"
        );
    }
}
