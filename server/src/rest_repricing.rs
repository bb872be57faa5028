//! `/api/v1` routes for repricing: the connected Shopify store (its token
//! never comes back), links from tracked products to the store's variants
//! (one at a time, or many from a CSV), the store-wide and per-tag markups,
//! proposals and their approval.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use model::{ImportReport, Link, Markup, MarkupRule, Proposal, Role};
use monitor::repricing::service::{target_spec, RepriceError};

use crate::problem::Problem;
use crate::rest::Who;
use crate::serve::AppState;

type ApiResult<T> = Result<T, Problem>;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/shopify", get(shop_status))
        .route("/api/v1/shopify/connect", post(connect))
        .route("/api/v1/shopify/webhook-secret", put(webhook_secret))
        .route("/api/v1/reprice/targets", get(search_targets))
        .route("/api/v1/reprice/links", get(list_links).post(create_link))
        .route(
            "/api/v1/reprice/links/{id}",
            delete(delete_link).patch(edit_link),
        )
        .route("/api/v1/reprice/links/import", post(import_links))
        .route("/api/v1/reprice/links/{id}/propose", post(propose_now))
        .route(
            "/api/v1/reprice/markups",
            get(list_markups).put(set_markups),
        )
        .route("/api/v1/reprice/proposals", get(list_proposals))
        .route("/api/v1/reprice/proposals/approve", post(approve_many))
        .route("/api/v1/reprice/proposals/{id}/approve", post(approve))
        .route("/api/v1/reprice/proposals/{id}/reject", post(reject))
}

impl From<RepriceError> for Problem {
    fn from(e: RepriceError) -> Problem {
        match e {
            RepriceError::Auth(a) => a.into(),
            RepriceError::Invalid(_) => Problem::invalid(e.to_string()),
            RepriceError::NotFound(_) => {
                Problem::new(StatusCode::NOT_FOUND, "Not found", &e.to_string())
            }
            RepriceError::NotConnected => {
                Problem::new(StatusCode::CONFLICT, "No store connected", &e.to_string())
            }
            RepriceError::Conflict => {
                Problem::new(StatusCode::CONFLICT, "Changed meanwhile", &e.to_string())
            }
            RepriceError::Shopify(_) => Problem::new(
                StatusCode::BAD_GATEWAY,
                "Shopify refused or did not answer",
                &e.to_string(),
            ),
            RepriceError::BadSignature => {
                Problem::new(StatusCode::UNAUTHORIZED, "Bad signature", &e.to_string())
            }
            RepriceError::Store(_) | RepriceError::Vault(_) => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "The database did not answer",
                &e.to_string(),
            ),
        }
    }
}

/// The connected store, as anyone may see it: never its token.
#[derive(Serialize, ToSchema)]
pub struct ShopBody {
    /// The shop domain (or URL) connected; null: none yet.
    domain: Option<String>,
    /// The shop's name as it said when connected.
    name: Option<String>,
    /// The currency the shop sells in (ISO 4217), as it said when connected
    /// or before the last push. A source priced in another currency is
    /// priced only with a conversion rate in its markup.
    currency: Option<String>,
    webhook_secret_set: bool,
}

#[utoipa::path(get, path = "/api/v1/shopify", responses((status = 200, body = ShopBody), (status = 401, body = Problem)))]
pub async fn shop_status(State(s): State<AppState>, Who(who): Who) -> ApiResult<Json<ShopBody>> {
    who.require(Role::Viewer).map_err(Problem::from)?;
    let st = s.control.repricing.status();
    Ok(Json(ShopBody {
        domain: st.domain,
        name: st.name,
        currency: st.currency,
        webhook_secret_set: st.webhook_secret_set,
    }))
}

/// A store to connect: its domain (`my-shop`, `my-shop.myshopify.com`) and
/// an Admin API access token with the products scopes.
#[derive(Deserialize, ToSchema)]
pub struct ConnectBody {
    domain: String,
    token: String,
}

#[derive(Serialize, ToSchema)]
pub struct ConnectedBody {
    /// The shop's name, read with the token ("Test connection").
    name: String,
}

