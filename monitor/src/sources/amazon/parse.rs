//! Reading one Oxylabs `amazon_product` result (parse=true) into a product:
//! the buy-box price and currency, the stock text in words ("Only 3 left in
//! stock", "Currently unavailable"), and the several ways Oxylabs says
//! "nothing" that are not "sold out" (see the connector's notes in
//! `mod.rs`). Everything in the answer is outside data: numbers are bounded,
//! text is trimmed, and a field of the wrong type is treated as absent.

use chrono::Utc;
use rust_decimal::Decimal;
use serde_json::Value;

use model::{Product, Variant};

use super::AmazonContext;

/// Why one ASIN could not be read (the others still are).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ItemError {
    #[error(
        "{asin}: Amazon has no such product (Oxylabs: HTTP 404, parse code 12003); check the ASIN"
    )]
    NotFound { asin: String },
    #[error(
        "{asin}: no offer on Amazon right now (no buy-box price); it is recorded once it has one"
    )]
    NoOffer { asin: String },
    #[error("{asin}: {why}")]
    Unreadable { asin: String, why: String },
}

/// In stock, low stock (with the quantity when the text says it), out, or
/// the text does not say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stock {
    InStock,
    Low(Option<u32>),
    Out,
    Unknown,
}

/// Amazon's stock text: "In Stock", "Only 3 left in stock - order soon.",
/// "Currently unavailable.", "Temporarily out of stock.", "Usually ships
/// within 2 to 3 days", "Available to ship in 1-2 days".
pub fn stock_from_text(text: &str) -> Stock {
    let t = text.trim().to_lowercase();
    if t.is_empty() {
        return Stock::Unknown;
    }
    if [
        "currently unavailable",
        "out of stock",
        "unavailable",
        "no longer available",
        "not available",
    ]
    .iter()
    .any(|p| t.contains(p))
    {
        return Stock::Out;
    }
    if let Some(rest) = t.strip_prefix("only ") {
        let n = rest
            .split_whitespace()
            .next()
            .and_then(|n| n.parse::<u32>().ok());
        return Stock::Low(n);
    }
    if t.contains("left in stock") || t.contains("order soon") {
        return Stock::Low(None);
    }
    if [
        "in stock",
        "usually ships",
        "ships within",
        "available to ship",
        "available from",
    ]
    .iter()
    .any(|p| t.contains(p))
    {
        return Stock::InStock;
    }
    Stock::Unknown
}

/// A price, shown with cents as Amazon shows them (106.0 -> 106.00).
fn number(v: Option<&Value>) -> Option<Decimal> {
    let mut d = crate::sources::json_decimal(v)?;
    if d.scale() < 2 {
        d.rescale(2);
    }
    Some(d)
}

fn text<'a>(v: Option<&'a Value>) -> Option<&'a str> {
    v.and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// One `results[]` entry of an `amazon_product` query as a product.
