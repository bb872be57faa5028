//! Price and stock history: what the product page charts.
//!
//! A row is written only when something changed (and once on first sight),
//! so a product that never changes costs two rows, however often it is polled.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// One variant's price at a moment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VariantPrice {
    pub variant: String,
    pub size: String,
    pub price: Decimal,
    pub compare_at: Option<Decimal>,
}

/// One variant's availability at a moment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VariantStock {
    pub variant: String,
    pub size: String,
    pub available: bool,
}

/// A price-history row: the variants of one product whose price changed at `at`
/// (all of them on first sight).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PricePoint {
    pub product: String,
    pub at: DateTime<Utc>,
    /// `at` in milliseconds, for ordering and range queries.
    pub ts: i64,
    pub variants: Vec<VariantPrice>,
}

/// A stock-history row: the variants of one product whose availability changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StockPoint {
    pub product: String,
    pub at: DateTime<Utc>,
    pub ts: i64,
    pub variants: Vec<VariantStock>,
}
