//! Real product pages of each shape (tests/fixtures/pages, SOURCES.md says
//! where each comes from and what it says): several microdata offers, a
//! JSON-LD offer that OpenGraph contradicts, a sold-out page that hides its
//! price, a product listed once per size.

use rust_decimal::Decimal;
use url::Url;

use model::probe::Origin;
use model::{PageSettings, Product};

use super::{read_page, PageContext, PageError, Trace};
use crate::normalise::BrandTable;

fn page(name: &str) -> String {
    let path = format!("{}/tests/fixtures/pages/{name}", env!("CARGO_MANIFEST_DIR"));
    String::from_utf8_lossy(&std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
        .into_owned()
}

fn read(html: &str, previous: Option<&Product>) -> Result<(Product, Trace), PageError> {
    let url = Url::parse("https://shop.example/products/thing-1").expect("valid");
    let (brands, settings) = (BrandTable::default(), PageSettings::default());
    read_page(
        html,
        &PageContext {
            source: "shop",
            url: &url,
            currency: "EUR",
            brands: &brands,
            settings: &settings,
            previous,
        },
    )
}

/// (size, price, in stock) of every variant, in the page's order.
fn sizes(p: &Product) -> Vec<(String, Option<String>, bool)> {
    p.variants
        .iter()
        .map(|v| (v.size.clone(), v.price.map(|p| p.to_string()), v.available))
        .collect()
}

fn lowest_in_stock(p: &Product) -> Option<Decimal> {
    p.variants
        .iter()
        .filter(|v| v.available)
        .filter_map(|v| v.price)
        .min()
}

fn d(s: &str) -> Decimal {
    s.parse().expect("a decimal")
}

#[test]
fn every_microdata_offer_is_a_size_and_the_summary_offer_is_not() {
    let (p, t) = read(&page("monsterpetsupplies-microdata-multi-offer.html"), None).unwrap();
    let s = sizes(&p);
    assert_eq!(s.len(), 2, "{s:?}");
    assert!(s
        .iter()
        .any(|(size, price, ok)| size.contains("6 Treatment")
            && price.as_deref() == Some("9.56")
            && *ok));
    assert!(s
        .iter()
        .any(|(size, price, ok)| size.contains("3 Treatment")
            && price.as_deref() == Some("5.29")
            && *ok));
    assert_eq!((p.currency.as_str(), t.price), ("GBP", Origin::Microdata));

    // Two offers of one book: both are read, the lowest is what it costs.
    let (p, _) = read(&page("lafeltrinelli-microdata-two-offers.html"), None).unwrap();
    assert_eq!(p.variants.len(), 2);
    assert_eq!(lowest_in_stock(&p), Some(d("17.10")));

    // Offer-shaped related products outside any itemscope are not offers.
    let (p, _) = read(
        &page("bestbuyca-microdata-main-offer-plus-carousel-offers.html"),
        None,
    )
    .unwrap();
    assert_eq!(
        sizes(&p),
        vec![("One size".into(), Some("229.99".into()), true)]
    );
    assert_eq!(p.currency, "CAD");
}

#[test]
fn the_products_own_offer_wins_over_a_price_that_says_otherwise() {
    // OpenGraph 48,00 USD; the JSON-LD offer of the listing 43.90 EUR.
    let (p, t) = read(&page("etsy-og-vs-jsonld-price-mismatch.html"), None).unwrap();
    assert_eq!(lowest_in_stock(&p), Some(d("43.90")));
    assert_eq!((p.currency.as_str(), t.price), ("EUR", Origin::JsonLd));
    assert!(
        t.notes.len() == 1 && t.notes[0].contains("OpenGraph says 48.00"),
        "{:?}",
        t.notes
    );
    // OpenGraph's cheapest variant (16.90) against the microdata offer of
    // the product, the selected variant (27.90).
    let (p, t) = read(
        &page("happycoffee-og-vs-microdata-price-mismatch.html"),
        None,
    )
    .unwrap();
    assert_eq!(lowest_in_stock(&p), Some(d("27.90")));
    assert!(t.notes.iter().any(|n| n.contains("16.90")), "{:?}", t.notes);
    // OpenGraph lists 1148.00 with a sale price of 997.00, as the
    // microdata does: no disagreement.
    let (p, t) = read(
        &page("leroymerlin-og-list-vs-sale-price-mismatch.html"),
        None,
    )
    .unwrap();
    assert_eq!(lowest_in_stock(&p), Some(d("997.00")));
    assert!(t.notes.is_empty(), "{:?}", t.notes);
}

#[test]
fn a_page_listing_several_products_that_disagree_asks_for_a_selector() {
    let html = r#"<html><head><meta property="og:title" content="Winter sale">
<meta property="product:price:amount" content="99.00">
<script type="application/ld+json">[{"@type":"Product","name":"Scarf","offers":{"@type":"Offer","price":"20.00"}},
{"@type":"Product","name":"Hat","offers":{"@type":"Offer","price":"15.00"}}]</script></head><body><h1>Winter sale</h1></body></html>"#;
    match read(html, None) {
        Err(PageError::Unreadable(why)) => {
            assert!(
                why.contains("several products") && why.contains("CSS selector"),
                "{why}"
            )
        }
        other => panic!("{other:?}"),
    }
    // Named like the page: that one is its own, the other a related product.
    let named = html.replace("Winter sale", "Hat");
    let (p, t) = read(&named, None).unwrap();
    assert_eq!(lowest_in_stock(&p), Some(d("15.00")));
    assert_eq!(t.notes.len(), 1, "{:?}", t.notes);
}

#[test]
fn a_sold_out_page_hiding_its_price_is_tracked_and_keeps_a_known_price() {
    // JSON-LD `"price": "0"` and a microdata offer with only its stock.
    let html = page("getit-soldout-jsonld-price-zero-no-microdata-price.html");
    let (p, t) = read(&html, None).unwrap();
    assert_eq!(sizes(&p), vec![("One size".into(), None, false)]);
    assert_eq!(t.price, Origin::NotShown);
    assert!(!p.title.is_empty());
    // Read before at a price: that price stays, the size sold out.
    let mut known = p.clone();
    known.variants[0].price = Some(d("389.00"));
    known.variants[0].available = true;
    let (p, t) = read(&html, Some(&known)).unwrap();
    assert_eq!(
        sizes(&p),
        vec![("One size".into(), Some("389.00".into()), false)]
    );
    assert_eq!(t.price, Origin::LastRead);
    // OpenGraph that only says "out of stock".
    let og = r#"<meta property="og:title" content="Labubu Big Into Energy"><meta property="og:availability" content="out of stock">"#;
    let (p, _) = read(og, None).unwrap();
    assert_eq!(sizes(&p), vec![("One size".into(), None, false)]);
    // A page in stock without a price is not guessed at.
    let in_stock = r#"<meta property="og:availability" content="instock">"#;
    assert!(matches!(
        read(in_stock, None),
        Err(PageError::NothingFound(_))
    ));
    // No structured data at all (Amazon's "Actuellement indisponible."):
    // nothing is made up.
    assert!(read(&page("amazonfr-soldout-no-structured-data.html"), None).is_err());
}

#[test]
fn a_product_listed_once_per_size_gives_its_sizes() {
    // Zara: eight Product nodes named alike, one per size, SKU ending in it.
    let (p, _) = read(&page("zara-jsonld-product-per-size.html"), None).unwrap();
    let s = sizes(&p);
    let labels: Vec<&str> = s.iter().map(|(size, _, _)| size.as_str()).collect();
    assert_eq!(labels, ["35", "36", "37", "38", "39", "40", "41", "42"]);
    let in_stock: Vec<&str> = s
        .iter()
        .filter(|(_, _, ok)| *ok)
        .map(|(size, _, _)| size.as_str())
        .collect();
    assert_eq!(in_stock, ["36", "39"]);
    assert!(s
        .iter()
        .all(|(_, price, _)| price.as_deref() == Some("69.95")));
    // Zalando: one Product with nine offers; the cheapest price is only on
    // sold-out sizes, so what it costs in stock is 70.50.
    let (p, _) = read(&page("zalando-jsonld-multi-offer-sizes.html"), None).unwrap();
    assert_eq!(p.variants.len(), 9);
    assert_eq!(lowest_in_stock(&p), Some(d("70.5")));
    assert_eq!(p.variants.iter().filter(|v| v.available).count(), 4);
}
