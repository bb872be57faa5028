//! The sources page: add, edit, pause/resume and remove sources; "check now"
//! with a progress bar that moves while the run goes; the last runs with
//! their duration, counts and errors in plain words.
//!
//! Every form is an `ActionForm`, so it works before the wasm has loaded
//! (a plain POST) and shows what to fix next to the field.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_query_map;

use model::{Event, EventKind, PollRun, SOURCE_KIND_SHOPIFY};

use crate::api::{
    format_interval, load_sources, AddSource, CheckSource, ConnectorsView, EditSource, FormResult,
    RemoveSource, SaveOxylabs, SavePopmartKeys, SetSourceEnabled, SourceRow, SourcesView,
    UseOfferedAccounts,
};
use crate::live::use_live_events;
use crate::probe::TestUrl;
use crate::source_import::{ImportSources, SourceImportPanel};
use crate::time::LocalTime;
use crate::ui::ErrorText;

/// A form that came back from a plain (JavaScript-less) post with something
/// to fix: which form, the field and message, and what was typed (see
/// `api::back_to_form`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NoJsForm {
    form: String,
    field: String,
    error: String,
    url: String,
    name: String,
    interval: String,
}

impl NoJsForm {
    fn error(&self, form: &str, field: &str) -> Option<String> {
        (self.form == form && self.field == field).then(|| self.error.clone())
    }

    /// What was typed into `form`'s `field`, if this is that form.
    fn typed(&self, form: &str, field: &str) -> Option<String> {
        (self.form == form).then(|| match field {
            "url" => self.url.clone(),
            "name" => self.name.clone(),
            _ => self.interval.clone(),
        })
    }
}

#[component]
pub fn SourcesPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| load_sources());
    let query = use_query_map();
    let nojs = query.with_untracked(|q| {
        let get = |k: &str| q.get(k).unwrap_or_default();
        NoJsForm {
            form: get("form"),
            field: get("field"),
            error: get("error"),
            url: get("url"),
            name: get("name"),
            interval: get("interval"),
        }
    });
    view! {
        <main class="page narrow">
            <h1>"Sources"</h1>
            <Suspense fallback=|| view! { <p class="loading">"Loading sources…"</p> }>
                {move || data.get().map(|r| match r {
                    Ok(v) => view! { <LiveSources initial=v nojs=nojs.clone()/> }.into_any(),
                    Err(e) => view! { <ErrorText what="Could not load the sources" error=e.to_string()/> }.into_any(),
                })}
            </Suspense>
        </main>
    }
}

/// Shows a field's error under it, when the last submission had one.
/// The last result of a form's action.
pub(crate) trait ActionResult:
    Get<Value = Option<Result<FormResult, ServerFnError>>> + Clone + Send + Sync + 'static
{
}
impl<T: Get<Value = Option<Result<FormResult, ServerFnError>>> + Clone + Send + Sync + 'static>
    ActionResult for T
{
}

/// (`came_back`: the error a JavaScript-less post came back with, shown until
/// the form is submitted again.)
pub(crate) fn field_error(
    result: impl ActionResult,
    field: &'static str,
    id: String,
    came_back: Option<String>,
) -> impl IntoView {
    move || {
        match result.get() {
            Some(r) => r.ok().and_then(|r| r.error_for(field)),
            None => came_back.clone(),
        }
        .map(|m| view! { <p class="field-error" id=id.clone() role="alert">{m}</p> })
    }
}

/// The outcome line under a form.
pub(crate) fn outcome(result: impl ActionResult) -> impl IntoView {
    move || {
        result.get().map(|r| match r {
            Ok(r) if r.ok => view! { <p class="ok" role="status">{r.message}</p> }.into_any(),
            Ok(r) => view! { <p class="error" role="alert">{r.message}</p> }.into_any(),
            Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
        })
    }
}

