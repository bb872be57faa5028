//! Deal score: where a product's lowest in-stock price today stands against
//! its own history and against the same item in other stores, as one number
//! 0–100 with a label ("Lowest in 90 days", "12% above typical") and the
//! reason in words.
//!
//! The history is change-only (a row when a price or a size's stock
//! changed), so it is replayed into step functions: the product's lowest
//! in-stock price over time, and each size's price while it was in stock.
//! Every statistic is time-weighted: a price that held for a month counts a
//! month, one that held an hour counts an hour. The score is the mid-rank
//! percentile of today's price over the last 90 days (or the whole history
//! when shorter): 100 means it was never this cheap, 50 that it is the
//! typical price, 0 that it was never this dear. With under
//! [`MIN_HISTORY_DAYS`] of history there is no score, and the label says so.
//! Pure functions, shared by the server and the browser.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::history::DAY_MS;
use crate::{PricePoint, StockPoint};

/// Days of history a score needs.
pub const MIN_HISTORY_DAYS: i64 = 14;
/// The windows a deal reports (days); the score uses [`SCORE_WINDOW`].
pub const WINDOWS: [i64; 3] = [30, 90, 365];
pub const SCORE_WINDOW: i64 = 90;
/// "Near the all-time low": within this many percent above it (the
/// threshold CamelCamelCamel uses for a good deal).
pub const NEAR_LOW_PERCENT: i64 = 5;

/// A price over time: from each step's `ts` (ms) on, the price (`None`:
/// not in stock, so no price to pay).
pub type Steps = Vec<(i64, Option<Decimal>)>;

/// A product's history replayed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Replayed {
    /// The lowest in-stock price of any size.
    pub lowest: Steps,
    /// Each size's price while in stock, by size label (in the order the
    /// sizes were first seen).
    pub sizes: Vec<(String, Steps)>,
    /// When the history begins.
    pub first_ts: Option<i64>,
}

/// Replays price and stock rows (each oldest first) into step functions.
pub fn replay(prices: &[PricePoint], stock: &[StockPoint]) -> Replayed {
    #[derive(Default)]
    struct Size {
        label: String,
        price: Option<Decimal>,
        available: bool,
    }
    let mut state: BTreeMap<&str, Size> = BTreeMap::new();
    let mut order: Vec<&str> = vec![];
    let mut out = Replayed::default();
    let mut size_steps: BTreeMap<&str, Steps> = BTreeMap::new();
    let (mut i, mut j) = (0, 0);
    while i < prices.len() || j < stock.len() {
        let ts = match (prices.get(i), stock.get(j)) {
            (Some(p), Some(s)) => p.ts.min(s.ts),
            (Some(p), None) => p.ts,
            (None, Some(s)) => s.ts,
            (None, None) => break,
        };
        while let Some(p) = prices.get(i).filter(|p| p.ts == ts) {
            for v in &p.variants {
                let s = state.entry(&v.variant).or_insert_with(|| {
                    order.push(&v.variant);
                    Size::default()
                });
                s.label.clone_from(&v.size);
                s.price = Some(v.price);
            }
            i += 1;
        }
        while let Some(st) = stock.get(j).filter(|s| s.ts == ts) {
            for v in &st.variants {
                let s = state.entry(&v.variant).or_insert_with(|| {
                    order.push(&v.variant);
                    Size::default()
                });
                s.label.clone_from(&v.size);
                s.available = v.available;
            }
            j += 1;
        }
        out.first_ts.get_or_insert(ts);
        let in_stock = |s: &Size| s.price.filter(|_| s.available);
        push_step(
            &mut out.lowest,
            ts,
            state.values().filter_map(in_stock).min(),
        );
        for (id, s) in &state {
            push_step(size_steps.entry(id).or_default(), ts, in_stock(s));
        }
    }
    out.sizes = order
        .into_iter()
        .filter_map(|id| {
            let label = state.get(id)?.label.clone();
            Some((label, size_steps.remove(id)?))
        })
        .collect();
    out
}

