//! The price forecast's fitting: exponential smoothing (ETS) on the
//! product's lowest price of any size (the line its chart draws,
//! [`model::history::price_series`]) resampled to one value a day
//! ([`model::forecast::daily`]), the form of the model (additive or
//! multiplicative error; no, straight or damped trend) chosen by AICc as
//! R's `forecast::ets` does, through `augurs-ets`.
//!
//! Why ETS: a shop's price is a level that moves in steps and sometimes
//! drifts (resale prices after a release, a repricer's daily nudges), which
//! is what a damped-trend smoothing model describes, with prediction
//! intervals that widen honestly with the horizon. It fits a year in about
//! a millisecond on this machine's release build, so it can run for every
//! product whose history changed. Only additive-error models are tried:
//! with multiplicative errors augurs' band does not widen with the horizon.
//! Seasonal models (MSTL) were left out: at
//! a daily step a price has no weekly cycle worth fitting, and a sale that
//! comes "every few weeks" is not regular enough to be one.
//!
//! Every forecast is first tried on the product's own held-out past
//! ([`model::forecast::backtest_cuts`]) against "the price stays as it is";
//! when it does no better, no forecast is shown. The fit runs inside
//! `catch_unwind`: a shop's odd price history may fail one product's
//! forecast, never the insight task.

use std::panic::{catch_unwind, AssertUnwindSafe};

use augurs_core::{Fit, Predict};
use augurs_ets::AutoETS;
use chrono::{DateTime, Utc};

use model::deal::Steps;
use model::forecast::{
    self, backtest_cuts, mean_abs_percent_error, Forecast, ForecastDay, NoForecast, PriceForecast,
    BACKTESTS, BAND_LEVEL, FIT_DAYS, HORIZON_DAYS, MIN_DAYS,
};
use model::PricePoint;

/// A fitted model's forecast: the points, the band (when asked for) and
/// the model's name.
struct Fitted {
    point: Vec<f64>,
    band: Option<(Vec<f64>, Vec<f64>)>,
    model: String,
}

/// Fits the last [`FIT_DAYS`] of `y` and forecasts [`HORIZON_DAYS`];
/// `None` when no model fits.
fn fit(y: &[f64], band: bool) -> Option<Fitted> {
    let y = y.get(y.len().saturating_sub(FIT_DAYS)..)?;
    if y.len() < MIN_DAYS - HORIZON_DAYS || y.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let level = band.then_some(f64::from(BAND_LEVEL) / 100.0);
    catch_unwind(AssertUnwindSafe(|| {
        // Additive errors only: augurs' bands for multiplicative-error
        // models stay as narrow at day 14 as at day 1 (measured), which
        // would overstate what is known.
        let fitted = AutoETS::new(1, "AZN").ok()?.fit(y).ok()?;
        let model = fitted.model();
        let kind = model.model_type();
        let name = format!(
            "ETS({},{}{},{})",
            kind.error,
            kind.trend,
            if model.damped() { "d" } else { "" },
            kind.season
        );
        let f = fitted.predict(HORIZON_DAYS, level).ok()?;
        if f.point.len() != HORIZON_DAYS || f.point.iter().any(|v| !v.is_finite()) {
            return None;
        }
        Some(Fitted {
            point: f.point,
            band: f.intervals.map(|i| (i.lower, i.upper)),
            model: name,
        })
    }))
    .ok()
    .flatten()
}

/// The forecast of a product with this price history (oldest first),
/// made at `now`.
pub fn forecast_history(prices: &[PricePoint], now: DateTime<Utc>) -> PriceForecast {
    let lowest: Steps = model::history::price_series(prices)
        .into_iter()
        .map(|(at, price)| (at.timestamp_millis(), Some(price)))
        .collect();
    forecast(&lowest, now)
}

/// The forecast of a product whose lowest price over time is `lowest`,
/// made at `now`.
pub fn forecast(lowest: &Steps, now: DateTime<Utc>) -> PriceForecast {
    let now_ms = now.timestamp_millis();
    let values: Vec<f64> = forecast::daily(lowest, now_ms)
        .into_iter()
        .map(|d| d.1)
        .collect();
    let not_shown = |why| PriceForecast::NotShown { why };
    let days = u32::try_from(values.len()).unwrap_or(u32::MAX);
    if values.len() < MIN_DAYS {
        return not_shown(NoForecast::TooShort { days });
    }
    let recent = values
        .get(
            values
                .len()
                .saturating_sub(FIT_DAYS + HORIZON_DAYS * BACKTESTS)..,
        )
        .unwrap_or(&values);
    if recent.windows(2).all(|w| w.first() == w.get(1)) {
        let days = u32::try_from(recent.len()).unwrap_or(u32::MAX);
        return not_shown(NoForecast::Steady { days });
    }
    let (mut model_err, mut naive_err) = (vec![], vec![]);
    for cut in backtest_cuts(recent.len()) {
        let (Some(train), Some(actual)) = (
            recent.get(..cut),
            recent.get(cut..cut.saturating_add(HORIZON_DAYS)),
        ) else {
            continue;
        };
        let Some(f) = fit(train, false) else {
            continue;
        };
        let Some(last) = train.last() else {
            continue;
        };
        let stays = vec![*last; HORIZON_DAYS];
        if let (Some(m), Some(n)) = (
            mean_abs_percent_error(&f.point, actual),
            mean_abs_percent_error(&stays, actual),
        ) {
            model_err.push(m);
            naive_err.push(n);
        }
    }
    if model_err.is_empty() {
        return not_shown(NoForecast::NoFit);
    }
    let tries = model_err.len() as f64;
    let error = model_err.iter().sum::<f64>() / tries;
    let naive = naive_err.iter().sum::<f64>() / tries;
    let (error_percent, naive_error_percent) = (forecast::percent(error), forecast::percent(naive));
    if error >= naive || error_percent >= naive_error_percent {
        return not_shown(NoForecast::NaiveBetter {
            error_percent,
            naive_error_percent,
        });
    }
    let Some(f) = fit(recent, true) else {
        return not_shown(NoForecast::NoFit);
    };
    // A forecast stays within what the product ever cost, times ten: a
    // wild fit is bounded, not shown as a price.
    let cap = recent.iter().copied().fold(0.0, f64::max) * 10.0;
    let (lower, upper) = f.band.unwrap_or_else(|| (f.point.clone(), f.point.clone()));
    let mut out = Vec::with_capacity(HORIZON_DAYS);
    for (k, ((p, lo), hi)) in f.point.iter().zip(&lower).zip(&upper).enumerate() {
        let bounded = |v: f64| forecast::money(v.min(cap));
        let (Some(day), Some(price), Some(low), Some(high)) = (
            forecast::day_after(now_ms, k + 1),
            bounded(*p),
            bounded(*lo),
            bounded(*hi),
        ) else {
            return not_shown(NoForecast::NoFit);
        };
        out.push(ForecastDay {
            day,
            price,
            low: low.min(price),
            high: high.max(price),
        });
    }
    PriceForecast::Shown(Forecast {
        days: out,
        level: BAND_LEVEL,
        error_percent,
        naive_error_percent,
        backtests: u8::try_from(model_err.len()).unwrap_or(u8::MAX),
        model: f.model,
    })
}

