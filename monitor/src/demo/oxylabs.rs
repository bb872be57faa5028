//! A fake of the Oxylabs Web Scraper API for `amazon_product` queries
//! (docs/external-apis.md), for the engine's tests, the end-to-end
//! tests and the demo. Its Amazon mirrors the demo catalogue: product `id`
//! is ASIN `B0DW` + the id's last six digits, at the lowest price of its
//! sizes in stock; "In Stock", "Only N left in stock - order soon." when
//! three or fewer sizes are left, and, when none is, Amazon's "no offer"
//! quirk (`price` 0, `price_buybox` -1, "Currently unavailable."). A demo
//! price change shows on Amazon too. Tests may also make an ASIN answer a
//! captured result (`POST /control/answer`); an unknown ASIN answers like
//! Oxylabs does: `status_code` 404, `parse_status_code` 12003.
//!
//! | request | |
//! |---|---|
//! | `POST /v1/queries` | realtime: one query, answered at once |
//! | `POST /v1/queries/batch` | push-pull: `query` is a list; one job per ASIN |
//! | `GET /v1/queries/{id}` | a job's `status`: `pending`, then `done` |
//! | `GET /v1/queries/{id}/results` | 204 while pending, then `{"results": [..]}` |
//! | `POST /control/answer {"asin", "result"}` | answer this ASIN with a captured result |
//! | `POST /control/fault {"status", "retry_after"?, "body"?}` | answer everything with this status (or `hang`, `garbage`, `html`, `huge`) |
//! | `DELETE /control/fault` | back to normal |
//! | `POST /control/job-delay {"ms"}` | how long batch jobs stay pending |
//! | `GET /control/state` | requests served, by kind |

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{OriginalUri, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{DemoProduct, DemoStore};

/// The demo's Oxylabs account. It opens nothing real (the fake lives in
/// memory); "Use the demo Oxylabs" on the Sources page sets it so that the
/// browser never needs it.
pub const DEMO_USER: &str = "dropwatch-demo";
pub const DEMO_PASSWORD: &str = "demo-oxylabs-password";

/// The fake's ASIN for a demo product.
pub fn asin_of(product_id: u64) -> String {
    format!("B0DW{:06}", product_id % 1_000_000)
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct OxyFault {
    /// An HTTP status, or "hang", "garbage", "html", "huge".
    pub status: String,
    #[serde(default)]
    pub retry_after: Option<u64>,
    #[serde(default)]
    pub body: Option<String>,
}

#[derive(Default, Serialize)]
pub struct OxyCounts {
    pub realtime: u64,
    pub batches: u64,
    pub status_polls: u64,
    pub result_fetches: u64,
    pub refused: u64,
}

struct Job {
    asin: String,
    domain: String,
    ready_at: Instant,
}

pub struct FakeOxylabs {
    user: String,
    password: String,
    demo: Arc<DemoStore>,
    answers: Mutex<HashMap<String, Value>>,
    jobs: Mutex<HashMap<String, Job>>,
    fault: Mutex<Option<OxyFault>>,
    job_delay: Mutex<Duration>,
    next_job: AtomicU64,
    pub counts: Mutex<OxyCounts>,
}

impl FakeOxylabs {
    pub fn new(demo: Arc<DemoStore>, user: &str, password: &str) -> Arc<FakeOxylabs> {
        Arc::new(FakeOxylabs {
            user: user.into(),
            password: password.into(),
            demo,
            answers: Mutex::default(),
            jobs: Mutex::default(),
            fault: Mutex::default(),
            job_delay: Mutex::new(Duration::from_millis(200)),
            next_job: AtomicU64::new(7_340_820_181_859_465_217),
            counts: Mutex::default(),
        })
    }

    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/v1/queries", post(realtime))
            .route("/v1/queries/batch", post(batch))
            .route("/v1/queries/{id}", get(job_status))
            .route("/v1/queries/{id}/results", get(job_results))
            .route("/control/answer", post(control_answer))
            .route(
                "/control/fault",
                post(control_fault).delete(control_fault_off),
            )
            .route("/control/job-delay", post(control_job_delay))
            .route("/control/state", get(control_state))
            .with_state(self.clone())
    }

    /// The ASINs of the first `n` demo products.
    pub fn asins(&self, n: usize) -> Vec<String> {
        self.demo
            .catalogue
            .lock()
            .products
            .iter()
            .take(n)
            .map(|p| asin_of(p.id))
            .collect()
    }

    /// The result Oxylabs would give for this ASIN now.
    fn result(&self, asin: &str, domain: &str, images: &str) -> Value {
        if let Some(r) = self.answers.lock().get(asin) {
            return r.clone();
        }
        let cat = self.demo.catalogue.lock();
        let url = format!("https://www.amazon.{domain}/dp/{asin}?language=en_US");
        let now = chrono::Utc::now().format("%Y-%m-%d %H:%M:%S").to_string();
        let job = self.next_job.fetch_add(1, Ordering::SeqCst).to_string();
        let Some(p) = cat.products.iter().find(|p| asin_of(p.id) == asin) else {
            return json!({ "content": { "parse_status_code": 12003 }, "created_at": now, "updated_at": now,
                "page": 1, "url": url, "job_id": job, "status_code": 404, "type": "parsed", "parser_type": "" });
        };
        json!({ "content": content(p, asin, &url, images), "created_at": now, "updated_at": now, "page": 1,
            "url": url, "job_id": job, "is_render_forced": false, "status_code": 200, "parser_type": "" })
    }

    fn authorised(&self, headers: &HeaderMap) -> bool {
        let expected = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", self.user, self.password));
        let ok = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v == format!("Basic {expected}"));
        if !ok {
            self.counts.lock().refused += 1;
        }
        ok
    }

    /// The fault's answer, if one is switched on.
    async fn faulted(&self) -> Option<Response> {
        let f = self.fault.lock().clone()?;
        Some(match f.status.as_str() {
            "hang" => super::hang().await,
            "garbage" => super::json_text("{\"results\":[{\"content\":{\"asin\":"),
            "html" => super::html_page("<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"),
            "huge" => super::huge_json("{\"results\":[{\"content\":{\"title\":\""),
            code => {
                let status = code.parse::<u16>().ok().and_then(|c| StatusCode::from_u16(c).ok()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                let message = f.body.clone().unwrap_or_else(|| match status.as_u16() {
                    401 => "Unauthorized".into(),
                    422 => "Unsupported source".into(),
                    429 => "Too many requests".into(),
                    524 => "Timeout".into(),
                    612 => "Internal failure".into(),
                    _ => "Error".into(),
                });
                let mut r = (status, Json(json!({ "message": message }))).into_response();
                if let Some(s) = f.retry_after {
                    r.headers_mut().insert(header::RETRY_AFTER, s.to_string().parse().unwrap());
                }
                r
            }
        })
    }
}

fn stock_and_price(p: &DemoProduct) -> (String, Decimal) {
    let in_stock: Vec<&super::DemoVariant> = p.variants.iter().filter(|v| v.available).collect();
    match in_stock.iter().map(|v| v.price).min() {
        None => ("Currently unavailable.".into(), Decimal::ZERO),
        Some(price) if in_stock.len() <= 3 && p.variants.len() > 3 => (
            format!("Only {} left in stock - order soon.", in_stock.len()),
            price,
        ),
        Some(price) => ("In Stock".into(), price),
    }
}

fn content(p: &DemoProduct, asin: &str, url: &str, images: &str) -> Value {
    let (stock, price) = stock_and_price(p);
    let number =
        |d: Decimal| serde_json::from_str::<Value>(&d.round_dp(2).to_string()).unwrap_or(json!(0));
    let buybox = if price.is_zero() {
        json!(-1)
    } else {
        number(price)
    };
    let list = p
        .variants
        .iter()
        .filter_map(|v| v.compare_at)
        .max()
        .filter(|c| *c > price && !price.is_zero());
    let delivery = (chrono::Utc::now() + chrono::Duration::days(3))
        .format("%A, %B %-d")
        .to_string();
    json!({
        "url": url,
        "asin": asin,
        "asin_in_url": asin,
        "page": 1,
        "page_type": "Product",
        "title": format!("{} {}", p.vendor, p.title),
        "product_name": format!("{} {}", p.vendor, p.title),
        "brand": p.vendor,
        "manufacturer": p.vendor,
        "price": number(price),
        "price_upper": number(price),
        "price_buybox": buybox,
        "price_initial": 0,
        "price_shipping": 0,
        "price_strikethrough": list.map(number),
        "currency": "USD",
        "stock": stock,
        "delivery": if price.is_zero() { json!([]) } else { json!([{ "date": { "by": delivery }, "type": "FREE delivery" }]) },
        "images": [format!("{images}/images/{}.svg", p.id)],
        "rating": 4.0 + (p.id % 10) as f64 / 10.0,
        "reviews_count": 100 + p.id % 5000,
        "category": [{ "ladder": [{ "url": "/b/ref=dp_bc_1", "name": "Clothing, Shoes & Jewelry" }, { "url": "/b/ref=dp_bc_2", "name": p.product_type }] }],
        "parse_status_code": 12000,
    })
}

/// Where the demo store's pictures are, from the request (prefix included).
fn images_base(headers: &HeaderMap, uri: &axum::http::Uri) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    let path = uri.path();
    let prefix = path.find("/oxylabs/").map(|i| &path[..i]).unwrap_or("");
    format!("http://{host}{prefix}")
}

