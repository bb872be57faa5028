//! Price forecast: what a product's lowest price is likely to be over the
//! next [`HORIZON_DAYS`] days, with a band, and how wrong such forecasts
//! were on the product's own past. The fitting itself is the server's
//! (`monitor::insight::forecast`, exponential smoothing); this module holds
//! what it shows and the honest parts around it: the change-only history
//! resampled to one price a day, the error measure, the held-out stretches
//! a forecast is tried on, and the rule that a forecast which did no better
//! than "the price stays as it is" is not shown at all. Pure, shared by the
//! server and the browser.

use chrono::{DateTime, Utc};
use rust_decimal::prelude::{FromPrimitive, ToPrimitive};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::deal::Steps;
use crate::history::DAY_MS;

/// Days forecast ahead.
pub const HORIZON_DAYS: usize = 14;
/// Days of history a forecast needs: four weeks to fit the first held-out
/// try on, and the two weeks it is tried against.
pub const MIN_DAYS: usize = 42;
/// At most this many of the last days are fitted (older prices say little
/// about the next two weeks, and fitting time grows with the length).
pub const FIT_DAYS: usize = 180;
/// Held-out tries, each the [`HORIZON_DAYS`] after a cut further back.
pub const BACKTESTS: usize = 3;
/// The band's coverage (percent).
pub const BAND_LEVEL: u8 = 80;

/// One forecast day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ForecastDay {
    /// The day's start (UTC).
    pub day: DateTime<Utc>,
    pub price: Decimal,
    /// The band: [`BAND_LEVEL`] % of outcomes are expected inside it.
    pub low: Decimal,
    pub high: Decimal,
}

/// A forecast worth showing: it beat "the price stays as it is" on the
/// product's own held-out history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Forecast {
    pub days: Vec<ForecastDay>,
    /// The band's coverage (percent).
    pub level: u8,
    /// Mean absolute error of the held-out tries, in percent of the price.
    pub error_percent: Decimal,
    /// The same for "the price stays as it is".
    pub naive_error_percent: Decimal,
    /// Held-out tries behind the errors.
    pub backtests: u8,
    /// The model chosen, as the literature writes it ("ETS(A,Ad,N)").
    pub model: String,
}

/// Why no forecast is shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NoForecast {
    /// Fewer than [`MIN_DAYS`] days of prices.
    TooShort { days: u32 },
    /// The price has not moved in the fitted time: nothing to forecast.
    Steady { days: u32 },
    /// On the held-out history, "the price stays as it is" was as good or
    /// better.
    NaiveBetter {
        error_percent: Decimal,
        naive_error_percent: Decimal,
    },
    /// The model could not be fitted to this history.
    NoFit,
}

/// A product's forecast, or why there is none.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum PriceForecast {
    Shown(Forecast),
    NotShown { why: NoForecast },
}

impl Default for PriceForecast {
    fn default() -> Self {
        PriceForecast::NotShown {
            why: NoForecast::TooShort { days: 0 },
        }
    }
}

impl PriceForecast {
    pub fn shown(&self) -> Option<&Forecast> {
        match self {
            PriceForecast::Shown(f) => Some(f),
            PriceForecast::NotShown { .. } => None,
        }
    }
}

impl NoForecast {
    /// Why, in a sentence for the product page.
    pub fn describe(&self) -> String {
        match self {
            NoForecast::TooShort { days } => format!(
                "No forecast yet: it needs {MIN_DAYS} days of prices, and there are {days}."
            ),
            NoForecast::Steady { days } => {
                format!("No forecast: the price has not moved in {days} days.")
            }
            NoForecast::NaiveBetter {
                error_percent,
                naive_error_percent,
            } => format!(
                "No forecast: on this product's past, a forecast was off by ±{error_percent}% \
                 and \"the price stays as it is\" by ±{naive_error_percent}%, so the forecast \
                 would tell you nothing better."
            ),
            NoForecast::NoFit => "No forecast: no model fits this price history.".into(),
        }
    }
}

impl Forecast {
    /// Its measured error in words, for beside the chart.
    pub fn describe(&self) -> String {
        format!(
            "Forecast of the lowest price for the next {} days, in a band expected to \
             hold {}% of outcomes. Typical error ±{}% on this product's last {} held-out \
             fortnights, against ±{}% for \"the price stays as it is\".",
            self.days.len(),
            self.level,
            self.error_percent,
            self.backtests,
            self.naive_error_percent
        )
    }
}

