//! Connectors: one module per kind of source, each turning what a shop sends
//! into [`model::Product`]s. They parse; fetching (and politeness) is `fetch.rs`'s job.

pub mod amazon;
pub mod json;
pub mod page;
pub mod popmart;
pub mod shopify;

/// A decimal an API gives as a JSON number (31.68, 106.0, -1) or as text
/// ("594.00"); negative text is refused, as `normalise::parse_price` does.
pub(crate) fn json_decimal(v: Option<&serde_json::Value>) -> Option<rust_decimal::Decimal> {
    match v? {
        serde_json::Value::Number(n) => n.to_string().parse().ok(),
        serde_json::Value::String(s) => crate::normalise::parse_price(s),
        _ => None,
    }
}
