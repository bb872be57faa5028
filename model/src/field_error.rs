//! A refusal of one field of a form or a REST body, typed, so that the
//! engine's words reach the field they are about (the Sources form shows
//! them next to it; REST answers them as `problem+json` with `field`).

use serde::{Deserialize, Serialize};

/// The fields of a source a user gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SourceField {
    Kind,
    Url,
    Interval,
    PriceSelector,
    StockSelector,
    JsonMapping,
    Asins,
    PopmartTarget,
    Keywords,
}

impl SourceField {
    /// The field's name in forms and REST bodies.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceField::Kind => "kind",
            SourceField::Url => "url",
            SourceField::Interval => "interval",
            SourceField::PriceSelector => "price_selector",
            SourceField::StockSelector => "stock_selector",
            SourceField::JsonMapping => "json_mapping",
            SourceField::Asins => "asins",
            SourceField::PopmartTarget => "popmart_target",
            SourceField::Keywords => "keywords",
        }
    }
}

/// What is wrong with one field, in words that say what to do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: SourceField,
    pub message: String,
}

impl FieldError {
    pub fn new(field: SourceField, message: impl Into<String>) -> FieldError {
        FieldError {
            field,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for FieldError {}
