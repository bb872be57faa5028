//! The REST API under `/api/v1`, for other programs: JSON in and out, errors
//! as problem+json, authenticated by an API token (`Authorization: Bearer`)
//! or the session cookie. Every handler checks the role its action needs;
//! changes go through [`monitor::Control`] or [`monitor::Accounts`], so they
//! are audited like the same change made from a page.
//!
//! The OpenAPI document is generated from these handlers' annotations
//! (`utoipa`) and served at `/api/v1/openapi.json`; `/api/docs` renders it.
//!
//! This module holds what every route shares (the caller [`Who`], the role
//! check, the OpenAPI document and its page) and the route table; the
//! handlers are grouped by resource: `sources.rs` (sources and hosts),
//! `products.rs` (products, their matches and history), `insight.rs`
//! (related products, the caller's picks), `events.rs`,
//! `accounts.rs` (users, API tokens and the audit log). Alerts,
//! repricing, export, import/backup and the probe are `rest_*.rs` beside
//! this module.

mod accounts;
mod events;
mod insight;
mod products;
mod sources;

// The handlers are named unqualified below (a glob also brings each one's
// `__path_*` item for the OpenAPI document): utoipa tags an operation with
// the module path it is listed under, and these operations have no tag.
use accounts::*;
use events::*;
use insight::*;
use products::*;
use sources::*;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use utoipa::OpenApi;

use model::{
    ApiToken, AuditEntry, Event, HostView, PollRun, Product, ProductPage, Role, RunProgress,
    Source, User, Viewer,
};
use monitor::Identity;

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
          list_hosts, list_instances, list_products, get_product, product_matches, product_history, list_events,
          product_related, my_picks, forget_my_picks,
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
        ProductPage, Product, ProductBody, model::deal::Deal, model::deal::DealBadge, model::deal::WindowStats, model::deal::Elsewhere, model::deal::SizeDeal,
        model::restock::SizeOutlook, model::restock::RestockWindow, History, HostView, model::InstanceView, model::LeaseView, EventPage, Event, User, NewUserBody, UserEditBody, ApiToken, NewTokenBody, CreatedToken, AuditEntry,
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
        .route("/api/v1/instances", get(list_instances))
        .route("/api/v1/products", get(list_products))
        .route("/api/v1/products/{key}", get(get_product))
        .route("/api/v1/products/{key}/history", get(product_history))
        .route("/api/v1/products/{key}/matches", get(product_matches))
        .route("/api/v1/products/{key}/related", get(product_related))
        .route("/api/v1/me/picks", get(my_picks).delete(forget_my_picks))
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
