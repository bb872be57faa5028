//! The dashboard: a live feed of every change and the product grid, with
//! filters and sorting that live in the URL (so a view can be bookmarked and
//! shared) and a page of at most [`PAGE_SIZE`] products at a time (so 10,000
//! products stay fast).

use leptos::prelude::*;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;

use model::{Event, EventKind, ProductFilter, ProductSummary, Sort, PAGE_SIZE};

use crate::api::{load_dashboard, DashboardView, FEED_LEN};
use crate::live::{use_live_deals, use_live_events};
use crate::ui::{
    encode_segment, product_href, sizes_label, ChangeBadge, DealBadge, ErrorText, FeedItem,
};

const FILTER_KEYS: [&str; 11] = [
    "q", "brand", "series", "store", "size", "in_stock", "near_low", "min", "max", "sort", "page",
];

#[component]
pub fn DashboardPage() -> impl IntoView {
    let query = use_query_map();
    let filter = Memo::new(move |_| {
        query.with(|q| {
            ProductFilter::from_query(
                FILTER_KEYS
                    .iter()
                    .filter_map(|k| q.get_str(k).map(|v| (*k, v))),
            )
        })
    });
    let data = Resource::new(move || filter.get(), load_dashboard);
    view! {
        <main class="page">
            {crate::welcome::wanted().then(|| view! { <crate::welcome::Welcome/> })}
            <Transition fallback=|| view! { <p class="loading">"Loading products…"</p> }>
                {move || data.get().map(|r| match r {
                    Ok(v) => view! { <LiveDashboard initial=v filter=filter.get_untracked()/> }.into_any(),
                    Err(e) => view! { <ErrorText what="Could not load the products" error=e.to_string()/> }.into_any(),
                })}
            </Transition>
        </main>
    }
}

/// Applies one event to the grid's page under `filter`: the product's card is
/// replaced by the summary the event carries, dropped when it no longer
/// matches, and a new match is put on top when the page shows the newest
/// first. Returns the change in the number of matching products.
pub fn apply(products: &mut Vec<ProductSummary>, filter: &ProductFilter, e: &Event) -> isize {
    let Some(p) = e.product.as_ref().filter(|_| !e.kind.is_repricing()) else {
        return 0;
    };
    let pos = products.iter().position(|x| x.key == p.key);
    // An event's summary neither compares stores nor scores the deal: keep
    // what the card had (the deal is assessed again a second later).
    let mut p = p.clone();
    if let Some(had) = pos.and_then(|i| products.get(i)) {
        if p.spread.is_none() {
            p.spread.clone_from(&had.spread);
        }
        if p.deal.is_none() {
            p.deal.clone_from(&had.deal);
        }
    }
    let p = &p;
    let matches = filter.matches(p);
    match (matches, pos) {
        (true, Some(i)) => {
            products[i] = p.clone();
            if filter.sort != Sort::Newest {
                filter.sort(products);
            } else {
                let p = products.remove(i);
                products.insert(0, p);
            }
            0
        }
        (true, None) => {
            let newest_first = filter.sort == Sort::Newest && filter.page <= 1;
            if newest_first {
                products.insert(0, p.clone());
                products.truncate(PAGE_SIZE);
            }
            // A product not on this page that matched before still matches.
            isize::from(e.kind == EventKind::NewProduct)
        }
        (false, Some(i)) => {
            products.remove(i);
            -1
        }
        (false, None) => 0,
    }
}

/// Puts a product's new deal on its card (if it is on this page), where
/// the sort and filters put it now. Returns the change in the number of
/// matching products.
pub fn apply_deal(
    products: &mut Vec<ProductSummary>,
    filter: &ProductFilter,
    key: &str,
    deal: &model::deal::Deal,
) -> isize {
    let Some(i) = products.iter().position(|p| p.key == key) else {
        return 0;
    };
    if let Some(p) = products.get_mut(i) {
        p.deal = Some(deal.badge());
        if !filter.matches(p) {
            products.remove(i);
            return -1;
        }
    }
    if filter.sort != Sort::Newest {
        filter.sort(products);
    }
    0
}

