//! A year of plausible history for the demo store, so that the deal score,
//! the charts and everything read from history show something on the first
//! run. Seeded, so a run is repeatable.
//!
//! Each product gets a story that ends at its price and stock now: about a
//! third were dearer for most of the year (today is a low), a quarter were
//! cheaper (today is dear), the rest moved around today's price; every few
//! weeks a sale of 10–30 % lasts a few days. One in seven is priced like a
//! resale market instead: a nudge every day or three, drifting down or up
//! for months at a time (what the price forecast is for). Each size sells out and comes
//! back with its own rhythm (in stock 6–60 days, gone 1–10), restocking
//! around the product's usual hour in the morning (UTC), and mostly on the
//! store's delivery day, Thursday (a restock due a day either side comes
//! then): the store's rhythm the restock outlook names. Rows are change-only, as the poller
//! writes them: the first one names every size, later ones what changed.

use chrono::{DateTime, Datelike, Duration, Timelike, Utc, Weekday};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;

use model::{PricePoint, StockPoint, VariantPrice, VariantStock};

use super::catalogue::{Catalogue, DemoProduct};

/// How far back the generated history goes.
pub const DAYS: i64 = 365;

/// History for the first `limit` products of `catalogue`, as source
/// `source` reads them (keys `{source}:{product id}`), ending before `now`.
pub fn year_of_history(
    catalogue: &Catalogue,
    source: &str,
    now: DateTime<Utc>,
    seed: u64,
    limit: usize,
) -> (Vec<PricePoint>, Vec<StockPoint>) {
    let (mut prices, mut stock) = (vec![], vec![]);
    for (p, s) in by_product(catalogue, source, now, seed, limit) {
        prices.extend(p);
        stock.extend(s);
    }
    (prices, stock)
}