fn unauthorised() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({ "message": "Unauthorized" })),
    )
        .into_response()
}

/// The payload checks Oxylabs makes: 422 with its message.
fn check_payload(b: &Value, batch: bool) -> Result<(Vec<String>, String), Response> {
    let bad = |m: &str| {
        Err((
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({ "message": m })),
        )
            .into_response())
    };
    if b.get("source").and_then(Value::as_str) != Some("amazon_product") {
        return bad("Unsupported source");
    }
    let domain = b
        .get("domain")
        .and_then(Value::as_str)
        .unwrap_or("com")
        .to_string();
    let queries: Vec<String> = match (batch, b.get("query")) {
        (false, Some(Value::String(q))) => vec![q.clone()],
        (true, Some(Value::Array(qs))) if qs.len() <= 5000 => qs
            .iter()
            .filter_map(|q| q.as_str().map(str::to_string))
            .collect(),
        (true, Some(Value::Array(_))) => {
            return bad("Too many queries in one batch (at most 5000)")
        }
        _ => return bad("query is required"),
    };
    if queries.is_empty() || queries.iter().any(|q| q.trim().is_empty()) {
        return bad("query is required");
    }
    Ok((queries, domain))
}

async fn realtime(
    State(f): State<Arc<FakeOxylabs>>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: String,
) -> Response {
    if let Some(r) = f.faulted().await {
        return r;
    }
    if !f.authorised(&headers) {
        return unauthorised();
    }
    f.counts.lock().realtime += 1;
    let Ok(b) = serde_json::from_str::<Value>(&body) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "message": "Invalid JSON" })),
        )
            .into_response();
    };
    let (queries, domain) = match check_payload(&b, false) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let result = f.result(&queries[0], &domain, &images_base(&headers, &uri));
    Json(json!({ "results": [result], "job": { "id": result["job_id"], "domain": domain, "source": "amazon_product", "parse": true, "status": "done" } }))
        .into_response()
}

