//! What a page's microdata and OpenGraph tags say: every schema.org
//! `Offer` itemscope of the page's `Product` (one per size, colour or
//! condition), OpenGraph's one price, the regular price a page on sale
//! declares, and the title. Read in one pass over the tags
//! ([`from_tags`]); the same reading over html5ever's DOM ([`from_meta`])
//! is kept in the tests as the reference it is checked against.

use rust_decimal::Decimal;
use scraper::ElementRef;
#[cfg(test)]
use scraper::{Html, Selector};

use model::probe::Origin;

use super::words::price_in;
use super::{items, scan, Availability, Offer};

/// What microdata and OpenGraph say.
#[derive(Debug, Default, PartialEq)]
pub struct Meta {
    pub title: Option<String>,
    /// Which tag the title came from (`og:title`, `<h1>`, `<title>`).
    pub title_from: Option<Origin>,
    /// The `<h1>`, to tell the page's own product among several.
    pub heading: Option<String>,
    pub image: Option<String>,
    /// The microdata offers of the page's product (one per `Offer`
    /// itemscope), or the one `itemprop="price"` of a page without them.
    pub microdata: Vec<Offer>,
    /// Whether those are `Offer` itemscopes of a microdata `Product`: the
    /// product's own offers, over an OpenGraph tag that says otherwise.
    pub microdata_of_product: bool,
    /// OpenGraph's offer: its price, or only its stock (a sold-out page
    /// often drops `product:price:amount`).
    pub opengraph: Option<Offer>,
    /// The regular price a page on sale declares beside its sale price
    /// (`og:price:standard_amount`, `product:original_price:amount`).
    pub standard: Option<Decimal>,
}

pub(super) fn attr_or_text(e: &ElementRef<'_>) -> String {
    e.value()
        .attr("content")
        .or_else(|| e.value().attr("href"))
        .or_else(|| e.value().attr("value"))
        .map(str::to_string)
        .unwrap_or_else(|| e.text().collect::<String>())
}

#[cfg(test)]
fn select_first<'a>(doc: &'a Html, css: &str) -> Option<ElementRef<'a>> {
    let sel = Selector::parse(css).ok()?;
    doc.select(&sel).next()
}

#[cfg(test)]
fn meta(doc: &Html, names: &[&str]) -> Option<String> {
    names.iter().find_map(|n| {
        select_first(
            doc,
            &format!("meta[property=\"{n}\"], meta[name=\"{n}\"], meta[itemprop=\"{n}\"]"),
        )
        .and_then(|e| e.value().attr("content").map(|c| c.trim().to_string()))
        .filter(|c| !c.is_empty())
    })
}

