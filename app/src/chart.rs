//! The product page's chart: the lowest price over time as a step line, with
//! the number of sizes in stock as a timeline under it. Hand-made SVG (no
//! chart crate works with Leptos 0.8 on wasm without pulling in a canvas
//! stack), scaled by `viewBox` so it stays readable at phone width. Hovering
//! or focusing a point shows its date and price.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

use model::{PricePoint, StockPoint};

/// The lowest price after each history point, oldest first.
pub fn price_series(points: &[PricePoint]) -> Vec<(DateTime<Utc>, Decimal)> {
    let mut prices: BTreeMap<String, Decimal> = BTreeMap::new();
    let mut out = vec![];
    for p in points {
        for v in &p.variants {
            prices.insert(v.variant.clone(), v.price);
        }
        if let Some(min) = prices.values().min() {
            match out.last_mut() {
                Some((at, last)) if *at == p.at => *last = *min,
                _ => out.push((p.at, *min)),
            }
        }
    }
    out
}

/// How many sizes were in stock after each stock point, oldest first.
pub fn stock_series(points: &[StockPoint]) -> Vec<(DateTime<Utc>, usize)> {
    let mut stock: BTreeMap<String, bool> = BTreeMap::new();
    let mut out = vec![];
    for p in points {
        for v in &p.variants {
            stock.insert(v.variant.clone(), v.available);
        }
        out.push((p.at, stock.values().filter(|a| **a).count()));
    }
    out
}

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
) -> impl IntoView {
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
        let t1 = times.iter().max().copied().unwrap_or(now).max(now);
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
        let lo = ps.iter().map(|p| p.1).min().unwrap_or_default();
        let hi = ps.iter().map(|p| p.1).max().unwrap_or_default();
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
        if let Some((_, p)) = ps.last() {
            d += &format!(" H{:.1} V{:.1}", W - RIGHT, y(*p));
        }
        d
    };
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

#[cfg(test)]
mod tests {
    use super::*;
    use model::{VariantPrice, VariantStock};

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
    }

    fn vp(id: &str, price: &str) -> VariantPrice {
        VariantPrice {
            variant: id.into(),
            size: id.into(),
            price: price.parse().unwrap(),
            compare_at: None,
        }
    }

    #[test]
    fn the_series_follow_each_size_to_the_lowest_price_and_stock_count() {
        let prices = vec![
            PricePoint {
                product: "p".into(),
                at: at(0),
                ts: 0,
                variants: vec![vp("9", "120"), vp("10", "110")],
            },
            PricePoint {
                product: "p".into(),
                at: at(60),
                ts: 60,
                variants: vec![vp("10", "130")],
            },
            PricePoint {
                product: "p".into(),
                at: at(120),
                ts: 120,
                variants: vec![vp("9", "99")],
            },
        ];
        let s: Vec<String> = price_series(&prices)
            .iter()
            .map(|p| p.1.to_string())
            .collect();
        assert_eq!(s, ["110", "120", "99"]);
        let stock = vec![
            StockPoint {
                product: "p".into(),
                at: at(0),
                ts: 0,
                variants: vec![
                    VariantStock {
                        variant: "9".into(),
                        size: "9".into(),
                        available: true,
                    },
                    VariantStock {
                        variant: "10".into(),
                        size: "10".into(),
                        available: false,
                    },
                ],
            },
            StockPoint {
                product: "p".into(),
                at: at(60),
                ts: 60,
                variants: vec![VariantStock {
                    variant: "10".into(),
                    size: "10".into(),
                    available: true,
                }],
            },
        ];
        let n: Vec<usize> = stock_series(&stock).iter().map(|s| s.1).collect();
        assert_eq!(n, [1, 2]);
    }
}
