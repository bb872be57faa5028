//! `/api/v1` routes for alerts: rules, channels (their addresses never come
//! back, only a masked form), "send test", the notification log, and a
//! browser's Web Push subscription (the page's `push.js` calls these).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use model::{ChannelInfo, Condition, Delivery, Role, Rule, Scope};

use crate::problem::Problem;
use crate::rest::Who;
use crate::serve::AppState;

type ApiResult<T> = Result<T, Problem>;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/rules", get(list_rules).post(create_rule))
        .route(
            "/api/v1/rules/{id}",
            axum::routing::patch(edit_rule).delete(delete_rule),
        )
        .route("/api/v1/channels", get(list_channels).post(create_channel))
        .route(
            "/api/v1/channels/{id}",
            axum::routing::delete(delete_channel),
        )
        .route("/api/v1/channels/{id}/test", post(test_channel))
        .route("/api/v1/notifications", get(list_notifications))
        .route("/api/v1/push/key", get(push_key))
        .route(
            "/api/v1/push/subscriptions",
            post(subscribe).delete(unsubscribe),
        )
}

/// A new rule. Empty `name`: one is made from the scope and condition.
#[derive(Deserialize, ToSchema)]
pub struct RuleBody {
    #[serde(default)]
    name: String,
    #[serde(default)]
    scope: Scope,
    condition: Condition,
    /// Channel ids.
    channels: Vec<String>,
    #[serde(default = "default_cooldown")]
    cooldown_secs: u64,
    #[serde(default)]
    paused: bool,
}

fn default_cooldown() -> u64 {
    900
}

/// A rule's changes; fields left out stay as they are. A field this does
/// not know is refused (422), like an invalid one: nothing changes.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleEditBody {
    name: Option<String>,
    scope: Option<Scope>,
    condition: Option<Condition>,
    channels: Option<Vec<String>>,
    cooldown_secs: Option<u64>,
    paused: Option<bool>,
}

#[utoipa::path(get, path = "/api/v1/rules", responses((status = 200, body = [Rule]), (status = 401, body = Problem)))]
pub async fn list_rules(State(s): State<AppState>, Who(who): Who) -> ApiResult<Json<Vec<Rule>>> {
    who.require(Role::Viewer).map_err(Problem::from)?;
    Ok(Json(s.control.alerts.rules()))
}

