//! schema.org JSON-LD on a product page, read without building a DOM:
//! every `Product` / `ProductGroup` node (through `@graph`, arrays and
//! nesting) with its offers, and which of them is the page's own product.

use rust_decimal::Decimal;
use serde_json::Value;
use url::Url;

use super::words::price_in;
use super::{Availability, Found, Offer};

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
        Value::Number(n) => Some(n.to_string()),
        Value::Array(a) => a.iter().find_map(text),
        Value::Object(o) => o
            .get("name")
            .or_else(|| o.get("@value"))
            .or_else(|| o.get("url"))
            .and_then(text),
        _ => None,
    }
}

fn type_is(v: &Value, names: &[&str]) -> bool {
    let is = |t: &Value| {
        t.as_str().is_some_and(|t| {
            names
                .iter()
                .any(|n| t.rsplit(['/', ':']).next() == Some(*n))
        })
    };
    match &v["@type"] {
        Value::Array(a) => a.iter().any(is),
        t => is(t),
    }
}

/// A price of structured data; zero is a placeholder (a sold-out page's
/// `"price": "0"`), not a price.
fn price_of(v: &Value) -> Option<Decimal> {
    match v {
        Value::Number(n) => price_in(&n.to_string()),
        Value::String(s) => price_in(s),
        _ => None,
    }
    .filter(|p| !p.is_zero())
}

fn offer_from(
    o: &Value,
    size: Option<String>,
    sku: Option<String>,
    id: Option<String>,
) -> Vec<Offer> {
    if let Value::Array(a) = o {
        return a
            .iter()
            .flat_map(|x| offer_from(x, size.clone(), sku.clone(), id.clone()))
            .collect();
    }
    if !o.is_object() {
        return vec![];
    }
    // AggregateOffer: its own offers when listed, else the lowest price.
    if type_is(o, &["AggregateOffer"]) {
        if let Some(inner) = o.get("offers").filter(|x| x.is_array() || x.is_object()) {
            let list = offer_from(inner, size.clone(), sku.clone(), id.clone());
            if !list.is_empty() {
                return list;
            }
        }
    }
    let price = o
        .get("price")
        .and_then(price_of)
        .or_else(|| o.get("lowPrice").and_then(price_of))
        .or_else(|| o.pointer("/priceSpecification/price").and_then(price_of))
        .or_else(|| {
            o.get("priceSpecification")
                .and_then(|p| p.as_array())
                .and_then(|a| a.iter().find_map(|p| p.get("price").and_then(price_of)))
        });
    let availability = o
        .get("availability")
        .and_then(text)
        .and_then(|a| Availability::from_schema(&a));
    if price.is_none() && availability.is_none() {
        return vec![];
    }
    let currency = o
        .get("priceCurrency")
        .or_else(|| o.pointer("/priceSpecification/priceCurrency"))
        .and_then(text)
        .map(|c| c.to_ascii_uppercase());
    vec![Offer {
        id: o.get("sku").and_then(text).or(id),
        size: o.pointer("/itemOffered/size").and_then(text).or(size),
        sku: o.get("sku").and_then(text).or(sku),
        price,
        currency,
        availability,
    }]
}

fn image_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Array(a) => a.iter().find_map(image_of),
        Value::Object(o) => o
            .get("url")
            .or_else(|| o.get("contentUrl"))
            .and_then(image_of),
        _ => None,
    }
}

fn product_from(p: &Value) -> Found {
    let mut f = Found {
        url: p.get("url").or_else(|| p.get("@id")).and_then(text),
        title: p.get("name").and_then(text),
        brand: p
            .get("brand")
            .and_then(text)
            .or_else(|| p.get("manufacturer").and_then(text)),
        image: p.get("image").and_then(image_of),
        sku: [
            "sku",
            "productID",
            "mpn",
            "gtin13",
            "gtin12",
            "gtin14",
            "gtin8",
            "gtin",
        ]
        .iter()
        .find_map(|k| p.get(*k).and_then(text)),
        offers: vec![],
    };
    if let Some(variants) = p.get("hasVariant").and_then(|v| v.as_array()) {
        for (i, v) in variants.iter().enumerate() {
            let size = v.get("size").and_then(text).or_else(|| {
                // "Dunk Low - 9.5" under "Dunk Low": the rest names the size.
                let (name, group) = (
                    v.get("name").and_then(text)?,
                    f.title.clone().unwrap_or_default(),
                );
                let rest = name
                    .strip_prefix(&group)
                    .unwrap_or(&name)
                    .trim_matches([' ', '-', '/', ',', '|'])
                    .to_string();
                Some(rest).filter(|r| !r.is_empty())
            });
            let sku = v.get("sku").and_then(text);
            let id = sku
                .clone()
                .or_else(|| v.get("@id").and_then(text))
                .or_else(|| Some(format!("v{}", i + 1)));
            if let Some(o) = v.get("offers") {
                f.offers.extend(offer_from(o, size, sku, id));
            }
        }
    }
    if f.offers.is_empty() {
        if let Some(o) = p.get("offers") {
            f.offers = offer_from(o, p.get("size").and_then(text), f.sku.clone(), None);
        }
    }
    f
}