fn push_step(steps: &mut Steps, ts: i64, value: Option<Decimal>) {
    if steps.last().map(|s| s.1) != Some(value) {
        steps.push((ts, value));
    }
}

/// Each in-stock stretch of `steps` that falls between `from` and `to`
/// (ms): its price and how long it held there.
fn in_stock_spans(
    steps: &[(i64, Option<Decimal>)],
    from: i64,
    to: i64,
) -> impl Iterator<Item = (Decimal, i64)> + '_ {
    steps
        .iter()
        .enumerate()
        .filter_map(move |(k, (start, value))| {
            let end = steps.get(k + 1).map_or(to, |s| s.0).min(to);
            let begin = (*start).max(from);
            let v = (*value).filter(|_| end > begin)?;
            Some((v, end.saturating_sub(begin)))
        })
}

/// Time-weighted statistics of one window of a price's history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WindowStats {
    /// The window's length (days), or the history's when shorter.
    pub days: u32,
    pub low: Decimal,
    pub high: Decimal,
    pub median: Decimal,
    /// The middle half of the time: 25th to 75th percentile.
    pub typical_low: Decimal,
    pub typical_high: Decimal,
    /// Share of the in-stock time it cost less than `price` (percent).
    pub cheaper_percent: u8,
}

/// Statistics of `steps` between `from` and `to` (ms) against `price`;
/// `None` when nothing was in stock in that time.
pub fn window(
    steps: &[(i64, Option<Decimal>)],
    from: i64,
    to: i64,
    price: Decimal,
) -> Option<WindowStats> {
    let mut spans: Vec<(Decimal, i64)> = in_stock_spans(steps, from, to).collect();
    let total: i64 = spans.iter().fold(0i64, |a, s| a.saturating_add(s.1));
    if total <= 0 {
        return None;
    }
    spans.sort_by(|a, b| a.0.cmp(&b.0));
    // The price at which `q_permille`/1000 of the time has gone by.
    let quantile = |q_permille: i128| {
        let want = ((i128::from(total) * q_permille + 999) / 1000).max(1);
        let mut seen = 0i128;
        for (v, d) in &spans {
            seen += i128::from(*d);
            if seen >= want {
                return *v;
            }
        }
        spans.last().map_or(price, |s| s.0)
    };
    let lower = spans
        .iter()
        .filter(|(v, _)| *v < price)
        .fold(0i64, |a, (_, d)| a.saturating_add(*d));
    Some(WindowStats {
        days: days(to.saturating_sub(from.max(steps.first().map_or(from, |s| s.0)))),
        low: spans.first().map_or(price, |s| s.0),
        high: spans.last().map_or(price, |s| s.0),
        median: quantile(500),
        typical_low: quantile(250),
        typical_high: quantile(750),
        cheaper_percent: percent(lower, total),
    })
}

/// `part` of `whole` in whole percent, 0–100.
fn percent(part: i64, whole: i64) -> u8 {
    if whole <= 0 {
        return 0;
    }
    let p = (i128::from(part) * 100 + i128::from(whole) / 2) / i128::from(whole);
    p.clamp(0, 100) as u8
}

fn days(ms: i64) -> u32 {
    u32::try_from(ms.max(0) / DAY_MS).unwrap_or(u32::MAX)
}

/// The mid-rank percentile score of `price` on `steps` over a window:
/// 100 when it never cost less, 0 when it never cost more.
fn score_of(steps: &[(i64, Option<Decimal>)], from: i64, to: i64, price: Decimal) -> Option<u8> {
    let (mut lower, mut equal, mut total) = (0i64, 0i64, 0i64);
    for (v, d) in in_stock_spans(steps, from, to) {
        total = total.saturating_add(d);
        match v.cmp(&price) {
            std::cmp::Ordering::Less => lower = lower.saturating_add(d),
            std::cmp::Ordering::Equal => equal = equal.saturating_add(d),
            std::cmp::Ordering::Greater => {}
        }
    }
    if total <= 0 {
        return None;
    }
    // Mid-rank: time at the same price counts half.
    let rank = i128::from(lower) * 2 + i128::from(equal);
    let p = 100 - (rank * 100 + i128::from(total)) / (i128::from(total) * 2);
    Some(p.clamp(0, 100) as u8)
}

