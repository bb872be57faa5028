//! The "json" connector: any JSON API read through a field mapping
//! (docs/external-apis.md: the Luckdata sneaker API, or a store's
//! own API). Paths are JSON Pointers or simple JSONPath; headers may take
//! their values from the server's environment (`${NAME}`), so API keys stay
//! out of the database, the browser and the logs.
//!
//! (Over 500 lines only with its unit tests, the last 70-odd lines:
//! they test this file's private parsing and state, so they stay beside it.)

use chrono::Utc;
use rust_decimal::Decimal;
use serde_json::Value;
use url::Url;

use model::{JsonMapping, Product, Variant};

use crate::normalise::{size_label, BrandTable};
use crate::sources::page::{price_in, stock_from_text, Availability};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JsonError {
    #[error("the mapping is wrong: {0}")]
    Mapping(String),
    #[error("the answer is not JSON: {0}")]
    NotJson(String),
    #[error("{0}")]
    Unreadable(String),
}

/// A path as a JSON Pointer: `/a/0/b` as is; `$.a[0].b`, `a.b`, `$.items[*]`
/// converted (a trailing `[*]` means "the list itself").
pub fn pointer(path: &str) -> Result<String, JsonError> {
    let p = path.trim();
    if p.is_empty() || p == "$" || p == "/" {
        return Ok(String::new());
    }
    if p.starts_with('/') {
        return Ok(p.trim_end_matches('/').to_string());
    }
    let body = p
        .strip_prefix("$.")
        .or_else(|| p.strip_prefix('$'))
        .unwrap_or(p);
    let body = body.strip_suffix("[*]").unwrap_or(body);
    let mut out = String::new();
    for part in body.split('.') {
        if part.is_empty() {
            return Err(JsonError::Mapping(format!("{path:?} has an empty step")));
        }
        let (name, rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !name.is_empty() {
            out.push('/');
            out.push_str(&name.replace('~', "~0").replace('/', "~1"));
        }
        let mut rest = rest;
        while let Some(r) = rest.strip_prefix('[') {
            let end = r
                .find(']')
                .ok_or_else(|| JsonError::Mapping(format!("{path:?} has an unclosed [")))?;
            let idx = r[..end].trim_matches(['\'', '"']);
            if idx == "*" {
                return Err(JsonError::Mapping(format!(
                    "{path:?}: [*] may only end the item list's path"
                )));
            }
            out.push('/');
            out.push_str(idx);
            rest = &r[end + 1..];
        }
    }
    Ok(out)
}

fn field<'a>(item: &'a Value, path: &str) -> Result<Option<&'a Value>, JsonError> {
    if path.trim().is_empty() {
        return Ok(None);
    }
    Ok(item.pointer(&pointer(path)?).filter(|v| !v.is_null()))
}

fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn stock_of(v: Option<&Value>) -> Option<bool> {
    match v? {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_f64().map(|x| x > 0.0),
        Value::String(s) => match s.trim().parse::<f64>() {
            Ok(x) => Some(x > 0.0),
            Err(_) => Availability::from_schema(s)
                .or_else(|| stock_from_text(s, &Default::default()))
                .map(|a| a != Availability::OutOfStock),
        },
        _ => None,
    }
}

fn price_of(v: Option<&Value>) -> Option<Decimal> {
    match v? {
        Value::Number(n) => price_in(&n.to_string()),
        Value::String(s) => price_in(s),
        _ => None,
    }
}

fn looks_secret(header: &str) -> bool {
    let h = header.to_ascii_lowercase();
    [
        "key",
        "token",
        "auth",
        "secret",
        "password",
        "cookie",
        "signature",
    ]
    .iter()
    .any(|w| h.contains(w))
}

