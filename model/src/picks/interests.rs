//! What a user's signals say they like ([`Interests`]): brands, series and
//! sizes with weights (a signal weighs by how recent and how repeated it
//! is), their usual price and price range, and what they already know; and
//! how well a product fits them.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::{Noted, PickReason, Signal, MAX_AGE_DAYS};
use crate::Product;

/// A signal counts half as much after this many days.
const HALF_LIFE_DAYS: f64 = 30.0;
/// A signal repeated counts up to this many times.
const MAX_REPEATS: u32 = 5;
/// Products opened before Dropwatch speaks of a usual price.
const USUAL_PRICE_FROM: usize = 2;

/// Names (brands, series or sizes) with how much the user cares, matched
/// ignoring case.
#[derive(Clone, Debug, Default, PartialEq)]
struct Weights(Vec<(String, f64)>);

impl Weights {
    fn add(&mut self, name: &str, weight: f64) {
        let name = name.trim();
        if name.is_empty() {
            return;
        }
        match self
            .0
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some((_, w)) => *w += weight,
            None => self.0.push((name.to_string(), weight)),
        }
    }

    fn of(&self, name: &str) -> f64 {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map_or(0.0, |(_, w)| *w)
    }
}

/// What a user's signals say they like.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Interests {
    brands: Weights,
    series: Weights,
    sizes: Weights,
    /// The median price of the products they opened, in the currency most
    /// of them had.
    usual: Option<(Decimal, String)>,
    /// The price range of their latest filter with one.
    range: Option<(Option<Decimal>, Option<Decimal>)>,
    /// Products they opened or watch: not picks.
    known: HashSet<String>,
}

impl Interests {
    /// Weighs `noted` as of `now`; `product` looks up a watched product's
    /// brand and series.
    pub fn learn<'p>(
        noted: &[Noted],
        now: DateTime<Utc>,
        product: impl Fn(&str) -> Option<&'p Product>,
    ) -> Interests {
        let mut me = Interests::default();
        let mut prices: Vec<(Decimal, &str)> = vec![];
        let mut range_at = None;
        for n in noted {
            let age_days = (now - n.at).num_seconds().max(0) as f64 / 86_400.0;
            if age_days > MAX_AGE_DAYS as f64 {
                continue;
            }
            let w =
                f64::from(n.times.clamp(1, MAX_REPEATS)) * 0.5f64.powf(age_days / HALF_LIFE_DAYS);
            match &n.signal {
                Signal::Opened {
                    product,
                    brand,
                    series,
                    price,
                    currency,
                } => {
                    me.brands.add(brand, w);
                    me.series.add(series, w * 0.5);
                    prices.extend(price.map(|p| (p, currency.as_str())));
                    me.known.insert(product.clone());
                }
                Signal::Filtered {
                    brand,
                    series,
                    size,
                    min_price,
                    max_price,
                } => {
                    me.brands.add(brand, w * 1.5);
                    me.series.add(series, w);
                    me.sizes.add(size, w * 2.0);
                    if (min_price.is_some() || max_price.is_some())
                        && range_at.is_none_or(|at| n.at > at)
                    {
                        range_at = Some(n.at);
                        me.range = Some((*min_price, *max_price));
                    }
                }
                Signal::Watched {
                    product: key,
                    brand,
                    series,
                    sizes,
                    ..
                } => {
                    if let Some(p) = key.as_deref().and_then(&product) {
                        me.brands.add(&p.brand, w * 2.0);
                        me.series.add(&p.product_type, w);
                    }
                    me.brands.add(brand.as_deref().unwrap_or(""), w * 2.0);
                    me.series.add(series.as_deref().unwrap_or(""), w);
                    for s in sizes {
                        me.sizes.add(s, w * 2.0);
                    }
                    me.known.extend(key.clone());
                }
            }
        }
        me.usual = usual_price(&prices);
        me
    }

    /// Whether nothing was learned.
    pub fn is_empty(&self) -> bool {
        self.brands.0.is_empty()
            && self.series.0.is_empty()
            && self.sizes.0.is_empty()
            && self.range.is_none()
    }

    /// How well `p` fits; `None` when it is no pick (sold out, removed,
    /// already known, or matching no brand, series or size).
    pub(super) fn assess<'p>(&self, p: &'p Product, deal: Option<u8>) -> Option<(f64, Fit<'p>)> {
        if p.removed || self.known.contains(&p.key) {
            return None;
        }
        let price = p.lowest_in_stock()?;
        let size = p
            .variants
            .iter()
            .filter(|v| v.available)
            .map(|v| (v.size.as_str(), self.sizes.of(&v.size)))
            .filter(|(_, w)| *w > 0.0)
            .max_by(|a, b| a.1.total_cmp(&b.1));
        let (brand, series) = (self.brands.of(&p.brand), self.series.of(&p.product_type));
        if size.is_none() && brand <= 0.0 && series <= 0.0 {
            return None;
        }
        let under_usual = self
            .usual
            .as_ref()
            .is_some_and(|(usual, currency)| *currency == p.currency && price < *usual);
        let in_range = self.range.is_some_and(|(min, max)| {
            min.is_none_or(|m| price >= m) && max.is_none_or(|m| price <= m)
        });
        let score = size.map_or(0.0, |s| s.1)
            + brand
            + series
            + if under_usual { 0.5 } else { 0.0 }
            + if in_range { 0.5 } else { 0.0 }
            // A product not scored yet counts as at its typical price.
            + f64::from(deal.unwrap_or(50).min(100)) / 100.0 * 1.5;
        let fit = Fit {
            size: size.map(|s| s.0),
            brand: brand > 0.0,
            series: series > 0.0,
            under_usual,
            in_range,
        };
        Some((score, fit))
    }

    /// Why `p` fits as `fit` says, in the user's words.
    pub(super) fn reasons(&self, p: &Product, fit: &Fit) -> Vec<PickReason> {
        let mut why = vec![];
        if let Some(size) = fit.size {
            why.push(PickReason::YourSize {
                size: size.to_string(),
            });
        }
        if fit.brand {
            why.push(PickReason::Brand {
                brand: p.brand.clone(),
            });
        }
        if fit.series {
            why.push(PickReason::Series {
                series: p.product_type.clone(),
            });
        }
        if let (true, Some((usual, currency))) = (fit.under_usual, &self.usual) {
            why.push(PickReason::UnderUsualPrice {
                usual: *usual,
                currency: currency.clone(),
            });
        }
        if fit.in_range {
            why.push(PickReason::InYourPriceRange);
        }
        why
    }
}

/// How a product fits a user's interests (no allocation: every product is
/// assessed, a dozen kept).
pub(super) struct Fit<'p> {
    /// Their size it has in stock (the one they care most about).
    size: Option<&'p str>,
    brand: bool,
    series: bool,
    under_usual: bool,
    in_range: bool,
}

/// The median of the prices in the currency most of them are in (at
/// least [`USUAL_PRICE_FROM`] of them).
fn usual_price(prices: &[(Decimal, &str)]) -> Option<(Decimal, String)> {
    let mut currencies: Vec<&str> = prices.iter().map(|p| p.1).collect();
    currencies.sort_unstable();
    let currency = currencies
        .chunk_by(|a, b| a == b)
        .max_by_key(|c| c.len())?
        .first()?;
    let mut mine: Vec<Decimal> = prices
        .iter()
        .filter(|p| p.1 == *currency)
        .map(|p| p.0)
        .collect();
    if mine.len() < USUAL_PRICE_FROM {
        return None;
    }
    mine.sort();
    let median = *mine.get(mine.len() / 2)?;
    Some((median, currency.to_string()))
}