/// For how many days `price` has been the lowest (no in-stock moment
/// cheaper since), up to `to`; the whole history when never cheaper. Zero
/// when it was never dearer in that time either: a price that only ever
/// was what it is now (after a rise, say) is no low.
fn lowest_for_days(steps: &[(i64, Option<Decimal>)], to: i64, price: Decimal) -> u32 {
    let cheaper_until = steps
        .iter()
        .enumerate()
        .filter(|(_, (_, v))| v.is_some_and(|v| v < price))
        .map(|(k, _)| steps.get(k + 1).map_or(to, |s| s.0))
        .max();
    let since = cheaper_until.or(steps.first().map(|s| s.0)).unwrap_or(to);
    let dearer_since = steps.iter().enumerate().any(|(k, (_, v))| {
        v.is_some_and(|v| v > price) && steps.get(k + 1).map_or(to, |s| s.0) > since
    });
    if dearer_since {
        days(to.saturating_sub(since))
    } else {
        0
    }
}

/// The same item in stock cheaper in another store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Elsewhere {
    /// The other product's key (its store is the part before ':').
    pub product: String,
    pub store_name: String,
    pub price: Decimal,
    /// How much cheaper than here, in percent of the price here.
    pub percent: Decimal,
}

/// A size's deal (sizes in stock now).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SizeDeal {
    pub size: String,
    pub price: Decimal,
    pub score: Option<u8>,
    pub label: String,
}

/// Where today's lowest in-stock price stands, with why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Deal {
    /// 0–100, higher is a better deal; `None` with too little history or
    /// nothing in stock (the label says which).
    pub score: Option<u8>,
    /// A few words: "Lowest in 90 days", "12% above typical".
    pub label: String,
    /// The reason in a sentence.
    pub reason: String,
    /// Today's lowest in-stock price, when something is in stock.
    pub price: Option<Decimal>,
    /// Days of history behind it.
    pub history_days: u32,
    /// For how many days no in-stock moment was cheaper.
    pub lowest_in_days: u32,
    /// Within [`NEAR_LOW_PERCENT`] % of the lowest price ever seen.
    pub near_low: bool,
    /// The 30, 90 and 365-day windows the history covers.
    pub windows: Vec<WindowStats>,
    /// The whole history.
    pub all_time: Option<WindowStats>,
    pub cheaper_elsewhere: Option<Elsewhere>,
    pub sizes: Vec<SizeDeal>,
    pub computed: DateTime<Utc>,
}

/// What the grid shows of a deal.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DealBadge {
    pub score: Option<u8>,
    pub label: String,
    pub near_low: bool,
}

impl Deal {
    pub fn badge(&self) -> DealBadge {
        DealBadge {
            score: self.score,
            label: self.label.clone(),
            near_low: self.near_low,
        }
    }
}

