//! Real `products.json` captures (fixtures/shopify-products, see
//! SOURCES.md there) parse to exactly the products, variants, prices and
//! availability they contain. Each file is also read independently as plain
//! JSON and compared field by field.

use std::path::PathBuf;

use monitor::normalise::BrandTable;
use monitor::sources::shopify::{parse_page, PageContext};
use rust_decimal::Decimal;
use serde_json::Value;
use url::Url;

fn fixture(name: &str) -> Vec<u8> {
    let dir = std::env::var("DROPWATCH_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures"));
    let path = dir.join("shopify-products").join(name);
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!("fixture {} is missing ({e}); they are in the repository under fixtures/, or set DROPWATCH_FIXTURES", path.display())
    })
}

fn dec(v: &Value) -> Option<Decimal> {
    v.as_str().map(|s| s.parse().unwrap())
}

/// Parses with the connector and checks every product and variant against the raw JSON.
fn check(name: &str, currency: &str) -> Vec<model::Product> {
    let body = fixture(name);
    let raw: Value = serde_json::from_slice(&body).unwrap();
    let store = Url::parse("https://shop.example").unwrap();
    let brands = BrandTable::default();
    let ctx = PageContext {
        source: "s",
        store: &store,
        currency,
        brands: &brands,
    };
    let products = parse_page(&body, &ctx).expect("the capture parses");
    let raw_products = raw["products"].as_array().unwrap();
    assert_eq!(products.len(), raw_products.len());
    for (p, r) in products.iter().zip(raw_products) {
        assert_eq!(p.external_id, r["id"].as_u64().unwrap().to_string());
        assert_eq!(p.title, r["title"].as_str().unwrap().trim());
        assert_eq!(
            p.url,
            format!(
                "https://shop.example/products/{}",
                r["handle"].as_str().unwrap()
            )
        );
        assert_eq!(p.currency, currency);
        let rv = r["variants"].as_array().unwrap();
        assert_eq!(p.variants.len(), rv.len(), "{}", p.title);
        for (v, x) in p.variants.iter().zip(rv) {
            assert_eq!(v.id, x["id"].as_u64().unwrap().to_string());
            assert_eq!(v.price, dec(&x["price"]));
            assert_eq!(v.compare_at, dec(&x["compare_at_price"]));
            assert_eq!(v.available, x["available"].as_bool().unwrap());
            assert_eq!(
                v.cart_url.as_deref(),
                Some(format!("https://shop.example/cart/add?id={}", v.id).as_str())
            );
        }
    }
    products
}

fn variants(ps: &[model::Product]) -> impl Iterator<Item = &model::Variant> {
    ps.iter().flat_map(|p| p.variants.iter())
}

#[test]
fn annie_thompson_page() {
    let ps = check("anniethompson-products-page1.json", "CAD");
    assert_eq!(ps.len(), 184);
    assert_eq!(variants(&ps).count(), 659);
    assert_eq!(variants(&ps).filter(|v| v.available).count(), 346);
    assert_eq!(variants(&ps).filter(|v| !v.available).count(), 313);
    assert_eq!(
        ps.iter().filter(|p| p.sizes_in_stock().is_empty()).count(),
        34
    );
    assert_eq!(
        variants(&ps).filter(|v| v.compare_at.is_none()).count(),
        147
    );
    // Shopify's "Default Title" (a product without options, 25 of them) and
    // "O/S" (2) read as one size.
    assert_eq!(variants(&ps).filter(|v| v.size == "One size").count(), 27);
    assert!(ps.iter().all(|p| p.brand == "Annie Thompson"));
    // Multi-option variants keep their whole label, e.g. "SM / Black/grey cool wool pinstripe".
    assert!(variants(&ps).any(|v| v.size.contains(" / ")));
}

#[test]
fn hades_culture_raw_minified_with_escapes() {
    let ps = check("hadesculture-products-raw-minified.json", "INR");
    assert_eq!(ps.len(), 9);
    assert_eq!(variants(&ps).count(), 38);
    assert!(variants(&ps).all(|v| v.available));
    assert!(variants(&ps).all(|v| v.compare_at.is_some()));
    // "" SKUs are no SKU, and `\/`-escaped image URLs come out plain.
    assert!(variants(&ps).all(|v| v.sku.is_none()));
    assert!(ps.iter().all(|p| p
        .image
        .as_deref()
        .unwrap()
        .starts_with("https://cdn.shopify.com/")));
    let ace = ps.iter().find(|p| p.title == "Bronze Ace").unwrap();
    assert_eq!(ace.currency, "INR");
}

#[test]
fn kith_placeholders_all_sold_out() {
    let ps = check("kith-products-capture1-all-soldout.json", "USD");
    assert_eq!(ps.len(), 30);
    assert_eq!(variants(&ps).count(), 131);
    assert!(variants(&ps).all(|v| !v.available));
    assert!(variants(&ps).all(|v| v.compare_at.is_none()));
    let min = variants(&ps).filter_map(|v| v.price).min().unwrap();
    let max = variants(&ps).filter_map(|v| v.price).max().unwrap();
    // (SOURCES.md says 445.00–1495.00; the capture itself runs 245.00–4995.00.)
    assert_eq!(
        (min.to_string(), max.to_string()),
        ("245.00".into(), "4995.00".into())
    );
    // "Kith Women" is the brand Kith.
    assert!(ps.iter().all(|p| p.brand == "Kith"));
}