/// `Name: value` header lines, `${NAME}` taken from the environment, but
/// only for variables the operator named with `--source-env` (`allowed`):
/// an editor must not be able to send the server's own secrets anywhere.
/// Errors name the header and the variable, never a value, and do not say
/// whether a variable that is not allowed exists.
pub fn headers(lines: &[String], allowed: &[String]) -> Result<Vec<(String, String)>, JsonError> {
    let mut out = vec![];
    for line in lines.iter().map(|l| l.trim()).filter(|l| !l.is_empty()) {
        let (name, value) = line.split_once(':').ok_or_else(|| {
            JsonError::Mapping(format!(
                "a header is \"Name: value\", not {:?}",
                line.split(':').next().unwrap_or("")
            ))
        })?;
        let name = name.trim();
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(JsonError::Mapping(format!("{name:?} is not a header name")));
        }
        let value = value.trim();
        let value = match value.strip_prefix("${").and_then(|v| v.strip_suffix('}')) {
            Some(var) if !allowed.iter().any(|a| a == var) => {
                return Err(JsonError::Mapping(format!(
                    "the header {name} takes its value from ${{{var}}}, which the server does not let sources use: \
                     its operator allows it by starting Dropwatch with --source-env {var} (or DROPWATCH_SOURCE_ENV={var})"
                )))
            }
            Some(var) => std::env::var(var).map_err(|_| {
                JsonError::Mapping(format!("the header {name} takes its value from ${{{var}}}, which is not set in the server's environment"))
            })?,
            // A key written out would be stored with the source and shown
            // on the sources page: secrets come from the environment.
            None if looks_secret(name) && !value.is_empty() => {
                return Err(JsonError::Mapping(format!(
                    "the header {name} carries a secret: put it in an environment variable of the server and write {name}: ${{VARIABLE}}"
                )))
            }
            None => value.to_string(),
        };
        out.push((name.to_string(), value));
    }
    Ok(out)
}

/// Fetches the API (headers from the mapping, politeness gate) and reads
/// the answer: what a poll and a preview do.
/// Reads an API through its mapping, following `next` links for at most
/// `max_pages` pages. Returns what was read and, when a page after the first
/// failed (or the pages went on), why the read is incomplete; a first page
/// that fails is the error.
pub async fn fetch_and_parse(
    fetcher: &crate::fetch::Fetcher,
    url: &Url,
    source: &str,
    currency: &str,
    brands: &BrandTable,
    mapping: &JsonMapping,
    allowed_env: &[String],
    max_pages: u32,
) -> Result<(Vec<Product>, Option<crate::fetch::FetchError>), crate::fetch::FetchError> {
    use crate::fetch::FetchError;
    let hs = headers(&mapping.headers, allowed_env)
        .map_err(|e| FetchError::Unreadable(e.to_string()))?;
    let mut out: Vec<Product> = vec![];
    let mut seen = std::collections::HashSet::new();
    let mut seen_keys = std::collections::HashSet::new();
    let mut page_url = url.clone();
    for page in 1..=max_pages.max(1) {
        seen.insert(page_url.to_string());
        let read = async {
            // The headers (an API key) go to the source's own host, not to
            // a `next` link elsewhere.
            let own_host = crate::fetch::host_key(&page_url) == crate::fetch::host_key(url);
            let send: &[(String, String)] = if own_host { &hs } else { &[] };
            let body = fetcher.get_json_with(&page_url, send).await.map_err(|e| match e {
                // An API's 401 is a refused key, not a shop's password page.
                FetchError::PasswordProtected => FetchError::Blocked("HTTP 401: the API refused the request; check the key in the source's headers".into()),
                e => e,
            })?;
            let ctx = JsonContext { source, url: &page_url, currency, brands, mapping };
            parse_page(&body, &ctx).map_err(|e| match e {
                // HTML or garbage where the API's JSON should be.
                JsonError::NotJson(why) => FetchError::Blocked(format!("the API did not answer JSON ({why})")),
                e => FetchError::Unreadable(e.to_string()),
            })
        }
        .await;
        let (products, next) = match read {
            Ok(r) => r,
            Err(e) if page == 1 => return Err(e),
            Err(e) => return Ok((out, Some(e))),
        };
        for p in products {
            if seen_keys.insert(p.key.clone()) {
                out.push(p);
            }
        }
        match next {
            Some(n) if !seen.contains(n.as_str()) => page_url = n,
            _ => return Ok((out, None)),
        }
    }
    Ok((
        out,
        Some(FetchError::Unreadable(format!(
            "stopped after {max_pages} pages; the API's pages go on"
        ))),
    ))
}

/// A JSON source's poll: everything as page 1 (see `connector.rs`).
pub(crate) async fn read(
    ctx: &crate::sources::connector::ReadContext,
    mapping: &JsonMapping,
    source_env: &[String],
) -> Result<crate::sources::connector::PageRead, crate::fetch::FetchError> {
    let (products, partial) = fetch_and_parse(
        &ctx.fetcher,
        &ctx.store,
        &ctx.key,
        &ctx.currency,
        &ctx.brands,
        mapping,
        source_env,
        ctx.max_pages,
    )
    .await?;
    Ok(crate::sources::connector::PageRead::of(products, partial))
}

