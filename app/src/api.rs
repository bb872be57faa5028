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

use model::{Event, PricePoint, Product, ProductFilter, ProductPage, StockPoint};

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
    /// Filter choices: every brand, series and store (key, name) there is.
    pub brands: Vec<String>,
    pub series: Vec<String>,
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
        stores,
        can_watch: who.viewer.can(model::Role::Editor),
        trending: control()
            .ok()
            .map(|c| crate::trending::trending_view(&c, model::trending::TrendWindow::Day, None)),
    })
}

/// Everything the product page shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProductDetail {
    pub last_seq: u64,
    pub product: Product,
    pub source_name: String,
    /// Oldest first.
    pub prices: Vec<PricePoint>,
    pub stock: Vec<StockPoint>,
    /// Its deal score and restock outlook as last assessed.
    #[serde(default)]
    pub insight: Option<model::restock::ProductInsight>,
}

/// One store's offer of an item, for the comparison.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoreOffer {
    pub key: String,
    pub store: String,
    pub title: String,
    pub url: String,
    pub currency: String,
    /// The lowest price of a size in stock; none when sold out.
    pub in_stock_from: Option<model::Decimal>,
    pub lowest: model::Decimal,
    pub sizes_in_stock: Vec<String>,
    /// None for the product itself.
    pub matched_by: Option<model::MatchedBy>,
}

impl StoreOffer {
    pub fn of(p: &Product, store: String, matched_by: Option<model::MatchedBy>) -> StoreOffer {
        StoreOffer {
            key: p.key.clone(),
            store,
            title: p.title.clone(),
            url: p.url.clone(),
            currency: p.currency.clone(),
            in_stock_from: p
                .variants
                .iter()
                .filter(|v| v.available)
                .filter_map(|v| v.price)
                .min(),
            lowest: p.price_range().map(|r| r.0).unwrap_or_default(),
            sizes_in_stock: p.sizes_in_stock(),
            matched_by,
        }
    }
}

/// The product page's comparison across stores.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// The same item in other stores (with this one first).
    pub offers: Vec<StoreOffer>,
    /// Products a user said are not this item.
    pub kept_apart: Vec<StoreOffer>,
    /// Products of other stores that could be merged with this one by hand:
    /// (key, "store — title"), by brand first.
    pub candidates: Vec<(String, String)>,
    /// Whether the caller may confirm, split and merge (editors).
    pub can_edit: bool,
}

#[server(input = Json)]
pub async fn load_comparison(key: String) -> Result<Comparison, ServerFnError> {
    let who = caller(model::Role::Viewer)?;
    let engine = engine()?;
    let Some(product) = engine.product(&key) else {
        return Ok(Comparison::default());
    };
    let names: std::collections::HashMap<String, String> = engine
        .sources()
        .into_iter()
        .map(|s| (s.key, s.name))
        .collect();
    let name_of = |k: &str| names.get(k).cloned().unwrap_or_else(|| k.to_string());
    let mut offers = vec![StoreOffer::of(&product, name_of(&product.source), None)];
    let same = engine.same_items(&key);
    offers.extend(
        same.iter()
            .map(|(p, why)| StoreOffer::of(p, name_of(&p.source), Some(*why))),
    );
    let can_edit = who.viewer.can(model::Role::Editor);
    let mut kept_apart = vec![];
    let mut candidates = vec![];
    if can_edit {
        let all = engine.products();
        for s in &all {
            if s.source == product.source || offers.iter().any(|o| o.key == s.key) {
                continue;
            }
            if engine.verdict(&key, &s.key) == Some(false) {
                if let Some(p) = engine.product(&s.key) {
                    kept_apart.push(StoreOffer::of(&p, name_of(&p.source), None));
                }
                continue;
            }
            candidates.push((
                s.brand.eq_ignore_ascii_case(&product.brand),
                s.key.clone(),
                format!("{} — {} ({})", name_of(&s.source), s.title, s.price_label()),
            ));
        }
        // Same brand first, then by title; at most 200 to choose from.
        candidates.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.2.cmp(&b.2)));
        candidates.truncate(200);
    }
    Ok(Comparison {
        offers,
        kept_apart,
        candidates: candidates.into_iter().map(|(_, k, l)| (k, l)).collect(),
        can_edit,
    })
}

/// A user's verdict on whether two products are the same item (editors):
/// `same` (confirm or merge), `different` (split) or `auto` (undo).
#[server]
pub async fn judge_match(
    key: String,
    other: String,
    verdict: String,
) -> Result<FormResult, ServerFnError> {
    let who = caller(model::Role::Editor)?;
    let same = match verdict.as_str() {
        "same" => Some(true),
        "different" => Some(false),
        "auto" => None,
        v => return Ok(FormResult::field("other", format!("unknown verdict {v:?}"))),
    };
    let other = other.trim().trim_start_matches("/product/").to_string();
    if other.is_empty() {
        return Ok(FormResult::field(
            "other",
            "choose the product in another store",
        ));
    }
    match control()?.judge_match(&who, &key, &other, same).await {
        Ok(()) => Ok(FormResult {
            ok: true,
            message: match same {
                Some(true) => "Kept together as the same item.".into(),
                Some(false) => "Kept apart: not the same item.".into(),
                None => "Back to automatic matching.".into(),
            },
            errors: vec![],
        }),
        Err(monitor::ControlError::Engine(monitor::EngineError::InvalidSource(m))) => {
            Ok(FormResult::field("other", m))
        }
        Err(e) => Err(words("could not save the match", e)),
    }
}

/// `None` when no product has that key.
#[server(input = Json)]
pub async fn load_product(key: String) -> Result<Option<ProductDetail>, ServerFnError> {
    caller(model::Role::Viewer)?;
    let engine = engine()?;
    let last_seq = engine.store().last_seq();
    let Some(product) = engine.product(&key) else {
        return Ok(None);
    };
    let prices = engine
        .store()
        .price_history(&key)
        .await
        .map_err(|e| words("could not read the price history", e))?;
    let stock = engine
        .store()
        .stock_history(&key)
        .await
        .map_err(|e| words("could not read the stock history", e))?;
    let source_name = engine
        .sources()
        .into_iter()
        .find(|s| s.key == product.source)
        .map(|s| s.name)
        .unwrap_or_else(|| product.source.clone());
    Ok(Some(ProductDetail {
        last_seq,
        product,
        source_name,
        prices,
        stock,
        insight: engine.insight(&key).map(|d| (*d).clone()),
    }))
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

pub use crate::sources_api::*;
pub use model::HostView;

/// The status page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatusView {
    pub now: DateTime<Utc>,
    pub sources: Vec<SourceRow>,
    pub hosts: Vec<HostView>,
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
