//! Sending one notification to one HTTP channel, in each service's own wire
//! format (docs/external-apis.md), and sorting what came back into
//! "sent", "try again after", "try again later" and "give up, because".

use std::time::Duration;

use serde_json::{json, Value};

use model::{Event, EventKind};

use super::channel::{Channel, Endpoints};

/// What a notification says, built once from an event for every channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub title: String,
    /// One or two lines: prices, sizes.
    pub body: String,
    /// The product in its store.
    pub url: Option<String>,
    pub image: Option<String>,
    /// Discord embed colour: green for good news (drop, restock), red otherwise.
    pub good_news: bool,
    pub sizes_in_stock: Vec<String>,
    pub at: chrono::DateTime<chrono::Utc>,
}

impl Message {
    pub fn from_event(e: &Event) -> Message {
        let p = e.product.as_ref();
        let title_of = p
            .map(|p| p.title.clone())
            .unwrap_or_else(|| e.source.clone());
        let size = e
            .variant
            .as_ref()
            .map(|v| format!(" size {}", v.size))
            .unwrap_or_default();
        let currency = p.map(|p| p.currency.as_str()).unwrap_or("");
        let (title, body, good_news) = match e.kind {
            EventKind::PriceChanged => {
                let (old, new) = (
                    e.old_price.unwrap_or_default(),
                    e.new_price.unwrap_or_default(),
                );
                let drop = e.price_move().is_some_and(|m| m.is_drop());
                let pct = e
                    .price_move()
                    .and_then(|m| m.percent())
                    .map(|p| format!(" ({p:+.1}%)"))
                    .unwrap_or_default();
                (
                    format!(
                        "{} {title_of}{size}",
                        if drop { "Price drop:" } else { "Price rise:" }
                    ),
                    format!("{old} -> {new} {currency}{pct}"),
                    drop,
                )
            }
            EventKind::Restocked => (format!("Restocked: {title_of}{size}"), price_line(e), true),
            EventKind::SoldOut => (format!("Sold out: {title_of}{size}"), price_line(e), false),
            EventKind::NewProduct => (format!("New: {title_of}"), price_line(e), true),
            EventKind::Removed => (format!("Removed: {title_of}"), String::new(), false),
            EventKind::Blocked => (
                format!("Source blocked: {}", e.source),
                e.reason.clone().unwrap_or_default(),
                false,
            ),
            EventKind::Unblocked => (format!("Source back: {}", e.source), String::new(), true),
            // No rule matches these today; worded for when one does.
            EventKind::RepriceProposed | EventKind::RepricePushed => {
                (e.describe(), String::new(), true)
            }
            EventKind::RepriceFailed => (e.describe(), String::new(), false),
        };
        Message {
            title,
            body,
            url: p.map(|p| p.url.clone()),
            image: p.and_then(|p| p.image.clone()),
            good_news,
            sizes_in_stock: p.map(|p| p.sizes_in_stock.clone()).unwrap_or_default(),
            at: e.at,
        }
    }

    pub(super) fn text(&self) -> String {
        let mut t = self.title.clone();
        if !self.body.is_empty() {
            t += &format!("\n{}", self.body);
        }
        if !self.sizes_in_stock.is_empty() {
            t += &format!("\nIn stock: {}", self.sizes_in_stock.join(", "));
        }
        if let Some(u) = &self.url {
            t += &format!("\n{u}");
        }
        t
    }
}

fn price_line(e: &Event) -> String {
    match (&e.variant, &e.product) {
        (Some(v), Some(p)) => match v.price {
            Some(price) => format!("{price} {}", p.currency),
            None => model::UNKNOWN_PRICE.into(),
        },
        (None, Some(p)) => p.price_label(),
        _ => String::new(),
    }
}

/// How a send ended, when it did not succeed.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The service asked us to wait (429 with `retry_after` / `Retry-After`).
    #[error("rate limited; retry after {0:?}")]
    RetryAfter(Duration),
    /// Worth another try later (5xx, timeout, connection refused).
    #[error("{0}")]
    Transient(String),
    /// Retrying cannot help (bad token, webhook deleted, bad request).
    #[error("{0}")]
    Permanent(String),
    /// A push subscription that no longer exists (404/410): the channel is
    /// deleted.
    #[error("{0}")]
    Gone(String),
}

/// The request body for a channel.
pub fn payload(channel: &Channel, m: &Message) -> Value {
    match channel {
        Channel::Discord { .. } => {
            let mut fields = vec![];
            if !m.sizes_in_stock.is_empty() {
                fields.push(json!({ "name": "In stock", "value": m.sizes_in_stock.join(", "), "inline": false }));
            }
            let mut embed = json!({
                "title": truncate(&m.title, 256),
                "description": truncate(&m.body, 4096),
                "color": if m.good_news { 0x15803d } else { 0xb91c1c },
                "fields": fields,
                "footer": { "text": "Dropwatch" },
                "timestamp": m.at.to_rfc3339(),
            });
            if let Some(u) = &m.url {
                embed["url"] = json!(u);
            }
            if let Some(i) = &m.image {
                embed["thumbnail"] = json!({ "url": i });
            }
            json!({ "username": "Dropwatch", "embeds": [embed] })
        }
        Channel::Slack { .. } => json!({ "text": m.text() }),
        Channel::Telegram { chat_id, .. } => json!({
            "chat_id": chat_id,
            "text": truncate(&m.text(), 4096),
            "disable_web_page_preview": false,
        }),
        Channel::Ntfy { .. } => Value::String(m.body.clone()),
        Channel::Json { .. } => json!({
            "title": m.title,
            "body": m.body,
            "url": m.url,
            "image": m.image,
            "sizes_in_stock": m.sizes_in_stock,
            "at": m.at,
        }),
        Channel::Email { .. } => Value::Null,
        // What the service worker shows (public/sw.js reads these names).
        Channel::WebPush { .. } => json!({
            "title": m.title,
            "body": if m.sizes_in_stock.is_empty() { m.body.clone() } else {
                format!("{}\nIn stock: {}", m.body, m.sizes_in_stock.join(", "))
            },
            "url": m.url,
            "icon": m.image,
        }),
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        s.chars().take(max - 1).collect::<String>() + "…"
    }
}

