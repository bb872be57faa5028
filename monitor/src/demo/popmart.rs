//! A fake of Pop Mart's shop API (docs/external-apis.md), for the
//! engine's tests, the end-to-end tests and the demo: a small shop of blind
//! boxes and plush in series, answering `productDetails`, `productList`
//! (`categoryId`, `seriesId`, `sort=new`, paged) and `search` in Pop Mart's
//! envelope (`{"code":"OK","message":"success","data":..}`, lists in
//! pages of at most 4 with their `total`), per-SKU
//! `stock.onlineStock`. It checks what the real one checks: the `clientkey`
//! header (403 when wrong) and the signature (`s` and `x-sign`, the MD5 of
//! the sorted parameters as compact JSON + salt + `t`; a wrong or stale one
//! answers code 40003 "sign verification failed").
//!
//! | request | |
//! |---|---|
//! | `POST /control/stock {"sku", "stock"}` | set a SKU's online stock |
//! | `POST /control/price {"sku", "price"}` | set a SKU's price |
//! | `POST /control/fault {"status", "retry_after"?}` | `471` (the WAF), `429`, `500`, `hang`, `garbage`, `html`, `huge` |
//! | `DELETE /control/fault` | back to normal |
//! | `GET /control/state` | requests served, most in flight at once, the shortest gap between two requests |

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use parking_lot::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{json, Value};

/// The demo's client key and signing salt (they open nothing real).
pub const DEMO_CLIENT_KEY: &str = "dropwatch-demo-clientkey";
pub const DEMO_SALT: &str = "dropwatch-demo-salt";

#[derive(Clone, Debug)]
pub struct Sku {
    pub id: u64,
    pub title: String,
    pub price: Decimal,
    pub stock: i64,
}

#[derive(Clone, Debug)]
pub struct Spu {
    pub id: u64,
    pub title: String,
    pub series_id: u64,
    pub series: String,
    pub category_id: u64,
    pub skus: Vec<Sku>,
}

#[derive(Default)]
struct Traffic {
    requests: u64,
    in_flight: usize,
    max_in_flight: usize,
    last_start: Option<Instant>,
    min_gap: Option<Duration>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct PmFault {
    pub status: String,
    #[serde(default)]
    pub retry_after: Option<u64>,
}

pub struct FakePopmart {
    client_key: String,
    salt: String,
    pub spus: Mutex<Vec<Spu>>,
    fault: Mutex<Option<PmFault>>,
    traffic: Mutex<Traffic>,
    /// How long each answer takes (requests overlap when sent together).
    latency: Duration,
}

/// (series, series id, category id, figures)
const SERIES: &[(&str, u64, u64, &[&str])] = &[
    (
        "THE MONSTERS Big into Energy",
        201,
        1,
        &[
            "LABUBU Big into Energy Vinyl Plush Pendant",
            "LABUBU Have a Seat Vinyl Plush",
            "ZIMOMO Angel in Clouds Plush",
        ],
    ),
    (
        "SKULLPANDA The Sound",
        202,
        2,
        &[
            "SKULLPANDA The Sound Series Figures",
            "SKULLPANDA Image of Reality Figures",
        ],
    ),
    (
        "CRYBABY Crying Again",
        203,
        2,
        &[
            "CRYBABY Crying Again Series Figures",
            "CRYBABY Sad Club Plush Pendant",
        ],
    ),
    (
        "HIRONO Echo",
        204,
        2,
        &[
            "HIRONO Echo Series Figures",
            "HIRONO Reshape Series Figures",
        ],
    ),
    (
        "DIMOO Animal Kingdom",
        205,
        1,
        &["DIMOO Animal Kingdom Plush", "DIMOO Dating Series Figures"],
    ),
];

impl FakePopmart {
    pub fn new(client_key: &str, salt: &str) -> Arc<FakePopmart> {
        Self::with_latency(client_key, salt, Duration::from_millis(20))
    }

