//! Server functions: the page's reads, answered by the engine on the server.
//!
//! The engine reaches them through Leptos context (the server provides an
//! `Arc<monitor::Engine>` for every request).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use model::{Event, ProductSummary};

/// What the products page shows at first, and where its live feed starts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProductsView {
    /// The last event already reflected in `products`; the live socket is
    /// opened with `since` = this, so nothing is missed or applied twice.
    pub last_seq: u64,
    /// How many products are tracked in all.
    pub total: usize,
    /// The most recently changed products, at most [`PAGE_SIZE`].
    pub products: Vec<ProductSummary>,
    /// The latest events up to `last_seq`, newest first, at most [`FEED_LEN`].
    pub recent: Vec<Event>,
}

/// How many events the feed shows.
pub const FEED_LEN: usize = 30;

/// How many products the page renders (the full grid with paging is the
/// dashboard's job).
pub const PAGE_SIZE: usize = 500;

#[server]
pub async fn list_products() -> Result<ProductsView, ServerFnError> {
    let engine = use_context::<std::sync::Arc<monitor::Engine>>()
        .ok_or_else(|| ServerFnError::new("the engine is not running"))?;
    // `last_seq` first: the state read after it already includes every event
    // up to it (see `Store::commit`), and later events arrive on the socket.
    let last_seq = engine.store().last_seq();
    let all = engine.products();
    let mut recent = engine
        .store()
        .events_since(last_seq.saturating_sub(FEED_LEN as u64), FEED_LEN)
        .await
        .map_err(|e| ServerFnError::new(format!("could not read the latest events: {e}")))?;
    // Events after `last_seq` will come on the socket; don't show them twice.
    recent.retain(|e| e.seq <= last_seq);
    recent.reverse();
    Ok(ProductsView {
        last_seq,
        total: all.len(),
        products: all.into_iter().take(PAGE_SIZE).collect(),
        recent,
    })
}
