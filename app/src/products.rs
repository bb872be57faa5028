//! The products page: every tracked product with its price and sizes in
//! stock, and a feed of the latest changes, both updated live.

use leptos::prelude::*;

use model::{Event, EventKind, ProductSummary};

use crate::api::{list_products, ProductsView, FEED_LEN};
use crate::live::{use_live_events, Connection};

#[component]
pub fn ProductsPage() -> impl IntoView {
    let view = Resource::new(|| (), |_| list_products());
    view! {
        <main class="page">
            <Suspense fallback=|| view! { <p class="loading">"Loading products…"</p> }>
                {move || view.get().map(|r| match r {
                    Ok(v) => view! { <LiveProducts initial=v/> }.into_any(),
                    Err(e) => view! {
                        <p class="error" role="alert">
                            "Could not load the products: " {e.to_string()}
                            ". Reload the page to try again."
                        </p>
                    }.into_any(),
                })}
            </Suspense>
        </main>
    }
}

/// Applies one event to the product list: its product row is replaced by the
/// summary the event carries (or added, for a new product; or dropped, for a
/// removed one).
fn apply(products: &mut Vec<ProductSummary>, e: &Event) {
    let Some(p) = &e.product else { return };
    let pos = products.iter().position(|x| x.key == p.key);
    match (e.kind, pos) {
        (EventKind::Removed, Some(i)) => {
            products.remove(i);
        }
        (EventKind::Removed, None) => {}
        (_, Some(i)) => products[i] = p.clone(),
        (_, None) => products.insert(0, p.clone()),
    }
}

#[component]
fn LiveProducts(initial: ProductsView) -> impl IntoView {
    let products = RwSignal::new(initial.products);
    let total = RwSignal::new(initial.total);
    let feed = RwSignal::new(initial.recent);
    let on_event = move |e: Event| {
        match e.kind {
            EventKind::NewProduct => total.update(|t| *t += 1),
            EventKind::Removed => total.update(|t| *t = t.saturating_sub(1)),
            _ => {}
        }
        products.update(|ps| apply(ps, &e));
        feed.update(|f| {
            f.insert(0, e);
            f.truncate(FEED_LEN);
        });
    };
    let connection = use_live_events(initial.last_seq, on_event);

    view! {
        <header class="top">
            <h1>"Dropwatch"</h1>
            <ConnectionBadge connection/>
        </header>
        <div class="layout">
            <section class="products" aria-labelledby="products-heading">
                <h2 id="products-heading">
                    "Products " <span class="count" data-testid="product-count">{move || total.get()}</span>
                </h2>
                <ul class="grid">
                    <For
                        each=move || products.get()
                        key=|p| (p.key.clone(), p.updated)
                        children=|p| view! { <ProductCard p/> }
                    />
                </ul>
                <Show when=move || products.with(Vec::is_empty)>
                    <p class="empty">"No products yet: the first check of your sources is still running."</p>
                </Show>
            </section>
            <aside class="feed" aria-labelledby="feed-heading">
                <h2 id="feed-heading">"Latest changes"</h2>
                <ol data-testid="feed">
                    <For
                        each=move || feed.get()
                        key=|e| e.seq
                        children=|e| view! { <FeedItem e/> }
                    />
                </ol>
                <Show when=move || feed.with(Vec::is_empty)>
                    <p class="empty">"Changes appear here the moment they are seen."</p>
                </Show>
            </aside>
        </div>
    }
}

#[component]
fn ConnectionBadge(connection: ReadSignal<Connection>) -> impl IntoView {
    view! {
        <p class="connection" data-state=move || connection.get().as_str() role="status">
            {move || connection.get().label()}
        </p>
    }
}

#[component]
fn ProductCard(p: ProductSummary) -> impl IntoView {
    let sizes = if p.sizes_in_stock.is_empty() {
        "Sold out".to_string()
    } else {
        format!("In stock: {}", p.sizes_in_stock.join(", "))
    };
    let sold_out = p.sizes_in_stock.is_empty();
    let alt = format!("{} by {}", p.title, p.brand);
    view! {
        <li class="card" data-key=p.key.clone() data-testid="product">
            {p.image.clone().map(|src| view! { <img src=src alt=alt.clone() loading="lazy" width="96" height="96"/> })}
            <div class="card-body">
                <h3><a href=p.url.clone() target="_blank" rel="noopener">{p.title.clone()}</a></h3>
                <p class="brand">{p.brand.clone()} " · " {p.source.clone()}</p>
                <p class="price" data-testid="price">
                    {p.price_label()}
                    {p.compare_at.map(|c| view! { " " <s title="Was">{c.to_string()}</s> })}
                </p>
                <p class="sizes" class:sold-out=sold_out data-testid="sizes">{sizes}</p>
            </div>
        </li>
    }
}

#[component]
fn FeedItem(e: Event) -> impl IntoView {
    let kind = e.kind.as_str();
    let label = match e.kind {
        EventKind::NewProduct => "New",
        EventKind::PriceChanged => match (e.old_price, e.new_price) {
            (Some(o), Some(n)) if n < o => "Price drop",
            _ => "Price rise",
        },
        EventKind::Restocked => "Restock",
        EventKind::SoldOut => "Sold out",
        EventKind::Removed => "Removed",
        EventKind::Blocked => "Blocked",
        EventKind::Unblocked => "Back online",
    };
    let at = e.at.format("%H:%M:%S UTC").to_string();
    view! {
        <li class="event" data-kind=kind data-seq=e.seq>
            <span class="tag">{label}</span>
            " "
            <span class="what">{e.describe()}</span>
            " "
            <time datetime=e.at.to_rfc3339()>{at}</time>
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
            url: String::new(),
            image: None,
            currency: "USD".into(),
            min_price: price.parse().unwrap(),
            max_price: price.parse().unwrap(),
            compare_at: None,
            sizes_in_stock: vec![],
            variant_count: 1,
            removed: false,
            updated: Utc::now(),
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
    fn events_replace_add_and_remove_rows() {
        let mut ps = vec![summary("a", "10"), summary("b", "20")];
        apply(&mut ps, &event(EventKind::PriceChanged, summary("b", "15")));
        assert_eq!(ps[1].min_price, "15".parse().unwrap());
        apply(&mut ps, &event(EventKind::NewProduct, summary("c", "5")));
        assert_eq!(ps[0].key, "c");
        apply(&mut ps, &event(EventKind::Removed, summary("a", "10")));
        assert_eq!(
            ps.iter().map(|p| p.key.as_str()).collect::<Vec<_>>(),
            vec!["c", "b"]
        );
    }
}