#[cfg(test)]
/// The first `itemprop` named `name` that belongs to `scope` itself, not to
/// an itemscope inside it (a seller's name, a nested product's price).
fn prop(scope: ElementRef<'_>, name: &str) -> Option<String> {
    let sel = Selector::parse(&format!("[itemprop~=\"{name}\"]")).ok()?;
    scope
        .select(&sel)
        .find(|e| {
            e.ancestors()
                .take_while(|a| a.id() != scope.id())
                .filter_map(ElementRef::wrap)
                .all(|a| a.value().attr("itemscope").is_none())
        })
        .map(|e| crate::normalise::collapse_spaces(&attr_or_text(&e)))
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
fn is_type(e: &ElementRef<'_>, name: &str) -> bool {
    e.value().attr("itemtype").is_some_and(|t| {
        t.split_whitespace()
            .any(|t| t.rsplit('/').next() == Some(name))
    })
}

/// A price on the page; zero is a placeholder, not a price.
fn price_on_page(raw: &str) -> Option<Decimal> {
    price_in(raw).filter(|p| !p.is_zero())
}

#[cfg(test)]
/// The offers of the page's first microdata `Product` (or of the page, when
/// its offers are not inside one), and whether they were in a `Product`.
fn microdata_offers(doc: &Html) -> (Vec<Offer>, bool) {
    let scopes = Selector::parse("[itemscope][itemtype]").expect("valid selector");
    let product = doc.select(&scopes).find(|e| {
        [
            "Product",
            "IndividualProduct",
            "ProductModel",
            "ProductGroup",
        ]
        .iter()
        .any(|t| is_type(e, t))
    });
    let root = product.unwrap_or_else(|| doc.root_element());
    // An AggregateOffer beside (or around) the offers it sums up: the
    // offers are read instead.
    let listed = root.select(&scopes).any(|x| is_type(&x, "Offer"));
    let mut out = vec![];
    for e in root.select(&scopes) {
        let aggregate = is_type(&e, "AggregateOffer");
        if !aggregate && !is_type(&e, "Offer") || aggregate && listed {
            continue;
        }
        let price = prop(e, "price")
            .or_else(|| prop(e, "lowPrice"))
            .and_then(|p| price_on_page(&p));
        let availability = prop(e, "availability").and_then(|a| Availability::from_schema(&a));
        if price.is_none() && availability.is_none() {
            continue;
        }
        let sku = prop(e, "sku");
        out.push(Offer {
            id: sku.clone(),
            size: prop(e, "size").or_else(|| prop(e, "name")),
            sku,
            price,
            currency: prop(e, "priceCurrency").map(|c| c.to_ascii_uppercase()),
            availability,
        });
    }
    if !out.is_empty() {
        super::json_ld::name_sizes_by_sku(&mut out);
        return (out, product.is_some());
    }
    // No Offer itemscope: the page's one `itemprop="price"`.
    let one = select_first(doc, "[itemprop~=\"price\"]")
        .and_then(|e| price_on_page(&attr_or_text(&e)))
        .map(|price| Offer {
            id: None,
            size: None,
            price: Some(price),
            sku: select_first(doc, "[itemprop~=\"sku\"]")
                .map(|e| attr_or_text(&e).trim().to_string()),
            currency: select_first(doc, "[itemprop~=\"priceCurrency\"]")
                .map(|e| attr_or_text(&e).trim().to_ascii_uppercase()),
            availability: select_first(doc, "[itemprop~=\"availability\"]")
                .and_then(|e| Availability::from_schema(&attr_or_text(&e))),
        });
    (one.into_iter().collect(), false)
}

/// OpenGraph's offer and the regular price it declares, from a lookup of
/// the page's `<meta>` tags by name (the first of `names` it has).
fn opengraph(meta: &dyn Fn(&[&str]) -> Option<String>) -> (Option<Offer>, Option<Decimal>) {
    let listed = meta(&["product:price:amount", "og:price:amount"]).and_then(|p| price_on_page(&p));
    // A sale price below the listed one is what it costs; the listed one
    // is then the regular price.
    let sale = meta(&["product:sale_price:amount"])
        .and_then(|p| price_on_page(&p))
        .filter(|s| listed.is_none_or(|l| *s < l));
    let og_price = sale.or(listed);
    let og_stock = meta(&["og:availability", "product:availability"])
        .and_then(|a| Availability::from_schema(&a));
    let offer = (og_price.is_some() || og_stock.is_some()).then(|| Offer {
        id: None,
        size: None,
        sku: meta(&["product:retailer_item_id"]),
        price: og_price,
        currency: meta(&["product:price:currency", "og:price:currency"])
            .map(|c| c.to_ascii_uppercase()),
        availability: og_stock,
    });
    let standard = meta(&["og:price:standard_amount", "product:original_price:amount"])
        .and_then(|p| price_on_page(&p))
        .or(sale.and(listed));
    (offer, standard)
}

#[cfg(test)]
pub fn from_meta(doc: &Html) -> Meta {
    let (opengraph, standard) = opengraph(&|names: &[&str]| meta(doc, names));
    let element_text = |css| {
        select_first(doc, css)
            .map(|e| crate::normalise::collapse_spaces(&e.text().collect::<String>()))
            .filter(|t| !t.is_empty())
    };
    let heading = element_text("h1");
    // The first of these the page has, if it is not empty.
    let title = meta(doc, &["og:title"])
        .map(|t| (t, Origin::OpenGraph))
        .or_else(|| heading.clone().map(|t| (t, Origin::Heading)))
        .or_else(|| element_text("title").map(|t| (t, Origin::TitleTag)));
    let (microdata, microdata_of_product) = microdata_offers(doc);
    Meta {
        standard,
        title_from: title.as_ref().map(|(_, from)| *from),
        title: title.map(|(t, _)| t),
        heading,
        image: meta(doc, &["og:image", "og:image:secure_url"]),
        microdata,
        microdata_of_product,
        opengraph,
    }
}

const PRODUCT_TYPES: [&str; 4] = [
    "Product",
    "IndividualProduct",
    "ProductModel",
    "ProductGroup",
];

/// The offers of the page's first microdata `Product` (or of the page, when
/// its offers are not inside one), and whether they were in a `Product`:
/// the items [`items::items`] nests as a DOM would.
fn microdata_items(html: &str, tags: &[scan::Tag<'_>]) -> (Vec<Offer>, bool) {
    let all = items::items(html, tags);
    let typed = |x: &items::Item| !x.types.is_empty();
    let product = all
        .iter()
        .position(|x| typed(x) && PRODUCT_TYPES.iter().any(|t| x.is(t)));
    let in_root = |i: usize| product.is_none_or(|p| items::within(&all, i, p));
    let mine: Vec<&items::Item> = all
        .iter()
        .enumerate()
        .filter(|(i, x)| typed(x) && in_root(*i))
        .map(|(_, x)| x)
        .collect();
    let listed = mine.iter().any(|x| x.is("Offer"));
    let mut out = vec![];
    for x in mine {
        let aggregate = x.is("AggregateOffer");
        if !aggregate && !x.is("Offer") || aggregate && listed {
            continue;
        }
        let price = x
            .prop("price")
            .or_else(|| x.prop("lowPrice"))
            .and_then(price_on_page);
        let availability = x.prop("availability").and_then(Availability::from_schema);
        if price.is_none() && availability.is_none() {
            continue;
        }
        let sku = x.prop("sku").map(str::to_string);
        out.push(Offer {
            id: sku.clone(),
            size: x
                .prop("size")
                .or_else(|| x.prop("name"))
                .map(str::to_string),
            sku,
            price,
            currency: x.prop("priceCurrency").map(|c| c.to_ascii_uppercase()),
            availability,
        });
    }
    super::json_ld::name_sizes_by_sku(&mut out);
    let of_product = product.is_some() && !out.is_empty();
    (out, of_product)
}

/// What a page's tags say, from one pass over them (no DOM); tested equal
/// to the DOM's reading ([`from_meta`]) on every captured page.
pub fn from_tags(html: &str) -> Meta {
    // (key, content) of every `<meta>`, by property, name and itemprop.
    let mut metas: Vec<(String, String)> = vec![];
    let mut props: Vec<(String, String)> = vec![];
    let (mut title_tag, mut heading) = (None, None);
    // One pass over the tags, read here and for microdata items.
    let tags: Vec<scan::Tag<'_>> = scan::tags(html).collect();
    for t in tags.iter().filter(|t| !t.closing) {
        if t.is("meta") {
            let content = t.attr("content").map(|c| c.trim().to_string());
            for key in ["property", "name", "itemprop"] {
                if let (Some(k), Some(c)) = (t.attr(key), &content) {
                    metas.push((k.into_owned(), c.clone()));
                }
            }
        } else if t.is("title") && title_tag.is_none() {
            title_tag = Some(scan::text_until(html, t.end, "title"));
        } else if t.is("h1") && heading.is_none() {
            heading = Some(scan::text_until(html, t.end, "h1"));
        }
        // The first element naming each microdata property read here.
        let itemprop = if t.microdata {
            t.attr("itemprop")
        } else {
            None
        };
        if let Some(names) = itemprop {
            for n in names.split_whitespace() {
                if ["price", "sku", "priceCurrency", "availability"].contains(&n)
                    && !props.iter().any(|(k, _)| k == n)
                {
                    let value = t
                        .attr("content")
                        .or_else(|| t.attr("href"))
                        .or_else(|| t.attr("value"))
                        .map(|v| v.into_owned())
                        .unwrap_or_else(|| scan::text_until(html, t.end, t.name));
                    props.push((n.to_string(), value));
                }
            }
        }
    }
    let meta = |names: &[&str]| {
        names.iter().find_map(|n| {
            metas
                .iter()
                .find(|(k, _)| k == n)
                .map(|(_, c)| c.clone())
                .filter(|c| !c.is_empty())
        })
    };
    let prop = |n: &str| props.iter().find(|(k, _)| k == n).map(|(_, v)| v.trim());
    let (scoped, microdata_of_product) = microdata_items(html, &tags);
    let microdata: Vec<Offer> = if !scoped.is_empty() {
        scoped
    } else {
        prop("price")
            .and_then(price_on_page)
            .map(|price| Offer {
                id: None,
                size: None,
                price: Some(price),
                sku: prop("sku").map(str::to_string),
                currency: prop("priceCurrency").map(|c| c.to_ascii_uppercase()),
                availability: prop("availability").and_then(Availability::from_schema),
            })
            .into_iter()
            .collect()
    };
    let heading = heading.filter(|h| !h.is_empty());
    let title = meta(&["og:title"])
        .map(|t| (t, Origin::OpenGraph))
        .or_else(|| heading.clone().map(|t| (t, Origin::Heading)))
        .or_else(|| {
            title_tag
                .filter(|t| !t.is_empty())
                .map(|t| (t, Origin::TitleTag))
        });
    let (opengraph, standard) = opengraph(&meta);
    Meta {
        title_from: title.as_ref().map(|(_, from)| *from),
        title: title.map(|(t, _)| t),
        heading,
        image: meta(&["og:image", "og:image:secure_url"]),
        microdata,
        microdata_of_product,
        opengraph,
        standard,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prices(offers: &[Offer]) -> Vec<(Option<String>, String, Option<Availability>)> {
        offers
            .iter()
            .map(|o| {
                (
                    o.size.clone(),
                    o.price.map(|p| p.to_string()).unwrap_or_default(),
                    o.availability,
                )
            })
            .collect()
    }

    #[test]
    fn every_microdata_offer_of_the_product_is_read() {
        let html = r#"<div itemscope itemtype="http://schema.org/Product"><h1 itemprop="name">Tee</h1>
          <div itemprop="offers" itemscope itemtype="http://schema.org/Offer"><span itemprop="name">S</span>
            <meta itemprop="price" content="25.00"><meta itemprop="priceCurrency" content="usd">
            <link itemprop="availability" href="http://schema.org/InStock">
            <div itemprop="seller" itemscope itemtype="http://schema.org/Organization"><span itemprop="name">Shop Ltd</span></div></div>
          <div itemprop="offers" itemscope itemtype="http://schema.org/Offer"><span itemprop="name">M</span>
            <span itemprop="price">$27.50</span><link itemprop="availability" href="http://schema.org/OutOfStock"></div>
          <div itemprop="isRelatedTo" itemscope itemtype="http://schema.org/Product"><span itemprop="name">Cap</span></div>
        </div>"#;
        let m = from_meta(&Html::parse_document(html));
        assert_eq!(
            prices(&m.microdata),
            vec![
                (
                    Some("S".into()),
                    "25.00".into(),
                    Some(Availability::InStock)
                ),
                (
                    Some("M".into()),
                    "27.50".into(),
                    Some(Availability::OutOfStock)
                ),
            ]
        );
        assert_eq!(m.microdata[0].currency.as_deref(), Some("USD"));
        assert_eq!(m.heading.as_deref(), Some("Tee"));
        // The tag pass nests the items as the DOM does.
        assert_eq!(from_tags(html), m);
    }

    #[test]
    fn a_sold_out_page_without_a_price_still_says_its_stock() {
        let html = r#"<meta property="og:title" content="Labubu"><meta property="og:availability" content="out of stock">"#;
        let m = from_meta(&Html::parse_document(html));
        let og = m.opengraph.expect("the stock alone is an offer");
        assert_eq!(
            (og.price, og.availability),
            (None, Some(Availability::OutOfStock))
        );
        assert!(m.microdata.is_empty());
    }

    #[test]
    fn the_tag_pass_reads_what_the_dom_reads_on_every_captured_page() {
        let dirs = [
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/pages"),
            concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/product-pages"),
        ];
        let mut compared = 0;
        for dir in dirs {
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            for e in entries.flatten() {
                let html = String::from_utf8_lossy(&std::fs::read(e.path()).unwrap()).into_owned();
                if !e.path().extension().is_some_and(|x| x == "html") {
                    continue;
                }
                let dom = from_meta(&Html::parse_document(&html));
                assert_eq!(from_tags(&html), dom, "{}", e.path().display());
                compared += 1;
            }
        }
        assert!(compared >= 15, "only {compared} pages compared");
    }
}
