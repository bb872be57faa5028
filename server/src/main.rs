//! The `dropwatch` binary: parses the command line, sets up logging, and runs
//! the server (`serve.rs`) or the standalone demo store.

mod config;
mod live;
mod serve;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use config::{Cli, Command, DemoArgs};
use monitor::demo::{DemoConfig, DemoStore};

// SurrealDB allocates and frees heavily on every write; mimalloc cut the
// first import of the poll benchmark by about 15% against the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn init_logging(json: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new("info,surrealdb=warn,surrealdb_core=warn,surrealkv=warn")
    });
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

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
        Some(Command::DemoStore(args)) => {
            init_logging(false);
            demo_store(args).await
        }
        Some(Command::Serve(args)) => {
            init_logging(args.log_json);
            serve::run(args).await
        }
        None => {
            init_logging(cli.serve.log_json);
            serve::run(cli.serve).await
        }
    }
}