#[component]
fn LiveSources(initial: SourcesView, nojs: NoJsForm) -> impl IntoView {
    let can_edit = initial.can_edit;
    let connectors = initial.connectors.clone();
    let rows = RwSignal::new(initial.rows);
    let add = ServerAction::<AddSource>::new();
    let edit = ServerAction::<EditSource>::new();
    let toggle = ServerAction::<SetSourceEnabled>::new();
    let remove = ServerAction::<RemoveSource>::new();
    let check = ServerAction::<CheckSource>::new();
    let import = ServerAction::<ImportSources>::new();
    // Reload after every action, and every 0.5 s while a run is going (or
    // was just asked for), so the progress bar moves.
    let refresh = move || {
        spawn_local(async move {
            if let Ok(v) = load_sources().await {
                rows.set(v.rows);
            }
        })
    };
    // A source that is blocked, or answers again, shows it at once.
    use_live_events(initial.last_seq, move |e: Event| {
        if matches!(e.kind, EventKind::Blocked | EventKind::Unblocked) {
            refresh();
        }
    });
    let watch_until = StoredValue::new(0.0f64);
    Effect::new(move |ran: Option<()>| {
        (
            add.version().get(),
            edit.version().get(),
            toggle.version().get(),
            remove.version().get(),
            check.version().get(),
            import.version().get(),
        );
        // The first run only subscribes: the server-rendered rows are fresh.
        if ran.is_some() {
            watch_until.set_value(js_now() + 3000.0);
            refresh();
        }
    });
    Effect::new(move |_| {
        let handle = set_interval_with_handle(
            move || {
                let busy = rows.with_untracked(|r| r.iter().any(SourceRow::running));
                if busy || js_now() < watch_until.get_value() {
                    refresh();
                }
            },
            std::time::Duration::from_millis(500),
        );
        on_cleanup(move || {
            if let Ok(h) = handle {
                h.clear();
            }
        });
    });
    let add_result = add.value();
    let typed =
        |f: &str, default: &str| nojs.typed("add", f).unwrap_or_else(|| default.to_string());
    let (url_typed, name_typed, interval_typed) =
        (typed("url", ""), typed("name", ""), typed("interval", "5m"));
    let (kind_err, url_err, interval_err) = (
        nojs.error("add", "kind"),
        nojs.error("add", "url"),
        nojs.error("add", "interval"),
    );
    let probe_said = nojs.error("add", "probe");
    let import_said = nojs.error(crate::source_import::FORM, "");
    view! {
        <ul class="sources" aria-label="Watched sources">
            <For
                each=move || rows.get()
                key=|r| r.source.key.clone()
                children=move |r| {
                    let key = r.source.key.clone();
                    let row = Memo::new(move |_| rows.with(|rs| rs.iter().find(|x| x.source.key == key).cloned()));
                    let nojs = nojs.clone();
                    view! { <SourceCard initial=r row edit toggle remove check nojs can_edit/> }
                }
            />
        </ul>
        <Show when=move || rows.with(Vec::is_empty)>
            <p class="empty">"No sources yet. Add a store below."</p>
        </Show>

        {can_edit.then(|| view! {
        <section class="panel" aria-labelledby="add-heading">
            <h2 id="add-heading">"Add a source"</h2>
            <ActionForm action=add attr:class="form" attr:data-testid="add-source">
                <label>"Kind"
                    <select name="kind">
                        <option value=SOURCE_KIND_SHOPIFY selected>"Shopify store (products.json)"</option>
                        <option value=model::SOURCE_KIND_WOOCOMMERCE>"WooCommerce shop (Store API)"</option>
                        <option value=model::SOURCE_KIND_PAGE>"Product page of any shop"</option>
                        <option value=model::SOURCE_KIND_JSON>"JSON API (field mapping)"</option>
                        <option value=model::SOURCE_KIND_AMAZON>"Amazon (through Oxylabs)"</option>
                        <option value=model::SOURCE_KIND_POPMART>"Pop Mart"</option>
                    </select>
                </label>
                {field_error(add_result.clone(), "kind", "kind-error".into(), kind_err)}
                <label>"Store address " <span class="hint">"(a Shopify or WooCommerce shop, or one product page; for Amazon and Pop Mart leave it empty)"</span>
                    <input type="url" name="url" placeholder="https://shop.example.com" aria-describedby="url-error" inputmode="url" value=url_typed/>
                </label>
                {field_error(add_result.clone(), "url", "url-error".into(), url_err)}
                <label>"Name " <span class="hint">"(optional)"</span>
                    <input type="text" name="name" placeholder="Shown in the dashboard" value=name_typed/>
                </label>
                <label>"Check every"
                    <input type="text" name="interval" value=interval_typed required aria-describedby="interval-error" placeholder="30s, 5m, 1h"/>
                </label>
                {field_error(add_result.clone(), "interval", "interval-error".into(), interval_err)}
                <details class="keyword-settings">
                    <summary>"Shop catalogue: only what you want " <span class="hint">"(keywords; every product when empty)"</span></summary>
                    <p class="hint">"Words of a product's title, brand, type or tags, separated by commas: \"dunk, jordan\" watches only those; \"kids\" leaves those out. A product that comes to match later arrives as new."</p>
                    <label>"Only products with" <input type="text" name="keywords" placeholder="dunk, air jordan 1" spellcheck="false" aria-describedby="keywords-error"/></label>
                    {field_error(add_result.clone(), "keywords", "keywords-error".into(), None)}
                    <label>"Leave out products with" <input type="text" name="leave_out" placeholder="kids, toddler" spellcheck="false"/></label>
                </details>
                <details class="page-settings">
                    <summary>"Product page: where the price and stock are " <span class="hint">"(only when the page's own data is missing or wrong)"</span></summary>
                    <p class="hint">"Dropwatch reads the page's schema.org data, microdata and OpenGraph tags first. When those are missing or disagree, point it at the price and the stock text with CSS selectors."</p>
                    <label>"Price selector" <input type="text" name="price_selector" placeholder="span.price" spellcheck="false" aria-describedby="price-selector-error"/></label>
                    {field_error(add_result.clone(), "price_selector", "price-selector-error".into(), None)}
                    <label>"Stock text selector" <input type="text" name="stock_selector" placeholder="button.add-to-cart" spellcheck="false" aria-describedby="stock-selector-error"/></label>
                    {field_error(add_result.clone(), "stock_selector", "stock-selector-error".into(), None)}
                    <label>"Means in stock " <span class="hint">"(comma-separated; default: in stock, add to cart, …)"</span> <input type="text" name="in_phrases"/></label>
                    <label>"Means sold out " <span class="hint">"(comma-separated; default: sold out, out of stock, notify me, …)"</span> <input type="text" name="out_phrases"/></label>
                </details>
                <details class="json-settings">
                    <summary>"JSON API: headers and field mapping"</summary>
                    <p class="hint">"Paths are JSON Pointers (/data/items) or simple JSONPath ($.data.items[*]); item fields are relative to one item. Fields: items, id, title, brand, price, currency, stock, image, url, and for sizes variants, variant_id, variant_size, variant_price, variant_stock; for an API with pages, next (where the answer gives the next page's URL)."</p>
                    <label>"Field mapping " <span class="hint">"(one field = path per line)"</span>
                        <textarea name="json_mapping" rows="6" spellcheck="false" aria-describedby="json-mapping-error"
                            placeholder="items = $.data[*]\nid = /sku\ntitle = /name\nprice = /price\nstock = /in_stock"></textarea>
                    </label>
                    {field_error(add_result.clone(), "json_mapping", "json-mapping-error".into(), None)}
                    <label>"Headers " <span class="hint">"(one Header: value per line; ${VARIABLE} takes a secret from the server's environment)"</span>
                        <textarea name="json_headers" rows="2" spellcheck="false" placeholder="X-Luckdata-Api-Key: ${LUCKDATA_API_KEY}"></textarea>
                    </label>
                    <button type="submit" name="preview" value="1" class="secondary" data-testid="preview">"Preview"</button>
                </details>
                <details class="amazon-settings">
                    <summary>"Amazon: which products"</summary>
                    <p class="hint">"Read through the Oxylabs Web Scraper API with the account set under Connector accounts: up to 10 products one by one, more as one batch."</p>
                    <label>"ASINs or Amazon product URLs " <span class="hint">"(one per line)"</span>
                        <textarea name="asins" rows="3" spellcheck="false" aria-describedby="asins-error"
                            placeholder="B00JTX7SH2\nhttps://www.amazon.com/dp/B084Y7CHX5"></textarea>
                    </label>
                    {field_error(add_result.clone(), "asins", "asins-error".into(), None)}
                    <label>"Amazon site " <span class="hint">"(com, co.uk, de…; taken from the URLs when they say)"</span>
                        <input type="text" name="amazon_domain" value="com" spellcheck="false"/>
                    </label>
                </details>
                <details class="popmart-settings">
                    <summary>"Pop Mart: region and what to watch"</summary>
                    <label>"Region"
                        <select name="popmart_region">
                            {model::POPMART_REGIONS.iter().map(|(code, name, ..)| view! { <option value=*code>{format!("{name} ({code})")}</option> }).collect_view()}
                        </select>
                    </label>
                    <label>"Watch"
                        <select name="popmart_watch">
                            {model::POPMART_WATCHES.iter().map(|(value, label, _)| view! { <option value=*value>{*label}</option> }).collect_view()}
                        </select>
                    </label>
                    <label>"Which " <span class="hint">"(product ids 1159, 1160; a category or series id; or search words)"</span>
                        <input type="text" name="popmart_target" spellcheck="false" aria-describedby="popmart-target-error"/>
                    </label>
                    {field_error(add_result.clone(), "popmart_target", "popmart-target-error".into(), None)}
                </details>
                <button type="submit" disabled=move || add.pending().get()>"Add source"</button>
                <TestUrl came_back=probe_said/>
                {outcome(add_result)}
            </ActionForm>
        </section>
        <SourceImportPanel action=import came_back=import_said/>
        })}
        {connectors.map(|c| view! { <ConnectorAccounts initial=c/> })}
        {(!can_edit).then(|| view! {
            <p class="hint" data-testid="read-only">"You can read the sources; adding or changing them needs the editor role."</p>
        })}
    }
}

