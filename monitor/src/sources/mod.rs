//! Connectors: one module per kind of source, each turning what a shop sends
//! into [`model::Product`]s. They parse; fetching (and politeness) is
//! `fetch.rs`'s job; what the poller asks of each is `connector.rs`.

pub mod amazon;
pub(crate) mod connector;
pub mod json;
pub mod page;
pub mod popmart;
pub mod shopify;
pub mod woocommerce;

/// A price an API gives as a JSON number (31.68, 106.0, 1.5e2) or as text
/// ("594.00"); negative values are refused, as `normalise::parse_price`
/// does (which also leaves the bounds to the engine's gate).
pub fn json_decimal(v: Option<&serde_json::Value>) -> Option<rust_decimal::Decimal> {
    match v? {
        serde_json::Value::Number(n) => crate::normalise::parse_price(&n.to_string()),
        serde_json::Value::String(s) => crate::normalise::parse_price(s),
        _ => None,
    }
}
