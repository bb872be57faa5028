//! A fake WooCommerce shop: the demo catalogue through the Store API
//! (`/wp-json/wc/store/v1/products`), with WooCommerce's field names and
//! types (prices as strings of minor units, HTML-escaped names, variations
//! listed as ids and attributes and read with `type=variation&parent=`),
//! its paging headers (`X-WP-Total`, `X-WP-TotalPages`, an empty list past
//! the last page), its errors (`{"code","message","data":{"status"}}`) and
//! its rate limit (HTTP 400 `rate_limit_exceeded` with
//! `RateLimit-Retry-After`). The demo store's faults apply here too. The
//! format is written down in `docs/woocommerce.md`.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{json, Value};

use super::catalogue::{DemoProduct, DemoVariant};
use super::{fault_response, public_base, DemoStore, Fault};

const API: &str = "/wp-json/wc/store/v1/products";

/// The Store API's routes over a demo store's catalogue.
pub(crate) fn routes() -> Router<Arc<DemoStore>> {
    Router::new()
        .route(API, get(list))
        .route(&format!("{API}/{{id}}"), get(one))
}

#[derive(Deserialize)]
struct ListQuery {
    per_page: Option<String>,
    page: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    parent: Option<String>,
}

/// WooCommerce's error body.
fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({ "code": code, "message": message, "data": { "status": status.as_u16() } });
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=UTF-8")],
        body.to_string(),
    )
        .into_response()
}

/// A fault switched on for the demo store, answered the way a WooCommerce
/// shop answers it (its rate limit is a 400 with its own header).
async fn fault(store: &DemoStore, page: usize) -> Option<Response> {
    let f = store
        .fault
        .lock()
        .clone()
        .filter(|f| page >= f.from_page.unwrap_or(1))?;
    if f.kind == Fault::RateLimited {
        let wait = f.retry_after.unwrap_or(10);
        let mut r = error(
            StatusCode::BAD_REQUEST,
            "rate_limit_exceeded",
            &format!("Too many requests. Please wait {wait} seconds before trying again."),
        );
        let h = r.headers_mut();
        h.insert("RateLimit-Retry-After", HeaderValue::from(wait));
        h.insert("RateLimit-Limit", HeaderValue::from(25u32));
        h.insert("RateLimit-Remaining", HeaderValue::from(0u32));
        return Some(r);
    }
    Some(fault_response(f).await)
}

/// A number parameter as WordPress checks it: an integer in `range`.
fn int_param(
    raw: Option<&str>,
    name: &str,
    range: std::ops::RangeInclusive<usize>,
    default: usize,
) -> Result<usize, Response> {
    let Some(raw) = raw else { return Ok(default) };
    raw.trim()
        .parse::<usize>()
        .ok()
        .filter(|n| range.contains(n))
        .ok_or_else(|| {
            error(
                StatusCode::BAD_REQUEST,
                "rest_invalid_param",
                &format!(
                    "Invalid parameter(s): {name} ({name} must be between {} (inclusive) and {} (inclusive))",
                    range.start(),
                    range.end()
                ),
            )
        })
}

