//! Repricing (issue 6, in progress on this branch): the Shopify Admin
//! GraphQL client of the user's own store (`admin.rs`), the repricer and
//! its public face (`service.rs`) with its concerns beside it: connecting
//! the shop (`shop.rs`), links (`links.rs`), markup rules (`markup.rs`),
//! proposals and approval (`proposals.rs`), the push queue (`push.rs`) and
//! the shop's webhook deliveries (`shop_updates.rs`); links in bulk from a
//! CSV (`import.rs`), and the webhook signature check (`webhook.rs`). The
//! markup arithmetic (and the conversion rate for a source in another
//! currency) is `model::Markup`.
pub mod admin;
pub mod import;
mod links;
mod markup;
mod proposals;
mod push;
pub mod service;
mod shop;
mod shop_updates;
pub mod webhook;
