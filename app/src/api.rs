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

use model::{
    Event, PollRun, PricePoint, Product, ProductFilter, ProductPage, RunProgress, Source,
    StockPoint,
};

/// How many events the dashboard's feed shows.
pub const FEED_LEN: usize = 40;

#[cfg(feature = "ssr")]
fn engine() -> Result<std::sync::Arc<monitor::Engine>, ServerFnError> {
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
    }))
}

/// A source with its run in progress and its latest runs (newest first).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SourceRow {
    pub source: Source,
    pub progress: Option<RunProgress>,
    pub runs: Vec<PollRun>,
}

impl SourceRow {
    pub fn running(&self) -> bool {
        self.progress.as_ref().is_some_and(|p| p.running)
    }
}

/// How many past runs a source shows.
pub const RUNS_SHOWN: usize = 5;

#[cfg(feature = "ssr")]
async fn source_rows(
    engine: &monitor::Engine,
    runs: usize,
) -> Result<Vec<SourceRow>, ServerFnError> {
    let sources = engine.sources();
    let keys: Vec<String> = sources.iter().map(|s| s.key.clone()).collect();
    let mut latest = engine
        .store()
        .latest_runs(&keys, runs)
        .await
        .map_err(|e| words("could not read the poll runs", e))?;
    Ok(sources
        .into_iter()
        .map(|source| SourceRow {
            progress: engine.progress(&source.key),
            runs: latest.remove(&source.key).unwrap_or_default(),
            source,
        })
        .collect())
}

/// The sources page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SourcesView {
    pub last_seq: u64,
    pub rows: Vec<SourceRow>,
    /// Whether the caller may add, change and check sources (editors and admins).
    pub can_edit: bool,
    /// The connector accounts, for admins (who set them); `None` for others.
    #[serde(default)]
    pub connectors: Option<ConnectorsView>,
}

/// Which connector accounts are set; never their passwords, keys or salts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ConnectorsView {
    pub oxylabs_user: Option<String>,
    /// Whether Amazon sources use the built-in demo's fake Oxylabs.
    pub oxylabs_demo: bool,
    /// Pop Mart regions with a client key and signing salt.
    pub popmart_regions: Vec<String>,
    /// Whether the built-in demo runs (its fakes can be used).
    pub demo: bool,
}

#[server(input = Json)]
pub async fn load_sources() -> Result<SourcesView, ServerFnError> {
    let who = caller(model::Role::Viewer)?;
    let engine = engine()?;
    let last_seq = engine.store().last_seq();
    Ok(SourcesView {
        last_seq,
        rows: source_rows(&engine, RUNS_SHOWN).await?,
        can_edit: who.viewer.can(model::Role::Editor),
        connectors: who.viewer.can(model::Role::Admin).then(|| {
            let c = engine.connector_status();
            ConnectorsView {
                oxylabs_user: c.oxylabs_user,
                oxylabs_demo: c.oxylabs_demo,
                popmart_regions: c.popmart_regions,
                demo: engine.demo_base().is_some(),
            }
        }),
    })
}

/// Sets the Oxylabs account Amazon sources use (admins). The password is
/// sealed in the vault and never shown again.
#[server]
pub async fn save_oxylabs(user: String, password: String) -> Result<FormResult, ServerFnError> {
    let who = caller(model::Role::Admin)?;
    match control()?.set_oxylabs(&who, &user, &password, "").await {
        Ok(()) => {
            back_to_sources();
            Ok(FormResult {
                ok: true,
                message: format!("Saved the Oxylabs account {:?}.", user.trim()),
                errors: vec![],
            })
        }
        Err(monitor::ControlError::Engine(monitor::EngineError::InvalidSource(m))) => {
            Ok(FormResult::field("password", m))
        }
        Err(e) => Err(words("could not save the Oxylabs account", e)),
    }
}

