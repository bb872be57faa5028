//! "Test this URL" on the Sources page's add form: reads the address typed
//! there once, as Dropwatch would (the engine's `probe_with`: the server's
//! outbound policy, the shop's politeness, the same connectors), and shows
//! what it would track -- title, brand, currency, each size's price and
//! stock, where each came from -- and why anything is missing.
//!
//! The button sits inside the add form, so it sends what is typed there
//! (the address and a product page's selectors). With the page's wasm it
//! reads the form and asks the server itself, and nothing is added; without
//! it, the form is posted to this server function, which sends the browser
//! back to the Sources page with the outcome in one line.

use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use serde::{Deserialize, Serialize};

use model::probe::{Evidence, Fact, ProbeProduct, ProbeVerdict};
use model::Probe;

/// What testing a URL gave.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum UrlTest {
    /// It was read (well or not: the probe says).
    Read(Probe),
    /// It was not sent: not an address, or one the server does not reach.
    Refused(String),
}

/// The outcome in one line, for a plain (JavaScript-less) post.
#[cfg(any(feature = "ssr", test))]
pub fn in_one_line(p: &Probe) -> String {
    let mut said = p.headline();
    if let Some(e) = &p.error {
        said.push_str(&format!(" {e}."));
    }
    if let Some(t) = p.products.first() {
        said.push_str(&format!(
            " {}: {} ({}), {} ({}).",
            t.title.value,
            t.price_words(),
            t.price_from.label(),
            t.stock_words(),
            t.stock_from.label()
        ));
    }
    for m in &p.missing {
        said.push_str(&format!(" Missing {}: {}.", m.field.label(), m.why));
    }
    said
}

/// Reads `url` as Dropwatch would, without adding it (editors). The other
/// fields are a product page's, as on the add form.
#[server]
pub async fn probe_url(
    url: String,
    currency: Option<String>,
    #[server(flatten)] page: crate::source_form::PageForm,
) -> Result<UrlTest, ServerFnError> {
    use crate::api::{caller, control, plain_form_post};
    caller(model::Role::Editor)?;
    let request = monitor::probe::ProbeRequest {
        url: url.clone(),
        currency: crate::source_form::filled(&currency),
        page: page.settings(),
    };
    let tested = match control()?.engine.probe_with(request).await {
        Ok(p) => UrlTest::Read(p),
        Err(monitor::EngineError::InvalidSource(why)) => UrlTest::Refused(why),
        Err(monitor::EngineError::Field(f)) => UrlTest::Refused(f.message),
        Err(e) => return Err(crate::api::words("could not test the address", e)),
    };
    // Without JavaScript, back to the add form: the outcome under the
    // button, the address still typed.
    if plain_form_post() {
        let said = match &tested {
            UrlTest::Read(p) => in_one_line(p),
            UrlTest::Refused(why) => why.clone(),
        };
        let said: String = said.chars().take(1500).collect();
        let query = crate::dashboard::query_string(&[
            ("form", "add".into()),
            ("field", "probe".into()),
            ("error", said),
            ("url", url),
        ]);
        if let (Some(resp), Ok(location)) = (
            use_context::<leptos_axum::ResponseOptions>(),
            http::HeaderValue::from_str(&format!("/sources{query}")),
        ) {
            resp.set_status(http::StatusCode::SEE_OTHER);
            resp.insert_header(http::header::LOCATION, location);
        }
    }
    Ok(tested)
}

