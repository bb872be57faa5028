//! Any bytes as a WooCommerce Store API answer (the product list, and the
//! same bytes as the variations answer): products or an error, never a
//! panic; every price read is positive and every product has a size.
#![no_main]

use libfuzzer_sys::fuzz_target;
use monitor::normalise::BrandTable;
use monitor::sources::woocommerce::{parse_page, PageContext};

fuzz_target!(|data: &[u8]| {
    let shop = url::Url::parse("https://shop.example").unwrap();
    let brands = BrandTable::default();
    let ctx = PageContext { source: "fuzz", shop: &shop, currency: "USD", brands: &brands };
    let variations = vec![data.to_vec()];
    for answers in [&[][..], &variations[..]] {
        if let Ok(products) = parse_page(data, answers, &ctx) {
            for p in products {
                assert!(!p.variants.is_empty());
                assert!(p.variants.iter().all(|v| v.price.is_some_and(|x| !x.is_sign_negative())));
            }
        }
    }
});
