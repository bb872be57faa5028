//! Picks ("For you"): products a signed-in user may want, learned from what
//! they do in Dropwatch: the product pages they open, the grid filters they
//! use (brand, series, size, price range) and the watch rules they create.
//! Each is a [`Signal`], kept per user in the database (the engine keeps
//! the latest [`MAX_SIGNALS`], none older than [`MAX_AGE_DAYS`]); a repeat
//! counts up the one kept. Signals are weighed by how recent (the weight
//! halves every 30 days) and how repeated they are into [`Interests`].
//!
//! A pick is a product in stock that the user neither watches nor has
//! opened, matching a brand, series or size they showed interest in; the
//! better the match and the deal score, the higher it ranks. Each carries
//! its reasons in the user's words ("your size 9.5, Nike, under your usual
//! price"). Pure functions, shared by the engine and the browser.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::{Product, ProductFilter, ProductSummary, Rule};

/// Signals kept per user, at most (the oldest go first).
pub const MAX_SIGNALS: usize = 200;
/// Signals older than this many days are forgotten.
pub const MAX_AGE_DAYS: i64 = 180;
/// Picks the dashboard shows at most (two rows above the grid).
pub const MAX_PICKS: usize = 6;
/// A signal counts half as much after this many days.
const HALF_LIFE_DAYS: f64 = 30.0;
/// A signal repeated counts up to this many times.
const MAX_REPEATS: u32 = 5;
/// Products opened before Dropwatch speaks of a usual price.
const USUAL_PRICE_FROM: usize = 2;

/// One thing a user did that says what they like.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Signal {
    /// A product page opened: its brand, series and price then.
    Opened {
        product: String,
        brand: String,
        series: String,
        /// Its lowest price in stock (or at all) when opened.
        #[serde(default)]
        price: Option<Decimal>,
        currency: String,
    },
    /// The grid filtered (only what says what they like).
    Filtered {
        #[serde(default)]
        brand: String,
        #[serde(default)]
        series: String,
        #[serde(default)]
        size: String,
        #[serde(default)]
        min_price: Option<Decimal>,
        #[serde(default)]
        max_price: Option<Decimal>,
    },
    /// A watch rule created: what its scope names (a product's brand and
    /// series are looked up when picks are worked out).
    Watched {
        rule: String,
        #[serde(default)]
        product: Option<String>,
        #[serde(default)]
        brand: Option<String>,
        #[serde(default)]
        series: Option<String>,
        #[serde(default)]
        sizes: Vec<String>,
    },
}

/// The kinds of [`Signal`], as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignalKind {
    Opened,
    Filtered,
    Watched,
}

impl SignalKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SignalKind::Opened => "opened",
            SignalKind::Filtered => "filtered",
            SignalKind::Watched => "watched",
        }
    }
}

impl Signal {
    /// A product page opened.
    pub fn opened(p: &Product) -> Signal {
        Signal::Opened {
            product: p.key.clone(),
            brand: p.brand.clone(),
            series: p.product_type.clone(),
            price: p.lowest_in_stock().or_else(|| p.price_range().map(|r| r.0)),
            currency: p.currency.clone(),
        }
    }

    /// The grid filtered by `f`; `None` when the filter names no brand,
    /// series, size or price (a search or a sort alone says little).
    pub fn filtered(f: &ProductFilter) -> Option<Signal> {
        let said = !f.brand.is_empty()
            || !f.series.is_empty()
            || !f.size.is_empty()
            || f.min_price.is_some()
            || f.max_price.is_some();
        said.then(|| Signal::Filtered {
            brand: f.brand.trim().to_string(),
            series: f.series.trim().to_string(),
            size: f.size.trim().to_string(),
            min_price: f.min_price,
            max_price: f.max_price,
        })
    }

    /// A watch rule created.
    pub fn watched(r: &Rule) -> Signal {
        Signal::Watched {
            rule: r.id.clone(),
            product: r.scope.product.clone(),
            brand: r.scope.brand.clone(),
            series: r.scope.series.clone(),
            sizes: r.scope.sizes.clone(),
        }
    }

    pub fn kind(&self) -> SignalKind {
        match self {
            Signal::Opened { .. } => SignalKind::Opened,
            Signal::Filtered { .. } => SignalKind::Filtered,
            Signal::Watched { .. } => SignalKind::Watched,
        }
    }

    /// What makes two signals of a kind the same one (a product opened
    /// again, the same filters again): the store counts a repeat up.
    pub fn key(&self) -> String {
        match self {
            Signal::Opened { product, .. } => product.clone(),
            Signal::Filtered {
                brand,
                series,
                size,
                min_price,
                max_price,
            } => {
                let price = |d: &Option<Decimal>| d.map(|d| d.normalize().to_string());
                format!(
                    "brand={}&series={}&size={}&min={}&max={}",
                    brand.to_lowercase(),
                    series.to_lowercase(),
                    size.to_lowercase(),
                    price(min_price).unwrap_or_default(),
                    price(max_price).unwrap_or_default()
                )
            }
            Signal::Watched { rule, .. } => rule.clone(),
        }
    }
}

