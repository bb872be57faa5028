//! One product page into its product: which kind of structured data gives
//! the offers, what a disagreement between them means, the user's
//! selectors, and a sold-out page that hides its price.

use chrono::Utc;
use rust_decimal::Decimal;

use model::probe::Origin;
use model::{Product, Variant};

use super::meta::{attr_or_text, Meta};
use super::{external_id, same_price, SINGLE_OFFER};
use super::{json_ld, meta, words, Availability, Found, Offer, PageContext, PageError, Trace};
use crate::normalise::size_label;

/// Reads one product page into its product (one variant per size).
pub fn parse_page(html: &str, ctx: &PageContext<'_>) -> Result<Product, PageError> {
    read_page(html, ctx).map(|(product, _)| product)
}

/// Where the offers came from, as [`read_page`] settles them.
struct Origins {
    price: Origin,
    offers: Origin,
    stock: Origin,
}

/// The lowest of some prices, in words ("none" for none).
fn lowest(prices: impl Iterator<Item = Decimal>) -> String {
    prices
        .min()
        .map_or_else(|| "none".to_string(), |p| p.to_string())
}

/// JSON-LD priced the product: OpenGraph's sale price where it declares the
/// regular one, and a check against every other price on the page.
fn with_json_ld(
    found: &mut Found,
    m: &Meta,
    clear: bool,
    has_selectors: bool,
    notes: &mut Vec<String>,
) -> Result<(Origin, Option<Decimal>), PageError> {
    let mut how = Origin::JsonLd;
    let mut compare_at = None;
    // On sale: JSON-LD gives the regular price, OpenGraph the sale price
    // and says the regular one too. The sale price is what it costs.
    if let (Some(sale), Some(standard), [only]) = (
        m.opengraph.as_ref().and_then(|o| o.price),
        m.standard,
        found.offers.as_mut_slice(),
    ) {
        if only.price.is_some_and(|p| same_price(p, standard)) && sale < standard {
            only.price = Some(sale);
            compare_at = Some(standard);
            how = Origin::OpenGraphSale;
        }
    }
    if has_selectors {
        return Ok((how, compare_at));
    }
    let ours: Vec<Decimal> = found.offers.iter().filter_map(|o| o.price).collect();
    let og: Vec<Decimal> = m.opengraph.iter().filter_map(|o| o.price).collect();
    let md: Vec<Decimal> = m.microdata.iter().filter_map(|o| o.price).collect();
    for (name, theirs) in [("microdata", md), ("OpenGraph", og)] {
        let agrees = theirs
            .iter()
            .any(|t| ours.iter().any(|o| same_price(*o, *t)));
        if theirs.is_empty() || agrees {
            continue;
        }
        let (lo, said) = (lowest(ours.iter().copied()), lowest(theirs.into_iter()));
        if !clear {
            return Err(PageError::Unreadable(format!(
                "the page contradicts itself: its JSON-LD says {lo} but its {name} says {said}, and it lists several products; give a CSS selector for the price"
            )));
        }
        notes.push(format!(
            "the page's {name} says {said} but the JSON-LD offer of its product says {lo}; the JSON-LD offer is used (give a CSS selector for the price to read another)"
        ));
    }
    Ok((how, compare_at))
}

/// No JSON-LD price: microdata's offers, else OpenGraph's; their stock,
/// where they say none, from whichever kind of data says it.
fn without_json_ld(
    found: &mut Found,
    m: &Meta,
    has_selectors: bool,
    notes: &mut Vec<String>,
) -> Result<Option<Origins>, PageError> {
    let micro_priced = m.microdata.iter().any(|o| o.price.is_some());
    let og = m.opengraph.as_ref().filter(|o| o.price.is_some());
    let how = match (micro_priced, og) {
        (true, _) => Origin::Microdata,
        (false, Some(_)) => Origin::OpenGraph,
        (false, None) => return Ok(None),
    };
    if let (true, Some(og_price)) = (micro_priced, og.and_then(|o| o.price)) {
        let agrees = m
            .microdata
            .iter()
            .any(|o| o.price.is_some_and(|p| same_price(p, og_price)));
        let said = lowest(m.microdata.iter().filter_map(|o| o.price));
        if !has_selectors && !agrees {
            if !m.microdata_of_product {
                return Err(PageError::Unreadable(format!(
                    "the page contradicts itself: its microdata says {said} but its OpenGraph says {og_price}; give a CSS selector for the price"
                )));
            }
            notes.push(format!(
                "the page's OpenGraph says {og_price} but the microdata offer of its product says {said}; the microdata offer is used (give a CSS selector for the price to read another)"
            ));
        }
    }
    let mut offers: Vec<Offer> = if micro_priced {
        m.microdata.clone()
    } else {
        og.into_iter().cloned().collect()
    };
    let mut stock = how;
    // One offer that does not say its stock: another kind of data may
    // (the JSON-LD's offer had a stock but no price).
    if let [only] = offers.as_mut_slice() {
        if only.availability.is_none() {
            let said = [
                (
                    Origin::OpenGraph,
                    m.opengraph.as_ref().and_then(|x| x.availability),
                ),
                (
                    Origin::Microdata,
                    m.microdata.iter().find_map(|x| x.availability),
                ),
                (
                    Origin::JsonLd,
                    found.offers.iter().find_map(|x| x.availability),
                ),
            ]
            .into_iter()
            .find(|(_, a)| a.is_some());
            if let Some((from, a)) = said {
                (stock, only.availability) = (from, a);
            }
        }
    }
    found.offers = offers;
    Ok(Some(Origins {
        price: how,
        offers: how,
        stock,
    }))
}

