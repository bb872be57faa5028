//! `/api/v1` routes for sources: list, read, add (and preview a JSON API
//! source before adding it), edit, pause/resume, remove, check now, runs
//! per day; and every host's state (back-off, circuit breaker, requests in
//! flight).

use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use model::{HostView, PollRun, Product, Role, RunProgress, Source};
use monitor::{NewSource, SourceEdit};

use crate::problem::Problem;
use crate::serve::AppState;

use super::{allow, store_error, ApiResult, Who};

/// A source with its run in progress and its latest runs (newest first).
#[derive(Serialize, ToSchema)]
pub(super) struct SourceRow {
    source: Source,
    progress: Option<RunProgress>,
    runs: Vec<PollRun>,
}

async fn source_row(state: &AppState, source: Source) -> ApiResult<SourceRow> {
    let runs = state
        .engine
        .store()
        .runs(&source.key, 10)
        .await
        .map_err(store_error)?;
    Ok(SourceRow {
        progress: state.engine.progress(&source.key),
        source,
        runs,
    })
}

/// Every source, with its progress and last runs.
#[utoipa::path(get, path = "/api/v1/sources", responses((status = 200, body = [SourceRow]), (status = 401, body = Problem)))]
pub(super) async fn list_sources(
    State(state): State<AppState>,
    Who(who): Who,
) -> ApiResult<Json<Vec<SourceRow>>> {
    allow(&who, Role::Viewer)?;
    let sources = state.engine.sources();
    let keys: Vec<String> = sources.iter().map(|s| s.key.clone()).collect();
    let mut latest = state
        .engine
        .store()
        .latest_runs(&keys, 10)
        .await
        .map_err(store_error)?;
    Ok(Json(
        sources
            .into_iter()
            .map(|source| SourceRow {
                progress: state.engine.progress(&source.key),
                runs: latest.remove(&source.key).unwrap_or_default(),
                source,
            })
            .collect(),
    ))
}

#[utoipa::path(get, path = "/api/v1/sources/{key}", params(("key" = String, Path)),
    responses((status = 200, body = SourceRow), (status = 404, body = Problem)))]
pub(super) async fn get_source(
    State(state): State<AppState>,
    Who(who): Who,
    Path(key): Path<String>,
) -> ApiResult<Json<SourceRow>> {
    allow(&who, Role::Viewer)?;
    let s = state
        .engine
        .sources()
        .into_iter()
        .find(|s| s.key == key)
        .ok_or_else(|| Problem::not_found(&format!("source {key:?}")))?;
    Ok(Json(source_row(&state, s).await?))
}

#[derive(Deserialize, ToSchema)]
pub(super) struct NewSourceBody {
    /// "shopify" (a storefront's catalogue), "woocommerce" (a shop's Store
    /// API), "page" (one product page), "json", "amazon" or "popmart".
    kind: String,
    url: String,
    name: Option<String>,
    /// ISO 4217; USD when not given (a page's own currency wins).
    currency: Option<String>,
    /// Seconds between checks (default 300).
    interval_secs: Option<u64>,
    /// "page" sources: CSS selectors for price and stock text, and the
    /// phrases that mean in stock / sold out.
    #[serde(default)]
    page: model::PageSettings,
    /// "json" sources: headers (`Name: value`, `${ENV}` for secrets) and
    /// the field mapping.
    #[serde(default)]
    json: Option<model::JsonMapping>,
    /// "amazon" sources: ASINs and the Amazon site ("com", "co.uk"...);
    /// `url` may be empty.
    #[serde(default)]
    amazon: Option<model::AmazonSettings>,
    /// "popmart" sources: region ("HK", "US"...), watch ("products",
    /// "category", "new", "search", "series") and its target; `url` may be
    /// empty (the region's API host).
    #[serde(default)]
    popmart: Option<model::PopmartSettings>,
    /// Your own labels for the source.
    #[serde(default)]
    tags: Vec<String>,
    /// Watch only the products these keywords admit: `{"include": ["dunk",
    /// "jordan"], "exclude": ["kids"]}` (not for "page" sources).
    #[serde(default)]
    keywords: model::KeywordFilter,
}

/// What a JSON API source would read, before it is added.
#[derive(Deserialize, ToSchema)]
pub(super) struct PreviewBody {
    url: String,
    currency: Option<String>,
    json: model::JsonMapping,
}

