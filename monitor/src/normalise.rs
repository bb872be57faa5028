//! Normalisation: the same brand, size or price written many ways becomes one value.
//!
//! Shops spell brands inconsistently ("NIKE", "nike", "Nike Inc."); comparing
//! and filtering across stores needs one canonical name. [`BrandTable`] maps
//! spellings to canonical names; it ships with the brands our users track and
//! users can extend it (the store's `brand_alias` table, `--brand-alias`).
//!
//! [`check_product`] is the gate every product a connector read passes on its
//! way to change detection: prices inside `model::money`'s bounds, links only
//! `http(s)`, sizes and texts of sane length. A product that fails it is left
//! as it was and named in the run; it never reaches the store.

use std::collections::HashMap;

use model::money::{check_price, PriceError};
use model::Product;
use rust_decimal::Decimal;

use crate::links::keep_web_link;
pub use crate::links::web_link;

/// Brands Dropwatch knows out of the box: (canonical name, other spellings).
const KNOWN_BRANDS: &[(&str, &[&str])] = &[
    (
        "Nike",
        &["nike inc", "nike usa", "nike sportswear", "nikelab"],
    ),
    ("Jordan", &["air jordan", "jordan brand", "nike jordan"]),
    (
        "adidas",
        &["adidas originals", "adidas ag", "adidas performance"],
    ),
    (
        "New Balance",
        &["nb", "newbalance", "new balance athletics"],
    ),
    ("ASICS", &["asics tiger", "asics corporation"]),
    ("Puma", &["puma se"]),
    ("Vans", &["vans off the wall"]),
    ("Converse", &[]),
    ("Reebok", &[]),
    ("Salomon", &[]),
    ("HOKA", &["hoka one one"]),
    ("On", &["on running", "on ag"]),
    ("Supreme", &[]),
    ("Stüssy", &["stussy"]),
    ("Palace", &["palace skateboards"]),
    ("Kith", &["kith women", "kith kids"]),
    ("A Bathing Ape", &["bape"]),
    ("Fear of God", &["fear of god essentials", "essentials"]),
    ("POP MART", &["popmart", "pop mart international"]),
];

/// Company suffixes that say nothing about the brand.
const SUFFIXES: &[&str] = &[
    "inc",
    "incorporated",
    "llc",
    "ltd",
    "limited",
    "co",
    "corp",
    "corporation",
    "company",
    "gmbh",
    "ag",
    "sa",
    "plc",
];

/// Maps brand spellings to canonical names.
#[derive(Clone, Debug)]
pub struct BrandTable {
    by_key: HashMap<String, String>,
}

impl Default for BrandTable {
    fn default() -> Self {
        let mut table = BrandTable {
            by_key: HashMap::new(),
        };
        for (canonical, aliases) in KNOWN_BRANDS {
            table.add_alias(canonical, canonical);
            for alias in *aliases {
                table.add_alias(alias, canonical);
            }
        }
        table
    }
}

impl BrandTable {
    /// Makes `alias` (in any case or punctuation) read as `canonical`.
    pub fn add_alias(&mut self, alias: &str, canonical: &str) {
        let canonical = collapse_spaces(canonical);
        self.by_key.insert(brand_key(alias), canonical.clone());
        self.by_key.insert(brand_key(&canonical), canonical);
    }

    /// The canonical name of a brand as a shop wrote it. An unknown brand keeps
    /// its own spelling (tidied of extra spaces).
    pub fn canonical(&self, raw: &str) -> String {
        let tidy = collapse_spaces(raw);
        if tidy.is_empty() {
            return String::new();
        }
        let key = brand_key(&tidy);
        if let Some(name) = self.by_key.get(&key) {
            return name.clone();
        }
        // "Acme Inc." and "ACME" should agree even for brands we don't know:
        // fall back to the key without company suffixes.
        let stripped = strip_suffixes(&key);
        if let Some(name) = self.by_key.get(&stripped) {
            return name.clone();
        }
        tidy
    }
}