    /// With each answer taking `latency` (to see requests overlap).
    pub fn with_latency(client_key: &str, salt: &str, latency: Duration) -> Arc<FakePopmart> {
        let mut spus = vec![];
        let mut spu_id = 1159;
        let mut sku_id = 5001;
        for (series, series_id, category_id, figures) in SERIES {
            for (i, title) in figures.iter().enumerate() {
                let single = Decimal::new(89 + 10 * (i as i64 % 3), 0);
                let plush = title.contains("Plush");
                let mut skus = vec![Sku {
                    id: sku_id,
                    title: if plush {
                        "Single".into()
                    } else {
                        "Single box".into()
                    },
                    price: if plush {
                        single * Decimal::from(2)
                    } else {
                        single
                    },
                    stock: ((spu_id * 7) % 5) as i64,
                }];
                sku_id += 1;
                if !plush {
                    skus.push(Sku {
                        id: sku_id,
                        title: "Whole set (12 boxes)".into(),
                        price: single * Decimal::from(12),
                        stock: ((spu_id * 3) % 4) as i64,
                    });
                    sku_id += 1;
                }
                spus.push(Spu {
                    id: spu_id,
                    title: title.to_string(),
                    series_id: *series_id,
                    series: series.to_string(),
                    category_id: *category_id,
                    skus,
                });
                spu_id += 1;
            }
        }
        Arc::new(FakePopmart {
            client_key: client_key.into(),
            salt: salt.into(),
            spus: Mutex::new(spus),
            fault: Mutex::default(),
            traffic: Mutex::default(),
            latency,
        })
    }

    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/shop/v1/shop/productDetails", get(details))
            .route("/shop/v1/shop/productList", get(list))
            .route("/shop/v1/search", get(search))
            .route("/control/stock", post(control_stock))
            .route("/control/price", post(control_price))
            .route(
                "/control/fault",
                post(control_fault).delete(control_fault_off),
            )
            .route("/control/state", get(control_state))
            .with_state(self.clone())
    }

    /// Counts the request, checks fault, key and signature; `Err` is the answer.
    async fn gate(
        &self,
        headers: &HeaderMap,
        q: &HashMap<String, String>,
    ) -> Result<Guard<'_>, Response> {
        {
            let mut t = self.traffic.lock();
            let now = Instant::now();
            if let Some(last) = t.last_start {
                let gap = now - last;
                t.min_gap = Some(t.min_gap.map_or(gap, |g| g.min(gap)));
            }
            t.last_start = Some(now);
            t.requests += 1;
            t.in_flight += 1;
            t.max_in_flight = t.max_in_flight.max(t.in_flight);
        }
        let guard = Guard(self);
        tokio::time::sleep(self.latency).await;
        let fault = self.fault.lock().clone();
        if let Some(f) = fault {
            return Err(fault_answer(&f).await);
        }
        if headers.get("clientkey").and_then(|v| v.to_str().ok()) != Some(self.client_key.as_str())
        {
            return Err((
                StatusCode::FORBIDDEN,
                Json(json!({ "code": "403", "message": "Forbidden" })),
            )
                .into_response());
        }
        let params: BTreeMap<String, String> = q
            .iter()
            .filter(|(k, _)| k.as_str() != "s" && k.as_str() != "t")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let t: i64 = q.get("t").and_then(|t| t.parse().ok()).unwrap_or(0);
        let expected = crate::sources::popmart::sign(&params, t, &self.salt);
        let fresh = (chrono::Utc::now().timestamp() - t).abs() < 300;
        let header_sign = headers.get("x-sign").and_then(|v| v.to_str().ok());
        if !fresh || q.get("s") != Some(&expected) || header_sign != Some(expected.as_str()) {
            return Err(Json(
                json!({ "code": "40003", "message": "sign verification failed", "data": null }),
            )
            .into_response());
        }
        Ok(guard)
    }
}

/// Marks a request finished however its handler returns.
struct Guard<'a>(&'a FakePopmart);

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        self.0.traffic.lock().in_flight -= 1;
    }
}

