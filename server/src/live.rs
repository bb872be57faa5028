//! `GET /api/live?since=SEQ`: the WebSocket that carries events to browsers
//! and other programs. First every stored event after SEQ, then live ones, one
//! JSON message each (see the README for the format). Closed with code 1001
//! when the server shuts down.
//!
//! Viewers and up only: the session cookie, or an API token in
//! `Authorization: Bearer` (for other programs). The credential is checked
//! again every few seconds, once for all the sockets that use it
//! (`live_recheck.rs`); a revoked token or ended session closes the socket
//! with 4401.
//!
//! A handshake is a GET, so the gate's CSRF check does not cover it, and
//! `SameSite=Lax` still sends the cookie from another origin of the same
//! site (another port of the same host, a sibling subdomain). A socket
//! opened with the cookie must therefore come from Dropwatch's own origin
//! (browsers always send `Origin` on a handshake): otherwise any such page
//! could read the feed (cross-site WebSocket hijacking).
//!
//! Between the events come notices ([`model::Notice`]): a product's deal
//! when it was assessed again and changed, live. A socket catching up on
//! stored events gets, after the first older than [`SETTLED`] that touches
//! a product, that product's current deal instead, once per product: the
//! deal notices sent while it was away are not kept.
//!
//! A client that stops reading is not buffered for: each message must be
//! taken within [`SEND_DEADLINE`], or the socket is closed (code 4408 when
//! the close can still be sent) and the client reconnects with `since`. So a
//! stalled socket holds one message at most, and a revoked credential's
//! sockets close within the recheck period plus that deadline, reading or not.

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::collections::HashSet;
use std::time::Duration;

use tokio::sync::broadcast::error::RecvError;

use model::Role;
use monitor::auth::Credential;
use monitor::Identity;

use crate::problem::Problem;
use crate::rest::Who;
use crate::serve::AppState;

#[derive(Deserialize)]
pub struct LiveQuery {
    since: Option<u64>,
}

/// An event older than this has had its product assessed: its deal is
/// told after it when a socket catches up.
const SETTLED: chrono::TimeDelta = chrono::TimeDelta::seconds(5);

/// At most this many products' deals are told to one socket catching up.
const CATCHUP_DEALS: usize = 20_000;

/// How long one message may wait for a client to take it.
const SEND_DEADLINE: Duration = Duration::from_secs(10);

/// Sends one message, or gives up after [`SEND_DEADLINE`]: `false` means the
/// socket is done with.
async fn send(socket: &mut WebSocket, message: Message) -> bool {
    matches!(
        tokio::time::timeout(SEND_DEADLINE, socket.send(message)).await,
        Ok(Ok(()))
    )
}

/// Closes with `code`, if the client still takes anything at all.
async fn close(socket: &mut WebSocket, code: u16, reason: &'static str) {
    let frame = Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }));
    let _ = tokio::time::timeout(Duration::from_secs(1), socket.send(frame)).await;
}

pub async fn handler(
    ws: WebSocketUpgrade,
    Query(q): Query<LiveQuery>,
    State(state): State<AppState>,
    headers: HeaderMap,
    Who(who): Who,
) -> Response {
    if let Err(e) = who.require(Role::Viewer) {
        return Problem::from(e).into_response();
    }
    if matches!(who.credential, Credential::Session(_))
        && !crate::auth::same_origin(&state, &headers, true)
    {
        tracing::warn!("refused a live socket opened with the session cookie from another origin");
        return Problem::new(
            StatusCode::FORBIDDEN,
            "Cross-site socket refused",
            "The live feed opens from Dropwatch's own pages; other programs send an API token (Authorization: Bearer).",
        )
        .into_response();
    }
    // A live client sends nothing but pings and a close: a small read buffer
    // (the library's default is 128 KiB per socket, 125 MB for 1,000
    // clients), and messages from it are capped. Events are sent and flushed
    // one at a time; a client that stops reading is closed (see `send`).
    ws.read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_write_buffer_size(1024 * 1024)
        .max_message_size(64 * 1024)
        .max_frame_size(64 * 1024)
        .on_upgrade(move |socket| stream(socket, state, who, q.since.unwrap_or(0)))
}

async fn stream(mut socket: WebSocket, state: AppState, who: Identity, since: u64) {
    let mut feed = state.engine.feed(since);
    if let Some(oldest) = feed.missed() {
        // Resuming would leave a gap: say so, and let the client reload.
        let reload = model::Notice::Reload { oldest }.json();
        let _ = send(&mut socket, Message::Text(reload.into())).await;
        close(
            &mut socket,
            4410,
            "events before the oldest kept are gone: reload",
        )
        .await;
        return;
    }
    let mut shutdown = state.shutdown.clone();
    let mut deals = state.engine.deal_book().notices();
    // Products whose deal this socket was told while catching up.
    let mut told: HashSet<String> = HashSet::new();
    // Its credential is checked again with every other socket's.
    let mut open = state.rechecks.open(&who);
    loop {
        tokio::select! {
            _ = open.ended() => {
                close(&mut socket, 4401, "signed out or token revoked").await;
                return;
            }
            next = feed.next_published() => match next {
                Ok(Some(event)) => {
                    // Encoded once for every client that gets it live.
                    let text: &str = &event.json();
                    let deal = catching_up_deal(&state, &event.event, &mut told);
                    for text in std::iter::once(text.into()).chain(deal.map(Into::into)) {
                        if !send(&mut socket, Message::Text(text)).await {
                            tracing::info!("closed a live socket that did not take an event within {SEND_DEADLINE:?}");
                            close(&mut socket, 4408, "too slow: reconnect with since to resume").await;
                            return;
                        }
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!("live feed stopped: {e}");
                    close(&mut socket, 1011, "could not read events; reconnect to resume").await;
                    return;
                }
            },
            notice = deals.recv() => match notice {
                Ok(text) => {
                    let text: &str = &text;
                    if !send(&mut socket, Message::Text(text.into())).await {
                        close(&mut socket, 4408, "too slow: reconnect with since to resume").await;
                        return;
                    }
                }
                // Skipped deals are told again at their product's next change.
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => break,
            },
            incoming = socket.recv() => match incoming {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                // Pings are answered by axum; anything else a client sends is ignored.
                Some(Ok(_)) => {}
            },
            _ = shutdown.changed() => break,
        }
    }
    close(&mut socket, 1001, "server shutting down").await;
}

/// The current deal of the product a stored event touched, when the event
/// is older than [`SETTLED`] (the socket is catching up) and this socket
/// was not told it yet.
fn catching_up_deal(
    state: &AppState,
    event: &model::Event,
    told: &mut HashSet<String>,
) -> Option<String> {
    let product = event.product.as_ref()?;
    let settled = chrono::Utc::now().signed_duration_since(event.at) > SETTLED;
    if !settled || told.len() >= CATCHUP_DEALS || told.contains(&product.key) {
        return None;
    }
    let notice = state.engine.deal_book().notice(&product.key)?;
    told.insert(product.key.clone());
    Some(notice)
}
