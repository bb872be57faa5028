//! `POST /webhooks/shopify`: the user's shop telling us its prices and stock
//! changed. Authenticated by `X-Shopify-Hmac-Sha256` over the raw body (a bad
//! or missing signature, or no secret configured yet: 401, nothing stored);
//! deduplicated by `X-Shopify-Webhook-Id`; applied only when newer than what
//! is known (see `monitor::repricing::service::Repricer::webhook`).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use monitor::repricing::service::{RepriceError, WebhookOutcome};

use crate::problem::Problem;
use crate::serve::AppState;

fn header<'a>(h: &'a HeaderMap, name: &str) -> &'a str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

pub async fn shopify(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let topic = header(&headers, "x-shopify-topic");
    let outcome = state
        .control
        .repricing
        .webhook(
            topic,
            header(&headers, "x-shopify-webhook-id"),
            header(&headers, "x-shopify-hmac-sha256"),
            &body,
        )
        .await;
    match outcome {
        Ok(o) => {
            tracing::info!(topic, outcome = ?o, "shop webhook");
            let word = match o {
                WebhookOutcome::Applied(_) => "applied",
                WebhookOutcome::Duplicate => "duplicate",
                WebhookOutcome::Ignored => "ignored",
            };
            (StatusCode::OK, word).into_response()
        }
        Err(RepriceError::BadSignature) => {
            tracing::warn!(topic, "refused a shop webhook with a bad signature");
            Problem::new(
                StatusCode::UNAUTHORIZED,
                "Bad signature",
                "The X-Shopify-Hmac-Sha256 header does not match this body (or no webhook secret is configured).",
            )
            .into_response()
        }
        Err(RepriceError::Invalid(why)) => Problem::invalid(why).into_response(),
        Err(e) => Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "Could not record the webhook",
            &e.to_string(),
        )
        .into_response(),
    }
}
