//! The demo store: a Shopify-compatible shop inside the binary.
//!
//! It serves `/products.json` with Shopify's real field names and types (and
//! the same catalogue as a WooCommerce shop's Store API, `woocommerce.rs`), its
//! own product pictures (there is no internet to fetch any), product and cart
//! pages, and a small control API for tests and demos:
//!
//! | request | effect |
//! |---|---|
//! | `POST /control/price {"variant_id", "price"}` | set a variant's price (a decimal string) |
//! | `POST /control/availability {"variant_id", "available"}` | set a variant's availability |
//! | `POST /control/remove {"product_id"}` | take a product off the catalogue |
//! | `POST /control/tick {"changes"}` | make that many random changes now |
//! | `POST /control/fault {"kind", "retry_after"?, "from_page"?}` | answer `/products.json` badly (from that page on) until switched off |
//! | `DELETE /control/fault` | switch the fault off |
//! | `GET /control/state` | product count, fault, requests served |
//!
//! Fault kinds: `429` (with `Retry-After` when `retry_after` is given), `430`,
//! `401` (password page), `500`, `hang` (never answers), `html` (a challenge
//! page with status 200), `garbage` (broken JSON), `huge` (a 5 MB body),
//! `empty` (a valid but empty catalogue, as a glitching shop answers).
//!
//! It is used three ways: mounted under `/demo` in the Dropwatch server (the
//! built-in demo source), standalone (`dropwatch demo-store`), and in-process
//! by the engine's tests and benchmark ([`DemoStore::spawn`]).

pub mod admin;
mod catalogue;
pub mod history;
pub mod offers;
pub mod oxylabs;
mod pages;
pub mod popmart;
pub mod woocommerce;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use std::time::Duration;

use axum::extract::{OriginalUri, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;

pub use catalogue::{Catalogue, DemoProduct, DemoVariant};

/// How the demo store starts.
#[derive(Clone, Debug)]
pub struct DemoConfig {
    pub products: usize,
    pub seed: u64,
    /// How often random changes happen; `None` for never (tests, benchmarks).
    pub change_every: Option<Duration>,
    /// How many variants change each time.
    pub changes_per_tick: usize,
}

impl Default for DemoConfig {
    fn default() -> Self {
        DemoConfig {
            products: 200,
            seed: 42,
            change_every: Some(Duration::from_secs(5)),
            changes_per_tick: 2,
        }
    }
}

/// A way to answer `/products.json` badly, switched on through the control API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Fault {
    #[serde(rename = "429")]
    RateLimited,
    #[serde(rename = "430")]
    SecurityRejection,
    #[serde(rename = "401")]
    Password,
    #[serde(rename = "500")]
    ServerError,
    #[serde(rename = "hang")]
    Hang,
    #[serde(rename = "html")]
    Html,
    #[serde(rename = "garbage")]
    Garbage,
    #[serde(rename = "huge")]
    Huge,
    /// A valid, empty catalogue (`{"products":[]}`): a glitching shop.
    #[serde(rename = "empty")]
    Empty,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FaultSetting {
    pub kind: Fault,
    #[serde(default)]
    pub retry_after: Option<u64>,
    /// A `Retry-After` value sent as it is written ("1e20", "-1", "NaN", an
    /// HTTP date): how hostile shops answer, for the attack tests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_raw: Option<String>,
    /// Answer pages before this one normally (a read that fails part-way).
    #[serde(default)]
    pub from_page: Option<usize>,
}

/// The demo store's state.
pub struct DemoStore {
    pub catalogue: Mutex<Catalogue>,
    fault: Mutex<Option<FaultSetting>>,
    catalogue_requests: AtomicU64,
}

impl DemoStore {
    pub fn new(cfg: &DemoConfig) -> Arc<DemoStore> {
        Arc::new(DemoStore {
            catalogue: Mutex::new(Catalogue::generate(cfg.products, cfg.seed)),
            fault: Mutex::new(None),
            catalogue_requests: AtomicU64::new(0),
        })
    }

    pub fn set_fault(&self, fault: Option<FaultSetting>) {
        *self.fault.lock() = fault;
    }

    /// How many `/products.json` requests have been answered.
    pub fn catalogue_requests(&self) -> u64 {
        self.catalogue_requests.load(Ordering::SeqCst)
    }

    /// Makes random changes every `every` until the store is dropped.
    pub fn start_changes(self: &Arc<Self>, every: Duration, per_tick: usize) {
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(every);
            ticker.tick().await;
            loop {
                ticker.tick().await;
                let Some(store) = weak.upgrade() else { return };
                store.catalogue.lock().tick(per_tick);
            }
        });
    }

    /// The store's routes, to serve alone or nest under a prefix.
    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/", get(pages::index))
            .route("/products.json", get(products_json))
            .route("/collections/all/products.json", get(products_json))
            .route("/products/{handle}", get(pages::product_page))
            .route("/cart/add", get(pages::cart_add))
            .route("/images/{file}", get(pages::image))
            .merge(woocommerce::routes())
            .route("/control/state", get(control_state))
            .route("/control/price", post(control_price))
            .route("/control/availability", post(control_availability))
            .route("/control/remove", post(control_remove))
            .route("/control/tick", post(control_tick))
            .route(
                "/control/fault",
                post(control_fault).delete(control_fault_off),
            )
            .with_state(self.clone())
    }

    /// Serves the store on `addr` (port 0 picks a free one) in the background.
    /// Returns its address, e.g. for `http://{addr}` as a source URL.
    pub async fn spawn(self: &Arc<Self>, addr: SocketAddr) -> std::io::Result<SocketAddr> {
        let listener = TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        let app = self.router();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(local)
    }
}