/// What an Amazon or Pop Mart source watches, in words.
fn watches(s: &model::Source) -> Option<String> {
    if let Some(a) = s.settings.amazon() {
        let shown: Vec<&str> = a.asins.iter().take(6).map(String::as_str).collect();
        let more = a.asins.len().saturating_sub(shown.len());
        return Some(format!(
            "{} ASIN{} on amazon.{}: {}{}",
            a.asins.len(),
            if a.asins.len() == 1 { "" } else { "s" },
            a.domain,
            shown.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        ));
    }
    let p = s.settings.popmart()?;
    let what = match p.watch.as_str() {
        "products" => format!("products {}", p.target),
        "category" => format!("category {}", p.target),
        "series" => format!("series {}", p.target),
        "search" => format!("search \"{}\"", p.target),
        _ => "new arrivals".to_string(),
    };
    Some(format!("Pop Mart {}: {what}", p.region))
}

/// The accounts connectors use (admins): Oxylabs for Amazon, and a client
/// key and signing salt per Pop Mart region. What is saved is never shown
/// again; the page says only whether it is set.
#[component]
fn ConnectorAccounts(initial: ConnectorsView) -> impl IntoView {
    let oxy = ServerAction::<SaveOxylabs>::new();
    let pm = ServerAction::<SavePopmartKeys>::new();
    let take_offered = ServerAction::<UseOfferedAccounts>::new();
    let offered = initial.offered.clone();
    let status = RwSignal::new(initial);
    // After each save, say what is set now.
    Effect::new(move |ran: Option<()>| {
        (
            oxy.version().get(),
            pm.version().get(),
            take_offered.version().get(),
        );
        if ran.is_some() {
            spawn_local(async move {
                if let Ok(Some(c)) = load_sources().await.map(|v| v.connectors) {
                    status.set(c);
                }
            });
        }
    });
    let (oxy_result, pm_result, offered_result) = (oxy.value(), pm.value(), take_offered.value());
    let password = NodeRef::<leptos::html::Input>::new();
    let salt = NodeRef::<leptos::html::Input>::new();
    let client_key = NodeRef::<leptos::html::Input>::new();
    // Secrets leave the form once saved.
    Effect::new(move |_| {
        if oxy_result.get().is_some_and(|r| r.is_ok_and(|r| r.ok)) {
            if let Some(i) = password.get() {
                i.set_value("");
            }
        }
    });
    Effect::new(move |_| {
        if pm_result.get().is_some_and(|r| r.is_ok_and(|r| r.ok)) {
            for i in [salt.get(), client_key.get()].into_iter().flatten() {
                i.set_value("");
            }
        }
    });
    let oxy_state = move || {
        status.with(|s| match (&s.oxylabs_user, &s.oxylabs_offered) {
            (Some(_), Some(whose)) => format!("Set: {whose}'s Oxylabs."),
            (Some(u), None) => format!("Set for the user {u:?}."),
            (None, _) => "Not set: Amazon sources cannot be read yet.".to_string(),
        })
    };
    let pm_state = move || {
        status.with(|s| {
            if s.popmart_regions.is_empty() {
                "No region has keys yet.".to_string()
            } else {
                format!("Keys set for {}.", s.popmart_regions.join(", "))
            }
        })
    };
    view! {
        <section class="panel" aria-labelledby="connectors-heading" data-testid="connectors">
            <h2 id="connectors-heading">"Connector accounts"</h2>
            <p class="hint">"Kept sealed on this server; never shown again after saving, never logged."</p>
            {offered.map(|whose| view! {
                <ActionForm action=take_offered attr:class="form inline">
                    <button type="submit" class="secondary">{format!("Use {whose}'s Oxylabs and Pop Mart")}</button>
                    {outcome(offered_result)}
                </ActionForm>
            })}
            <h3>"Oxylabs (Amazon)"</h3>
            <p data-testid="oxylabs-state">{oxy_state}</p>
            <ActionForm action=oxy attr:class="form">
                <label>"Oxylabs username" <input type="text" name="user" autocomplete="off" required/></label>
                <label>"Oxylabs password" <input type="password" name="password" autocomplete="new-password" required node_ref=password aria-describedby="oxy-error"/></label>
                {field_error(oxy_result.clone(), "password", "oxy-error".into(), None)}
                <button type="submit">"Save Oxylabs account"</button>
                {outcome(oxy_result)}
            </ActionForm>
            <h3>"Pop Mart"</h3>
            <p data-testid="popmart-state">{pm_state}</p>
            <ActionForm action=pm attr:class="form">
                <label>"Region"
                    <select name="region">
                        {model::POPMART_REGIONS.iter().map(|(code, name, ..)| view! { <option value=*code>{format!("{name} ({code})")}</option> }).collect_view()}
                    </select>
                </label>
                <label>"Client key" <input type="password" name="client_key" autocomplete="off" required node_ref=client_key/></label>
                <label>"Signing salt" <input type="password" name="salt" autocomplete="off" required node_ref=salt aria-describedby="pm-error"/></label>
                {field_error(pm_result.clone(), "salt", "pm-error".into(), None)}
                <button type="submit">"Save Pop Mart keys"</button>
                {outcome(pm_result)}
            </ActionForm>
        </section>
    }
}