/// Connects the store (admins): reads its name with the token, then keeps
/// both sealed.
#[utoipa::path(post, path = "/api/v1/shopify/connect", request_body = ConnectBody,
    responses((status = 200, body = ConnectedBody), (status = 403, body = Problem), (status = 422, body = Problem), (status = 502, body = Problem)))]
pub async fn connect(
    State(s): State<AppState>,
    Who(who): Who,
    Json(b): Json<ConnectBody>,
) -> ApiResult<Json<ConnectedBody>> {
    let name = s
        .control
        .repricing
        .connect(&who, &b.domain, &b.token)
        .await?;
    Ok(Json(ConnectedBody { name }))
}

#[derive(Deserialize, ToSchema)]
pub struct SecretBody {
    /// The app's client secret, which signs the shop's webhooks.
    secret: String,
}

/// Sets the secret the shop's webhooks are checked with (admins).
#[utoipa::path(put, path = "/api/v1/shopify/webhook-secret", request_body = SecretBody,
    responses((status = 204), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn webhook_secret(
    State(s): State<AppState>,
    Who(who): Who,
    Json(b): Json<SecretBody>,
) -> ApiResult<StatusCode> {
    s.control
        .repricing
        .set_webhook_secret(&who, &b.secret)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct SearchQuery {
    /// Words of the title, or `sku:ABC`.
    q: String,
}

/// A variant of the connected store.
#[derive(Serialize, ToSchema)]
pub struct TargetRow {
    id: String,
    product_id: String,
    title: String,
    sku: Option<String>,
    /// In the shop's currency, as Shopify writes it ("129.99").
    price: String,
}

/// Searches the connected store's variants (editors; it spends Admin API
/// points).
#[utoipa::path(get, path = "/api/v1/reprice/targets", params(SearchQuery),
    responses((status = 200, body = [TargetRow]), (status = 403, body = Problem), (status = 409, body = Problem)))]
pub async fn search_targets(
    State(s): State<AppState>,
    Who(who): Who,
    Query(q): Query<SearchQuery>,
) -> ApiResult<Json<Vec<TargetRow>>> {
    let found = s.control.repricing.search_targets(&who, &q.q).await?;
    Ok(Json(
        found
            .into_iter()
            .map(|v| TargetRow {
                id: v.id,
                product_id: v.product_id,
                title: v.title,
                sku: v.sku,
                price: v.price.to_string(),
            })
            .collect(),
    ))
}

#[utoipa::path(get, path = "/api/v1/reprice/links", responses((status = 200, body = [Link]), (status = 401, body = Problem)))]
pub async fn list_links(State(s): State<AppState>, Who(who): Who) -> ApiResult<Json<Vec<Link>>> {
    who.require(Role::Viewer).map_err(Problem::from)?;
    Ok(Json(s.control.repricing.links()))
}

/// A link from a tracked product (or one size) to a variant of the store.
#[derive(Deserialize, ToSchema)]
pub struct LinkBody {
    /// The tracked product's key.
    source_product: String,
    /// One size's variant id; left out: the product's lowest price.
    #[serde(default)]
    source_variant: Option<String>,
    /// The store's variant: its SKU, its admin URL or its gid.
    target: String,
    /// This link's markup (used unless `inherit`).
    markup: Markup,
    /// Follow the store's tag and default markups instead.
    #[serde(default)]
    inherit: bool,
}

/// Links a tracked product to a variant of the store (editors).
#[utoipa::path(post, path = "/api/v1/reprice/links", request_body = LinkBody,
    responses((status = 201, body = Link), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_link(
    State(s): State<AppState>,
    Who(who): Who,
    Json(b): Json<LinkBody>,
) -> ApiResult<Response> {
    who.require(Role::Editor).map_err(Problem::from)?;
    let target = target_spec(&b.target).map_err(Problem::invalid)?;
    let link = s
        .control
        .repricing
        .link(
            &who,
            &b.source_product,
            b.source_variant,
            &target,
            b.markup,
            b.inherit,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(link)).into_response())
}

/// A link's changes; fields left out stay as they are. A field this does
/// not know is refused (422), like an invalid one: nothing changes.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkEditBody {
    /// This link's markup, whole (its conversion `rate` included).
    markup: Option<Markup>,
    /// Follow the store's tag and default markups instead of its own.
    inherit: Option<bool>,
}

