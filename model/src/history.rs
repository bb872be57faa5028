//! Price and stock history: what the product page charts, and the series
//! the chart and the price forecast read from it (the lowest price of any
//! size over time, the sizes in stock over time).
//!
//! A row is written only when something changed (and once on first sight),
//! so a product that never changes costs two rows, however often it is polled.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// An hour and a day in milliseconds, the unit history rows are stamped in.
pub const HOUR_MS: i64 = 3_600_000;
pub const DAY_MS: i64 = 24 * HOUR_MS;

/// One variant's price at a moment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VariantPrice {
    pub variant: String,
    pub size: String,
    pub price: Decimal,
    pub compare_at: Option<Decimal>,
}

/// One variant's availability at a moment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VariantStock {
    pub variant: String,
    pub size: String,
    pub available: bool,
}

/// A price-history row: the variants of one product whose price changed at `at`
/// (all of them on first sight).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PricePoint {
    pub product: String,
    pub at: DateTime<Utc>,
    /// `at` in milliseconds, for ordering and range queries.
    pub ts: i64,
    pub variants: Vec<VariantPrice>,
}

/// A stock-history row: the variants of one product whose availability changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StockPoint {
    pub product: String,
    pub at: DateTime<Utc>,
    pub ts: i64,
    pub variants: Vec<VariantStock>,
}

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

#[cfg(test)]
mod tests {
    use super::*;

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