/// The "Test this URL" button and what the last test found. Place it
/// inside the add-source form. `came_back`: a plain post's outcome.
#[component]
pub fn TestUrl(came_back: Option<String>) -> impl IntoView {
    let action = ServerAction::<ProbeUrl>::new();
    let failed = RwSignal::new(None::<String>);
    // With wasm: read the add form and ask, instead of posting the form.
    let on_click = move |ev: leptos::ev::MouseEvent| {
        use leptos::form::FromFormData;
        use leptos::wasm_bindgen::JsCast;
        ev.prevent_default();
        let form = ev
            .target()
            .and_then(|t| t.dyn_into::<leptos::web_sys::HtmlButtonElement>().ok())
            .and_then(|b| b.form());
        let data = form.and_then(|f| leptos::web_sys::FormData::new_with_form(&f).ok());
        match data.map(|d| ProbeUrl::from_form_data(&d)) {
            Some(Ok(input)) => {
                failed.set(None);
                action.dispatch(input);
            }
            Some(Err(e)) => failed.set(Some(format!("The form could not be read: {e}"))),
            None => failed.set(Some("The form could not be read.".into())),
        }
    };
    view! {
        <div class="row-actions">
            <button type="submit" class="secondary" data-testid="probe-button"
                formaction=ProbeUrl::url() formmethod="post"
                disabled=move || action.pending().get() on:click=on_click>
                "Test this URL"
            </button>
            <span class="hint">"Reads the address once, as Dropwatch would, and shows what it would track. Nothing is added."</span>
        </div>
        <div aria-live="polite" data-testid="probe">
            {move || action.pending().get().then(|| view! { <p class="hint" role="status">"Reading the address…"</p> })}
            {move || failed.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            {move || match action.value().get() {
                None => came_back.clone().map(|m| view! { <p class="hint" role="status" data-testid="probe-said">{m}</p> }.into_any()),
                Some(Err(e)) => Some(view! { <p class="error" role="alert" data-testid="probe-error">{e.to_string()}</p> }.into_any()),
                Some(Ok(UrlTest::Refused(why))) => Some(view! { <p class="error" role="alert" data-testid="probe-error">{why}</p> }.into_any()),
                Some(Ok(UrlTest::Read(p))) => Some(view! { <ProbeView probe=p/> }.into_any()),
            }}
        </div>
    }
}

/// A probe's result: the verdict, each product with where its values came
/// from and its sizes, what the page's data says, what is missing and why.
#[component]
fn ProbeView(probe: Probe) -> impl IntoView {
    let verdict = match probe.verdict {
        ProbeVerdict::Tracks => "tracks",
        ProbeVerdict::Unreadable => "unreadable",
        ProbeVerdict::Blocked => "blocked",
        ProbeVerdict::Failed => "failed",
    };
    let headline_class = if probe.verdict == ProbeVerdict::Tracks {
        "ok"
    } else {
        "error"
    };
    let (headline, http) = (probe.headline(), probe.http_line());
    view! {
        <section class="panel" data-testid="probe-result" data-verdict=verdict
            data-kind=probe.kind.map(|k| k.source_kind())>
            <p class=headline_class role="status" data-testid="probe-headline">{headline}</p>
            <p class="hint" data-testid="probe-http">{http}</p>
            {probe.error.clone().map(|e| view! { <p class="error-text" data-testid="probe-why">{e}</p> })}
            {probe.products.into_iter().map(|p| view! { <Tracked p/> }).collect_view()}
            {(!probe.evidence.is_empty()).then(|| view! { <EvidenceTable rows=probe.evidence/> })}
            {probe.json.map(|j| view! {
                <p data-testid="probe-json">
                    "Items at " <code>{j.items_at.map(|a| if a.is_empty() { "/".to_string() } else { a }).unwrap_or_else(|| "nowhere".into())}</code>
                    {format!(": {} of them; fields: {}", j.items, j.fields.join(", "))}
                </p>
            })}
            {(!probe.missing.is_empty()).then(|| view! {
                <h3>"Missing"</h3>
                <ul data-testid="probe-missing">
                    {probe.missing.into_iter().map(|m| view! {
                        <li data-field=m.field.label()><strong>{m.field.label()}</strong>": "{m.why}</li>
                    }).collect_view()}
                </ul>
            })}
            {probe.notes.into_iter().map(|n| view! { <p class="hint" data-testid="probe-note">{n}</p> }).collect_view()}
        </section>
    }
}

fn fact_row(name: &'static str, testid: &'static str, fact: Option<Fact>) -> impl IntoView {
    let (value, from) = match fact {
        Some(f) => (f.value, f.from.label()),
        None => ("—".to_string(), "none"),
    };
    view! {
        <tr data-testid=testid><th scope="row">{name}</th><td>{value}</td><td class="hint">{from}</td></tr>
    }
}

/// One product as it would be tracked.
#[component]
fn Tracked(p: ProbeProduct) -> impl IntoView {
    let currency = p.currency.value.clone();
    let (price, stock) = (p.price_words(), p.stock_words());
    view! {
        <div class="table-scroll" data-testid="probe-product">
            <table class="log">
                <thead><tr><th>""</th><th>"Would track"</th><th>"From"</th></tr></thead>
                <tbody>
                    {fact_row("Title", "probe-title", Some(p.title))}
                    {fact_row("Brand", "probe-brand", p.brand)}
                    {fact_row("Currency", "probe-currency", Some(p.currency))}
                    <tr data-testid="probe-price-from"><th scope="row">"Price"</th><td>{price}</td><td class="hint">{p.price_from.label()}</td></tr>
                    <tr data-testid="probe-stock-from"><th scope="row">"Stock"</th><td>{stock}</td><td class="hint">{p.stock_from.label()}</td></tr>
                </tbody>
            </table>
            <table class="sizes-table" data-testid="probe-sizes">
                <thead><tr><th>"Size"</th><th>"Price"</th><th>"Stock"</th></tr></thead>
                <tbody>
                    {p.sizes.into_iter().map(|s| {
                        let price = s.price_words(&currency);
                        view! {
                            <tr data-testid="probe-size" data-available=s.available.to_string()>
                                <td>{s.label}</td><td>{price}</td>
                                <td>{if s.available { "in stock" } else { "sold out" }}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

/// What JSON-LD, microdata and OpenGraph each say on the page.
#[component]
fn EvidenceTable(rows: Vec<Evidence>) -> impl IntoView {
    view! {
        <div class="table-scroll">
            <table class="log" data-testid="probe-evidence">
                <thead><tr><th>"The page's data"</th><th>"Price"</th><th>"Stock"</th><th>"Title"</th></tr></thead>
                <tbody>
                    {rows.into_iter().map(|e| {
                        let price = match (e.price, e.currency) {
                            (Some(p), Some(c)) => format!("{p} {c}"),
                            (Some(p), None) => p.to_string(),
                            (None, _) if e.present => "no price".into(),
                            (None, _) => "none on the page".into(),
                        };
                        view! {
                            <tr data-testid="probe-evidence-row" data-present=e.present.to_string()>
                                <th scope="row">{e.from.label()}</th><td>{price}</td>
                                <td>{e.availability.unwrap_or_else(|| "—".into())}</td>
                                <td>{e.title.unwrap_or_else(|| "—".into())}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::probe::{Field, Origin, ProbeKind, ProbeSize};

    #[test]
    fn a_plain_posts_outcome_fits_one_line() {
        let mut p = Probe::new("https://shop.example/p");
        p.kind = Some(ProbeKind::Page);
        p.verdict = ProbeVerdict::Tracks;
        p.products.push(ProbeProduct {
            title: Fact::new("Lamp", Origin::JsonLd),
            brand: None,
            currency: Fact::new("EUR", Origin::JsonLd),
            price_from: Origin::Microdata,
            stock_from: Origin::Assumed,
            sizes: vec![ProbeSize {
                label: "One size".into(),
                price: "9.50".parse().ok(),
                compare_at: None,
                available: true,
            }],
            url: p.url.clone(),
        });
        p.miss(Field::Brand, "no brand");
        assert_eq!(
            in_one_line(&p),
            "Product page: Dropwatch would track it. Lamp: 9.50 EUR (microdata), in stock (assumed). Missing brand: no brand."
        );
    }
}