async fn batch(State(f): State<Arc<FakeOxylabs>>, headers: HeaderMap, body: String) -> Response {
    if let Some(r) = f.faulted().await {
        return r;
    }
    if !f.authorised(&headers) {
        return unauthorised();
    }
    f.counts.lock().batches += 1;
    let Ok(b) = serde_json::from_str::<Value>(&body) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "message": "Invalid JSON" })),
        )
            .into_response();
    };
    let (queries, domain) = match check_payload(&b, true) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let ready_at = Instant::now() + *f.job_delay.lock();
    let mut jobs = f.jobs.lock();
    let listed: Vec<Value> = queries
        .into_iter()
        .map(|q| {
            let id = f.next_job.fetch_add(1, Ordering::SeqCst).to_string();
            jobs.insert(id.clone(), Job { asin: q.clone(), domain: domain.clone(), ready_at });
            json!({ "id": id, "query": q, "source": "amazon_product", "domain": domain, "parse": true,
                "status": "pending", "callback_url": null,
                "_links": [{ "rel": "self", "href": format!("/v1/queries/{id}"), "method": "GET" },
                           { "rel": "results", "href": format!("/v1/queries/{id}/results"), "method": "GET" }] })
        })
        .collect();
    Json(json!({ "queries": listed })).into_response()
}

