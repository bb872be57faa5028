//! The "popmart" connector: Pop Mart's shop API, per region
//! (docs/external-apis.md). The API is undocumented; what is known
//! of it comes from public monitors:
//!
//! - `GET /shop/v1/shop/productDetails?spuId=..` for one product, with its
//!   SKUs and their online stock (in stock = `onlineStock > 0`);
//! - `GET /shop/v1/shop/productList?page=&size=` with `categoryId=` (a
//!   category), `seriesId=` (a series or collection) or `sort=new` (new
//!   arrivals); `GET /shop/v1/search?keyword=&page=&size=` for a search.
//!   Lists answer `data: {list: [..], total}`.
//!
//! Every request is signed: query parameters `t` (unix seconds) and `s`,
//! the MD5 (hex) of the compact JSON object of the other parameters with
//! sorted keys, then the signing salt, then `t`; the header `x-sign` carries
//! `s` too, with the client key and region headers. Client key and salt are
//! the user's settings for the region (kept sealed in the vault; the project
//! ships none).
//!
//! Politeness: 3 requests in flight, 1.5 s plus a random 0–2.5 s between
//! requests, Retry-After honoured on 429. Pop Mart's firewall answers 471:
//! that is `blocked`, never "sold out". Dropwatch sends its own User-Agent
//! and never rotates identities.
//!
//! (Over 500 lines only with its unit tests, the last 40-odd lines:
//! they test this file's private parsing and state, so they stay beside it.)

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::Utc;
use futures::StreamExt;
use md5::{Digest, Md5};
use rust_decimal::Decimal;
use serde_json::Value;
use url::Url;

use model::{PopmartSettings, Product, Variant};

use crate::fetch::{Answer, FetchError, Fetcher};
use crate::politeness::Politeness;

/// A region's client key and signing salt, and the API they are for.
#[derive(Clone)]
pub struct PopmartKeys {
    pub client_key: String,
    pub salt: String,
    /// The API base an admin saved them for; `None`: the region's own Pop
    /// Mart API host. They are sent there and nowhere else, whatever
    /// address a source is edited to.
    pub api: Option<Url>,
}

impl PopmartKeys {
    /// Whether these keys may be sent to a source at `url` of `region`.
    pub fn serve(&self, url: &Url, region: &str) -> Result<(), String> {
        let official = model::POPMART_REGIONS
            .iter()
            .find(|r| r.0.eq_ignore_ascii_case(region))
            .and_then(|r| Url::parse(r.2).ok());
        let Some(api) = self.api.clone().or(official) else {
            return Err(format!("no Pop Mart API is known for region {region}"));
        };
        let same_origin = api.origin() == url.origin();
        let under = url.path().starts_with(api.path().trim_end_matches('/'));
        if same_origin && under {
            Ok(())
        } else {
            Err(format!(
                "the Pop Mart keys of region {region} are for {api}, and this source's address is {url}: they are not sent anywhere else; set the source's address back to {api}"
            ))
        }
    }
}

impl std::fmt::Debug for PopmartKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PopmartKeys(<hidden>)")
    }
}

/// The politeness Pop Mart's users asked for.
pub fn politeness() -> Politeness {
    Politeness {
        max_in_flight: 3,
        min_spacing: Duration::from_millis(1500),
        spacing_jitter: Duration::from_millis(2500),
        ..Politeness::default()
    }
}

/// Items per list page.
pub const PAGE_SIZE: u32 = 50;

