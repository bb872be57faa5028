//! The poller: when each source is read, and what one read (a poll run) does.
//!
//! A scheduler task per source runs a poll at once, then waits the source's
//! interval (± jitter) or until woken by "check now". A run reads the
//! catalogue page by page through the fetcher (which applies the host's
//! politeness gate), diffs every product against the in-memory state and
//! commits what changed on each page before going on (a product's state,
//! history and events always in one transaction), so a run that fails on page
//! 7 keeps what pages 1–6 found and loses nothing stored before. Only a
//! complete, successful read marks missing products `removed`. A source that
//! answers with something other than its catalogue is reported `blocked` once
//! (and `unblocked` when it answers normally again); its stock is left as it was.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

use chrono::Utc;
use rand::Rng;
use url::Url;

use model::{Event, EventKind, PollRun, Product, Source, SourceSettings};

use crate::detect::{diff, removal};
use crate::engine::{Engine, EngineError, SourceTask};
use crate::fetch::FetchError;
use crate::normalise::check_product;
use crate::sources::connector::{Connector, PageRead, ReadContext};
use crate::sources::page;
use crate::store::Batch;
use crate::unchanged::Replay;

/// Why a read on a shared server stopped before its next request.
const LAPSED: &str = "this instance's lease of the shop lapsed during the read (the database \
was slow or away), so it asked the shop no more; what was read so far is kept, and the \
shop is polled by whichever instance holds its lease next";

/// Runs a source's polls until the task is aborted or the engine is dropped.
pub(crate) async fn schedule(engine: Weak<Engine>, task: Arc<SourceTask>) {
    loop {
        let Some(e) = engine.upgrade() else { return };
        // On a shared server only the instance holding the host polls it.
        let held = !e.store().is_shared()
            || e.leases
                .fence(&crate::lease::lease_key(&task.source.lock()))
                .is_some();
        if held {
            let _ = e.run(&task).await;
        }
        let (interval, jitter) = (
            task.source.lock().interval_secs,
            if e.cfg.jitter.is_finite() {
                e.cfg.jitter.clamp(0.0, 0.9)
            } else {
                0.0
            },
        );
        drop(e);
        let factor = 1.0 + rand::rng().random_range(-jitter..=jitter);
        // Stored intervals are checked on save; a record written by hand
        // is held to the same week at most.
        let interval = Duration::from_secs(interval).min(crate::engine::MAX_INTERVAL);
        let wait = interval.mul_f64(factor).max(Duration::from_millis(200));
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = task.wake.notified() => {}
        }
    }
}

/// Clears the running flag however the run ends.
struct Running<'a>(&'a SourceTask);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.running.store(false, Ordering::SeqCst);
        self.0.progress.lock().running = false;
    }
}

/// How the page loop ended.
struct Read {
    complete: bool,
    error: Option<FetchError>,
    /// A failure of our own (the store), already in words.
    own_error: Option<String>,
    seen: HashSet<String>,
}

