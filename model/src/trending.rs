//! Trending: what moved most over the last 24 hours or 7 days, overall or
//! in one store. Most restocks, largest price drops, most watched (by watch
//! rules), and new arrivals that sold a size out fastest. Worked out from a
//! compact record of recent events ([`TrendEvent`]); pure functions, shared
//! by the server and the browser.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::{Event, EventKind};

/// How many items each list shows.
pub const TOP: usize = 10;

/// The span trending looks back over.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TrendWindow {
    #[default]
    Day,
    Week,
}

impl TrendWindow {
    pub fn hours(self) -> i64 {
        match self {
            TrendWindow::Day => 24,
            TrendWindow::Week => 24 * 7,
        }
    }

    pub fn parse(s: &str) -> TrendWindow {
        match s {
            "7d" | "week" => TrendWindow::Week,
            _ => TrendWindow::Day,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TrendWindow::Day => "24h",
            TrendWindow::Week => "7d",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            TrendWindow::Day => "last 24 hours",
            TrendWindow::Week => "last 7 days",
        }
    }
}

/// What trending keeps of an event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrendEvent {
    pub ts: i64,
    pub kind: EventKind,
    pub product: String,
    pub source: String,
    /// For a price drop: by how much, in percent.
    pub drop_percent: Option<Decimal>,
}

impl TrendEvent {
    /// The part of `e` trending uses; `None` for events it ignores.
    pub fn of(e: &Event) -> Option<TrendEvent> {
        let p = e.product.as_ref()?;
        let drop_percent = e.price_move().and_then(|m| m.drop_percent());
        let wanted = match e.kind {
            EventKind::PriceChanged => drop_percent.is_some(),
            EventKind::Restocked | EventKind::SoldOut | EventKind::NewProduct => true,
            _ => false,
        };
        wanted.then(|| TrendEvent {
            ts: e.at.timestamp_millis(),
            kind: e.kind,
            product: p.key.clone(),
            source: e.source.clone(),
            drop_percent,
        })
    }
}

/// One line of a trending list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrendItem {
    pub product: String,
    /// What it counts, in words: "5 restocks", "-32 %", "3 rules", "sold a size out in 2 h".
    pub said: String,
}

/// The four lists for one span and store.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Trending {
    pub window: TrendWindow,
    /// A source key, or `None` for every store.
    pub store: Option<String>,
    pub most_restocks: Vec<TrendItem>,
    pub largest_drops: Vec<TrendItem>,
    pub most_watched: Vec<TrendItem>,
    pub fastest_sellouts: Vec<TrendItem>,
}

impl Trending {
    pub fn is_empty(&self) -> bool {
        self.most_restocks.is_empty()
            && self.largest_drops.is_empty()
            && self.most_watched.is_empty()
            && self.fastest_sellouts.is_empty()
    }
}

/// Trending over `window` before `now` from `events` (any order), in
/// `store` or all, with `watched` (product key, rules naming it).
pub fn compute(
    events: &[TrendEvent],
    watched: &[(String, usize)],
    window: TrendWindow,
    store: Option<&str>,
    now: DateTime<Utc>,
) -> Trending {
    let since = now
        .timestamp_millis()
        .saturating_sub(window.hours().saturating_mul(crate::history::HOUR_MS));
    let mine = |e: &&TrendEvent| e.ts >= since && store.is_none_or(|s| e.source == s);
    let recent: Vec<&TrendEvent> = events.iter().filter(mine).collect();

    let mut restocks: HashMap<&str, usize> = HashMap::new();
    let mut drops: HashMap<&str, Decimal> = HashMap::new();
    let mut arrived: HashMap<&str, i64> = HashMap::new();
    let mut first_sellout: HashMap<&str, i64> = HashMap::new();
    for e in &recent {
        let key = e.product.as_str();
        match e.kind {
            EventKind::Restocked => *restocks.entry(key).or_default() += 1,
            EventKind::PriceChanged => {
                if let Some(p) = e.drop_percent {
                    let best = drops.entry(key).or_default();
                    *best = (*best).max(p);
                }
            }
            EventKind::NewProduct => {
                arrived
                    .entry(key)
                    .and_modify(|t| *t = (*t).min(e.ts))
                    .or_insert(e.ts);
            }
            EventKind::SoldOut => {
                first_sellout
                    .entry(key)
                    .and_modify(|t| *t = (*t).min(e.ts))
                    .or_insert(e.ts);
            }
            _ => {}
        }
    }
    let mut most_restocks: Vec<(&str, usize)> = restocks.into_iter().collect();
    most_restocks.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    let mut largest_drops: Vec<(&str, Decimal)> = drops.into_iter().collect();
    largest_drops.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    let mut fastest: Vec<(&str, i64)> = arrived
        .iter()
        .filter_map(|(k, t)| {
            let out = first_sellout.get(k)?;
            (out >= t).then(|| (*k, out.saturating_sub(*t)))
        })
        .collect();
    fastest.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(b.0)));
    let prefix = store.map(|s| format!("{s}:"));
    let mut most_watched: Vec<(&str, usize)> = watched
        .iter()
        .filter(|(k, n)| *n > 0 && prefix.as_ref().is_none_or(|p| k.starts_with(p.as_str())))
        .map(|(k, n)| (k.as_str(), *n))
        .collect();
    most_watched.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));

    let item = |product: &str, said: String| TrendItem {
        product: product.to_string(),
        said,
    };
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    Trending {
        window,
        store: store.map(str::to_string),
        most_restocks: most_restocks
            .into_iter()
            .take(TOP)
            .map(|(k, n)| item(k, plural(n, "restock", "restocks")))
            .collect(),
        largest_drops: largest_drops
            .into_iter()
            .take(TOP)
            .map(|(k, p)| item(k, format!("−{}%", p.round_dp(1).normalize())))
            .collect(),
        most_watched: most_watched
            .into_iter()
            .take(TOP)
            .map(|(k, n)| item(k, plural(n, "watch rule", "watch rules")))
            .collect(),
        fastest_sellouts: fastest
            .into_iter()
            .take(TOP)
            .map(|(k, ms)| item(k, format!("a size sold out {} after it arrived", span(ms))))
            .collect(),
    }
}

