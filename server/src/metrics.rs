//! `GET /metrics` (Prometheus text format), `GET /readyz`, and the counter
//! of HTTP requests by route and status that every request passes through.
//!
//! `/metrics` is readable by viewers (session or API token) and with the
//! metrics token (`--metrics-token`), which a Prometheus scraper sends as
//! `Authorization: Bearer`.

use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::fmt::Write;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;

use model::Role;
use monitor::metrics::POLL_BUCKETS;

use crate::rest::Who;
use crate::serve::AppState;

/// (route, method, status) -> requests.
#[derive(Default)]
pub struct HttpMetrics(Mutex<BTreeMap<(String, String, u16), u64>>);

/// Counts each request under its route pattern (not its raw path, which
/// would make one series per product), after the answer is known.
///
/// This runs before sign-in, so nothing a stranger chooses may become a
/// label: paths that match no route and unusual methods share fixed labels,
/// and the number of series stays bounded whatever is sent.
pub async fn count(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = route_label(req.extensions().get::<MatchedPath>(), req.uri().path());
    let method = method_label(req.method()).to_string();
    let resp = next.run(req).await;
    let key = (route, method, resp.status().as_u16());
    *state.http_metrics.0.lock().entry(key).or_default() += 1;
    resp
}

/// The route pattern; `/pkg/*` for the site's bundle, and `unmatched` for
/// every other path no route matched (other static files, and 404s).
fn route_label(matched: Option<&MatchedPath>, path: &str) -> String {
    match matched {
        Some(m) => m.as_str().to_string(),
        None if path.starts_with("/pkg/") => "/pkg/*".into(),
        None => "unmatched".into(),
    }
}