/// Changes a link's markup, or whether it follows the store's markups
/// (editors); checked whole first. The next proposal uses it.
#[utoipa::path(patch, path = "/api/v1/reprice/links/{id}", params(("id" = String, Path)), request_body = LinkEditBody,
    responses((status = 200, body = Link), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn edit_link(
    State(s): State<AppState>,
    Who(who): Who,
    Path(id): Path<String>,
    Json(b): Json<LinkEditBody>,
) -> ApiResult<Json<Link>> {
    who.require(Role::Editor).map_err(Problem::from)?;
    let r = &s.control.repricing;
    let link = r
        .links()
        .into_iter()
        .find(|l| l.id == id)
        .ok_or_else(|| RepriceError::NotFound(format!("link {id}")))?;
    let markup = b.markup.unwrap_or(link.markup);
    let inherit = b.inherit.unwrap_or(link.inherit);
    Ok(Json(r.edit_link(&who, &id, markup, inherit).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ImportQuery {
    /// true (the default): say what each line would do and link nothing;
    /// false: link the good lines.
    #[serde(default = "preview_by_default")]
    preview: bool,
}

fn preview_by_default() -> bool {
    true
}

/// Links many tracked products to the store's variants at once, from a CSV
/// of SKU pairs (editors): one link a line, `source_sku,store_sku[,markup_percent]`
/// (a header line is skipped). The source is a tracked size's SKU, a
/// tracked product's key (its lowest price) or `KEY#SIZE`; the store's
/// variant is its SKU, its admin URL or its gid; without a markup the link
/// follows the store's markups. Every line is answered: will link (preview),
/// linked, or refused and why (unknown or ambiguous SKU, already linked, bad
/// markup). A bad line never stops the others; each link is audited.
#[utoipa::path(post, path = "/api/v1/reprice/links/import", params(ImportQuery),
    request_body(content = String, content_type = "text/csv", description = "source_sku,store_sku[,markup_percent], one link a line; at most 1000 lines"),
    responses((status = 200, body = ImportReport), (status = 403, body = Problem), (status = 409, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)))]
pub async fn import_links(
    State(s): State<AppState>,
    Who(who): Who,
    Query(q): Query<ImportQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<ImportReport>> {
    who.require(Role::Editor).map_err(Problem::from)?;
    let given = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = given
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if mime != "text/csv" && mime != "text/plain" {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Send the CSV as text/csv",
            &format!(
                "this takes a CSV (Content-Type: text/csv), one link a line: source_sku,store_sku[,markup_percent]; not {}",
                if given.is_empty() { "a body without a Content-Type" } else { given }
            ),
        ));
    }
    let text = std::str::from_utf8(&body)
        .map_err(|_| Problem::invalid("the CSV is not UTF-8 text; save it as UTF-8"))?;
    Ok(Json(
        s.control
            .repricing
            .import_links(&who, text, q.preview)
            .await?,
    ))
}

/// Removes a link (editors); its proposals stay in the log.
#[utoipa::path(delete, path = "/api/v1/reprice/links/{id}", params(("id" = String, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete_link(
    State(s): State<AppState>,
    Who(who): Who,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    s.control.repricing.unlink(&who, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A proposal from the source's current price (editors).
#[utoipa::path(post, path = "/api/v1/reprice/links/{id}/propose", params(("id" = String, Path)),
    responses((status = 201, body = Proposal), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn propose_now(
    State(s): State<AppState>,
    Who(who): Who,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let p = s.control.repricing.propose_now(&who, &id).await?;
    Ok((StatusCode::CREATED, Json(p)).into_response())
}

#[utoipa::path(get, path = "/api/v1/reprice/markups", responses((status = 200, body = [MarkupRule]), (status = 401, body = Problem)))]
pub async fn list_markups(
    State(s): State<AppState>,
    Who(who): Who,
) -> ApiResult<Json<Vec<MarkupRule>>> {
    who.require(Role::Viewer).map_err(Problem::from)?;
    Ok(Json(s.control.repricing.markup_rules()))
}

/// Replaces the store default (`tag` null) and the per-tag markups
/// (editors).
#[utoipa::path(put, path = "/api/v1/reprice/markups", request_body = [MarkupRule],
    responses((status = 200, body = [MarkupRule]), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn set_markups(
    State(s): State<AppState>,
    Who(who): Who,
    Json(b): Json<Vec<MarkupRule>>,
) -> ApiResult<Json<Vec<MarkupRule>>> {
    s.control.repricing.set_markup_rules(&who, b).await?;
    Ok(Json(s.control.repricing.markup_rules()))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ProposalsQuery {
    /// At most this many, newest first (default 100).
    limit: Option<usize>,
}

#[utoipa::path(get, path = "/api/v1/reprice/proposals", params(ProposalsQuery),
    responses((status = 200, body = [Proposal]), (status = 401, body = Problem)))]
pub async fn list_proposals(
    State(s): State<AppState>,
    Who(who): Who,
    Query(q): Query<ProposalsQuery>,
) -> ApiResult<Json<Vec<Proposal>>> {
    who.require(Role::Viewer).map_err(Problem::from)?;
    Ok(Json(
        s.control
            .repricing
            .proposals(q.limit.unwrap_or(100).min(1000))
            .await?,
    ))
}

/// The version of the proposal the approval or rejection was decided on.
#[derive(Deserialize, ToSchema)]
pub struct VersionBody {
    version: u64,
}

/// Approves a proposal as seen at `version` and pushes it to Shopify
/// (editors); answers with the proposal as the push left it. 409: it
/// changed meanwhile (approved, rejected or pushed by someone else).
#[utoipa::path(post, path = "/api/v1/reprice/proposals/{id}/approve", params(("id" = String, Path)), request_body = VersionBody,
    responses((status = 200, body = Proposal), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn approve(
    State(s): State<AppState>,
    Who(who): Who,
    Path(id): Path<String>,
    Json(b): Json<VersionBody>,
) -> ApiResult<Json<Proposal>> {
    Ok(Json(
        s.control.repricing.approve(&who, &id, b.version).await?,
    ))
}

/// Rejects a proposal as seen at `version` (editors).
#[utoipa::path(post, path = "/api/v1/reprice/proposals/{id}/reject", params(("id" = String, Path)), request_body = VersionBody,
    responses((status = 200, body = Proposal), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn reject(
    State(s): State<AppState>,
    Who(who): Who,
    Path(id): Path<String>,
    Json(b): Json<VersionBody>,
) -> ApiResult<Json<Proposal>> {
    Ok(Json(
        s.control.repricing.reject(&who, &id, b.version).await?,
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct Pick {
    id: String,
    version: u64,
}

#[derive(Deserialize, ToSchema)]
pub struct ApproveManyBody {
    proposals: Vec<Pick>,
}

/// One proposal of a bulk approval: as the push left it, or why not.
#[derive(Serialize, ToSchema)]
pub struct ApproveResult {
    id: String,
    proposal: Option<Proposal>,
    error: Option<String>,
}

/// Approves and pushes a selection (editors); each is decided on alone.
#[utoipa::path(post, path = "/api/v1/reprice/proposals/approve", request_body = ApproveManyBody,
    responses((status = 200, body = [ApproveResult]), (status = 403, body = Problem)))]
pub async fn approve_many(
    State(s): State<AppState>,
    Who(who): Who,
    Json(b): Json<ApproveManyBody>,
) -> ApiResult<Json<Vec<ApproveResult>>> {
    who.require(Role::Editor).map_err(Problem::from)?;
    let picks: Vec<(String, u64)> = b.proposals.into_iter().map(|p| (p.id, p.version)).collect();
    let done = s.control.repricing.approve_many(&who, &picks).await;
    Ok(Json(
        done.into_iter()
            .map(|(id, r)| match r {
                Ok(p) => ApproveResult {
                    id,
                    proposal: Some(p),
                    error: None,
                },
                Err(e) => ApproveResult {
                    id,
                    proposal: None,
                    error: Some(e.to_string()),
                },
            })
            .collect(),
    ))
}