fn span(ms: i64) -> String {
    let minutes = ms / 60_000;
    match minutes {
        m if m < 1 => "under a minute".to_string(),
        m if m < 120 => format!("{m} min"),
        m if m < 48 * 60 => format!("{} h", m / 60),
        m => format!("{} days", m / (24 * 60)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn ev(hours_ago: i64, kind: EventKind, product: &str, drop: Option<&str>) -> TrendEvent {
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap();
        TrendEvent {
            ts: now.timestamp_millis() - hours_ago * crate::history::HOUR_MS,
            kind,
            product: product.into(),
            source: product.split(':').next().unwrap().into(),
            drop_percent: drop.map(|d| d.parse().unwrap()),
        }
    }

    #[test]
    fn lists_count_within_the_window_and_the_store() {
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap();
        let events = vec![
            ev(1, EventKind::Restocked, "a:1", None),
            ev(2, EventKind::Restocked, "a:1", None),
            ev(3, EventKind::Restocked, "b:2", None),
            ev(30, EventKind::Restocked, "b:2", None),
            ev(40, EventKind::Restocked, "b:2", None),
            ev(5, EventKind::PriceChanged, "a:1", Some("10")),
            ev(6, EventKind::PriceChanged, "b:2", Some("32.5")),
            ev(50, EventKind::PriceChanged, "a:3", Some("60")),
            ev(10, EventKind::NewProduct, "a:4", None),
            ev(7, EventKind::SoldOut, "a:4", None),
            ev(20, EventKind::NewProduct, "b:5", None),
            ev(19, EventKind::SoldOut, "b:5", None),
            // Sold out before it arrived in this window: not a fast sell-out.
            ev(9, EventKind::SoldOut, "a:6", None),
        ];
        let watched = vec![
            ("a:1".to_string(), 3),
            ("b:2".to_string(), 5),
            ("a:3".to_string(), 0),
        ];
        let day = compute(&events, &watched, TrendWindow::Day, None, now);
        let keys = |v: &[TrendItem]| v.iter().map(|i| i.product.clone()).collect::<Vec<_>>();
        assert_eq!(keys(&day.most_restocks), ["a:1", "b:2"]);
        assert_eq!(day.most_restocks[0].said, "2 restocks");
        assert_eq!(keys(&day.largest_drops), ["b:2", "a:1"]);
        assert_eq!(day.largest_drops[0].said, "−32.5%");
        assert_eq!(keys(&day.most_watched), ["b:2", "a:1"]);
        assert_eq!(keys(&day.fastest_sellouts), ["b:5", "a:4"]);
        assert_eq!(
            day.fastest_sellouts[0].said,
            "a size sold out 60 min after it arrived"
        );
        // A week sees the older ones too.
        let week = compute(&events, &watched, TrendWindow::Week, None, now);
        assert_eq!(keys(&week.most_restocks), ["b:2", "a:1"]);
        assert_eq!(keys(&week.largest_drops)[0], "a:3");
        // One store.
        let a = compute(&events, &watched, TrendWindow::Day, Some("a"), now);
        assert_eq!(keys(&a.most_restocks), ["a:1"]);
        assert_eq!(keys(&a.most_watched), ["a:1"]);
        assert!(compute(&[], &[], TrendWindow::Day, None, now).is_empty());
    }
}
