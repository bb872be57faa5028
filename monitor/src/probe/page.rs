//! A product page in a probe: what each kind of structured data on it says
//! (the evidence), what the page connector makes of it with where each
//! value came from (`sources::page::read_page`), and why anything is
//! missing, in words that say what to do.

use url::Url;

use model::probe::{Evidence, Fact, Field, Origin, ProbeKind, ProbeProduct, ProbeVerdict};
use model::{PageSettings, Probe, Product};

use crate::normalise::{check_product, BrandTable};
use crate::sources::page::{self, Availability, Found, Meta, Offer, PageContext, PageError, Trace};

/// Reads `html` as polling would read the page at `url`, into `probe`.
pub(super) fn read(
    probe: &mut Probe,
    html: &str,
    url: &Url,
    currency: &str,
    brands: &BrandTable,
    settings: &PageSettings,
) {
    probe.kind = Some(ProbeKind::Page);
    let json_ld = page::from_json_ld(html);
    let meta = page::from_tags(html);
    let said = evidence(json_ld.as_ref(), &meta);
    let ctx = PageContext {
        source: "probe",
        url,
        currency,
        brands,
        settings,
        previous: None,
    };
    match page::read_page(html, &ctx) {
        Ok((mut product, trace)) => match check_product(&mut product) {
            Err(e) => {
                probe.verdict = ProbeVerdict::Unreadable;
                probe.error = Some(format!("{e}; polling would skip this product"));
            }
            Ok(()) => {
                probe.verdict = ProbeVerdict::Tracks;
                missing(probe, &trace, currency, &said);
                probe.products.push(tracked(&product, &trace));
                probe.notes.extend(trace.notes);
            }
        },
        Err(PageError::Blocked(why)) => {
            probe.verdict = ProbeVerdict::Blocked;
            probe.error = Some(why);
        }
        Err(e @ PageError::NothingFound(_)) => {
            probe.verdict = ProbeVerdict::Unreadable;
            probe.error = Some(e.to_string());
            probe.miss(Field::Price, no_price(json_ld.as_ref()));
        }
        Err(e) => {
            probe.verdict = ProbeVerdict::Unreadable;
            probe.error = Some(e.to_string());
        }
    }
    probe.evidence = said;
}

/// What JSON-LD, microdata and OpenGraph each say.
fn evidence(json_ld: Option<&Found>, meta: &Meta) -> Vec<Evidence> {
    let ld = Evidence {
        from: Origin::JsonLd,
        present: json_ld.is_some(),
        title: json_ld.and_then(|f| f.title.clone()),
        price: json_ld.and_then(|f| f.offers.iter().filter_map(|o| o.price).min()),
        currency: json_ld.and_then(|f| f.offers.iter().find_map(|o| o.currency.clone())),
        availability: json_ld.and_then(|f| offers_stock(&f.offers)),
        offers: json_ld.map_or(0, |f| f.offers.len()),
    };
    let og_title = meta
        .title
        .clone()
        .filter(|_| meta.title_from == Some(Origin::OpenGraph));
    vec![
        ld,
        offer_evidence(Origin::Microdata, &meta.microdata, None),
        offer_evidence(Origin::OpenGraph, meta.opengraph.as_slice(), og_title),
    ]
}

fn offer_evidence(from: Origin, offers: &[Offer], title: Option<String>) -> Evidence {
    Evidence {
        from,
        present: !offers.is_empty(),
        title,
        price: offers.iter().filter_map(|o| o.price).min(),
        currency: offers.iter().find_map(|o| o.currency.clone()),
        availability: offers_stock(offers),
        offers: offers.len(),
    }
}