/// The address the store is reached at, from the request: images and product
/// links in the catalogue point there (prefix included when nested).
fn public_base(headers: &HeaderMap, uri: &axum::http::Uri, own_path: &str) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    let prefix = uri.path().strip_suffix(own_path).unwrap_or("");
    format!("http://{host}{prefix}")
}

#[derive(Deserialize)]
struct PageQuery {
    page: Option<usize>,
    limit: Option<usize>,
}

async fn products_json(
    State(store): State<Arc<DemoStore>>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Response {
    store.catalogue_requests.fetch_add(1, Ordering::SeqCst);
    // Shopify's defaults: 30 per page, at most 250.
    let limit = q.limit.unwrap_or(30).clamp(1, 250);
    let page = q.page.unwrap_or(1).max(1);
    let fault = store.fault.lock().clone();
    if let Some(f) = fault.filter(|f| page >= f.from_page.unwrap_or(1)) {
        return fault_response(f).await;
    }
    let own_path = if uri.path().ends_with("/collections/all/products.json") {
        "/collections/all/products.json"
    } else {
        "/products.json"
    };
    let base = public_base(&headers, &uri, own_path);
    let body = store.catalogue.lock().page(page, limit, &base);
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// Never answers (for an hour): the caller's time-out must act.
pub(crate) async fn hang() -> Response {
    tokio::time::sleep(Duration::from_secs(3600)).await;
    StatusCode::GATEWAY_TIMEOUT.into_response()
}

/// A 200 answer that says it is JSON (whether it is or not).
pub(crate) fn json_text(body: impl Into<String>) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body.into()).into_response()
}

