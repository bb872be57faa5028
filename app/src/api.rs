//! Server functions: the pages' reads and mutations, answered by the engine
//! on the server.
//!
//! The engine reaches them through Leptos context (the server provides an
//! `Arc<monitor::Engine>` for every request). Every read that a live page
//! continues from carries `last_seq`: the state it returns already includes
//! every event up to that number, and the page's socket starts after it, so
//! nothing is missed or applied twice.

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use serde::{Deserialize, Serialize};

use model::{Event, ProductFilter, ProductPage};

/// How many events the dashboard's feed shows.
pub const FEED_LEN: usize = 40;

#[cfg(feature = "ssr")]
pub(crate) fn engine() -> Result<std::sync::Arc<monitor::Engine>, ServerFnError> {
    use_context::<std::sync::Arc<monitor::Engine>>()
        .ok_or_else(|| ServerFnError::new("the engine is not running"))
}

/// The caller, if their role allows `needed`. A refusal sets the answer's
/// status (401 when nobody is signed in, 403 when the role is too low), so
/// programs and the access tests see it as such.
#[cfg(feature = "ssr")]
pub(crate) fn caller(needed: model::Role) -> Result<monitor::Identity, ServerFnError> {
    let who = use_context::<http::request::Parts>()
        .and_then(|p| p.extensions.get::<monitor::Identity>().cloned());
    let refuse = |status: http::StatusCode, msg: String| {
        if let Some(r) = use_context::<leptos_axum::ResponseOptions>() {
            r.set_status(status);
        }
        ServerFnError::new(msg)
    };
    match who {
        None => Err(refuse(
            http::StatusCode::UNAUTHORIZED,
            "Sign in first.".into(),
        )),
        Some(w) => match w.require(needed) {
            Ok(()) => Ok(w),
            Err(e) => Err(refuse(http::StatusCode::FORBIDDEN, e.to_string())),
        },
    }
}

#[cfg(feature = "ssr")]
pub(crate) fn control() -> Result<monitor::Control, ServerFnError> {
    use_context::<monitor::Control>().ok_or_else(|| ServerFnError::new("the engine is not running"))
}

#[cfg(feature = "ssr")]
pub(crate) fn words(what: &str, e: impl std::fmt::Display) -> ServerFnError {
    ServerFnError::new(format!("{what}: {e}"))
}

/// What the dashboard shows at first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DashboardView {
    pub last_seq: u64,
    /// Every tracked product (not removed), before filtering.
    pub total: usize,
    pub page: ProductPage,
    /// The latest events up to `last_seq`, newest first.
    pub recent: Vec<Event>,
    /// Filter choices: every brand, series and store (key, name) there is,
    /// and every size in stock.
    pub brands: Vec<String>,
    pub series: Vec<String>,
    #[serde(default)]
    pub sizes: Vec<String>,
    pub stores: Vec<(String, String)>,
    /// The caller may create watch rules (editors): cards show "Watch".
    #[serde(default)]
    pub can_watch: bool,
    /// The last 24 hours' trending, every store (the strip above the grid).
    #[serde(default)]
    pub trending: Option<crate::trending::TrendingView>,
}

#[server(input = Json)]
pub async fn load_dashboard(filter: ProductFilter) -> Result<DashboardView, ServerFnError> {
    let who = caller(model::Role::Viewer)?;
    let engine = engine()?;
    crate::picks::learn(&who, &engine, model::picks::Signal::filtered(&filter)).await;
    // `last_seq` first: the state read after it already includes every event
    // up to it (see `Store::commit`), and later events arrive on the socket.
    let last_seq = engine.store().last_seq();
    let all = engine.products_compared();
    let mut recent = engine
        .store()
        .events_since(last_seq.saturating_sub(FEED_LEN as u64), FEED_LEN)
        .await
        .map_err(|e| words("could not read the latest events", e))?;
    recent.retain(|e| e.seq <= last_seq);
    recent.reverse();
    let mut brands: Vec<String> = all.iter().map(|p| p.brand.clone()).collect();
    let mut series: Vec<String> = all
        .iter()
        .map(|p| p.product_type.clone())
        .filter(|s| !s.is_empty())
        .collect();
    for v in [&mut brands, &mut series] {
        v.sort_by_key(|s| s.to_lowercase());
        v.dedup();
    }
    let sizes = model::size_choices(&all);
    let stores = engine
        .sources()
        .into_iter()
        .map(|s| (s.key, s.name))
        .collect();
    Ok(DashboardView {
        last_seq,
        total: all.len(),
        page: filter.apply(all),
        recent,
        brands,
        series,
        sizes,
        stores,
        can_watch: who.viewer.can(model::Role::Editor),
        trending: control()
            .ok()
            .map(|c| crate::trending::trending_view(&c, model::trending::TrendWindow::Day, None)),
    })
}