/// The signature `s` of a request's parameters at time `t`.
pub fn sign(params: &BTreeMap<String, String>, t: i64, salt: &str) -> String {
    let object: serde_json::Map<String, Value> = params
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let text = format!("{}{salt}{t}", Value::Object(object));
    let digest = Md5::digest(text.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The namespace header of a region's API host.
fn namespace(region: &str) -> &'static str {
    match region {
        "US" | "CA" => "america",
        "TH" => "asia",
        _ => "eurasian",
    }
}

/// A signed GET of `path` with `params` against the source's API base.
fn request(
    fetcher: &Fetcher,
    base: &Url,
    path: &str,
    params: &BTreeMap<String, String>,
    settings: &PopmartSettings,
    keys: &PopmartKeys,
) -> reqwest::RequestBuilder {
    let t = Utc::now().timestamp();
    let s = sign(params, t, &keys.salt);
    let mut url = base.clone();
    let prefix = url.path().trim_end_matches('/').to_string();
    url.set_path(&format!("{prefix}{path}"));
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in params {
            q.append_pair(k, v);
        }
        q.append_pair("s", &s);
        q.append_pair("t", &t.to_string());
    }
    let region = settings.region.as_str();
    let mut key = reqwest::header::HeaderValue::from_str(&keys.client_key)
        .unwrap_or_else(|_| reqwest::header::HeaderValue::from_static("invalid"));
    key.set_sensitive(true);
    fetcher
        .client()
        .get(url)
        .header(reqwest::header::ACCEPT, "application/json")
        .header("clientkey", key)
        .header("country", region)
        .header("language", "en")
        .header("x-client-country", region)
        .header("x-client-namespace", namespace(region))
        .header("x-project-id", region.to_lowercase())
        .header("x-device-os-type", "web")
        .header("x-sign", s)
}

/// Pop Mart's statuses: 471 is its firewall.
fn classify(a: Answer) -> Result<Value, FetchError> {
    match a.status {
        200..=299 => {}
        471 => {
            return Err(FetchError::Blocked(
                "Pop Mart's firewall refused the request (HTTP 471); backing off, stock left as it was".into(),
            ))
        }
        401 | 403 => {
            return Err(FetchError::Refused(format!(
                "Pop Mart refused the request (HTTP {}); check the region's client key and signing salt",
                a.status
            )))
        }
        429 => return Err(FetchError::RateLimited { status: 429, retry_after: a.retry_after }),
        500..=599 => return Err(FetchError::Server { status: a.status }),
        _ => return Err(FetchError::Http { status: a.status }),
    }
    if a.html {
        return Err(FetchError::Blocked(
            "Pop Mart answered with an HTML page where JSON was expected".into(),
        ));
    }
    let v: Value = serde_json::from_slice(&a.body).map_err(|e| {
        FetchError::Unreadable(format!("Pop Mart's answer is not valid JSON ({e})"))
    })?;
    match v.get("code") {
        Some(Value::String(c)) if c.eq_ignore_ascii_case("ok") => Ok(v),
        Some(Value::Number(n)) if n.as_u64() == Some(200) || n.as_u64() == Some(0) => Ok(v),
        _ => {
            let message = v
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("no message");
            let code = v
                .get("code")
                .map(|c| c.to_string())
                .unwrap_or_else(|| "none".into());
            if message.to_lowercase().contains("sign") {
                return Err(FetchError::Refused(format!(
                    "Pop Mart refused the signature (code {code}: {message}); check the region's signing salt"
                )));
            }
            Err(FetchError::Unreadable(format!(
                "Pop Mart answered code {code}: {message}"
            )))
        }
    }
}