/// The standard methods by name, any other as `OTHER`.
fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// `GET /metrics`.
pub async fn metrics(State(state): State<AppState>, Who(who): Who) -> Response {
    if let Err(e) = who.require(Role::Viewer) {
        return crate::problem::Problem::from(e).into_response();
    }
    let e = &state.engine;
    let queue = e.store().delivery_counts().await.unwrap_or_default();
    let m = e.metrics();
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(
        w,
        "# HELP dropwatch_polls_total Poll runs by source and outcome (ok, or the failure class)."
    );
    let _ = writeln!(w, "# TYPE dropwatch_polls_total counter");
    for ((source, outcome), n) in &m.polls {
        let _ = writeln!(
            w,
            "dropwatch_polls_total{{source=\"{}\",outcome=\"{}\"}} {n}",
            label(source),
            label(outcome)
        );
    }
    let _ = writeln!(
        w,
        "# HELP dropwatch_poll_duration_seconds How long poll runs take."
    );
    let _ = writeln!(w, "# TYPE dropwatch_poll_duration_seconds histogram");
    for (le, n) in POLL_BUCKETS.iter().zip(m.poll_seconds.buckets) {
        let _ = writeln!(
            w,
            "dropwatch_poll_duration_seconds_bucket{{le=\"{le}\"}} {n}"
        );
    }
    let _ = writeln!(
        w,
        "dropwatch_poll_duration_seconds_bucket{{le=\"+Inf\"}} {}",
        m.poll_seconds.count
    );
    let _ = writeln!(
        w,
        "dropwatch_poll_duration_seconds_sum {}",
        m.poll_seconds.sum
    );
    let _ = writeln!(
        w,
        "dropwatch_poll_duration_seconds_count {}",
        m.poll_seconds.count
    );
    let _ = writeln!(
        w,
        "# HELP dropwatch_products_tracked Products watched now (not removed)."
    );
    let _ = writeln!(w, "# TYPE dropwatch_products_tracked gauge");
    let _ = writeln!(w, "dropwatch_products_tracked {}", e.product_count());
    let _ = writeln!(w, "# HELP dropwatch_sources Sources configured.");
    let _ = writeln!(w, "# TYPE dropwatch_sources gauge");
    let _ = writeln!(w, "dropwatch_sources {}", e.sources().len());
    let _ = writeln!(
        w,
        "# HELP dropwatch_events_total Events raised since start, by type."
    );
    let _ = writeln!(w, "# TYPE dropwatch_events_total counter");
    for (kind, n) in &m.events {
        let _ = writeln!(w, "dropwatch_events_total{{type=\"{}\"}} {n}", label(kind));
    }
    let _ = writeln!(
        w,
        "# HELP dropwatch_pages_unchanged_total Pages read (product pages, catalogue pages) that were byte for byte the same as the last read, so not parsed again."
    );
    let _ = writeln!(w, "# TYPE dropwatch_pages_unchanged_total counter");
    let _ = writeln!(w, "dropwatch_pages_unchanged_total {}", m.unchanged_pages);
    let i = e.insight_stats();
    for (name, kind, help, value) in [
        (
            "dropwatch_insight_assessments_total",
            "counter",
            "Products whose deal and restock outlook were worked out.",
            i.assessed as f64,
        ),
        (
            "dropwatch_insight_assess_seconds_total",
            "counter",
            "Time spent working them out (history read included).",
            i.assess_secs,
        ),
        (
            "dropwatch_insight_full_passes_total",
            "counter",
            "Passes over every product.",
            i.full_passes as f64,
        ),
        (
            "dropwatch_insight_last_full_pass_seconds",
            "gauge",
            "How long the last pass over every product took.",
            i.last_full_secs,
        ),
        (
            "dropwatch_deals_scored",
            "gauge",
            "Products with a deal score (enough history, in stock).",
            i.scored as f64,
        ),
        (
            "dropwatch_forecasts_fitted_total",
            "counter",
            "Price forecasts fitted (an unchanged history keeps its forecast for the day).",
            i.forecasts as f64,
        ),
        (
            "dropwatch_forecasts_shown",
            "gauge",
            "Products whose forecast beat \"the price stays as it is\" on their own past.",
            i.forecast_shown as f64,
        ),
    ] {
        let _ = writeln!(w, "# HELP {name} {help}");
        let _ = writeln!(w, "# TYPE {name} {kind}");
        let _ = writeln!(w, "{name} {value}");
    }
    let _ = writeln!(
        w,
        "# HELP dropwatch_task_restarts_total Long-lived tasks (schedulers, senders, followers) started again after they failed."
    );
    let _ = writeln!(w, "# TYPE dropwatch_task_restarts_total counter");
    for task in [
        "scheduler",
        "alert_follower",
        "alert_sender",
        "repricer",
        "retention",
    ] {
        let n = m
            .restarts
            .iter()
            .find(|(t, _)| *t == task)
            .map_or(0, |(_, n)| *n);
        let _ = writeln!(w, "dropwatch_task_restarts_total{{task=\"{task}\"}} {n}");
    }
    let _ = writeln!(
        w,
        "# HELP dropwatch_last_event_seq The newest event's sequence number."
    );
    let _ = writeln!(w, "# TYPE dropwatch_last_event_seq gauge");
    let _ = writeln!(w, "dropwatch_last_event_seq {}", e.store().last_seq());
    let _ = writeln!(
        w,
        "# HELP dropwatch_leases_held Host and task leases this instance holds (several instances on one database server; 0 on one machine)."
    );
    let _ = writeln!(w, "# TYPE dropwatch_leases_held gauge");
    let _ = writeln!(w, "dropwatch_leases_held {}", e.leases().held().len());
    let _ = writeln!(w, "# HELP dropwatch_live_clients Open live sockets.");
    let _ = writeln!(w, "# TYPE dropwatch_live_clients gauge");
    let _ = writeln!(w, "dropwatch_live_clients {}", e.live_clients());
    let _ = writeln!(
        w,
        "# HELP dropwatch_memory_entries Entries in each in-memory map or queue that could grow (each is bounded)."
    );
    let _ = writeln!(w, "# TYPE dropwatch_memory_entries gauge");
    let mut maps = e.memory();
    maps.push(("alert_matcher", state.control.alerts.matcher_keys()));
    maps.push(("http_series", state.http_metrics.0.lock().len()));
    for (map, n) in maps {
        let _ = writeln!(w, "dropwatch_memory_entries{{map=\"{map}\"}} {n}");
    }
    let _ = writeln!(
        w,
        "# HELP dropwatch_notifications_total Notification send attempts since start, by channel kind and outcome (sent, retried, failed)."
    );
    let _ = writeln!(w, "# TYPE dropwatch_notifications_total counter");
    for (kind, outcome, n) in state.control.alerts.outcomes() {
        let _ = writeln!(
            w,
            "dropwatch_notifications_total{{kind=\"{kind}\",outcome=\"{outcome}\"}} {n}"
        );
    }
    let _ = writeln!(
        w,
        "# HELP dropwatch_notification_queue Notifications in the delivery queue by state."
    );
    let _ = writeln!(w, "# TYPE dropwatch_notification_queue gauge");
    for (state_name, n) in queue {
        let _ = writeln!(
            w,
            "dropwatch_notification_queue{{state=\"{state_name}\"}} {n}"
        );
    }
    let _ = writeln!(
        w,
        "# HELP dropwatch_http_requests_total HTTP requests by route pattern, method and status."
    );
    let _ = writeln!(w, "# TYPE dropwatch_http_requests_total counter");
    for ((route, method, status), n) in state.http_metrics.0.lock().iter() {
        let _ = writeln!(w, "dropwatch_http_requests_total{{route=\"{}\",method=\"{method}\",status=\"{status}\"}} {n}", label(route));
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response()
}

/// `GET /readyz`: 200 when the store answers, the poller runs and every
/// enabled source's scheduler is alive; 503 (with what is wrong) otherwise.
pub async fn ready(State(state): State<AppState>) -> Response {
    let store_ok = state.engine.store().ping().await;
    let poller = state.engine.running();
    let stopped = state.engine.stopped_schedulers();
    let body = serde_json::json!({
        "store": match &store_ok { Ok(()) => "ok".to_string(), Err(e) => e.to_string() },
        "poller": if poller { "running" } else { "stopped" },
        "stopped_sources": stopped,
    });
    let status = if store_ok.is_ok() && poller && stopped.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_methods_a_stranger_chooses_do_not_become_labels() {
        assert_eq!(route_label(None, "/api/made-up-1234"), "unmatched");
        assert_eq!(route_label(None, "/wp-login.php"), "unmatched");
        assert_eq!(route_label(None, "/pkg/dropwatch.wasm"), "/pkg/*");
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "OTHER");
    }
}
