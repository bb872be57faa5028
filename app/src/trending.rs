//! `/trending`: what moved most over the last 24 hours or 7 days, overall
//! or in one store: most restocks, largest drops, most watched (by watch
//! rules) and new arrivals that sold a size out fastest. The dashboard
//! shows a strip of the day's top items with a link here.

use std::collections::HashMap;

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

use model::trending::{TrendItem, TrendWindow, Trending};

use crate::ui::{product_href, ErrorText};

/// The lists, with each product's title and store for the links.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrendingView {
    pub trending: Trending,
    /// Product key → (title, store name).
    pub titles: HashMap<String, (String, String)>,
    /// Stores to choose from: (key, name).
    pub stores: Vec<(String, String)>,
}

#[cfg(feature = "ssr")]
pub(crate) fn trending_view(
    control: &monitor::Control,
    window: TrendWindow,
    store: Option<&str>,
) -> TrendingView {
    let engine = &control.engine;
    let mut watched: HashMap<String, usize> = HashMap::new();
    for r in control.alerts.rules().into_iter().filter(|r| !r.paused) {
        if let Some(p) = r.scope.product {
            *watched.entry(p).or_default() += 1;
        }
    }
    let watched: Vec<(String, usize)> = watched.into_iter().collect();
    let trending = engine.trending(window, store, &watched, chrono::Utc::now());
    let sources: Vec<(String, String)> = engine
        .sources()
        .into_iter()
        .map(|s| (s.key, s.name))
        .collect();
    let name_of = |source: &str| {
        sources
            .iter()
            .find(|(k, _)| k == source)
            .map_or_else(|| source.to_string(), |(_, n)| n.clone())
    };
    let mut titles = HashMap::new();
    for list in [
        &trending.most_restocks,
        &trending.largest_drops,
        &trending.most_watched,
        &trending.fastest_sellouts,
    ] {
        for i in list {
            if let Some(p) = engine.product(&i.product) {
                titles.insert(i.product.clone(), (p.title, name_of(&p.source)));
            }
        }
    }
    TrendingView {
        trending,
        titles,
        stores: sources,
    }
}

#[server(input = Json)]
pub async fn load_trending(window: String, store: String) -> Result<TrendingView, ServerFnError> {
    crate::api::caller(model::Role::Viewer)?;
    let control = crate::api::control()?;
    let store = Some(store.trim()).filter(|s| !s.is_empty());
    Ok(trending_view(&control, TrendWindow::parse(&window), store))
}

#[component]
pub fn TrendingPage() -> impl IntoView {
    let query = use_query_map();
    let args = move || {
        query.with(|q| {
            (
                q.get("window").unwrap_or_default(),
                q.get("store").unwrap_or_default(),
            )
        })
    };
    let data = Resource::new(args, |(w, s)| load_trending(w, s));
    view! {
        <main class="page">
            <h1>"Trending"</h1>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || data.get().map(|r| match r {
                    Ok(v) => view! { <TrendingLists view=v/> }.into_any(),
                    Err(e) => view! { <ErrorText what="Could not load what is trending" error=e.to_string()/> }.into_any(),
                })}
            </Suspense>
        </main>
    }
}

#[component]
fn TrendingLists(view: TrendingView) -> impl IntoView {
    let t = view.trending.clone();
    let store = t.store.clone().unwrap_or_default();
    let windows = [TrendWindow::Day, TrendWindow::Week].map(|w| {
        view! { <option value=w.as_str() selected=w == t.window>{w.label()}</option> }
    });
    let stores = view
        .stores
        .iter()
        .map(|(k, n)| view! { <option value=k.clone() selected=*k == store>{n.clone()}</option> })
        .collect_view();
    let titles = view.titles.clone();
    let list = move |heading: &'static str, id: &'static str, items: Vec<TrendItem>| {
        let titles = titles.clone();
        view! {
            <section class="panel trend" aria-labelledby=id data-testid=id>
                <h2 id=id class="h3">{heading}</h2>
                {if items.is_empty() {
                    view! { <p class="hint">"Nothing in this span yet."</p> }.into_any()
                } else {
                    view! {
                        <ol>
                            {items.into_iter().map(|i| {
                                let (title, store) = titles.get(&i.product).cloned().unwrap_or_else(|| (i.product.clone(), String::new()));
                                view! {
                                    <li><a href=product_href(&i.product)>{title}</a>
                                        " " <span class="hint">{store}</span> " — " {i.said}</li>
                                }
                            }).collect_view()}
                        </ol>
                    }.into_any()
                }}
            </section>
        }
    };
    view! {
        <form method="GET" action="/trending" class="filters" role="search" aria-label="Trending span and store">
            <label>"Over the" <select name="window">{windows}</select></label>
            <label>"Store" <select name="store"><option value="">"All stores"</option>{stores}</select></label>
            <div class="actions"><button type="submit">"Show"</button></div>
        </form>
        <div class="trends">
            {list("Most restocks", "trend-restocks", t.most_restocks.clone())}
            {list("Largest price drops", "trend-drops", t.largest_drops.clone())}
            {list("Most watched", "trend-watched", t.most_watched.clone())}
            {list("New arrivals selling out fastest", "trend-sellouts", t.fastest_sellouts.clone())}
        </div>
    }
}

/// The dashboard's strip: the day's top restock, drop and sell-out, with a
/// link to the whole lists.
#[component]
pub fn TrendingStrip(view: TrendingView) -> impl IntoView {
    let t = &view.trending;
    let firsts = [
        ("Most restocks", t.most_restocks.first()),
        ("Largest drop", t.largest_drops.first()),
        ("Selling out fastest", t.fastest_sellouts.first()),
        ("Most watched", t.most_watched.first()),
    ];
    let items: Vec<_> = firsts
        .into_iter()
        .filter_map(|(what, i)| {
            let i = i?.clone();
            let title = view
                .titles
                .get(&i.product)
                .map_or_else(|| i.product.clone(), |t| t.0.clone());
            Some(view! {
                <li><span class="hint">{what} ": "</span><a href=product_href(&i.product)>{title}</a> " (" {i.said} ")"</li>
            })
        })
        .collect();
    (!items.is_empty()).then(|| {
        view! {
            <section class="trend-strip" aria-label="Trending today" data-testid="trending-strip">
                <ul>{items}</ul>
                <a href="/trending">"All trending →"</a>
            </section>
        }
    })
}