impl Engine {
    /// One poll run of a source. Refuses to start a second run of a source
    /// whose run is still going.
    pub(crate) async fn run(&self, task: &SourceTask) -> Result<PollRun, EngineError> {
        let source = task.source.lock().clone();
        // Running before the lease is asked for: a lease given back is
        // released only once no run of its host is seen (crate::lease).
        if task.running.swap(true, Ordering::SeqCst) {
            return Err(EngineError::AlreadyRunning(source.key));
        }
        let _running = Running(task);
        // On a shared server: the host's lease, taken now if it is free,
        // fences every write of this run.
        let fence = if self.store.is_shared() {
            let host = crate::lease::lease_key(&source);
            match crate::lease::take_for_check(self, &host).await? {
                Some(f) => Some(f),
                None => return Err(EngineError::PolledElsewhere(host)),
            }
        } else {
            None
        };
        let started = Utc::now();
        let mut run = PollRun {
            id: started.timestamp_micros(),
            source: source.key.clone(),
            started,
            finished: None,
            pages: 0,
            products: 0,
            changes: 0,
            complete: false,
            error: None,
            error_class: None,
            skipped: vec![],
            notes: vec![],
        };
        {
            let mut p = task.progress.lock();
            p.running = true;
            p.pages_done = 0;
            p.products_seen = 0;
            p.pages_expected = match task.last_complete_pages.load(Ordering::SeqCst) {
                0 => None,
                n => Some(n),
            };
        }
        // A one-page check is recorded once, when it is over (written
        // behind, see store/run_log.rs); a catalogue read also when it
        // starts, so a long read shows as running.
        let one_page = source.settings.is_one_product();
        if !one_page {
            self.store.save_run(&run).await?;
        }

        let read = self.read_catalogue(&source, task, &mut run, &fence).await;
        let mut after = Batch::fenced(fence.clone());
        if read.complete && read.error.is_none() && read.own_error.is_none() {
            let state = self.state.lock();
            let now = Utc::now();
            let listed = state
                .values()
                .filter(|p| p.source == source.key && !p.removed);
            let (mut count, mut missing) = (0usize, vec![]);
            for p in listed {
                count += 1;
                if !read.seen.contains(&p.key) {
                    missing.push(p);
                }
            }
            if self.hold_shrink(task, missing.len(), count) {
                tracing::warn!(source = %source.key, "held: {} of {count} products not listed", missing.len());
                run.skipped.push(format!(
                    "{} of {count} products were not listed this time and are kept: a catalogue that shrinks this much in one read is removed only when the next read confirms it",
                    missing.len()
                ));
            } else {
                for p in missing {
                    after.add(removal(p, now));
                }
            }
        }
        self.blocked_transition(task, &source, read.error.as_ref(), &mut after)
            .await?;
        let mut own_error = read.own_error;
        match self.commit(after).await {
            Ok(events) => run.changes += events.len() as u32,
            Err(e) => own_error = Some(format!("could not save what was read: {e}")),
        }

        run.finished = Some(Utc::now());
        // What reading a page source's page noticed (it read, or read the
        // same body as before).
        if read.error.is_none() {
            if let Some(seen) = task.last_page.lock().as_ref() {
                run.notes = seen.notes.clone();
            }
        }
        run.complete = read.complete && read.error.is_none() && own_error.is_none();
        if let Some(e) = &read.error {
            run.error = Some(e.to_string());
            run.error_class = Some(e.class().as_str().to_string());
        } else if let Some(e) = own_error {
            run.error = Some(e);
            run.error_class = Some("internal".into());
        }
        if run.complete {
            task.last_complete_pages.store(run.pages, Ordering::SeqCst);
        }
        if one_page {
            // Written behind, with the other checks of this moment.
            self.store.queue_finished_run(run.clone());
        } else {
            self.store.save_run(&run).await?;
        }
        let secs = (Utc::now() - run.started).num_microseconds().unwrap_or(0) as f64 / 1e6;
        self.metrics.poll(
            &run.source,
            run.error_class.as_deref().unwrap_or("ok"),
            secs,
        );
        match &run.error {
            Some(e) => tracing::warn!(source = %source.key, pages = run.pages, "poll failed: {e}"),
            None => {
                tracing::debug!(source = %source.key, pages = run.pages, products = run.products, changes = run.changes, "poll done")
            }
        }
        Ok(run)
    }