async fn job_status(
    State(f): State<Arc<FakeOxylabs>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(r) = f.faulted().await {
        return r;
    }
    if !f.authorised(&headers) {
        return unauthorised();
    }
    f.counts.lock().status_polls += 1;
    let jobs = f.jobs.lock();
    let Some(job) = jobs.get(&id) else {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({ "message": "Job not found" })),
        )
            .into_response();
    };
    let status = if Instant::now() >= job.ready_at {
        "done"
    } else {
        "pending"
    };
    Json(json!({ "id": id, "query": job.asin, "source": "amazon_product", "domain": job.domain, "status": status })).into_response()
}

async fn job_results(
    State(f): State<Arc<FakeOxylabs>>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(r) = f.faulted().await {
        return r;
    }
    if !f.authorised(&headers) {
        return unauthorised();
    }
    f.counts.lock().result_fetches += 1;
    let (asin, domain, ready) = {
        let jobs = f.jobs.lock();
        let Some(job) = jobs.get(&id) else {
            return (
                StatusCode::NOT_FOUND,
                Json(json!({ "message": "Job not found" })),
            )
                .into_response();
        };
        (
            job.asin.clone(),
            job.domain.clone(),
            Instant::now() >= job.ready_at,
        )
    };
    if !ready {
        return StatusCode::NO_CONTENT.into_response();
    }
    let result = f.result(&asin, &domain, &images_base(&headers, &uri));
    Json(json!({ "results": [result] })).into_response()
}

#[derive(Deserialize)]
struct Answer {
    asin: String,
    result: Value,
}

async fn control_answer(State(f): State<Arc<FakeOxylabs>>, Json(a): Json<Answer>) -> StatusCode {
    f.answers.lock().insert(a.asin.to_uppercase(), a.result);
    StatusCode::NO_CONTENT
}

async fn control_fault(
    State(f): State<Arc<FakeOxylabs>>,
    Json(fault): Json<OxyFault>,
) -> StatusCode {
    *f.fault.lock() = Some(fault);
    StatusCode::NO_CONTENT
}

async fn control_fault_off(State(f): State<Arc<FakeOxylabs>>) -> StatusCode {
    *f.fault.lock() = None;
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct Delay {
    ms: u64,
}

async fn control_job_delay(State(f): State<Arc<FakeOxylabs>>, Json(d): Json<Delay>) -> StatusCode {
    *f.job_delay.lock() = Duration::from_millis(d.ms);
    StatusCode::NO_CONTENT
}

async fn control_state(State(f): State<Arc<FakeOxylabs>>) -> Json<Value> {
    let counts = serde_json::to_value(&*f.counts.lock()).unwrap_or_default();
    let asins = f.asins(10);
    Json(json!({ "counts": counts, "sample_asins": asins, "fault": *f.fault.lock() }))
}