/// Reads a JSON API through a mapping now and answers the first 20
/// products it would track, without adding anything (editor).
#[utoipa::path(post, path = "/api/v1/sources/preview", request_body = PreviewBody,
    responses((status = 200, body = [Product]), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub(super) async fn preview_source(
    State(state): State<AppState>,
    Who(who): Who,
    Json(b): Json<PreviewBody>,
) -> ApiResult<Json<Vec<Product>>> {
    allow(&who, Role::Editor)?;
    let mut found = state
        .control
        .engine
        .preview_json(&b.url, b.currency.as_deref(), b.json)
        .await?;
    found.truncate(20);
    Ok(Json(found))
}

/// Adds a source (editor). Answers 200 with the existing source when that URL is watched already.
#[utoipa::path(post, path = "/api/v1/sources", request_body = NewSourceBody,
    responses((status = 201, body = Source), (status = 200, body = Source), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub(super) async fn add_source(
    State(state): State<AppState>,
    Who(who): Who,
    Json(b): Json<NewSourceBody>,
) -> ApiResult<Response> {
    let (s, added) = state
        .control
        .add_source(
            &who,
            NewSource {
                key: None,
                kind: b.kind,
                url: b.url,
                name: b.name,
                currency: b.currency,
                interval: Duration::from_secs(b.interval_secs.unwrap_or(300)),
                page: b.page,
                json: b.json,
                amazon: b.amazon,
                popmart: b.popmart,
                tags: b.tags,
                keywords: b.keywords,
            },
        )
        .await?;
    let status = if added {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(s)).into_response())
}

/// A source's changes; fields left out stay as they are. A field this
/// does not know is refused (422), like an invalid one: nothing changes.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct SourceEditBody {
    name: Option<String>,
    url: Option<String>,
    interval_secs: Option<u64>,
    /// false pauses the source, true resumes it.
    enabled: Option<bool>,
    /// A page source's selectors and phrases (replaced as a whole).
    page: Option<model::PageSettings>,
    /// A JSON source's headers and mapping (replaced as a whole).
    json: Option<model::JsonMapping>,
    /// An Amazon source's ASINs (replaced as a whole).
    amazon: Option<model::AmazonSettings>,
    /// A Pop Mart source's region and watch (replaced as a whole).
    popmart: Option<model::PopmartSettings>,
    /// The keyword filter (replaced as a whole; `{}` watches everything).
    keywords: Option<model::KeywordFilter>,
}

/// Changes a source's name, address, interval, or pauses/resumes it
/// (editor), as one change: when a field is refused (422), nothing changes.
#[utoipa::path(patch, path = "/api/v1/sources/{key}", params(("key" = String, Path)), request_body = SourceEditBody,
    responses((status = 200, body = Source), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub(super) async fn edit_source(
    State(state): State<AppState>,
    Who(who): Who,
    Path(key): Path<String>,
    Json(b): Json<SourceEditBody>,
) -> ApiResult<Json<Source>> {
    allow(&who, Role::Editor)?;
    let edits = b.name.is_some()
        || b.url.is_some()
        || b.interval_secs.is_some()
        || b.page.is_some()
        || b.json.is_some()
        || b.amazon.is_some()
        || b.popmart.is_some()
        || b.keywords.is_some();
    if !edits && b.enabled.is_none() {
        return Err(Problem::invalid(
            "Give at least one of name, url, interval_secs, enabled, page, json, amazon, popmart, keywords.",
        ));
    }
    let edit = edits.then(|| SourceEdit {
        name: b.name,
        url: b.url,
        interval: b.interval_secs.map(Duration::from_secs),
        page: b.page,
        json: b.json,
        amazon: b.amazon,
        popmart: b.popmart,
        keywords: b.keywords,
    });
    Ok(Json(
        state
            .control
            .change_source(&who, &key, edit, b.enabled)
            .await?,
    ))
}

/// Stops watching a source (its products' history stays) (editor).
#[utoipa::path(delete, path = "/api/v1/sources/{key}", params(("key" = String, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub(super) async fn delete_source(
    State(state): State<AppState>,
    Who(who): Who,
    Path(key): Path<String>,
) -> ApiResult<StatusCode> {
    state.control.remove_source(&who, &key).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Starts a check of the source now (editor); follow it on `GET /api/v1/sources/{key}`.
#[utoipa::path(post, path = "/api/v1/sources/{key}/check", params(("key" = String, Path)),
    responses((status = 202), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub(super) async fn check_source(
    State(state): State<AppState>,
    Who(who): Who,
    Path(key): Path<String>,
) -> ApiResult<StatusCode> {
    state.control.check_source(&who, &key).await?;
    Ok(StatusCode::ACCEPTED)
}

/// A source's runs counted per day (UTC), newest first: kept after the runs
/// themselves are pruned (`--keep-runs`). At most 400 days.
#[utoipa::path(get, path = "/api/v1/sources/{key}/days", params(("key" = String, Path)),
    responses((status = 200, body = [model::PollDay]), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub(super) async fn source_days(
    State(state): State<AppState>,
    Who(who): Who,
    Path(key): Path<String>,
) -> ApiResult<Json<Vec<model::PollDay>>> {
    allow(&who, Role::Viewer)?;
    if !state.engine.sources().iter().any(|s| s.key == key) {
        return Err(Problem::not_found(&format!("source {key:?}")));
    }
    let days = state
        .engine
        .store()
        .days(&key, 400)
        .await
        .map_err(store_error)?;
    Ok(Json(days))
}

/// Every host's state: backing off (after 429 / Retry-After), circuit breaker open, requests in flight.
#[utoipa::path(get, path = "/api/v1/hosts", responses((status = 200, body = [HostView]), (status = 401, body = Problem)))]
pub(super) async fn list_hosts(
    State(state): State<AppState>,
    Who(who): Who,
) -> ApiResult<Json<Vec<HostView>>> {
    allow(&who, Role::Viewer)?;
    Ok(Json(
        state
            .engine
            .hosts()
            .into_iter()
            .map(HostView::from)
            .collect(),
    ))
}

/// The Dropwatch instances sharing this database server, the hosts each
/// polls and the tasks each runs, with their lease expiries (empty on one
/// machine).
#[utoipa::path(get, path = "/api/v1/instances", responses((status = 200, body = [model::InstanceView]), (status = 401, body = Problem), (status = 503, body = Problem)))]
pub(super) async fn list_instances(
    State(state): State<AppState>,
    Who(who): Who,
) -> ApiResult<Json<Vec<model::InstanceView>>> {
    allow(&who, Role::Viewer)?;
    Ok(Json(state.engine.instances().await.map_err(store_error)?))
}
