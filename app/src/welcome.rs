//! The first-run welcome (issue 21): after the first admin is created the
//! server sends them to `/?welcome`, and the dashboard opens with what the
//! demo is, how to watch a real shop, and how to turn the demo off. A plain
//! panel with links, so it reads the same before the wasm loads.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// Whether the page was opened as the first-run page (`?welcome`).
pub fn wanted() -> bool {
    use_query_map().with_untracked(|q| q.get_str("welcome").is_some())
}

#[component]
pub fn Welcome() -> impl IntoView {
    view! {
        <section class="panel welcome" aria-labelledby="welcome-title" data-testid="welcome">
            <h2 id="welcome-title">"Welcome to Dropwatch"</h2>
            <p>
                "What you see is the "<strong>"demo store"</strong>": a pretend shop built into Dropwatch "
                "(sneakers, streetwear and figures, each size with its own stock) whose prices and stock "
                "change by themselves every few seconds, so the feed, charts, alerts and repricing have "
                "something to show at once. It is not a real shop: nothing is bought and no shop is contacted."
            </p>
            <p>
                <strong>"To watch a real shop"</strong>", open "<a href="/sources">"Sources"</a>" and add one: "
                "a Shopify store's address (Dropwatch reads its public product list), one product page, "
                "a shop's JSON API through a field mapping, Amazon products (through your Oxylabs account) "
                "or Pop Mart. Then set "<a href="/alerts">"Alerts"</a>" to hear about drops and restocks."
            </p>
            <p>
                <strong>"To turn the demo off"</strong>", start Dropwatch with "<code>"--no-demo"</code>
                " ("<code>"scripts/run.sh --no-demo"</code>"): the demo store no longer runs and is not added "
                "again. Then remove the “Demo store” source on "<a href="/sources">"Sources"</a>
                " (“Remove…”); the products it found stay in the history."
            </p>
            <p><a href="/">"Got it"</a></p>
        </section>
    }
}
