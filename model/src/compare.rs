//! Cross-store matching: whether two products in different sources are the
//! same item. By GTIN/UPC/EAN (a variant SKU of 8, 12, 13 or 14 digits),
//! else by a style code in a SKU or the title (Nike's `DD1391-100`, adidas'
//! `GW2871`), else by normalised brand + model name. Pure functions, shared
//! by the engine and the browser.

use crate::Product;

/// Why two products were taken to be the same item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MatchedBy {
    Gtin,
    StyleCode,
    BrandAndModel,
    /// A user said they are the same item.
    ByHand,
}

impl MatchedBy {
    pub fn describe(self) -> &'static str {
        match self {
            MatchedBy::Gtin => "same GTIN",
            MatchedBy::StyleCode => "same style code",
            MatchedBy::BrandAndModel => "same brand and model name",
            MatchedBy::ByHand => "confirmed by hand",
        }
    }
}

fn is_gtin(s: &str) -> bool {
    matches!(s.len(), 8 | 12 | 13 | 14) && s.bytes().all(|b| b.is_ascii_digit())
}

/// The product's GTINs (from its variants' SKUs).
pub fn gtins(p: &Product) -> Vec<String> {
    let mut out: Vec<String> = p
        .variants
        .iter()
        .filter_map(|v| v.sku.as_deref().map(str::trim))
        .filter(|s| is_gtin(s))
        // UPC-A is EAN-13 with a leading zero.
        .map(|s| format!("{s:0>14}"))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// A style code in `text`: two letters and four digits, with an optional
/// "-" and three digits (DD1391-100, GW2871). Upper-cased.
pub fn style_code(text: &str) -> Option<String> {
    let b = text.as_bytes();
    let n = b.len();
    let boundary = |i: usize| i >= n || !b[i].is_ascii_alphanumeric();
    for i in 0..n.saturating_sub(5) {
        if i > 0 && b[i - 1].is_ascii_alphanumeric() {
            continue;
        }
        if !(b[i].is_ascii_alphabetic() && b[i + 1].is_ascii_alphabetic()) {
            continue;
        }
        if !b[i + 2..i + 6].iter().all(u8::is_ascii_digit) {
            continue;
        }
        let mut end = i + 6;
        if end + 4 <= n
            && b[end] == b'-'
            && b[end + 1..end + 4].iter().all(u8::is_ascii_digit)
            && boundary(end + 4)
        {
            end += 4;
        } else if !boundary(end) {
            continue;
        }
        return Some(text[i..end].to_ascii_uppercase());
    }
    None
}

/// The product's style code, from a variant SKU ("DD1391-100-9") or its title.
pub fn product_style_code(p: &Product) -> Option<String> {
    p.variants
        .iter()
        .filter_map(|v| v.sku.as_deref())
        .find_map(style_code)
        .or_else(|| style_code(&p.title))
}

/// The model family of a style code: the part before the colourway
/// ("DD1391-100" -> "DD1391"). Nike, Jordan and others keep it across a
/// model's colourways, so two products of one brand sharing it are the same
/// model in another colour (related, not the same item).
pub fn style_family(code: &str) -> &str {
    code.split('-').next().unwrap_or(code)
}

/// The product's model family (see [`style_family`]), if it has a style code.
pub fn product_style_family(p: &Product) -> Option<String> {
    product_style_code(p).map(|c| style_family(&c).to_string())
}

const NOISE: &[&str] = &[
    "men", "mens", "women", "womens", "unisex", "kids", "shoes", "shoe", "sneakers", "sneaker",
    "the", "and", "new", "gs", "ps", "td",
];

/// Brand + model name, normalised: lower case, letters and digits, the
/// brand's own words and noise words dropped, in order.
pub fn model_key(p: &Product) -> Option<String> {
    let brand = p.brand.to_lowercase();
    let brand_words: Vec<String> = brand
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect();
    let words: Vec<String> = p
        .title
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty() && !NOISE.contains(w) && !brand_words.iter().any(|b| b == w))
        .map(str::to_string)
        .collect();
    if brand.trim().is_empty() || words.is_empty() {
        return None;
    }
    Some(format!("{}|{}", brand_words.join(" "), words.join(" ")))
}