/// Every Product / ProductGroup node in a JSON-LD document (through
/// `@graph`, arrays and nesting), outermost first.
fn products_in<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
    match v {
        Value::Array(a) => a.iter().for_each(|x| products_in(x, out)),
        Value::Object(o) => {
            if type_is(
                v,
                &[
                    "Product",
                    "ProductGroup",
                    "IndividualProduct",
                    "ProductModel",
                ],
            ) {
                out.push(v);
                return;
            }
            for (k, x) in o {
                if k != "@context" {
                    products_in(x, out);
                }
            }
        }
        _ => {}
    }
}

/// The `<script type="application/ld+json">` blocks, found without a DOM.
fn json_ld_blocks(html: &str) -> Vec<&str> {
    let mut out = vec![];
    let mut from = 0;
    while let Some(i) = find_ci(&html[from..], "ld+json") {
        let at = from + i;
        // It must be inside a <script ...> tag: the tag's end follows.
        let Some(open_end) = html[at..].find('>').map(|j| at + j + 1) else {
            break;
        };
        let tag_start = html[..at].rfind('<').unwrap_or(0);
        if !html[tag_start..at]
            .to_ascii_lowercase()
            .starts_with("<script")
        {
            from = open_end;
            continue;
        }
        let Some(close) = find_ci(&html[open_end..], "</script").map(|j| open_end + j) else {
            break;
        };
        out.push(html[open_end..close].trim());
        from = close;
    }
    out
}

/// Where `needle` (ASCII) first is in `hay`, in any case. Candidates are
/// found with `memchr` (SIMD) by one byte of the needle: its first byte that
/// is not a letter (so case does not matter and it is rare: the `+` of
/// `ld+json`, not every `l` of a page), else its first letter in either
/// case. A page is scanned at memory speed, not compared at every position.
pub(super) fn find_ci(hay: &str, needle: &str) -> Option<usize> {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    let k = n.iter().position(|c| !c.is_ascii_alphabetic()).unwrap_or(0);
    let anchor = *n.get(k)?;
    let mut from = k;
    while let Some(j) = h.get(from..).and_then(|rest| {
        memchr::memchr2(
            anchor.to_ascii_lowercase(),
            anchor.to_ascii_uppercase(),
            rest,
        )
    }) {
        let at = from + j - k;
        if h.get(at..at.saturating_add(n.len()))?
            .eq_ignore_ascii_case(n)
        {
            return Some(at);
        }
        from = from + j + 1;
    }
    None
}

/// JSON-LD as pages write it: sometimes with raw newlines or tabs inside
/// strings, or wrapped in `<!-- -->`.
fn parse_json_ld(block: &str) -> Option<Value> {
    let block = block
        .trim()
        .trim_start_matches("<!--")
        .trim_end_matches("-->")
        .trim();
    serde_json::from_str(block).ok().or_else(|| {
        let cleaned: String = block
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        serde_json::from_str(&cleaned).ok()
    })
}

/// Every product node the page's JSON-LD describes, in page order.
pub fn json_ld_products(html: &str) -> Vec<Found> {
    let mut out = vec![];
    for block in json_ld_blocks(html) {
        let Some(v) = parse_json_ld(block) else {
            continue;
        };
        let mut nodes = vec![];
        products_in(&v, &mut nodes);
        out.extend(nodes.into_iter().map(product_from));
    }
    out
}

/// What the JSON-LD says: the first product node with an offer (its
/// variants, if a group), else the first product node.
pub fn from_json_ld(html: &str) -> Option<Found> {
    main_product(json_ld_products(html), None, &[]).map(|m| m.found)
}

/// The product a page is about, among the JSON-LD's products.
pub struct MainProduct {
    pub found: Found,
    /// Whether it is clearly the page's own product: the only one with an
    /// offer, or the one whose address or name is the page's.
    pub clear: bool,
}

