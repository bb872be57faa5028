//! The "page" connector: one product page of any shop
//! (../shared/ref/external-apis.md, "Any product page").
//!
//! Price, currency, availability and sizes come from, in order:
//! 1. schema.org JSON-LD (`Product` with `Offer`/`AggregateOffer`,
//!    `ProductGroup` with `hasVariant`, wrapped in `@graph` or arrays), read
//!    without building a DOM (the common case stays cheap);
//! 2. microdata (`itemprop="price"`, `priceCurrency`, `availability`);
//! 3. OpenGraph product meta (`product:price:amount`, `og:availability`...).
//!
//! When those say nothing, or contradict each other, the user's CSS
//! selectors for price and stock text (with "in stock" / "sold out" phrases)
//! decide; without selectors a contradiction is an error that asks for them,
//! never a guess. A page with nothing to read that looks like a challenge
//! (Cloudflare, DataDome, PerimeterX, Incapsula, a CAPTCHA) is `blocked`,
//! never "sold out"; the last known stock stays.

use chrono::Utc;
use rust_decimal::Decimal;
use serde_json::Value;
use url::Url;

use model::probe::Origin;
use model::{PageSettings, Product, Variant};

use crate::normalise::{size_label, BrandTable};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PageError {
    /// A challenge or CAPTCHA page: not the product.
    #[error("{0}")]
    Blocked(String),
    /// Nothing on the page says the price.
    #[error("{0}")]
    NothingFound(String),
    /// The page's data disagree, or a selector found nothing readable.
    #[error("{0}")]
    Unreadable(String),
}

/// Whether a size can be bought.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Availability {
    InStock,
    OutOfStock,
    /// Pre-order, back-order, made to order: orderable, later.
    Later,
}

impl Availability {
    /// From a schema.org value, with or without its `https://schema.org/` prefix.
    pub fn from_schema(raw: &str) -> Option<Availability> {
        let tail = raw
            .trim()
            .rsplit('/')
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        let tail = tail
            .trim_start_matches("schema:")
            .replace(['_', ' ', '-'], "");
        match tail.as_str() {
            "instock" | "instoreonly" | "limitedavailability" | "onlineonly" | "presale" => {
                Some(Availability::InStock)
            }
            "outofstock" | "soldout" | "discontinued" | "oos" => Some(Availability::OutOfStock),
            "preorder" | "backorder" | "madetoorder" | "available for order" | "pending" => {
                Some(Availability::Later)
            }
            _ => None,
        }
    }

    /// Orderable now or later counts as available; only "out" does not.
    fn available(self) -> bool {
        self != Availability::OutOfStock
    }
}

/// One size as the page says it.
#[derive(Clone, Debug, PartialEq)]
pub struct Offer {
    pub id: Option<String>,
    pub size: Option<String>,
    pub sku: Option<String>,
    /// None: the page says the stock but shows no price (a sold-out page
    /// often does).
    pub price: Option<Decimal>,
    pub currency: Option<String>,
    pub availability: Option<Availability>,
}

/// What one source of structured data on the page says.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Found {
    pub title: Option<String>,
    pub brand: Option<String>,
    pub image: Option<String>,
    pub sku: Option<String>,
    pub offers: Vec<Offer>,
}

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

/// A price as pages write it: "129.99", 129.99, "1,299.00", "1.299,00",
/// "$ 1,299", "129,99 €". None for no digits or a negative amount.
pub fn price_in(raw: &str) -> Option<Decimal> {
    let start = raw.find(|c: char| c.is_ascii_digit())?;
    if raw[..start].trim_end().ends_with('-') {
        return None;
    }
    let body: String = raw[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || matches!(c, '.' | ',' | ' ' | '\u{a0}' | '\''))
        .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\''))
        .collect();
    let body = body.trim_end_matches(['.', ',']);
    let (last_dot, last_comma) = (body.rfind('.'), body.rfind(','));
    // The separator that comes last, followed by 1-2 digits, is the decimal one.
    let decimal_sep = match (last_dot, last_comma) {
        (Some(d), Some(c)) => Some(if d > c { '.' } else { ',' }),
        (Some(d), None) => (body.len() - d - 1 <= 2
            || body.matches('.').count() == 1 && body.len() - d - 1 != 3)
            .then_some('.'),
        (None, Some(c)) => (body.len() - c - 1 <= 2).then_some(','),
        (None, None) => None,
    };
    let normal: String = match decimal_sep {
        Some(sep) => {
            let (int, frac) = body.rsplit_once(sep)?;
            format!("{}.{frac}", int.replace(['.', ','], ""))
        }
        None => body.replace(['.', ','], ""),
    };
    normal
        .parse::<Decimal>()
        .ok()
        .filter(|d| !d.is_sign_negative())
}

