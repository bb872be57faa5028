//! A fake of the Shopify Admin GraphQL API: "the user's own store", for the
//! repricing push in tests, the end-to-end tests and the demo. It answers
//! like the real one (docs/external-apis.md): the
//! `X-Shopify-Access-Token` check, `extensions.cost` with a leaky bucket
//! (the Standard plan: 1000 points, 100 restored per second), `THROTTLED`
//! alternately with HTTP 200 and 429, `userErrors` for a negative price or an
//! unknown product or variant, and a GraphQL error for a malformed request.
//!
//! | request | |
//! |---|---|
//! | `POST /admin/api/{version}/graphql.json` | `shop { name currencyCode }`, `productVariants(query: "sku:.." or words)`, `productVariant(id:)`, `productVariantsBulkUpdate` |
//! | `GET /admin-control/state` | the variants, the currency, requests served, throttled answers |
//! | `POST /admin-control/currency {"currency_code"}` | the currency the shop sells in (USD at first) |
//! | `POST /admin-control/bucket {"maximum","available","restore_rate"}` | reset the cost bucket |
//! | `POST /admin-control/fail {"status"}` | answer the next request with that HTTP status |

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::Mutex;
use std::time::Instant;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use rust_decimal::Decimal;
use serde_json::{json, Value};

pub const SHOP_NAME: &str = "Dropwatch Demo Shop";
/// The currency the fake shop sells in until told otherwise.
pub const DEFAULT_CURRENCY: &str = "USD";
/// The demo shop's Admin API token. It guards nothing real (the demo shop
/// is a fake kept in memory); the Repricing page's "Connect the demo shop"
/// uses it so that the browser never needs it.
pub const DEMO_TOKEN: &str = "shpat_dropwatch_demo_shop";

#[derive(Clone, Debug, serde::Serialize)]
pub struct FakeVariant {
    pub id: String,
    pub product_id: String,
    pub title: String,
    pub sku: String,
    pub price: Decimal,
}

#[derive(Debug, serde::Serialize)]
struct Bucket {
    maximum: f64,
    available: f64,
    restore_rate: f64,
    #[serde(skip)]
    at: Option<Instant>,
}

#[derive(Debug, Default, serde::Serialize)]
pub struct AdminState {
    pub variants: BTreeMap<String, FakeVariant>,
    /// `shop { currencyCode }`: ISO 4217, upper case, as Shopify's enum.
    pub currency: String,
    pub requests: u64,
    pub throttled: u64,
    pub updates: u64,
    #[serde(skip)]
    fail_next: Option<u16>,
    bucket: Option<Bucket>,
}

pub struct FakeAdmin {
    token: String,
    pub state: Mutex<AdminState>,
}

impl FakeAdmin {
    /// A shop whose variants mirror the demo catalogue's first `products`
    /// products: SKU `DW-<demo variant id>`, price 30 % above the demo's.
    pub fn new(token: &str, catalogue: &super::Catalogue, products: usize) -> Arc<FakeAdmin> {
        let mut variants = BTreeMap::new();
        for p in catalogue.products.iter().take(products) {
            for v in &p.variants {
                let id = format!("gid://shopify/ProductVariant/{}", 9_000_000 + v.id);
                variants.insert(
                    id.clone(),
                    FakeVariant {
                        id,
                        product_id: format!("gid://shopify/Product/{}", 9_000_000 + p.id),
                        title: format!("{} / {}", p.title, v.title),
                        sku: format!("DW-{}", v.id),
                        price: (v.price * Decimal::new(13, 1)).round_dp(2),
                    },
                );
            }
        }
        Arc::new(FakeAdmin {
            token: token.to_string(),
            state: Mutex::new(AdminState {
                variants,
                currency: DEFAULT_CURRENCY.to_string(),
                bucket: Some(Bucket {
                    maximum: 1000.0,
                    available: 1000.0,
                    restore_rate: 100.0,
                    at: None,
                }),
                ..AdminState::default()
            }),
        })
    }

    /// The shop sells in `code` from now on (prices are not converted, as
    /// when a merchant changes the store's currency).
    pub fn set_currency(&self, code: &str) {
        self.state.lock().currency = code.trim().to_ascii_uppercase();
    }

    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/admin/api/{version}/graphql.json", post(graphql))
            .route("/admin-control/state", get(control_state))
            .route("/admin-control/currency", post(control_currency))
            .route("/admin-control/bucket", post(control_bucket))
            .route("/admin-control/fail", post(control_fail))
            .with_state(self.clone())
    }
}

