//! Restock prediction per size: when a sold-out size is likely back, from
//! how long its own past sell-outs lasted, and at what hour the store
//! usually restocks. Honest about what it knows: a window (the middle half
//! of the past gaps, measured from when it sold out) with how many of the
//! past sell-outs came back inside it, and nothing when a size sold out
//! fewer than [`MIN_SELLOUTS`] times before. Pure functions, shared by the
//! server and the browser.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::history::HOUR_MS;
use crate::StockPoint;

/// What Dropwatch works out of one product's history: its deal, when
/// each sold-out size is expected back, and where the price is heading.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProductInsight {
    pub deal: crate::deal::Deal,
    pub restock: Vec<SizeOutlook>,
    #[serde(default)]
    pub forecast: crate::forecast::PriceForecast,
}

/// Past sell-outs (that came back) a prediction needs.
pub const MIN_SELLOUTS: usize = 3;

/// One size's availability over time: (ts ms, in stock).
pub type Availability = Vec<(i64, bool)>;

/// Each size's availability over time, by size label (first seen first).
pub fn sizes_over_time(stock: &[StockPoint]) -> Vec<(String, Availability)> {
    let mut out: Vec<(String, String, Availability)> = vec![];
    for row in stock {
        for v in &row.variants {
            let i = match out.iter().position(|(id, ..)| *id == v.variant) {
                Some(i) => i,
                None => {
                    out.push((v.variant.clone(), v.size.clone(), vec![]));
                    out.len() - 1
                }
            };
            if let Some((_, size, steps)) = out.get_mut(i) {
                size.clone_from(&v.size);
                if steps.last().map(|s| s.1) != Some(v.available) {
                    steps.push((row.ts, v.available));
                }
            }
        }
    }
    out.into_iter()
        .map(|(_, size, steps)| (size, steps))
        .collect()
}

/// How long each sell-out lasted (ms), oldest first; the one still going
/// is left out.
pub fn gaps(steps: &[(i64, bool)]) -> Vec<i64> {
    steps
        .windows(2)
        .filter(|w| !w[0].1 && w[1].1)
        .map(|w| w[1].0.saturating_sub(w[0].0))
        .collect()
}

/// When a sold-out size is expected back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RestockWindow {
    /// Earliest and latest expected (the middle half of its past gaps,
    /// counted from when it sold out).
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
    /// Past sell-outs that came back within the window's length, of all.
    pub within: u32,
    pub of: u32,
    /// The store's usual restock hour (UTC), when it has one.
    pub usual_hour: Option<u32>,
    /// The first moment in the window on the store's usual weekday (at the
    /// product's usual hour, else the store's), when its rhythm has one
    /// (filled in when read, see [`with_rhythm`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub likely: Option<DateTime<Utc>>,
    /// In words: "usually back within 3–5 days; 6 of the last 8 sell-outs came back".
    pub said: String,
}

/// A size's restock outlook: back expected, or why there is no estimate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SizeOutlook {
    pub size: String,
    pub available: bool,
    pub window: Option<RestockWindow>,
    /// Why there is no window (in stock, too few sell-outs).
    pub note: Option<String>,
}

/// The hour (UTC) most of `restocks` (ts ms) happened at, when at least
/// half of them fell within an hour of it.
pub fn usual_hour(restocks: &[i64]) -> Option<u32> {
    let counts = crate::rhythm::RestockCounts::of(restocks, i64::MIN);
    let (best, around) = counts.peak_hour()?;
    let total = counts.total();
    (total >= MIN_SELLOUTS as u32 && around.saturating_mul(2) >= total).then_some(best)
}