async fn list(
    State(store): State<Arc<DemoStore>>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Response {
    store.catalogue_requests.fetch_add(1, Ordering::SeqCst);
    let per_page = match int_param(q.per_page.as_deref(), "per_page", 1..=100, 10) {
        Ok(n) => n,
        Err(r) => return r,
    };
    let page = match int_param(q.page.as_deref(), "page", 1..=usize::MAX, 1) {
        Ok(n) => n,
        Err(r) => return r,
    };
    if let Some(r) = fault(&store, page).await {
        return r;
    }
    let base = public_base(&headers, &uri, API);
    let cat = store.catalogue.lock();
    let items: Vec<Value> = if q.kind.as_deref() == Some("variation") {
        let parents: Vec<u64> = q
            .parent
            .as_deref()
            .unwrap_or("")
            .split(',')
            .filter_map(|p| p.trim().parse().ok())
            .collect();
        cat.products
            .iter()
            .filter(|p| parents.is_empty() || parents.contains(&p.id))
            .filter(|p| is_variable(p))
            .flat_map(|p| {
                let base = base.as_str();
                p.variants.iter().map(move |v| variation_json(p, v, base))
            })
            .collect()
    } else {
        cat.products
            .iter()
            .map(|p| product_json(p, &base))
            .collect()
    };
    drop(cat);
    let total = items.len();
    let pages = total.div_ceil(per_page);
    let start = page.saturating_sub(1).saturating_mul(per_page);
    let shown: Vec<Value> = items.into_iter().skip(start).take(per_page).collect();
    let mut r = (
        [(header::CONTENT_TYPE, "application/json; charset=UTF-8")],
        Value::Array(shown).to_string(),
    )
        .into_response();
    let h = r.headers_mut();
    h.insert("X-WP-Total", HeaderValue::from(total));
    h.insert("X-WP-TotalPages", HeaderValue::from(pages));
    r
}

async fn one(
    State(store): State<Arc<DemoStore>>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(r) = fault(&store, 1).await {
        return r;
    }
    let path = uri.path().to_string();
    let own = path
        .find(API)
        .and_then(|i| path.get(i..))
        .unwrap_or(API)
        .to_string();
    let base = public_base(&headers, &uri, &own);
    let cat = store.catalogue.lock();
    let id: Option<u64> = id.parse().ok();
    for p in &cat.products {
        if Some(p.id) == id {
            return axum::Json(product_json(p, &base)).into_response();
        }
        if let Some(v) = p.variants.iter().find(|v| Some(v.id) == id) {
            if is_variable(p) {
                return axum::Json(variation_json(p, v, &base)).into_response();
            }
        }
    }
    error(
        StatusCode::NOT_FOUND,
        "woocommerce_rest_product_invalid_id",
        "Invalid product ID.",
    )
}

/// One variant called "Default Title" is a simple product; more are sizes.
fn is_variable(p: &DemoProduct) -> bool {
    !(p.variants.len() == 1
        && p.variants
            .first()
            .is_some_and(|v| v.title == "Default Title"))
}

/// A name as WordPress writes it out: texturized and escaped.
fn escaped(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\'', "&#8217;")
}

fn slug(s: &str) -> String {
    crate::engine::slug_text(s)
}

/// Prices in minor units with the currency's fields, as the Store API sends them.
fn prices(price: Decimal, regular: Decimal, range: Option<(Decimal, Decimal)>) -> Value {
    let minor = |d: Decimal| (d * Decimal::from(100)).round().to_string();
    json!({
        "price": minor(price),
        "regular_price": minor(regular),
        "sale_price": minor(price),
        "price_range": range.map(|(lo, hi)| json!({ "min_amount": minor(lo), "max_amount": minor(hi) })),
        "currency_code": "USD",
        "currency_symbol": "$",
        "currency_minor_unit": 2,
        "currency_decimal_separator": ".",
        "currency_thousand_separator": ",",
        "currency_prefix": "$",
        "currency_suffix": ""
    })
}

fn image(p: &DemoProduct, base: &str) -> Value {
    let src = format!("{base}/images/{}.svg", p.id);
    json!({ "id": p.id % 100_000, "src": src, "thumbnail": src, "srcset": "", "sizes": "", "name": format!("{}.svg", p.id), "alt": "" })
}

fn stock(available: bool) -> Value {
    if available {
        json!({ "text": "In stock", "class": "in-stock" })
    } else {
        json!({ "text": "Out of stock", "class": "out-of-stock" })
    }
}