fn cost_block(requested: f64, actual: Option<f64>, b: &Bucket) -> Value {
    json!({ "cost": {
        "requestedQueryCost": requested,
        "actualQueryCost": actual,
        "throttleStatus": {
            "maximumAvailable": b.maximum,
            "currentlyAvailable": b.available.floor(),
            "restoreRate": b.restore_rate,
        }
    }})
}

async fn graphql(
    State(admin): State<Arc<FakeAdmin>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let mut st = admin.state.lock();
    st.requests += 1;
    if let Some(status) = st.fail_next.take() {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return (status, "<html><body>Something went wrong</body></html>").into_response();
    }
    if headers
        .get("x-shopify-access-token")
        .and_then(|v| v.to_str().ok())
        != Some(admin.token.as_str())
    {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)" })),
        )
            .into_response();
    }
    let Ok(req) = serde_json::from_str::<Value>(&body) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "errors": { "query": "Required parameter missing or invalid" } })),
        )
            .into_response();
    };
    let query = req["query"].as_str().unwrap_or_default();
    let vars = &req["variables"];
    let cost = if query.contains("productVariantsBulkUpdate") {
        10.0
    } else if query.contains("productVariants(") {
        12.0
    } else if query.contains("productVariant(") {
        2.0
    } else {
        1.0
    };
    // The leaky bucket.
    let now = Instant::now();
    let throttled = {
        let b = st.bucket.as_mut().expect("a bucket");
        if let Some(at) = b.at {
            b.available = (b.available + now.duration_since(at).as_secs_f64() * b.restore_rate)
                .min(b.maximum);
        }
        b.at = Some(now);
        if b.available < cost {
            true
        } else {
            b.available -= cost;
            false
        }
    };
    if throttled {
        st.throttled += 1;
        let b = st.bucket.as_ref().unwrap();
        let body = json!({
            "errors": [{ "message": "Throttled", "extensions": { "code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits" } }],
            "extensions": cost_block(cost, None, b),
        });
        // Both ways, as Shopify does.
        let status = if st.throttled % 2 == 0 {
            StatusCode::TOO_MANY_REQUESTS
        } else {
            StatusCode::OK
        };
        return (status, Json(body)).into_response();
    }
    let data = if query.contains("productVariantsBulkUpdate") {
        match bulk_update(&mut st, vars) {
            Ok(d) => d,
            Err(e) => {
                return (
                    StatusCode::OK,
                    Json(json!({ "errors": [{ "message": e }] })),
                )
                    .into_response()
            }
        }
    } else if query.contains("productVariants(") {
        let q = vars["q"].as_str().unwrap_or_default().trim().to_lowercase();
        let matches = |v: &FakeVariant| match q.strip_prefix("sku:") {
            Some(sku) => v.sku.to_lowercase() == sku.trim(),
            None => {
                let hay = format!("{} {}", v.title, v.sku).to_lowercase();
                q.split_whitespace().all(|w| hay.contains(w))
            }
        };
        let edges: Vec<Value> = st
            .variants
            .values()
            .filter(|v| matches(v))
            .take(10)
            .map(|v| json!({ "node": variant_node(v) }))
            .collect();
        json!({ "productVariants": { "edges": edges } })
    } else if query.contains("productVariant(") {
        let id = vars["id"].as_str().unwrap_or_default();
        json!({ "productVariant": st.variants.get(id).map(variant_node) })
    } else if query.contains("shop") {
        // Only the fields asked for, as GraphQL answers.
        let mut shop = serde_json::Map::new();
        if query.contains("name") {
            shop.insert("name".into(), json!(SHOP_NAME));
        }
        if query.contains("currencyCode") {
            shop.insert("currencyCode".into(), json!(st.currency));
        }
        json!({ "shop": shop })
    } else {
        return (
            StatusCode::OK,
            Json(json!({ "errors": [{ "message": "Field doesn't exist on type 'QueryRoot'" }] })),
        )
            .into_response();
    };
    let b = st.bucket.as_ref().unwrap();
    (
        StatusCode::OK,
        Json(json!({ "data": data, "extensions": cost_block(cost, Some(cost), b) })),
    )
        .into_response()
}