/// A URL query string for `pairs` (form encoding).
pub fn query_string(pairs: &[(&str, String)]) -> String {
    if pairs.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", encode_segment(v).replace("%20", "+")))
        .collect();
    format!("?{}", parts.join("&"))
}

fn page_href(filter: &ProductFilter, page: usize) -> String {
    let f = ProductFilter {
        page,
        ..filter.clone()
    };
    format!("/{}", query_string(&f.to_query()))
}

/// A download of every product the filter matches (all pages, one row per
/// size) as `format` ("csv" or "json").
fn export_href(filter: &ProductFilter, format: &str) -> String {
    let mut pairs = ProductFilter {
        page: 1,
        ..filter.clone()
    }
    .to_query();
    pairs.push(("format", format.to_string()));
    format!("/api/v1/export/products{}", query_string(&pairs))
}

#[component]
fn LiveDashboard(initial: DashboardView, filter: ProductFilter) -> impl IntoView {
    let watch = ServerAction::<crate::alerts::WatchProduct>::new();
    let can_watch = initial.can_watch;
    let products = RwSignal::new(initial.page.products.clone());
    let matched = RwSignal::new(initial.page.matched);
    let total = RwSignal::new(initial.total);
    let feed = RwSignal::new(initial.recent.clone());
    let f = filter.clone();
    use_live_events(initial.last_seq, move |e: Event| {
        match e.kind {
            EventKind::NewProduct => total.update(|t| *t += 1),
            EventKind::Removed => total.update(|t| *t = t.saturating_sub(1)),
            _ => {}
        }
        let mut delta = 0;
        products.update(|ps| delta = apply(ps, &f, &e));
        matched.update(|m| *m = m.saturating_add_signed(delta));
        feed.update(|list| {
            list.insert(0, e);
            list.truncate(FEED_LEN);
        });
    });
    let f = filter.clone();
    use_live_deals(move |key, deal| {
        let mut delta = 0;
        products.update(|ps| delta = apply_deal(ps, &f, &key, &deal));
        matched.update(|m| *m = m.saturating_add_signed(delta));
    });
    let (page, pages) = (initial.page.page, initial.page.pages);
    let filtered = filter
        != ProductFilter {
            sort: filter.sort,
            page: filter.page,
            ..Default::default()
        };

    view! {
        <div class="layout">
            <section class="products" aria-labelledby="products-heading">
                <h1 id="products-heading" class="h2">
                    "Products "
                    <span class="count">
                        <span data-testid="product-count">{move || matched.get()}</span>
                        {move || filtered.then(|| format!(" of {}", total.get()))}
                    </span>
                </h1>
                {initial.trending.clone().map(|t| view! { <crate::trending::TrendingStrip view=t/> })}
                <crate::picks::ForYouPanel/>
                <FilterForm view=initial.clone() filter=filter.clone()/>
                {crate::sources::outcome(watch.value())}
                <ul class="grid" aria-label="Products">
                    <For
                        each=move || products.get()
                        key=|p| (p.key.clone(), p.updated, p.min_price, p.sizes_in_stock.len(), p.deal.clone())
                        children=move |p| view! { <ProductCard p watch=can_watch.then_some(watch)/> }
                    />
                </ul>
                <Show when=move || products.with(Vec::is_empty)>
                    <p class="empty">
                        {if initial.total == 0 {
                            "No products yet: the first check of your sources is still running."
                        } else {
                            "No product matches these filters."
                        }}
                    </p>
                </Show>
                <nav class="pager" aria-label="Pages">
                    {(page > 1).then(|| view! { <a href=page_href(&filter, page - 1) rel="prev">"← Previous"</a> })}
                    <span>"Page " {page} " of " {pages}</span>
                    {(page < pages).then(|| view! { <a href=page_href(&filter, page + 1) rel="next">"Next →"</a> })}
                </nav>
                <p class="exports hint">
                    "Download what these filters match: "
                    <a href=export_href(&filter, "csv") download data-testid="export-csv">"Export CSV"</a>
                    " · "
                    <a href=export_href(&filter, "json") download data-testid="export-json">"Export JSON"</a>
                </p>
            </section>
            <aside class="feed" aria-labelledby="feed-heading">
                <h2 id="feed-heading">"Latest changes"</h2>
                <ol data-testid="feed" aria-live="polite">
                    <For each=move || feed.get() key=|e| e.seq children=|e| view! { <FeedItem e/> }/>
                </ol>
                <Show when=move || feed.with(Vec::is_empty)>
                    <p class="empty">"Changes appear here the moment they are seen."</p>
                </Show>
            </aside>
        </div>
    }
}