/// The deal of a product whose history replayed to `history`, now,
/// against the cheapest same item in stock elsewhere (if any).
pub fn assess(
    history: &Replayed,
    now: DateTime<Utc>,
    currency: &str,
    elsewhere: Option<Elsewhere>,
) -> Deal {
    let to = now.timestamp_millis();
    let first = history.first_ts.unwrap_or(to);
    let history_days = days(to.saturating_sub(first));
    let price = history.lowest.last().and_then(|s| s.1);
    let mut deal = Deal {
        score: None,
        label: String::new(),
        reason: String::new(),
        price,
        history_days,
        lowest_in_days: 0,
        near_low: false,
        windows: vec![],
        all_time: None,
        cheaper_elsewhere: None,
        sizes: vec![],
        computed: now,
    };
    let Some(price) = price else {
        deal.label = "Sold out".into();
        deal.reason = "No size is in stock, so there is no price to judge.".into();
        return deal;
    };
    if i64::from(history_days) < MIN_HISTORY_DAYS {
        deal.label = format!("New: {history_days} of {MIN_HISTORY_DAYS} days of history");
        deal.reason = format!(
            "Watched for {history_days} day{}; a deal score needs {MIN_HISTORY_DAYS} days of prices.",
            if history_days == 1 { "" } else { "s" }
        );
        return deal;
    }
    let steps = &history.lowest;
    deal.windows = WINDOWS
        .iter()
        .filter(|d| i64::from(history_days) >= **d || **d == WINDOWS[0])
        .filter_map(|d| {
            window(
                steps,
                to.saturating_sub(d.saturating_mul(DAY_MS)),
                to,
                price,
            )
        })
        .collect();
    deal.all_time = window(steps, first, to, price);
    let from = to
        .saturating_sub(SCORE_WINDOW.saturating_mul(DAY_MS))
        .max(first);
    let main = window(steps, from, to, price);
    let mut score = score_of(steps, from, to, price).unwrap_or(50);
    deal.lowest_in_days = lowest_for_days(steps, to, price);
    let low = deal.all_time.as_ref().map_or(price, |a| a.low);
    deal.near_low = low
        .checked_mul(Decimal::from(100 + NEAR_LOW_PERCENT))
        .and_then(|x| x.checked_div(Decimal::ONE_HUNDRED))
        .is_some_and(|limit| price <= limit);
    let span = main.as_ref().map_or(0, |m| m.days);
    let vs_typical = main
        .as_ref()
        .and_then(|m| crate::money::percent_of(price.checked_sub(m.median)?, m.median))
        .map(|p| p.round())
        .unwrap_or_default();
    let unchanged = deal.all_time.as_ref().is_some_and(|a| a.low == a.high);
    deal.label = if unchanged {
        format!("Unchanged for {history_days} days")
    } else if deal.lowest_in_days >= history_days && history_days >= 30 {
        format!("Lowest in {history_days} days")
    } else if deal.lowest_in_days >= 7 {
        format!("Lowest in {} days", deal.lowest_in_days)
    } else if vs_typical >= Decimal::ONE {
        format!("{vs_typical}% above typical")
    } else if vs_typical <= -Decimal::ONE {
        format!("{}% below typical", -vs_typical)
    } else {
        "Typical price".into()
    };
    let mut reason = match &main {
        Some(m) => format!(
            "{price} {currency} now. Over {span} days it cost {}–{} (typically {}–{}); it was cheaper {}% of the time.",
            m.low, m.high, m.typical_low, m.typical_high, m.cheaper_percent
        ),
        None => format!("{price} {currency} now."),
    };
    if let Some(e) = elsewhere.filter(|e| e.price < price) {
        // A better price elsewhere caps the score: 2 points per percent.
        use rust_decimal::prelude::ToPrimitive;
        let cap = Decimal::ONE_HUNDRED
            - e.percent
                .checked_mul(Decimal::TWO)
                .unwrap_or(Decimal::ONE_HUNDRED)
                .clamp(Decimal::ZERO, Decimal::from(60));
        let cap = cap.round().to_u8().unwrap_or(0);
        score = score.min(cap);
        reason.push_str(&format!(
            " {}% cheaper at {} ({} {currency}).",
            e.percent.round_dp(1).normalize(),
            e.store_name,
            e.price
        ));
        deal.cheaper_elsewhere = Some(e);
    }
    deal.score = Some(score);
    deal.reason = reason;
    deal.sizes = history
        .sizes
        .iter()
        .filter_map(|(size, steps)| {
            let p = steps.last()?.1?;
            let s = score_of(steps, from, to, p);
            let d = lowest_for_days(steps, to, p);
            let label = match s {
                Some(_) if d >= 7 => format!("Lowest in {d} days"),
                Some(s) if s >= 60 => "Below its typical price".into(),
                Some(s) if s <= 40 => "Above its typical price".into(),
                Some(_) => "Typical price".into(),
                None => "New".into(),
            };
            Some(SizeDeal {
                size: size.clone(),
                price: p,
                score: s,
                label,
            })
        })
        .collect();
    deal
}

#[cfg(test)]
#[path = "deal_tests.rs"]
mod tests;
