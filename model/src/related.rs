//! Related products: what else a product page suggests, and why. Another
//! tracked product is related when it is the same model in another colour
//! (same brand and style-code family, see [`crate::compare::style_family`]),
//! when watch rules tie the two ("people who watch this also watch": one
//! rule takes in both, or one person has rules on each), or when it shares
//! the series (what rules call the product type) or the brand. The same item
//! in another store is not related: it is the comparison, shown beside it.
//! Pure functions, shared by the engine and the browser.
//!
//! The engine ranks every tracked product on each request: one pass of
//! string comparisons, with the style code read only for products of the
//! same brand and each tying rule checked once per product (at most
//! [`MAX_TIES`] of them), then the best few are picked out of the
//! candidates without sorting them all.
//!
//! (Over 500 lines only with its unit tests, the last 250: they rank fixed
//! products, and build the 10,000-product catalogue the picks measure on too.)

use std::collections::HashSet;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::compare::product_style_family;
use crate::{Product, ProductSummary, Rule, Scope};

/// Entries a product page shows at most.
pub const MAX_RELATED: usize = 12;
/// Watch rules that tie one product to others, at most: each is checked
/// against every product, so this bounds the pass.
pub const MAX_TIES: usize = 64;

/// Why another product is related to this one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Relation {
    /// The same brand and style-code family: the same model in another colour.
    SameFamily {
        family: String,
    },
    /// Watch rules that take in both products: one rule covering both, or
    /// rules of one person on each.
    WatchedTogether {
        rules: u32,
    },
    SameSeries,
    SameBrand,
}

impl Relation {
    /// The reason in words, as the product page shows it.
    pub fn describe(&self) -> String {
        match self {
            Relation::SameFamily { family } => format!("Same model family {family}"),
            Relation::WatchedTogether { rules: 1 } => "Watched together in 1 rule".into(),
            Relation::WatchedTogether { rules } => format!("Watched together in {rules} rules"),
            Relation::SameSeries => "Same series".into(),
            Relation::SameBrand => "Same brand".into(),
        }
    }
}

/// One entry of a product page's "Related" list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RelatedItem {
    /// Its summary (the engine adds the deal badge).
    pub product: ProductSummary,
    /// Strongest reason first.
    pub why: Vec<Relation>,
}

impl RelatedItem {
    /// "Same model family DD1391 · Same brand".
    pub fn said(&self) -> String {
        self.why
            .iter()
            .map(Relation::describe)
            .collect::<Vec<_>>()
            .join(" · ")
    }
}

/// What ties one candidate to the product (no allocation: thousands are
/// assessed per page, a dozen kept).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Ties {
    family: bool,
    watched: u32,
    series: bool,
    brand: bool,
}

impl Ties {
    /// How strongly: the same model first, then watch rules, then the
    /// series and brand together, then either.
    fn weight(self) -> u32 {
        let watched = match self.watched {
            0 => 0,
            n => 40u32.saturating_add(10u32.saturating_mul(n - 1)).min(80),
        };
        u32::from(self.family) * 100
            + watched
            + u32::from(self.series) * 20
            + u32::from(self.brand) * 20
    }

    fn reasons(self, family: Option<&str>) -> Vec<Relation> {
        let mut why = vec![];
        if let (true, Some(f)) = (self.family, family) {
            why.push(Relation::SameFamily {
                family: f.to_string(),
            });
        }
        if self.watched > 0 {
            why.push(Relation::WatchedTogether {
                rules: self.watched,
            });
        }
        if self.series {
            why.push(Relation::SameSeries);
        }
        if self.brand {
            why.push(Relation::SameBrand);
        }
        why
    }
}