fn price_of(v: &Value) -> Option<Decimal> {
    match v {
        Value::Number(n) => price_in(&n.to_string()),
        Value::String(s) => price_in(s),
        _ => None,
    }
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

fn find_ci(hay: &str, needle: &str) -> Option<usize> {
    let n = needle.as_bytes();
    hay.as_bytes()
        .windows(n.len())
        .position(|w| w.eq_ignore_ascii_case(n))
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

/// What the JSON-LD says: the first product node with a price (its
/// variants, if a group).
pub fn from_json_ld(html: &str) -> Option<Found> {
    let mut best: Option<Found> = None;
    for block in json_ld_blocks(html) {
        let Some(v) = parse_json_ld(block) else {
            continue;
        };
        let mut nodes = vec![];
        products_in(&v, &mut nodes);
        for n in nodes {
            let f = product_from(n);
            if !f.offers.is_empty() {
                return Some(f);
            }
            if best.is_none() {
                best = Some(f);
            }
        }
    }
    best
}

/// What microdata and OpenGraph say (one price each, if any).
#[derive(Default)]
pub struct Meta {
    pub title: Option<String>,
    /// Which tag the title came from (`og:title`, `<h1>`, `<title>`).
    pub title_from: Option<Origin>,
    pub image: Option<String>,
    pub microdata: Option<Offer>,
    pub opengraph: Option<Offer>,
    /// The regular price a page on sale declares beside its sale price
    /// (`og:price:standard_amount`, `product:original_price:amount`).
    pub standard: Option<Decimal>,
}

fn attr_or_text(e: &scraper::ElementRef<'_>) -> String {
    e.value()
        .attr("content")
        .or_else(|| e.value().attr("href"))
        .or_else(|| e.value().attr("value"))
        .map(str::to_string)
        .unwrap_or_else(|| e.text().collect::<String>())
}

fn select_first<'a>(doc: &'a scraper::Html, css: &str) -> Option<scraper::ElementRef<'a>> {
    let sel = scraper::Selector::parse(css).ok()?;
    doc.select(&sel).next()
}

fn meta(doc: &scraper::Html, names: &[&str]) -> Option<String> {
    names.iter().find_map(|n| {
        select_first(
            doc,
            &format!("meta[property=\"{n}\"], meta[name=\"{n}\"], meta[itemprop=\"{n}\"]"),
        )
        .and_then(|e| e.value().attr("content").map(|c| c.trim().to_string()))
        .filter(|c| !c.is_empty())
    })
}

pub fn from_meta(doc: &scraper::Html) -> Meta {
    let microdata = select_first(doc, "[itemprop=\"price\"]")
        .and_then(|e| price_in(&attr_or_text(&e)))
        .map(|price| Offer {
            id: None,
            size: None,
            price: Some(price),
            sku: select_first(doc, "[itemprop=\"sku\"]")
                .map(|e| attr_or_text(&e).trim().to_string()),
            currency: select_first(doc, "[itemprop=\"priceCurrency\"]")
                .map(|e| attr_or_text(&e).trim().to_ascii_uppercase()),
            availability: select_first(doc, "[itemprop=\"availability\"]")
                .and_then(|e| Availability::from_schema(&attr_or_text(&e))),
        });
    let opengraph = meta(
        doc,
        &[
            "product:price:amount",
            "og:price:amount",
            "product:sale_price:amount",
        ],
    )
    .and_then(|p| price_in(&p))
    .map(|price| Offer {
        id: None,
        size: None,
        sku: meta(doc, &["product:retailer_item_id"]),
        price: Some(price),
        currency: meta(doc, &["product:price:currency", "og:price:currency"])
            .map(|c| c.to_ascii_uppercase()),
        availability: meta(doc, &["og:availability", "product:availability"])
            .and_then(|a| Availability::from_schema(&a)),
    });
    // The first of these the page has, if it is not empty.
    let element_text = |css, from| {
        select_first(doc, css).map(|e| (e.text().collect::<String>().trim().to_string(), from))
    };
    let title = meta(doc, &["og:title"])
        .map(|t| (t, Origin::OpenGraph))
        .or_else(|| element_text("h1", Origin::Heading))
        .or_else(|| element_text("title", Origin::TitleTag))
        .filter(|(t, _)| !t.is_empty());
    Meta {
        standard: meta(
            doc,
            &["og:price:standard_amount", "product:original_price:amount"],
        )
        .and_then(|p| price_in(&p)),
        title_from: title.as_ref().map(|(_, from)| *from),
        title: title.map(|(t, _)| t),
        image: meta(doc, &["og:image", "og:image:secure_url"]),
        microdata,
        opengraph,
    }
}

