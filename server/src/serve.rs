//! `dropwatch serve`: open the store, start the engine (and the demo store),
//! and serve the dashboard, the live socket and health on one port.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use anyhow::Context;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tokio::sync::watch;

use app::{shell, App};
use monitor::demo::{DemoConfig, DemoStore};
use monitor::fetch::FetchLimits;
use monitor::politeness::Politeness;
use monitor::{Engine, EngineConfig, NewSource, Store};

use crate::config::ServeArgs;

/// Shared by the non-Leptos routes.
#[derive(Clone)]
pub struct AppState {
    pub engine: Arc<Engine>,
    /// Flips to `true` when the server shuts down, closing live sockets so
    /// that graceful shutdown does not wait for them forever.
    pub shutdown: watch::Receiver<bool>,
}

/// The address other local programs (the poller) reach us at.
fn loopback(addr: SocketAddr) -> SocketAddr {
    if addr.ip().is_unspecified() {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), addr.port())
    } else {
        addr
    }
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let store = Store::open(&args.db)
        .await
        .with_context(|| format!("opening the database {:?}", args.db))?;
    let engine = Engine::open(
        store,
        EngineConfig {
            limits: FetchLimits {
                timeout: args.request_timeout,
                max_body_bytes: args.max_body_bytes,
            },
            ..EngineConfig::default()
        },
    )
    .await
    .context("loading the stored state")?;
    for (alias, canonical) in &args.brand_aliases {
        engine.add_brand_alias(alias, canonical).await?;
    }

    // Bind first: with port 0 the demo source needs the real port.
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("listening on {} (is another Dropwatch running?)", args.addr))?;
    let addr = listener.local_addr()?;

    let demo = if args.no_demo {
        None
    } else {
        let demo = DemoStore::new(&DemoConfig {
            products: args.demo_products,
            ..DemoConfig::default()
        });
        if let Some(every) = args.demo_change_every.0 {
            demo.start_changes(every, DemoConfig::default().changes_per_tick);
        }
        let url: url::Url = format!("http://{}/demo", loopback(addr)).parse()?;
        engine.set_host_rules(&url, Politeness::local());
        if engine.sources().is_empty() {
            let s = engine
                .add_source(NewSource {
                    key: Some("demo".into()),
                    kind: "shopify".into(),
                    url: url.to_string(),
                    name: Some("Demo store".into()),
                    currency: Some("USD".into()),
                    interval: args.demo_interval,
                })
                .await?;
            tracing::info!(
                "first start: added the built-in demo store as source {:?}",
                s.key
            );
        }
        Some(demo)
    };
    for s in &args.sources {
        let added = engine
            .add_source(NewSource {
                key: None,
                kind: s.kind.clone(),
                url: s.url.clone(),
                name: None,
                currency: None,
                interval: args.interval,
            })
            .await
            .with_context(|| format!("adding --source {}={}", s.kind, s.url))?;
        tracing::info!("watching {} as source {:?}", added.url, added.key);
    }
    engine.start();

    let mut leptos_options = get_configuration(None)
        .context("reading the Leptos site configuration")?
        .leptos_options;
    leptos_options.site_addr = addr;
    let routes = generate_route_list(App);
    let pages = Router::new()
        .leptos_routes_with_context(
            &leptos_options,
            routes,
            {
                let engine = engine.clone();
                move || provide_context(engine.clone())
            },
            {
                let options = leptos_options.clone();
                move || shell(options.clone())
            },
        )
        .fallback(leptos_axum::file_and_error_handler(shell))
        .with_state(leptos_options);

    let (stop_tx, stop_rx) = watch::channel(false);
    let api = Router::new()
        .route("/api/live", get(crate::live::handler))
        .route("/healthz", get(health))
        .route("/api/sources", get(sources))
        .with_state(AppState {
            engine: engine.clone(),
            shutdown: stop_rx,
        });
    let mut app = api.merge(pages);
    if let Some(demo) = &demo {
        app = app.nest("/demo", demo.router());
    }
    let app = app.layer(tower_http::trace::TraceLayer::new_for_http());

    println!(
        "Dropwatch is running: open http://{} in your browser",
        loopback(addr)
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            tracing::info!("shutting down");
            let _ = stop_tx.send(true);
        })
        .await?;
    engine.stop();
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

/// `GET /healthz`: 200 with a small JSON summary while the server runs.
async fn health(State(state): State<AppState>) -> Json<serde_json::Value> {
    let e = &state.engine;
    Json(serde_json::json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "sources": e.sources().len(),
        "products": e.product_count(),
        "last_seq": e.store().last_seq(),
        "live_clients": e.live_clients(),
    }))
}

/// `GET /api/sources`: every source with its run in progress (pages done of
/// expected), its latest runs, and the state of every host we talk to.
async fn sources(
    State(state): State<AppState>,
) -> Result<Json<serde_json::Value>, (axum::http::StatusCode, String)> {
    let e = &state.engine;
    let mut out = Vec::new();
    for s in e.sources() {
        let runs = e.store().runs(&s.key, 10).await.map_err(|err| {
            (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                format!("could not read the poll runs: {err}"),
            )
        })?;
        out.push(serde_json::json!({
            "source": s,
            "progress": e.progress(&s.key),
            "runs": runs,
        }));
    }
    Ok(Json(
        serde_json::json!({ "sources": out, "hosts": e.hosts() }),
    ))
}