/// The restock times (ts ms) across `sizes`: the store's rhythm.
pub fn restock_times(sizes: &[(String, Availability)]) -> Vec<i64> {
    sizes
        .iter()
        .flat_map(|(_, steps)| {
            steps
                .windows(2)
                .filter(|w| !w[0].1 && w[1].1)
                .map(|w| w[1].0)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The window a size sold out at `since` is expected back in, from its
/// past `gaps` (ms); `None` with fewer than [`MIN_SELLOUTS`].
pub fn window(gaps: &[i64], since: i64, usual_hour: Option<u32>) -> Option<RestockWindow> {
    if gaps.len() < MIN_SELLOUTS {
        return None;
    }
    let mut sorted = gaps.to_vec();
    sorted.sort_unstable();
    let at = |q: usize| sorted.get((sorted.len() - 1) * q / 4).copied().unwrap_or(0);
    let (lo, hi) = (at(1), at(3).max(at(1)).max(HOUR_MS));
    let within = gaps.iter().filter(|g| **g <= hi).count();
    let from = DateTime::<Utc>::from_timestamp_millis(since.saturating_add(lo))?;
    let until = DateTime::<Utc>::from_timestamp_millis(since.saturating_add(hi))?;
    let said = format!(
        "usually back {} after selling out; {within} of the last {} sell-outs came back within {}{}",
        span(lo, hi),
        gaps.len(),
        duration(hi),
        usual_hour.map_or(String::new(), |h| format!(
            ", this product's restocks mostly come around {h:02}:00 UTC"
        )),
    );
    Some(RestockWindow {
        from,
        until,
        within: within as u32,
        of: gaps.len() as u32,
        usual_hour,
        likely: None,
        said,
    })
}

/// Every size's outlook now, from the product's stock history.
pub fn outlook(stock: &[StockPoint]) -> Vec<SizeOutlook> {
    let sizes = sizes_over_time(stock);
    outlook_of(&sizes, &restock_times(&sizes))
}

/// [`outlook`] from sizes already read out of the history, with their
/// [`restock_times`] (which the store's rhythm counts too).
pub fn outlook_of(sizes: &[(String, Availability)], restocks: &[i64]) -> Vec<SizeOutlook> {
    let hour = usual_hour(restocks);
    sizes
        .iter()
        .map(|(size, steps)| {
            let (since, available) = steps.last().copied().unwrap_or((0, true));
            let past = gaps(steps);
            let window = (!available).then(|| window(&past, since, hour)).flatten();
            let note = match (available, &window) {
                (true, _) => None,
                (false, Some(_)) => None,
                (false, None) => Some(format!(
                    "No estimate yet: it came back from {} sell-out{} so far; {MIN_SELLOUTS} are needed.",
                    past.len(),
                    if past.len() == 1 { "" } else { "s" }
                )),
            };
            SizeOutlook {
                size: size.clone(),
                available,
                window,
                note,
            }
        })
        .collect()
}

/// Names, in each sold-out size's window, the moment its store usually
/// restocks at (the store's rhythm changes as its other products are read,
/// so this is done when the outlook is shown, not when it is worked out).
pub fn with_rhythm(sizes: &mut [SizeOutlook], rhythm: Option<&crate::rhythm::StoreRhythm>) {
    for w in sizes.iter_mut().filter_map(|s| s.window.as_mut()) {
        w.likely = rhythm.and_then(|r| r.likely_within(w.from, w.until, w.usual_hour));
    }
}

/// How the prediction did on held-out history: each size's later
/// sell-outs predicted from the ones before them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Backtest {
    pub predictions: u32,
    /// The size came back inside the predicted window.
    pub inside: u32,
    /// It came back by the window's end (sooner counts).
    pub by_until: u32,
    /// Median of |actual gap − median of the earlier gaps|, in hours.
    pub median_error_hours: i64,
}

/// Predicts every sell-out after the first [`MIN_SELLOUTS`] of each size
/// from the ones before it, and compares with when it really came back.
pub fn backtest(sizes: &[(String, Availability)]) -> Backtest {
    let mut out = Backtest::default();
    let mut errors: Vec<i64> = vec![];
    for (_, steps) in sizes {
        let g = gaps(steps);
        for k in MIN_SELLOUTS..g.len() {
            let (Some(earlier), Some(actual)) = (g.get(..k), g.get(k)) else {
                continue;
            };
            let Some(w) = window(earlier, 0, None) else {
                continue;
            };
            let (lo, hi) = (w.from.timestamp_millis(), w.until.timestamp_millis());
            out.predictions += 1;
            out.inside += u32::from((lo..=hi).contains(actual));
            out.by_until += u32::from(*actual <= hi);
            let mut sorted = earlier.to_vec();
            sorted.sort_unstable();
            let median = sorted.get(sorted.len() / 2).copied().unwrap_or(0);
            errors.push(actual.saturating_sub(median).saturating_abs() / HOUR_MS);
        }
    }
    errors.sort_unstable();
    out.median_error_hours = errors.get(errors.len() / 2).copied().unwrap_or(0);
    out
}

/// "3–5 days", "4–9 hours", "2 days".
fn span(lo: i64, hi: i64) -> String {
    let (a, b) = (duration(lo), duration(hi));
    let unit = |s: &str| s.split(' ').nth(1).unwrap_or("").to_string();
    if a == b {
        format!("within {a}")
    } else if unit(&a) == unit(&b) {
        format!("in {}–{b}", a.split(' ').next().unwrap_or(""))
    } else {
        format!("in {a} to {b}")
    }
}

fn duration(ms: i64) -> String {
    let hours = (ms / HOUR_MS).max(1);
    if hours < 48 {
        format!("{hours} hours")
    } else {
        format!("{} days", (hours + 12) / 24)
    }
}

#[cfg(test)]
#[path = "restock_tests.rs"]
mod tests;
