//! `dropwatch serve`: open the store, start the engine (and the demo store),
//! and serve the dashboard, the live socket, the REST API, metrics and
//! health on one port, every request through the sign-in gate (`auth.rs`).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use anyhow::Context;
use axum::extract::State;
use axum::middleware;
use axum::routing::{get, post};
use axum::{Json, Router};
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tokio::sync::watch;

use app::{shell, App};
use model::Role;
use monitor::alerts::{AlertService, Endpoints};
use monitor::auth::{KeySource, LoginLimits, Vault};
use monitor::demo::{DemoConfig, DemoStore};
use monitor::fetch::FetchLimits;
use monitor::outbound::Policy;
use monitor::politeness::Politeness;
use monitor::store::DbMemory;
use monitor::{Accounts, Control, Engine, EngineConfig, NewSource, Store};

use crate::config::ServeArgs;
use crate::metrics::HttpMetrics;

/// Products of the built-in demo's WooCommerce boutique (`/demo/boutique`).
const BOUTIQUE_PRODUCTS: usize = 60;

/// Shared by the non-Leptos routes.
#[derive(Clone)]
pub struct AppState {
    pub engine: Arc<Engine>,
    pub accounts: Arc<Accounts>,
    pub control: Control,
    /// Flips to `true` when the server shuts down, closing live sockets so
    /// that graceful shutdown does not wait for them forever.
    pub shutdown: watch::Receiver<bool>,
    /// Open live sockets' credentials, checked again together.
    pub rechecks: Arc<crate::live_recheck::Rechecks>,
    /// The role of visitors who are not signed in (`--anonymous`).
    pub anonymous: Option<Role>,
    /// `--public-url`'s origin, when browsers reach us through a proxy.
    pub public_origin: Option<String>,
    /// The names requests may use besides addresses and localhost (`hosts.rs`).
    pub allowed_hosts: Arc<crate::hosts::AllowedHosts>,
    /// `--trusted-proxy`: whose X-Forwarded-For names the client (`client.rs`).
    pub trusted_proxies: Arc<Vec<ipnet::IpNet>>,
    pub metrics_token: Option<String>,
    pub http_metrics: Arc<HttpMetrics>,
}

/// Where the secret key comes from when none is given.
fn key_source(args: &ServeArgs) -> KeySource {
    if let Some(k) = &args.secret_key {
        return KeySource::Given(k.0.clone());
    }
    if let Some(f) = &args.secret_key_file {
        return KeySource::File(f.clone());
    }
    let url = monitor::store::endpoint(&args.db);
    match url
        .strip_prefix("surrealkv://")
        .or(url.strip_prefix("rocksdb://"))
    {
        Some(path) => KeySource::File(
            std::path::Path::new(path)
                .parent()
                .unwrap_or(std::path::Path::new("."))
                .join("secret.key"),
        ),
        None if url.starts_with("mem://") => KeySource::Ephemeral,
        None => KeySource::File("data/secret.key".into()),
    }
}

/// Where notifications go: the hosted services, unless moved with
/// `--notify-endpoint`, and any extra SMTP roots.
fn endpoints(args: &ServeArgs, policy: &Arc<Policy>) -> anyhow::Result<Endpoints> {
    let mut at = Endpoints {
        policy: policy.clone(),
        ..Endpoints::default()
    };
    for (kind, url) in &args.notify_endpoints {
        let slot = match kind.as_str() {
            "discord" => &mut at.discord,
            "slack" => &mut at.slack,
            "telegram" => &mut at.telegram,
            _ => &mut at.ntfy,
        };
        *slot = url.clone();
    }
    if let Some(path) = &args.smtp_ca {
        at.smtp_roots.push(
            std::fs::read(path).with_context(|| format!("reading --smtp-ca {}", path.display()))?,
        );
    }
    Ok(at)
}

