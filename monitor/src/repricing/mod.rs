//! Repricing (issue 6, in progress on this branch): the Shopify Admin
//! GraphQL client of the user's own store (`admin.rs`), proposals and the
//! push job (`service.rs`), links in bulk from a CSV (`import.rs`), and the
//! webhook signature check (`webhook.rs`). The markup arithmetic (and the
//! conversion rate for a source in another currency) is `model::Markup`.
pub mod admin;
pub mod import;
pub mod service;
pub mod webhook;