/// Creates a watch rule (editors).
#[utoipa::path(post, path = "/api/v1/rules", request_body = RuleBody,
    responses((status = 201, body = Rule), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_rule(
    State(s): State<AppState>,
    Who(who): Who,
    Json(b): Json<RuleBody>,
) -> ApiResult<Response> {
    let rule = s
        .control
        .alerts
        .save_rule(
            &who,
            Rule {
                id: String::new(),
                name: b.name,
                scope: b.scope,
                condition: b.condition,
                channels: b.channels,
                cooldown_secs: b.cooldown_secs,
                paused: b.paused,
                // Both set when saved: when, and who by.
                created: Default::default(),
                owner: None,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(rule)).into_response())
}

/// Changes a rule (editors); pause or resume with `paused`. Checked whole
/// and saved once: when a field is refused (422), nothing changes.
#[utoipa::path(patch, path = "/api/v1/rules/{id}", params(("id" = String, Path)), request_body = RuleEditBody,
    responses((status = 200, body = Rule), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn edit_rule(
    State(s): State<AppState>,
    Who(who): Who,
    Path(id): Path<String>,
    Json(b): Json<RuleEditBody>,
) -> ApiResult<Json<Rule>> {
    who.require(Role::Editor).map_err(Problem::from)?;
    let alerts = &s.control.alerts;
    let mut rule = alerts.rule(&id)?;
    let only_pause = b.name.is_none()
        && b.scope.is_none()
        && b.condition.is_none()
        && b.channels.is_none()
        && b.cooldown_secs.is_none();
    if let (true, Some(p)) = (only_pause, b.paused) {
        return Ok(Json(alerts.set_rule_paused(&who, &id, p).await?));
    }
    rule.name = b.name.unwrap_or(rule.name);
    rule.scope = b.scope.unwrap_or(rule.scope);
    rule.condition = b.condition.unwrap_or(rule.condition);
    rule.channels = b.channels.unwrap_or(rule.channels);
    rule.cooldown_secs = b.cooldown_secs.unwrap_or(rule.cooldown_secs);
    rule.paused = b.paused.unwrap_or(rule.paused);
    Ok(Json(alerts.save_rule(&who, rule).await?))
}

#[utoipa::path(delete, path = "/api/v1/rules/{id}", params(("id" = String, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete_rule(
    State(s): State<AppState>,
    Who(who): Who,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    s.control.alerts.delete_rule(&who, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A channel: a name and an Apprise-style URL (`discord://ID/TOKEN`,
/// `slack://T/B/X`, `tgram://BOT/CHAT`, `ntfy://topic`, `json://host/path`,
/// `mailto://user:pass@host?to=...`). The URL is never shown again.
#[derive(Deserialize, ToSchema)]
pub struct ChannelBody {
    #[serde(default)]
    name: String,
    url: String,
}

#[utoipa::path(get, path = "/api/v1/channels", responses((status = 200, body = [ChannelInfo]), (status = 401, body = Problem)))]
pub async fn list_channels(
    State(s): State<AppState>,
    Who(who): Who,
) -> ApiResult<Json<Vec<ChannelInfo>>> {
    who.require(Role::Viewer).map_err(Problem::from)?;
    Ok(Json(s.control.alerts.channels()))
}

/// Adds a channel (editors). The answer shows the address masked.
#[utoipa::path(post, path = "/api/v1/channels", request_body = ChannelBody,
    responses((status = 201, body = ChannelInfo), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_channel(
    State(s): State<AppState>,
    Who(who): Who,
    Json(b): Json<ChannelBody>,
) -> ApiResult<Response> {
    let c = s.control.alerts.add_channel(&who, &b.name, &b.url).await?;
    Ok((StatusCode::CREATED, Json(c)).into_response())
}

#[utoipa::path(delete, path = "/api/v1/channels/{id}", params(("id" = String, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete_channel(
    State(s): State<AppState>,
    Who(who): Who,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    s.control.alerts.remove_channel(&who, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// How a test message went.
#[derive(Serialize, ToSchema)]
pub struct TestResult {
    delivered: bool,
    /// Why not, in words.
    error: Option<String>,
}

/// Sends a test message to the channel now (editors) and says whether the
/// service took it.
#[utoipa::path(post, path = "/api/v1/channels/{id}/test", params(("id" = String, Path)),
    responses((status = 200, body = TestResult), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn test_channel(
    State(s): State<AppState>,
    Who(who): Who,
    Path(id): Path<String>,
) -> ApiResult<Json<TestResult>> {
    use monitor::alerts::AlertError;
    match s.control.alerts.send_test(&who, &id).await {
        Ok(()) => Ok(Json(TestResult {
            delivered: true,
            error: None,
        })),
        Err(AlertError::TestFailed(why)) => Ok(Json(TestResult {
            delivered: false,
            error: Some(why),
        })),
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct LogQuery {
    limit: Option<usize>,
}

/// The notification log, newest first: what was sent, when, to which
/// channel, and failures in words.
#[utoipa::path(get, path = "/api/v1/notifications",
    params(("limit" = Option<usize>, Query, description = "1-500, default 100")),
    responses((status = 200, body = [Delivery]), (status = 401, body = Problem)))]
pub async fn list_notifications(
    State(s): State<AppState>,
    Who(who): Who,
    Query(q): Query<LogQuery>,
) -> ApiResult<Json<Vec<Delivery>>> {
    Ok(Json(
        s.control.alerts.log(&who, q.limit.unwrap_or(100)).await?,
    ))
}

/// The key browsers subscribe with (`applicationServerKey`).
#[derive(Serialize, ToSchema)]
pub struct PushKey {
    /// base64url, uncompressed P-256 point.
    public_key: String,
}

#[utoipa::path(get, path = "/api/v1/push/key", responses((status = 200, body = PushKey), (status = 401, body = Problem)))]
pub async fn push_key(State(s): State<AppState>, Who(who): Who) -> ApiResult<Json<PushKey>> {
    who.require(Role::Viewer).map_err(Problem::from)?;
    Ok(Json(PushKey {
        public_key: s.control.alerts.vapid_public_key(),
    }))
}

/// A browser's subscription, as `PushSubscription.toJSON()` gives it, and a
/// name for the device.
#[derive(Deserialize, ToSchema)]
pub struct SubscriptionBody {
    #[serde(default)]
    name: String,
    #[schema(value_type = Object)]
    subscription: serde_json::Value,
}

/// Registers this browser for Web Push as a channel of the signed-in user
/// (any role; the same subscription twice is one channel).
#[utoipa::path(post, path = "/api/v1/push/subscriptions", request_body = SubscriptionBody,
    responses((status = 201, body = ChannelInfo), (status = 401, body = Problem), (status = 422, body = Problem)))]
pub async fn subscribe(
    State(s): State<AppState>,
    Who(who): Who,
    Json(b): Json<SubscriptionBody>,
) -> ApiResult<Response> {
    let name = if b.name.trim().is_empty() {
        "This browser"
    } else {
        b.name.as_str()
    };
    let c = s
        .control
        .alerts
        .add_push_subscription(&who, name, &b.subscription.to_string())
        .await?;
    Ok((StatusCode::CREATED, Json(c)).into_response())
}

/// Which subscription to end.
#[derive(Deserialize, ToSchema)]
pub struct UnsubscribeBody {
    endpoint: String,
}

/// Ends this browser's push channel (its owner, or an editor).
#[utoipa::path(delete, path = "/api/v1/push/subscriptions", request_body = UnsubscribeBody,
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn unsubscribe(
    State(s): State<AppState>,
    Who(who): Who,
    Json(b): Json<UnsubscribeBody>,
) -> ApiResult<StatusCode> {
    s.control
        .alerts
        .remove_push_subscription(&who, &b.endpoint)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