/// A mapping that can work: id, title and a price (the item's or the
/// sizes'), and paths that parse. Headers are checked by [`headers`].
pub fn check_mapping(m: &JsonMapping) -> Result<(), JsonError> {
    for (name, path) in [("id", &m.id), ("title", &m.title), ("price", &m.price)] {
        if path.trim().is_empty() && !(name == "price" && !m.variant_price.trim().is_empty()) {
            return Err(JsonError::Mapping(format!("it needs a path for {name}")));
        }
    }
    for path in [
        &m.items,
        &m.id,
        &m.title,
        &m.brand,
        &m.price,
        &m.currency,
        &m.stock,
        &m.image,
        &m.url,
        &m.variants,
        &m.variant_id,
        &m.variant_size,
        &m.variant_price,
        &m.variant_stock,
        &m.next,
    ] {
        pointer(path)?;
    }
    Ok(())
}

/// Where the products of a JSON source come from.
pub struct JsonContext<'a> {
    pub source: &'a str,
    pub url: &'a Url,
    pub currency: &'a str,
    pub brands: &'a BrandTable,
    pub mapping: &'a JsonMapping,
}

/// Reads an answer into products through the mapping. Items without an id
/// or a readable price are skipped (and counted in the error when every one
/// is); a mapping that finds no list says where it looked.
pub fn parse(body: &[u8], ctx: &JsonContext<'_>) -> Result<Vec<Product>, JsonError> {
    parse_page(body, ctx).map(|(p, _)| p)
}

