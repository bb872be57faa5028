//! Logging: human-readable lines by default, JSON with `--log-json`; every
//! request gets an id (`x-request-id`, kept if the client sent one, returned
//! in the answer) that its log lines carry.
//!
//! What a request's log line holds is chosen here, not left to defaults: the
//! method, the path *without its query* (a setup link's token travels in the
//! query) and the id; never headers (cookies, `Authorization`) or bodies
//! (passwords). The server's own messages never print a secret either; a
//! test runs the binary through sign-in, tokens and the metrics token at
//! debug level and searches its output for each one.

use axum::body::Body;
use axum::http::Request;
use axum::Router;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;
use tracing_subscriber::EnvFilter;

pub fn init(json: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new("info,surrealdb=warn,surrealdb_core=warn,surrealkv=warn")
    });
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Adds request ids and one span per request around `app`.
pub fn with_requests(app: Router) -> Router {
    app.layer(PropagateRequestIdLayer::x_request_id())
        .layer(
            TraceLayer::new_for_http()
                // One line per answered request at the default level (status
                // and latency); the "started" line only at debug.
                .on_response(DefaultOnResponse::new().level(Level::INFO))
                .make_span_with(|req: &Request<Body>| {
                    let id = req
                        .headers()
                        .get("x-request-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-");
                    tracing::info_span!(
                        "request",
                        id = %id,
                        method = %req.method(),
                        path = %req.uri().path(),
                    )
                }),
        )
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}