    async fn read_catalogue(
        &self,
        source: &Source,
        task: &SourceTask,
        run: &mut PollRun,
        fence: &Option<crate::store::Fence>,
    ) -> Read {
        let mut read = Read {
            complete: false,
            error: None,
            own_error: None,
            seen: HashSet::new(),
        };
        let store_url = match Url::parse(&source.url) {
            Ok(u) => u,
            Err(e) => {
                read.own_error = Some(format!("the source's URL is invalid: {e}"));
                return read;
            }
        };
        let connector = Arc::new(self.connector(source, task, &store_url));
        let ctx = Arc::new(ReadContext {
            fetcher: self.fetcher.clone(),
            key: source.key.clone(),
            store: store_url,
            currency: source.currency.clone(),
            brands: self.brands.read().clone(),
            max_pages: self.cfg.max_pages,
            catalogue_pages: task.catalogue_pages.clone(),
            unchanged: self.metrics.unchanged_pages.clone(),
        });
        let mut previous: Option<Arc<Vec<String>>> = None;
        // On a shared server each request waits for this (see Leases::holds).
        let may_ask = || fence.as_ref().is_none_or(|f| self.leases.holds(f));
        if !may_ask() {
            read.own_error = Some(LAPSED.to_string());
            return read;
        }
        // Each page is fetched and parsed on its own task, so the next page
        // is read (on the other core) while this one is diffed and written.
        let fetch = |page: u32| {
            let (connector, ctx) = (connector.clone(), ctx.clone());
            tokio::spawn(async move { connector.read(&ctx, page).await })
        };
        let mut fetched = Some(fetch(1).await);
        for page in 1..=self.cfg.max_pages {
            let mut got = fetched
                .take()
                .expect("each page is fetched before it is read");
            if let Ok(Ok(PageRead {
                same_as_last: Some(replay),
                ..
            })) = &got
            {
                if !self.still_stored(&replay.kept) {
                    // Changed here since (removed, deleted): read it in full.
                    task.catalogue_pages.forget(page);
                    if !may_ask() {
                        read.own_error = Some(LAPSED.to_string());
                        return read;
                    }
                    got = fetch(page).await;
                }
            }
            let PageRead {
                products,
                partial,
                digest,
                same_as_last,
            } = match got {
                Ok(Ok(p)) => p,
                Ok(Err(e)) => {
                    read.error = Some(e);
                    return read;
                }
                // A bug in a connector costs this run, never the scheduler.
                Err(e) if e.is_panic() => {
                    let why = crate::supervise::panic_message(&*e.into_panic());
                    tracing::error!(source = %source.key, "reading page {page} panicked: {why}");
                    read.own_error = Some(format!(
                        "reading page {page} failed inside Dropwatch ({why}); this is a bug, please report it"
                    ));
                    return read;
                }
                Err(e) => {
                    read.own_error = Some(format!("reading page {page} was cancelled: {e}"));
                    return read;
                }
            };
            // What the page listed tells it from the next one (a page that
            // repeats the one before ends the catalogue, as does an empty one).
            let keys = match same_as_last {
                Some(replay) => {
                    read.seen.extend(replay.kept.iter().cloned());
                    replay.listed
                }
                None => Arc::new(products.iter().map(|p| p.key.clone()).collect()),
            };
            if keys.is_empty() || previous.as_ref() == Some(&keys) {
                task.catalogue_pages.forget_after(page.saturating_sub(1));
                read.complete = true;
                return read;
            }
            let mut any_skipped = false;
            // The source's keywords choose what is watched: the others are
            // not stored (and a stored one no longer chosen is removed by a
            // complete read). Then the gate between what a shop sent and
            // what is kept: a product that fails it stays as it was (seen,
            // so never "removed") and is named in the run.
            let products: Vec<Product> = products
                .into_iter()
                .filter(|p| {
                    let words = [p.title.as_str(), &p.brand, &p.product_type];
                    source
                        .keywords
                        .admits(words.into_iter().chain(p.tags.iter().map(String::as_str)))
                })
                .filter_map(|mut p| match check_product(&mut p) {
                    Ok(()) => Some(p),
                    Err(e) => {
                        any_skipped = true;
                        tracing::warn!(source = %source.key, "product skipped: {e}");
                        if run.skipped.len() < PollRun::MAX_SKIPPED {
                            run.skipped.push(e.to_string());
                        }
                        read.seen.insert(p.key);
                        None
                    }
                })
                .collect();
            let kept: Vec<String> = products.iter().map(|p| p.key.clone()).collect();
            // Diff the page, then write what changed in transactions of at
            // most `commit_products` changed products (unchanged ones cost nothing).
            let fenced = || Batch::fenced(fence.clone());
            let mut batches = vec![fenced()];
            {
                let state = self.state.lock();
                let now = Utc::now();
                for p in products {
                    if !read.seen.insert(p.key.clone()) {
                        continue;
                    }
                    let d = diff(state.get(&p.key), p, now);
                    if d.product.is_none() && d.events.is_empty() {
                        continue;
                    }
                    let last = batches.last_mut().expect("never empty");
                    if last.products.len() >= self.cfg.commit_products.max(1) {
                        batches.push(fenced());
                    }
                    batches.last_mut().expect("never empty").add(d);
                }
            }
            // Write this page while the next one is fetched (the next page is
            // only asked for once this one proved the catalogue goes on).
            if digest.is_some() {
                task.catalogue_pages.forget(page);
            }
            let write = async {
                let mut changes = 0;
                for batch in batches {
                    changes += self.commit(batch).await?.len() as u32;
                }
                Ok::<u32, crate::store::StoreError>(changes)
            };
            let next = async {
                if page < self.cfg.max_pages
                    && partial.is_none()
                    && connector.has_pages()
                    && may_ask()
                {
                    Some(fetch(page + 1).await)
                } else {
                    None
                }
            };
            let (written, next) = tokio::join!(write, next);
            fetched = next;
            match written {
                Ok(changes) => {
                    run.changes += changes;
                    if let (Some(d), false) = (digest, any_skipped) {
                        let kept = if kept.len() == keys.len() {
                            keys.clone()
                        } else {
                            Arc::new(kept)
                        };
                        let listed = keys.clone();
                        task.catalogue_pages.saved(page, d, Replay { listed, kept });
                    }
                }
                Err(e) => {
                    read.own_error = Some(format!("could not save what was read: {e}"));
                    return read;
                }
            }
            run.pages += 1;
            run.products = read.seen.len() as u32;
            {
                let mut p = task.progress.lock();
                p.pages_done = run.pages;
                p.products_seen = run.products;
            }
            if let Some(e) = partial {
                // What was read is kept; the rest failed.
                read.error = Some(e);
                return read;
            }
            if !connector.has_pages() {
                read.complete = true;
                return read;
            }
            if fetched.is_none() && page < self.cfg.max_pages {
                // The next page was not asked for: the lease lapsed.
                read.own_error = Some(LAPSED.to_string());
                return read;
            }
            previous = Some(keys);
        }
        // Stopped at max_pages: the catalogue may go on, so nothing is "removed".
        read
    }