/// The filters: a plain GET form, so it works before hydration and puts
/// every choice in the URL.
#[component]
fn FilterForm(view: DashboardView, filter: ProductFilter) -> impl IntoView {
    let option = |value: String, label: String, selected: bool| {
        view! { <option value=value selected=selected>{label}</option> }
    };
    let brands: Vec<_> = view
        .brands
        .iter()
        .map(|b| option(b.clone(), b.clone(), b.eq_ignore_ascii_case(&filter.brand)))
        .collect();
    let series: Vec<_> = view
        .series
        .iter()
        .map(|s| option(s.clone(), s.clone(), s.eq_ignore_ascii_case(&filter.series)))
        .collect();
    let stores: Vec<_> = view
        .stores
        .iter()
        .map(|(k, n)| option(k.clone(), n.clone(), *k == filter.store))
        .collect();
    let sizes: Vec<_> = view
        .sizes
        .iter()
        .map(|s| option(s.clone(), s.clone(), s.eq_ignore_ascii_case(&filter.size)))
        .collect();
    let sorts: Vec<_> = Sort::ALL
        .iter()
        .map(|s| option(s.as_str().into(), s.label().into(), *s == filter.sort))
        .collect();
    let money = |d: Option<model::Decimal>| d.map(|d| d.to_string()).unwrap_or_default();
    view! {
        <Form method="GET" action="/" attr:class="filters" attr:role="search" attr:aria-label="Filter products">
            <label class="grow">"Search"
                <input type="search" name="q" value=filter.q.clone() placeholder="Title, brand or series"/>
            </label>
            <label>"Brand"
                <select name="brand"><option value="">"All brands"</option>{brands}</select>
            </label>
            <label>"Series"
                <select name="series"><option value="">"All series"</option>{series}</select>
            </label>
            <label>"Store"
                <select name="store"><option value="">"All stores"</option>{stores}</select>
            </label>
            <label>"Size in stock"
                <select name="size"><option value="">"Any size"</option>{sizes}</select>
            </label>
            <label>"Min price"
                <input type="number" name="min" min="0" step="0.01" inputmode="decimal" value=money(filter.min_price)/>
            </label>
            <label>"Max price"
                <input type="number" name="max" min="0" step="0.01" inputmode="decimal" value=money(filter.max_price)/>
            </label>
            <label>"Sort"
                <select name="sort">{sorts}</select>
            </label>
            <label class="check">
                <input type="checkbox" name="in_stock" value="1" checked=filter.in_stock/>
                "In stock only"
            </label>
            <label class="check">
                <input type="checkbox" name="near_low" value="1" checked=filter.near_low/>
                "At or near its lowest price"
            </label>
            <div class="actions">
                <button type="submit">"Apply"</button>
                <a href="/">"Clear"</a>
            </div>
        </Form>
    }
}