#[cfg(test)]
mod tests {
    use rust_decimal::prelude::FromPrimitive;
    use rust_decimal::Decimal;

    use super::*;

    use model::history::DAY_MS;

    /// Daily prices as the poller would have stored them (a step each day
    /// at noon), ending yesterday.
    fn steps(prices: &[f64]) -> (Steps, DateTime<Utc>) {
        let steps = prices
            .iter()
            .enumerate()
            .map(|(k, p)| (k as i64 * DAY_MS + DAY_MS / 2, Decimal::from_f64(*p)))
            .collect();
        let now = DateTime::from_timestamp_millis(prices.len() as i64 * DAY_MS + DAY_MS / 2)
            .unwrap_or_default();
        (steps, now)
    }

    /// A reproducible wobble in ±1 %.
    fn wobble(k: usize) -> f64 {
        ((k * 7919 % 101) as f64 - 50.0) / 5000.0
    }

    #[test]
    fn a_drifting_resale_price_is_forecast_to_keep_drifting() {
        // A resale price falling about 0.4 % a day for 120 days, each day's
        // price the day before's give or take 0.5 % (a random walk with a
        // drift, as market prices go).
        let mut price = 300.0;
        let prices: Vec<f64> = (0..120)
            .map(|k| {
                price *= 1.0 - 0.004 + wobble(k) / 2.0;
                price
            })
            .collect();
        let (steps, now) = steps(&prices);
        let PriceForecast::Shown(f) = forecast(&steps, now) else {
            panic!(
                "a steady drift should be forecast: {:?}",
                forecast(&steps, now)
            );
        };
        assert_eq!(f.days.len(), HORIZON_DAYS);
        assert!(f.error_percent < f.naive_error_percent, "{f:?}");
        let (first, last) = (&f.days[0], &f.days[HORIZON_DAYS - 1]);
        assert!(last.price < first.price, "the drift goes on: {f:?}");
        assert!(
            last.high - last.low > first.high - first.low,
            "the band widens with the horizon: {f:?}"
        );
        assert!(f.days.iter().all(|d| d.low <= d.price && d.price <= d.high));
        assert!(f.describe().contains("Typical error ±"));
    }

    #[test]
    fn a_price_that_only_jumps_now_and_then_gets_no_forecast() {
        // A shop's list price: 120 for five weeks, a sale, back, a new level.
        let mut prices = vec![120.0; 35];
        prices.extend(vec![96.0; 6]);
        prices.extend(vec![120.0; 30]);
        prices.extend(vec![110.0; 20]);
        let (steps, now) = steps(&prices);
        match forecast(&steps, now) {
            PriceForecast::NotShown {
                why: NoForecast::NaiveBetter { .. } | NoForecast::Steady { .. },
            } => {}
            other => panic!("no forecast should beat 'it stays': {other:?}"),
        }
    }

    #[test]
    fn short_or_flat_histories_say_why() {
        let (short, now) = steps(&[50.0; 20]);
        assert_eq!(
            forecast(&short, now),
            PriceForecast::NotShown {
                why: NoForecast::TooShort { days: 21 }
            }
        );
        let (flat, now) = steps(&[50.0; 90]);
        assert!(matches!(
            forecast(&flat, now),
            PriceForecast::NotShown {
                why: NoForecast::Steady { .. }
            }
        ));
    }

    #[test]
    fn hostile_histories_fail_one_forecast_not_the_task() {
        // Prices from a cent to the largest a source accepts, alternating.
        let prices: Vec<f64> = (0..100)
            .map(|k| if k % 2 == 0 { 0.01 } else { 9.99e11 })
            .collect();
        let (steps, now) = steps(&prices);
        if let PriceForecast::Shown(f) = forecast(&steps, now) {
            assert!(f
                .days
                .iter()
                .all(|d| d.high <= Decimal::from(10_000_000_000_000i64)));
        }
        assert!(forecast(&vec![], now) == PriceForecast::default());
    }
}
