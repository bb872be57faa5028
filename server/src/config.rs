//! The command line: one `Config` filled by clap from flags and `DROPWATCH_*`
//! environment variables, with defaults that work out of the box.

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "dropwatch",
    version,
    about = "Self-hosted, real-time price and stock monitor with a live dashboard",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run Dropwatch: poll sources and serve the dashboard (the default).
    Serve(ServeArgs),
    /// Run only the demo store: a Shopify-compatible shop whose prices and
    /// stock change by themselves, with a control API for tests.
    DemoStore(DemoArgs),
    /// Save the whole database to FILE: from a running server (--url and an
    /// admin's --token) or from a --db no server has open.
    Backup(crate::cli::BackupArgs),
    /// Restore a backup into a new, empty database (--db), before starting
    /// Dropwatch on it.
    Restore(crate::cli::RestoreArgs),
    /// Import sources from a changedetection.io backup or a list of URLs
    /// into a running server (--url and an editor's --token): a preview
    /// first, then --apply.
    Import(crate::cli::ImportArgs),
    /// Read one URL as Dropwatch would and say what it would track, and
    /// where each value came from.
    Probe(crate::cli::ProbeArgs),
    /// List the server functions (method and path), for the access tests.
    #[command(hide = true)]
    ServerFns,
}

/// A `--source KIND=URL` argument.
#[derive(Clone, Debug)]
pub struct SourceArg {
    pub kind: String,
    pub url: String,
}

fn parse_source(s: &str) -> Result<SourceArg, String> {
    match s.split_once('=') {
        Some((kind, url)) if !kind.is_empty() && !url.is_empty() => Ok(SourceArg {
            kind: kind.trim().to_string(),
            url: url.trim().to_string(),
        }),
        _ => Err(format!(
            "expected KIND=URL, e.g. shopify=https://shop.example.com (got {s:?})"
        )),
    }
}

fn parse_alias(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((a, c)) if !a.trim().is_empty() && !c.trim().is_empty() => {
            Ok((a.trim().to_string(), c.trim().to_string()))
        }
        _ => Err(format!(
            "expected ALIAS=CANONICAL, e.g. \"Nike Inc.=Nike\" (got {s:?})"
        )),
    }
}

/// A period that can be switched off: "30s", "1m", "500ms"; "0" or "off" for never.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Every(pub Option<Duration>);

fn parse_every(s: &str) -> Result<Every, String> {
    match s.trim() {
        "0" | "off" | "never" => Ok(Every(None)),
        other => match humantime::parse_duration(other) {
            Ok(d) if d.is_zero() => Ok(Every(None)),
            Ok(d) => Ok(Every(Some(d))),
            Err(e) => Err(e.to_string()),
        },
    }
}

/// A value that must not reach the logs: `Debug` prints only whether it is set.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(****)")
    }
}

fn parse_endpoint(s: &str) -> Result<(String, url::Url), String> {
    let (kind, url) = s
        .split_once('=')
        .ok_or("write KIND=URL, e.g. discord=http://127.0.0.1:4000/api/webhooks/")?;
    let kind = kind.trim().to_ascii_lowercase();
    if !["discord", "slack", "telegram", "ntfy"].contains(&kind.as_str()) {
        return Err(format!(
            "{kind:?}: the kinds are discord, slack, telegram, ntfy"
        ));
    }
    let mut url = url::Url::parse(url.trim()).map_err(|e| format!("{url}: {e}"))?;
    if !url.path().ends_with('/') {
        url.set_path(&format!("{}/", url.path()));
    }
    Ok((kind, url))
}

pub fn parse_secret(s: &str) -> Result<Secret, String> {
    Ok(Secret(s.to_string()))
}

/// `--anonymous`: the role of visitors who are not signed in, if any.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Anonymous(pub Option<model::Role>);

fn parse_anonymous(s: &str) -> Result<Anonymous, String> {
    match s.trim() {
        "" | "none" | "off" => Ok(Anonymous(None)),
        "viewer" => Ok(Anonymous(Some(model::Role::Viewer))),
        other => Err(format!(
            "--anonymous takes \"none\" or \"viewer\" (anonymous visitors never change anything), not {other:?}"
        )),
    }
}