pub fn parse_result(
    result: &Value,
    asin: &str,
    ctx: &AmazonContext<'_>,
) -> Result<Product, ItemError> {
    let content = result.get("content").unwrap_or(&Value::Null);
    let status = result
        .get("status_code")
        .and_then(Value::as_u64)
        .unwrap_or(200);
    let parse_code = content.get("parse_status_code").and_then(Value::as_u64);
    if status == 404 || parse_code == Some(12003) {
        return Err(ItemError::NotFound { asin: asin.into() });
    }
    let unreadable = |why: String| ItemError::Unreadable {
        asin: asin.into(),
        why,
    };
    if status != 200 {
        return Err(unreadable(format!(
            "Oxylabs could not fetch the page (status {status}); will try again"
        )));
    }
    if let Some(code) = parse_code.filter(|c| *c != 12000) {
        return Err(unreadable(format!(
            "Oxylabs could not parse the page (parse code {code}); will try again"
        )));
    }
    if !content.is_object() {
        return Err(unreadable("the answer has no product in it".into()));
    }
    let positive = |d: Option<Decimal>| d.filter(|p| *p > Decimal::ZERO);
    let price = positive(number(content.get("price")))
        .or_else(|| positive(number(content.get("price_buybox"))));
    let stock_text = text(content.get("stock")).unwrap_or("");
    let stock = stock_from_text(stock_text);
    let previous = ctx.previous.get(asin);
    let (price, available) = match price {
        // A price with no stock words is buyable: unknown is not "sold out".
        Some(p) => (Some(p), !matches!(stock, Stock::Out)),
        // No buy-box price: nobody sells it now. Out of stock at the last price.
        None => match previous.and_then(|p| p.variants.first()) {
            Some(v) => (v.price, false),
            None => return Err(ItemError::NoOffer { asin: asin.into() }),
        },
    };
    let list_price = [
        content.get("price_strikethrough"),
        content.get("price_initial"),
    ]
    .into_iter()
    .filter_map(|v| positive(number(v)))
    .find(|lp| price.is_some_and(|p| *lp > p));
    let currency = text(content.get("currency"))
        .filter(|c| c.len() == 3)
        .map(str::to_uppercase)
        .or_else(|| previous.map(|p| p.currency.clone()))
        .unwrap_or_else(|| ctx.currency.to_string());
    let title = text(content.get("title"))
        .or_else(|| text(content.get("product_name")))
        .map(str::to_string)
        .or_else(|| previous.map(|p| p.title.clone()))
        .ok_or_else(|| unreadable("the answer has no title".into()))?;
    let brand = text(content.get("brand"))
        .or_else(|| text(content.get("manufacturer")))
        .unwrap_or("");
    let category = content
        .pointer("/category/0/ladder")
        .and_then(Value::as_array)
        .and_then(|l| l.last())
        .and_then(|c| text(c.get("name")))
        .unwrap_or("");

    let mut facts = std::collections::BTreeMap::new();
    if !stock_text.is_empty() {
        facts.insert("stock".to_string(), stock_text.to_string());
    }
    match stock {
        Stock::Low(Some(n)) => {
            facts.insert("low stock".into(), format!("only {n} left"));
        }
        Stock::Low(None) => {
            facts.insert("low stock".into(), "a few left".into());
        }
        _ if price_is_missing(content) => {
            facts.insert("offer".into(), "no buy-box offer".into());
        }
        _ => {}
    }
    if let Some(d) = content
        .get("delivery")
        .and_then(Value::as_array)
        .and_then(|d| d.first())
    {
        let when = d
            .pointer("/date/by")
            .or_else(|| d.pointer("/date/from"))
            .and_then(Value::as_str);
        if let Some(when) = when.map(str::trim).filter(|w| !w.is_empty()) {
            let kind = text(d.get("type")).unwrap_or("delivery");
            facts.insert("delivery".into(), format!("{when} ({kind})"));
        }
    }
    if let Some(r) =
        crate::sources::json_decimal(content.get("rating")).filter(|r| *r > Decimal::ZERO)
    {
        let rating = match content.get("reviews_count").and_then(Value::as_u64) {
            Some(n) => format!("{r} of 5 ({n} reviews)"),
            None => format!("{r} of 5"),
        };
        facts.insert("rating".into(), rating);
    }
    if let Some(lp) = list_price {
        facts.insert("list price".into(), format!("{lp} {currency}"));
    }

    let site = format!("https://www.amazon.{}", ctx.settings.domain);
    let now = Utc::now();
    Ok(Product {
        title,
        brand: ctx.brands.canonical(brand),
        product_type: category.to_string(),
        url: format!("{site}/dp/{asin}"),
        image: content
            .get("images")
            .and_then(Value::as_array)
            .and_then(|i| i.first())
            .and_then(Value::as_str)
            .map(str::to_string),
        currency,
        variants: vec![Variant {
            id: asin.to_string(),
            size: "One size".into(),
            sku: Some(asin.to_string()),
            price,
            compare_at: list_price,
            available,
            cart_url: Some(format!(
                "{site}/gp/aws/cart/add.html?ASIN.1={asin}&Quantity.1=1"
            )),
        }],
        facts,
        ..Product::observed(ctx.source, &asin.to_lowercase(), asin, now)
    })
}

fn price_is_missing(content: &Value) -> bool {
    number(content.get("price")).is_none_or(|p| p <= Decimal::ZERO)
        && number(content.get("price_buybox")).is_none_or(|p| p <= Decimal::ZERO)
}
