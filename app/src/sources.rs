//! The sources page: add, edit, pause/resume and remove sources; "check now"
//! with a progress bar that moves while the run goes; the last runs with
//! their duration, counts and errors in plain words.
//!
//! Every form is an `ActionForm`, so it works before the wasm has loaded
//! (a plain POST) and shows what to fix next to the field.
//!
//! This file is the page, its live list and the "Add a source" form; one
//! source's card (state, progress, edit, runs) is `source_card.rs`, the
//! connector accounts `connector_accounts.rs`. The server functions are
//! `sources_api.rs`.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_query_map;

use model::{Event, EventKind, SOURCE_KIND_SHOPIFY};

use crate::api::{
    load_sources, AddSource, CheckSource, EditSource, RemoveSource, SetSourceEnabled, SourceRow,
    SourcesView,
};
use crate::connector_accounts::ConnectorAccounts;
use crate::live::use_live_events;
use crate::probe::TestUrl;
use crate::source_card::SourceCard;
use crate::source_import::{ImportSources, SourceImportPanel};
use crate::ui::ErrorText;

// The form helpers and a run's error in words are named through this
// module by the other pages.
pub(crate) use crate::form_feedback::{field_error, outcome, ActionResult};
pub(crate) use crate::source_card::class_words;

/// A form that came back from a plain (JavaScript-less) post with something
/// to fix: which form, the field and message, and what was typed (see
/// `api::back_to_form`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NoJsForm {
    pub(crate) form: String,
    field: String,
    error: String,
    url: String,
    name: String,
    interval: String,
}

impl NoJsForm {
    pub(crate) fn error(&self, form: &str, field: &str) -> Option<String> {
        (self.form == form && self.field == field).then(|| self.error.clone())
    }

    /// What was typed into `form`'s `field`, if this is that form.
    pub(crate) fn typed(&self, form: &str, field: &str) -> Option<String> {
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
