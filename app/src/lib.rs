//! Dropwatch's web UI: Leptos components, routes and server functions.
//!
//! Rendered on the server (feature `ssr`, which brings in the engine) and
//! hydrated in the browser (feature `hydrate`, wasm-clean). Data is loaded at
//! the route level by server functions; after hydration the app shell opens
//! one `/api/live` socket (see `live.rs`), the pages apply its events to
//! their signals, so they update in place without a reload, and times turn
//! into the reader's local time (see `time.rs`).

// Builds that keep full view types (e.g. `cargo leptos watch --release`)
// have a view tree deeper than rustc's default query depth. The scripts build
// with `--cfg erase_components` in release too (a smaller wasm bundle).
#![recursion_limit = "256"]

pub mod access;
mod account;
mod admin;
mod alerts;
mod alerts_api;
pub mod api;
mod chart;
mod connector_accounts;
mod dashboard;
mod deal_panel;
#[cfg(feature = "ssr")]
pub mod flash;
mod form_feedback;
mod link_api;
mod link_edit;
mod link_import;
mod live;
mod markup_fields;
mod markup_form;
mod picks;
mod probe;
mod product;
mod product_api;
mod related;
pub mod repricing;
mod repricing_api;
mod rule_edit;
mod rule_form;
mod source_card;
mod source_form;
mod source_import;
mod sources;
mod sources_api;
mod status;
mod suggestion;
mod time;
mod trending;
mod ui;
mod welcome;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Link, Meta, MetaTags, Stylesheet, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{path, SsrMode};

use account::{AccountPage, LoginPage, SetupPage};
use admin::{AuditPage, UsersPage};
use alerts::AlertsPage;
pub use dashboard::DashboardPage;
use live::Live;
use product::ProductPage;
use repricing::RepricingPage;
use sources::SourcesPage;
use status::StatusPage;

/// Registers the service worker (see `public/sw.js`) once the page has loaded.
const REGISTER_SW: &str = "if ('serviceWorker' in navigator) { window.addEventListener('load', function () { navigator.serviceWorker.register('/sw.js').catch(function (e) { console.warn('service worker:', e); }); }); }";

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="manifest" href="/manifest.webmanifest"/>
                <link rel="apple-touch-icon" href="/icons/icon-192.png"/>
                <script inner_html=REGISTER_SW></script>
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
    Live::provide();
    time::provide_ticker();
    // Effects run only in the browser, after hydration: mark the document so
    // that tests (and scripts) can wait until the page's buttons are live.
    Effect::new(|_| {
        #[cfg(feature = "hydrate")]
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
    view! {
        <Stylesheet id="leptos" href="/pkg/dropwatch.css"/>
        <Title text="Dropwatch"/>
        <Meta name="description" content="Live prices and per-size stock across the stores you watch"/>
        <Meta name="theme-color" content="#0f766e"/>
        <Link rel="icon" href="/favicon.svg" type_="image/svg+xml"/>
        <Router>
            <a class="skip" href="#content">"Skip to content"</a>
            <ui::Header/>
            <div id="content">
                <Routes fallback=|| view! { <NotFound/> }>
                    <Route path=path!("/") view=DashboardPage ssr=SsrMode::Async/>
                    <Route path=path!("/product/:key") view=ProductPage ssr=SsrMode::Async/>
                    <Route path=path!("/sources") view=SourcesPage ssr=SsrMode::Async/>
                    <Route path=path!("/status") view=StatusPage ssr=SsrMode::Async/>
                    <Route path=path!("/trending") view=crate::trending::TrendingPage ssr=SsrMode::Async/>
                    <Route path=path!("/alerts") view=AlertsPage ssr=SsrMode::Async/>
                    <Route path=path!("/repricing") view=RepricingPage ssr=SsrMode::Async/>
                    <Route path=path!("/login") view=LoginPage/>
                    <Route path=path!("/setup") view=SetupPage/>
                    <Route path=path!("/account") view=AccountPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/users") view=UsersPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/audit") view=AuditPage ssr=SsrMode::Async/>
                </Routes>
            </div>
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
            <p>"There is nothing at this address. " <a href="/">"Go to the dashboard"</a></p>
        </main>
    }
}