/// The user's selectors, over whatever structured data said.
fn with_selectors(
    found: &mut Found,
    doc: Option<&scraper::Html>,
    ctx: &PageContext<'_>,
    o: &mut Origins,
) -> Result<(), PageError> {
    let select = |css: &str, what: &str| -> Result<Option<scraper::ElementRef<'_>>, PageError> {
        let sel = scraper::Selector::parse(css).map_err(|e| {
            PageError::Unreadable(format!("the {what} selector {css:?} is not valid CSS: {e}"))
        })?;
        Ok(doc.and_then(|d| d.select(&sel).next()))
    };
    if let Some(css) = &ctx.settings.price_selector {
        let el = select(css, "price")?.ok_or_else(|| {
            PageError::Unreadable(format!(
                "the price selector {css:?} matches nothing on the page"
            ))
        })?;
        let raw = attr_or_text(&el);
        let price = words::price_in(&raw).ok_or_else(|| {
            PageError::Unreadable(format!(
                "the price selector {css:?} found {:?}, which holds no price",
                raw.trim()
            ))
        })?;
        let first = found.offers.first();
        found.offers = vec![Offer {
            id: None,
            size: None,
            sku: found.sku.clone(),
            price: Some(price),
            currency: first.and_then(|o| o.currency.clone()),
            availability: first.and_then(|o| o.availability),
        }];
        o.price = Origin::PriceSelector;
    }
    if let Some(css) = &ctx.settings.stock_selector {
        // No match: the stock text is gone (often what "sold out" looks like
        // is a missing button); say so rather than guess.
        let text = select(css, "stock")?
            .map(|e| e.text().collect::<String>())
            .unwrap_or_default();
        let a = words::stock_from_text(&text, ctx.settings).ok_or_else(|| {
            PageError::Unreadable(format!(
                "the stock selector {css:?} found {:?}, which matches none of the in-stock or sold-out phrases",
                text.trim().chars().take(80).collect::<String>()
            ))
        })?;
        for offer in &mut found.offers {
            offer.availability = Some(a);
        }
        o.stock = Origin::StockPhrases;
    }
    Ok(())
}