/// [`parse`], and the next page's URL when the mapping says where it is
/// and the answer has one.
pub fn parse_page(
    body: &[u8],
    ctx: &JsonContext<'_>,
) -> Result<(Vec<Product>, Option<Url>), JsonError> {
    let m = ctx.mapping;
    check_mapping(m)?;
    let root: Value =
        serde_json::from_slice(body).map_err(|e| JsonError::NotJson(e.to_string()))?;
    let next = field(&root, &m.next)?
        .and_then(text_of)
        .and_then(|n| ctx.url.join(&n).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"));
    Ok((products_of(&root, ctx)?, next))
}

fn products_of(root: &Value, ctx: &JsonContext<'_>) -> Result<Vec<Product>, JsonError> {
    let m = ctx.mapping;
    let list_ptr = pointer(&m.items)?;
    let list = root.pointer(&list_ptr).ok_or_else(|| {
        JsonError::Unreadable(format!(
            "the answer has nothing at {:?} (the item list)",
            m.items
        ))
    })?;
    let items: Vec<&Value> = match list {
        Value::Array(a) => a.iter().collect(),
        Value::Object(_) => vec![list],
        _ => {
            return Err(JsonError::Unreadable(format!(
                "{:?} is not a list of items",
                m.items
            )))
        }
    };
    let now = Utc::now();
    let mut out = vec![];
    let mut skipped = 0;
    for item in items {
        let Some(id) = field(item, &m.id)?.and_then(text_of) else {
            skipped += 1;
            continue;
        };
        let title = field(item, &m.title)?
            .and_then(text_of)
            .unwrap_or_else(|| id.clone());
        let currency = field(item, &m.currency)?
            .and_then(text_of)
            .map(|c| c.to_ascii_uppercase())
            .filter(|c| c.len() == 3)
            .unwrap_or_else(|| ctx.currency.to_string());
        let item_stock = stock_of(field(item, &m.stock)?);
        let mut variants = vec![];
        if !m.variants.trim().is_empty() {
            if let Some(Value::Array(vs)) = field(item, &m.variants)? {
                for (i, v) in vs.iter().enumerate() {
                    let Some(price) =
                        price_of(field(v, &m.variant_price)?).or(price_of(field(item, &m.price)?))
                    else {
                        continue;
                    };
                    let vid = field(v, &m.variant_id)?
                        .and_then(text_of)
                        .unwrap_or_else(|| format!("{id}-{}", i + 1));
                    variants.push(Variant {
                        id: vid.clone(),
                        size: size_label(
                            &field(v, &m.variant_size)?.and_then(text_of).unwrap_or(vid),
                        ),
                        sku: None,
                        price: Some(price),
                        compare_at: None,
                        available: stock_of(field(v, &m.variant_stock)?)
                            .or(item_stock)
                            .unwrap_or(true),
                        cart_url: None,
                    });
                }
            }
        }
        if variants.is_empty() {
            let Some(price) = price_of(field(item, &m.price)?) else {
                skipped += 1;
                continue;
            };
            variants.push(Variant {
                id: id.clone(),
                size: "One size".into(),
                sku: None,
                price: Some(price),
                compare_at: None,
                // Unknown stock is not "sold out".
                available: item_stock.unwrap_or(true),
                cart_url: None,
            });
        }
        let url = field(item, &m.url)?
            .and_then(text_of)
            .and_then(|u| ctx.url.join(&u).ok())
            .map(|u| u.to_string())
            .unwrap_or_else(|| ctx.url.to_string());
        out.push(Product {
            title,
            brand: ctx
                .brands
                .canonical(&field(item, &m.brand)?.and_then(text_of).unwrap_or_default()),
            url,
            image: field(item, &m.image)?
                .and_then(text_of)
                .and_then(|u| ctx.url.join(&u).ok())
                .map(|u| u.to_string()),
            currency,
            variants,
            ..Product::observed(ctx.source, &crate::engine::slug_text(&id), id, now)
        });
    }
    if out.is_empty() && skipped > 0 {
        return Err(JsonError::Unreadable(format!(
            "none of the {skipped} items has both an id at {:?} and a price at {:?}",
            m.id, m.price
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_as_pointers() {
        assert_eq!(pointer("").unwrap(), "");
        assert_eq!(pointer("$").unwrap(), "");
        assert_eq!(pointer("/data/items").unwrap(), "/data/items");
        assert_eq!(pointer("$.data.items[*]").unwrap(), "/data/items");
        assert_eq!(pointer("$.offers[0].price").unwrap(), "/offers/0/price");
        assert_eq!(pointer("data['a/b']").unwrap(), "/data/a/b");
        assert_eq!(pointer("price").unwrap(), "/price");
        assert!(pointer("$.a..b").is_err());
        assert!(pointer("$.a[*].b").is_err());
    }

    #[test]
    fn headers_take_secrets_from_the_environment_and_never_say_them() {
        std::env::set_var("DW_TEST_JSON_KEY", "s3cret-value");
        let allowed: Vec<String> =
            vec!["DW_TEST_JSON_KEY".into(), "DW_TEST_NOT_SET_ANYWHERE".into()];
        let h = headers(
            &[
                "X-Luckdata-Api-Key: ${DW_TEST_JSON_KEY}".into(),
                "Accept: application/json".into(),
                " ".into(),
            ],
            &allowed,
        )
        .unwrap();
        assert_eq!(h[0], ("X-Luckdata-Api-Key".into(), "s3cret-value".into()));
        assert_eq!(h.len(), 2);
        let e = headers(&["X-Key: ${DW_TEST_NOT_SET_ANYWHERE}".into()], &allowed)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("DW_TEST_NOT_SET_ANYWHERE") && e.contains("X-Key") && e.contains("not set"),
            "{e}"
        );
        // A variable the operator did not name is refused, set or not, in the same words.
        let set = headers(&["X-Key: ${DW_TEST_JSON_KEY}".into()], &[])
            .unwrap_err()
            .to_string();
        let unset = headers(&["X-Key: ${DW_TEST_NOT_SET_EITHER}".into()], &[])
            .unwrap_err()
            .to_string();
        assert!(
            set.contains("--source-env DW_TEST_JSON_KEY") && !set.contains("s3cret"),
            "{set}"
        );
        assert_eq!(
            set.replace("DW_TEST_JSON_KEY", "V"),
            unset.replace("DW_TEST_NOT_SET_EITHER", "V")
        );
        assert!(headers(&["no colon here".into()], &allowed).is_err());
        // Secrets are never written out in a header line.
        for line in [
            "X-Api-Key: abc123",
            "Authorization: Bearer abc",
            "Cookie: s=1",
        ] {
            let e = headers(&[line.into()], &allowed).unwrap_err().to_string();
            assert!(
                e.contains("environment variable") && !e.contains("abc"),
                "{e}"
            );
        }
    }
}
