//! Any bytes as a Shopify `products.json` page: products or an error, never
//! a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use monitor::normalise::BrandTable;
use monitor::sources::shopify::{parse_page, PageContext};

fuzz_target!(|data: &[u8]| {
    let store = url::Url::parse("https://shop.example").unwrap();
    let brands = BrandTable::default();
    let ctx = PageContext { source: "fuzz", store: &store, currency: "USD", brands: &brands };
    if let Ok(products) = parse_page(data, &ctx) {
        for p in products {
            assert!(p.variants.iter().all(|v| !v.price.is_sign_negative()));
        }
    }
});
