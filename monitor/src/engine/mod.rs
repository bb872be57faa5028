//! The engine: the one way into Dropwatch for the server, the CLI and tests.
//!
//! It owns the store, the current state of every product (in memory, loaded
//! at start, so change detection is a hash-map lookup), the live hub, the HTTP
//! fetcher with its per-host gates, and one scheduler task per enabled source
//! (see `poll.rs`). Everything a user can do to sources goes through here:
//! `sources.rs` adds, changes and removes them (checked by
//! `source_input.rs`), `accounts.rs` holds the connector accounts,
//! `matches.rs` the same item across stores, `related.rs` a product's
//! related products and `picks.rs` each user's "For you".
//!
//! (Over 500 lines only with its unit tests, the last 60-odd lines:
//! they test this file's private parsing and state, so they stay beside it.)

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use tokio::sync::Notify;
use tokio::task::JoinHandle;
use url::Url;

use model::{Event, Product, ProductSummary, RunProgress, Source, SourceSettings};

use crate::fetch::{host_key, FetchLimits, Fetcher};
use crate::live::{LiveFeed, LiveHub};
use crate::normalise::BrandTable;
use crate::politeness::{Gates, HostStatus, Politeness};
pub(crate) use crate::source_input::slug_text;
use crate::source_input::{
    check_api_settings, check_interval, check_json_mapping, check_keywords, check_page_settings,
    clean_tags, slug,
};
pub use crate::source_input::{json_source_file, source_url, NewSource, SourceEdit, MAX_INTERVAL};
use crate::store::{Batch, Store, StoreError};
use crate::unchanged::{CataloguePages, PageSeen};

mod accounts;
mod matches;
mod picks;
mod related;
mod sources;

pub use accounts::{ConnectorStatus, Connectors, OfferedAccounts, OfferedKeys, OfferedLogin};

/// How the engine polls.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Rules for hosts without their own.
    pub politeness: Politeness,
    pub limits: FetchLimits,
    /// A catalogue longer than this many pages is read only this far (and the
    /// run counts as incomplete, so nothing is marked removed).
    pub max_pages: u32,
    /// Each wait between runs is the interval ± this fraction, so that many
    /// sources don't poll in lockstep.
    pub jitter: f64,
    /// Changed products per transaction (unchanged ones are not written).
    /// SurrealDB's cost per write grows with the size of its transaction, so
    /// a page of new products is committed in parts; a page of a steady
    /// cycle (a few changes) is one transaction. Each product's changes,
    /// history and events always stay in one transaction. 50 measured best
    /// on the file database: against 10, the steady cycle of the poll
    /// benchmark went from 0.51–0.53 to 0.44–0.47 s; at 120 the import got
    /// slower again. (mem:// prefers smaller transactions for the import,
    /// and counting a new product as 5 changed ones was tried: it made the
    /// file import slower, 5.8 s.)
    pub commit_products: usize,
    /// How Amazon sources use Oxylabs' realtime and batch APIs.
    pub amazon: crate::sources::amazon::AmazonConfig,
    /// The rules for Pop Mart's API hosts (3 in flight, 1.5–4 s apart).
    pub popmart_politeness: Politeness,
    /// Where requests on users' behalf may go (see [`crate::outbound`]):
    /// private networks refused unless the operator lifts it.
    pub outbound: Arc<crate::outbound::Policy>,
    /// Environment variables a JSON source's headers may name as `${NAME}`
    /// (`--source-env`); any other is refused.
    pub source_env: Vec<String>,
    /// A complete read that no longer lists more than this share of a
    /// source's products (0.5: half) is held as suspect: nothing is removed
    /// until the next read confirms it (a shop that glitches and answers an
    /// empty catalogue once must not empty Dropwatch's). 1.0 turns it off.
    pub hold_shrink: f64,
    /// What is kept of runs, events and history (see [`crate::retention`]).
    pub retention: crate::retention::Retention,
    /// On a shared server, how long a host's lease lasts unrenewed: an
    /// instance that dies has its hosts polled by another within this and
    /// a third of it (see [`crate::lease`]).
    pub lease_ttl: std::time::Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            politeness: Politeness::default(),
            limits: FetchLimits::default(),
            max_pages: 400,
            jitter: 0.1,
            commit_products: 50,
            amazon: Default::default(),
            popmart_politeness: crate::sources::popmart::politeness(),
            outbound: crate::outbound::Policy::strict(),
            source_env: vec![],
            hold_shrink: 0.5,
            retention: Default::default(),
            lease_ttl: crate::lease::DEFAULT_TTL,
        }
    }
}