fn product_json(p: &DemoProduct, base: &str) -> Value {
    let variable = is_variable(p);
    let cheapest = p.variants.iter().min_by_key(|v| v.price);
    let (price, regular) = cheapest
        .map(|v| (v.price, v.compare_at.unwrap_or(v.price)))
        .unwrap_or_default();
    let highest = p.variants.iter().map(|v| v.price).max().unwrap_or(price);
    let range = (variable && highest != price).then_some((price, highest));
    let in_stock = p.variants.iter().any(|v| v.available);
    let variations: Vec<Value> = if variable {
        p.variants
            .iter()
            .map(|v| json!({ "id": v.id, "attributes": [{ "name": p.option_name, "value": slug(&v.title) }] }))
            .collect()
    } else {
        vec![]
    };
    let terms: Vec<Value> = p
        .variants
        .iter()
        .enumerate()
        .map(|(i, v)| json!({ "id": 40 + i, "name": v.title, "slug": slug(&v.title) }))
        .collect();
    let named = |name: &str| json!({ "id": 17, "name": escaped(name), "slug": slug(name), "link": format!("{base}/product-category/{}/", slug(name)) });
    json!({
        "id": p.id,
        "name": escaped(&p.title),
        "slug": p.handle,
        "parent": 0,
        "type": if variable { "variable" } else { "simple" },
        "variation": "",
        "permalink": format!("{base}/products/{}", p.handle),
        "sku": p.tags.get(1).cloned().unwrap_or_default(),
        "short_description": format!("<p>{} by {}.</p>", escaped(&p.title), escaped(&p.vendor)),
        "description": "",
        "on_sale": regular > price,
        "prices": prices(price, regular, range),
        "price_html": "",
        "average_rating": "0",
        "review_count": 0,
        "images": [image(p, base)],
        "categories": [named(&p.product_type)],
        "tags": p.tags.iter().take(1).map(|t| named(t)).collect::<Vec<_>>(),
        "brands": [named(&p.vendor)],
        "attributes": if variable {
            json!([{ "id": 3, "name": p.option_name, "taxonomy": format!("pa_{}", slug(p.option_name)), "has_variations": true, "terms": terms }])
        } else {
            json!([])
        },
        "variations": variations,
        "grouped_products": [],
        "has_options": variable,
        "is_purchasable": true,
        "is_in_stock": in_stock,
        "is_on_backorder": false,
        "low_stock_remaining": null,
        "stock_availability": stock(in_stock),
        "sold_individually": false,
        "add_to_cart": {
            "text": if variable { "Select options" } else { "Add to cart" },
            "description": "",
            "url": if variable { format!("{base}/products/{}", p.handle) } else { format!("?add-to-cart={}", p.id) },
            "single_text": "Add to cart",
            "minimum": 1,
            "maximum": 9999,
            "multiple_of": 1
        },
        "extensions": {}
    })
}

fn variation_json(p: &DemoProduct, v: &DemoVariant, base: &str) -> Value {
    let regular = v.compare_at.unwrap_or(v.price);
    json!({
        "id": v.id,
        "name": escaped(&p.title),
        "slug": format!("{}-{}", p.handle, slug(&v.title)),
        "parent": p.id,
        "type": "variation",
        "variation": format!("{}: {}", p.option_name, escaped(&v.title)),
        "permalink": format!("{base}/products/{}?attribute_pa_{}={}", p.handle, slug(p.option_name), slug(&v.title)),
        "sku": v.sku,
        "short_description": "",
        "description": "",
        "on_sale": regular > v.price,
        "prices": prices(v.price, regular, None),
        "price_html": "",
        "average_rating": "0",
        "review_count": 0,
        "images": [image(p, base)],
        "categories": [],
        "tags": [],
        "brands": [],
        "attributes": [],
        "variations": [],
        "grouped_products": [],
        "has_options": false,
        "is_purchasable": true,
        "is_in_stock": v.available,
        "is_on_backorder": false,
        "low_stock_remaining": null,
        "stock_availability": stock(v.available),
        "sold_individually": false,
        "add_to_cart": { "text": "Add to cart", "description": "", "url": "", "single_text": "Add to cart", "minimum": 1, "maximum": 9999, "multiple_of": 1 },
        "extensions": {}
    })
}
