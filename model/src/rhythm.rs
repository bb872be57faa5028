//! A store's restock rhythm: on which weekday and at what hour (UTC) its
//! restocks come, counted across every size of every product it lists over
//! the last [`RHYTHM_DAYS`] days. Shops restock on a schedule (a delivery
//! day, a drop hour); one size's own history is too short to show it, the
//! store's is not. A weekday counts as the store's when at least twice its
//! fair share of restocks (2 in 7) fell on it, an hour when at least half
//! fell within an hour of it; with fewer than [`MIN_RESTOCKS`] nothing is
//! claimed. A size's restock window ([`crate::restock`]) then names the
//! moment inside it the store usually restocks at. Pure, shared by the
//! server and the browser.

use chrono::{DateTime, Datelike, Duration, TimeZone, Timelike, Utc, Weekday};
use serde::{Deserialize, Serialize};

use crate::history::DAY_MS;

/// The days of restocks a rhythm is counted over.
pub const RHYTHM_DAYS: i64 = 90;
/// Restocks a rhythm needs.
pub const MIN_RESTOCKS: u32 = 12;

/// Restocks counted by weekday (Monday first) and by hour (UTC). Counts
/// wrap rather than saturate, so adding and removing products' counts in
/// any order gives the same total.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RestockCounts {
    by_weekday: [u32; 7],
    by_hour: [u32; 24],
}

impl RestockCounts {
    /// The restocks in `times` (ms) from `since` on.
    pub fn of(times: &[i64], since: i64) -> RestockCounts {
        let mut c = RestockCounts::default();
        for at in times.iter().filter(|t| **t >= since) {
            let Some(at) = DateTime::<Utc>::from_timestamp_millis(*at) else {
                continue;
            };
            if let Some(n) = c
                .by_weekday
                .get_mut(at.weekday().num_days_from_monday() as usize)
            {
                *n = n.wrapping_add(1);
            }
            if let Some(n) = c.by_hour.get_mut(at.hour() as usize) {
                *n = n.wrapping_add(1);
            }
        }
        c
    }

    pub fn add(&mut self, other: &RestockCounts) {
        self.zip(other, u32::wrapping_add);
    }

    pub fn remove(&mut self, other: &RestockCounts) {
        self.zip(other, u32::wrapping_sub);
    }

    fn zip(&mut self, other: &RestockCounts, f: fn(u32, u32) -> u32) {
        for (a, b) in self.by_weekday.iter_mut().zip(other.by_weekday) {
            *a = f(*a, b);
        }
        for (a, b) in self.by_hour.iter_mut().zip(other.by_hour) {
            *a = f(*a, b);
        }
    }

    pub fn total(&self) -> u32 {
        self.by_weekday
            .iter()
            .fold(0u32, |t, n| t.saturating_add(*n))
    }

    /// The hour (UTC) with the most restocks within an hour of it, and how
    /// many those are (ties: the one with the most at that very hour).
    pub fn peak_hour(&self) -> Option<(u32, u32)> {
        let count = |h: i64| {
            self.by_hour
                .get(h.rem_euclid(24) as usize)
                .copied()
                .unwrap_or(0)
        };
        let (hour, around, _) = (0..24i64)
            .map(|h| {
                let near = count(h - 1)
                    .saturating_add(count(h))
                    .saturating_add(count(h + 1));
                (h, near, count(h))
            })
            .max_by_key(|(_, near, at)| (*near, *at))?;
        Some((u32::try_from(hour).ok()?, around))
    }

    /// The store's rhythm, or `None` with fewer than [`MIN_RESTOCKS`].
    pub fn rhythm(&self) -> Option<StoreRhythm> {
        let total = self.total();
        if total < MIN_RESTOCKS {
            return None;
        }
        let share = |n: u32| u8::try_from(u64::from(n) * 100 / u64::from(total)).unwrap_or(100);
        let (day, on_day) = self
            .by_weekday
            .iter()
            .enumerate()
            .max_by_key(|(_, n)| **n)
            .map(|(d, n)| (d, *n))?;
        let weekday = (u64::from(on_day) * 7 >= 2 * u64::from(total))
            .then(|| {
                u8::try_from(day)
                    .ok()
                    .and_then(|d| Weekday::try_from(d).ok())
            })
            .flatten();
        let (hour, around) = self.peak_hour()?;
        let hour = (u64::from(around) * 2 >= u64::from(total)).then_some(hour);
        let said = match (weekday, hour) {
            (Some(d), Some(h)) => format!(
                "This store restocks most on {}s ({}% of {total} restocks in the last {RHYTHM_DAYS} days), around {h:02}:00 UTC ({}%).",
                day_name(d),
                share(on_day),
                share(around)
            ),
            (Some(d), None) => format!(
                "This store restocks most on {}s ({}% of {total} restocks in the last {RHYTHM_DAYS} days), at no usual hour.",
                day_name(d),
                share(on_day)
            ),
            (None, Some(h)) => format!(
                "This store restocks on any day of the week, most around {h:02}:00 UTC ({}% of {total} restocks in the last {RHYTHM_DAYS} days).",
                share(around)
            ),
            (None, None) => format!(
                "No rhythm: this store's {total} restocks in the last {RHYTHM_DAYS} days are spread over the week and the day."
            ),
        };
        Some(StoreRhythm {
            restocks: total,
            weekday,
            weekday_share: share(on_day),
            hour,
            hour_share: share(around),
            said,
        })
    }
}

