//! Moving data in and out over REST: `POST /api/v1/import` (a
//! changedetection.io backup or a list of URLs, previewed unless
//! `?apply=true`; editors) and `GET /api/v1/backup` (the whole database as
//! SurrealQL, streamed; admins). `dropwatch import` and `dropwatch backup
//! --url` call these.

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::StreamExt;
use serde::Deserialize;

use model::{Role, SourceImport};
use monitor::import::{ImportError, MAX_FILE_BYTES};

use crate::problem::Problem;
use crate::rest::Who;
use crate::serve::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/import",
            post(import).layer(DefaultBodyLimit::max(MAX_FILE_BYTES)),
        )
        .route("/api/v1/backup", get(backup))
}

#[derive(Deserialize)]
pub struct ImportQuery {
    /// `true` imports; anything else previews.
    #[serde(default)]
    apply: bool,
}

/// Imports sources from a changedetection.io backup (its zip or
/// url-watches.json) or a list of URLs (one a line, or CSV with a `url`
/// column and optional `kind`, `interval`, `name`, `tags`), sent as the
/// request body. Without `?apply=true` nothing changes: the answer says what
/// would be added, skipped as a duplicate, not imported or refused, and why.
#[utoipa::path(post, path = "/api/v1/import",
    params(("apply" = Option<bool>, Query, description = "true to import; otherwise a preview")),
    request_body(content = String, description = "the file's bytes (zip, JSON, CSV or text)", content_type = "application/octet-stream"),
    responses((status = 200, body = SourceImport), (status = 400, body = Problem), (status = 403, body = Problem), (status = 413, description = "larger than 32 MB")))]
pub async fn import(
    State(state): State<AppState>,
    Who(who): Who,
    Query(q): Query<ImportQuery>,
    body: Bytes,
) -> Result<Json<SourceImport>, Problem> {
    who.require(Role::Editor).map_err(Problem::from)?;
    match state.control.import_sources(&who, &body, !q.apply).await {
        Ok(report) => Ok(Json(report)),
        Err(ImportError::Unreadable(why)) => Err(Problem::invalid(why)),
        Err(ImportError::Control(e)) => Err(e.into()),
    }
}

/// The whole database as SurrealQL (what `surreal export` writes), streamed
/// while polling goes on. Restore it with `dropwatch restore FILE --db NEW`;
/// sealed secrets open only with the same secret key.
#[utoipa::path(get, path = "/api/v1/backup",
    responses((status = 200, description = "SurrealQL", content_type = "application/sql"), (status = 403, body = Problem)))]
pub async fn backup(State(state): State<AppState>, Who(who): Who) -> Result<Response, Problem> {
    who.require(Role::Admin).map_err(Problem::from)?;
    let chunks = state.engine.store().backup().await.map_err(|e| {
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "The database cannot be backed up from here",
            &format!("{e}. A database on a SurrealDB server is backed up with `surreal export`."),
        )
    })?;
    state
        .accounts
        .audit(&who, "database.backup", "database", None, None)
        .await
        .map_err(Problem::from)?;
    let name = format!(
        "dropwatch-{}.surql",
        chrono::Utc::now().format("%Y%m%d-%H%M%S")
    );
    tracing::info!(who = %who.label, "database backup started");
    let body = Body::from_stream(chunks.map(|c| c.map_err(std::io::Error::other)));
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/sql; charset=utf-8".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response())
}