/// A signal as kept: when it was last given, and how many times.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Noted {
    pub signal: Signal,
    pub at: DateTime<Utc>,
    pub times: u32,
}

/// Why a product is a pick, in the user's words.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PickReason {
    /// One of their sizes is in stock.
    YourSize {
        size: String,
    },
    Brand {
        brand: String,
    },
    Series {
        series: String,
    },
    /// In stock for less than the median price of the products they opened.
    UnderUsualPrice {
        usual: Decimal,
        currency: String,
    },
    /// Within the price range they filtered by last.
    InYourPriceRange,
}

impl PickReason {
    pub fn describe(&self) -> String {
        match self {
            PickReason::YourSize { size } => format!("your size {size}"),
            PickReason::Brand { brand } => brand.clone(),
            PickReason::Series { series } => series.clone(),
            PickReason::UnderUsualPrice { .. } => "under your usual price".into(),
            PickReason::InYourPriceRange => "in your price range".into(),
        }
    }
}

/// One product picked for a user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Pick {
    /// Its summary (the engine adds the deal badge).
    pub product: ProductSummary,
    pub why: Vec<PickReason>,
}

impl Pick {
    /// "your size 9.5, Nike, under your usual price".
    pub fn said(&self) -> String {
        self.why
            .iter()
            .map(PickReason::describe)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// What the dashboard's "For you" shows a user.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ForYou {
    pub picks: Vec<Pick>,
    /// How many signals are kept about them (what "Clear" would forget).
    pub signals: usize,
}

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
    fn assess<'p>(&self, p: &'p Product, deal: Option<u8>) -> Option<(f64, Fit<'p>)> {
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
    fn reasons(&self, p: &Product, fit: &Fit) -> Vec<PickReason> {
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
struct Fit<'p> {
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

/// The picks for a user with `interests` among `products`, best first, at
/// most `limit`; `watching` are the products their rules name (never
/// picks), `deal_score` a product's deal score.
pub fn pick<'p>(
    interests: &Interests,
    products: impl IntoIterator<Item = &'p Product>,
    watching: &HashSet<&str>,
    deal_score: impl Fn(&str) -> Option<u8>,
    limit: usize,
) -> Vec<Pick> {
    if interests.is_empty() {
        return vec![];
    }
    let mut found: Vec<(f64, &Product, Fit)> = products
        .into_iter()
        .filter(|p| !watching.contains(p.key.as_str()))
        .filter_map(|p| {
            let (score, fit) = interests.assess(p, deal_score(&p.key))?;
            Some((score, p, fit))
        })
        .collect();
    let best = crate::top::best_first(&mut found, limit, |a, b| {
        b.0.total_cmp(&a.0)
            .then_with(|| a.1.title.cmp(&b.1.title))
            .then_with(|| a.1.key.cmp(&b.1.key))
    });
    best.iter()
        .map(|(_, p, fit)| Pick {
            product: p.summary(),
            why: interests.reasons(p, fit),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Variant;
    use chrono::{Duration, TimeZone};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap()
    }

    fn product(
        key: &str,
        brand: &str,
        series: &str,
        price: i64,
        sizes: &[(&str, bool)],
    ) -> Product {
        let (source, id) = key.split_once(':').unwrap();
        Product {
            title: format!("{brand} {id}"),
            brand: brand.into(),
            product_type: series.into(),
            currency: "USD".into(),
            variants: sizes
                .iter()
                .map(|(size, available)| Variant {
                    id: format!("{id}-{size}"),
                    size: size.to_string(),
                    sku: None,
                    price: Some(price.into()),
                    compare_at: None,
                    available: *available,
                    cart_url: None,
                })
                .collect(),
            ..Product::observed(source, id, id, now())
        }
    }

    fn noted(signal: Signal, days_ago: i64, times: u32) -> Noted {
        Noted {
            signal,
            at: now() - Duration::days(days_ago),
            times,
        }
    }

    fn catalogue() -> Vec<Product> {
        let shoe = |key, brand, price, nine_and_a_half| {
            product(
                key,
                brand,
                "Sneakers",
                price,
                &[("9", true), ("9.5", nine_and_a_half), ("10", true)],
            )
        };
        vec![
            shoe("d:1", "Nike", 110, true),
            shoe("d:2", "Nike", 120, true),
            shoe("d:3", "Nike", 100, true),
            shoe("d:4", "Nike", 180, false),
            shoe("d:5", "adidas", 90, true),
            product("d:6", "Nike", "Apparel", 60, &[("M", true)]),
            product("d:7", "Supreme", "Apparel", 150, &[("L", true)]),
            // Sold out: never a pick.
            product("d:8", "Nike", "Sneakers", 90, &[("9.5", false)]),
        ]
    }

    fn picked(noted: &[Noted], watching: &[&str]) -> Vec<(String, String)> {
        let all = catalogue();
        let interests = Interests::learn(noted, now(), |k| all.iter().find(|p| p.key == k));
        let watching: HashSet<&str> = watching.iter().copied().collect();
        let deal = |k: &str| (k == "d:2").then_some(95);
        pick(&interests, &all, &watching, deal, MAX_PICKS)
            .into_iter()
            .map(|p| {
                let said = p.said();
                (p.product.key, said)
            })
            .collect()
    }

    #[test]
    fn nothing_learned_no_picks() {
        assert!(picked(&[], &[]).is_empty());
        // A search or a sort alone says nothing about what they like.
        let f = ProductFilter::from_query([("q", "dunk"), ("sort", "price_asc")]);
        assert_eq!(Signal::filtered(&f), None);
    }

    #[test]
    fn products_opened_of_one_brand_pick_that_brand_under_the_usual_price() {
        let all = catalogue();
        let opened: Vec<Noted> = ["d:1", "d:2"]
            .iter()
            .map(|k| {
                noted(
                    Signal::opened(all.iter().find(|p| p.key == *k).unwrap()),
                    1,
                    1,
                )
            })
            .collect();
        let got = picked(&opened, &[]);
        // Not the products opened; Nike sneakers first, under 120 (the
        // median of 110 and 120) said so; then other Nike, then other sneakers.
        assert_eq!(
            got,
            [
                (
                    "d:3".into(),
                    "Nike, Sneakers, under your usual price".into()
                ),
                ("d:4".into(), "Nike, Sneakers".into()),
                ("d:6".into(), "Nike, under your usual price".into()),
                ("d:5".into(), "Sneakers, under your usual price".into()),
            ]
        );
    }

    #[test]
    fn a_size_and_a_price_range_from_the_filters_and_watches_left_out() {
        let f = ProductFilter::from_query([("size", "9.5"), ("max", "130")]);
        let filtered = noted(Signal::filtered(&f).unwrap(), 2, 3);
        let got = picked(std::slice::from_ref(&filtered), &[]);
        let keys: Vec<&str> = got.iter().map(|g| g.0.as_str()).collect();
        // In size 9.5 only (d:4 has it sold out), the better deal first.
        assert_eq!(keys, ["d:2", "d:1", "d:3", "d:5"]);
        assert_eq!(got[0].1, "your size 9.5, in your price range");
        // A product they watch is no pick; a watch of a brand teaches it.
        let rule = Rule {
            id: "r1".into(),
            name: "r1".into(),
            scope: crate::Scope {
                brand: Some("adidas".into()),
                ..crate::Scope::default()
            },
            condition: crate::Condition::DropOrRestock,
            channels: vec![],
            cooldown_secs: 0,
            paused: false,
            created: now(),
            owner: Some("pat".into()),
        };
        let got = picked(&[filtered, noted(Signal::watched(&rule), 0, 1)], &["d:2"]);
        assert_eq!(
            got[0],
            (
                "d:5".into(),
                "your size 9.5, adidas, in your price range".into()
            )
        );
        assert!(got.iter().all(|g| g.0 != "d:2"));
    }

    #[test]
    fn old_signals_weigh_less_and_the_very_old_not_at_all() {
        let all = catalogue();
        let open = |k: &str, days_ago| {
            noted(
                Signal::opened(all.iter().find(|p| p.key == k).unwrap()),
                days_ago,
                1,
            )
        };
        // Supreme a year ago (forgotten), adidas two months ago, Nike apparel today.
        let got = picked(&[open("d:7", 365), open("d:5", 60), open("d:6", 0)], &[]);
        let said = |k: &str| got.iter().find(|g| g.0 == k).map(|g| g.1.as_str());
        assert_eq!(said("d:7"), Some("Apparel"), "the brand is forgotten");
        assert_eq!(said("d:2"), Some("Nike, Sneakers"));
        assert_eq!(got[0].0, "d:2", "today's brand before an old one: {got:?}");
        // A repeat counts up the one kept.
        let f = ProductFilter::from_query([("brand", "Nike"), ("page", "2")]);
        let again = ProductFilter::from_query([("brand", "nike")]);
        assert_eq!(
            Signal::filtered(&f).unwrap().key(),
            Signal::filtered(&again).unwrap().key()
        );
    }

    /// `cargo test -p model --release --lib picks_at_10k -- --ignored --nocapture`
    #[test]
    #[ignore = "a measurement: run it on the release build"]
    fn picks_at_10k() {
        let all = crate::related::tests::ten_thousand();
        let noted: Vec<Noted> = all
            .iter()
            .step_by(50)
            .map(|p| noted(Signal::opened(p), 3, 1))
            .chain(std::iter::once(noted(
                Signal::filtered(&ProductFilter::from_query([("size", "9"), ("max", "150")]))
                    .unwrap(),
                1,
                4,
            )))
            .collect();
        let runs = 50;
        let started = std::time::Instant::now();
        let mut found = 0;
        for _ in 0..runs {
            let interests = Interests::learn(&noted, now(), |k| all.iter().find(|p| p.key == k));
            found += pick(&interests, &all, &HashSet::new(), |_| Some(50), MAX_PICKS).len();
        }
        let each = started.elapsed() / runs as u32;
        println!(
            "picks at 10,000 products, {} signals: {each:?} a user",
            noted.len()
        );
        assert_eq!(found, runs * MAX_PICKS);
    }
}