fn text_of(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// One product (a details answer's `data`, or a list item) as a product.
/// `None` when it has no id or no SKU with a price.
pub fn product(
    item: &Value,
    source: &str,
    settings: &PopmartSettings,
    currency: &str,
) -> Option<Product> {
    let id = text_of(item.get("id")).or_else(|| text_of(item.get("spuId")))?;
    let title = text_of(item.get("title")).or_else(|| text_of(item.get("name")))?;
    let listed = item
        .get("isAvailable")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let variants: Vec<Variant> = item
        .get("skus")?
        .as_array()?
        .iter()
        .filter_map(|sku| {
            let stock = sku
                .pointer("/stock/onlineStock")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            Some(Variant {
                id: text_of(sku.get("id"))?,
                size: text_of(sku.get("title")).unwrap_or_else(|| "One size".into()),
                sku: text_of(sku.get("skuCode")),
                price: Some(
                    super::json_decimal(sku.get("discountPrice"))
                        .filter(|p| *p > Decimal::ZERO)
                        .or_else(|| super::json_decimal(sku.get("price")))?,
                ),
                compare_at: super::json_decimal(sku.get("price"))
                    .filter(|_| sku.get("discountPrice").is_some()),
                available: listed && stock > 0,
                cart_url: None,
            })
        })
        .map(|mut v| {
            v.compare_at = v.compare_at.filter(|c| v.price.is_some_and(|p| *c > p));
            v
        })
        .collect();
    if variants.is_empty() {
        return None;
    }
    let image = ["mainImageUrl", "mainImage", "image"]
        .iter()
        .find_map(|k| text_of(item.get(*k)))
        .or_else(|| item.pointer("/images/0").and_then(|v| text_of(Some(v))));
    let now = Utc::now();
    Some(Product {
        title,
        brand: "Pop Mart".into(),
        product_type: text_of(item.get("seriesName")).unwrap_or_default(),
        url: format!(
            "https://www.popmart.com/{}/products/{id}",
            settings.region.to_lowercase()
        ),
        image,
        currency: currency.to_string(),
        variants,
        ..Product::observed(source, &id, id.clone(), now)
    })
}

/// What one read found; `complete` when the whole list (or every product
/// asked for) was read, so products missing from it may be marked removed.
#[derive(Debug, Default)]
pub struct PopmartRead {
    pub products: Vec<Product>,
    pub complete: bool,
    pub stopped: Option<FetchError>,
    pub pages: u32,
}

/// A Pop Mart source's poll: the whole watch as page 1 (see
/// `connector.rs`). The keys go to the API an admin saved them for, not
/// to an address an editor typed.
pub(crate) async fn read_source(
    ctx: &crate::sources::connector::ReadContext,
    settings: &PopmartSettings,
    keys: &PopmartKeys,
) -> Result<crate::sources::connector::PageRead, FetchError> {
    keys.serve(&ctx.store, &settings.region)
        .map_err(FetchError::Refused)?;
    let read = read(
        &ctx.fetcher,
        &ctx.store,
        &ctx.key,
        settings,
        keys,
        &ctx.currency,
        ctx.max_pages,
    )
    .await;
    if read.products.is_empty() {
        if let Some(e) = read.stopped {
            return Err(e);
        }
    }
    let partial = read.stopped.or_else(|| {
        (!read.complete).then(|| {
            FetchError::Unreadable(format!(
                "stopped after {} pages; the list goes on",
                read.pages
            ))
        })
    });
    Ok(crate::sources::connector::PageRead::of(
        read.products,
        partial,
    ))
}

/// Reads what the source watches.
pub async fn read(
    fetcher: &Fetcher,
    base: &Url,
    source: &str,
    settings: &PopmartSettings,
    keys: &PopmartKeys,
    currency: &str,
    max_pages: u32,
) -> PopmartRead {
    let mut out = PopmartRead::default();
    let details = |id: String| async move {
        let params = BTreeMap::from([("spuId".to_string(), id.clone())]);
        let answer = fetcher
            .exchange(
                request(
                    fetcher,
                    base,
                    "/shop/v1/shop/productDetails",
                    &params,
                    settings,
                    keys,
                ),
                classify,
            )
            .await?;
        Ok::<_, FetchError>((id, answer))
    };
    if settings.watch == "products" {
        // Three at a time; the host's gate spaces them.
        let mut answers =
            futures::stream::iter(settings.product_ids().into_iter().map(details)).buffered(3);
        while let Some(a) = answers.next().await {
            out.pages += 1;
            match a {
                Ok((id, answer)) => match answer
                    .get("data")
                    .and_then(|d| product(d, source, settings, currency))
                {
                    Some(p) => out.products.push(p),
                    None => {
                        out.stopped = Some(FetchError::Unreadable(format!(
                            "product {id}: Pop Mart's answer has no product with priced SKUs"
                        )));
                        return out;
                    }
                },
                Err(e) => {
                    out.stopped = Some(e);
                    return out;
                }
            }
        }
        out.complete = true;
        return out;
    }
    let (path, extra) = match settings.watch.as_str() {
        "category" => (
            "/shop/v1/shop/productList",
            ("categoryId", settings.target.clone()),
        ),
        "series" => (
            "/shop/v1/shop/productList",
            ("seriesId", settings.target.clone()),
        ),
        "new" => ("/shop/v1/shop/productList", ("sort", "new".to_string())),
        "search" => ("/shop/v1/search", ("keyword", settings.target.clone())),
        other => {
            out.stopped = Some(FetchError::Unreadable(format!(
                "unknown Pop Mart watch {other:?}"
            )));
            return out;
        }
    };
    let mut listed = 0u64;
    for page in 1..=max_pages {
        let params = BTreeMap::from([
            ("page".to_string(), page.to_string()),
            ("size".to_string(), PAGE_SIZE.to_string()),
            (extra.0.to_string(), extra.1.clone()),
        ]);
        let answer = match fetcher
            .exchange(
                request(fetcher, base, path, &params, settings, keys),
                classify,
            )
            .await
        {
            Ok(a) => a,
            Err(e) => {
                out.stopped = Some(e);
                return out;
            }
        };
        out.pages += 1;
        let list = answer
            .pointer("/data/list")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for item in &list {
            match product(item, source, settings, currency) {
                Some(p) => out.products.push(p),
                // A list item without its SKUs: ask for its details.
                None => {
                    let Some(id) = text_of(item.get("id")).or_else(|| text_of(item.get("spuId")))
                    else {
                        continue;
                    };
                    match details(id).await {
                        Ok((_, a)) => {
                            if let Some(p) = a
                                .get("data")
                                .and_then(|d| product(d, source, settings, currency))
                            {
                                out.products.push(p);
                            }
                        }
                        Err(e) => {
                            out.stopped = Some(e);
                            return out;
                        }
                    }
                }
            }
        }
        // The API may answer smaller pages than asked for: its total says
        // when the list ends; without one, a short page does.
        listed += list.len() as u64;
        let total = answer.pointer("/data/total").and_then(Value::as_u64);
        let done =
            list.is_empty() || total.map_or(list.len() < PAGE_SIZE as usize, |t| listed >= t);
        if done {
            out.complete = true;
            return out;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_md5_of_sorted_params_salt_and_time() {
        let params = BTreeMap::from([
            ("spuId".to_string(), "1159".to_string()),
            ("a".to_string(), "".to_string()),
        ]);
        // md5('{"spuId":"1159"}salt1700000000')
        let s = sign(&params, 1_700_000_000, "salt");
        let expected: String = Md5::digest(br#"{"spuId":"1159"}salt1700000000"#)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(s, expected);
        assert_eq!(s.len(), 32);
        // MD5 itself, a known vector.
        let empty: String = Md5::digest(b"")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(empty, "d41d8cd98f00b204e9800998ecf8427e");
    }

    #[test]
    fn skus_with_online_stock() {
        let data = serde_json::json!({"id": 1159, "title": "LABUBU Big into Energy", "isAvailable": true,
            "skus": [{"id": 5001, "title": "Single box", "price": 99, "stock": {"onlineStock": 3}},
                     {"id": 5002, "title": "Whole set", "price": "594.00", "stock": {"onlineStock": 0}}]});
        let settings = PopmartSettings {
            region: "HK".into(),
            watch: "products".into(),
            target: "1159".into(),
        };
        let p = product(&data, "pm", &settings, "HKD").unwrap();
        assert_eq!(p.key, "pm:1159");
        assert_eq!(p.variants.len(), 2);
        assert!(p.variants[0].available && !p.variants[1].available);
        assert_eq!(p.variants[1].price, Some("594.00".parse().unwrap()));
        assert_eq!(p.url, "https://www.popmart.com/hk/products/1159");
    }
}
