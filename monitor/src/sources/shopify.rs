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

/// The store a URL belongs to, and whether the URL is one of its product
/// pages: `.../products.json` is its store; `{store}/products/{handle}` is
/// a product page of `{store}`; anything else is a store's address itself.
pub fn store_of(url: &Url) -> (Url, bool) {
    let mut store = url.clone();
    store.set_query(None);
    store.set_fragment(None);
    let path = url.path().to_string();
    if let Some(base) = path.strip_suffix("/products.json") {
        store.set_path(&format!("{base}/"));
        return (store, false);
    }
    match path.find("/products/") {
        Some(i) => {
            store.set_path(&path[..=i]);
            (store, true)
        }
        None => (store, false),
    }
}

/// How many products a Shopify catalogue page lists, if the body is one.
pub fn catalogue_size(body: &[u8]) -> Option<usize> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    v.get("products")?.as_array().map(Vec::len)
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
///
/// Read with a visitor rather than an untagged enum: an untagged enum buffers
/// every value before trying its variants, which was a measurable part of
/// parsing a 10,000-product catalogue (two prices per variant).
struct RawMoney(Option<rust_decimal::Decimal>);

impl<'de> Deserialize<'de> for RawMoney {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = RawMoney;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a price (decimal string or number)")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RawMoney, E> {
                Ok(RawMoney(parse_price(v)))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<RawMoney, E> {
                Ok(RawMoney(parse_price(&v.to_string())))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<RawMoney, E> {
                Ok(RawMoney(parse_price(&v.to_string())))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<RawMoney, E> {
                Ok(RawMoney(parse_price(&v.to_string())))
            }
        }
        d.deserialize_any(V)
    }
}

impl RawMoney {
    fn parse(&self) -> Option<rust_decimal::Decimal> {
        self.0
    }
}

fn null_as_default<'de, D: Deserializer<'de>, T: Default + Deserialize<'de>>(
    d: D,
) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Tags are an array in `products.json`, a comma-separated string in older
/// exports (read with a visitor, not an untagged enum, for speed as above).
fn tags<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    struct V;
    impl<'de> serde::de::Visitor<'de> for V {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a list of tags or a comma-separated string")
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Vec<String>, E> {
            Ok(vec![])
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<Vec<String>, E> {
            Ok(vec![])
        }
        fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Vec<String>, E> {
            Ok(s.split(',')
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
                .collect())
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Vec<String>, A::Error> {
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
            while let Some(t) = seq.next_element::<String>()? {
                out.push(t);
            }
            Ok(out)
        }
    }
    d.deserialize_any(V)
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
                        price: Some(v.price.parse()?),
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
                title: raw.title.trim().to_string(),
                brand: ctx.brands.canonical(&raw.vendor),
                product_type: raw.product_type,
                tags: raw.tags,
                url: format!("{base}/products/{}", raw.handle),
                image,
                currency: ctx.currency.to_string(),
                variants,
                ..Product::observed(ctx.source, &raw.id.to_string(), raw.id.to_string(), now)
            })
        })
        .collect())
}

/// Reads catalogue page `page` of a source (see `connector.rs`).
pub(crate) async fn read(
    ctx: &super::connector::ReadContext,
    page: u32,
) -> Result<super::connector::PageRead, crate::fetch::FetchError> {
    let url = page_url(&ctx.store, page);
    let body = ctx.fetcher.get_json_body(&url).await?;
    let digest = body.digest(&[url.as_str().as_bytes(), ctx.currency.as_bytes()]);
    super::connector::catalogue_page(ctx, page, digest, || {
        let body = body.into_vec();
        let pctx = PageContext {
            source: &ctx.key,
            store: &ctx.store,
            currency: &ctx.currency,
            brands: &ctx.brands,
        };
        parse_page(&body, &pctx).map_err(|e| crate::fetch::FetchError::Blocked(e.to_string()))
    })
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

    #[test]
    fn prices_as_numbers_and_tags_as_text_are_read_too() {
        let brands = BrandTable::default();
        let store = Url::parse("https://s.example").unwrap();
        let ctx = PageContext {
            source: "s",
            store: &store,
            currency: "EUR",
            brands: &brands,
        };
        let body = br#"{"products":[
            {"id":1,"title":"A","handle":"a","vendor":null,"tags":"new, sale ,,x",
             "variants":[{"id":11,"title":"S","available":true,"price":129,"compare_at_price":149.5},
                         {"id":12,"title":"M","available":false,"price":"99.90","compare_at_price":null}]},
            {"id":2,"title":"B","handle":"b","tags":null,
             "variants":[{"id":21,"title":"Default Title","available":true,"price":"-1"}]},
            {"id":3,"title":"C","handle":"c","tags":["one","two"],
             "variants":[{"id":31,"title":"One","available":true,"price":"5.00"}]}
        ]}"#;
        let products = parse_page(body, &ctx).unwrap();
        let a = &products[0];
        assert_eq!(a.tags, ["new", "sale", "x"]);
        assert_eq!(a.variants[0].price, Some("129".parse().unwrap()));
        assert_eq!(
            a.variants[0].compare_at.map(|d| d.to_string()).as_deref(),
            Some("149.5")
        );
        assert_eq!(a.variants[1].price, Some("99.90".parse().unwrap()));
        assert_eq!(a.variants[1].compare_at, None);
        // A negative price is no price: that product has no readable variant.
        assert!(products.iter().all(|p| p.external_id != "2"));
        assert_eq!(products.last().unwrap().tags, ["one", "two"]);
        assert!(matches!(
            parse_page(
                br#"{"products":[{"id":1,"title":"A","handle":"a","tags":7,"variants":[]}]}"#,
                &ctx
            ),
            Err(ParseError::NotCatalogue(_))
        ));
    }
}