/// [`parse_page`], saying where each value came from (`dropwatch probe`)
/// and what it noticed.
pub fn read_page(html: &str, ctx: &PageContext<'_>) -> Result<(Product, Trace), PageError> {
    let products = json_ld::json_ld_products(html);
    let has_selectors =
        ctx.settings.price_selector.is_some() || ctx.settings.stock_selector.is_some();
    // The DOM is built only for the user's selectors; what the page's
    // data says comes from one pass over the tags either way.
    let doc = has_selectors.then(|| scraper::Html::parse_document(html));
    let m = meta::from_tags(html);
    let titles: Vec<&str> = [m.title.as_deref(), m.heading.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    let main = json_ld::main_product(products, Some(ctx.url), &titles);
    let clear = main.as_ref().is_some_and(|x| x.clear);
    let mut found = main.map(|x| x.found).unwrap_or_default();

    let mut notes = vec![];
    let mut origins = Origins {
        price: Origin::JsonLd,
        offers: Origin::JsonLd,
        stock: Origin::JsonLd,
    };
    let mut compare_at = None;
    if found.offers.iter().any(|o| o.price.is_some()) {
        (origins.price, compare_at) =
            with_json_ld(&mut found, &m, clear, has_selectors, &mut notes)?;
    } else if let Some(o) = without_json_ld(&mut found, &m, has_selectors, &mut notes)? {
        origins = o;
    } else if found.offers.is_empty() {
        // No price anywhere: the stock alone, where a kind of data says it.
        if !m.microdata.is_empty() {
            (found.offers, origins.stock) = (m.microdata.clone(), Origin::Microdata);
        } else if let Some(og) = &m.opengraph {
            (found.offers, origins.stock) = (vec![og.clone()], Origin::OpenGraph);
        }
    }
    with_selectors(&mut found, doc.as_ref(), ctx, &mut origins)?;

    let sold_out = |o: &Offer| o.availability == Some(Availability::OutOfStock);
    if !found.offers.is_empty() && found.offers.iter().all(|o| o.price.is_none()) {
        if !found.offers.iter().all(sold_out) {
            return Err(PageError::NothingFound(
                "the page's data says the stock but not the price; give a CSS selector for the price".into(),
            ));
        }
        // Sold out, no price shown, read before: its sizes as last read,
        // all sold out, at their last prices.
        if let Some(prev) = ctx.previous {
            let mut p = prev.clone();
            for v in &mut p.variants {
                v.available = false;
            }
            let trace = Trace {
                title: Origin::LastRead,
                brand: (!p.brand.is_empty()).then_some(Origin::LastRead),
                price: Origin::LastRead,
                currency: Origin::LastRead,
                stock: origins.stock,
                notes,
            };
            return Ok((p, trace));
        }
        // Never read before: tracked as sold out, its price unknown until
        // the page shows one.
        origins.price = Origin::NotShown;
    }
    // An offer without a price counts only when it says it is sold out.
    found.offers.retain(|o| o.price.is_some() || sold_out(o));
    if found.offers.is_empty() {
        if let Some(what) = words::challenge(html) {
            return Err(PageError::Blocked(format!(
                "the page is {what}, not the product"
            )));
        }
        return Err(PageError::NothingFound(
            "no price on the page: it has no schema.org Product data, microdata or OpenGraph price; give a CSS selector for the price".into(),
        ));
    }
    Ok(product_of(found, &m, compare_at, origins, notes, ctx))
}

/// The product the settled offers make, with where each value came from.
fn product_of(
    found: Found,
    m: &Meta,
    compare_at: Option<Decimal>,
    origins: Origins,
    notes: Vec<String>,
    ctx: &PageContext<'_>,
) -> (Product, Trace) {
    let now = Utc::now();
    let (title, title_from) = match (&found.title, &m.title) {
        (Some(t), _) => (t.clone(), Origin::JsonLd),
        (None, Some(t)) => (t.clone(), m.title_from.unwrap_or(Origin::TitleTag)),
        (None, None) => (ctx.url.to_string(), Origin::Address),
    };
    let single = found.offers.len() == 1;
    let mut variants: Vec<Variant> = vec![];
    for (i, o) in found.offers.iter().enumerate() {
        let size = match (&o.size, single) {
            (Some(s), _) => size_label(s),
            (None, true) => SINGLE_OFFER.1.into(),
            (None, false) => o.sku.clone().unwrap_or_else(|| format!("Option {}", i + 1)),
        };
        let mut id = o.id.clone().or(o.sku.clone()).unwrap_or_else(|| {
            if single {
                SINGLE_OFFER.0.into()
            } else {
                format!("v{}", i + 1)
            }
        });
        // Two offers with one id (a page listing one SKU twice) stay apart.
        if variants.iter().any(|v| v.id == id) {
            id = format!("{id}-{}", i + 1);
        }
        // A sold-out size that hides its price keeps the one last read.
        let price = o.price.or_else(|| {
            ctx.previous?
                .variants
                .iter()
                .find(|v| v.id == id)
                .and_then(|v| v.price)
        });
        variants.push(Variant {
            id,
            size,
            sku: o.sku.clone(),
            price,
            compare_at: compare_at.filter(|c| price.is_some_and(|p| *c > p)),
            // Unknown stock is not "sold out": a page showing a price is
            // taken as buyable unless it says otherwise.
            available: o.availability.is_none_or(|a| a.available()),
            cart_url: None,
        });
    }
    let (currency, currency_from) = found
        .offers
        .iter()
        .find_map(|o| o.currency.clone())
        .filter(|c| c.len() == 3)
        .map(|c| (c, origins.offers))
        .unwrap_or_else(|| (ctx.currency.to_string(), Origin::SourceCurrency));
    tracing::trace!(
        source = ctx.source,
        how = origins.price.label(),
        "read the product page"
    );
    let brand = ctx.brands.canonical(found.brand.as_deref().unwrap_or(""));
    let trace = Trace {
        title: title_from,
        brand: (!brand.is_empty()).then_some(Origin::JsonLd),
        price: origins.price,
        currency: currency_from,
        stock: if found.offers.iter().any(|o| o.availability.is_some()) {
            origins.stock
        } else {
            Origin::Assumed
        },
        notes,
    };
    let image = found
        .image
        .clone()
        .or(m.image.clone())
        .and_then(|i| ctx.url.join(&i).ok().map(|u| u.to_string()));
    let id = external_id(ctx.url);
    let product = Product {
        title,
        brand,
        url: ctx.url.to_string(),
        image,
        currency,
        variants,
        ..Product::observed(ctx.source, &id, id.clone(), now)
    };
    (product, trace)
}
