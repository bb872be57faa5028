//! Types shared by the Dropwatch engine, the server and the browser.
//!
//! This crate compiles to wasm: it holds data and pure functions only (serde,
//! `rust_decimal`, `chrono`), no I/O. The engine (`monitor`) fills these types,
//! the store persists them, and the live socket and the Leptos pages carry them
//! to the browser unchanged, so there is one definition of a product, a variant
//! (a size) and an event everywhere.
//!
//! Money is always a [`Decimal`] with a currency code beside it, never `f64`;
//! on the wire a decimal is a string (`"129.99"`), as shops send it.

mod auth;
pub mod compare;
pub mod deal;
mod event;
mod field_error;
mod filter;
pub mod forecast;
pub mod history;
mod instance;
mod keywords;
mod link_import;
pub mod money;
mod notice;
pub mod picks;
pub mod probe;
mod product;
pub mod related;
mod reprice;
pub mod restock;
pub mod rhythm;
mod rule;
mod source;
mod source_import;
mod source_settings;
mod top;
pub mod trending;

pub use auth::{ApiToken, AuditEntry, Role, User, Viewer};
pub use compare::MatchedBy;
pub use event::{Event, EventKind, EventProduct, EventVariant};
pub use field_error::{FieldError, SourceField};
pub use filter::{size_choices, ProductFilter, ProductPage, Sort, PAGE_SIZE};
pub use history::{PricePoint, StockPoint, VariantPrice, VariantStock};
pub use instance::{InstanceView, LeaseView};
pub use keywords::KeywordFilter;
pub use link_import::{ImportLine, ImportReport, ImportState};
pub use notice::Notice;
pub use probe::Probe;
pub use product::{PriceMove, Product, ProductSummary, Spread, Variant, UNKNOWN_PRICE};
pub use reprice::{
    check_rate, Link, Markup, MarkupRule, Priced, Proposal, ProposalState, Rounding, MAX_RATE,
};
pub use rule::{ChannelInfo, Condition, Delivery, Rule, Scope};
pub use rust_decimal::Decimal;
pub use source::{
    AmazonSettings, HostView, JsonMapping, PageSettings, PollDay, PollRun, PopmartSettings,
    RunProgress, Source, POPMART_REGIONS, POPMART_WATCHES,
};
pub use source_import::{EntryState, ExtraEntry, ExtraKind, SourceEntry, SourceImport};
pub use source_settings::{SourceSettings, SourceSettingsWire};

/// A Shopify storefront's public catalogue (`/products.json`). Kinds are
/// named here so that the UI, the store and the CLI agree on the names.
pub const SOURCE_KIND_SHOPIFY: &str = "shopify";
/// One product page of any shop, read from its structured data (JSON-LD,
/// microdata, OpenGraph) or the user's CSS selectors.
pub const SOURCE_KIND_PAGE: &str = "page";
/// Any JSON API (the Luckdata sneaker API, a store's own API), read through
/// a field mapping.
pub const SOURCE_KIND_JSON: &str = "json";
/// Amazon products (ASINs) read through the Oxylabs Web Scraper API.
pub const SOURCE_KIND_AMAZON: &str = "amazon";
/// Pop Mart's shop API, per region (products, a category, new arrivals, a
/// search or a series).
pub const SOURCE_KIND_POPMART: &str = "popmart";
/// A WooCommerce shop's public Store API (`/wp-json/wc/store/v1/products`).
pub const SOURCE_KIND_WOOCOMMERCE: &str = "woocommerce";
/// Every kind a source may have.
pub const SOURCE_KINDS: &[&str] = &[
    SOURCE_KIND_SHOPIFY,
    SOURCE_KIND_WOOCOMMERCE,
    SOURCE_KIND_PAGE,
    SOURCE_KIND_JSON,
    SOURCE_KIND_AMAZON,
    SOURCE_KIND_POPMART,
];