/// Sets a Pop Mart region's client key and signing salt (admins).
#[server]
pub async fn save_popmart_keys(
    region: String,
    client_key: String,
    salt: String,
) -> Result<FormResult, ServerFnError> {
    let who = caller(model::Role::Admin)?;
    match control()?
        .set_popmart_keys(&who, &region, &client_key, &salt)
        .await
    {
        Ok(()) => {
            back_to_sources();
            Ok(FormResult {
                ok: true,
                message: format!(
                    "Saved the Pop Mart keys for {}.",
                    region.trim().to_uppercase()
                ),
                errors: vec![],
            })
        }
        Err(monitor::ControlError::Engine(monitor::EngineError::InvalidSource(m))) => {
            Ok(FormResult::field("salt", m))
        }
        Err(e) => Err(words("could not save the Pop Mart keys", e)),
    }
}

/// Points Amazon and Pop Mart sources at the built-in demo's fakes (admins),
/// and says what to add to try them.
#[server]
pub async fn use_demo_connectors() -> Result<FormResult, ServerFnError> {
    let who = caller(model::Role::Admin)?;
    let control = control()?;
    let popmart = control
        .use_demo_connectors(&who)
        .await
        .map_err(|e| words("could not use the demo connectors", e))?;
    let asins: Vec<String> = control
        .engine
        .products()
        .iter()
        .filter(|p| p.source == "demo")
        .take(3)
        .filter_map(|p| {
            p.key
                .rsplit(':')
                .next()
                .and_then(|id| id.parse::<u64>().ok())
        })
        .map(monitor::demo::oxylabs::asin_of)
        .collect();
    back_to_sources();
    Ok(FormResult {
        ok: true,
        message: format!(
            "Amazon sources now read the demo's Oxylabs (its Amazon mirrors the demo store; try the ASINs {}), and Pop Mart sources the demo's Pop Mart at {popmart} (product ids 1159 to 1169).",
            asins.join(" ")
        ),
        errors: vec![],
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
fn back_to_form(form: &str, result: FormResult, typed: &[(&'static str, &str)]) -> FormResult {
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
fn back_to_sources() {
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

#[server]
#[allow(clippy::too_many_arguments)]
pub async fn add_source(
    kind: String,
    url: String,
    name: String,
    interval: String,
    price_selector: Option<String>,
    stock_selector: Option<String>,
    in_phrases: Option<String>,
    out_phrases: Option<String>,
    json_mapping: Option<String>,
    json_headers: Option<String>,
    asins: Option<String>,
    amazon_domain: Option<String>,
    popmart_region: Option<String>,
    popmart_watch: Option<String>,
    popmart_target: Option<String>,
    keywords: Option<String>,
    leave_out: Option<String>,
    preview: Option<String>,
) -> Result<FormResult, ServerFnError> {
    let who = caller(model::Role::Editor)?;
    let control = control()?;
    let typed = [
        ("url", url.as_str()),
        ("name", name.as_str()),
        ("interval", interval.as_str()),
    ];
    let fail =
        |field: &str, msg: String| Ok(back_to_form("add", FormResult::field(field, msg), &typed));
    if !model::SOURCE_KINDS.contains(&kind.as_str()) {
        return fail("kind", format!("Unknown kind {kind:?}."));
    }
    let phrases = |raw: &Option<String>| -> Vec<String> {
        raw.as_deref()
            .unwrap_or("")
            .split([',', '\n'])
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect()
    };
    let page = model::PageSettings {
        price_selector: price_selector.filter(|s| !s.trim().is_empty()),
        stock_selector: stock_selector.filter(|s| !s.trim().is_empty()),
        in_stock_phrases: phrases(&in_phrases),
        out_of_stock_phrases: phrases(&out_phrases),
    };
    if kind != model::SOURCE_KIND_PAGE && !page.is_empty() {
        return fail(
            "price_selector",
            "selectors and phrases are for product-page sources".into(),
        );
    }
    let json = if kind == model::SOURCE_KIND_JSON {
        match model::JsonMapping::from_lines(
            json_mapping.as_deref().unwrap_or(""),
            json_headers.as_deref().unwrap_or(""),
        ) {
            Ok(m) => Some(m),
            Err(e) => return fail("json_mapping", e),
        }
    } else {
        None
    };
    let amazon = if kind == model::SOURCE_KIND_AMAZON {
        match model::AmazonSettings::from_text(
            asins.as_deref().unwrap_or(""),
            amazon_domain.as_deref().unwrap_or("com"),
        ) {
            Ok(a) => Some(a),
            Err(e) => return fail("asins", e),
        }
    } else {
        None
    };
    let popmart = (kind == model::SOURCE_KIND_POPMART).then(|| model::PopmartSettings {
        region: popmart_region.unwrap_or_default(),
        watch: popmart_watch.unwrap_or_default(),
        target: popmart_target.unwrap_or_default(),
    });
    // "Preview": what the mapping reads now, nothing added.
    if preview.is_some() {
        let Some(mapping) = json else {
            return fail("kind", "Preview is for JSON API sources.".into());
        };
        return match control.engine.preview_json(&url, None, mapping).await {
            Ok(found) => {
                let shown: Vec<String> = found
                    .iter()
                    .take(5)
                    .map(|p| {
                        let stock = if p.variants.iter().any(|v| v.available) {
                            "in stock"
                        } else {
                            "sold out"
                        };
                        let lo = p.price_range().map(|r| r.0).unwrap_or_default();
                        format!(
                            "{} — {lo} {} ({stock}, {} size{})",
                            p.title,
                            p.currency,
                            p.variants.len(),
                            if p.variants.len() == 1 { "" } else { "s" }
                        )
                    })
                    .collect();
                Ok(FormResult {
                    ok: true,
                    message: format!(
                        "Preview: {} item{} read. {}",
                        found.len(),
                        if found.len() == 1 { "" } else { "s" },
                        shown.join(" · ")
                    ),
                    errors: vec![],
                })
            }
            Err(monitor::EngineError::InvalidSource(msg)) => {
                Ok(FormResult::field("json_mapping", msg))
            }
            Err(monitor::EngineError::Field(f)) => fail(f.field.as_str(), f.message),
            Err(e) => Err(words("could not preview the source", e)),
        };
    }
    // Amazon and Pop Mart sources may leave the URL empty: the site or the
    // region's API host is used.
    let api_kind = amazon.is_some() || popmart.is_some();
    if !(api_kind && url.trim().is_empty()) {
        if let Err(e) = monitor::engine::source_url(&url) {
            return fail("url", e.to_string());
        }
    }
    let secs = match parse_interval(&interval) {
        Ok(s) => s,
        Err(e) => return fail("interval", e),
    };
    let source = control
        .add_source(
            &who,
            monitor::NewSource {
                key: None,
                kind,
                url: url.clone(),
                name: Some(name.clone()),
                currency: None,
                interval: std::time::Duration::from_secs(secs),
                page,
                json,
                amazon,
                popmart,
                tags: vec![],
                keywords: model::KeywordFilter::from_text(
                    keywords.as_deref().unwrap_or(""),
                    leave_out.as_deref().unwrap_or(""),
                ),
            },
        )
        .await;
    // A refusal is shown next to the field it is about.
    let (source, added) = match source {
        Ok(v) => v,
        Err(monitor::ControlError::Engine(monitor::EngineError::Field(f))) => {
            return fail(f.field.as_str(), f.message)
        }
        Err(e) => return Err(words("could not add the source", e)),
    };
    let message = if !added {
        format!("{} is already watched as {:?}.", source.url, source.name)
    } else {
        format!("Added {:?}; its first check has started.", source.name)
    };
    back_to_sources();
    Ok(FormResult {
        ok: true,
        message,
        errors: vec![],
    })
}

#[server]
pub async fn edit_source(
    key: String,
    url: String,
    name: String,
    interval: String,
    asins: Option<String>,
    popmart_target: Option<String>,
    keywords: Option<String>,
    leave_out: Option<String>,
) -> Result<FormResult, ServerFnError> {
    let who = caller(model::Role::Editor)?;
    let control = control()?;
    let form = format!("edit-{key}");
    let typed = [
        ("url", url.as_str()),
        ("name", name.as_str()),
        ("interval", interval.as_str()),
    ];
    let fail =
        |field: &str, msg: String| Ok(back_to_form(&form, FormResult::field(field, msg), &typed));
    if let Err(e) = monitor::engine::source_url(&url) {
        return fail("url", e.to_string());
    }
    let secs = match parse_interval(&interval) {
        Ok(s) => s,
        Err(e) => return fail("interval", e),
    };
    let current = control.engine.sources().into_iter().find(|s| s.key == key);
    let amazon = match (asins, current.as_ref().and_then(|s| s.settings.amazon())) {
        (Some(text), Some(was)) => match model::AmazonSettings::from_text(&text, &was.domain) {
            Ok(mut a) => {
                a.geo_location = was.geo_location.clone();
                Some(a)
            }
            Err(e) => return fail("asins", e),
        },
        _ => None,
    };
    let popmart = match (
        popmart_target,
        current.as_ref().and_then(|s| s.settings.popmart()),
    ) {
        (Some(target), Some(was)) => Some(model::PopmartSettings {
            target,
            ..was.clone()
        }),
        _ => None,
    };
    let s = match control
        .edit_source(
            &who,
            &key,
            monitor::SourceEdit {
                name: Some(name.clone()),
                url: Some(url.clone()),
                interval: Some(std::time::Duration::from_secs(secs)),
                amazon,
                popmart,
                // The form shows the keywords for catalogues only.
                keywords: keywords.map(|k| {
                    model::KeywordFilter::from_text(&k, leave_out.as_deref().unwrap_or(""))
                }),
                ..Default::default()
            },
        )
        .await
    {
        Ok(s) => s,
        // A refusal (nothing was changed) is shown next to its field; the
        // edit form has the address, the interval, the ASINs, the Pop Mart
        // target and the keywords (the others are said under the address).
        Err(monitor::ControlError::Engine(monitor::EngineError::Field(f))) => {
            use model::SourceField as F;
            let field = match f.field {
                F::Interval | F::Asins | F::PopmartTarget | F::Keywords => f.field,
                _ => F::Url,
            };
            return fail(field.as_str(), f.message);
        }
        Err(e) => return Err(words("could not save the source", e)),
    };
    back_to_sources();
    Ok(FormResult {
        ok: true,
        message: format!("Saved {:?}.", s.name),
        errors: vec![],
    })
}

/// Pauses (`enabled` = false) or resumes a source.
#[server]
pub async fn set_source_enabled(key: String, enabled: bool) -> Result<(), ServerFnError> {
    let who = caller(model::Role::Editor)?;
    control()?
        .set_source_enabled(&who, &key, enabled)
        .await
        .map_err(|e| words("could not change the source", e))?;
    back_to_sources();
    Ok(())
}

#[server]
pub async fn remove_source(key: String) -> Result<(), ServerFnError> {
    let who = caller(model::Role::Editor)?;
    control()?
        .remove_source(&who, &key)
        .await
        .map_err(|e| words("could not remove the source", e))?;
    back_to_sources();
    Ok(())
}

/// Starts a run of the source now (its progress shows on the sources page).
#[server]
pub async fn check_source(key: String) -> Result<(), ServerFnError> {
    let who = caller(model::Role::Editor)?;
    control()?
        .check_source(&who, &key)
        .await
        .map_err(|e| words("could not start the check", e))?;
    back_to_sources();
    Ok(())
}

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
        sources: source_rows(&engine, 10).await?,
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