/// The watch rules that tie `me` to other products: active rules that take
/// it in, and the other rules of the people who own those, each naming
/// something narrower than a store (a rule on everything ties nothing).
/// At most [`MAX_TIES`].
pub fn tying_rules<'r>(me: &Product, rules: &'r [Rule]) -> Vec<&'r Scope> {
    let active = || rules.iter().filter(|r| !r.paused && r.scope.narrows());
    let covering: Vec<&Rule> = active().filter(|r| r.scope.covers_product(me)).collect();
    let owners: HashSet<&str> = covering.iter().filter_map(|r| r.owner.as_deref()).collect();
    active()
        .filter(|r| {
            covering.iter().any(|c| c.id == r.id)
                || r.owner.as_deref().is_some_and(|o| owners.contains(o))
        })
        .take(MAX_TIES)
        .map(|r| &r.scope)
        .collect()
}

/// What a product is compared with, worked out once per page.
struct Me<'a> {
    product: &'a Product,
    family: Option<String>,
    ties: Vec<&'a Scope>,
    price: Option<Decimal>,
}

impl Me<'_> {
    fn assess(&self, other: &Product) -> Ties {
        let me = self.product;
        let brand = !me.brand.trim().is_empty() && me.brand.eq_ignore_ascii_case(&other.brand);
        let series = !me.product_type.trim().is_empty()
            && me.product_type.eq_ignore_ascii_case(&other.product_type);
        // The style code is read only for the same brand: a family is the brand's own.
        let family = brand
            && self
                .family
                .as_ref()
                .is_some_and(|f| product_style_family(other).as_ref() == Some(f));
        let watched = self.ties.iter().filter(|s| s.covers_product(other)).count();
        Ties {
            family,
            watched: u32::try_from(watched).unwrap_or(u32::MAX),
            series,
            brand,
        }
    }

    /// How far `other`'s price is from this one's (same currency; unknown last).
    fn distance(&self, other: &Product) -> Decimal {
        let theirs = other
            .lowest_in_stock()
            .or_else(|| other.price_range().map(|r| r.0));
        match (self.price, theirs) {
            (Some(a), Some(b)) if other.currency == self.product.currency => {
                a.checked_sub(b).map_or(Decimal::MAX, |d| d.abs())
            }
            _ => Decimal::MAX,
        }
    }
}