/// [`year_of_history`] one product at a time: each product's price and
/// stock rows, in catalogue order.
pub fn by_product(
    catalogue: &Catalogue,
    source: &str,
    now: DateTime<Utc>,
    seed: u64,
    limit: usize,
) -> Vec<(Vec<PricePoint>, Vec<StockPoint>)> {
    catalogue
        .products
        .iter()
        .take(limit)
        .map(|p| {
            let mut rng = StdRng::seed_from_u64(seed ^ p.id.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let key = format!("{source}:{}", p.id);
            let prices = price_story(&mut rng, p, &key, now);
            (prices, stock_story(&mut rng, p, &key, now))
        })
        .collect()
}

/// Whole minutes `minutes` before `now`.
/// The demo store's delivery day.
const DELIVERY_DAY: Weekday = Weekday::Thu;

fn at(now: DateTime<Utc>, minutes: i64) -> DateTime<Utc> {
    now - Duration::minutes(minutes)
}

fn row(key: &str, at: DateTime<Utc>, p: &DemoProduct, factor: Decimal) -> PricePoint {
    PricePoint {
        product: key.to_string(),
        at,
        ts: at.timestamp_millis(),
        variants: p
            .variants
            .iter()
            .map(|v| VariantPrice {
                variant: v.id.to_string(),
                size: v.title.clone(),
                price: scaled(v.price, factor),
                compare_at: None,
            })
            .collect(),
    }
}

/// `price` times `factor` (in percent), to the cent, at least 1.
fn scaled(price: Decimal, percent: Decimal) -> Decimal {
    (price * percent / Decimal::ONE_HUNDRED)
        .round_dp(2)
        .max(Decimal::ONE)
}

/// The product's price over the year, as a percentage of today's price at
/// each change; the last change (1–40 days ago) sets today's.
fn price_story(
    rng: &mut StdRng,
    p: &DemoProduct,
    key: &str,
    now: DateTime<Utc>,
) -> Vec<PricePoint> {
    // Where the year's usual price sits against today's (percent).
    let story = rng.random_range(0..100);
    let usual: (i64, i64) = match story {
        0..35 => (106, 125), // today is a low
        35..60 => (80, 95),  // today is dear
        _ => (92, 108),
    };
    if story >= 86 {
        return drifting(rng, p, key, now);
    }
    let last_change = rng.random_range(1..=40) * 24 * 60 + rng.random_range(0..600);
    let mut out = vec![];
    let mut minute = DAYS * 24 * 60;
    let mut level = Decimal::from(rng.random_range(usual.0..=usual.1));
    out.push(row(key, at(now, minute), p, level));
    while minute > last_change {
        // A sale every few weeks, else a move of the usual price.
        let gap = rng.random_range(12..50) * 24 * 60;
        minute -= gap;
        if minute <= last_change {
            break;
        }
        if rng.random_range(0..3) == 0 {
            let off = Decimal::from(rng.random_range(70..=90));
            out.push(row(
                key,
                at(now, minute),
                p,
                level * off / Decimal::ONE_HUNDRED,
            ));
            let length = rng.random_range(3..=10) * 24 * 60;
            minute = (minute - length).max(last_change + 60);
            out.push(row(key, at(now, minute), p, level));
        } else {
            level = Decimal::from(rng.random_range(usual.0..=usual.1));
            out.push(row(key, at(now, minute), p, level));
        }
    }
    out.push(row(key, at(now, last_change), p, Decimal::ONE_HUNDRED));
    out
}

/// A resale-like price: a change every 1–3 days, drifting 0.1–0.5 % a day
/// down or up for 1–4 months at a time (the last drift 2–4 months), with
/// ±1 % of noise, ending at today's price. Made backwards from today.
fn drifting(rng: &mut StdRng, p: &DemoProduct, key: &str, now: DateTime<Utc>) -> Vec<PricePoint> {
    let mut out = vec![];
    let mut minute = rng.random_range(60..20 * 60);
    // Tenths of a percent of today's price, so the walk stays in integers.
    let mut level: i64 = 1000;
    let mut run_left = rng.random_range(60..=120) * 24 * 60;
    let mut slope = drift(rng);
    out.push(row(key, at(now, minute), p, Decimal::ONE_HUNDRED));
    while minute < DAYS * 24 * 60 {
        let step = rng.random_range(1..=3) * 24 * 60 + rng.random_range(-90..=90);
        // The year begins exactly a year ago, as the other stories' do.
        let step = step.min(DAYS * 24 * 60 - minute);
        minute += step;
        run_left -= step;
        if run_left <= 0 {
            run_left = rng.random_range(30..=120) * 24 * 60;
            slope = drift(rng);
        }
        // Going back in time undoes the drift.
        level = (level - slope * step / (24 * 60)).clamp(500, 1800);
        let noisy = level + rng.random_range(-10..=10);
        out.push(row(key, at(now, minute), p, Decimal::new(noisy, 1)));
    }
    out.reverse();
    out
}

/// A daily drift in tenths of a percent: 1–5, down or up.
fn drift(rng: &mut StdRng) -> i64 {
    let size = rng.random_range(1..=5);
    if rng.random_range(0..3) == 0 {
        size
    } else {
        -size
    }
}

/// Each size's sell-outs and restocks over the year, ending as it is now.
fn stock_story(
    rng: &mut StdRng,
    p: &DemoProduct,
    key: &str,
    now: DateTime<Utc>,
) -> Vec<StockPoint> {
    let start = DAYS * 24 * 60;
    // The store restocks around one hour of the day.
    let restock_hour = rng.random_range(8..=11);
    let mut first = StockPoint {
        product: key.to_string(),
        at: at(now, start),
        ts: at(now, start).timestamp_millis(),
        variants: vec![],
    };
    let mut changes: Vec<(i64, VariantStock)> = vec![];
    for v in &p.variants {
        let (in_days, out_days) = (rng.random_range(6..=60), rng.random_range(1..=10));
        let mut available = rng.random_bool(0.7);
        first.variants.push(VariantStock {
            variant: v.id.to_string(),
            size: v.title.clone(),
            available,
        });
        let mut minute = start;
        loop {
            let days = if available { in_days } else { out_days };
            let jitter = rng.random_range(0..=days / 2 + 1);
            let mut next = minute - (days + jitter) * 24 * 60;
            if !available {
                // A restock: on the delivery day when it is a day away
                // (`next` counts minutes back from now)…
                let day = at(now, next).weekday().num_days_from_monday();
                let ahead =
                    (i64::from(DELIVERY_DAY.num_days_from_monday()) - i64::from(day)).rem_euclid(7);
                let shift = if ahead == 6 { -1 } else { ahead };
                if shift.abs() == 1 {
                    next -= shift * 24 * 60;
                }
                // …near the product's hour on that day.
                let when = at(now, next);
                let hours = i64::from(when.hour()) - restock_hour;
                next += hours * 60 + i64::from(when.minute()) - rng.random_range(0..30);
            } else {
                next -= rng.random_range(0..24 * 60);
            }
            // Strictly after the last change.
            minute = next.min(minute - 60);
            if minute <= 60 {
                break;
            }
            available = !available;
            changes.push((minute, stock_of(v, available)));
        }
        // End as it is now: one more change after the last one.
        if available != v.available {
            let last = changes
                .iter()
                .filter(|c| c.1.variant == v.id.to_string())
                .map(|c| c.0)
                .min()
                .unwrap_or(start);
            let when = rng.random_range(1..=600).min(last - 1).max(1);
            changes.push((when, stock_of(v, v.available)));
        }
    }
    changes.sort_by(|a, b| b.0.cmp(&a.0));
    let mut out = vec![first];
    for (minute, change) in changes {
        let when = at(now, minute);
        match out.last_mut() {
            Some(last) if last.ts == when.timestamp_millis() => last.variants.push(change),
            _ => out.push(StockPoint {
                product: key.to_string(),
                at: when,
                ts: when.timestamp_millis(),
                variants: vec![change],
            }),
        }
    }
    out
}

fn stock_of(v: &super::catalogue::DemoVariant, available: bool) -> VariantStock {
    VariantStock {
        variant: v.id.to_string(),
        size: v.title.clone(),
        available,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::{DemoConfig, DemoStore};
    use rust_decimal::prelude::ToPrimitive;

    #[test]
    fn the_history_ends_at_the_catalogue_as_it_is_now_and_is_repeatable() {
        let store = DemoStore::new(&DemoConfig {
            products: 20,
            ..DemoConfig::default()
        });
        let cat = store.catalogue.lock();
        let now = Utc::now();
        let (prices, stock) = year_of_history(&cat, "demo", now, 42, 20);
        let again = year_of_history(&cat, "demo", now, 42, 20);
        assert_eq!((&prices, &stock), (&again.0, &again.1));
        for p in &cat.products {
            let key = format!("demo:{}", p.id);
            let mine: Vec<&PricePoint> = prices.iter().filter(|r| r.product == key).collect();
            let rows: Vec<&StockPoint> = stock.iter().filter(|r| r.product == key).collect();
            // Oldest first, a year back, all before now.
            assert!(mine.windows(2).all(|w| w[0].ts < w[1].ts), "{key}");
            assert!(rows.windows(2).all(|w| w[0].ts < w[1].ts), "{key}");
            let year_ago = (now - Duration::days(DAYS)).timestamp_millis();
            assert_eq!(mine[0].ts, year_ago);
            assert!(mine.last().unwrap().ts < now.timestamp_millis());
            // Replayed, it ends at today's prices and stock.
            let h = model::deal::replay(
                &mine.into_iter().cloned().collect::<Vec<_>>(),
                &rows.into_iter().cloned().collect::<Vec<_>>(),
            );
            let want = p
                .variants
                .iter()
                .filter(|v| v.available)
                .map(|v| v.price)
                .min();
            assert_eq!(h.lowest.last().and_then(|s| s.1), want, "{key}");
            for (v, (size, steps)) in p.variants.iter().zip(&h.sizes) {
                assert_eq!(*size, v.title);
                let now_price = steps.last().and_then(|s| s.1);
                assert_eq!(now_price, v.available.then_some(v.price), "{key} {size}");
            }
        }
    }

    #[test]
    fn the_year_gives_every_kind_of_deal() {
        let store = DemoStore::new(&DemoConfig {
            products: 60,
            ..DemoConfig::default()
        });
        let cat = store.catalogue.lock();
        let now = Utc::now();
        let (prices, stock) = year_of_history(&cat, "demo", now, 42, 60);
        let mut scores = vec![];
        for p in &cat.products {
            let key = format!("demo:{}", p.id);
            let mine: Vec<PricePoint> = prices
                .iter()
                .filter(|r| r.product == key)
                .cloned()
                .collect();
            let rows: Vec<StockPoint> =
                stock.iter().filter(|r| r.product == key).cloned().collect();
            let d = model::deal::assess(&model::deal::replay(&mine, &rows), now, "USD", None);
            scores.extend(d.score);
        }
        assert!(scores.iter().any(|s| *s >= 80), "{scores:?}");
        assert!(scores.iter().any(|s| *s <= 30), "{scores:?}");
        assert!(scores.iter().any(|s| (40..=70).contains(s)), "{scores:?}");
    }

    /// The price forecast held out on the demo's year (the README's
    /// figures: `cargo test -p monitor --lib forecast_backtest -- --nocapture`):
    /// shown only where it beat "the price stays as it is", which the
    /// resale-like drifting prices do and the list prices that jump now and
    /// then do not.
    #[test]
    fn forecast_backtest_on_the_demo_year() {
        use model::forecast::{NoForecast, PriceForecast};
        let store = DemoStore::new(&DemoConfig {
            products: 200,
            ..DemoConfig::default()
        });
        let cat = store.catalogue.lock();
        let now = Utc::now();
        let mut tried = 0u32;
        let (mut shown, mut shown_err, mut shown_naive) = (0u32, 0.0, 0.0);
        let (mut all_err, mut all_naive) = (0.0, 0.0);
        let histories = by_product(&cat, "demo", now, 42, 200);
        let started = std::time::Instant::now();
        for (prices, _) in &histories {
            let (err, naive) = match crate::insight::forecast::forecast_history(prices, now) {
                PriceForecast::Shown(f) => {
                    shown += 1;
                    shown_err += f.error_percent.to_f64().unwrap_or_default();
                    shown_naive += f.naive_error_percent.to_f64().unwrap_or_default();
                    (f.error_percent, f.naive_error_percent)
                }
                PriceForecast::NotShown {
                    why:
                        NoForecast::NaiveBetter {
                            error_percent,
                            naive_error_percent,
                        },
                } => (error_percent, naive_error_percent),
                PriceForecast::NotShown { .. } => continue,
            };
            tried += 1;
            all_err += err.to_f64().unwrap_or_default();
            all_naive += naive.to_f64().unwrap_or_default();
        }
        let took = started.elapsed().as_secs_f64() * 1000.0 / histories.len().max(1) as f64;
        let mean = |sum: f64, n: u32| sum / f64::from(n.max(1));
        println!(
            "forecast backtest: {took:.1} ms a product (three held-out fits and the forecast)"
        );
        println!(
            "forecast backtest on the demo year: {tried} products tried, shown for {shown}; \
             where shown, mean error {:.1}% against {:.1}% for 'the price stays'; \
             over all tried, {:.1}% against {:.1}%",
            mean(shown_err, shown),
            mean(shown_naive, shown),
            mean(all_err, tried),
            mean(all_naive, tried)
        );
        assert!(
            tried >= 150,
            "most demo products have a moving price: {tried}"
        );
        assert!(shown >= 10, "the drifting prices are forecast: {shown}");
        assert!(mean(shown_err, shown) < mean(shown_naive, shown));
    }

    /// The restock outlook held out on the demo's year: each size's later
    /// sell-outs predicted from the ones before (the README's figures:
    /// `cargo test -p monitor --lib restock_backtest -- --nocapture`).
    #[test]
    fn restock_backtest_on_the_demo_year() {
        let store = DemoStore::new(&DemoConfig {
            products: 200,
            ..DemoConfig::default()
        });
        let cat = store.catalogue.lock();
        let (_, stock) = year_of_history(&cat, "demo", Utc::now(), 42, 200);
        let mut sizes = vec![];
        for p in &cat.products {
            let key = format!("demo:{}", p.id);
            let rows: Vec<StockPoint> =
                stock.iter().filter(|r| r.product == key).cloned().collect();
            sizes.extend(model::restock::sizes_over_time(&rows));
        }
        let b = model::restock::backtest(&sizes);
        println!(
            "restock backtest on the demo year: {} predictions, {:.0}% back inside the window, {:.0}% back by its end, median error {} h",
            b.predictions,
            100.0 * f64::from(b.inside) / f64::from(b.predictions.max(1)),
            100.0 * f64::from(b.by_until) / f64::from(b.predictions.max(1)),
            b.median_error_hours
        );
        assert!(b.predictions > 500, "{b:?}");
        // Each size keeps its rhythm (with jitter): most come back by the window's end.
        assert!(
            f64::from(b.by_until) >= 0.6 * f64::from(b.predictions),
            "{b:?}"
        );

        // The store's rhythm learnt from the 90 days before the last 30,
        // tried on those 30.
        let times = model::restock::restock_times(&sizes);
        let cut = Utc::now().timestamp_millis() - 30 * model::history::DAY_MS;
        let r = model::rhythm::backtest(&times, cut);
        let share = |n: u32| 100.0 * f64::from(n) / f64::from(r.held_out.max(1));
        println!(
            "store rhythm backtest: {:?}; of {} held-out restocks {:.0}% on that weekday (by chance 14%), {:.0}% within an hour of that hour (by chance 12%)",
            r.rhythm.as_ref().map(|r| &r.said),
            r.held_out,
            share(r.on_weekday),
            share(r.near_hour)
        );
        let rhythm = r.rhythm.clone().expect("the demo store has a rhythm");
        assert_eq!(rhythm.weekday, Some(chrono::Weekday::Thu), "{rhythm:?}");
        assert!(
            rhythm.hour.is_some_and(|h| (8..=11).contains(&h)),
            "{rhythm:?}"
        );
        // By chance, as often as that weekday is among the 30 held-out days
        // (4 or 5 of them, depending on today's date).
        let weekday = rhythm.weekday.expect("checked above");
        let days = (0..30)
            .filter(|d| {
                let day = Utc::now() - chrono::Duration::days(*d);
                chrono::Datelike::weekday(&day) == weekday
            })
            .count();
        let chance = 100.0 * days as f64 / 30.0;
        assert!(
            share(r.on_weekday) > 2.0 * chance,
            "{r:?}, {days} of the 30 days"
        );
        assert!(share(r.near_hour) > 50.0, "{r:?}");
    }
}
