//! The engine: the one way into Dropwatch for the server, the CLI and tests.
//!
//! It owns the store, the current state of every product (in memory, loaded
//! at start, so change detection is a hash-map lookup), the live hub, the HTTP
//! fetcher with its per-host gates, and one scheduler task per enabled source
//! (see `poll.rs`). Everything a user can do to sources goes through here.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use std::time::Duration;

use chrono::Utc;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use url::Url;

use model::{
    Event, PollRun, Product, ProductSummary, RunProgress, Source, SourceSettings, SOURCE_KINDS,
};

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
    #[error("{0}")]
    InvalidSource(String),
    /// A field of a source the user gave is refused (nothing changed).
    #[error("{0}")]
    Field(#[from] model::FieldError),
}

/// The accounts and keys connectors use, set from the vault by the server
/// (never stored with a source, never shown).
#[derive(Default)]
pub struct Connectors {
    pub oxylabs: Option<crate::sources::amazon::OxylabsAccount>,
    /// Pop Mart's client key and signing salt, by region code.
    pub popmart: std::collections::BTreeMap<String, crate::sources::popmart::PopmartKeys>,
}

/// What the Sources page may show about the connector accounts.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ConnectorStatus {
    pub oxylabs_user: Option<String>,
    /// Whether the account points at the built-in demo's fake Oxylabs.
    pub oxylabs_demo: bool,
    pub popmart_regions: Vec<String>,
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
    handle: Mutex<Option<JoinHandle<()>>>,
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
    /// Where the built-in demo (and its fake Oxylabs and Pop Mart) is served.
    demo_base: RwLock<Option<Url>>,
    /// Users' verdicts on cross-store matches (kept in meta `match_verdicts`).
    verdicts: RwLock<model::compare::Verdicts>,
    /// Schedulers run only after [`Engine::start`] (tests drive runs by hand).
    started: AtomicBool,
    /// The retention task, while started.
    retention: Mutex<Option<JoinHandle<()>>>,
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
            demo_base: RwLock::new(None),
            verdicts: RwLock::new(verdicts),
            started: AtomicBool::new(false),
            retention: Mutex::new(None),
        });
        for s in sources {
            engine.register(s);
        }
        Ok(engine)
    }

    fn register(&self, source: Source) -> Arc<SourceTask> {
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
            restarts,
            move || crate::retention::run(weak.clone()),
        ));
        if let Some(old) = self.retention.lock().replace(retention) {
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
        if let Some(r) = self.retention.lock().take() {
            r.abort();
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

    /// Checks a source as [`Engine::add_source`] would, without adding it:
    /// the settings, the address (under the outbound policy) and the
    /// interval. Returns the source already watching it, if one is.
    pub async fn vet_source(&self, new: &mut NewSource) -> Result<Option<Source>, EngineError> {
        if !SOURCE_KINDS.contains(&new.kind.as_str()) {
            return Err(model::FieldError::new(
                model::SourceField::Kind,
                format!(
                    "unknown source kind {:?}; known kinds: {}",
                    new.kind,
                    SOURCE_KINDS.join(", ")
                ),
            )
            .into());
        }
        check_page_settings(&new.kind, &mut new.page)?;
        check_json_mapping(&new.kind, &new.json, &self.cfg.source_env)?;
        check_api_settings(new)?;
        new.keywords = check_keywords(&new.kind, std::mem::take(&mut new.keywords))?;
        // A WooCommerce shop given by its Store API's address is the shop.
        if new.kind == model::SOURCE_KIND_WOOCOMMERCE {
            if let Some(shop) = Url::parse(new.url.trim())
                .ok()
                .and_then(|u| crate::sources::woocommerce::shop_of(&u))
            {
                new.url = shop.to_string();
            }
        }
        let url = source_url(&new.url)?;
        // An Amazon source's address is never fetched (Oxylabs is).
        if new.kind != model::SOURCE_KIND_AMAZON {
            self.check_address(&url).await?;
        }
        check_interval(new.interval)?;
        let url_text = url.as_str().trim_end_matches('/').to_string();
        Ok(self
            .sources
            .lock()
            .values()
            .map(|t| t.source.lock().clone())
            .find(|s| {
                s.kind() == new.kind
                    && s.url == url_text
                    && s.settings.amazon() == new.amazon.as_ref()
                    && s.settings.popmart() == new.popmart.as_ref()
            }))
    }

    /// Adds a source, or returns the existing one with the same kind and URL.
    pub async fn add_source(self: &Arc<Self>, mut new: NewSource) -> Result<Source, EngineError> {
        if let Some(s) = self.vet_source(&mut new).await? {
            return Ok(s);
        }
        let url = source_url(&new.url)?;
        let url_text = url.as_str().trim_end_matches('/').to_string();
        let base = new
            .key
            .as_deref()
            .map(|k| slug_text(k))
            .filter(|k| !k.is_empty())
            .unwrap_or_else(|| match (&new.amazon, &new.popmart) {
                (Some(a), _) => slug_text(&format!("amazon-{}", a.domain)),
                (_, Some(p)) => slug_text(&format!("popmart-{}", p.region)),
                _ => slug(&url),
            });
        let mut key = base.clone();
        let mut n = 2;
        while self.sources.lock().contains_key(&key) {
            key = format!("{base}-{n}");
            n += 1;
        }
        // Checked above: the settings given are the kind's own.
        let settings = SourceSettings::from_parts(
            &new.kind,
            Some(new.page),
            new.json,
            new.amazon,
            new.popmart,
        )
        .map_err(|e| model::FieldError::new(model::SourceField::Kind, e))?;
        let source = Source {
            settings,
            name: new
                .name
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| url.host_str().unwrap_or(&key).to_string()),
            key,
            url: url_text,
            currency: new
                .currency
                .map(|c| c.trim().to_uppercase())
                .filter(|c| c.len() == 3)
                .unwrap_or_else(|| "USD".into()),
            interval_secs: new.interval.as_secs().max(1),
            enabled: true,
            created: Utc::now(),
            blocked: false,
            tags: clean_tags(&new.tags),
            keywords: new.keywords,
        };
        self.store.save_source(&source).await?;
        let task = self.register(source.clone());
        self.spawn_scheduler(&task);
        Ok(source)
    }

    /// Refuses an address the outbound policy refuses, in words the
    /// Sources page shows (the rule it falls under).
    pub async fn check_address(&self, url: &Url) -> Result<(), EngineError> {
        self.cfg
            .outbound
            .check_resolved(url)
            .await
            .map(|_| ())
            .map_err(|e| {
                model::FieldError::new(model::SourceField::Url, format!("refused: {e}")).into()
            })
    }

    /// The outbound policy (the alert and repricing clients follow it too).
    pub fn outbound(&self) -> &Arc<crate::outbound::Policy> {
        &self.cfg.outbound
    }

    fn task(&self, key: &str) -> Result<Arc<SourceTask>, EngineError> {
        self.sources
            .lock()
            .get(key)
            .cloned()
            .ok_or_else(|| EngineError::UnknownSource(key.to_string()))
    }

    /// Pauses or resumes a source.
    pub async fn set_enabled(
        self: &Arc<Self>,
        key: &str,
        enabled: bool,
    ) -> Result<Source, EngineError> {
        self.change_source(key, SourceEdit::default(), Some(enabled))
            .await
    }

    /// Renames a source or changes its address or interval. A new interval
    /// applies from the next wait; a new address from the next run.
    pub async fn update_source(
        self: &Arc<Self>,
        key: &str,
        edit: SourceEdit,
    ) -> Result<Source, EngineError> {
        self.change_source(key, edit, None).await
    }

    /// Edits a source and pauses or resumes it, as one change: every field
    /// is checked before any is applied, and the source is saved once, so a
    /// refused field (or a failed save) leaves it as it was.
    pub async fn change_source(
        self: &Arc<Self>,
        key: &str,
        mut edit: SourceEdit,
        enabled: Option<bool>,
    ) -> Result<Source, EngineError> {
        let task = self.task(key)?;
        let kind = task.source.lock().kind();
        let url = edit.url.as_deref().map(source_url).transpose()?;
        if let Some(u) = url.as_ref().filter(|_| kind != model::SOURCE_KIND_AMAZON) {
            self.check_address(u).await?;
        }
        if let Some(i) = edit.interval {
            check_interval(i)?;
        }
        if let Some(p) = &mut edit.page {
            check_page_settings(&kind, p)?;
        }
        if edit.json.is_some() {
            check_json_mapping(&kind, &edit.json, &self.cfg.source_env)?;
        }
        if edit.amazon.is_some() || edit.popmart.is_some() {
            let mut probe = NewSource {
                amazon: edit.amazon.clone(),
                popmart: edit.popmart.clone(),
                ..NewSource::new(&kind, "https://example.invalid", Duration::from_secs(60))
            };
            check_api_settings(&mut probe)?;
            edit.amazon = probe.amazon;
            edit.popmart = probe.popmart;
        }
        if let Some(k) = edit.keywords.take() {
            edit.keywords = Some(check_keywords(&kind, k)?);
        }
        // Everything is valid: apply it all, then save once.
        let (before, after) = {
            let mut s = task.source.lock();
            let before = s.clone();
            if let Some(name) = edit.name.filter(|n| !n.trim().is_empty()) {
                s.name = name.trim().to_string();
            }
            if let Some(url) = &url {
                s.url = url.as_str().trim_end_matches('/').to_string();
            }
            if let Some(i) = edit.interval {
                s.interval_secs = i.as_secs().max(1);
            }
            // Checked above: settings of another kind were refused.
            match (
                &mut s.settings,
                edit.page,
                edit.json,
                edit.amazon,
                edit.popmart,
            ) {
                (SourceSettings::Page(now), Some(p), ..) => *now = p,
                (SourceSettings::Json(now), _, Some(j), ..) => *now = j,
                (SourceSettings::Amazon(now), _, _, Some(a), _) => *now = a,
                (SourceSettings::Popmart(now), .., Some(p)) => *now = p,
                _ => {}
            }
            if let Some(k) = edit.keywords {
                s.keywords = k;
            }
            if let Some(e) = enabled {
                s.enabled = e;
            }
            (before, s.clone())
        };
        if let Err(e) = self.store.save_source(&after).await {
            // Not saved: back to what it was (keeping what a run changed meanwhile).
            let mut s = task.source.lock();
            let blocked = s.blocked;
            *s = Source { blocked, ..before };
            return Err(e.into());
        }
        if before.keywords != after.keywords {
            // The same pages read with another filter keep other products.
            task.catalogue_pages.forget_all();
        }
        if let (Some(url), true) = (&url, kind == model::SOURCE_KIND_POPMART) {
            self.fetcher
                .gates
                .set_rules(&host_key(url), self.cfg.popmart_politeness.clone());
        }
        match enabled {
            Some(true) => self.spawn_scheduler(&task),
            Some(false) => {
                if let Some(h) = task.handle.lock().take() {
                    h.abort();
                }
            }
            None => {}
        }
        Ok(after)
    }

    /// Stops polling a source and forgets it (its products' history stays).
    pub async fn remove_source(&self, key: &str) -> Result<(), EngineError> {
        let task = self.task(key)?;
        if let Some(h) = task.handle.lock().take() {
            h.abort();
        }
        self.store.delete_source(key).await?;
        self.sources.lock().remove(key);
        Ok(())
    }

    /// Polls a source now and waits for the run to end.
    pub async fn check_now(&self, key: &str) -> Result<PollRun, EngineError> {
        let task = self.task(key)?;
        self.run(&task).await
    }

    /// Makes a source's scheduler poll now without waiting for the result.
    pub fn trigger(&self, key: &str) -> Result<(), EngineError> {
        self.task(key)?.wake.notify_one();
        Ok(())
    }

    /// Sets (or forgets) the Oxylabs account Amazon sources use.
    pub fn set_oxylabs(&self, account: Option<crate::sources::amazon::OxylabsAccount>) {
        if let Some(a) = &account {
            // A paid API made for volume: more in flight, short spacing; its
            // 429s and Retry-After still apply.
            for base in [&a.realtime, &a.data] {
                self.fetcher.gates.set_rules(
                    &host_key(base),
                    Politeness {
                        max_in_flight: 4,
                        min_spacing: self
                            .cfg
                            .politeness
                            .min_spacing
                            .min(Duration::from_millis(100)),
                        ..self.cfg.politeness.clone()
                    },
                );
            }
        }
        self.connectors.write().oxylabs = account;
    }

    /// Sets (or forgets) a Pop Mart region's client key and signing salt.
    pub fn set_popmart_keys(
        &self,
        region: &str,
        keys: Option<crate::sources::popmart::PopmartKeys>,
    ) {
        let mut c = self.connectors.write();
        match keys {
            Some(k) => c.popmart.insert(region.to_uppercase(), k),
            None => c.popmart.remove(&region.to_uppercase()),
        };
    }

    /// Says where the built-in demo is served ("http://127.0.0.1:3000/demo").
    pub fn set_demo_base(&self, url: Url) {
        *self.demo_base.write() = Some(url);
    }

    pub fn demo_base(&self) -> Option<Url> {
        self.demo_base.read().clone()
    }

    /// Which connector accounts are set (never their secrets).
    pub fn connector_status(&self) -> ConnectorStatus {
        let c = self.connectors.read();
        ConnectorStatus {
            oxylabs_user: c.oxylabs.as_ref().map(|a| a.username.clone()),
            oxylabs_demo: c
                .oxylabs
                .as_ref()
                .is_some_and(|a| a.realtime.path().contains("/demo/oxylabs")),
            popmart_regions: c.popmart.keys().cloned().collect(),
        }
    }

    pub fn sources(&self) -> Vec<Source> {
        let mut v: Vec<Source> = self
            .sources
            .lock()
            .values()
            .map(|t| t.source.lock().clone())
            .collect();
        v.sort_by(|a, b| a.created.cmp(&b.created));
        v
    }

    /// A source's current (or last) run progress.
    pub fn progress(&self, key: &str) -> Option<RunProgress> {
        let task = self.task(key).ok()?;
        let p = task.progress.lock().clone();
        Some(p)
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

    /// [`Engine::products`] with each item's spread across the stores
    /// carrying it (for the grid and its "biggest gap" sort).
    pub fn products_compared(&self) -> Vec<ProductSummary> {
        let mut v = self.products();
        self.add_spreads(&mut v);
        v
    }

    /// Sets each summary's spread across the stores carrying the same item.
    fn add_spreads(&self, summaries: &mut [ProductSummary]) {
        let watched: std::collections::HashSet<String> =
            self.sources.lock().keys().cloned().collect();
        let state = self.state.lock();
        let verdicts = self.verdicts.read();
        let live: Vec<&Product> = state
            .values()
            .filter(|p| !p.removed && watched.contains(&p.source))
            .collect();
        let index = model::compare::MatchIndex::new(live, &verdicts);
        for s in summaries.iter_mut() {
            if let Some(me) = state.get(&s.key) {
                let others: Vec<&Product> = index.matches(me).into_iter().map(|(p, _)| p).collect();
                s.spread = model::compare::spread(me, &others);
            }
        }
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.store
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

    /// The same item in other stores (cross-store comparison): products of
    /// other sources that match by GTIN, style code, or brand + model name,
    /// with why. Removed products are left out.
    pub fn same_items(&self, key: &str) -> Vec<(Product, model::MatchedBy)> {
        // Only stores still watched: a removed source's products stay in
        // the history but are nobody's offer any more.
        let watched: std::collections::HashSet<String> =
            self.sources.lock().keys().cloned().collect();
        let state = self.state.lock();
        let verdicts = self.verdicts.read();
        let Some(me) = state.get(key) else {
            return vec![];
        };
        let mut out: Vec<(Product, model::MatchedBy)> = state
            .values()
            .filter(|p| !p.removed && p.key != me.key && watched.contains(&p.source))
            .filter_map(|p| {
                model::compare::same_item_judged(me, p, &verdicts).map(|why| (p.clone(), why))
            })
            .collect();
        out.sort_by(|a, b| a.0.key.cmp(&b.0.key));
        out
    }

    /// Records a user's verdict on two products: the same item (`Some(true)`:
    /// confirm or merge), not the same (`Some(false)`: split), or back to
    /// automatic matching (`None`). Both must exist, in different sources.
    pub async fn judge_match(
        &self,
        a: &str,
        b: &str,
        same: Option<bool>,
    ) -> Result<(), EngineError> {
        {
            let state = self.state.lock();
            let (pa, pb) = match (state.get(a), state.get(b)) {
                (Some(pa), Some(pb)) => (pa, pb),
                (None, _) => return Err(EngineError::InvalidSource(format!("no product {a:?}"))),
                (_, None) => return Err(EngineError::InvalidSource(format!("no product {b:?}"))),
            };
            if pa.source == pb.source {
                return Err(EngineError::InvalidSource(
                    "both products are from the same store; only offers in different stores can be the same item".into(),
                ));
            }
        }
        let pairs: Vec<(String, String, bool)> = {
            let mut v = self.verdicts.write();
            match same {
                Some(s) => v.insert(model::compare::pair(a, b), s),
                None => v.remove(&model::compare::pair(a, b)),
            };
            let mut pairs: Vec<_> = v
                .iter()
                .map(|((a, b), s)| (a.clone(), b.clone(), *s))
                .collect();
            pairs.sort();
            pairs
        };
        self.store
            .set_meta(VERDICTS_META, serde_json::json!({ "pairs": pairs }))
            .await?;
        Ok(())
    }

    /// The users' verdict on two products, if any.
    pub fn verdict(&self, a: &str, b: &str) -> Option<bool> {
        self.verdicts
            .read()
            .get(&model::compare::pair(a, b))
            .copied()
    }

    /// Stores events that are not about a poll (repricing's proposals and
    /// pushes), numbered in the same sequence and sent to live clients.
    pub async fn record(&self, events: Vec<Event>) -> Result<Vec<Event>, StoreError> {
        let mut batch = Batch::default();
        batch.events = events;
        self.commit(batch).await
    }

    /// Commits a batch; once the store has it, applies its products to the
    /// in-memory state and publishes its events.
    pub(crate) async fn commit(&self, batch: Batch) -> Result<Vec<Event>, StoreError> {
        self.store
            .commit(batch, |events, products| {
                let mut state = self.state.lock();
                for p in products {
                    state.insert(p.key.clone(), p);
                }
                drop(state);
                self.metrics.events(events.iter().map(|e| e.kind.as_str()));
                self.hub.publish(events);
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