/// A 200 HTML page where JSON was expected (a challenge or proxy error).
pub(crate) fn html_page(body: &'static str) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

/// `prefix` and then an unterminated 5 MB string: too large for the
/// default cap, and still not valid JSON if the cap is raised.
pub(crate) fn huge_json(prefix: &str) -> Response {
    let mut body = String::with_capacity(5 * 1024 * 1024 + prefix.len());
    body.push_str(prefix);
    body.extend(std::iter::repeat_n('x', 5 * 1024 * 1024));
    json_text(body)
}

pub(crate) async fn fault_response(f: FaultSetting) -> Response {
    match f.kind {
        Fault::RateLimited => {
            let mut r = (StatusCode::TOO_MANY_REQUESTS, "Too Many Requests").into_response();
            let value = f.retry_after_raw.clone().or(f.retry_after.map(|s| s.to_string()));
            if let Some(v) = value.and_then(|v| header::HeaderValue::from_str(&v).ok()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            r
        }
        Fault::SecurityRejection => (
            StatusCode::from_u16(430).unwrap(),
            "Your request was rejected for security reasons",
        )
            .into_response(),
        Fault::Password => (
            StatusCode::UNAUTHORIZED,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            "<html><body><form action=\"/password\"><input type=\"password\" name=\"password\"></form>Opening soon</body></html>",
        )
            .into_response(),
        Fault::ServerError => {
            (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error").into_response()
        }
        Fault::Hang => hang().await,
        Fault::Html => html_page(
            "<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>Checking your browser before accessing the store.</body></html>",
        ),
        Fault::Garbage => json_text("{\"products\":[{\"id\":1,\"title\":\"Dunk\",\"variants\":[{\"id\":"),
        Fault::Huge => huge_json("{\"products\":[{\"id\":1,\"title\":\""),
        Fault::Empty => json_text("{\"products\":[]}"),
    }
}

#[derive(Serialize)]
struct StateView {
    products: usize,
    variants: usize,
    fault: Option<FaultSetting>,
    catalogue_requests: u64,
    /// The first few variant ids, handy for tests driving the control API.
    sample_variants: Vec<SampleVariant>,
}

#[derive(Serialize)]
struct SampleVariant {
    product_id: u64,
    variant_id: u64,
    title: String,
    size: String,
    price: Decimal,
    available: bool,
}

async fn control_state(State(store): State<Arc<DemoStore>>) -> Json<StateView> {
    let cat = store.catalogue.lock();
    Json(StateView {
        products: cat.products.len(),
        variants: cat.products.iter().map(|p| p.variants.len()).sum(),
        fault: store.fault.lock().clone(),
        catalogue_requests: store.catalogue_requests(),
        sample_variants: cat
            .products
            .iter()
            .take(10)
            .flat_map(|p| {
                p.variants.iter().map(|v| SampleVariant {
                    product_id: p.id,
                    variant_id: v.id,
                    title: p.title.clone(),
                    size: v.title.clone(),
                    price: v.price,
                    available: v.available,
                })
            })
            .collect(),
    })
}

fn not_found(what: &str) -> Response {
    (StatusCode::NOT_FOUND, format!("no {what} with that id")).into_response()
}

#[derive(Deserialize)]
struct SetPrice {
    variant_id: u64,
    price: Decimal,
}

async fn control_price(State(store): State<Arc<DemoStore>>, Json(b): Json<SetPrice>) -> Response {
    if b.price < Decimal::ZERO {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            "price must not be negative",
        )
            .into_response();
    }
    if store.catalogue.lock().set_price(b.variant_id, b.price) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        not_found("variant")
    }
}

#[derive(Deserialize)]
struct SetAvailability {
    variant_id: u64,
    available: bool,
}

async fn control_availability(
    State(store): State<Arc<DemoStore>>,
    Json(b): Json<SetAvailability>,
) -> Response {
    if store
        .catalogue
        .lock()
        .set_available(b.variant_id, b.available)
    {
        StatusCode::NO_CONTENT.into_response()
    } else {
        not_found("variant")
    }
}

#[derive(Deserialize)]
struct Remove {
    product_id: u64,
}

async fn control_remove(State(store): State<Arc<DemoStore>>, Json(b): Json<Remove>) -> Response {
    if store.catalogue.lock().remove_product(b.product_id) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        not_found("product")
    }
}

#[derive(Deserialize)]
struct Tick {
    changes: Option<usize>,
}

async fn control_tick(
    State(store): State<Arc<DemoStore>>,
    Json(b): Json<Tick>,
) -> Json<Vec<String>> {
    Json(
        store
            .catalogue
            .lock()
            .tick(b.changes.unwrap_or(1).min(10_000)),
    )
}

async fn control_fault(
    State(store): State<Arc<DemoStore>>,
    Json(f): Json<FaultSetting>,
) -> StatusCode {
    store.set_fault(Some(f));
    StatusCode::NO_CONTENT
}

async fn control_fault_off(State(store): State<Arc<DemoStore>>) -> StatusCode {
    store.set_fault(None);
    StatusCode::NO_CONTENT
}
