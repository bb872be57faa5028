//! Dropwatch's web UI: Leptos components, routes and server functions.
//!
//! Rendered on the server (feature `ssr`, which brings in the engine) and
//! hydrated in the browser (feature `hydrate`, wasm-clean). Data is loaded at
//! the route level by server functions; after hydration each page opens the
//! `/api/live` socket (see `live.rs`) and applies events to its signals, so
//! the page updates in place without a reload.

// Release builds keep full view types (debug builds erase them), and the
// page's view tree is deeper than rustc's default query depth.
#![recursion_limit = "256"]

pub mod api;
mod live;
mod products;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Link, Meta, MetaTags, Stylesheet, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{path, SsrMode};

pub use products::ProductsPage;

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="leptos" href="/pkg/dropwatch.css"/>
        <Title text="Dropwatch"/>
        <Meta name="description" content="Live prices and per-size stock across the stores you watch"/>
        <Meta name="theme-color" content="#0f766e"/>
        <Link rel="icon" href="/favicon.svg" type_="image/svg+xml"/>
        <Router>
            <Routes fallback=|| view! { <NotFound/> }>
                <Route path=path!("/") view=ProductsPage ssr=SsrMode::Async/>
            </Routes>
        </Router>
    }
}

#[component]
fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
            resp.set_status(http::StatusCode::NOT_FOUND);
        }
    }
    view! {
        <main class="page">
            <h1>"Page not found"</h1>
            <p>"There is nothing at this address. " <a href="/">"Go to the products"</a></p>
        </main>
    }
}