/// The products related to `me` among `others` (any order; `me` itself and
/// removed products are skipped), best first, at most `limit`. `rules`
/// are the watch rules, `deal_score` a product's deal score (a better deal
/// ranks higher among equals), and `same_item` says which products are
/// `me` in another store (left out: they are the comparison). Among equal
/// ties, products in stock come first, then better deals, then the
/// nearest price.
pub fn rank<'p>(
    me: &Product,
    others: impl IntoIterator<Item = &'p Product>,
    rules: &[Rule],
    deal_score: impl Fn(&str) -> Option<u8>,
    same_item: impl Fn(&Product) -> bool,
    limit: usize,
) -> Vec<RelatedItem> {
    let this = Me {
        product: me,
        family: product_style_family(me),
        ties: tying_rules(me, rules),
        price: me
            .lowest_in_stock()
            .or_else(|| me.price_range().map(|r| r.0)),
    };
    // (score, price distance, candidate, its ties)
    let mut candidates: Vec<(u32, Decimal, &Product, Ties)> = others
        .into_iter()
        .filter(|o| o.key != me.key && !o.removed)
        .filter_map(|o| {
            let ties = this.assess(o);
            let weight = ties.weight();
            (weight > 0).then(|| {
                let stock = if o.lowest_in_stock().is_some() { 10 } else { 0 };
                // A product not scored yet counts as at its typical price.
                let deal = u32::from(deal_score(&o.key).unwrap_or(50).min(100)) / 10;
                (weight + stock + deal, this.distance(o), o, ties)
            })
        })
        .collect();
    let order = |a: &(u32, Decimal, &Product, Ties), b: &(u32, Decimal, &Product, Ties)| {
        b.0.cmp(&a.0)
            .then_with(|| a.1.cmp(&b.1))
            .then_with(|| a.2.title.cmp(&b.2.title))
            .then_with(|| a.2.key.cmp(&b.2.key))
    };
    // The same item in another store ranks high (same family, brand and
    // series) and is left out, so the window widens until `limit` are kept.
    let mut window = limit.saturating_mul(2).saturating_add(8);
    loop {
        let head = crate::top::best_first(&mut candidates, window, order);
        let kept: Vec<(&Product, Ties)> = head
            .iter()
            .filter(|c| !same_item(c.2))
            .take(limit)
            .map(|c| (c.2, c.3))
            .collect();
        if kept.len() >= limit || window >= candidates.len() {
            return kept
                .into_iter()
                .map(|(o, ties)| RelatedItem {
                    product: o.summary(),
                    why: ties.reasons(this.family.as_deref()),
                })
                .collect();
        }
        window = window.saturating_mul(4);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::{Condition, Variant};

    fn product(
        key: &str,
        title: &str,
        brand: &str,
        series: &str,
        sku: &str,
        price: i64,
    ) -> Product {
        let now = chrono::Utc::now();
        let (source, id) = key.split_once(':').unwrap();
        Product {
            variants: vec![Variant {
                id: format!("{id}-9"),
                size: "9".into(),
                sku: (!sku.is_empty()).then(|| sku.to_string()),
                price: Some(price.into()),
                compare_at: None,
                available: true,
                cart_url: None,
            }],
            title: title.into(),
            brand: brand.into(),
            product_type: series.into(),
            currency: "USD".into(),
            ..Product::observed(source, id, id, now)
        }
    }

    fn rule(id: &str, owner: Option<&str>, scope: Scope) -> Rule {
        Rule {
            id: id.into(),
            name: id.into(),
            scope,
            condition: Condition::DropOrRestock,
            channels: vec!["c".into()],
            cooldown_secs: 0,
            paused: false,
            created: chrono::Utc::now(),
            owner: owner.map(str::to_string),
        }
    }

    fn on(product: &str) -> Scope {
        Scope {
            product: Some(product.into()),
            ..Scope::default()
        }
    }

    /// (key, reasons) of each entry.
    fn listed(items: &[RelatedItem]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|i| (i.product.key.clone(), i.said()))
            .collect()
    }

    fn catalogue() -> Vec<Product> {
        let mut sold_out = product(
            "a:6",
            "Dunk Low Chicago",
            "Nike",
            "Sneakers",
            "DD1503-101",
            110,
        );
        sold_out.variants[0].available = false;
        let mut removed = product(
            "a:7",
            "Dunk Low Bred",
            "Nike",
            "Sneakers",
            "DD1391-102",
            110,
        );
        removed.removed = true;
        vec![
            product(
                "a:1",
                "Dunk Low Panda",
                "Nike",
                "Sneakers",
                "DD1391-100-9",
                110,
            ),
            product(
                "a:2",
                "Dunk Low Grey Fog",
                "NIKE",
                "Sneakers",
                "DD1391-103-9",
                115,
            ),
            // The same item in another store: the comparison's, not related.
            product(
                "b:1",
                "Nike Dunk Low (DD1391-100)",
                "Nike",
                "Sneakers",
                "",
                105,
            ),
            product("a:3", "Samba OG", "adidas", "Sneakers", "B75806", 100),
            product("a:4", "Tech Fleece Hoodie", "Nike", "Apparel", "", 120),
            product(
                "a:5",
                "Labubu Big Into Energy",
                "POP MART",
                "Blind Box",
                "",
                20,
            ),
            sold_out,
            removed,
            product("a:8", "Box Logo Hoodie", "Supreme", "Apparel", "", 168),
        ]
    }

    fn related(all: &[Product], rules: &[Rule], limit: usize) -> Vec<(String, String)> {
        let me = &all[0];
        let same = |o: &Product| crate::compare::same_item(me, o).is_some();
        let deal = |k: &str| (k == "a:3").then_some(90);
        listed(&rank(me, all, rules, deal, same, limit))
    }

    #[test]
    fn the_same_model_first_then_series_and_brand_and_never_the_same_item() {
        let all = catalogue();
        let got = related(&all, &[], MAX_RELATED);
        let pair = |k: &str, why: &str| (k.to_string(), why.to_string());
        assert_eq!(
            got,
            [
                pair("a:2", "Same model family DD1391 · Same series · Same brand"),
                // Another family of the brand, sold out: still above
                // series alone or brand alone.
                pair("a:6", "Same series · Same brand"),
                // Series alone or brand alone: the better deal first.
                pair("a:3", "Same series"),
                pair("a:4", "Same brand"),
            ]
        );
        // Bounded.
        assert_eq!(related(&all, &[], 2).len(), 2);
    }

    #[test]
    fn people_who_watch_this_also_watch() {
        let all = catalogue();
        let rules = vec![
            // Alice watches the Panda and the Labubu: tied by her.
            rule("r1", Some("alice"), on("a:1")),
            rule("r2", Some("alice"), on("a:5")),
            // Bob's rule on the Labubu, but he does not watch the Panda.
            rule("r3", Some("bob"), on("a:5")),
            // A brand rule takes in every Nike product, the Panda too.
            rule(
                "r4",
                None,
                Scope {
                    brand: Some("nike".into()),
                    ..Scope::default()
                },
            ),
            // Paused: ties nothing.
            Rule {
                paused: true,
                ..rule("r5", Some("carol"), on("a:8"))
            },
        ];
        let got = related(&all, &rules, MAX_RELATED);
        let why = |k: &str| got.iter().find(|(key, _)| key == k).map(|g| g.1.as_str());
        assert_eq!(got[0].0, "a:2");
        assert_eq!(
            why("a:2"),
            Some(
                "Same model family DD1391 · Watched together in 1 rule · Same series · Same brand"
            )
        );
        assert_eq!(
            why("a:5"),
            Some("Watched together in 1 rule"),
            "by Alice only"
        );
        assert_eq!(why("a:4"), Some("Watched together in 1 rule · Same brand"));
        assert_eq!(why("a:8"), None, "a paused rule ties nothing");
        // Dave watches both too: two rules tie them.
        let mut more = rules.clone();
        more.push(rule("r6", Some("dave"), on("a:1")));
        more.push(rule("r7", Some("dave"), on("a:5")));
        let got = related(&all, &more, MAX_RELATED);
        assert!(got.contains(&("a:5".into(), "Watched together in 2 rules".into())));
    }

    /// A catalogue like the demo's at 10,000 products: 6 sneaker brands,
    /// three series, a style code on every sneaker, a few families shared.
    pub(crate) fn ten_thousand() -> Vec<Product> {
        const BRANDS: [&str; 6] = [
            "Nike",
            "adidas",
            "New Balance",
            "ASICS",
            "Jordan",
            "Salomon",
        ];
        (0..10_000)
            .map(|i| {
                let brand = BRANDS[i % BRANDS.len()];
                let (series, sku) = match i % 10 {
                    0..=4 => (
                        "Sneakers",
                        format!("DD{:04}-{:03}-9", 1000 + i % 3000, i % 1000),
                    ),
                    5..=7 => ("Apparel", String::new()),
                    _ => ("Blind Box", String::new()),
                };
                let key = format!("demo:{i}");
                let title = format!("{brand} Model {} '{}'", i % 40, i % 12);
                product(&key, &title, brand, series, &sku, 100 + (i % 90) as i64)
            })
            .collect()
    }

    /// `cargo test -p model --release --lib related_at_10k -- --ignored --nocapture`
    #[test]
    #[ignore = "a measurement: run it on the release build"]
    fn related_at_10k() {
        let all = ten_thousand();
        let rules: Vec<Rule> = (0..200)
            .map(|i| {
                rule(
                    &format!("r{i}"),
                    Some(&format!("u{}", i % 20)),
                    on(&format!("demo:{}", i * 37)),
                )
            })
            .collect();
        let runs = 50;
        let started = std::time::Instant::now();
        let mut found = 0;
        for k in 0..runs {
            let me = &all[k * 101 % all.len()];
            let same = |o: &Product| crate::compare::same_item(me, o).is_some();
            found += rank(me, &all, &rules, |_| Some(50), same, MAX_RELATED).len();
        }
        let each = started.elapsed() / runs as u32;
        println!("related at 10,000 products: {each:?} a product ({found} entries in {runs} runs)");
        assert_eq!(found, runs * MAX_RELATED);
    }
}
