//! The REST API under `/api/v1`, for other programs: JSON in and out, errors
//! as problem+json, authenticated by an API token (`Authorization: Bearer`)
//! or the session cookie. Every handler checks the role its action needs;
//! changes go through [`monitor::Control`] or [`monitor::Accounts`], so they
//! are audited like the same change made from a page.
//!
//! The OpenAPI document is generated from these handlers' annotations
//! (`utoipa`) and served at `/api/v1/openapi.json`; `/api/docs` renders it.

use std::time::Duration;

use axum::extract::{FromRequestParts, Path, Query, RawQuery, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use model::{
    ApiToken, AuditEntry, Event, HostView, PollRun, PricePoint, Product, ProductFilter,
    ProductPage, Role, RunProgress, Source, StockPoint, User, Viewer,
};
use monitor::{Identity, NewSource, SourceEdit};

use crate::problem::Problem;
use crate::serve::AppState;

type ApiResult<T> = Result<T, Problem>;

/// The caller, as the gate resolved them.
pub struct Who(pub Identity);

impl<S: Send + Sync> FromRequestParts<S> for Who {
    type Rejection = Problem;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Who, Problem> {
        parts
            .extensions
            .get::<Identity>()
            .cloned()
            .map(Who)
            .ok_or_else(|| {
                Problem::new(
                    StatusCode::UNAUTHORIZED,
                    "Sign in first",
                    "Send `Authorization: Bearer <API token>`.",
                )
            })
    }
}

fn allow(who: &Identity, role: Role) -> ApiResult<()> {
    who.require(role).map_err(Problem::from)
}

fn store_error(e: impl std::fmt::Display) -> Problem {
    Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "The database did not answer",
        &e.to_string(),
    )
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Dropwatch API", description = "Read and drive a Dropwatch monitor: sources, products, history, events, watch rules, notification channels and log, repricing to your Shopify store (links, markups, proposals, approval), users, tokens and the audit log. Authenticate with `Authorization: Bearer <token>` (create a token on the account page). Errors are application/problem+json. The live event stream is the WebSocket `GET /api/live?since=SEQ` (same token)."),
    paths(me, list_sources, add_source, preview_source, get_source, edit_source, delete_source, check_source, source_days,
          list_hosts, list_products, get_product, product_matches, product_history, list_events,
          list_users, create_user, edit_user, delete_user,
          list_tokens, create_token, revoke_token, audit_log,
          crate::rest_alerts::list_rules, crate::rest_alerts::create_rule, crate::rest_alerts::edit_rule,
          crate::rest_alerts::delete_rule, crate::rest_alerts::list_channels, crate::rest_alerts::create_channel,
          crate::rest_alerts::delete_channel, crate::rest_alerts::test_channel,
          crate::rest_alerts::list_notifications, crate::rest_alerts::push_key,
          crate::rest_alerts::subscribe, crate::rest_alerts::unsubscribe,
          crate::rest_repricing::shop_status, crate::rest_repricing::connect, crate::rest_repricing::webhook_secret,
          crate::rest_repricing::search_targets, crate::rest_repricing::list_links, crate::rest_repricing::create_link,
          crate::rest_repricing::delete_link, crate::rest_repricing::edit_link, crate::rest_repricing::import_links,
          crate::rest_repricing::propose_now, crate::rest_repricing::list_markups,
          crate::rest_repricing::set_markups, crate::rest_repricing::list_proposals, crate::rest_repricing::approve,
          crate::rest_repricing::reject, crate::rest_repricing::approve_many,
          crate::rest_export::export_products, crate::rest_export::export_history, crate::rest_export::export_events, crate::rest_export::export_sources, crate::rest_export::export_rules,
          crate::rest_data::import, crate::rest_data::backup,
          crate::rest_probe::probe),
    components(schemas(Problem, Viewer, Role, SourceRow, NewSourceBody, SourceEditBody, PreviewBody, Source, model::PageSettings, model::JsonMapping, model::KeywordFilter, PollRun, RunProgress,
        ProductPage, Product, History, HostView, EventPage, Event, User, NewUserBody, UserEditBody, ApiToken, NewTokenBody, CreatedToken, AuditEntry,
        model::Rule, model::Scope, model::Condition, model::ChannelInfo, model::Delivery,
        crate::rest_alerts::RuleBody, crate::rest_alerts::RuleEditBody, crate::rest_alerts::ChannelBody,
        crate::rest_alerts::TestResult, crate::rest_alerts::PushKey, crate::rest_alerts::SubscriptionBody,
        crate::rest_alerts::UnsubscribeBody,
        model::Link, model::Markup, model::MarkupRule, model::Rounding, model::Proposal, model::ProposalState,
        crate::rest_repricing::ShopBody, crate::rest_repricing::ConnectBody, crate::rest_repricing::ConnectedBody,
        crate::rest_repricing::SecretBody, crate::rest_repricing::TargetRow, crate::rest_repricing::LinkBody,
        crate::rest_repricing::VersionBody, crate::rest_repricing::Pick, crate::rest_repricing::ApproveManyBody,
        crate::rest_repricing::ApproveResult, crate::rest_repricing::LinkEditBody,
        model::ImportReport, model::ImportLine, model::ImportState,
        model::SourceImport, model::SourceEntry, model::ExtraEntry, model::EntryState, model::ExtraKind)),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(
                "bearer",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/openapi.json",
            get(|| async { Json(ApiDoc::openapi()) }),
        )
        .route("/api/v1/me", get(me))
        .route("/api/v1/sources", get(list_sources).post(add_source))
        .route(
            "/api/v1/sources/{key}",
            get(get_source).patch(edit_source).delete(delete_source),
        )
        .route("/api/v1/sources/{key}/check", post(check_source))
        .route("/api/v1/sources/{key}/days", get(source_days))
        .route("/api/v1/sources/preview", post(preview_source))
        .route("/api/v1/hosts", get(list_hosts))
        .route("/api/v1/products", get(list_products))
        .route("/api/v1/products/{key}", get(get_product))
        .route("/api/v1/products/{key}/history", get(product_history))
        .route("/api/v1/products/{key}/matches", get(product_matches))
        .route("/api/v1/events", get(list_events))
        .route("/api/v1/users", get(list_users).post(create_user))
        .route(
            "/api/v1/users/{name}",
            axum::routing::patch(edit_user).delete(delete_user),
        )
        .route("/api/v1/tokens", get(list_tokens).post(create_token))
        .route("/api/v1/tokens/{id}", axum::routing::delete(revoke_token))
        .route("/api/v1/audit", get(audit_log))
        .merge(crate::rest_alerts::router())
        .merge(crate::rest_repricing::router())
        .merge(crate::rest_data::router())
        .merge(crate::rest_export::router())
        .merge(crate::rest_probe::router())
}

