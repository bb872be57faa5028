//! Normalisation: the same brand, size or price written many ways becomes one value.
//!
//! Shops spell brands inconsistently ("NIKE", "nike", "Nike Inc."); comparing
//! and filtering across stores needs one canonical name. [`BrandTable`] maps
//! spellings to canonical names; it ships with the brands our users track and
//! users can extend it (the store's `brand_alias` table, `--brand-alias`).

use std::collections::HashMap;

use rust_decimal::Decimal;

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

fn collapse_spaces(s: &str) -> String {
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
/// JSON number. Negative and non-numeric values are rejected.
pub fn parse_price(raw: &str) -> Option<Decimal> {
    let d: Decimal = raw.trim().parse().ok()?;
    (d >= Decimal::ZERO).then_some(d)
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
    }
}
