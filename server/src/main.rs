//! The `dropwatch` binary: parses the command line (`config.rs`), sets up
//! logging (`logging.rs`), and runs the server (`serve.rs`), the standalone
//! demo store, or a one-shot command (`cli/`: backup, restore, import, probe).
//!
//! A request's path through the server: request id and log span
//! (`logging.rs`) -> HTTP metrics (`metrics.rs`) -> the host name check
//! against DNS rebinding (`hosts.rs`) -> the sign-in gate (`auth.rs`: who is
//! this, CSRF, 401/redirect; the client's address for throttling sign-ins
//! comes from `client.rs`, where to go after it from `next_path.rs`) -> the
//! route: Leptos pages and server functions (crate `app`; bodies checked
//! first by `server_fns.rs`), the REST API
//! (`rest.rs`), the live socket (`live.rs`), `/metrics` and health. Errors
//! leave as problem+json (`problem.rs`).

mod auth;
mod cli;
mod client;
mod config;
mod hosts;
mod live;
mod live_recheck;
mod logging;
mod metrics;
mod next_path;
mod problem;
mod rest;
mod rest_alerts;
mod rest_data;
mod rest_export;
mod rest_probe;
mod rest_repricing;
mod serve;
mod server_fns;
mod webhooks;

use clap::Parser;

use config::{Cli, Command, DemoArgs};
use monitor::demo::{DemoConfig, DemoStore};

// SurrealDB allocates and frees heavily on every write; mimalloc cut the
// first import of the poll benchmark by about 15% against the system allocator.
// `--features system-alloc` builds with the system allocator instead, so a
// heap profiler that hooks malloc (heaptrack) sees every allocation.
#[cfg(not(feature = "system-alloc"))]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

async fn demo_store(args: DemoArgs) -> anyhow::Result<()> {
    let store = DemoStore::new(&DemoConfig {
        products: args.products,
        seed: args.seed,
        change_every: args.change_every.0,
        changes_per_tick: args.changes_per_tick,
    });
    if let Some(every) = args.change_every.0 {
        store.start_changes(every, args.changes_per_tick);
    }
    let listener = tokio::net::TcpListener::bind(args.addr).await?;
    println!(
        "Demo store with {} products at http://{}/products.json",
        args.products,
        listener.local_addr()?
    );
    axum::serve(listener, store.router())
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::ServerFns) => {
            // For the access tests: every server function the pages can call.
            for (path, method) in leptos::server_fn::axum::server_fn_paths() {
                println!("{method} {path}");
            }
            Ok(())
        }
        Some(Command::Backup(args)) => cli::backup(args).await,
        Some(Command::Restore(args)) => cli::restore(args).await,
        Some(Command::Import(args)) => cli::import(args).await,
        Some(Command::Probe(args)) => {
            logging::init(false);
            cli::probe(args).await
        }
        Some(Command::DemoStore(args)) => {
            logging::init(false);
            demo_store(args).await
        }
        Some(Command::Serve(args)) => {
            logging::init(args.log_json);
            serve::run(args).await
        }
        None => {
            logging::init(cli.serve.log_json);
            serve::run(cli.serve).await
        }
    }
}