/// A channel's `Retry-After`, bounded (see [`crate::bounds`]).
fn retry_after_header(resp: &reqwest::Response) -> Option<Duration> {
    let value = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?;
    crate::bounds::retry_after(value, chrono::Utc::now(), crate::bounds::MAX_WAIT)
}

/// Sends `m` to a channel.
pub async fn send(
    outbound: &crate::outbound::Outbound,
    at: &Endpoints,
    channel: &Channel,
    m: &Message,
) -> Result<(), SendError> {
    if let Channel::Email { .. } = channel {
        return super::email::send(at, channel, m).await;
    }
    let url = channel.endpoint(at).ok_or_else(|| {
        SendError::Permanent(format!("{} is not an HTTP channel", channel.kind()))
    })?;
    // Checked on every send, not only when saved: the policy may have
    // changed, and a name may resolve elsewhere now. No redirects are
    // followed (the client refuses them): a channel answers where it is.
    let http = outbound
        .client_for(&url)
        .map_err(|e| SendError::Permanent(format!("{}: refused: {e}", channel.kind())))?;
    let body = payload(channel, m);
    let req = match channel {
        Channel::WebPush { p256dh, auth, .. } => {
            super::push::request(http, at, url.clone(), p256dh, auth, &body)?
        }
        Channel::Ntfy { .. } => {
            let mut r = http
                .post(url)
                .body(m.body.clone())
                .header("Title", &m.title);
            if let Some(u) = &m.url {
                r = r.header("Click", u);
            }
            r.header("Priority", if m.good_news { "4" } else { "3" })
                .header("Tags", if m.good_news { "tada" } else { "warning" })
        }
        _ => http.post(url).json(&body),
    };
    let resp = req.send().await.map_err(|e| {
        SendError::Transient(format!(
            "{} did not answer: {}",
            channel.kind(),
            without_url(&e)
        ))
    })?;
    let status = resp.status();
    if status.is_success() {
        return Ok(());
    }
    if matches!(channel, Channel::WebPush { .. }) && matches!(status.as_u16(), 404 | 410) {
        return Err(SendError::Gone(format!(
            "the push service answered {status}: this browser's subscription has ended"
        )));
    }
    let header_wait = retry_after_header(&resp);
    // Read only so far: the host behind a channel (anyone's, for a push
    // subscription) could answer with an endless body. 16 KiB is plenty for
    // the words shown.
    const MAX_ERROR_BODY: usize = 16 * 1024;
    let mut resp = resp;
    let mut body = Vec::new();
    while body.len() < MAX_ERROR_BODY {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                let room = MAX_ERROR_BODY - body.len();
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            _ => break,
        }
    }
    let text = String::from_utf8_lossy(&body).into_owned();
    let json: Option<Value> = serde_json::from_str(&text).ok();
    if status.as_u16() == 429 {
        let wait = json
            .as_ref()
            .and_then(|j| {
                j.get("retry_after")
                    .or_else(|| j.pointer("/parameters/retry_after"))
            })
            .and_then(Value::as_f64)
            .and_then(|secs| crate::bounds::wait_secs(secs, crate::bounds::MAX_WAIT))
            .or(header_wait)
            .unwrap_or(Duration::from_secs(30));
        return Err(SendError::RetryAfter(wait));
    }
    let said = json
        .as_ref()
        .and_then(|j| {
            j.get("description")
                .or_else(|| j.get("message"))
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_else(|| text.chars().take(200).collect());
    let what = format!("{} answered {status}: {said}", channel.kind());
    if status.is_server_error() {
        Err(SendError::Transient(what))
    } else {
        Err(SendError::Permanent(what))
    }
}

/// A reqwest error's words and causes ("error sending request: client
/// error (Connect): dns error: ..."), without the URL (which holds the
/// webhook token).
fn without_url(e: &reqwest::Error) -> String {
    let url = e.url().map(|u| u.to_string());
    let mut words = vec![];
    let mut cause: Option<&dyn std::error::Error> = Some(e);
    while let Some(c) = cause {
        let mut w = c.to_string();
        if let Some(u) = &url {
            w = w
                .replace(&format!(" for url ({u})"), "")
                .replace(u.as_str(), "(the channel)");
        }
        if !words.iter().any(|x: &String| x.contains(&w)) {
            words.push(w);
        }
        cause = c.source();
    }
    words.join(": ")
}