const DEFAULT_OUT: &[&str] = &[
    "sold out",
    "out of stock",
    "currently unavailable",
    "unavailable",
    "notify me",
    "no longer available",
];
const DEFAULT_IN: &[&str] = &[
    "in stock",
    "add to cart",
    "add to bag",
    "add to basket",
    "buy now",
    "available",
];

/// The stock text against the phrases (sold-out phrases first: "not
/// available" must not read as "available").
pub fn stock_from_text(text: &str, settings: &PageSettings) -> Option<Availability> {
    let t = text.to_lowercase();
    let outs: Vec<String> = if settings.out_of_stock_phrases.is_empty() {
        DEFAULT_OUT.iter().map(|s| s.to_string()).collect()
    } else {
        settings
            .out_of_stock_phrases
            .iter()
            .map(|s| s.to_lowercase())
            .collect()
    };
    let ins: Vec<String> = if settings.in_stock_phrases.is_empty() {
        DEFAULT_IN.iter().map(|s| s.to_string()).collect()
    } else {
        settings
            .in_stock_phrases
            .iter()
            .map(|s| s.to_lowercase())
            .collect()
    };
    if outs.iter().any(|p| !p.is_empty() && t.contains(p.as_str())) {
        Some(Availability::OutOfStock)
    } else if ins.iter().any(|p| !p.is_empty() && t.contains(p.as_str())) {
        Some(Availability::InStock)
    } else {
        None
    }
}

/// Signs of a bot challenge instead of the page asked for.
pub fn challenge(html: &str) -> Option<&'static str> {
    const MARKERS: &[(&str, &str)] = &[
        ("cf-chl-", "a Cloudflare challenge"),
        ("challenge-platform", "a Cloudflare challenge"),
        ("just a moment...", "a Cloudflare challenge"),
        (
            "attention required! | cloudflare",
            "a Cloudflare block page",
        ),
        ("captcha-delivery.com", "a DataDome CAPTCHA"),
        ("px-captcha", "a PerimeterX CAPTCHA"),
        ("_incapsula_resource", "an Incapsula challenge"),
        ("/errors/validatecaptcha", "Amazon's robot check"),
        ("robot check", "a robot check"),
        ("are you a robot", "a robot check"),
        ("access denied", "an access-denied page"),
        ("g-recaptcha", "a CAPTCHA"),
        ("h-captcha", "a CAPTCHA"),
        ("captcha", "a CAPTCHA"),
    ];
    MARKERS
        .iter()
        .find(|(m, _)| find_ci(html, m).is_some())
        .map(|(_, what)| *what)
}

/// Where a page source's facts come from.
pub struct PageContext<'a> {
    pub source: &'a str,
    pub url: &'a Url,
    /// The source's currency, for pages that do not say theirs.
    pub currency: &'a str,
    pub brands: &'a BrandTable,
    pub settings: &'a PageSettings,
    /// The product as last read (a sold-out page without a price keeps its prices).
    pub previous: Option<&'a Product>,
}

