//! `/api/v1/events`: the event log after a sequence number, paged, with
//! 410 Gone when the events after the cursor are no longer kept.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use model::{Event, Role};

use crate::problem::Problem;
use crate::serve::AppState;

use super::{allow, store_error, ApiResult, Who};

#[derive(Deserialize)]
pub(super) struct EventsQuery {
    since: Option<u64>,
    limit: Option<usize>,
}

#[derive(Serialize, ToSchema)]
pub(super) struct EventPage {
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
pub(super) async fn list_events(
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
