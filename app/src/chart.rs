//! The product page's chart: the lowest price over time as a step line, with
//! the number of sizes in stock as a timeline under it. Hand-made SVG (no
//! chart crate works with Leptos 0.8 on wasm without pulling in a canvas
//! stack), scaled by `viewBox` so it stays readable at phone width. Hovering
//! or focusing a point shows its date and price. When the product has a
//! forecast, the time axis runs on past today and the next days show the
//! forecast price as a dashed line inside its band.

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

use model::forecast::Forecast;

const W: f64 = 640.0;
const H: f64 = 200.0;
const STOCK_H: f64 = 44.0;
const LEFT: f64 = 58.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 22.0;

use crate::time::{time_text, use_local_zone, TimeStyle};

#[component]
pub fn PriceChart(
    prices: Signal<Vec<(DateTime<Utc>, Decimal)>>,
    stock: Signal<Vec<(DateTime<Utc>, usize)>>,
    sizes: Signal<usize>,
    currency: String,
    forecast: Option<Forecast>,
) -> impl IntoView {
    // Shared by the band, the line and the tip, not copied for each.
    let ahead: std::sync::Arc<[model::forecast::ForecastDay]> =
        forecast.map(|f| f.days).unwrap_or_default().into();
    let ahead_end = ahead.last().map(|d| d.day + chrono::Duration::days(1));
    let band_low = ahead.iter().map(|d| d.low).min();
    let band_high = ahead.iter().map(|d| d.high).max();
    let ahead_is_empty = ahead.is_empty();
    let hovered = RwSignal::new(None::<usize>);
    // Labels in UTC as the server renders them, in local time once hydrated.
    let local = use_local_zone();
    let fmt_time = move |at: &DateTime<Utc>| time_text(at, TimeStyle::DateTime, local.get());
    let currency2 = currency.clone();
    let currency3 = currency.clone();
    // The time axis spans both series, and at least up to "now".
    let span = move || {
        let now = Utc::now();
        let mut times: Vec<DateTime<Utc>> = prices.get().iter().map(|p| p.0).collect();
        times.extend(stock.get().iter().map(|s| s.0));
        let t0 = times.iter().min().copied().unwrap_or(now);
        let t1 = times
            .iter()
            .max()
            .copied()
            .unwrap_or(now)
            .max(now)
            .max(ahead_end.unwrap_or(now));
        (
            t0,
            if t1 > t0 {
                t1
            } else {
                t0 + chrono::Duration::seconds(1)
            },
        )
    };
    let x = move |at: DateTime<Utc>| {
        let (t0, t1) = span();
        let f = (at - t0).num_milliseconds() as f64 / (t1 - t0).num_milliseconds().max(1) as f64;
        LEFT + f * (W - LEFT - RIGHT)
    };
    let range = move || {
        let ps = prices.get();
        let all = || ps.iter().map(|p| p.1).chain(band_low).chain(band_high);
        let lo = all().min().unwrap_or_default();
        let hi = all().max().unwrap_or_default();
        // Checked: a stored price may be anything a shop once sent.
        let pad = hi
            .checked_sub(lo)
            .map(|gap| gap / Decimal::from(10))
            .unwrap_or(Decimal::ONE)
            .max(Decimal::ONE);
        (
            lo.checked_sub(pad)
                .unwrap_or(Decimal::ZERO)
                .max(Decimal::ZERO),
            hi.checked_add(pad).unwrap_or(Decimal::MAX),
        )
    };
    let y = move |price: Decimal| {
        let (lo, hi) = range();
        let f = price
            .checked_sub(lo)
            .zip(hi.checked_sub(lo))
            .and_then(|(a, b)| a.checked_div(b))
            .and_then(|f| f.to_f64())
            .unwrap_or(0.0);
        TOP + (1.0 - f) * (H - TOP - BOTTOM)
    };
    let path = move || {
        let ps = prices.get();
        let mut d = String::new();
        for (i, (at, p)) in ps.iter().enumerate() {
            let (px, py) = (x(*at), y(*p));
            if i == 0 {
                d += &format!("M{px:.1},{py:.1}");
            } else {
                d += &format!(" H{px:.1} V{py:.1}");
            }
        }
        // The line runs on to now (to the end when nothing is forecast).
        let end = if ahead_is_empty {
            W - RIGHT
        } else {
            x(Utc::now())
        };
        if let Some((_, p)) = ps.last() {
            d += &format!(" H{end:.1} V{:.1}", y(*p));
        }
        d
    };
    // The band: along the highs forward, back along the lows, from where
    // the price is now.
    let ahead2 = ahead.clone();
    let band = move || {
        let start = prices.with(|ps| ps.last().map(|p| p.1))?;
        let x0 = x(Utc::now());
        let mut d = format!("M{x0:.1},{:.1}", y(start));
        for day in ahead2.iter() {
            d += &format!(" L{:.1},{:.1}", x(day.day), y(day.high));
        }
        for day in ahead2.iter().rev() {
            d += &format!(" L{:.1},{:.1}", x(day.day), y(day.low));
        }
        Some(d + " Z")
    };
    let ahead3 = ahead.clone();
    let forecast_line = move || {
        let start = prices.with(|ps| ps.last().map(|p| p.1))?;
        let mut d = format!("M{:.1},{:.1}", x(Utc::now()), y(start));
        for day in ahead3.iter() {
            d += &format!(" L{:.1},{:.1}", x(day.day), y(day.price));
        }
        Some(d)
    };
    let band_tip = ahead.last().map(|d| {
        format!(
            "Forecast for {}: {} {currency} ({} to {})",
            d.day.format("%Y-%m-%d"),
            d.price,
            d.low,
            d.high
        )
    });
    let stock_path = move || {
        let ss = stock.get();
        let max = sizes.get().max(1) as f64;
        let base = H + STOCK_H - 6.0;
        let mut d = format!("M{LEFT:.1},{base:.1}");
        let mut last_y = base;
        for (at, n) in ss.iter() {
            let sy = base - (*n as f64 / max) * (STOCK_H - 14.0);
            d += &format!(" H{:.1} V{sy:.1}", x(*at));
            last_y = sy;
        }
        d += &format!(" H{:.1} V{last_y:.1} V{base:.1} Z", W - RIGHT);
        d
    };
    let readout = move || {
        let ps = prices.get();
        let i = hovered.get().unwrap_or(ps.len().saturating_sub(1));
        ps.get(i)
            .map(|(at, p)| format!("{} {} on {}", p, currency2, fmt_time(at)))
            .unwrap_or_else(|| "No price history yet".into())
    };
    let label = move || {
        let (lo, hi) = range();
        (format!("{}", hi.round_dp(0)), format!("{}", lo.round_dp(0)))
    };
    let dates = move || {
        let (t0, t1) = span();
        (
            time_text(&t0, TimeStyle::Short, local.get()),
            time_text(&t1, TimeStyle::Short, local.get()),
        )
    };
    view! {
        <figure class="chart">
            <figcaption>
                <span>"Lowest price over time, and sizes in stock"</span>
                <output class="readout" data-testid="chart-readout" aria-live="polite">{readout}</output>
            </figcaption>
            <svg viewBox=format!("0 0 {W} {}", H + STOCK_H) role="img"
                 aria-label=format!("Price history in {currency}") data-testid="chart">
                <line class="axis" x1=LEFT y1=H - BOTTOM x2=W - RIGHT y2=H - BOTTOM/>
                <text class="tick" x=LEFT - 6.0 y=TOP + 4.0 text-anchor="end">{move || label().0}</text>
                <text class="tick" x=LEFT - 6.0 y=H - BOTTOM text-anchor="end">{move || label().1}</text>
                <text class="tick" x=LEFT y=H - 6.0>{move || dates().0}</text>
                <text class="tick" x=W - RIGHT y=H - 6.0 text-anchor="end">{move || dates().1}</text>
                <path class="price-line" d=path/>
                {band_tip.map(|tip| view! {
                    <path class="forecast-band" d=band data-testid="forecast-band"><title>{tip}</title></path>
                    <path class="forecast-line" d=forecast_line data-testid="forecast-line"/>
                })}
                {move || prices.get().into_iter().enumerate().map(|(i, (at, p))| {
                    let tip = format!("{} {} on {}", p, currency3, fmt_time(&at));
                    view! {
                        <circle class="pt" cx=format!("{:.1}", x(at)) cy=format!("{:.1}", y(p)) r="4.5"
                            tabindex="0" aria-label=tip.clone() data-testid="chart-point"
                            on:mouseenter=move |_| hovered.set(Some(i))
                            on:focus=move |_| hovered.set(Some(i))
                            on:mouseleave=move |_| hovered.set(None)
                            on:blur=move |_| hovered.set(None)>
                            <title>{tip.clone()}</title>
                        </circle>
                    }
                }).collect_view()}
                <text class="tick" x=LEFT - 6.0 y=H + STOCK_H - 8.0 text-anchor="end">"stock"</text>
                <path class="stock-area" d=stock_path/>
            </svg>
        </figure>
    }
}
