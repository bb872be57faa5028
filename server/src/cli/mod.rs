//! The one-shot commands beside `serve`: `backup`, `restore`, `import` and
//! `probe`. Those that change a running server talk to its REST API with an
//! API token (`client.rs`), so they are checked and audited like the same
//! change made on a page; `restore` and an offline `backup` open the
//! database file themselves.

mod backup;
mod client;
mod import;
mod probe;

use std::path::PathBuf;

use clap::Args;

pub use backup::{backup, restore};
pub use import::import;
pub use probe::probe;

/// Where a running Dropwatch is and the API token to use there.
#[derive(Args, Debug, Clone)]
pub struct Remote {
    /// A running Dropwatch, e.g. http://127.0.0.1:3000.
    #[arg(long, env = "DROPWATCH_URL")]
    pub url: Option<url::Url>,
    /// An API token (made on the account page), e.g. dw_....
    #[arg(long, env = "DROPWATCH_TOKEN", hide_env_values = true, value_parser = crate::config::parse_secret)]
    pub token: Option<crate::config::Secret>,
}

#[derive(Args, Debug, Clone)]
pub struct BackupArgs {
    /// Where to write the backup (SurrealQL, as `surreal export` writes).
    pub file: PathBuf,
    #[command(flatten)]
    pub remote: Remote,
    /// Without --url: the database to back up (no server may have it open).
    #[arg(
        long,
        env = "DROPWATCH_DB",
        default_value = "surrealkv://data/dropwatch"
    )]
    pub db: String,
}

#[derive(Args, Debug, Clone)]
pub struct RestoreArgs {
    /// A backup made by `dropwatch backup`.
    pub file: PathBuf,
    /// The new database to restore into (it must be empty).
    #[arg(long, env = "DROPWATCH_DB")]
    pub db: String,
}

#[derive(Args, Debug, Clone)]
pub struct ImportArgs {
    /// A changedetection.io backup (.zip, or its url-watches.json), or a
    /// list of URLs (text or CSV: url[,kind,interval,name,tags]).
    pub file: PathBuf,
    #[command(flatten)]
    pub remote: Remote,
    /// Import; without it, only show what would be added, skipped or refused.
    #[arg(long)]
    pub apply: bool,
}

#[derive(Args, Debug, Clone)]
#[command(
    after_help = "Exit status: 0 when Dropwatch can track it; 1 when the address cannot be read (no answer, an HTTP error, a challenge or block page); 3 when it was read but holds nothing Dropwatch can track."
)]
pub struct ProbeArgs {
    /// The address to read: a product page, a Shopify store or a JSON API.
    pub url: String,
    /// The currency of prices when the page does not say.
    #[arg(long, default_value = "USD")]
    pub currency: String,
    /// Give up after this long.
    #[arg(long, default_value = "20s", value_parser = humantime::parse_duration)]
    pub timeout: std::time::Duration,
    /// Print JSON instead of words.
    #[arg(long)]
    pub json: bool,
    /// A product page: a CSS selector for the price, as a page source has.
    #[arg(long)]
    pub price_selector: Option<String>,
    /// A product page: a CSS selector for the text that says the stock.
    #[arg(long)]
    pub stock_selector: Option<String>,
    /// Phrases in that text meaning in stock (comma-separated, repeatable).
    #[arg(long)]
    pub in_stock: Vec<String>,
    /// Phrases in that text meaning sold out (comma-separated, repeatable).
    #[arg(long)]
    pub sold_out: Vec<String>,
}
