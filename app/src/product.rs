//! The product page: every size with its price, availability and a cart
//! link; the price chart with the stock timeline; the product's changes; a
//! link to it in its store. Live: a change to this product updates the
//! sizes, the chart and the list in place.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use model::{Event, EventKind, PricePoint, StockPoint, VariantPrice, VariantStock};

use crate::api::{load_product, ProductDetail};
use crate::chart::PriceChart;
use crate::live::{use_live_deals, use_live_events};
use crate::time::LocalTime;
use crate::ui::{ChangeBadge, ErrorText};
use model::forecast::PriceForecast;
use model::history::{price_series, stock_series};

#[component]
pub fn ProductPage() -> impl IntoView {
    let params = use_params_map();
    let key = Memo::new(move |_| params.with(|p| p.get("key").unwrap_or_default()));
    let data = Resource::new(move || key.get(), load_product);
    view! {
        <main class="page">
            <Suspense fallback=|| view! { <p class="loading">"Loading the product…"</p> }>
                {move || data.get().map(|r| match r {
                    Ok(Some(d)) => view! { <LiveProduct initial=d/> }.into_any(),
                    Ok(None) => {
                        #[cfg(feature = "ssr")]
                        if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
                            resp.set_status(http::StatusCode::NOT_FOUND);
                        }
                        view! {
                        <h1>"No such product"</h1>
                        <p>"Dropwatch tracks no product with this address. " <a href="/">"Back to the dashboard"</a></p>
                        }.into_any()
                    }
                    Err(e) => view! { <ErrorText what="Could not load the product" error=e.to_string()/> }.into_any(),
                })}
            </Suspense>
        </main>
    }
}

/// One line of the product's change list.
#[derive(Clone, Debug, PartialEq)]
struct Change {
    at: chrono::DateTime<chrono::Utc>,
    kind: &'static str,
    text: String,
}

/// The changes list shows the latest this many (a year of a drifting
/// price is hundreds; the CSV download has them all).
const CHANGES_SHOWN: usize = 100;

/// The product's changes, newest first, rebuilt from its history: the first
/// sighting, then every price move and stock change per size.
fn changes(prices: &[PricePoint], stock: &[StockPoint], currency: &str) -> Vec<Change> {
    let mut out = vec![];
    let mut last_price = std::collections::HashMap::new();
    for (i, p) in prices.iter().enumerate() {
        if i == 0 {
            out.push(Change {
                at: p.at,
                kind: "new_product",
                text: match p.variants.len() {
                    1 => "First seen with 1 size".to_string(),
                    n => format!("First seen with {n} sizes"),
                },
            });
        }
        for v in &p.variants {
            if let Some(old) = last_price.insert(v.variant.clone(), v.price) {
                if old != v.price {
                    out.push(Change {
                        at: p.at,
                        kind: "price_changed",
                        text: format!("Size {}: {} -> {} {currency}", v.size, old, v.price),
                    });
                }
            }
        }
    }
    for (i, s) in stock.iter().enumerate() {
        if i == 0 {
            continue;
        }
        for v in &s.variants {
            out.push(Change {
                at: s.at,
                kind: if v.available { "restocked" } else { "sold_out" },
                text: format!(
                    "Size {}: {}",
                    v.size,
                    if v.available { "restocked" } else { "sold out" }
                ),
            });
        }
    }
    out.sort_by(|a, b| b.at.cmp(&a.at));
    out
}