#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Address to serve the dashboard on.
    #[arg(long, env = "DROPWATCH_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,
    /// Database: a SurrealKV path or URL (surrealkv://data/dropwatch), mem://
    /// (nothing kept), or ws://host:8000 for a SurrealDB server (with
    /// DROPWATCH_DB_USER / DROPWATCH_DB_PASS).
    #[arg(
        long,
        env = "DROPWATCH_DB",
        default_value = "surrealkv://data/dropwatch"
    )]
    pub db: String,
    /// With a SurrealDB server shared by several instances: how long a
    /// host's lease lasts unrenewed (renewed every third of it). An instance
    /// that dies has its hosts polled by another within this and a third.
    #[arg(long, env = "DROPWATCH_LEASE_TTL", default_value = "15s", value_parser = parse_lease_ttl)]
    pub lease_ttl: Duration,
    /// Memory an embedded database file keeps for its write buffer and its
    /// read cache, in MiB (half each). More speeds up large catalogues; the
    /// largest single write (an import, a big shop's catalogue) must fit in
    /// half of it.
    #[arg(long, env = "DROPWATCH_DB_MEMORY_MB", default_value_t = 32, value_parser = clap::value_parser!(u32).range(16..=65536))]
    pub db_memory_mb: u32,
    /// Don't run the built-in demo store (nor add it as a source on first start).
    #[arg(long, env = "DROPWATCH_NO_DEMO")]
    pub no_demo: bool,
    /// A source to watch, as KIND=URL (repeatable); added if missing:
    /// `shopify=https://kith.com`, `woocommerce=https://shop.example`,
    /// `page=URL` (one product page), `json=FILE` (an API and its mapping),
    /// `amazon=B00JTX7SH2+B084Y7CHX5` (ASINs or Amazon URLs, joined with +),
    /// `popmart=HK/products/1159+1160`, `popmart=US/new`, `popmart=HK/search/labubu`.
    #[arg(long = "source", env = "DROPWATCH_SOURCE", value_delimiter = ',', value_parser = parse_source)]
    pub sources: Vec<SourceArg>,
    /// How often sources given with --source are polled.
    #[arg(long, env = "DROPWATCH_INTERVAL", default_value = "30s", value_parser = humantime::parse_duration)]
    pub interval: Duration,
    /// How often the built-in demo source is polled.
    #[arg(long, env = "DROPWATCH_DEMO_INTERVAL", default_value = "5s", value_parser = humantime::parse_duration)]
    pub demo_interval: Duration,
    /// Products in the built-in demo store.
    #[arg(long, env = "DROPWATCH_DEMO_PRODUCTS", default_value_t = 200)]
    pub demo_products: usize,
    /// Demo products given a year of made-up history at first start (so
    /// deal scores and restock estimates show at once); the rest start new.
    #[arg(long, env = "DROPWATCH_DEMO_HISTORY_PRODUCTS", default_value_t = 300)]
    pub demo_history_products: usize,
    /// How often the demo store changes prices and stock by itself ("off" for never).
    #[arg(long, env = "DROPWATCH_DEMO_CHANGE_EVERY", default_value = "4s", value_parser = parse_every)]
    pub demo_change_every: Every,
    /// How many of the demo store's sizes change price or stock each time.
    #[arg(long, env = "DROPWATCH_DEMO_CHANGES", default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub demo_changes: u32,
    /// A brand spelling to treat as another, ALIAS=CANONICAL (repeatable; kept).
    #[arg(long = "brand-alias", env = "DROPWATCH_BRAND_ALIAS", value_delimiter = ',', value_parser = parse_alias)]
    pub brand_aliases: Vec<(String, String)>,
    /// Give up on a shop's answer after this long.
    #[arg(long, env = "DROPWATCH_REQUEST_TIMEOUT", default_value = "20s", value_parser = humantime::parse_duration)]
    pub request_timeout: Duration,
    /// Refuse answers larger than this many bytes.
    #[arg(long, env = "DROPWATCH_MAX_BODY_BYTES", default_value_t = 4 * 1024 * 1024)]
    pub max_body_bytes: usize,
    /// What visitors who are not signed in may do: "none" (the first screen
    /// is the sign-in) or "viewer" (read-only, e.g. a kiosk on a trusted LAN).
    #[arg(long, env = "DROPWATCH_ANONYMOUS", default_value = "none", value_parser = parse_anonymous)]
    pub anonymous: Anonymous,
    /// With --admin-password: the first admin's name.
    #[arg(long, env = "DROPWATCH_ADMIN_USER", default_value = "admin")]
    pub admin_user: String,
    /// Create the first admin with this password when there is no user yet
    /// (otherwise the server prints a one-time setup link).
    #[arg(long, env = "DROPWATCH_ADMIN_PASSWORD", hide_env_values = true, value_parser = parse_secret)]
    pub admin_password: Option<Secret>,
    /// The key that seals stored secrets (32 bytes, base64). Without it, a
    /// key file is used (--secret-key-file), made on first start.
    #[arg(long, env = "DROPWATCH_SECRET_KEY", hide_env_values = true, value_parser = parse_secret)]
    pub secret_key: Option<Secret>,
    /// Where the generated secret key is kept (default: beside the database;
    /// none for mem://, whose secrets die with the process).
    #[arg(long, env = "DROPWATCH_SECRET_KEY_FILE")]
    pub secret_key_file: Option<std::path::PathBuf>,
    /// A bearer token that may read /metrics (for a Prometheus scraper).
    #[arg(long, env = "DROPWATCH_METRICS_TOKEN", hide_env_values = true, value_parser = parse_secret)]
    pub metrics_token: Option<Secret>,
    /// The address browsers use, when it differs from --addr (behind a
    /// reverse proxy), e.g. https://dropwatch.example.com. Requests changing
    /// something must come from this origin.
    #[arg(long, env = "DROPWATCH_PUBLIC_URL")]
    pub public_url: Option<url::Url>,
    /// A name browsers reach Dropwatch by, e.g. dropwatch.lan (repeatable,
    /// or comma-separated in the variable). IP addresses (every address of
    /// this machine with --addr 0.0.0.0:PORT), localhost and the host of
    /// --public-url always work; a request naming any other host is refused
    /// (421), which stops DNS-rebinding pages. "*" accepts any name.
    #[arg(long = "allowed-host", env = "DROPWATCH_ALLOWED_HOSTS", value_delimiter = ',', value_parser = crate::hosts::parse_allowed_host)]
    pub allowed_hosts: Vec<String>,
    /// A reverse proxy (an address or a network, e.g. 10.0.0.0/8;
    /// repeatable, or comma-separated in the variable) whose
    /// X-Forwarded-For is believed: sign-in throttling then counts the
    /// client's address (the right-most entry that is not a trusted proxy)
    /// instead of the proxy's. Without it the header is ignored.
    #[arg(long = "trusted-proxy", env = "DROPWATCH_TRUSTED_PROXY", value_delimiter = ',', value_parser = crate::client::parse_trusted_proxy)]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Log as JSON lines instead of human-readable text.
    #[arg(long, env = "DROPWATCH_LOG_JSON")]
    pub log_json: bool,
    /// Who push services may contact about our Web Push traffic (VAPID
    /// subject): mailto:you@example.com or an https URL.
    #[arg(
        long,
        env = "DROPWATCH_VAPID_CONTACT",
        default_value = "mailto:dropwatch@localhost"
    )]
    pub vapid_contact: String,
    /// Send a hosted service's notifications to another address, e.g.
    /// discord=http://127.0.0.1:4000/api/webhooks/ (a relay, or a local
    /// fake in tests). Kinds: discord, slack, telegram, ntfy. Repeatable.
    #[arg(long = "notify-endpoint", value_parser = parse_endpoint)]
    pub notify_endpoints: Vec<(String, url::Url)>,
    /// A PEM file of extra root certificates trusted for SMTP over TLS (a
    /// mail server with its own CA).
    #[arg(long, env = "DROPWATCH_SMTP_CA")]
    pub smtp_ca: Option<std::path::PathBuf>,
    /// Let sources, channels and push endpoints that users add reach
    /// private networks (this machine, the LAN, link-local), e.g. to watch
    /// a shop on your own network. Off by default: an editor could
    /// otherwise make the server fetch its own machine or a cloud metadata
    /// service and read the answer back.
    #[arg(long, env = "DROPWATCH_ALLOW_PRIVATE_NETWORKS")]
    pub allow_private_networks: bool,
    /// One address (and everything under it) users' sources and channels
    /// may reach even on a private network, e.g. http://192.168.1.20:8080/
    /// (repeatable, or comma-separated in the variable). Narrower than
    /// --allow-private-networks.
    #[arg(
        long = "trust-url",
        env = "DROPWATCH_TRUST_URLS",
        value_delimiter = ','
    )]
    pub trust_urls: Vec<url::Url>,
    /// An environment variable JSON API sources may use in a header as
    /// ${NAME} (repeatable, or comma-separated in the variable), e.g.
    /// LUCKDATA_KEY. No other variable of the server can be read by a source.
    #[arg(
        long = "source-env",
        env = "DROPWATCH_SOURCE_ENV",
        value_delimiter = ','
    )]
    pub source_env: Vec<String>,
    /// A complete read that no longer lists more than this percentage of a
    /// source's products is held as suspect, and its products are removed
    /// only when the next read confirms it (100 turns this off).
    #[arg(long, env = "DROPWATCH_HOLD_SHRINK", default_value_t = 50, value_parser = clap::value_parser!(u8).range(1..=100))]
    pub hold_shrink: u8,
    /// Poll runs kept per source; older ones are folded into daily counts.
    #[arg(long, env = "DROPWATCH_KEEP_RUNS", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub keep_runs: u32,
    /// How long events are kept (the newest 10,000 always are); a client
    /// asking for older ones is told to reload.
    #[arg(long, env = "DROPWATCH_KEEP_EVENTS", default_value = "30days", value_parser = humantime::parse_duration)]
    pub keep_events: Duration,
}