/// Lower case, punctuation dropped, single spaces: "Nike, Inc." -> "nike inc".
fn brand_key(raw: &str) -> String {
    let lowered: String = raw
        .chars()
        .map(|c| {
            if c.is_alphanumeric() {
                c.to_lowercase().next().unwrap_or(c)
            } else {
                ' '
            }
        })
        .collect();
    let key = collapse_spaces(&lowered);
    let stripped = strip_suffixes(&key);
    if stripped.is_empty() {
        key
    } else {
        stripped
    }
}

fn strip_suffixes(key: &str) -> String {
    let mut words: Vec<&str> = key.split(' ').collect();
    while words.len() > 1 && words.last().is_some_and(|w| SUFFIXES.contains(w)) {
        words.pop();
    }
    words.join(" ")
}

/// Text on one line: runs of spaces and line breaks become one space.
pub(crate) fn collapse_spaces(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A size label as users read it. Shopify's "Default Title" (a product with
/// one variant) and "OS"/"O/S" become "One size".
pub fn size_label(raw: &str) -> String {
    let tidy = collapse_spaces(raw);
    match tidy.to_ascii_lowercase().as_str() {
        "" | "default title" | "os" | "o/s" | "one size" | "onesize" => "One size".to_string(),
        _ => tidy,
    }
}

/// Parses a price as shops send it: a decimal string ("129.99"), sometimes a
/// JSON number. Negative and non-numeric values are rejected; the bounds
/// (`model::money`) are applied by [`check_product`], which names a product
/// with an absurd price in the run instead of losing it silently.
pub fn parse_price(raw: &str) -> Option<Decimal> {
    model::money::parse_amount(raw)
}

/// The most sizes one product may list (real products have a few dozen).
pub const MAX_VARIANTS: usize = 1000;
const MAX_TITLE_CHARS: usize = 500;
const MAX_SHORT_CHARS: usize = 120;
const MAX_TAGS: usize = 50;
const MAX_FACTS: usize = 20;

/// Why a product read from a source is not kept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProductError {
    #[error("{title}: size {size}: {why}")]
    Price {
        title: String,
        size: String,
        why: PriceError,
    },
    #[error("{title}: lists {count} sizes, more than the {MAX_VARIANTS} Dropwatch keeps for one product")]
    TooManySizes { title: String, count: usize },
}

fn clip(s: &mut String, max: usize) {
    if let Some((at, _)) = s.char_indices().nth(max) {
        s.truncate(at);
    }
}

/// Checks and tidies one product a connector read: every price within the
/// bounds (a "was" price out of bounds is dropped), at most [`MAX_VARIANTS`]
/// sizes, links only `http(s)`, texts clipped to sane lengths.
pub fn check_product(p: &mut Product) -> Result<(), ProductError> {
    clip(&mut p.title, MAX_TITLE_CHARS);
    if p.variants.len() > MAX_VARIANTS {
        return Err(ProductError::TooManySizes {
            title: p.title.clone(),
            count: p.variants.len(),
        });
    }
    for v in &mut p.variants {
        clip(&mut v.size, MAX_SHORT_CHARS);
        v.price = v
            .price
            .map(check_price)
            .transpose()
            .map_err(|why| ProductError::Price {
                title: p.title.clone(),
                size: v.size.clone(),
                why,
            })?;
        v.compare_at = v.compare_at.and_then(|c| check_price(c).ok());
        if let Some(sku) = &mut v.sku {
            clip(sku, MAX_SHORT_CHARS);
        }
    }
    sanitise_links(p);
    clip(&mut p.brand, MAX_SHORT_CHARS);
    clip(&mut p.product_type, MAX_SHORT_CHARS);
    p.tags.truncate(MAX_TAGS);
    for t in &mut p.tags {
        clip(t, MAX_SHORT_CHARS);
    }
    while p.facts.len() > MAX_FACTS {
        p.facts.pop_last();
    }
    for v in p.facts.values_mut() {
        clip(v, MAX_TITLE_CHARS);
    }
    Ok(())
}