/// What went wrong, for the caller to show.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no source named {0:?}")]
    UnknownSource(String),
    #[error("source {0:?} is being checked already; its run will finish shortly")]
    AlreadyRunning(String),
    /// Several instances share the database and another one polls this host.
    #[error("{0} is polled by another Dropwatch instance (see /status); it checks it on its own schedule")]
    PolledElsewhere(String),
    #[error("{0}")]
    InvalidSource(String),
    /// A field of a source the user gave is refused (nothing changed).
    #[error("{0}")]
    Field(#[from] model::FieldError),
}

const VERDICTS_META: &str = "match_verdicts";

/// A source's scheduler and the state of its current run.
pub(crate) struct SourceTask {
    pub(crate) source: Mutex<Source>,
    pub(crate) running: AtomicBool,
    pub(crate) progress: Mutex<RunProgress>,
    pub(crate) last_complete_pages: AtomicU32,
    pub(crate) wake: Notify,
    /// The last complete read dropped most of the catalogue at once; its
    /// removals wait for the next read to confirm them.
    pub(crate) shrink_held: AtomicBool,
    /// A page source's last body read, as a digest with the settings it was
    /// read with: the same body again is not parsed (see `poll.rs`).
    pub(crate) last_page: Arc<Mutex<Option<PageSeen>>>,
    /// A catalogue's pages as last read and saved (see `unchanged.rs`).
    pub(crate) catalogue_pages: Arc<CataloguePages>,
    pub(crate) handle: Mutex<Option<JoinHandle<()>>>,
}

pub struct Engine {
    pub(crate) store: Arc<Store>,
    pub(crate) hub: LiveHub,
    pub(crate) fetcher: Arc<Fetcher>,
    pub(crate) brands: RwLock<BrandTable>,
    /// The current state of every product, by key.
    pub(crate) state: Mutex<HashMap<String, Product>>,
    pub(crate) sources: Mutex<HashMap<String, Arc<SourceTask>>>,
    pub(crate) cfg: EngineConfig,
    pub(crate) metrics: crate::metrics::EngineMetrics,
    pub(crate) connectors: RwLock<Connectors>,
    /// Ready-made connector accounts the server offers (set at start).
    offered: RwLock<Option<accounts::OfferedAccounts>>,
    /// Each product's deal score, kept up to date by the insight task.
    pub(crate) deals: crate::insight::DealBook,
    /// The last week's events, for trending.
    pub(crate) trends: crate::insight::TrendLog,
    /// Users' verdicts on cross-store matches (kept in meta `match_verdicts`).
    verdicts: RwLock<model::compare::Verdicts>,
    /// Schedulers run only after [`Engine::start`] (tests drive runs by hand).
    started: AtomicBool,
    /// While started: retention, insight (deal scores) and the writer of
    /// one-page checks' runs.
    background: Mutex<Vec<JoinHandle<()>>>,
    /// Following the event table of a shared server (see [`crate::follow`]).
    pub(crate) follow: crate::follow::Follow,
    /// The hosts this instance polls, on a shared server (see [`crate::lease`]).
    pub(crate) leases: crate::lease::Leases,
}