fn js_now() -> f64 {
    #[cfg(feature = "hydrate")]
    {
        js_sys_now()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        0.0
    }
}

#[cfg(feature = "hydrate")]
fn js_sys_now() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or(0.0)
}

/// "3.2 s", "2 min 5 s".
fn duration_words(run: &PollRun) -> String {
    let Some(end) = run.finished else {
        return "running".into();
    };
    let ms = (end - run.started).num_milliseconds().max(0);
    if ms < 60_000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else {
        format!("{} min {} s", ms / 60_000, ms % 60_000 / 1000)
    }
}

/// A run's error class in words a user understands.
pub fn class_words(class: &str) -> &'static str {
    match class {
        "password_protected" => "The store is password-protected",
        "rate_limited" => "Rate-limited by the store; backing off",
        "server_error" => "The store's server failed; will retry",
        "timeout" => "The store did not answer in time; will retry",
        "unreachable" => "Could not reach the store",
        "blocked" => "Blocked: the store answered with something that is not its catalogue",
        "too_large" => "The store's answer was too large",
        "backing_off" => "Waiting before asking this store again",
        "circuit_open" => "Paused after repeated failures; will try again later",
        "internal" => "Dropwatch could not save what it read",
        "unreadable" => "The answer came, but its price or stock could not be read",
        "refused" => "The API refused the credentials; check them under Connector accounts",
        "http_error" => "The store answered with an unexpected status",
        _ => "The check failed",
    }
}