fn variant_node(v: &FakeVariant) -> Value {
    json!({ "id": v.id, "title": v.title, "sku": v.sku, "price": v.price.to_string(), "compareAtPrice": null,
        "inventoryItem": { "id": v.id.replace("ProductVariant", "InventoryItem") }, "product": { "id": v.product_id } })
}

/// `productVariantsBulkUpdate`, checked as Shopify checks it.
fn bulk_update(st: &mut AdminState, vars: &Value) -> Result<Value, String> {
    let product = vars["productId"]
        .as_str()
        .ok_or("Variable $productId of type ID! was provided invalid value")?;
    let inputs = vars["variants"].as_array().ok_or(
        "Variable $variants of type [ProductVariantsBulkInput!]! was provided invalid value",
    )?;
    let mut user_errors = vec![];
    if !st.variants.values().any(|v| v.product_id == product) {
        user_errors.push(json!({ "field": ["productId"], "message": "Product does not exist", "code": "PRODUCT_DOES_NOT_EXIST" }));
    }
    let mut changes = vec![];
    for (i, input) in inputs.iter().enumerate() {
        let (Some(id), Some(price)) = (input["id"].as_str(), input["price"].as_str()) else {
            return Err(format!("Variable $variants of type [ProductVariantsBulkInput!]! was provided invalid value for {i}"));
        };
        let Ok(price) = price.parse::<Decimal>() else {
            return Err(format!("Variable $variants of type [ProductVariantsBulkInput!]! was provided invalid value for {i}.price (invalid Money)"));
        };
        match st.variants.get(id) {
            Some(v) if v.product_id == product => {}
            _ => {
                user_errors.push(json!({ "field": ["variants", i.to_string(), "id"], "message": "Product variant does not exist", "code": "PRODUCT_VARIANT_DOES_NOT_EXIST" }));
                continue;
            }
        }
        if price.is_sign_negative() {
            user_errors.push(json!({ "field": ["variants", i.to_string(), "price"], "message": "Price must be greater than or equal to 0", "code": "NEGATIVE_PRICE_VALUE" }));
            continue;
        }
        changes.push((id.to_string(), price));
    }
    if !user_errors.is_empty() {
        // Nothing is applied when any input is wrong.
        return Ok(
            json!({ "productVariantsBulkUpdate": { "product": null, "productVariants": null, "userErrors": user_errors } }),
        );
    }
    let mut out = vec![];
    for (id, price) in changes {
        let v = st.variants.get_mut(&id).expect("checked above");
        v.price = price;
        out.push(json!({ "id": v.id, "title": v.title, "sku": v.sku, "price": v.price.to_string(), "compareAtPrice": null }));
    }
    st.updates += 1;
    Ok(
        json!({ "productVariantsBulkUpdate": { "product": { "id": product }, "productVariants": out, "userErrors": [] } }),
    )
}

async fn control_state(State(admin): State<Arc<FakeAdmin>>) -> Json<Value> {
    Json(serde_json::to_value(&*admin.state.lock()).unwrap_or_default())
}

async fn control_bucket(State(admin): State<Arc<FakeAdmin>>, Json(b): Json<Value>) -> StatusCode {
    let mut st = admin.state.lock();
    st.bucket = Some(Bucket {
        maximum: b["maximum"].as_f64().unwrap_or(1000.0),
        available: b["available"].as_f64().unwrap_or(1000.0),
        restore_rate: b["restore_rate"].as_f64().unwrap_or(100.0),
        at: None,
    });
    StatusCode::NO_CONTENT
}

async fn control_currency(State(admin): State<Arc<FakeAdmin>>, Json(b): Json<Value>) -> StatusCode {
    match b["currency_code"].as_str().map(str::trim) {
        Some(c) if c.len() == 3 && c.chars().all(|x| x.is_ascii_alphabetic()) => {
            admin.set_currency(c);
            StatusCode::NO_CONTENT
        }
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

async fn control_fail(State(admin): State<Arc<FakeAdmin>>, Json(b): Json<Value>) -> StatusCode {
    admin.state.lock().fail_next = b["status"].as_u64().map(|s| s as u16);
    StatusCode::NO_CONTENT
}