/// The address other local programs (the poller) reach us at.
/// Writes a year of the demo store's history (first start), then assesses
/// every deal again with it.
async fn write_demo_history(
    engine: &Engine,
    demo: &DemoStore,
    source: &str,
    products: usize,
) -> Result<(), monitor::store::StoreError> {
    let started = std::time::Instant::now();
    let groups = {
        let cat = demo.catalogue.lock();
        monitor::demo::history::by_product(&cat, source, chrono::Utc::now(), 42, products)
    };
    // A few products at a time, each with its prices and stock in one
    // transaction, so a product is assessed on all of its history or none.
    let mut rows = 0;
    for chunk in groups.chunks(20) {
        let prices: Vec<_> = chunk.iter().flat_map(|g| g.0.iter().cloned()).collect();
        let stock: Vec<_> = chunk.iter().flat_map(|g| g.1.iter().cloned()).collect();
        rows += prices.len() + stock.len();
        engine.store().import_history(&prices, &stock).await?;
    }
    tracing::info!(
        rows,
        took_ms = started.elapsed().as_millis() as u64,
        "first start: wrote a year of the demo store's history"
    );
    engine.assess_all_deals().await?;
    Ok(())
}

fn loopback(addr: SocketAddr) -> SocketAddr {
    if addr.ip().is_unspecified() {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), addr.port())
    } else {
        addr
    }
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let store = Store::open_with(&args.db, DbMemory::from_mib(args.db_memory_mb))
        .await
        .with_context(|| format!("opening the database {:?}", args.db))?;
    // What users add may not reach private networks, unless the operator
    // says so; what the operator names on the command line is trusted.
    let policy = if args.allow_private_networks {
        Policy::open()
    } else {
        Policy::strict()
    };
    for u in &args.trust_urls {
        policy.trust(u);
    }
    let engine = Engine::open(
        store,
        EngineConfig {
            limits: FetchLimits {
                timeout: args.request_timeout,
                max_body_bytes: args.max_body_bytes,
            },
            outbound: policy.clone(),
            source_env: args
                .source_env
                .iter()
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .collect(),
            hold_shrink: f64::from(args.hold_shrink) / 100.0,
            lease_ttl: args.lease_ttl,
            retention: monitor::retention::Retention {
                keep_runs: args.keep_runs as usize,
                keep_events: args.keep_events,
                ..Default::default()
            },
            ..EngineConfig::default()
        },
    )
    .await
    .context("loading the stored state")?;
    let vault = Vault::open(&key_source(&args), engine.store())
        .await
        .context("opening the secret store")?;
    let accounts = Arc::new(Accounts::new(
        engine.store().clone(),
        vault,
        LoginLimits::default(),
    ));
    if let Some(pw) = &args.admin_password {
        if let Some(u) = accounts.ensure_admin(&args.admin_user, &pw.0).await? {
            tracing::info!("created the first admin {:?} (--admin-password)", u.name);
        }
    }
    let alerts = AlertService::open(
        accounts.clone(),
        endpoints(&args, &policy)?,
        &args.vapid_contact,
    )
    .await
    .context("loading the alert rules and channels")?;
    let repricing = monitor::repricing::service::Repricer::open(engine.clone(), accounts.clone())
        .await
        .context("loading the repricing links")?;
    let control = Control {
        engine: engine.clone(),
        accounts: accounts.clone(),
        alerts: alerts.clone(),
        repricing: repricing.clone(),
    };
    control
        .load_connector_accounts()
        .await
        .context("loading the connector accounts from the vault")?;
    for (alias, canonical) in &args.brand_aliases {
        engine.add_brand_alias(alias, canonical).await?;
    }

    // Bind first: with port 0 the demo source needs the real port.
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("listening on {} (is another Dropwatch running?)", args.addr))?;
    let addr = listener.local_addr()?;
    // Shown to the other instances sharing a database server.
    engine.leases().set_addr(&addr.to_string());

    let demo = if args.no_demo {
        None
    } else {
        let demo = DemoStore::new(&DemoConfig {
            products: args.demo_products,
            ..DemoConfig::default()
        });
        // A WooCommerce boutique of its own (the demo store's Store API,
        // another catalogue): /demo/boutique, for trying that kind.
        let boutique = DemoStore::new(&DemoConfig {
            products: BOUTIQUE_PRODUCTS,
            seed: 7,
            ..DemoConfig::default()
        });
        if let Some(every) = args.demo_change_every.0 {
            demo.start_changes(every, args.demo_changes as usize);
            boutique.start_changes(every, 1);
        }
        let url: url::Url = format!("http://{}/demo", loopback(addr)).parse()?;
        engine.set_host_rules(&url, Politeness::local());
        // The built-in demo (and its fake APIs) is the operator's own, also
        // under the name localhost (the demo Pop Mart's address).
        policy.trust(&url);
        let mut by_name = url.clone();
        let _ = by_name.set_host(Some("localhost"));
        policy.trust(&by_name);
        if engine.sources().is_empty() {
            let s = engine
                .add_source(NewSource {
                    key: Some("demo".into()),
                    name: Some("Demo store".into()),
                    currency: Some("USD".into()),
                    ..NewSource::new("shopify", &url.to_string(), args.demo_interval)
                })
                .await?;
            tracing::info!(
                "first start: added the built-in demo store as source {:?}",
                s.key
            );
            // A year of its history, so deal scores and charts show
            // something at once (written while the server starts).
            let (engine, demo, key) = (engine.clone(), demo.clone(), s.key.clone());
            let products = args.demo_history_products;
            if products > 0 {
                tokio::spawn(async move {
                    if let Err(e) = write_demo_history(&engine, &demo, &key, products).await {
                        tracing::warn!("could not write the demo store's history: {e}");
                    }
                });
            }
        }
        Some((demo, boutique))
    };
    for s in &args.sources {
        let new = NewSource::from_arg(&s.kind, &s.url, args.interval)
            .with_context(|| format!("reading --source {}={}", s.kind, s.url))?;
        if let Ok(u) = url::Url::parse(&new.url) {
            policy.trust(&u);
        }
        let added = engine
            .add_source(new)
            .await
            .with_context(|| format!("adding --source {}={}", s.kind, s.url))?;
        tracing::info!("watching {} as source {:?}", added.url, added.key);
    }
    engine.start();
    alerts.start(engine.clone());
    repricing.start();

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
                let control = control.clone();
                // New API tokens waiting for the account page after a plain form post.
                let flash = app::flash::TokenFlash::default();
                move || {
                    provide_context(control.engine.clone());
                    provide_context(control.clone());
                    provide_context(flash.clone());
                }
            },
            {
                let options = leptos_options.clone();
                move || shell(options.clone())
            },
        )
        .fallback(leptos_axum::file_and_error_handler(shell))
        .with_state(leptos_options);
    // A server function's body is checked before Leptos reads it: too large,
    // malformed or missing arguments are answered 4xx, not 500.
    let pages = crate::server_fns::guard(pages);

    let (stop_tx, stop_rx) = watch::channel(false);
    let rechecks = Arc::new(crate::live_recheck::Rechecks::default());
    tokio::spawn(rechecks.clone().run(accounts.clone(), stop_rx.clone()));
    let state = AppState {
        rechecks,
        engine: engine.clone(),
        accounts: accounts.clone(),
        control,
        shutdown: stop_rx,
        anonymous: args.anonymous.0,
        public_origin: args
            .public_url
            .as_ref()
            .map(|u| u.origin().ascii_serialization()),
        metrics_token: args.metrics_token.as_ref().map(|t| t.0.clone()),
        allowed_hosts: Arc::new(crate::hosts::AllowedHosts::new(
            args.public_url.as_ref(),
            &args.allowed_hosts,
        )),
        trusted_proxies: Arc::new(args.trusted_proxies.clone()),
        http_metrics: Arc::default(),
    };
    let api = Router::new()
        .route("/api/live", get(crate::live::handler))
        .route("/healthz", get(health))
        .route("/readyz", get(crate::metrics::ready))
        .route("/metrics", get(crate::metrics::metrics))
        .route("/api/docs", get(crate::rest::docs_page))
        .route("/auth/login", post(crate::auth::login))
        .route("/auth/setup", post(crate::auth::setup))
        .route("/auth/logout", post(crate::auth::logout))
        .route("/webhooks/shopify", post(crate::webhooks::shopify))
        .merge(crate::rest::router())
        .with_state(state.clone());
    let mut app = api.merge(pages);
    if let Some((demo, boutique)) = &demo {
        // The demo's own Shopify store for repricing ("your store"),
        // mirroring the demo catalogue: /demo/shop/admin/api/.../graphql.json.
        let demo_base: url::Url = format!("http://{}/demo", loopback(addr)).parse()?;
        let (shop, first_ids) = {
            let cat = demo.catalogue.lock();
            let ids: Vec<u64> = cat.products.iter().take(3).map(|p| p.id).collect();
            let admin = monitor::demo::admin::FakeAdmin::new(
                monitor::demo::admin::DEMO_TOKEN,
                &cat,
                cat.products.len(),
            );
            (admin, ids)
        };
        repricing.offer_shop(monitor::demo::offers::shop(&demo_base));
        // The demo's Oxylabs (its Amazon mirrors the demo catalogue) and Pop
        // Mart, for trying those sources without an account.
        let oxylabs = monitor::demo::oxylabs::FakeOxylabs::new(
            demo.clone(),
            monitor::demo::oxylabs::DEMO_USER,
            monitor::demo::oxylabs::DEMO_PASSWORD,
        );
        let popmart = monitor::demo::popmart::FakePopmart::new(
            monitor::demo::popmart::DEMO_CLIENT_KEY,
            monitor::demo::popmart::DEMO_SALT,
        );
        engine.offer_accounts(monitor::demo::offers::accounts(&demo_base, &first_ids));
        app = app.nest(
            "/demo",
            demo.router()
                .nest("/shop", shop.router())
                .nest("/oxylabs", oxylabs.router())
                .nest("/popmart", popmart.router())
                .nest("/boutique", boutique.router()),
        );
    }
    let app = crate::logging::with_requests(
        app.layer(middleware::from_fn_with_state(
            state.clone(),
            crate::auth::gate,
        ))
        // Before anything else is looked at: a request for another host
        // name is a DNS-rebinding page's.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::hosts::check,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::metrics::count,
        )),
    );

    // Sessions past their end are forgotten hourly.
    {
        let accounts = accounts.clone();
        tokio::spawn(async move {
            loop {
                if let Err(e) = accounts.sweep().await {
                    tracing::warn!("could not forget expired sessions: {e}");
                }
                tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
            }
        });
    }

    if let Some(token) = accounts.setup_token().await? {
        // The one-time link is for the person starting the server: on the
        // console, not in the log stream.
        println!(
            "No user yet. Create the first admin at http://{}/setup?token={token}",
            loopback(addr)
        );
    }
    println!(
        "Dropwatch is running: open http://{} in your browser",
        loopback(addr)
    );
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown_signal().await;
        tracing::info!("shutting down");
        let _ = stop_tx.send(true);
    })
    .await?;
    alerts.stop().await;
    engine.stop();
    // The last checks' runs, written behind; then other instances sharing
    // the database take this one's hosts at once (not waiting long for a
    // database that is gone: its leases lapse).
    let wait = std::time::Duration::from_secs(5);
    match tokio::time::timeout(wait, engine.store().write_queued_runs()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!("the last checks' runs were not saved: {e}"),
        Err(_) => {
            tracing::warn!("the database did not answer; the last checks' runs are not saved")
        }
    }
    if tokio::time::timeout(wait, engine.leave()).await.is_err() {
        tracing::warn!("the database did not answer; this instance's leases lapse by themselves");
    }
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