/// The id and size label of the one offer of a page that lists a single
/// offer without its own id or size (history imported for such a page
/// uses them too, so it charts as the same size).
pub(crate) const SINGLE_OFFER: (&str, &str) = ("one", "One size");

/// The key of the product a page source reads at `url`.
pub(crate) fn product_key(source: &str, url: &Url) -> String {
    format!("{source}:{}", external_id(url))
}

fn external_id(url: &Url) -> String {
    let last = url
        .path_segments()
        .and_then(|s| s.filter(|x| !x.is_empty()).last().map(str::to_string))
        .unwrap_or_default();
    let slug = crate::engine::slug_text(&last);
    if slug.is_empty() {
        "page".into()
    } else {
        slug
    }
}

fn same_price(a: Decimal, b: Decimal) -> bool {
    (a - b).abs() < Decimal::new(1, 2)
}

/// Where [`read_page`] took each value of the product from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Trace {
    pub title: Origin,
    /// None: the page names no brand.
    pub brand: Option<Origin>,
    pub price: Origin,
    pub currency: Origin,
    pub stock: Origin,
}

/// Reads one product page into its product (one variant per size).
pub fn parse_page(html: &str, ctx: &PageContext<'_>) -> Result<Product, PageError> {
    read_page(html, ctx).map(|(product, _)| product)
}