/// Who the caller is and what their role allows.
#[utoipa::path(get, path = "/api/v1/me", responses((status = 200, body = Viewer), (status = 401, body = Problem)))]
async fn me(Who(who): Who) -> Json<Viewer> {
    Json(who.viewer)
}

/// A source with its run in progress and its latest runs (newest first).
#[derive(Serialize, ToSchema)]
struct SourceRow {
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
async fn list_sources(
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
async fn get_source(
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
struct NewSourceBody {
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
struct PreviewBody {
    url: String,
    currency: Option<String>,
    json: model::JsonMapping,
}

/// Reads a JSON API through a mapping now and answers the first 20
/// products it would track, without adding anything (editor).
#[utoipa::path(post, path = "/api/v1/sources/preview", request_body = PreviewBody,
    responses((status = 200, body = [Product]), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn preview_source(
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
async fn add_source(
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
struct SourceEditBody {
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
async fn edit_source(
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
async fn delete_source(
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
async fn check_source(
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
async fn source_days(
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
async fn list_hosts(
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

/// Products, filtered, sorted and paged as in the dashboard's grid (60 a page).
#[utoipa::path(get, path = "/api/v1/products",
    params(("q" = Option<String>, Query, description = "words in the title, brand or series"),
           ("brand" = Option<String>, Query), ("series" = Option<String>, Query), ("store" = Option<String>, Query, description = "source key"),
           ("min" = Option<String>, Query, description = "lowest price"), ("max" = Option<String>, Query, description = "highest price"),
           ("in_stock" = Option<bool>, Query, description = "only products with a size in stock"),
           ("sort" = Option<String>, Query, description = "newest, price_asc, price_desc, biggest_drop"),
           ("page" = Option<usize>, Query, description = "1-based")),
    responses((status = 200, body = ProductPage), (status = 401, body = Problem)))]
async fn list_products(
    State(state): State<AppState>,
    Who(who): Who,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<ProductPage>> {
    allow(&who, Role::Viewer)?;
    let q = q.unwrap_or_default();
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(q.as_bytes())
        .into_owned()
        .collect();
    let filter = ProductFilter::from_query(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    Ok(Json(filter.apply(state.engine.products_compared())))
}

/// One product with every variant (size).
#[utoipa::path(get, path = "/api/v1/products/{key}", params(("key" = String, Path, description = "percent-encode the '/' in a key")),
    responses((status = 200, body = Product), (status = 404, body = Problem)))]
async fn get_product(
    State(state): State<AppState>,
    Who(who): Who,
    Path(key): Path<String>,
) -> ApiResult<Json<Product>> {
    allow(&who, Role::Viewer)?;
    state
        .engine
        .product(&key)
        .map(Json)
        .ok_or_else(|| Problem::not_found(&format!("product {key:?}")))
}

/// The same item in another store.
#[derive(Serialize, ToSchema)]
struct SameItem {
    key: String,
    source: String,
    title: String,
    url: String,
    currency: String,
    /// The lowest price of a size in stock; none when sold out.
    #[schema(value_type = Option<String>)]
    in_stock_from: Option<model::Decimal>,
    sizes_in_stock: Vec<String>,
    matched_by: model::MatchedBy,
}

/// The same item in the other watched stores (cross-store comparison): by
/// GTIN, style code, brand and model name, or a user's confirmation; pairs a
/// user split are left out.
#[utoipa::path(get, path = "/api/v1/products/{key}/matches", params(("key" = String, Path)),
    responses((status = 200, body = [SameItem]), (status = 404, body = Problem)))]
async fn product_matches(
    State(state): State<AppState>,
    Who(who): Who,
    Path(key): Path<String>,
) -> ApiResult<Json<Vec<SameItem>>> {
    allow(&who, Role::Viewer)?;
    if state.engine.product(&key).is_none() {
        return Err(Problem::not_found(&format!("product {key:?}")));
    }
    Ok(Json(
        state
            .engine
            .same_items(&key)
            .into_iter()
            .map(|(p, why)| SameItem {
                in_stock_from: p
                    .variants
                    .iter()
                    .filter(|v| v.available)
                    .filter_map(|v| v.price)
                    .min(),
                sizes_in_stock: p.sizes_in_stock(),
                key: p.key,
                source: p.source,
                title: p.title,
                url: p.url,
                currency: p.currency,
                matched_by: why,
            })
            .collect(),
    ))
}

#[derive(Serialize, ToSchema)]
struct History {
    /// Oldest first.
    prices: Vec<PricePoint>,
    stock: Vec<StockPoint>,
}

/// A product's price and stock history.
#[utoipa::path(get, path = "/api/v1/products/{key}/history", params(("key" = String, Path)),
    responses((status = 200, body = History), (status = 404, body = Problem)))]
async fn product_history(
    State(state): State<AppState>,
    Who(who): Who,
    Path(key): Path<String>,
) -> ApiResult<Json<History>> {
    allow(&who, Role::Viewer)?;
    if state.engine.product(&key).is_none() {
        return Err(Problem::not_found(&format!("product {key:?}")));
    }
    let store = state.engine.store();
    Ok(Json(History {
        prices: store.price_history(&key).await.map_err(store_error)?,
        stock: store.stock_history(&key).await.map_err(store_error)?,
    }))
}

#[derive(Deserialize)]
struct EventsQuery {
    since: Option<u64>,
    limit: Option<usize>,
}

#[derive(Serialize, ToSchema)]
struct EventPage {
    events: Vec<Event>,
    /// Pass as `since` for the next page.
    next_since: u64,
    /// The newest event stored.
    last_seq: u64,
}

/// Events after a sequence number, oldest first (at most 1,000 a page).
#[utoipa::path(get, path = "/api/v1/events",
    params(("since" = Option<u64>, Query), ("limit" = Option<usize>, Query, description = "1-1000, default 100")),
    responses((status = 200, body = EventPage), (status = 401, body = Problem), (status = 410, description = "Events after `since` are no longer kept (retention): reload", body = Problem)))]
async fn list_events(
    State(state): State<AppState>,
    Who(who): Who,
    Query(q): Query<EventsQuery>,
) -> ApiResult<Json<EventPage>> {
    allow(&who, Role::Viewer)?;
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let store = state.engine.store();
    let last_seq = store.last_seq();
    // A cursor beyond the newest event means "from now" (it never wraps).
    let since = q.since.unwrap_or(0).min(last_seq);
    // One before the oldest kept means events were removed since: reload.
    if since.saturating_add(1) < store.oldest_event() {
        return Err(Problem::new(
            StatusCode::GONE,
            "Events no longer kept",
            &format!(
                "Events before {} are no longer kept (--keep-events); reload the products and start again from since={}.",
                store.oldest_event(),
                store.oldest_event() - 1
            ),
        ));
    }
    let events = store
        .events_since(since, limit)
        .await
        .map_err(store_error)?;
    let next_since = events.last().map(|e| e.seq).unwrap_or(since);
    Ok(Json(EventPage {
        events,
        next_since,
        last_seq,
    }))
}

/// Every user (admin).
#[utoipa::path(get, path = "/api/v1/users", responses((status = 200, body = [User]), (status = 403, body = Problem)))]
async fn list_users(State(state): State<AppState>, Who(who): Who) -> ApiResult<Json<Vec<User>>> {
    Ok(Json(state.accounts.users(&who).await?))
}

#[derive(Deserialize, ToSchema)]
struct NewUserBody {
    name: String,
    role: Role,
    /// At least 10 characters.
    password: String,
}

/// Creates a user (admin).
#[utoipa::path(post, path = "/api/v1/users", request_body = NewUserBody,
    responses((status = 201, body = User), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create_user(
    State(state): State<AppState>,
    Who(who): Who,
    Json(b): Json<NewUserBody>,
) -> ApiResult<Response> {
    let u = state
        .accounts
        .create_user(&who, &b.name, b.role, &b.password)
        .await?;
    Ok((StatusCode::CREATED, Json(u)).into_response())
}

/// A user's changes; fields left out stay as they are. A field this does
/// not know is refused (422), like an invalid one: nothing changes.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct UserEditBody {
    role: Option<Role>,
    /// A new password; ends the user's sessions and revokes their API tokens.
    password: Option<String>,
}

/// Changes a user's role, password or both (admin), as one change: when a
/// field is refused (422: the only admin cannot be demoted, the password is
/// too short), nothing changes.
#[utoipa::path(patch, path = "/api/v1/users/{name}", params(("name" = String, Path)), request_body = UserEditBody,
    responses((status = 200, body = User), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn edit_user(
    State(state): State<AppState>,
    Who(who): Who,
    Path(name): Path<String>,
    Json(b): Json<UserEditBody>,
) -> ApiResult<Json<User>> {
    allow(&who, Role::Admin)?;
    Ok(Json(
        state
            .accounts
            .edit_user(&who, &name, b.role, b.password.as_deref())
            .await?,
    ))
}

/// Deletes a user with their sessions and tokens (admin). The last admin cannot be deleted.
#[utoipa::path(delete, path = "/api/v1/users/{name}", params(("name" = String, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn delete_user(
    State(state): State<AppState>,
    Who(who): Who,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    state.accounts.delete_user(&who, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// API tokens: the caller's own (everyone's for an admin). Secrets are never listed.
#[utoipa::path(get, path = "/api/v1/tokens", responses((status = 200, body = [ApiToken]), (status = 401, body = Problem)))]
async fn list_tokens(
    State(state): State<AppState>,
    Who(who): Who,
) -> ApiResult<Json<Vec<ApiToken>>> {
    Ok(Json(state.accounts.tokens(&who).await?))
}

#[derive(Deserialize, ToSchema)]
struct NewTokenBody {
    /// What will use it, e.g. "grafana".
    name: String,
    /// At most the caller's own role.
    role: Role,
}

#[derive(Serialize, ToSchema)]
struct CreatedToken {
    token: ApiToken,
    /// The whole token, shown this once: send it as `Authorization: Bearer <secret>`.
    secret: String,
}

/// Creates an API token for the caller; its secret is in this answer only.
/// Only with the session cookie: a token cannot make tokens (403).
#[utoipa::path(post, path = "/api/v1/tokens", request_body = NewTokenBody,
    responses((status = 201, body = CreatedToken), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create_token(
    State(state): State<AppState>,
    Who(who): Who,
    Json(b): Json<NewTokenBody>,
) -> ApiResult<Response> {
    let (token, secret) = state.accounts.create_token(&who, &b.name, b.role).await?;
    Ok((StatusCode::CREATED, Json(CreatedToken { token, secret })).into_response())
}

/// Revokes a token at once (the caller's own, or anyone's for an admin).
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", params(("id" = String, Path)),
    responses((status = 200, body = ApiToken), (status = 404, body = Problem)))]
async fn revoke_token(
    State(state): State<AppState>,
    Who(who): Who,
    Path(id): Path<String>,
) -> ApiResult<Json<ApiToken>> {
    Ok(Json(state.accounts.revoke_token(&who, &id).await?))
}

#[derive(Deserialize)]
struct AuditQuery {
    before: Option<i64>,
    limit: Option<usize>,
}

/// The audit log, newest first (admin). Page with `before` = the last id seen.
#[utoipa::path(get, path = "/api/v1/audit",
    params(("before" = Option<i64>, Query), ("limit" = Option<usize>, Query, description = "1-500, default 100")),
    responses((status = 200, body = [AuditEntry]), (status = 403, body = Problem)))]
async fn audit_log(
    State(state): State<AppState>,
    Who(who): Who,
    Query(q): Query<AuditQuery>,
) -> ApiResult<Json<Vec<AuditEntry>>> {
    Ok(Json(
        state
            .accounts
            .audit_log(&who, q.before, q.limit.unwrap_or(100))
            .await?,
    ))
}

/// `GET /api/docs`: the OpenAPI document as a readable page (no external
/// scripts: Swagger UI would have to be downloaded).
pub async fn docs_page() -> axum::response::Html<String> {
    let doc = serde_json::to_value(ApiDoc::openapi()).expect("the document serialises");
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let mut html = String::from("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Dropwatch API</title><link rel=\"stylesheet\" href=\"/pkg/dropwatch.css\"></head><body><main class=\"page api-docs\"><h1>Dropwatch API</h1>");
    if let Some(d) = doc.pointer("/info/description").and_then(|v| v.as_str()) {
        html += &format!("<p>{}</p>", esc(d));
    }
    html += "<p>Machine-readable: <a href=\"/api/v1/openapi.json\">/api/v1/openapi.json</a> (OpenAPI 3.1).</p><table><thead><tr><th>Method</th><th>Path</th><th>What it does</th><th>Answers</th></tr></thead><tbody>";
    if let Some(paths) = doc.get("paths").and_then(|p| p.as_object()) {
        for (path, ops) in paths {
            for (method, op) in ops.as_object().into_iter().flatten() {
                let summary = op
                    .get("summary")
                    .or(op.get("description"))
                    .and_then(|v| v.as_str())
                    .unwrap_or("");
                let codes: Vec<&str> = op
                    .get("responses")
                    .and_then(|r| r.as_object())
                    .map(|r| r.keys().map(|k| k.as_str()).collect())
                    .unwrap_or_default();
                html += &format!("<tr><td><code>{}</code></td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                    method.to_uppercase(), esc(path), esc(summary), codes.join(", "));
            }
        }
    }
    html += "</tbody></table></main></body></html>";
    axum::response::Html(html)
}