impl Engine {
    /// Opens the engine on a store: loads products, brand aliases and sources.
    /// Nothing is polled until [`Engine::start`].
    pub async fn open(store: Store, cfg: EngineConfig) -> Result<Arc<Engine>, EngineError> {
        let mut brands = BrandTable::default();
        for (alias, canonical) in store.brand_aliases().await? {
            brands.add_alias(&alias, &canonical);
        }
        let state: HashMap<String, Product> = store
            .load_products()
            .await?
            .into_iter()
            .map(|mut p| {
                // Links stored before they were checked are checked now.
                crate::normalise::sanitise_links(&mut p);
                (p.key.clone(), p)
            })
            .collect();
        let sources = store.sources().await?;
        // Kept as {"pairs": [[a, b, same], ...]} (a bare list in meta reads back as rows).
        let verdicts: model::compare::Verdicts = store
            .meta(VERDICTS_META)
            .await?
            .and_then(|v| v.get("pairs").cloned())
            .and_then(|v| serde_json::from_value::<Vec<(String, String, bool)>>(v).ok())
            .unwrap_or_default()
            .into_iter()
            .map(|(a, b, same)| (model::compare::pair(&a, &b), same))
            .collect();
        let leases = crate::lease::Leases::new(cfg.lease_ttl);
        let engine = Arc::new(Engine {
            store: Arc::new(store),
            hub: LiveHub::default(),
            fetcher: Arc::new(Fetcher::new(
                cfg.limits.clone(),
                Gates::new(cfg.politeness.clone()),
                cfg.outbound.clone(),
            )),
            brands: RwLock::new(brands),
            state: Mutex::new(state),
            sources: Mutex::new(HashMap::new()),
            cfg,
            metrics: Default::default(),
            connectors: RwLock::new(Connectors::default()),
            offered: RwLock::new(None),
            verdicts: RwLock::new(verdicts),
            started: AtomicBool::new(false),
            background: Mutex::new(vec![]),
            deals: Default::default(),
            trends: Default::default(),
            follow: Default::default(),
            leases,
        });
        for s in sources {
            engine.register(s);
        }
        if engine.store.is_shared() {
            // Live clients get their events from the follower from the start.
            let weak = Arc::downgrade(&engine);
            tokio::spawn(crate::supervise::supervised(
                "follower",
                engine.metrics.restarts.clone(),
                move || crate::follow::run(weak.clone()),
            ));
            let weak = Arc::downgrade(&engine);
            tokio::spawn(crate::supervise::supervised(
                "leases",
                engine.metrics.restarts.clone(),
                move || crate::lease::run(weak.clone()),
            ));
        }
        Ok(engine)
    }

    pub(crate) fn register(&self, source: Source) -> Arc<SourceTask> {
        if matches!(source.settings, SourceSettings::Popmart(_)) {
            if let Ok(u) = Url::parse(&source.url) {
                self.fetcher
                    .gates
                    .set_rules(&host_key(&u), self.cfg.popmart_politeness.clone());
            }
        }
        let task = Arc::new(SourceTask {
            progress: Mutex::new(RunProgress {
                source: source.key.clone(),
                ..RunProgress::default()
            }),
            source: Mutex::new(source.clone()),
            running: AtomicBool::new(false),
            last_complete_pages: AtomicU32::new(0),
            wake: Notify::new(),
            shrink_held: AtomicBool::new(false),
            last_page: Arc::default(),
            catalogue_pages: Arc::default(),
            handle: Mutex::new(None),
        });
        self.sources.lock().insert(source.key, task.clone());
        task
    }

    /// Starts polling every enabled source.
    pub fn start(self: &Arc<Self>) {
        self.started.store(true, Ordering::SeqCst);
        let weak = Arc::downgrade(self);
        let restarts = self.metrics.restarts.clone();
        let retention = tokio::spawn(crate::supervise::supervised(
            "retention",
            restarts.clone(),
            move || crate::retention::run(weak.clone()),
        ));
        let store = self.store.clone();
        let runs = tokio::spawn(crate::supervise::supervised("runs", restarts, move || {
            store.clone().write_runs_behind()
        }));
        let insight = self.spawn_insight();
        for old in std::mem::replace(&mut *self.background.lock(), vec![retention, runs, insight]) {
            old.abort();
        }
        let tasks: Vec<_> = self.sources.lock().values().cloned().collect();
        for task in tasks {
            self.spawn_scheduler(&task);
        }
    }

    /// Stops every scheduler (runs in progress are abandoned mid-page; what
    /// they committed stays).
    pub fn stop(&self) {
        self.started.store(false, Ordering::SeqCst);
        for task in self.background.lock().drain(..) {
            task.abort();
        }
        for task in self.sources.lock().values() {
            if let Some(h) = task.handle.lock().take() {
                h.abort();
            }
        }
    }

    pub(crate) fn spawn_scheduler(self: &Arc<Self>, task: &Arc<SourceTask>) {
        if !self.started.load(Ordering::SeqCst) || !task.source.lock().enabled {
            return;
        }
        let mut handle = task.handle.lock();
        if handle.as_ref().is_some_and(|h| !h.is_finished()) {
            return;
        }
        let engine = Arc::downgrade(self);
        let task2 = task.clone();
        let restarts = self.metrics.restarts.clone();
        *handle = Some(tokio::spawn(crate::supervise::supervised(
            "scheduler",
            restarts,
            move || {
                let (engine, task) = (engine.clone(), task2.clone());
                async move {
                    crate::poll::schedule(engine, task).await;
                    Ok(())
                }
            },
        )));
    }