/// [`parse_page`], saying where each value came from (`dropwatch probe`).
pub fn read_page(html: &str, ctx: &PageContext<'_>) -> Result<(Product, Trace), PageError> {
    let json_ld = from_json_ld(html);
    let has_selectors =
        ctx.settings.price_selector.is_some() || ctx.settings.stock_selector.is_some();
    let json_ld_priced = json_ld
        .as_ref()
        .is_some_and(|f| f.offers.iter().any(|o| o.price.is_some()));
    // The DOM is built only when needed: no JSON-LD price, another price on
    // the page to cross-check against, or the user's selectors.
    let needs_dom = !json_ld_priced
        || has_selectors
        || [
            "itemprop=\"price\"",
            "itemprop='price'",
            "itemprop=price",
            "price:amount",
        ]
        .iter()
        .any(|m| find_ci(html, m).is_some());
    let doc = needs_dom.then(|| scraper::Html::parse_document(html));
    let m = doc.as_ref().map(from_meta).unwrap_or_default();

    let mut found = json_ld.clone().unwrap_or_default();
    // Where the price, and the offers (their currency and stock), came from.
    let mut how = Origin::JsonLd;
    let mut offers_from = Origin::JsonLd;
    let mut stock_from = Origin::JsonLd;
    let mut compare_at = None;
    if json_ld_priced {
        // On sale: JSON-LD gives the regular price, OpenGraph the sale price
        // and says the regular one too. The sale price is what it costs.
        if let (Some(og), Some(standard), [only]) =
            (&m.opengraph, m.standard, found.offers.as_mut_slice())
        {
            let sale = og.price.unwrap_or_default();
            if only.price.is_some_and(|p| same_price(p, standard)) && sale < standard {
                only.price = Some(sale);
                compare_at = Some(standard);
                how = Origin::OpenGraphSale;
            }
        }
        // Cross-check: another price on the page that is none of JSON-LD's.
        for (name, other) in [("microdata", &m.microdata), ("OpenGraph", &m.opengraph)] {
            if let Some(o) = other {
                let theirs = o.price.unwrap_or_default();
                if !has_selectors
                    && !found
                        .offers
                        .iter()
                        .any(|x| x.price.is_some_and(|p| same_price(p, theirs)))
                {
                    let lo = found
                        .offers
                        .iter()
                        .filter_map(|x| x.price)
                        .min()
                        .unwrap_or_default();
                    return Err(PageError::Unreadable(format!(
                        "the page contradicts itself: its JSON-LD says {lo} but its {name} says {theirs}; give a CSS selector for the price"
                    )));
                }
            }
        }
    } else if let Some(o) = m.microdata.clone().or_else(|| m.opengraph.clone()) {
        how = if m.microdata.is_some() {
            Origin::Microdata
        } else {
            Origin::OpenGraph
        };
        offers_from = how;
        stock_from = how;
        if let (Some(a), Some(b)) = (&m.microdata, &m.opengraph) {
            let (a, b) = (a.price.unwrap_or_default(), b.price.unwrap_or_default());
            if !has_selectors && !same_price(a, b) {
                return Err(PageError::Unreadable(format!(
                    "the page contradicts itself: its microdata says {a} but its OpenGraph says {b}; give a CSS selector for the price"
                )));
            }
        }
        // The JSON-LD's stock (its offer had no price) still counts.
        let ld_stock = found.offers.iter().find_map(|x| x.availability);
        let mut o = o;
        if o.availability.is_none() {
            let said = [
                (
                    Origin::OpenGraph,
                    m.opengraph.as_ref().and_then(|x| x.availability),
                ),
                (
                    Origin::Microdata,
                    m.microdata.as_ref().and_then(|x| x.availability),
                ),
                (Origin::JsonLd, ld_stock),
            ]
            .into_iter()
            .find(|(_, a)| a.is_some());
            if let Some((from, a)) = said {
                (stock_from, o.availability) = (from, a);
            }
        }
        found.offers = vec![o];
    }

    // The user's selectors decide over structured data.
    if let Some(css) = &ctx.settings.price_selector {
        let sel = scraper::Selector::parse(css).map_err(|e| {
            PageError::Unreadable(format!("the price selector {css:?} is not valid CSS: {e}"))
        })?;
        let el = doc
            .as_ref()
            .expect("built for selectors")
            .select(&sel)
            .next()
            .ok_or_else(|| {
                PageError::Unreadable(format!(
                    "the price selector {css:?} matches nothing on the page"
                ))
            })?;
        let raw = attr_or_text(&el);
        let price = price_in(&raw).ok_or_else(|| {
            PageError::Unreadable(format!(
                "the price selector {css:?} found {:?}, which holds no price",
                raw.trim()
            ))
        })?;
        let currency = found.offers.first().and_then(|o| o.currency.clone());
        found.offers = vec![Offer {
            id: None,
            size: None,
            sku: found.sku.clone(),
            price: Some(price),
            currency,
            availability: found.offers.first().and_then(|o| o.availability),
        }];
        how = Origin::PriceSelector;
    }
    if let Some(css) = &ctx.settings.stock_selector {
        let sel = scraper::Selector::parse(css).map_err(|e| {
            PageError::Unreadable(format!("the stock selector {css:?} is not valid CSS: {e}"))
        })?;
        // No match: the stock text is gone (often what "sold out" looks like
        // is a missing button); say so rather than guess.
        let text = doc
            .as_ref()
            .expect("built for selectors")
            .select(&sel)
            .next()
            .map(|e| e.text().collect::<String>())
            .unwrap_or_default();
        let a = stock_from_text(&text, ctx.settings).ok_or_else(|| {
            PageError::Unreadable(format!(
                "the stock selector {css:?} found {:?}, which matches none of the in-stock or sold-out phrases",
                text.trim().chars().take(80).collect::<String>()
            ))
        })?;
        for o in &mut found.offers {
            o.availability = Some(a);
        }
        stock_from = Origin::StockPhrases;
    }

    // Sold out, and no price shown: the last known prices stay, the sizes
    // go out of stock. Never seen before: nothing to record yet.
    if !found.offers.is_empty() && found.offers.iter().all(|o| o.price.is_none()) {
        let sold_out = found
            .offers
            .iter()
            .all(|o| o.availability == Some(Availability::OutOfStock));
        return match (ctx.previous, sold_out) {
            (Some(prev), true) => {
                let mut p = prev.clone();
                for v in &mut p.variants {
                    v.available = false;
                }
                let trace = Trace {
                    title: Origin::LastRead,
                    brand: (!p.brand.is_empty()).then_some(Origin::LastRead),
                    price: Origin::LastRead,
                    currency: Origin::LastRead,
                    stock: stock_from,
                };
                Ok((p, trace))
            }
            (None, true) => Err(PageError::Unreadable(
                "the page says it is sold out and shows no price; Dropwatch records it once the page shows a price".into(),
            )),
            _ => Err(PageError::NothingFound(
                "the page's data says the stock but not the price; give a CSS selector for the price".into(),
            )),
        };
    }
    found.offers.retain(|o| o.price.is_some());
    if found.offers.is_empty() {
        if let Some(what) = challenge(html) {
            return Err(PageError::Blocked(format!(
                "the page is {what}, not the product"
            )));
        }
        return Err(PageError::NothingFound(
            "no price on the page: it has no schema.org Product data, microdata or OpenGraph price; give a CSS selector for the price".into(),
        ));
    }

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
        variants.push(Variant {
            id,
            size,
            sku: o.sku.clone(),
            price: o.price.expect("priced offers only"),
            compare_at: compare_at.filter(|c| *c > o.price.unwrap_or_default()),
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
        .map(|c| (c, offers_from))
        .unwrap_or_else(|| (ctx.currency.to_string(), Origin::SourceCurrency));
    tracing::trace!(
        source = ctx.source,
        how = how.label(),
        "read the product page"
    );
    let brand = ctx.brands.canonical(found.brand.as_deref().unwrap_or(""));
    let trace = Trace {
        title: title_from,
        brand: (!brand.is_empty()).then_some(Origin::JsonLd),
        price: how,
        currency: currency_from,
        stock: if found.offers.iter().any(|o| o.availability.is_some()) {
            stock_from
        } else {
            Origin::Assumed
        },
    };
    let image = found
        .image
        .clone()
        .or(m.image.clone())
        .and_then(|i| ctx.url.join(&i).ok().map(|u| u.to_string()));
    let id = external_id(ctx.url);
    let product = Product {
        key: product_key(ctx.source, ctx.url),
        source: ctx.source.to_string(),
        external_id: id,
        title,
        brand,
        product_type: String::new(),
        tags: vec![],
        url: ctx.url.to_string(),
        image,
        currency,
        variants,
        first_seen: now,
        updated: now,
        removed: false,
        last_change: None,
        facts: Default::default(),
    };
    Ok((product, trace))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn prices_as_pages_write_them() {
        assert_eq!(price_in("129.99"), Some(d("129.99")));
        assert_eq!(price_in("$1,299.00"), Some(d("1299.00")));
        assert_eq!(price_in("1.299,00 €"), Some(d("1299.00")));
        assert_eq!(price_in("€ 12,50"), Some(d("12.50")));
        assert_eq!(price_in("1,299"), Some(d("1299")));
        assert_eq!(price_in("1.299"), Some(d("1299")));
        assert_eq!(price_in("CHF 1'299.90"), Some(d("1299.90")));
        assert_eq!(price_in("Now only 45"), Some(d("45")));
        assert_eq!(price_in("-5.00"), None);
        assert_eq!(price_in("free"), None);
    }

    #[test]
    fn schema_availability_with_or_without_prefix() {
        assert_eq!(
            Availability::from_schema("https://schema.org/InStock"),
            Some(Availability::InStock)
        );
        assert_eq!(
            Availability::from_schema("http://schema.org/OutOfStock"),
            Some(Availability::OutOfStock)
        );
        assert_eq!(
            Availability::from_schema("SoldOut"),
            Some(Availability::OutOfStock)
        );
        assert_eq!(
            Availability::from_schema("schema:PreOrder"),
            Some(Availability::Later)
        );
        assert_eq!(
            Availability::from_schema("in stock"),
            Some(Availability::InStock)
        );
        assert_eq!(Availability::from_schema("whatever"), None);
    }

    #[test]
    fn stock_phrases_read_sold_out_first() {
        let s = PageSettings::default();
        assert_eq!(
            stock_from_text("Currently unavailable.", &s),
            Some(Availability::OutOfStock)
        );
        assert_eq!(
            stock_from_text("  Add to Cart ", &s),
            Some(Availability::InStock)
        );
        assert_eq!(stock_from_text("Size guide", &s), None);
        let custom = PageSettings {
            in_stock_phrases: vec!["Versandbereit".into()],
            out_of_stock_phrases: vec!["Ausverkauft".into()],
            ..PageSettings::default()
        };
        assert_eq!(
            stock_from_text("AUSVERKAUFT", &custom),
            Some(Availability::OutOfStock)
        );
        assert_eq!(
            stock_from_text("versandbereit", &custom),
            Some(Availability::InStock)
        );
    }
}