#[component]
fn LiveProduct(initial: ProductDetail) -> impl IntoView {
    let key = initial.product.key.clone();
    let product = RwSignal::new(initial.product.clone());
    let prices = RwSignal::new(initial.prices.clone());
    let stock = RwSignal::new(initial.stock.clone());
    let summary = Memo::new(move |_| product.with(|p| p.summary()));
    // The deal is assessed again a second after a change: the panel follows.
    let deal = RwSignal::new(initial.insight.as_ref().map(|i| i.deal.clone()));
    let mine = key.clone();
    use_live_deals(move |k, d| {
        if k == mine {
            deal.set(Some(d));
        }
    });
    use_live_events(initial.last_seq, move |e: Event| {
        let Some(ep) = &e.product else { return };
        if ep.key != key {
            return;
        }
        let Some(v) = &e.variant else { return };
        // A price first shown with a restock (hidden while sold out) is the
        // first point of its chart.
        let first_price = product.with_untracked(|p| {
            p.variants
                .iter()
                .find(|x| x.id == v.id)
                .is_some_and(|x| x.price.is_none() && v.price.is_some())
        });
        product.update(|p| {
            if let Some(pv) = p.variants.iter_mut().find(|x| x.id == v.id) {
                pv.price = v.price;
                pv.available = v.available;
            }
            p.updated = ep.updated;
            p.last_change = ep.change.clone();
        });
        let compare_at = product.with(|p| {
            p.variants
                .iter()
                .find(|x| x.id == v.id)
                .and_then(|x| x.compare_at)
        });
        if first_price || e.kind == EventKind::PriceChanged {
            prices.update(|ps| {
                ps.push(PricePoint {
                    product: ep.key.clone(),
                    at: e.at,
                    ts: e.at.timestamp_millis(),
                    variants: v
                        .price
                        .map(|price| VariantPrice {
                            variant: v.id.clone(),
                            size: v.size.clone(),
                            price,
                            compare_at,
                        })
                        .into_iter()
                        .collect(),
                })
            });
        }
        if matches!(e.kind, EventKind::Restocked | EventKind::SoldOut) {
            stock.update(|ss| {
                ss.push(StockPoint {
                    product: ep.key.clone(),
                    at: e.at,
                    ts: e.at.timestamp_millis(),
                    variants: vec![VariantStock {
                        variant: v.id.clone(),
                        size: v.size.clone(),
                        available: v.available,
                    }],
                })
            });
        }
    });

    let p0 = initial.product.clone();
    let outlook = initial
        .insight
        .as_ref()
        .map(|i| i.restock.clone())
        .unwrap_or_default();
    let rhythm = initial.store_rhythm.clone();
    let rhythm_said = rhythm.as_ref().map(|r| r.said.clone());
    let currency = p0.currency.clone();
    let cur = currency.clone();
    let price_s = Signal::derive(move || prices.with(|p| price_series(p)));
    let stock_s = Signal::derive(move || stock.with(|s| stock_series(s)));
    let sizes = Signal::derive(move || product.with(|p| p.variants.len()));
    let change_list = Memo::new(move |_| prices.with(|p| stock.with(|s| changes(p, s, &cur))));
    view! {
        <nav class="crumbs" aria-label="Breadcrumb"><a href="/">"Dashboard"</a> " › " {p0.brand.clone()}</nav>
        <article class="product" data-key=p0.key.clone()>
            <header class="product-head">
                {p0.image.clone().map(|src| view! { <img src=src alt=format!("{} by {}", p0.title, p0.brand) width="160" height="160"/> })}
                <div>
                    <h1>{p0.title.clone()}</h1>
                    <p class="brand">
                        {p0.brand.clone()}
                        {(!p0.product_type.is_empty()).then(|| format!(" · {}", p0.product_type))}
                        " · " {initial.source_name.clone()}
                    </p>
                    <p class="price big" data-testid="price">
                        {move || summary.with(|s| s.price_label())}
                        " " {move || view! { <ChangeBadge change=summary.with(|s| s.change.clone())/> }}
                    </p>
                    {(!p0.facts.is_empty()).then(|| view! {
                        <dl class="facts" data-testid="facts">
                            {move || product.with(|p| p.facts.iter().map(|(k, v)| view! { <dt>{k.clone()}</dt><dd>{v.clone()}</dd> }).collect_view())}
                        </dl>
                    })}
                    // Links a shop sent are kept only when they are web addresses.
                    {(!p0.url.is_empty()).then(|| view! {
                        <p><a class="button" href=p0.url.clone() target="_blank" rel="noopener">"View in the store ↗"</a></p>
                    })}
                </div>
            </header>

            <crate::alerts::WatchForm key=p0.key.clone() sizes=p0.variants.iter().map(|v| v.size.clone()).collect()/>

            {let currency = currency.clone();
             move || view! { <crate::deal_panel::DealPanel deal=deal.get() currency=currency.clone()/> }}

            <section aria-labelledby="chart-heading">
                <h2 id="chart-heading">"Price and stock history"</h2>
                <PriceChart prices=price_s stock=stock_s sizes currency=currency.clone()
                    forecast=initial.insight.as_ref().and_then(|i| i.forecast.shown().cloned())/>
                {initial.insight.as_ref().map(|i| {
                    let words = match &i.forecast {
                        PriceForecast::Shown(f) => f.describe(),
                        PriceForecast::NotShown { why } => why.describe(),
                    };
                    view! { <p class="forecast-note" data-testid="forecast-note">{words}</p> }
                })}
                <p class="hint">
                    <a href=format!("/api/v1/export/history?product={}&format=csv", crate::ui::encode_segment(&p0.key))
                        download data-testid="export-history">"Download history (CSV)"</a>
                </p>
            </section>

            <Comparison key=p0.key.clone()/>

            <section aria-labelledby="sizes-heading">
                <h2 id="sizes-heading">"Sizes"</h2>
                <div class="table-scroll"><table class="sizes-table" data-testid="sizes-table">
                    <thead><tr><th scope="col">"Size"</th><th scope="col">"Price"</th><th scope="col">"Availability"</th><th scope="col">"Back in stock"</th><th scope="col"><span class="visually-hidden">"Cart"</span></th></tr></thead>
                    <tbody>
                        {move || product.get().variants.into_iter().map(|v| {
                            let cur = product.with_untracked(|p| p.currency.clone());
                            view! {
                                <tr data-variant=v.id.clone() class:sold-out=!v.available>
                                    <th scope="row">{v.size.clone()}</th>
                                    <td data-testid="variant-price">
                                        {match v.price {
                                            Some(p) => format!("{p} {cur}"),
                                            None => model::UNKNOWN_PRICE.into(),
                                        }}
                                        {v.compare_at.filter(|c| v.price.is_some_and(|p| *c > p)).map(|c| view! { " " <s title="Was">{c.to_string()}</s> })}
                                    </td>
                                    <td data-testid="availability">{if v.available { "✓ In stock" } else { "✗ Sold out" }}</td>
                                    <td data-testid="restock">{(!v.available).then(|| restock_said(&outlook, rhythm.as_ref(), &v.size))}</td>
                                    <td>{v.cart_url.clone().filter(|_| v.available).map(|u| view! {
                                        <a href=u target="_blank" rel="noopener">"Add to cart"<span class="visually-hidden">" size " {v.size.clone()}</span></a>
                                    })}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table></div>
                {rhythm_said.map(|said| view! { <p class="hint" data-testid="store-rhythm">{said}</p> })}
            </section>

            <section aria-labelledby="changes-heading">
                <h2 id="changes-heading">"Changes"</h2>
                <ol class="changes" data-testid="product-changes">
                    {move || change_list.get().into_iter().take(CHANGES_SHOWN).map(|c| view! {
                        <li class="event" data-kind=c.kind>
                            <span class="what">{c.text}</span> " "
                            <LocalTime at=c.at/>
                        </li>
                    }).collect_view()}
                </ol>
                {move || {
                    let n = change_list.with(Vec::len);
                    (n > CHANGES_SHOWN).then(|| view! {
                        <p class="hint" data-testid="changes-more">
                            {format!("The latest {CHANGES_SHOWN} of {n} changes; every one is in the history download above.")}
                        </p>
                    })
                }}
            </section>

            <crate::related::RelatedProducts key=p0.key.clone()/>
        </article>
    }
}

/// What the sizes table says of a sold-out size's return: the expected
/// window, or why there is none.
fn restock_said(
    outlook: &[model::restock::SizeOutlook],
    rhythm: Option<&model::rhythm::StoreRhythm>,
    size: &str,
) -> String {
    match outlook.iter().find(|o| o.size == size && !o.available) {
        Some(o) => match (&o.window, &o.note) {
            (Some(w), _) => format!(
                "Expected {}–{}: {}{}",
                w.from.format("%b %-d"),
                w.until.format("%b %-d"),
                w.said,
                w.likely
                    .zip(rhythm)
                    .map_or(String::new(), |(at, r)| format!(
                        ". {}",
                        r.likely_said(at, w.usual_hour)
                    ))
            ),
            (None, Some(note)) => note.clone(),
            (None, None) => String::new(),
        },
        None => String::new(),
    }
}

/// "Across stores": every store carrying the item, the cheapest in-stock
/// offer highlighted; editors confirm a match, keep two products apart, or
/// merge one of another store by hand.
#[component]
fn Comparison(key: String) -> impl IntoView {
    let judge = ServerAction::<crate::api::JudgeMatch>::new();
    let k = key.clone();
    let data = Resource::new(
        move || (k.clone(), judge.version().get()),
        |(k, _)| crate::api::load_comparison(k),
    );
    let result = judge.value();
    view! {
        <Transition fallback=|| ()>
            {move || data.get().and_then(|r| r.ok()).map(|c| {
                let key = key.clone();
                (c.offers.len() > 1 || c.can_edit).then(|| comparison_view(c, key, judge, result))
            })}
        </Transition>
    }
}

fn comparison_view(
    c: crate::api::Comparison,
    key: String,
    judge: ServerAction<crate::api::JudgeMatch>,
    result: impl crate::sources::ActionResult,
) -> impl IntoView {
    let offers = c.offers.clone();
    // The cheapest offer with a size in stock (one currency only).
    let cheapest = offers
        .iter()
        .filter(|o| o.currency == offers[0].currency)
        .filter_map(|o| o.in_stock_from.map(|p| (p, o.key.clone())))
        .min_by(|a, b| a.0.cmp(&b.0))
        .map(|x| x.1);
    let can_edit = c.can_edit;
    // One small form per button: key, other, verdict.
    let verdict_button = move |key: String,
                               other: String,
                               verdict: &'static str,
                               label: &'static str,
                               title: String| {
        view! {
            <ActionForm action=judge attr:class="inline">
                <input type="hidden" name="key" value=key/>
                <input type="hidden" name="other" value=other/>
                <input type="hidden" name="verdict" value=verdict/>
                <button type="submit" class="link-button" title=title>{label}</button>
            </ActionForm>
        }
    };
    let k2 = key.clone();
    view! {
        <section aria-labelledby="compare-heading" data-testid="comparison">
            <h2 id="compare-heading">"Across stores"</h2>
            {(offers.len() > 1).then(|| view! {
            <div class="table-scroll">
            <table class="log compare" data-testid="compare">
                <thead><tr><th scope="col">"Store"</th><th scope="col">"In stock from"</th><th scope="col">"Sizes in stock"</th><th scope="col">"Matched by"</th></tr></thead>
                <tbody>
                    {offers.clone().into_iter().map(|o| {
                        let best = cheapest.as_deref() == Some(o.key.as_str());
                        let key = key.clone();
                        let controls = (can_edit && o.matched_by.is_some()).then(|| {
                            let title = format!("{} in {}", o.title, o.store);
                            view! {
                                {(o.matched_by != Some(model::MatchedBy::ByHand)).then(|| verdict_button(key.clone(), o.key.clone(), "same", "Confirm", format!("Confirm: {title} is the same item")))}
                                {(o.matched_by == Some(model::MatchedBy::ByHand)).then(|| verdict_button(key.clone(), o.key.clone(), "auto", "Undo", format!("Back to automatic matching for {title}")))}
                                {verdict_button(key.clone(), o.key.clone(), "different", "Not the same item", format!("Split: {title} is a different item"))}
                            }
                        });
                        view! {
                            <tr data-testid="offer" data-key=o.key.clone() data-cheapest=best.to_string() class:cheapest=best>
                                <td><a href=crate::ui::product_href(&o.key)>{o.store.clone()}</a>
                                    " " {(!o.url.is_empty()).then(|| view! { <a href=o.url.clone() target="_blank" rel="noopener" class="hint">"shop ↗"</a> })}</td>
                                <td>{match o.in_stock_from {
                                    Some(p) => format!("{p} {}", o.currency),
                                    None => format!("sold out (was {} {})", o.lowest, o.currency),
                                }} {best.then(|| view! { " " <span class="badge">"cheapest in stock"</span> })}</td>
                                <td>{if o.sizes_in_stock.is_empty() { "–".to_string() } else { o.sizes_in_stock.join(", ") }}</td>
                                <td class="hint">{o.matched_by.map(|m| m.describe()).unwrap_or("this page")} {controls}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            </div>
            })}
            {(offers.len() <= 1).then(|| view! { <p class="hint">"No other store carries this item, as far as Dropwatch can tell."</p> })}
            {(!c.kept_apart.is_empty()).then(|| view! {
                <p class="hint" data-testid="kept-apart">"Kept apart by hand: "
                    {c.kept_apart.iter().map(|o| view! {
                        <span>{format!("{} in {} ", o.title, o.store)}
                        {verdict_button(k2.clone(), o.key.clone(), "auto", "Undo", format!("Match {} automatically again", o.title))}</span>
                    }).collect_view()}
                </p>
            })}
            {can_edit.then(|| view! {
                <ActionForm action=judge attr:class="form inline merge" attr:data-testid="merge">
                    <input type="hidden" name="key" value=key.clone()/>
                    <input type="hidden" name="verdict" value="same"/>
                    <label>"Same item in another store "
                        <select name="other" aria-describedby="merge-error">
                            <option value="">"Choose a product…"</option>
                            {c.candidates.iter().map(|(k, label)| view! { <option value=k.clone()>{label.clone()}</option> }).collect_view()}
                        </select>
                    </label>
                    <button type="submit">"Merge"</button>
                    {crate::sources::field_error(result.clone(), "other", "merge-error".into(), None)}
                    {crate::sources::outcome(result)}
                </ActionForm>
            })}
        </section>
    }
}
