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
//! price"). Pure functions, shared by the engine and the browser:
//! `signal.rs` is what is kept, `interests.rs` what it says a user likes,
//! and this module the picks.

use std::collections::HashSet;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::{Product, ProductSummary};

mod interests;
mod signal;

use interests::Fit;
pub use interests::Interests;
pub use signal::{Noted, Signal, SignalKind};

/// Signals kept per user, at most (the oldest go first).
pub const MAX_SIGNALS: usize = 200;
/// Signals older than this many days are forgotten.
pub const MAX_AGE_DAYS: i64 = 180;
/// Picks the dashboard shows at most (two rows above the grid).
pub const MAX_PICKS: usize = 6;

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
    use crate::{ProductFilter, Rule, Variant};
    use chrono::{DateTime, Duration, TimeZone, Utc};

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
