//! Dropwatch's engine: everything but the web UI.
//!
//! The path of one poll, top to bottom:
//!
//! - [`poll`]: a scheduler per source decides when to read it (interval with
//!   jitter, "check now", never two runs of one source at once);
//! - [`fetch`]: the HTTP client, through the host's [`politeness`] gate
//!   (requests in flight, spacing, `Retry-After`, back-off, circuit breaker),
//!   with a timeout and a body-size cap, sorting failures into classes;
//! - [`sources`]: connectors that read what a shop sent (one file per kind:
//!   Shopify, WooCommerce, product pages, JSON APIs, Amazon, Pop Mart; the
//!   interface the poller asks them through is `sources/connector.rs`), with
//!   [`normalise`] making brands, sizes and money uniform;
//! - [`detect`]: diffs each product against the in-memory current state;
//! - [`store`]: SurrealDB; a product's changes, history points and numbered
//!   events in one transaction (up to 50 changed products per transaction);
//! - [`live`]: publishes committed events, and gives each client a gap-free,
//!   duplicate-free feed from any sequence number.
//!
//! [`auth`] says who a request is and what their role allows (users,
//! sessions, API tokens, the audit log, sealed secrets); [`control`] makes
//! every change to the sources on someone's behalf, checked and audited.
//!
//! Moving data in and out: [`import`] (changedetection.io backups, lists of
//! URLs), [`export`] (CSV and JSON, streamed), [`probe`] (what Dropwatch
//! would read at a URL), and the store's backup and restore.
//!
//! [`engine::Engine`] ties them together and is the only way in for the
//! server and tests. [`demo`] is a Shopify-compatible store used as the
//! built-in demo, by tests, and by the benchmark.

pub mod alerts;
pub mod auth;
pub mod body;
pub mod bounds;
pub mod control;
pub mod demo;
pub mod detect;
pub mod engine;
pub mod export;
pub mod fetch;
pub mod follow;
pub mod import;
pub mod insight;
pub mod lease;
pub mod links;
pub mod live;
pub mod metrics;
pub mod normalise;
pub mod outbound;
pub mod politeness;
mod poll;
pub mod probe;
pub mod repricing;
pub mod retention;
mod source_input;
pub mod sources;
pub mod store;
pub mod supervise;
mod unchanged;

pub use auth::{Accounts, Identity};
pub use control::{Control, ControlError};
pub use engine::{
    ConnectorStatus, Connectors, Engine, EngineConfig, EngineError, NewSource, OfferedAccounts,
    OfferedKeys, OfferedLogin, SourceEdit,
};
pub use store::Store;