/// Picks the page's own product: the only one with an offer; else the one
/// whose `url` is the page's (`page`), else the one named like the page
/// (`titles`: its og:title, `<h1>`); else the first with an offer, not
/// clearly (a page listing related products may put them first).
pub fn main_product(all: Vec<Found>, page: Option<&Url>, titles: &[&str]) -> Option<MainProduct> {
    let with_offers: Vec<&Found> = all.iter().filter(|f| !f.offers.is_empty()).collect();
    let same_page = |f: &Found| {
        let (Some(page), Some(u)) = (page, f.url.as_deref()) else {
            return false;
        };
        page.join(u)
            .is_ok_and(|u| u.host_str() == page.host_str() && u.path() == page.path())
    };
    let same_name = |f: &Found| {
        f.title.as_deref().is_some_and(|t| {
            titles
                .iter()
                .any(|x| !x.trim().is_empty() && x.trim().eq_ignore_ascii_case(t.trim()))
        })
    };
    let (found, clear) = match with_offers.as_slice() {
        [] => (all.first()?, false),
        [only] => (*only, true),
        many @ [first, ..] => {
            let alike = many
                .iter()
                .all(|f| f.title.is_some() && f.title == first.title);
            match many
                .iter()
                .find(|f| same_page(f))
                .or_else(|| many.iter().find(|f| same_name(f)))
            {
                Some(f) => (*f, true),
                None => (*first, alike),
            }
        }
    };
    let mut found = found.clone();
    // One product listed once per size (a product node per size, all
    // named alike): its offers are the sizes.
    let alike: Vec<&Found> = with_offers
        .iter()
        .copied()
        .filter(|f| f.title.is_some() && f.title == found.title)
        .collect();
    if clear && alike.len() > 1 {
        // (A page that repeats its product in two blocks lists each offer once.)
        let mut offers: Vec<Offer> = vec![];
        for o in alike.iter().flat_map(|f| f.offers.iter()) {
            if !offers.contains(o) {
                offers.push(o.clone());
            }
        }
        found.offers = offers;
    }
    name_sizes_by_sku(&mut found.offers);
    Some(MainProduct { found, clear })
}

/// Offers that name no size but whose SKUs differ only after a common
/// stem ("84518927-040-35", "84518927-040-36"): the rest is the size.
pub(super) fn name_sizes_by_sku(offers: &mut [Offer]) {
    if offers.len() < 2 || offers.iter().any(|o| o.size.is_some()) {
        return;
    }
    let skus: Vec<&str> = offers.iter().filter_map(|o| o.sku.as_deref()).collect();
    let (Some(first), true) = (skus.first(), skus.len() == offers.len()) else {
        return;
    };
    let mut stem = first.len();
    for s in &skus {
        stem = stem.min(
            first
                .bytes()
                .zip(s.bytes())
                .take_while(|(a, b)| a == b)
                .count(),
        );
    }
    // Cut the stem at its last separator, so "…-35" and "…-36" give whole sizes.
    let Some(cut) = first
        .get(..stem)
        .and_then(|s| s.rfind(['-', '_', '/', '.', ' ']))
        .map(|i| i + 1)
    else {
        return;
    };
    let rests: Vec<String> = skus
        .iter()
        .map(|s| s.get(cut..).unwrap_or("").to_string())
        .collect();
    if rests.iter().any(|r| r.is_empty() || r.len() > 12) {
        return;
    }
    for (o, rest) in offers.iter_mut().zip(rests) {
        o.size = Some(rest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(title: &str, url: Option<&str>, price: &str) -> Found {
        Found {
            title: Some(title.into()),
            url: url.map(str::to_string),
            offers: vec![Offer {
                id: None,
                size: None,
                sku: None,
                price: price.parse().ok(),
                currency: None,
                availability: None,
            }],
            ..Found::default()
        }
    }

    #[test]
    fn the_pages_own_product_is_told_by_its_address_or_name() {
        let page = Url::parse("https://shop.example/products/jacket?ref=x").unwrap();
        let related = found("Scarf", Some("/products/scarf"), "20");
        let own = found(
            "Jacket",
            Some("https://shop.example/products/jacket"),
            "249",
        );
        let m = main_product(vec![related.clone(), own.clone()], Some(&page), &[]).unwrap();
        assert!(m.clear);
        assert_eq!(m.found.title.as_deref(), Some("Jacket"));
        let unnamed = found("Jacket", None, "249");
        let m = main_product(vec![related.clone(), unnamed], Some(&page), &[" jacket "]).unwrap();
        assert!(m.clear && m.found.title.as_deref() == Some("Jacket"));
        // Neither: the first, but not clearly.
        let other = found("Hat", None, "15");
        let m = main_product(vec![related.clone(), other], Some(&page), &["Coat"]).unwrap();
        assert!(!m.clear && m.found.title.as_deref() == Some("Scarf"));
        // The only product with an offer is clearly the page's.
        let m = main_product(vec![Found::default(), related.clone()], None, &[]).unwrap();
        assert!(m.clear);
        // The same product in two blocks: its offer once.
        let m = main_product(vec![related.clone(), related], None, &[]).unwrap();
        assert!(m.clear && m.found.offers.len() == 1);
        assert!(main_product(vec![], None, &[]).is_none());
    }
}
