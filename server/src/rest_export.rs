//! `GET /api/v1/export/{kind}`: products, price and stock history, events,
//! sources or watch rules as a CSV or JSON download, streamed while it is
//! read ([`monitor::export`]), so a large export costs the server a few
//! chunks of memory, not the whole file.
//!
//! Products and history take the grid's query parameters, so the
//! dashboard's "Export" links download what the grid shows (every page of
//! it), or `product=KEY` for one product. The format is `?format=csv|json`,
//! else `Accept: text/csv` for CSV, else JSON. Viewers may export
//! everything here: it is what they may read through the rest of the API
//! (channels appear only redacted).
//!
//! Each kind has its own route so that the OpenAPI document can say what
//! each one takes; an unknown kind is a 404 that names the ones there are.

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use model::{Event, Role, Source};
use monitor::export::{ExportError, ExportKind, ExportRequest, Exporter};

use crate::problem::Problem;
use crate::rest::Who;
use crate::serve::AppState;

type ApiResult<T> = Result<T, Problem>;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/export/products", get(export_products))
        .route("/api/v1/export/history", get(export_history))
        .route("/api/v1/export/events", get(export_events))
        .route("/api/v1/export/sources", get(export_sources))
        .route("/api/v1/export/rules", get(export_rules))
        .route("/api/v1/export/{kind}", get(export_named))
}

impl From<ExportError> for Problem {
    fn from(e: ExportError) -> Problem {
        match e {
            ExportError::UnknownKind(_) | ExportError::UnknownProduct(_) => {
                Problem::new(StatusCode::NOT_FOUND, "Not found", &e.to_string())
            }
            ExportError::UnknownFormat(_) | ExportError::InvalidSince(_) => {
                Problem::invalid(e.to_string())
            }
        }
    }
}

/// Starts the export and answers with it as an attachment.
async fn export(
    kind: ExportKind,
    state: AppState,
    who: monitor::Identity,
    query: Option<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    who.require(Role::Viewer).map_err(Problem::from)?;
    let query = query.unwrap_or_default();
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let req = ExportRequest::from_query(
        kind,
        pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        accept,
    )?;
    let (content_type, name) = (req.format.content_type(), req.file_name());
    let chunks = Exporter::new(state.engine.clone(), state.control.alerts.clone()).stream(req)?;
    tracing::info!(who = %who.label, kind = kind.as_str(), "export started");
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        Body::from_stream(chunks),
    )
        .into_response())
}

/// Every size of every product the grid's filters match (all pages, in the
/// grid's order), or of one product: key, title, brand, series, source, url,
/// currency, variant, size, sku, price, compare_at, available, updated.
#[utoipa::path(get, path = "/api/v1/export/products",
    params(("product" = Option<String>, Query, description = "one product's key (the filters are then ignored)"),
           ("q" = Option<String>, Query, description = "words in the title, brand or series"),
           ("brand" = Option<String>, Query), ("series" = Option<String>, Query), ("store" = Option<String>, Query, description = "source key"),
           ("min" = Option<String>, Query, description = "lowest price"), ("max" = Option<String>, Query, description = "highest price"),
           ("in_stock" = Option<bool>, Query, description = "only products with a size in stock"),
           ("sort" = Option<String>, Query, description = "newest, price_asc, price_desc, biggest_drop, spread"),
           ("format" = Option<String>, Query, description = "csv or json; else `Accept: text/csv` for CSV, else JSON")),
    responses((status = 200, description = "a CSV file with a header row, or a JSON array of the same rows",
                content((String = "text/csv"), ("application/json"))),
              (status = 401, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn export_products(
    State(state): State<AppState>,
    Who(who): Who,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    export(ExportKind::Products, state, who, q, headers).await
}

/// Price and stock history of one product, or of every product the grid's
/// filters match, oldest first per product: product, at, kind (price or
/// stock), variant, size, price, compare_at, available.
#[utoipa::path(get, path = "/api/v1/export/history",
    params(("product" = Option<String>, Query, description = "one product's key (the filters are then ignored)"),
           ("q" = Option<String>, Query, description = "words in the title, brand or series"),
           ("brand" = Option<String>, Query), ("series" = Option<String>, Query), ("store" = Option<String>, Query, description = "source key"),
           ("min" = Option<String>, Query, description = "lowest price"), ("max" = Option<String>, Query, description = "highest price"),
           ("in_stock" = Option<bool>, Query, description = "only products with a size in stock"),
           ("format" = Option<String>, Query, description = "csv or json; else `Accept: text/csv` for CSV, else JSON")),
    responses((status = 200, description = "a CSV file with a header row, or a JSON array of the same rows",
                content((String = "text/csv"), ("application/json"))),
              (status = 401, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn export_history(
    State(state): State<AppState>,
    Who(who): Who,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    export(ExportKind::History, state, who, q, headers).await
}

/// Every stored event (after `since`), oldest first. CSV: seq, at, kind,
/// source, product, title, variant, size, currency, old_price, new_price,
/// available, reason; JSON: the events as `/api/v1/events` has them.
#[utoipa::path(get, path = "/api/v1/export/events",
    params(("since" = Option<u64>, Query, description = "only events after this sequence number"),
           ("format" = Option<String>, Query, description = "csv or json; else `Accept: text/csv` for CSV, else JSON")),
    responses((status = 200, description = "a CSV file with a header row, or a JSON array of events",
                content((String = "text/csv"), ([Event] = "application/json"))),
              (status = 401, body = Problem), (status = 422, body = Problem)))]
pub async fn export_events(
    State(state): State<AppState>,
    Who(who): Who,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    export(ExportKind::Events, state, who, q, headers).await
}

/// Every source. CSV: key, kind, name, url, currency, interval_secs,
/// enabled, blocked, created, tags (separated by ";"); JSON: the whole source.
#[utoipa::path(get, path = "/api/v1/export/sources",
    params(("format" = Option<String>, Query, description = "csv or json; else `Accept: text/csv` for CSV, else JSON")),
    responses((status = 200, description = "a CSV file with a header row, or a JSON array of sources",
                content((String = "text/csv"), ([Source] = "application/json"))),
              (status = 401, body = Problem), (status = 422, body = Problem)))]
pub async fn export_sources(
    State(state): State<AppState>,
    Who(who): Who,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    export(ExportKind::Sources, state, who, q, headers).await
}

/// Every watch rule, each channel shown by name and redacted address (never
/// its secret). CSV: id, name, condition, threshold, scope, keywords, brand,
/// series, source, product, sizes, channels, cooldown_secs, paused,
/// created; JSON: the rule with `channels` as the channels themselves.
#[utoipa::path(get, path = "/api/v1/export/rules",
    params(("format" = Option<String>, Query, description = "csv or json; else `Accept: text/csv` for CSV, else JSON")),
    responses((status = 200, description = "a CSV file with a header row, or a JSON array of rules",
                content((String = "text/csv"), ("application/json"))),
              (status = 401, body = Problem), (status = 422, body = Problem)))]
pub async fn export_rules(
    State(state): State<AppState>,
    Who(who): Who,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    export(ExportKind::Rules, state, who, q, headers).await
}

/// Any kind by name: the same exports as the routes above (which exist to
/// document each kind), and a 404 naming the kinds for any other.
async fn export_named(
    State(state): State<AppState>,
    Who(who): Who,
    Path(kind): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    who.require(Role::Viewer).map_err(Problem::from)?;
    export(kind.parse()?, state, who, q, headers).await
}