/// The stock of a list of offers: one's in words, or how many can be had.
fn offers_stock(offers: &[Offer]) -> Option<String> {
    let said: Vec<Availability> = offers.iter().filter_map(|o| o.availability).collect();
    match said.as_slice() {
        [] => None,
        [one] => Some(stock_words(*one).to_string()),
        all => Some(format!(
            "{} of {} offers available",
            all.iter()
                .filter(|a| **a != Availability::OutOfStock)
                .count(),
            all.len()
        )),
    }
}

fn stock_words(a: Availability) -> &'static str {
    match a {
        Availability::InStock => "in stock",
        Availability::OutOfStock => "sold out",
        Availability::Later => "orderable later (pre-order, back-order)",
    }
}

/// Why no price was found: what each kind of data lacks, and what to do.
fn no_price(json_ld: Option<&Found>) -> String {
    let ld = match json_ld {
        None => "no JSON-LD Product",
        Some(f) if f.offers.is_empty() => "a JSON-LD Product without an offer",
        Some(_) => "a JSON-LD offer without a price",
    };
    format!("{ld}, no microdata price, no og:price:amount: give a CSS selector for the price")
}

/// What the page does not say, from where each value came from (and, for
/// the stock, whether another kind of data says it).
fn missing(probe: &mut Probe, trace: &Trace, currency: &str, said: &[Evidence]) {
    if trace.title == Origin::Address {
        probe.miss(
            Field::Title,
            "no JSON-LD name, og:title, <h1> or <title>: the address stands for the title",
        );
    }
    if trace.brand.is_none() {
        probe.miss(
            Field::Brand,
            "no brand: only a JSON-LD Product's brand is read, and this page names none",
        );
    }
    if trace.currency == Origin::SourceCurrency {
        probe.miss(
            Field::Currency,
            format!("the page does not say its currency (no priceCurrency, no product:price:currency): {currency} is assumed; give the source's currency if the shop sells in another"),
        );
    }
    if trace.stock == Origin::Assumed {
        // The stock is read from the data the price came from; another
        // kind's stock is not used.
        let elsewhere = said
            .iter()
            .find_map(|e| Some((e.from.label(), e.availability.as_deref()?)));
        let why = match elsewhere {
            None => "the page does not say the stock (no schema.org availability, no og:availability): a shown price counts as in stock".to_string(),
            Some((from, stock)) => format!("the data the price is read from does not say the stock, so a shown price counts as in stock ({from} says \"{stock}\", but the stock is read with the price)"),
        };
        probe.miss(
            Field::Stock,
            format!("{why}; give a stock text selector to read it from the page"),
        );
    }
}

/// The product as it would be tracked, with where each value came from.
fn tracked(p: &Product, trace: &Trace) -> ProbeProduct {
    ProbeProduct {
        title: Fact::new(p.title.clone(), trace.title),
        brand: trace.brand.map(|from| Fact::new(p.brand.clone(), from)),
        currency: Fact::new(p.currency.clone(), trace.currency),
        price_from: trace.price,
        stock_from: trace.stock,
        sizes: super::sizes(p),
        url: p.url.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_price_names_what_each_kind_of_data_lacks() {
        assert_eq!(
            no_price(None),
            "no JSON-LD Product, no microdata price, no og:price:amount: give a CSS selector for the price"
        );
        let found = Found::default();
        assert!(no_price(Some(&found)).starts_with("a JSON-LD Product without an offer"));
        assert_eq!(stock_words(Availability::OutOfStock), "sold out");
        let offer = |availability| Offer {
            id: None,
            size: None,
            sku: None,
            price: None,
            currency: None,
            availability,
        };
        assert_eq!(offers_stock(&[offer(None)]), None);
        assert_eq!(
            offers_stock(&[offer(Some(Availability::OutOfStock))]).as_deref(),
            Some("sold out")
        );
        let three = [
            offer(Some(Availability::InStock)),
            offer(Some(Availability::Later)),
            offer(Some(Availability::OutOfStock)),
        ];
        assert_eq!(
            offers_stock(&three).as_deref(),
            Some("2 of 3 offers available")
        );
    }
}