/// When a store's restocks usually come.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StoreRhythm {
    /// Restocks counted (every size of every product, last 90 days).
    pub restocks: u32,
    /// The weekday most come on, when at least 2 in 7 do.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub weekday: Option<Weekday>,
    /// The share (%) on the busiest weekday.
    pub weekday_share: u8,
    /// The hour (UTC) most come around, when half come within an hour of it.
    pub hour: Option<u32>,
    /// The share (%) within an hour of the busiest hour.
    pub hour_share: u8,
    /// In words, for the product page.
    pub said: String,
}

impl StoreRhythm {
    /// The first moment within `from..=until` on the store's weekday, at
    /// `own_hour` (the size's product's usual hour) or else the store's;
    /// `None` when the store has no weekday (an hour alone names no day) or
    /// the window holds none.
    pub fn likely_within(
        &self,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
        own_hour: Option<u32>,
    ) -> Option<DateTime<Utc>> {
        let weekday = self.weekday?;
        let hour = own_hour.or(self.hour);
        let first_day = from.timestamp_millis().div_euclid(DAY_MS);
        let last_day = until.timestamp_millis().div_euclid(DAY_MS);
        // A window is at most a few months; more days than a year are not looked at.
        (first_day..=last_day.min(first_day.saturating_add(366)))
            .filter_map(|day| Utc.timestamp_millis_opt(day.checked_mul(DAY_MS)?).single())
            .filter(|start| start.weekday() == weekday)
            .map(|start| match hour {
                Some(h) => start + Duration::hours(i64::from(h)),
                None => start.max(from),
            })
            .find(|at| (from..=until).contains(at))
    }

    /// "Likely Thu 10 Dec around 10:00 UTC (this store restocks most on
    /// Thursdays)." for a moment [`likely_within`](Self::likely_within)
    /// named with the same `own_hour`.
    pub fn likely_said(&self, at: DateTime<Utc>, own_hour: Option<u32>) -> String {
        let day = self.weekday.map_or("", day_name);
        match own_hour.or(self.hour) {
            Some(_) => format!(
                "Likely {} around {} UTC (this store restocks most on {day}s).",
                at.format("%a %-d %b"),
                at.format("%H:00")
            ),
            None => format!(
                "Likely on {} (this store restocks most on {day}s).",
                at.format("%a %-d %b")
            ),
        }
    }
}

fn day_name(d: Weekday) -> &'static str {
    match d {
        Weekday::Mon => "Monday",
        Weekday::Tue => "Tuesday",
        Weekday::Wed => "Wednesday",
        Weekday::Thu => "Thursday",
        Weekday::Fri => "Friday",
        Weekday::Sat => "Saturday",
        Weekday::Sun => "Sunday",
    }
}

/// How well a rhythm learnt from earlier restocks told the later ones.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RhythmBacktest {
    /// Restocks held out.
    pub held_out: u32,
    /// Of them, on the learnt weekday / within an hour of the learnt hour.
    pub on_weekday: u32,
    pub near_hour: u32,
    pub rhythm: Option<StoreRhythm>,
}

/// Learns the rhythm from the restocks in the [`RHYTHM_DAYS`] before
/// `cut`, and counts how many of those from `cut` on came on its weekday
/// and near its hour (by chance: 1 in 7 and 3 in 24).
pub fn backtest(times: &[i64], cut: i64) -> RhythmBacktest {
    let since = cut.saturating_sub(RHYTHM_DAYS.saturating_mul(DAY_MS));
    let earlier: Vec<i64> = times
        .iter()
        .copied()
        .filter(|t| (since..cut).contains(t))
        .collect();
    let rhythm = RestockCounts::of(&earlier, since).rhythm();
    let mut out = RhythmBacktest::default();
    for at in times.iter().filter(|t| **t >= cut) {
        let Some(at) = DateTime::<Utc>::from_timestamp_millis(*at) else {
            continue;
        };
        out.held_out += 1;
        if let Some(r) = &rhythm {
            out.on_weekday += u32::from(r.weekday == Some(at.weekday()));
            let near = r.hour.is_some_and(|h| {
                let d = (i64::from(at.hour()) - i64::from(h)).rem_euclid(24);
                d <= 1 || d == 23
            });
            out.near_hour += u32::from(near);
        }
    }
    out.rhythm = rhythm;
    out
}

#[cfg(test)]
#[path = "rhythm_tests.rs"]
mod tests;