/// Whether `a` and `b` (from different sources) are the same item, and why.
pub fn same_item(a: &Product, b: &Product) -> Option<MatchedBy> {
    if a.source == b.source {
        return None;
    }
    let (ga, gb) = (gtins(a), gtins(b));
    if ga.iter().any(|g| gb.contains(g)) {
        return Some(MatchedBy::Gtin);
    }
    if let (Some(x), Some(y)) = (product_style_code(a), product_style_code(b)) {
        // Two different style codes: different items, whatever the names say.
        return (x == y).then_some(MatchedBy::StyleCode);
    }
    match (model_key(a), model_key(b)) {
        (Some(x), Some(y)) if x == y => Some(MatchedBy::BrandAndModel),
        _ => None,
    }
}

/// A user's verdicts on pairs of products: same item (confirm, merge) or
/// not (split). Keys are ordered pairs of product keys.
pub type Verdicts = std::collections::HashMap<(String, String), bool>;

/// The verdict key of two products, in either order.
pub fn pair(a: &str, b: &str) -> (String, String) {
    if a <= b {
        (a.to_string(), b.to_string())
    } else {
        (b.to_string(), a.to_string())
    }
}

/// Whether `a` and `b` are the same item, the user's verdict first.
pub fn same_item_judged(a: &Product, b: &Product, verdicts: &Verdicts) -> Option<MatchedBy> {
    if a.source == b.source {
        return None;
    }
    match verdicts.get(&pair(&a.key, &b.key)) {
        Some(true) => Some(MatchedBy::ByHand),
        Some(false) => None,
        None => same_item(a, b),
    }
}

/// Finds each product's matches among many without comparing every pair:
/// products are indexed by GTIN, style code and brand + model, and only
/// those sharing a key (or a verdict) are compared.
pub struct MatchIndex<'a> {
    products: Vec<&'a Product>,
    by_key: std::collections::HashMap<String, Vec<usize>>,
    verdicts: &'a Verdicts,
    /// Each product's partners a user said are the same item.
    by_hand: std::collections::HashMap<&'a str, Vec<&'a str>>,
}

impl<'a> MatchIndex<'a> {
    pub fn new(products: Vec<&'a Product>, verdicts: &'a Verdicts) -> MatchIndex<'a> {
        let mut by_key: std::collections::HashMap<String, Vec<usize>> = Default::default();
        for (i, p) in products.iter().enumerate() {
            let mut keys: Vec<String> = gtins(p).into_iter().map(|g| format!("g:{g}")).collect();
            if let Some(c) = product_style_code(p) {
                keys.push(format!("s:{c}"));
            }
            if let Some(m) = model_key(p) {
                keys.push(format!("m:{m}"));
            }
            keys.push(format!("k:{}", p.key));
            for k in keys {
                by_key.entry(k).or_default().push(i);
            }
        }
        let mut by_hand: std::collections::HashMap<&'a str, Vec<&'a str>> = Default::default();
        for ((a, b), same) in verdicts {
            if *same {
                by_hand.entry(a.as_str()).or_default().push(b.as_str());
                by_hand.entry(b.as_str()).or_default().push(a.as_str());
            }
        }
        MatchIndex {
            products,
            by_key,
            verdicts,
            by_hand,
        }
    }

    /// The products that are the same item as `p`, and why.
    pub fn matches(&self, p: &Product) -> Vec<(&'a Product, MatchedBy)> {
        let mut candidates: Vec<usize> = vec![];
        let mut keys: Vec<String> = gtins(p).into_iter().map(|g| format!("g:{g}")).collect();
        keys.extend(product_style_code(p).map(|c| format!("s:{c}")));
        keys.extend(model_key(p).map(|m| format!("m:{m}")));
        for other in self.by_hand.get(p.key.as_str()).into_iter().flatten() {
            keys.push(format!("k:{other}"));
        }
        for k in keys {
            if let Some(ids) = self.by_key.get(&k) {
                candidates.extend(ids);
            }
        }
        candidates.sort_unstable();
        candidates.dedup();
        candidates
            .into_iter()
            .map(|i| self.products[i])
            .filter(|o| o.key != p.key)
            .filter_map(|o| same_item_judged(p, o, self.verdicts).map(|why| (o, why)))
            .collect()
    }
}