    /// Gives `host` (as `host:port`) its own politeness rules.
    pub fn set_host_rules(&self, url: &Url, rules: Politeness) {
        self.fetcher.gates.set_rules(&host_key(url), rules);
    }

    pub fn hosts(&self) -> Vec<HostStatus> {
        self.fetcher.gates.snapshot()
    }

    /// Adds a brand spelling (kept in the store) and applies it from now on.
    pub async fn add_brand_alias(&self, alias: &str, canonical: &str) -> Result<(), EngineError> {
        self.store.save_brand_alias(alias, canonical).await?;
        self.brands.write().add_alias(alias, canonical);
        // Pages read before may name the brand differently now: read them anew.
        for task in self.sources.lock().values() {
            *task.last_page.lock() = None;
            task.catalogue_pages.forget_all();
        }
        Ok(())
    }

    pub fn product(&self, key: &str) -> Option<Product> {
        self.state.lock().get(key).cloned()
    }

    /// How many products are still listed (without building their summaries).
    pub fn product_count(&self) -> usize {
        self.state.lock().values().filter(|p| !p.removed).count()
    }

    /// Every product still listed, most recently changed first.
    pub fn products(&self) -> Vec<ProductSummary> {
        let mut v: Vec<ProductSummary> = self
            .state
            .lock()
            .values()
            .filter(|p| !p.removed)
            .map(Product::summary)
            .collect();
        v.sort_by(|a, b| {
            b.updated
                .cmp(&a.updated)
                .then_with(|| a.title.cmp(&b.title))
                .then_with(|| a.key.cmp(&b.key))
        });
        v
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// This instance's host leases (on a shared server).
    pub fn leases(&self) -> &crate::lease::Leases {
        &self.leases
    }

    /// Every event after `since`, then live ones: see [`LiveFeed`].
    pub fn feed(&self, since: u64) -> LiveFeed {
        LiveFeed::new(self.store.clone(), &self.hub, since)
    }

    /// The same feed for the server's own followers (alerts): not counted
    /// among the live clients.
    pub fn internal_feed(&self, since: u64) -> LiveFeed {
        LiveFeed::internal(self.store.clone(), &self.hub, since)
    }

    /// Whether the schedulers run (after [`Engine::start`], until [`Engine::stop`]).
    pub fn running(&self) -> bool {
        self.started.load(Ordering::SeqCst)
    }

    /// Enabled sources whose scheduler is not running (for `/readyz`):
    /// empty unless something is wrong.
    pub fn stopped_schedulers(&self) -> Vec<String> {
        if !self.running() {
            return vec![];
        }
        let mut out: Vec<String> = self
            .sources
            .lock()
            .values()
            .filter(|t| t.source.lock().enabled)
            .filter(|t| t.handle.lock().as_ref().is_none_or(|h| h.is_finished()))
            .map(|t| t.source.lock().key.clone())
            .collect();
        out.sort();
        out
    }

    /// Counts a restart of a long-lived task (the alert and repricing
    /// services' followers and senders count theirs here too).
    pub fn restarts(&self) -> crate::supervise::Restarts {
        self.metrics.restarts.clone()
    }

    /// Poll and event counters for `/metrics`.
    pub fn metrics(&self) -> crate::metrics::MetricsSnapshot {
        self.metrics.snapshot()
    }

    pub fn live_clients(&self) -> usize {
        self.hub.clients()
    }

    /// The size of every in-memory map or queue that could grow, for
    /// `/metrics` (each is bounded: by the catalogues watched, by pruning,
    /// or by a capacity).
    pub fn memory(&self) -> Vec<(&'static str, usize)> {
        vec![
            ("products", self.state.lock().len()),
            ("sources", self.sources.lock().len()),
            ("host_gates", self.fetcher.gates.len()),
            ("live_backlog", self.hub.backlog()),
            ("live_shared_pages", self.hub.shared_pages()),
        ]
    }

    /// What a JSON API source with this mapping would read now, without
    /// adding it ("Preview").
    pub async fn preview_json(
        &self,
        url: &str,
        currency: Option<&str>,
        mapping: model::JsonMapping,
    ) -> Result<Vec<Product>, EngineError> {
        let url = source_url(url)?;
        let json = Some(mapping);
        check_json_mapping(model::SOURCE_KIND_JSON, &json, &self.cfg.source_env)?;
        self.check_address(&url).await?;
        let brands = self.brands.read().clone();
        let currency = currency
            .map(|c| c.trim().to_uppercase())
            .filter(|c| c.len() == 3)
            .unwrap_or_else(|| "USD".into());
        // The first page is enough to see what the mapping reads.
        crate::sources::json::fetch_and_parse(
            &self.fetcher,
            &url,
            "preview",
            &currency,
            &brands,
            json.as_ref().expect("set above"),
            &self.cfg.source_env,
            1,
        )
        .await
        .map(|(products, _)| {
            // What a poll would keep: the same gate (bounded prices, web links).
            products
                .into_iter()
                .filter_map(|mut p| crate::normalise::check_product(&mut p).ok().map(|()| p))
                .collect()
        })
        .map_err(|e| EngineError::InvalidSource(format!("the preview failed: {e}")))
    }

    /// Stores events that are not about a poll (repricing's proposals and
    /// pushes), numbered in the same sequence and sent to live clients.
    pub async fn record(&self, events: Vec<Event>) -> Result<Vec<Event>, StoreError> {
        let mut batch = Batch::default();
        batch.events = events;
        self.commit(batch).await
    }

    /// Commits a batch; once the store has it, applies its products to the
    /// in-memory state and publishes its events (on a shared server the
    /// follower publishes them, in order with other instances' events).
    pub(crate) async fn commit(&self, batch: Batch) -> Result<Vec<Event>, StoreError> {
        self.store
            .commit(batch, |events, products| {
                self.apply_products(products);
                self.metrics.events(events.iter().map(|e| e.kind.as_str()));
                if self.store.is_shared() {
                    self.follow.wake.notify_one();
                } else {
                    self.hub.publish(events);
                }
            })
            .await
    }

    /// Products as stored now become the in-memory state.
    pub(crate) fn apply_products(&self, products: Vec<Product>) {
        let mut state = self.state.lock();
        for p in products {
            state.insert(p.key.clone(), p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_json_source_file_has_the_url_headers_and_mapping() {
        let (url, m) = json_source_file(
            "# Luckdata\nurl = https://luckdata.io/api/sneaker-API/stockx?url=x\nheader X-Luckdata-Api-Key: ${LUCKDATA_API_KEY}\nitems = /data\nid = /sku\ntitle = /name\nprice = /price\nurl = /link\n",
        )
        .unwrap();
        assert_eq!(url, "https://luckdata.io/api/sneaker-API/stockx?url=x");
        assert_eq!(
            m.headers,
            vec!["X-Luckdata-Api-Key: ${LUCKDATA_API_KEY}".to_string()]
        );
        assert_eq!(
            (m.items.as_str(), m.id.as_str(), m.url.as_str()),
            ("/data", "/sku", "/link")
        );
        assert!(json_source_file("id = /sku")
            .unwrap_err()
            .contains("url = https://"));
        assert!(json_source_file("url = https://x.example\ncolour = /c")
            .unwrap_err()
            .contains("unknown field"));
    }

    #[test]
    fn source_keys_come_from_the_url() {
        let u = |s: &str| Url::parse(s).unwrap();
        assert_eq!(slug(&u("https://www.kith.com/")), "kith-com");
        assert_eq!(
            slug(&u("https://shop.example/collections/New-In")),
            "shop-example-collections-new-in"
        );
        assert_eq!(slug(&u("http://127.0.0.1:3000/demo")), "127-0-0-1-demo");
    }

    #[tokio::test]
    async fn a_scheduler_that_is_gone_makes_the_engine_not_ready() {
        let store = Store::open("mem://").await.unwrap();
        let cfg = EngineConfig {
            outbound: crate::outbound::Policy::open(),
            ..EngineConfig::default()
        };
        let engine = Engine::open(store, cfg).await.unwrap();
        let s = engine
            .add_source(NewSource::new(
                "shopify",
                "http://127.0.0.1:9",
                Duration::from_secs(3600),
            ))
            .await
            .unwrap();
        engine.start();
        assert!(engine.stopped_schedulers().is_empty());
        // Whatever ended it (the supervisor restarts panics; this is the
        // case it cannot see), readiness says which source.
        let handle = engine.task(&s.key).unwrap().handle.lock().take().unwrap();
        handle.abort();
        assert_eq!(engine.stopped_schedulers(), vec![s.key.clone()]);
        // Paused sources have no scheduler, rightly.
        engine.set_enabled(&s.key, false).await.unwrap();
        assert!(engine.stopped_schedulers().is_empty());
        engine.stop();
    }
}
