//! Any bytes as the answer of an API connector: Oxylabs (an Amazon result),
//! Pop Mart (a product's details) and a generic JSON API through a mapping
//! with sizes and a next-page link. Products or an error, never a panic.
#![no_main]

use std::collections::HashMap;

use libfuzzer_sys::fuzz_target;
use model::{AmazonSettings, JsonMapping, PopmartSettings};
use monitor::normalise::BrandTable;
use monitor::sources::{amazon, json, popmart};

fuzz_target!(|data: &[u8]| {
    let brands = BrandTable::default();
    // The generic JSON connector reads the bytes itself.
    let url = url::Url::parse("https://api.example/v1/items").unwrap();
    let mapping = JsonMapping::from_lines(
        "items = $.data[*]\nid = /id\ntitle = /name\nprice = /price\nstock = /stock\nvariants = /sizes\nvariant_size = /size\nvariant_price = /price\nvariant_stock = /stock\nnext = $.links.next",
        "",
    )
    .unwrap();
    let ctx = json::JsonContext { source: "fuzz", url: &url, currency: "USD", brands: &brands, mapping: &mapping };
    let _ = json::parse_page(data, &ctx);

    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    let settings = AmazonSettings { asins: vec!["B00JTX7SH2".into()], domain: "com".into(), geo_location: None };
    let previous = HashMap::new();
    let actx = amazon::AmazonContext { source: "fuzz", settings: &settings, currency: "USD", brands: &brands, previous: &previous };
    if let Ok(p) = amazon::parse_result(&value, "B00JTX7SH2", &actx) {
        assert!(p.variants.iter().all(|v| v.price > model::Decimal::ZERO));
    }
    let pm = PopmartSettings { region: "HK".into(), watch: "products".into(), target: "1".into() };
    let _ = popmart::product(&value, "fuzz", &pm, "HKD");
});