/// What a form submission did: a message for the user, or what to fix,
/// next to the field it concerns.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FormResult {
    pub ok: bool,
    pub message: String,
    /// (field name, what is wrong with it)
    pub errors: Vec<(String, String)>,
}

impl FormResult {
    pub fn error_for(&self, field: &str) -> Option<String> {
        self.errors
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.clone())
    }

    /// A refusal with what to do, not tied to one field.
    #[cfg(feature = "ssr")]
    pub(crate) fn failed(message: impl Into<String>) -> FormResult {
        FormResult {
            ok: false,
            message: message.into(),
            errors: vec![],
        }
    }

    #[cfg(feature = "ssr")]
    pub(crate) fn field(field: &str, message: impl Into<String>) -> FormResult {
        FormResult {
            ok: false,
            message: "Please correct the marked field.".into(),
            errors: vec![(field.into(), message.into())],
        }
    }
}

/// Whether the request is a plain HTML form post (the page's wasm has not
/// loaded, or JavaScript is off): the browser then expects to be sent back.
#[cfg(feature = "ssr")]
pub(crate) fn plain_form_post() -> bool {
    use_context::<http::request::Parts>()
        .and_then(|p| {
            p.headers
                .get(http::header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.contains("text/html"))
        })
        .unwrap_or(false)
}

/// Without JavaScript a failed form comes back to the sources page with what
/// to fix, and what was typed, in the URL (see `sources::NoJsForm`); with
/// JavaScript the page shows the returned result itself.
#[cfg(feature = "ssr")]
pub(crate) fn back_to_form(
    form: &str,
    result: FormResult,
    typed: &[(&'static str, &str)],
) -> FormResult {
    if !plain_form_post() {
        return result;
    }
    let mut pairs: Vec<(&str, String)> = vec![("form", form.to_string())];
    if let Some((field, error)) = result.errors.first() {
        pairs.push(("field", field.clone()));
        pairs.push(("error", error.clone()));
    }
    pairs.extend(typed.iter().map(|(k, v)| (*k, v.to_string())));
    let url = format!("/sources{}", crate::dashboard::query_string(&pairs));
    if let (Some(resp), Ok(location)) = (
        use_context::<leptos_axum::ResponseOptions>(),
        http::HeaderValue::from_str(&url),
    ) {
        resp.set_status(http::StatusCode::SEE_OTHER);
        resp.insert_header(http::header::LOCATION, location);
    }
    result
}

/// After a successful plain form post, back to a clean sources page (the
/// referring URL may still carry an earlier mistake).
#[cfg(feature = "ssr")]
pub(crate) fn back_to_sources() {
    back_to("/sources");
}

/// A refused plain (JavaScript-less) form post is sent back to `page`
/// with the form's name, the field and what is wrong in the query
/// (`?form=..&field=..&error=..`, see [`NoJsError`]), for the page to show
/// next to that form's field; with JavaScript the page shows the returned
/// result itself.
#[cfg(feature = "ssr")]
pub(crate) fn back_with_error(page: &str, form: &str, result: &FormResult) {
    if !plain_form_post() {
        return;
    }
    let mut pairs: Vec<(&str, String)> = vec![("form", form.to_string())];
    match result.errors.first() {
        Some((field, error)) => {
            pairs.push(("field", field.clone()));
            pairs.push(("error", error.clone()));
        }
        None => pairs.push(("error", result.message.clone())),
    }
    let url = format!("{page}{}", crate::dashboard::query_string(&pairs));
    if let (Some(resp), Ok(location)) = (
        use_context::<leptos_axum::ResponseOptions>(),
        http::HeaderValue::from_str(&url),
    ) {
        resp.set_status(http::StatusCode::SEE_OTHER);
        resp.insert_header(http::header::LOCATION, location);
    }
}

/// What a refused plain form post came back with (see [`back_with_error`]):
/// which form, the field (empty: the form as a whole) and what is wrong.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NoJsError {
    pub form: String,
    pub field: String,
    pub error: String,
}

impl NoJsError {
    /// Read from the page's query, once.
    pub fn from_query() -> NoJsError {
        let q = leptos_router::hooks::use_query_map();
        q.with_untracked(|q| NoJsError {
            form: q.get("form").unwrap_or_default(),
            field: q.get("field").unwrap_or_default(),
            error: q.get("error").unwrap_or_default(),
        })
    }

    /// Whether it came back from `form`.
    pub fn is(&self, form: &str) -> bool {
        !self.error.is_empty() && self.form == form
    }

    /// The error for `form`'s `field`, if it came back with one.
    pub fn for_field(&self, form: &str, field: &str) -> Option<String> {
        (self.is(form) && self.field == field).then(|| self.error.clone())
    }

    /// The error for `form` as a whole (no field), if any.
    pub fn for_form(&self, form: &str) -> Option<String> {
        (self.is(form) && self.field.is_empty()).then(|| self.error.clone())
    }
}

/// A plain (JavaScript-less) form post is sent back to `page`.
#[cfg(feature = "ssr")]
pub(crate) fn back_to(page: &'static str) {
    if plain_form_post() {
        if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
            resp.set_status(http::StatusCode::SEE_OTHER);
            resp.insert_header(http::header::LOCATION, http::HeaderValue::from_static(page));
        }
    }
}

