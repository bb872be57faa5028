//! Repricing (issue 6, in progress on this branch): the Shopify Admin
//! GraphQL client of the user's own store (`admin.rs`), proposals and the
//! push job (`service.rs`), and the webhook signature check (`webhook.rs`).
//! The markup arithmetic is `model::Markup`.
pub mod admin;
pub mod service;
pub mod webhook;
