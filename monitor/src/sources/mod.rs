//! Connectors: one module per kind of source, each turning what a shop sends
//! into [`model::Product`]s. They parse; fetching (and politeness) is `fetch.rs`'s job.

pub mod amazon;
pub mod json;
pub mod page;
pub mod popmart;
pub mod shopify;