#[derive(Args, Debug, Clone)]
pub struct DemoArgs {
    #[arg(long, env = "DROPWATCH_DEMO_ADDR", default_value = "127.0.0.1:3100")]
    pub addr: SocketAddr,
    #[arg(long, default_value_t = 200)]
    pub products: usize,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// How often prices and stock change by themselves ("off" for never).
    #[arg(long, default_value = "5s", value_parser = parse_every)]
    pub change_every: Every,
    /// How many variants change each time.
    #[arg(long, default_value_t = 2)]
    pub changes_per_tick: usize,
}

/// A lease TTL from 3 s to 10 min (shorter renews too often, longer makes
/// failover slow).
fn parse_lease_ttl(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s).map_err(|e| e.to_string())?;
    if !(Duration::from_secs(3)..=Duration::from_secs(600)).contains(&d) {
        return Err("a lease TTL is from 3s to 10m".into());
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_parse_and_default() {
        let cli = Cli::parse_from([
            "dropwatch",
            "--db",
            "mem://",
            "--source",
            "shopify=https://kith.com",
            "--interval",
            "1s",
        ]);
        assert!(cli.command.is_none());
        assert_eq!(cli.serve.db, "mem://");
        assert_eq!(cli.serve.sources[0].kind, "shopify");
        assert_eq!(cli.serve.interval, Duration::from_secs(1));
        assert!(!cli.serve.no_demo);

        let cli = Cli::parse_from([
            "dropwatch",
            "demo-store",
            "--products",
            "10000",
            "--change-every",
            "off",
        ]);
        match cli.command {
            Some(Command::DemoStore(d)) => {
                assert_eq!(d.products, 10000);
                assert_eq!(d.change_every, Every(None));
            }
            other => panic!("{other:?}"),
        }
        assert!(Cli::try_parse_from(["dropwatch", "--source", "kith.com"]).is_err());
        assert!(cli_anonymous(&["--anonymous", "viewer"]).is_some());
        assert!(cli_anonymous(&[]).is_none());
        assert!(Cli::try_parse_from(["dropwatch", "--anonymous", "admin"]).is_err());
        let c = Cli::parse_from(["dropwatch", "--admin-password", "hunter2hunter2"]);
        assert!(
            !format!("{c:?}").contains("hunter2"),
            "secrets stay out of Debug"
        );
    }

    fn cli_anonymous(extra: &[&str]) -> Option<model::Role> {
        let mut args = vec!["dropwatch"];
        args.extend_from_slice(extra);
        Cli::parse_from(args).serve.anonymous.0
    }
}
