//! Insight computed from the history Dropwatch keeps: each product's deal
//! score ([`model::deal`]), when its sold-out sizes are expected back
//! ([`model::restock`]) and its price forecast ([`forecast`]). All are
//! computed when history changes, not
//! on page views: a follower of the engine's events collects the products a
//! price or stock event touched and assesses them about once a second, and
//! every product is assessed again at start and every few hours (a score is
//! about the last 90 days, so it moves as days pass). Pages, REST and alert
//! rules read the [`DealBook`]; a rule's condition on a deal assesses the
//! product at the event instead (see `Engine::assess_deal`), so it never
//! judges a new price by the old one's score.
//!
//! Scores are derived data, rebuilt from the stored history at start; they
//! are kept in memory only (about 2 KB a product). A forecast is fitted
//! again only when the product's history or the day changed. The same task
//! keeps the recent events trending is worked out from (`trends.rs`).
//!
//! Each store's restock rhythm ([`model::rhythm`]) is kept as counts per
//! product, added to their store's when a product is assessed and taken
//! out when it is assessed again or removed, so it costs no pass of its own.
//!
//! A deal that changed when assessed again is told to the live sockets open
//! at the time ([`model::Notice::Deal`]), so a card's badge follows its
//! price about a second later without a reload.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use chrono::Utc;
use parking_lot::RwLock;
use tokio::sync::broadcast;

use model::deal::{self, Deal, DealBadge, Elsewhere};
use model::forecast::PriceForecast;
use model::restock::ProductInsight;
use model::rhythm::{RestockCounts, StoreRhythm, RHYTHM_DAYS};
use model::{EventKind, Notice, Product};

use crate::engine::Engine;
use crate::store::StoreError;

pub mod forecast;
mod trends;
pub use trends::TrendLog;

/// How often every product is assessed again.
const FULL_EVERY: Duration = Duration::from_secs(6 * 3600);
/// How long touched products are collected before they are assessed.
const BATCH_EVERY: Duration = Duration::from_secs(1);

/// Each product's latest insight, by product key, and what working them
/// out has cost.
#[derive(Default)]
pub struct DealBook {
    deals: RwLock<HashMap<String, Assessed>>,
    assessed: AtomicU64,
    /// Forecasts fitted (the others were kept from before).
    forecasts: AtomicU64,
    assess_nanos: AtomicU64,
    full_passes: AtomicU64,
    last_full_nanos: AtomicU64,
    notices: DealNotices,
    /// Each store's restocks in the last 90 days, by source key.
    rhythms: parking_lot::Mutex<HashMap<String, RestockCounts>>,
}

/// Deals that changed, as the live socket sends them (JSON, encoded once).
struct DealNotices(broadcast::Sender<Arc<str>>);

impl Default for DealNotices {
    fn default() -> Self {
        // A socket that falls this far behind skips some: each product's
        // next assessment tells its deal again.
        DealNotices(broadcast::channel(1024).0)
    }
}

/// What a forecast was made from: the price history (its rows, the first
/// and the last row's ts) and the day. Older rows written later (the demo's
/// year, an import) change the count and the first row, not the last.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct ForecastBasis {
    rows: usize,
    first: i64,
    last: i64,
    day: i64,
}

/// A product's insight and what its forecast was fitted on.
struct Assessed {
    insight: Arc<ProductInsight>,
    /// What the forecast was made from.
    forecast_for: ForecastBasis,
    /// Its source and its restocks counted in the store's rhythm.
    source: String,
    restocks: RestockCounts,
}

/// The insight task's counters (for `/metrics` and the benchmark).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InsightStats {
    pub assessed: u64,
    pub forecasts: u64,
    /// Products with a forecast shown.
    pub forecast_shown: usize,
    pub assess_secs: f64,
    pub full_passes: u64,
    pub last_full_secs: f64,
    /// Products with a deal score.
    pub scored: usize,
}

impl DealBook {
    pub fn get(&self, key: &str) -> Option<Arc<ProductInsight>> {
        self.deals.read().get(key).map(|a| a.insight.clone())
    }

    pub fn badge(&self, key: &str) -> Option<DealBadge> {
        self.deals.read().get(key).map(|a| a.insight.deal.badge())
    }

    pub fn stats(&self) -> InsightStats {
        let secs = |a: &AtomicU64| a.load(Ordering::Relaxed) as f64 / 1e9;
        // One read guard, dropped before anything else locks: a second
        // read() in the same expression would wait behind a queued writer
        // while holding the first (parking_lot is fair to writers), and
        // deadlock with it.
        let (scored, forecast_shown) = {
            let deals = self.deals.read();
            deals.values().fold((0, 0), |(s, f), a| {
                (
                    s + usize::from(a.insight.deal.score.is_some()),
                    f + usize::from(a.insight.forecast.shown().is_some()),
                )
            })
        };
        InsightStats {
            assessed: self.assessed.load(Ordering::Relaxed),
            forecasts: self.forecasts.load(Ordering::Relaxed),
            forecast_shown,
            assess_secs: secs(&self.assess_nanos),
            full_passes: self.full_passes.load(Ordering::Relaxed),
            last_full_secs: secs(&self.last_full_nanos),
            scored,
        }
    }

