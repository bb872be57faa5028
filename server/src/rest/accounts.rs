//! `/api/v1` routes for accounts: users (admin), API tokens (the caller's
//! own, everyone's for an admin; a secret is shown once) and the audit log
//! (admin). Each goes through [`monitor::Accounts`], which checks the role
//! and audits the change.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use model::{ApiToken, AuditEntry, Role, User};

use crate::problem::Problem;
use crate::serve::AppState;

use super::{allow, ApiResult, Who};

/// Every user (admin).
#[utoipa::path(get, path = "/api/v1/users", responses((status = 200, body = [User]), (status = 403, body = Problem)))]
pub(super) async fn list_users(
    State(state): State<AppState>,
    Who(who): Who,
) -> ApiResult<Json<Vec<User>>> {
    Ok(Json(state.accounts.users(&who).await?))
}

#[derive(Deserialize, ToSchema)]
pub(super) struct NewUserBody {
    name: String,
    role: Role,
    /// At least 10 characters.
    password: String,
}

/// Creates a user (admin).
#[utoipa::path(post, path = "/api/v1/users", request_body = NewUserBody,
    responses((status = 201, body = User), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub(super) async fn create_user(
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
pub(super) struct UserEditBody {
    role: Option<Role>,
    /// A new password; ends the user's sessions and revokes their API tokens.
    password: Option<String>,
}

/// Changes a user's role, password or both (admin), as one change: when a
/// field is refused (422: the only admin cannot be demoted, the password is
/// too short), nothing changes.
#[utoipa::path(patch, path = "/api/v1/users/{name}", params(("name" = String, Path)), request_body = UserEditBody,
    responses((status = 200, body = User), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub(super) async fn edit_user(
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
pub(super) async fn delete_user(
    State(state): State<AppState>,
    Who(who): Who,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    state.accounts.delete_user(&who, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// API tokens: the caller's own (everyone's for an admin). Secrets are never listed.
#[utoipa::path(get, path = "/api/v1/tokens", responses((status = 200, body = [ApiToken]), (status = 401, body = Problem)))]
pub(super) async fn list_tokens(
    State(state): State<AppState>,
    Who(who): Who,
) -> ApiResult<Json<Vec<ApiToken>>> {
    Ok(Json(state.accounts.tokens(&who).await?))
}

#[derive(Deserialize, ToSchema)]
pub(super) struct NewTokenBody {
    /// What will use it, e.g. "grafana".
    name: String,
    /// At most the caller's own role.
    role: Role,
}

#[derive(Serialize, ToSchema)]
pub(super) struct CreatedToken {
    token: ApiToken,
    /// The whole token, shown this once: send it as `Authorization: Bearer <secret>`.
    secret: String,
}

/// Creates an API token for the caller; its secret is in this answer only.
/// Only with the session cookie: a token cannot make tokens (403).
#[utoipa::path(post, path = "/api/v1/tokens", request_body = NewTokenBody,
    responses((status = 201, body = CreatedToken), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub(super) async fn create_token(
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
pub(super) async fn revoke_token(
    State(state): State<AppState>,
    Who(who): Who,
    Path(id): Path<String>,
) -> ApiResult<Json<ApiToken>> {
    Ok(Json(state.accounts.revoke_token(&who, &id).await?))
}

#[derive(Deserialize)]
pub(super) struct AuditQuery {
    before: Option<i64>,
    limit: Option<usize>,
}

/// The audit log, newest first (admin). Page with `before` = the last id seen.
#[utoipa::path(get, path = "/api/v1/audit",
    params(("before" = Option<i64>, Query), ("limit" = Option<usize>, Query, description = "1-500, default 100")),
    responses((status = 200, body = [AuditEntry]), (status = 403, body = Problem)))]
pub(super) async fn audit_log(
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
