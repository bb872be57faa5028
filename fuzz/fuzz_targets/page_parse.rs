//! Any bytes as a product page: the "page" connector must answer a product or
//! an error in words, never panic (with and without the user's selectors).
#![no_main]

use libfuzzer_sys::fuzz_target;
use model::PageSettings;
use monitor::normalise::BrandTable;
use monitor::sources::page::{parse_page, price_in, stock_from_text, PageContext};

fuzz_target!(|data: &[u8]| {
    let html = String::from_utf8_lossy(data);
    let url = url::Url::parse("https://shop.example/products/x").unwrap();
    let brands = BrandTable::default();
    let plain = PageSettings::default();
    let with_selectors = PageSettings {
        price_selector: Some(".price, [itemprop=price]".into()),
        stock_selector: Some("button".into()),
        ..PageSettings::default()
    };
    for settings in [&plain, &with_selectors] {
        let ctx = PageContext { source: "fuzz", url: &url, currency: "USD", brands: &brands, settings, previous: None };
        if let Ok(p) = parse_page(&html, &ctx) {
            assert!(!p.variants.is_empty());
            assert!(p.variants.iter().all(|v| !v.price.is_sign_negative()));
        }
    }
    let _ = price_in(&html);
    let _ = stock_from_text(&html, &plain);
});