    pub fn len(&self) -> usize {
        self.deals.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Keeps `insight`, counts its restocks in its store's rhythm, and
    /// tells the live sockets when its deal changed (when it was worked out
    /// does not count).
    fn put(
        &self,
        key: &str,
        insight: ProductInsight,
        forecast_for: ForecastBasis,
        source: &str,
        restocks: RestockCounts,
    ) {
        let deal = insight.deal.clone();
        let before = self.deals.write().insert(
            key.to_string(),
            Assessed {
                insight: Arc::new(insight),
                forecast_for,
                source: source.to_string(),
                restocks,
            },
        );
        {
            let mut rhythms = self.rhythms.lock();
            if let Some(b) = &before {
                rhythms
                    .entry(b.source.clone())
                    .or_default()
                    .remove(&b.restocks);
            }
            rhythms
                .entry(source.to_string())
                .or_default()
                .add(&restocks);
        }
        let changed = before.is_none_or(|b| {
            let mut was = b.insight.deal.clone();
            was.computed = deal.computed;
            was != deal
        });
        if changed && self.notices.0.receiver_count() > 0 {
            let _ = self.notices.0.send(notice(key, deal).into());
        }
    }

    /// When the store `source` usually restocks (`None` until it has
    /// restocked [`model::rhythm::MIN_RESTOCKS`] times in 90 days).
    pub fn rhythm(&self, source: &str) -> Option<StoreRhythm> {
        self.rhythms
            .lock()
            .get(source)
            .and_then(RestockCounts::rhythm)
    }

    /// Deals as they change, for one live socket.
    pub fn notices(&self) -> broadcast::Receiver<Arc<str>> {
        self.notices.0.subscribe()
    }

    /// `key`'s deal as last assessed, as a notice.
    pub fn notice(&self, key: &str) -> Option<String> {
        let deal = self.get(key)?.deal.clone();
        Some(notice(key, deal))
    }

    /// The forecast kept for `key` if it was made for `basis`.
    fn forecast_made_for(&self, key: &str, basis: ForecastBasis) -> Option<PriceForecast> {
        self.deals
            .read()
            .get(key)
            .filter(|a| a.forecast_for == basis)
            .map(|a| a.insight.forecast.clone())
    }

    fn forget(&self, key: &str) {
        let gone = self.deals.write().remove(key);
        if let Some(g) = gone {
            if let Some(r) = self.rhythms.lock().get_mut(&g.source) {
                r.remove(&g.restocks);
            }
        }
    }
}

fn notice(key: &str, deal: Deal) -> String {
    Notice::Deal {
        product: key.to_string(),
        deal: Box::new(deal),
    }
    .json()
}

impl Engine {
    pub fn insight_stats(&self) -> InsightStats {
        self.deals.stats()
    }

    /// The deal book: each product's insight, and its changes as notices.
    pub fn deal_book(&self) -> &DealBook {
        &self.deals
    }

    /// When the store `source` usually restocks, from its products' last 90 days.
    pub fn store_rhythm(&self, source: &str) -> Option<StoreRhythm> {
        self.deals.rhythm(source)
    }

    /// The product's deal and restock outlook as last assessed.
    pub fn insight(&self, key: &str) -> Option<Arc<ProductInsight>> {
        self.deals.get(key)
    }

    /// Assesses one product from its stored history now (and keeps the
    /// result); `None` for a product not tracked or removed.
    pub async fn assess_deal(&self, key: &str) -> Result<Option<Deal>, StoreError> {
        let started = Instant::now();
        let Some(product) = self.product(key).filter(|p| !p.removed) else {
            self.deals.forget(key);
            return Ok(None);
        };
        let prices = self.store().price_history(key).await?;
        let stock = self.store().stock_history(key).await?;
        let history = deal::replay(&prices, &stock);
        let elsewhere = self.cheapest_elsewhere(&product);
        let now = Utc::now();
        let deal = deal::assess(&history, now, &product.currency, elsewhere);
        // Each size's availability over time, read once for the outlook and
        // the store's rhythm.
        let sizes = model::restock::sizes_over_time(&stock);
        let times = model::restock::restock_times(&sizes);
        let restock = model::restock::outlook_of(&sizes, &times);
        let restocks = RestockCounts::of(
            &times,
            now.timestamp_millis()
                .saturating_sub(RHYTHM_DAYS.saturating_mul(model::history::DAY_MS)),
        );
        let basis = ForecastBasis {
            rows: prices.len(),
            first: prices.first().map_or(0, |p| p.ts),
            last: prices.last().map_or(0, |p| p.ts),
            day: now.timestamp_millis().div_euclid(model::history::DAY_MS),
        };
        let forecast = match self.deals.forecast_made_for(key, basis) {
            Some(kept) => kept,
            None => {
                self.deals.forecasts.fetch_add(1, Ordering::Relaxed);
                // A fit is ~10 ms of arithmetic: off the async workers, so
                // a full pass at start never stalls pages and polls.
                tokio::task::spawn_blocking(move || forecast::forecast_history(&prices, now))
                    .await
                    .unwrap_or_else(|_| PriceForecast::NotShown {
                        why: model::forecast::NoForecast::NoFit,
                    })
            }
        };
        let took = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.deals.assessed.fetch_add(1, Ordering::Relaxed);
        self.deals.assess_nanos.fetch_add(took, Ordering::Relaxed);
        self.deals.put(
            key,
            ProductInsight {
                deal: deal.clone(),
                restock,
                forecast,
            },
            basis,
            &product.source,
            restocks,
        );
        Ok(Some(deal))
    }