async fn fault_answer(f: &PmFault) -> Response {
    match f.status.as_str() {
        "hang" => super::hang().await,
        "garbage" => super::json_text("{\"code\":\"OK\",\"data\":{\"skus\":["),
        "html" => super::html_page("<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>Checking your browser</body></html>"),
        "huge" => super::huge_json("{\"code\":\"OK\",\"data\":{\"title\":\""),
        code => {
            let status = code.parse::<u16>().ok().and_then(|c| StatusCode::from_u16(c).ok()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut r = if status.as_u16() == 471 {
                (status, [(header::CONTENT_TYPE, "text/html")], "<html><body>Request blocked by WAF</body></html>").into_response()
            } else {
                (status, Json(json!({ "code": status.as_u16().to_string(), "message": "error" }))).into_response()
            };
            if let Some(s) = f.retry_after {
                r.headers_mut().insert(header::RETRY_AFTER, s.to_string().parse().unwrap());
            }
            r
        }
    }
}

fn spu_json(s: &Spu) -> Value {
    let number =
        |d: Decimal| serde_json::from_str::<Value>(&d.round_dp(2).to_string()).unwrap_or(json!(0));
    json!({
        "id": s.id,
        "title": s.title,
        "isAvailable": true,
        "seriesId": s.series_id,
        "seriesName": s.series,
        "categoryId": s.category_id,
        "mainImageUrl": format!("https://prod-intl-img.popmart.com/spu/{}.jpg", s.id),
        "skus": s.skus.iter().map(|k| json!({
            "id": k.id,
            "title": k.title,
            "skuCode": format!("PM{}", k.id),
            "price": number(k.price),
            "stock": { "onlineStock": k.stock, "onlineLockStock": 0 },
        })).collect::<Vec<_>>(),
    })
}

fn ok(data: Value) -> Response {
    Json(json!({ "code": "OK", "message": "success", "data": data })).into_response()
}

async fn details(
    State(f): State<Arc<FakePopmart>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let _guard = match f.gate(&headers, &q).await {
        Ok(g) => g,
        Err(r) => return r,
    };
    let id: u64 = q.get("spuId").and_then(|s| s.parse().ok()).unwrap_or(0);
    match f.spus.lock().iter().find(|s| s.id == id) {
        Some(s) => ok(spu_json(s)),
        None => Json(json!({ "code": "10004", "message": "product not found", "data": null }))
            .into_response(),
    }
}

fn page_of(items: Vec<&Spu>, q: &HashMap<String, String>) -> Response {
    let page: usize = q
        .get("page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(1)
        .max(1);
    // Pages of at most 4, whatever was asked for: the lists of this small
    // shop still take more than one page, as a real shop's do.
    let size: usize = q
        .get("size")
        .and_then(|p| p.parse().ok())
        .unwrap_or(20)
        .clamp(1, 4);
    let total = items.len();
    let list: Vec<Value> = items
        .into_iter()
        .skip((page - 1) * size)
        .take(size)
        .map(spu_json)
        .collect();
    ok(json!({ "list": list, "total": total, "page": page, "size": size }))
}

async fn list(
    State(f): State<Arc<FakePopmart>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let _guard = match f.gate(&headers, &q).await {
        Ok(g) => g,
        Err(r) => return r,
    };
    let spus = f.spus.lock();
    let num = |k: &str| q.get(k).and_then(|v| v.parse::<u64>().ok());
    let mut items: Vec<&Spu> = spus
        .iter()
        .filter(|s| num("categoryId").is_none_or(|c| s.category_id == c))
        .filter(|s| num("seriesId").is_none_or(|c| s.series_id == c))
        .collect();
    if q.get("sort").map(String::as_str) == Some("new") {
        items.sort_by(|a, b| b.id.cmp(&a.id));
        items.truncate(6);
    }
    page_of(items, &q)
}

async fn search(
    State(f): State<Arc<FakePopmart>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let _guard = match f.gate(&headers, &q).await {
        Ok(g) => g,
        Err(r) => return r,
    };
    let words = q.get("keyword").cloned().unwrap_or_default().to_lowercase();
    let spus = f.spus.lock();
    let items: Vec<&Spu> = spus
        .iter()
        .filter(|s| {
            words
                .split_whitespace()
                .all(|w| s.title.to_lowercase().contains(w) || s.series.to_lowercase().contains(w))
        })
        .collect();
    page_of(items, &q)
}

#[derive(Deserialize)]
struct SetStock {
    sku: u64,
    #[serde(default)]
    stock: Option<i64>,
    #[serde(default)]
    price: Option<Decimal>,
}

fn update(f: &FakePopmart, b: SetStock) -> StatusCode {
    let mut spus = f.spus.lock();
    match spus
        .iter_mut()
        .flat_map(|s| s.skus.iter_mut())
        .find(|k| k.id == b.sku)
    {
        Some(k) => {
            if let Some(s) = b.stock {
                k.stock = s;
            }
            if let Some(p) = b.price {
                k.price = p;
            }
            StatusCode::NO_CONTENT
        }
        None => StatusCode::NOT_FOUND,
    }
}

async fn control_stock(State(f): State<Arc<FakePopmart>>, Json(b): Json<SetStock>) -> StatusCode {
    update(&f, b)
}

async fn control_price(State(f): State<Arc<FakePopmart>>, Json(b): Json<SetStock>) -> StatusCode {
    update(&f, b)
}

async fn control_fault(
    State(f): State<Arc<FakePopmart>>,
    Json(fault): Json<PmFault>,
) -> StatusCode {
    *f.fault.lock() = Some(fault);
    StatusCode::NO_CONTENT
}

async fn control_fault_off(State(f): State<Arc<FakePopmart>>) -> StatusCode {
    *f.fault.lock() = None;
    StatusCode::NO_CONTENT
}

async fn control_state(State(f): State<Arc<FakePopmart>>) -> Json<Value> {
    let t = f.traffic.lock();
    let spus = f.spus.lock();
    Json(json!({
        "requests": t.requests,
        "max_in_flight": t.max_in_flight,
        "min_gap_ms": t.min_gap.map(|g| g.as_millis() as u64),
        "products": spus.iter().map(|s| json!({ "id": s.id, "title": s.title, "series_id": s.series_id,
            "skus": s.skus.iter().map(|k| json!({ "id": k.id, "stock": k.stock, "price": k.price })).collect::<Vec<_>>() })).collect::<Vec<_>>(),
    }))
}