#[component]
fn SourceCard(
    initial: SourceRow,
    row: Memo<Option<SourceRow>>,
    edit: ServerAction<EditSource>,
    toggle: ServerAction<SetSourceEnabled>,
    remove: ServerAction<RemoveSource>,
    check: ServerAction<CheckSource>,
    nojs: NoJsForm,
    can_edit: bool,
) -> impl IntoView {
    let s0 = initial.source.clone();
    let form = format!("edit-{}", s0.key);
    let edit_open = nojs.form == form;
    let (edit_url_err, edit_interval_err) =
        (nojs.error(&form, "url"), nojs.error(&form, "interval"));
    let runs_open = initial
        .runs
        .iter()
        .any(|r| r.error.is_some() || !r.skipped.is_empty() || !r.notes.is_empty());
    let key = s0.key.clone();
    let get = move || row.get().unwrap_or_else(|| initial.clone());
    let get2 = get.clone();
    let get3 = get.clone();
    let get4 = get.clone();
    let get5 = get.clone();
    let get6 = get.clone();
    let get7 = get.clone();
    let state = move || {
        let r = get2();
        if !r.source.enabled {
            ("paused", "Paused".to_string())
        } else if r.source.blocked {
            let why = r
                .runs
                .first()
                .and_then(|x| x.error.clone())
                .unwrap_or_default();
            ("blocked", format!("Blocked — {why}"))
        } else if let Some(err) = r.runs.first().and_then(|x| x.error_class.clone()) {
            ("failing", class_words(&err).to_string())
        } else {
            ("ok", "Watching".to_string())
        }
    };
    let state2 = state.clone();
    let edit_result = edit.value();
    let id = |f: &str| format!("{f}-{}", s0.key);
    let (url_err_id, interval_err_id) = (id("edit-url-error"), id("edit-interval-error"));
    let (k1, k2, k3, k4) = (
        s0.key.clone(),
        s0.key.clone(),
        s0.key.clone(),
        s0.key.clone(),
    );
    let name1 = nojs.typed(&form, "name").unwrap_or_else(|| s0.name.clone());
    let name2 = s0.name.clone();
    let (url1, url2) = (s0.url.clone(), s0.url.clone());
    let url3 = nojs.typed(&form, "url").unwrap_or_else(|| s0.url.clone());
    let kind = s0.kind();
    // Amazon's ASINs and a Pop Mart source's target are edited here too
    // (the region and what kind of list stay: add another source for those).
    let asins_text = s0.settings.amazon().map(|a| a.asins.join("\n"));
    let popmart_target = s0
        .settings
        .popmart()
        .filter(|p| p.watch != "new")
        .map(|p| p.target.clone());
    let k5 = key.clone();
    // A catalogue's keywords are edited here too (a product page is one product).
    let keyword_texts = (kind != model::SOURCE_KIND_PAGE).then(|| {
        (
            s0.keywords.include.join(", "),
            s0.keywords.exclude.join(", "),
        )
    });
    let interval_text = nojs
        .typed(&form, "interval")
        .unwrap_or_else(|| format_interval(s0.interval_secs));
    view! {
        <li class="source panel" data-testid="source" data-key=key.clone()>
            <div class="source-head">
                <h2>{move || get3().source.name}</h2>
                <span class="state" data-state=move || state().0 data-testid="source-state">{move || state2().1}</span>
            </div>
            <p class="muted">
                {kind} " · " <a href=url1 target="_blank" rel="noopener">{url2}</a>
                " · every " {move || format_interval(get4().source.interval_secs)}
            </p>
            {move || watches(&get6().source).map(|w| view! { <p class="muted" data-testid="watches">{w}</p> })}
            {move || {
                let k = get7().source.keywords.describe();
                (!k.is_empty()).then(|| view! { <p class="muted" data-testid="keywords">"Only: " {k}</p> })
            }}
            {move || {
                let r = get5();
                let p = r.progress.clone().unwrap_or_default();
                let pct = if r.running() { p.percent() } else if r.runs.is_empty() { 0 } else { 100 };
                let text = if r.running() {
                    match p.pages_expected {
                        Some(n) => format!("Checking: page {} of about {n} ({} products)", p.pages_done, p.products_seen),
                        None => format!("Checking: page {} ({} products)", p.pages_done, p.products_seen),
                    }
                } else {
                    match r.runs.first() {
                        Some(run) if run.error.is_none() && !run.skipped.is_empty() => format!(
                            "Last check done: {}, {} not readable (see below)",
                            run_counts(run), run.skipped.len()
                        ),
                        Some(run) if run.error.is_none() && !run.notes.is_empty() => format!(
                            "Last check done: {}, with a note (see below)",
                            run_counts(run)
                        ),
                        Some(run) if run.error.is_none() => format!("Last check done: {}", run_counts(run)),
                        Some(_) => "Last check failed (see below)".into(),
                        None => "Not checked yet".into(),
                    }
                };
                view! {
                    <div class="progress">
                        <progress max="100" value=pct aria-label=format!("Check progress of {}", r.source.name) data-testid="progress"></progress>
                        <span data-testid="progress-text">{format!("{pct}% · {text}")}</span>
                    </div>
                }
            }}
            {can_edit.then(|| view! {
            <div class="row-actions">
                <ActionForm action=check>
                    <input type="hidden" name="key" value=k1/>
                    <button type="submit" disabled=move || get().running()>"Check now"</button>
                </ActionForm>
                <ActionForm action=toggle>
                    <input type="hidden" name="key" value=k2/>
                    {move || {
                        let enabled = row.get().map(|r| r.source.enabled).unwrap_or(true);
                        view! {
                            <input type="hidden" name="enabled" value=if enabled { "false" } else { "true" }/>
                            <button type="submit">{if enabled { "Pause" } else { "Resume" }}</button>
                        }
                    }}
                </ActionForm>
                <details class="inline" open=edit_open>
                    <summary>"Edit"</summary>
                    <ActionForm action=edit attr:class="form">
                        <input type="hidden" name="key" value=k3/>
                        <label>"Name" <input type="text" name="name" value=name1/></label>
                        <label>"Store address" <input type="url" name="url" value=url3 required aria-describedby=url_err_id.clone()/></label>
                        {field_error(edit_result.clone(), "url", url_err_id, edit_url_err)}
                        <label>"Check every" <input type="text" name="interval" value=interval_text required aria-describedby=interval_err_id.clone()/></label>
                        {field_error(edit_result.clone(), "interval", interval_err_id, edit_interval_err)}
                        {asins_text.clone().map(|text| view! {
                            <label>"ASINs or Amazon product URLs " <span class="hint">"(one per line)"</span>
                                <textarea name="asins" rows="3" spellcheck="false">{text}</textarea>
                            </label>
                            {field_error(edit_result.clone(), "asins", format!("asins-error-{}", k5), None)}
                        })}
                        {keyword_texts.clone().map(|(only, not)| view! {
                            <label>"Only products with " <span class="hint">"(comma-separated; empty: every product)"</span>
                                <input type="text" name="keywords" value=only spellcheck="false"/>
                            </label>
                            {field_error(edit_result.clone(), "keywords", format!("keywords-error-{}", k5), None)}
                            <label>"Leave out products with" <input type="text" name="leave_out" value=not spellcheck="false"/></label>
                        })}
                        {popmart_target.clone().map(|text| view! {
                            <label>"Which " <span class="hint">"(product ids, a category or series id, or search words)"</span>
                                <input type="text" name="popmart_target" value=text spellcheck="false"/>
                            </label>
                            {field_error(edit_result.clone(), "popmart_target", format!("popmart-target-error-{}", k5), None)}
                        })}
                        <button type="submit">"Save"</button>
                    </ActionForm>
                </details>
                <details class="inline">
                    <summary>"Remove…"</summary>
                    <ActionForm action=remove>
                        <input type="hidden" name="key" value=k4/>
                        <p>"Stop watching " {name2} "? Its products and history are kept."</p>
                        <button type="submit" class="danger">"Remove source"</button>
                    </ActionForm>
                </details>
            </div>
            })}
            <details class="runs" open=runs_open>
                <summary>"Last runs"</summary>
                <div class="table-scroll"><table>
                    <thead><tr><th scope="col">"Started"</th><th scope="col">"Took"</th><th scope="col">"Pages"</th><th scope="col">"Products"</th><th scope="col">"Changes"</th><th scope="col">"Result"</th></tr></thead>
                    <tbody>
                        {move || row.get().map(|r| r.runs).unwrap_or_default().into_iter().map(|run| {
                            let result = match (&run.error, &run.error_class) {
                                (Some(e), Some(c)) => format!("{}: {e}", class_words(c)),
                                (Some(e), None) => e.clone(),
                                _ if run.finished.is_none() => "Running".into(),
                                _ if !run.skipped.is_empty() => format!(
                                    "OK, {} product(s) left as they were: {}",
                                    run.skipped.len(),
                                    run.skipped.join("; ")
                                ),
                                _ if !run.notes.is_empty() => format!("OK. Note: {}", run.notes.join("; ")),
                                _ => "OK".into(),
                            };
                            view! {
                                <tr class:failed=run.error.is_some()>
                                    <td><LocalTime at=run.started/></td>
                                    <td>{duration_words(&run)}</td>
                                    <td>{run.pages}</td>
                                    <td>{run.products}</td>
                                    <td>{run.changes}</td>
                                    <td>{result}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table></div>
            </details>
        </li>
    }
}

/// "1 product, 3 changes": a run's counts in words.
fn run_counts(run: &PollRun) -> String {
    let n = |count: u32, one: &str, many: &str| {
        format!("{count} {}", if count == 1 { one } else { many })
    };
    format!(
        "{}, {}",
        n(run.products, "product", "products"),
        n(run.changes, "change", "changes")
    )
}
