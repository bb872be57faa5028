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
}

impl MatchedBy {
    pub fn describe(self) -> &'static str {
        match self {
            MatchedBy::Gtin => "same GTIN",
            MatchedBy::StyleCode => "same style code",
            MatchedBy::BrandAndModel => "same brand and model name",
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
        if end + 4 <= n && b[end] == b'-' && b[end + 1..end + 4].iter().all(u8::is_ascii_digit) && boundary(end + 4) {
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

const NOISE: &[&str] = &["men", "mens", "women", "womens", "unisex", "kids", "shoes", "shoe", "sneakers", "sneaker", "the", "and", "new", "gs", "ps", "td"];

/// Brand + model name, normalised: lower case, letters and digits, the
/// brand's own words and noise words dropped, in order.
pub fn model_key(p: &Product) -> Option<String> {
    let brand = p.brand.to_lowercase();
    let brand_words: Vec<String> = brand.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_string).collect();
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
                .map(|s| Variant { id: s.to_string(), size: "9".into(), sku: Some(s.to_string()), price: 100.into(), compare_at: None, available: true, cart_url: None })
                .collect(),
            first_seen: now,
            updated: now,
            removed: false,
            last_change: None,
        }
    }

    #[test]
    fn style_codes_in_skus_and_titles() {
        assert_eq!(style_code("Nike Dunk Low Retro DD1391-100"), Some("DD1391-100".into()));
        assert_eq!(style_code("dd1391-100-9.5"), Some("DD1391-100".into()));
        assert_eq!(style_code("adidas Samba OG (B75806)"), None, "one letter: not this pattern");
        assert_eq!(style_code("Yeezy Slide GW2871"), Some("GW2871".into()));
        assert_eq!(style_code("XDD1391-100"), None);
        assert_eq!(style_code("AB12345"), None);
        assert_eq!(style_code("size 10"), None);
    }

    #[test]
    fn same_item_by_gtin_style_code_or_brand_and_model() {
        let a = product("kith", "Nike Dunk Low Panda", "Nike", &["00194502876000"]);
        let b = product("snkrs", "Dunk Low 'Panda'", "Nike", &["194502876000"]);
        assert_eq!(same_item(&a, &b), Some(MatchedBy::Gtin), "UPC-A and its EAN-14 form");
        let c = product("x", "Dunk Low Retro White Black", "Nike", &["DD1391-100-9"]);
        let d = product("y", "NIKE DUNK LOW (DD1391-100)", "Nike", &[]);
        assert_eq!(same_item(&c, &d), Some(MatchedBy::StyleCode));
        let e = product("z", "Dunk Low Retro White Black", "Nike", &["DD1503-101-9"]);
        assert_eq!(same_item(&c, &e), None, "different style codes");
        let f = product("p", "The Monsters Labubu Big Into Energy Series", "POP MART", &[]);
        let g = product("q", "POP MART the monsters — Labubu Big Into Energy series", "POP MART", &[]);
        assert_eq!(same_item(&f, &g), Some(MatchedBy::BrandAndModel));
        let h = product("q", "Labubu Big Into Energy", "POP MART", &[]);
        assert_eq!(same_item(&f, &h), None);
        assert_eq!(same_item(&f, &f), None, "same source");
    }
}