/// Drops links that are not web addresses (also for products stored before
/// links were checked).
pub fn sanitise_links(p: &mut Product) {
    let mut url = Some(std::mem::take(&mut p.url));
    keep_web_link(&mut url);
    p.url = url.unwrap_or_default();
    keep_web_link(&mut p.image);
    for v in &mut p.variants {
        keep_web_link(&mut v.cart_url);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brand_spellings_become_one_name() {
        let t = BrandTable::default();
        for raw in ["NIKE", "nike", "Nike Inc.", "Nike, Inc", "  nike   inc  "] {
            assert_eq!(t.canonical(raw), "Nike", "{raw}");
        }
        assert_eq!(t.canonical("STUSSY"), "Stüssy");
        assert_eq!(t.canonical("Pop Mart"), "POP MART");
        assert_eq!(t.canonical("Kith Women"), "Kith");
    }

    #[test]
    fn unknown_brands_keep_their_name_and_users_can_add_aliases() {
        let mut t = BrandTable::default();
        assert_eq!(t.canonical("Annie  Thompson"), "Annie Thompson");
        assert_eq!(t.canonical(""), "");
        t.add_alias("AT Studio", "Annie Thompson");
        assert_eq!(t.canonical("at studio"), "Annie Thompson");
        assert_eq!(t.canonical("ANNIE THOMPSON LTD"), "Annie Thompson");
    }

    #[test]
    fn size_labels_and_prices() {
        assert_eq!(size_label("Default Title"), "One size");
        assert_eq!(size_label(" 9.5 "), "9.5");
        assert_eq!(size_label("US  10"), "US 10");
        assert_eq!(parse_price("129.99"), Some("129.99".parse().unwrap()));
        assert_eq!(parse_price("-1"), None);
        assert_eq!(parse_price("free"), None);
        assert!(
            parse_price("1e25").is_some(),
            "read, then refused by the gate"
        );
    }

    fn product(price: &str) -> Product {
        let now = chrono::Utc::now();
        Product {
            key: "s:1".into(),
            source: "s".into(),
            external_id: "1".into(),
            title: "Dunk".into(),
            brand: "Nike".into(),
            product_type: String::new(),
            tags: vec![],
            url: "javascript:alert(1)".into(),
            image: Some("data:image/svg+xml,<svg onload=alert(1)>".into()),
            currency: "USD".into(),
            variants: vec![model::Variant {
                id: "1".into(),
                size: "9".into(),
                sku: None,
                price: Some(price.parse().unwrap()),
                compare_at: Some("99999999999999".parse().unwrap()),
                available: true,
                cart_url: Some("https://shop.example/cart/1:1".into()),
            }],
            first_seen: now,
            updated: now,
            removed: false,
            last_change: None,
            facts: Default::default(),
        }
    }

    #[test]
    fn products_are_checked_before_detection() {
        let mut p = product("129.99");
        check_product(&mut p).unwrap();
        assert_eq!(p.url, "", "a javascript: link is dropped");
        assert_eq!(p.image, None, "a data: image is dropped");
        assert_eq!(
            p.variants[0].compare_at, None,
            "an absurd 'was' price is dropped"
        );
        assert_eq!(
            p.variants[0].cart_url.as_deref(),
            Some("https://shop.example/cart/1:1")
        );
        let mut p = product("10000000000000000000000000");
        let err = check_product(&mut p).unwrap_err();
        assert!(err.to_string().contains("size 9: the price"), "{err}");
        let mut p = product("1");
        p.variants = (0..1001).map(|_| p.variants[0].clone()).collect();
        assert!(matches!(
            check_product(&mut p),
            Err(ProductError::TooManySizes { count: 1001, .. })
        ));
    }
}