/// A price over time at the end of each UTC day, from the first day with
/// a price up to `now`'s day: (day start ms, price). A day without a price
/// (`None`: nothing in stock, for an in-stock series) carries the last one.
pub fn daily(lowest: &Steps, now_ms: i64) -> Vec<(i64, f64)> {
    let Some(first) = lowest.iter().find(|s| s.1.is_some()) else {
        return vec![];
    };
    let mut out = vec![];
    let mut day = first.0.div_euclid(DAY_MS).saturating_mul(DAY_MS);
    let mut k = 0;
    let mut last: Option<f64> = None;
    while day <= now_ms {
        let end = day.saturating_add(DAY_MS).min(now_ms.saturating_add(1));
        while let Some(step) = lowest.get(k).filter(|s| s.0 < end) {
            if let Some(v) = step.1.and_then(|p| p.to_f64()) {
                last = Some(v);
            }
            k += 1;
        }
        if let Some(v) = last {
            out.push((day, v));
        }
        day = day.saturating_add(DAY_MS);
    }
    out
}

/// Mean absolute error of `predicted` against `actual`, in percent of
/// the actual price; `None` when there is nothing to compare.
pub fn mean_abs_percent_error(predicted: &[f64], actual: &[f64]) -> Option<f64> {
    let errors: Vec<f64> = predicted
        .iter()
        .zip(actual)
        .filter(|(_, a)| **a > 0.0)
        .map(|(p, a)| ((p - a) / a).abs() * 100.0)
        .collect();
    if errors.is_empty() {
        return None;
    }
    Some(errors.iter().sum::<f64>() / errors.len() as f64)
}

/// Where the held-out tries of a series of `len` days cut it: each try
/// fits the days before its cut and is checked on the [`HORIZON_DAYS`]
/// after, the latest try first. Every try keeps at least
/// `MIN_DAYS - HORIZON_DAYS` days to fit.
pub fn backtest_cuts(len: usize) -> Vec<usize> {
    (1..=BACKTESTS)
        .filter_map(|k| len.checked_sub(k * HORIZON_DAYS))
        .filter(|cut| *cut >= MIN_DAYS - HORIZON_DAYS)
        .collect()
}

/// A forecast value as money: to the cent, never below zero, `None` when
/// it is not a number a price can be.
pub fn money(v: f64) -> Option<Decimal> {
    if !v.is_finite() {
        return None;
    }
    Decimal::from_f64(v.max(0.0)).map(|d| d.round_dp(2))
}

/// An error in percent, to one decimal.
pub fn percent(v: f64) -> Decimal {
    if !v.is_finite() {
        return Decimal::ZERO;
    }
    Decimal::from_f64(v.clamp(0.0, 1e6))
        .map(|d| d.round_dp(1))
        .unwrap_or(Decimal::ZERO)
}

/// Day `k` after `now`'s day, as the start of that day.
pub fn day_after(now_ms: i64, k: usize) -> Option<DateTime<Utc>> {
    let today = now_ms.div_euclid(DAY_MS).saturating_mul(DAY_MS);
    let k = i64::try_from(k).ok()?;
    DateTime::from_timestamp_millis(today.saturating_add(k.saturating_mul(DAY_MS)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Option<Decimal> {
        s.parse().ok()
    }

    #[test]
    fn daily_keeps_each_day_s_last_price_and_carries_sold_out_days() {
        // Day 0: 100 then 90 at noon; day 1: sold out; day 2: 80.
        let steps: Steps = vec![
            (1_000, d("100")),
            (DAY_MS / 2, d("90")),
            (DAY_MS + 5, None),
            (2 * DAY_MS + 7, d("80")),
        ];
        let days = daily(&steps, 3 * DAY_MS + 1);
        assert_eq!(
            days,
            vec![
                (0, 90.0),
                (DAY_MS, 90.0),
                (2 * DAY_MS, 80.0),
                (3 * DAY_MS, 80.0)
            ]
        );
        assert!(daily(&vec![(0, None)], DAY_MS).is_empty());
    }

    #[test]
    fn errors_are_in_percent_of_the_actual_price() {
        let e = mean_abs_percent_error(&[110.0, 90.0], &[100.0, 100.0]);
        assert_eq!(e, Some(10.0));
        assert_eq!(mean_abs_percent_error(&[], &[]), None);
        assert_eq!(percent(4.26), "4.3".parse::<Decimal>().unwrap_or_default());
    }

    #[test]
    fn held_out_tries_keep_enough_to_fit() {
        assert_eq!(backtest_cuts(100), vec![86, 72, 58]);
        assert_eq!(backtest_cuts(MIN_DAYS), vec![28]);
        assert!(backtest_cuts(MIN_DAYS - 1).is_empty());
    }

    #[test]
    fn forecast_values_are_bounded_money() {
        assert_eq!(money(f64::NAN), None);
        assert_eq!(money(-3.0), Some(Decimal::ZERO));
        let cents = money(12.345);
        assert!(cents == d("12.35") || cents == d("12.34"), "{cents:?}");
    }
}