    /// Whether this complete read's removals wait: more than `hold_shrink`
    /// of the listed products (and at least 2) missing at once is held the
    /// first time, and removed when the next complete read confirms it. A
    /// read without such a shrink ends the suspicion.
    fn hold_shrink(&self, task: &SourceTask, missing: usize, listed: usize) -> bool {
        let big = missing >= 2 && (missing as f64) > self.cfg.hold_shrink * listed as f64;
        if !big {
            task.shrink_held.store(false, Ordering::SeqCst);
            return false;
        }
        if task.shrink_held.swap(false, Ordering::SeqCst) {
            // Held by the last read: confirmed, remove now.
            false
        } else {
            task.shrink_held.store(true, Ordering::SeqCst);
            true
        }
    }

    /// Raises `blocked` when a source stops showing its catalogue, and
    /// `unblocked` when it shows it again.
    async fn blocked_transition(
        &self,
        task: &SourceTask,
        source: &Source,
        error: Option<&FetchError>,
        batch: &mut Batch,
    ) -> Result<(), EngineError> {
        let (now_blocked, reason) = match error {
            Some(e) if e.class().is_blocked() => (true, Some(e.to_string())),
            Some(_) => return Ok(()),
            None => (false, None),
        };
        if now_blocked == source.blocked {
            return Ok(());
        }
        let updated = {
            let mut s = task.source.lock();
            s.blocked = now_blocked;
            s.clone()
        };
        self.store.save_source(&updated).await?;
        batch.events.push(Event {
            seq: 0,
            kind: if now_blocked {
                EventKind::Blocked
            } else {
                EventKind::Unblocked
            },
            at: Utc::now(),
            source: source.key.clone(),
            product: None,
            variant: None,
            old_price: None,
            new_price: None,
            reason,
        });
        Ok(())
    }
}

impl Engine {
    /// The connector that reads `source` this run, with what it reads with
    /// (its account or keys, the products it last stored).
    fn connector(&self, source: &Source, task: &SourceTask, store: &Url) -> Connector {
        match &source.settings {
            SourceSettings::Shopify => Connector::Shopify,
            SourceSettings::WooCommerce => Connector::WooCommerce,
            SourceSettings::Page(settings) => Connector::Page {
                settings: settings.clone(),
                previous: self
                    .state
                    .lock()
                    .get(&page::product_key(&source.key, store))
                    .cloned(),
                last_page: task.last_page.clone(),
            },
            SourceSettings::Json(mapping) => Connector::Json {
                mapping: mapping.clone(),
                source_env: self.cfg.source_env.clone(),
            },
            SourceSettings::Amazon(settings) => Connector::Amazon {
                settings: settings.clone(),
                account: self.connectors.read().oxylabs.clone(),
                cfg: self.cfg.amazon.clone(),
                previous: self
                    .state
                    .lock()
                    .values()
                    .filter(|p| p.source == source.key)
                    .map(|p| (p.external_id.clone(), p.clone()))
                    .collect(),
            },
            SourceSettings::Popmart(settings) => {
                let keys = self
                    .connectors
                    .read()
                    .popmart
                    .get(&settings.region)
                    .cloned();
                Connector::Popmart {
                    settings: settings.clone(),
                    keys,
                }
            }
        }
    }

    /// Whether every one of these products is still stored and listed (a
    /// page replayed from its digest stands for exactly them).
    fn still_stored(&self, keys: &[String]) -> bool {
        let state = self.state.lock();
        keys.iter()
            .all(|k| state.get(k).is_some_and(|p| !p.removed))
    }
}