    /// Assesses every listed product; returns how many.
    pub async fn assess_all_deals(&self) -> Result<usize, StoreError> {
        let started = Instant::now();
        let keys: Vec<String> = self.products().into_iter().map(|p| p.key).collect();
        for key in &keys {
            self.assess_deal(key).await?;
            tokio::task::yield_now().await;
        }
        let took = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.deals.last_full_nanos.store(took, Ordering::Relaxed);
        self.deals.full_passes.fetch_add(1, Ordering::Relaxed);
        tracing::info!(
            products = keys.len(),
            took_ms = took / 1_000_000,
            "assessed every product's deal and restock outlook"
        );
        Ok(keys.len())
    }

    /// The same item in stock for less in another watched store, in the
    /// same currency.
    fn cheapest_elsewhere(&self, me: &Product) -> Option<Elsewhere> {
        let mine = me.lowest_in_stock()?;
        let (other, price) = self
            .same_items(&me.key)
            .into_iter()
            .filter(|(p, _)| p.currency == me.currency)
            .filter_map(|(p, _)| p.lowest_in_stock().map(|price| (p, price)))
            .min_by(|a, b| a.1.cmp(&b.1))?;
        let percent = model::money::percent_of(mine.checked_sub(price)?, mine)?;
        let store_name = self
            .sources()
            .into_iter()
            .find(|s| s.key == other.source)
            .map_or_else(|| other.source.clone(), |s| s.name);
        Some(Elsewhere {
            product: other.key,
            store_name,
            price,
            percent,
        })
    }

    /// Starts assessing deals: all now and every few hours, and the
    /// products events touch as they come.
    pub(crate) fn spawn_insight(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let weak = Arc::downgrade(self);
        let restarts = self.metrics.restarts.clone();
        tokio::spawn(crate::supervise::supervised(
            "insight",
            restarts,
            move || follow(weak.clone()),
        ))
    }
}

/// Follows the events, assessing what they touch in batches, and every
/// product now and then.
async fn follow(engine: Weak<Engine>) -> Result<(), String> {
    let mut feed = {
        let e = engine.upgrade().ok_or("the engine has stopped")?;
        let since = e.store().last_seq();
        let feed = e.internal_feed(since);
        e.backfill_trends(since)
            .await
            .map_err(|err| format!("could not read the recent events: {err}"))?;
        e.assess_all_deals()
            .await
            .map_err(|err| format!("could not assess the deals: {err}"))?;
        feed
    };
    let mut touched: HashSet<String> = HashSet::new();
    let mut last_full = Instant::now();
    // When the products touched so far are due (a second after the first).
    let mut due: Option<tokio::time::Instant> = None;
    loop {
        let wait = due.map_or(BATCH_EVERY, |d| {
            d.saturating_duration_since(tokio::time::Instant::now())
        });
        match tokio::time::timeout(wait, feed.next()).await {
            Ok(Ok(Some(event))) => {
                if let Some(e) = engine.upgrade() {
                    e.trends.record(&event);
                }
                let touches = matches!(
                    event.kind,
                    EventKind::NewProduct
                        | EventKind::PriceChanged
                        | EventKind::Restocked
                        | EventKind::SoldOut
                        | EventKind::Removed
                );
                if let Some(p) = event.product.filter(|_| touches) {
                    touched.insert(p.key);
                    due.get_or_insert_with(|| tokio::time::Instant::now() + BATCH_EVERY);
                }
                let now = tokio::time::Instant::now();
                if due.is_none_or(|d| d > now) && touched.len() < 1000 {
                    continue;
                }
            }
            Ok(Ok(None)) => return Ok(()),
            Ok(Err(e)) => return Err(format!("could not read the events: {e}")),
            Err(_) => {}
        }
        due = None;
        let Some(e) = engine.upgrade() else {
            return Ok(());
        };
        if last_full.elapsed() >= FULL_EVERY {
            touched.clear();
            last_full = Instant::now();
            e.assess_all_deals()
                .await
                .map_err(|err| format!("could not assess the deals: {err}"))?;
        }
        for key in touched.drain() {
            e.assess_deal(&key)
                .await
                .map_err(|err| format!("could not assess {key}: {err}"))?;
        }
    }
}