/// How far apart the in-stock prices of one item are across stores (same
/// currency only): `None` unless at least two stores have it in stock.
pub fn spread(me: &Product, others: &[&Product]) -> Option<crate::Spread> {
    let mut prices: Vec<rust_decimal::Decimal> = std::iter::once(me)
        .chain(others.iter().copied())
        .filter(|p| !p.removed && p.currency == me.currency)
        .filter_map(Product::lowest_in_stock)
        .collect();
    if prices.len() < 2 {
        return None;
    }
    prices.sort();
    let (low, high) = (prices[0], prices[prices.len() - 1]);
    // Checked: prices stored before the bounds existed may be anything.
    let percent = high
        .checked_sub(low)
        .and_then(|gap| crate::money::percent_of(gap, low))
        .unwrap_or(rust_decimal::Decimal::ZERO);
    Some(crate::Spread {
        stores: prices.len() as u32,
        low,
        high,
        percent,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Variant;

    fn product(source: &str, title: &str, brand: &str, skus: &[&str]) -> Product {
        let now = chrono::Utc::now();
        Product {
            key: format!("{source}:1"),
            source: source.into(),
            external_id: "1".into(),
            title: title.into(),
            brand: brand.into(),
            product_type: String::new(),
            tags: vec![],
            url: String::new(),
            image: None,
            currency: "USD".into(),
            variants: skus
                .iter()
                .map(|s| Variant {
                    id: s.to_string(),
                    size: "9".into(),
                    sku: Some(s.to_string()),
                    price: Some(100.into()),
                    compare_at: None,
                    available: true,
                    cart_url: None,
                })
                .collect(),
            first_seen: now,
            updated: now,
            removed: false,
            last_change: None,
            facts: Default::default(),
        }
    }

    #[test]
    fn style_codes_in_skus_and_titles() {
        assert_eq!(
            style_code("Nike Dunk Low Retro DD1391-100"),
            Some("DD1391-100".into())
        );
        assert_eq!(style_code("dd1391-100-9.5"), Some("DD1391-100".into()));
        assert_eq!(
            style_code("adidas Samba OG (B75806)"),
            None,
            "one letter: not this pattern"
        );
        assert_eq!(style_code("Yeezy Slide GW2871"), Some("GW2871".into()));
        assert_eq!(style_code("XDD1391-100"), None);
        assert_eq!(style_code("AB12345"), None);
        assert_eq!(style_code("size 10"), None);
        assert_eq!(style_family("DD1391-100"), "DD1391");
        assert_eq!(style_family("GW2871"), "GW2871");
        let panda = product("x", "Dunk Low Panda", "Nike", &["DD1391-100-9"]);
        let grey = product("x", "Dunk Low Grey Fog", "Nike", &["DD1391-103-9"]);
        assert_eq!(product_style_family(&panda), product_style_family(&grey));
        assert_eq!(product_style_family(&panda), Some("DD1391".into()));
        assert_eq!(
            same_item(
                &panda,
                &product("y", "Dunk Low Grey Fog", "Nike", &["DD1391-103"])
            ),
            None,
            "another colourway is a relative, not the same item"
        );
    }

    #[test]
    fn same_item_by_gtin_style_code_or_brand_and_model() {
        let a = product("kith", "Nike Dunk Low Panda", "Nike", &["00194502876000"]);
        let b = product("snkrs", "Dunk Low 'Panda'", "Nike", &["194502876000"]);
        assert_eq!(
            same_item(&a, &b),
            Some(MatchedBy::Gtin),
            "UPC-A and its EAN-14 form"
        );
        let c = product("x", "Dunk Low Retro White Black", "Nike", &["DD1391-100-9"]);
        let d = product("y", "NIKE DUNK LOW (DD1391-100)", "Nike", &[]);
        assert_eq!(same_item(&c, &d), Some(MatchedBy::StyleCode));
        let e = product("z", "Dunk Low Retro White Black", "Nike", &["DD1503-101-9"]);
        assert_eq!(same_item(&c, &e), None, "different style codes");
        let f = product(
            "p",
            "The Monsters Labubu Big Into Energy Series",
            "POP MART",
            &[],
        );
        let g = product(
            "q",
            "POP MART the monsters — Labubu Big Into Energy series",
            "POP MART",
            &[],
        );
        assert_eq!(same_item(&f, &g), Some(MatchedBy::BrandAndModel));
        let h = product("q", "Labubu Big Into Energy", "POP MART", &[]);
        assert_eq!(same_item(&f, &h), None);
        assert_eq!(same_item(&f, &f), None, "same source");
    }
}