/// "30s", "5m", "2h", "1h30m" or a number of seconds.
pub fn parse_interval(raw: &str) -> Result<u64, String> {
    let raw = raw.trim().to_lowercase();
    if raw.is_empty() {
        return Err("Give an interval, e.g. 30s, 5m or 1h.".into());
    }
    if let Ok(n) = raw.parse::<u64>() {
        return check_secs(n);
    }
    let (mut total, mut num) = (0u64, String::new());
    for c in raw.chars().filter(|c| !c.is_whitespace()) {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => {
                return Err(format!(
                    "{raw:?} is not an interval; write e.g. 30s, 5m or 1h."
                ))
            }
        };
        let n: u64 = num
            .parse()
            .map_err(|_| format!("{raw:?} is not an interval; write e.g. 30s, 5m or 1h."))?;
        total = n
            .checked_mul(unit)
            .and_then(|add| total.checked_add(add))
            .ok_or_else(|| "The interval can be at most 7 days.".to_string())?;
        num.clear();
    }
    if !num.is_empty() {
        return Err(format!("{raw:?} needs a unit: s, m or h."));
    }
    check_secs(total)
}

fn check_secs(n: u64) -> Result<u64, String> {
    if n == 0 {
        Err("The interval must be at least 1 second.".into())
    } else if n > 7 * 86_400 {
        Err("The interval can be at most 7 days.".into())
    } else {
        Ok(n)
    }
}

/// 90 -> "1m30s".
pub fn format_interval(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    let mut out = String::new();
    if h > 0 {
        out += &format!("{h}h");
    }
    if m > 0 {
        out += &format!("{m}m");
    }
    if s > 0 || out.is_empty() {
        out += &format!("{s}s");
    }
    out
}

pub use crate::product_api::*;
pub use crate::sources_api::*;
pub use model::HostView;

/// The status page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatusView {
    pub now: DateTime<Utc>,
    pub sources: Vec<SourceRow>,
    pub hosts: Vec<HostView>,
    /// The instances sharing the database server (empty on one machine).
    pub instances: Vec<model::InstanceView>,
    pub products: usize,
    pub last_seq: u64,
    pub live_clients: usize,
}

#[server(input = Json)]
pub async fn load_status() -> Result<StatusView, ServerFnError> {
    caller(model::Role::Viewer)?;
    let engine = engine()?;
    let hosts = engine.hosts().into_iter().map(HostView::from).collect();
    Ok(StatusView {
        now: Utc::now(),
        sources: crate::sources_api::source_rows(&engine, 10).await?,
        hosts,
        instances: engine.instances().await.unwrap_or_default(),
        products: engine.product_count(),
        last_seq: engine.store().last_seq(),
        live_clients: engine.live_clients(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_read_as_users_write_them() {
        assert_eq!(parse_interval("30s"), Ok(30));
        assert_eq!(parse_interval(" 5m "), Ok(300));
        assert_eq!(parse_interval("1h30m"), Ok(5400));
        assert_eq!(parse_interval("45"), Ok(45));
        assert!(parse_interval("soon").is_err());
        assert!(parse_interval("0s").is_err());
        assert!(parse_interval("10").is_ok());
        assert!(parse_interval("3 parsecs").is_err());
        assert_eq!(format_interval(5400), "1h30m");
        assert_eq!(format_interval(30), "30s");
    }
}