#[component]
fn ProductCard(
    p: ProductSummary,
    /// "Watch" (any drop or restock), for editors.
    watch: Option<ServerAction<crate::alerts::WatchProduct>>,
) -> impl IntoView {
    let key = p.key.clone();
    let sizes = sizes_label(&p);
    let sold_out = p.sizes_in_stock.is_empty();
    let alt = format!("{} by {}", p.title, p.brand);
    let href = product_href(&p.key);
    view! {
        <li class="card" data-key=p.key.clone() data-testid="product">
            {p.image.clone().map(|src| view! { <img src=src alt=alt.clone() loading="lazy" width="96" height="96"/> })}
            <div class="card-body">
                <h3><a href=href>{p.title.clone()}</a></h3>
                <p class="brand">
                    {p.brand.clone()}
                    {(!p.product_type.is_empty()).then(|| format!(" · {}", p.product_type))}
                    " · " {p.source.clone()}
                </p>
                <p class="price" data-testid="price">
                    {p.price_label()}
                    {p.compare_at.map(|c| view! { " " <s title="Was">{c.to_string()}</s> })}
                    " " <ChangeBadge change=p.change.clone()/>
                </p>
                <p class="deal-line"><DealBadge deal=p.deal.clone()/></p>
                <p class="sizes" class:sold-out=sold_out data-testid="sizes">{sizes}</p>
                {p.spread.clone().map(|s| view! {
                    <p class="spread hint" data-testid="spread">
                        {format!("In stock in {} stores: {:.2}–{:.2} {} ({} % apart)", s.stores, s.low, s.high, p.currency, s.percent)}
                    </p>
                })}
                {watch.map(|action| view! { <crate::alerts::WatchButton key=key.clone() action/> })}
            </div>
        </li>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn summary(key: &str, price: &str) -> ProductSummary {
        ProductSummary {
            key: key.into(),
            source: "s".into(),
            title: key.into(),
            brand: "B".into(),
            product_type: String::new(),
            url: String::new(),
            image: None,
            currency: "USD".into(),
            min_price: price.parse().ok(),
            max_price: price.parse().ok(),
            compare_at: None,
            sizes_in_stock: vec![],
            variant_count: 1,
            removed: false,
            updated: Utc::now(),
            change: None,
            spread: None,
            deal: None,
        }
    }

    fn event(kind: EventKind, p: ProductSummary) -> Event {
        Event {
            seq: 1,
            kind,
            at: Utc::now(),
            source: "s".into(),
            product: Some(p),
            variant: None,
            old_price: None,
            new_price: None,
            reason: None,
        }
    }

    #[test]
    fn events_replace_add_and_remove_cards() {
        let all = ProductFilter::default();
        let mut ps = vec![summary("a", "10"), summary("b", "20")];
        apply(
            &mut ps,
            &all,
            &event(EventKind::PriceChanged, summary("b", "15")),
        );
        assert_eq!(
            ps[0].min_price,
            "15".parse().ok(),
            "changed moves to the top"
        );
        assert_eq!(
            apply(
                &mut ps,
                &all,
                &event(EventKind::NewProduct, summary("c", "5"))
            ),
            1
        );
        assert_eq!(ps[0].key, "c");
        let mut gone = summary("a", "10");
        gone.removed = true;
        assert_eq!(apply(&mut ps, &all, &event(EventKind::Removed, gone)), -1);
        assert_eq!(
            ps.iter().map(|p| p.key.as_str()).collect::<Vec<_>>(),
            vec!["c", "b"]
        );
    }

    #[test]
    fn a_card_that_stops_matching_leaves_the_page() {
        let cheap = ProductFilter {
            max_price: Some("50".parse().unwrap()),
            ..Default::default()
        };
        let mut ps = vec![summary("a", "10")];
        assert_eq!(
            apply(
                &mut ps,
                &cheap,
                &event(EventKind::PriceChanged, summary("a", "60"))
            ),
            -1
        );
        assert!(ps.is_empty());
        // A non-matching new product does not appear.
        assert_eq!(
            apply(
                &mut ps,
                &cheap,
                &event(EventKind::NewProduct, summary("z", "99"))
            ),
            0
        );
        assert!(ps.is_empty());
    }

    #[test]
    fn query_strings_encode_values() {
        assert_eq!(
            query_string(&[("q", "dunk low".into()), ("brand", "A&B".into())]),
            "?q=dunk+low&brand=A%26B"
        );
    }

    #[test]
    fn export_links_carry_the_filters_but_not_the_page() {
        let f = ProductFilter {
            brand: "Nike".into(),
            page: 3,
            ..Default::default()
        };
        assert_eq!(
            export_href(&f, "csv"),
            "/api/v1/export/products?brand=Nike&format=csv"
        );
    }
}
