//! The connector interface: what the poller asks of every kind of source.
//!
//! A run builds one [`Connector`] for its source (the kind's settings, the
//! account or keys it reads with, what it needs from the last run) and asks
//! it for page after page; each kind's file answers with a [`PageRead`]:
//! the products it found, and whether the read stopped early. Paging,
//! diffing, writing and removals are the poller's (`poll.rs`), so a new kind
//! of shop is its settings, one file that reads it, and one arm here.
//!
//! Catalogue kinds (Shopify, WooCommerce) answer one page of the shop per
//! page asked; API kinds read everything as page 1 (they page themselves)
//! and answer an empty page 2, which ends the read.

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use parking_lot::Mutex;
use url::Url;

use model::{AmazonSettings, JsonMapping, PageSettings, PopmartSettings, Product};

use crate::fetch::{FetchError, Fetcher};
use crate::normalise::BrandTable;
use crate::unchanged::{CataloguePages, Digest, PageSeen, Replay};

use super::amazon::{AmazonConfig, OxylabsAccount};
use super::popmart::PopmartKeys;

/// One page as its connector read it.
pub(crate) struct PageRead {
    pub products: Vec<Product>,
    /// What stopped the read after these products (the rest failed).
    pub partial: Option<FetchError>,
    /// The catalogue page's digest: kept once its products are saved.
    pub digest: Option<Digest>,
    /// The page is byte for byte the one saved last time: these are its
    /// products, as stored.
    pub same_as_last: Option<Replay>,
}

impl PageRead {
    pub fn of(products: Vec<Product>, partial: Option<FetchError>) -> Self {
        PageRead {
            products,
            partial,
            digest: None,
            same_as_last: None,
        }
    }

    /// The end of an API's read (everything came as page 1).
    pub fn end() -> Self {
        PageRead::of(vec![], None)
    }
}

/// What every connector reads with: the source, the fetcher (politeness and
/// the outbound policy), and the engine's settings.
pub(crate) struct ReadContext {
    pub fetcher: Arc<Fetcher>,
    /// The source's key: products' keys start with it.
    pub key: String,
    /// The source's address.
    pub store: Url,
    pub currency: String,
    pub brands: BrandTable,
    pub max_pages: u32,
    /// Catalogue pages as last read and saved (see `unchanged.rs`).
    pub catalogue_pages: Arc<CataloguePages>,
    /// Counts pages that were not read again (the same bytes as last time).
    pub unchanged: Arc<AtomicU64>,
}

/// A source's kind with what reading it takes.
pub(crate) enum Connector {
    /// A Shopify storefront's `products.json`.
    Shopify,
    /// A WooCommerce shop's Store API.
    WooCommerce,
    /// One product page of any shop.
    Page {
        settings: PageSettings,
        /// The product as last stored (a sold-out page may show no price).
        previous: Option<Product>,
        /// The last body read, to skip the same one.
        last_page: Arc<Mutex<Option<PageSeen>>>,
    },
    /// A JSON API read through a field mapping.
    Json {
        mapping: JsonMapping,
        /// The environment variables its headers may name.
        source_env: Vec<String>,
    },
    /// Amazon through an Oxylabs account.
    Amazon {
        settings: AmazonSettings,
        account: Option<OxylabsAccount>,
        cfg: AmazonConfig,
        /// Stored products by ASIN: one without an offer keeps its price.
        previous: HashMap<String, Product>,
    },
    /// Pop Mart's API with the region's keys.
    Popmart {
        settings: PopmartSettings,
        keys: Option<PopmartKeys>,
    },
}

impl Connector {
    /// Whether the source is read page after page until one comes back
    /// empty (the catalogues); every other connector reads it all at once.
    pub fn has_pages(&self) -> bool {
        matches!(self, Connector::Shopify | Connector::WooCommerce)
    }

    /// Reads page `page` (1-based) of the source.
    pub async fn read(&self, ctx: &ReadContext, page: u32) -> Result<PageRead, FetchError> {
        if page > 1 && !self.has_pages() {
            return Ok(PageRead::end());
        }
        match self {
            Connector::Shopify => super::shopify::read(ctx, page).await,
            Connector::WooCommerce => super::woocommerce::read(ctx, page).await,
            Connector::Page {
                settings,
                previous,
                last_page,
            } => super::page::read(ctx, settings, previous.as_ref(), last_page).await,
            Connector::Json {
                mapping,
                source_env,
            } => super::json::read(ctx, mapping, source_env).await,
            Connector::Amazon {
                settings,
                account,
                cfg,
                previous,
            } => {
                let account = account.as_ref().ok_or_else(|| {
                    FetchError::Refused(
                        "no Oxylabs account is set: an admin adds one under Connector accounts on the Sources page".into(),
                    )
                })?;
                super::amazon::read_source(ctx, settings, account, cfg, previous).await
            }
            Connector::Popmart { settings, keys } => {
                let keys = keys.as_ref().ok_or_else(|| {
                    FetchError::Refused(format!(
                        "no Pop Mart client key and signing salt are set for region {}: an admin adds them under Connector accounts on the Sources page",
                        settings.region
                    ))
                })?;
                super::popmart::read_source(ctx, settings, keys).await
            }
        }
    }
}

/// A catalogue page: replayed from its digest (of every body it was read
/// from, its address and the currency) when it is the page saved last time,
/// else parsed by `parse`.
pub(crate) fn catalogue_page(
    ctx: &ReadContext,
    page: u32,
    digest: Digest,
    parse: impl FnOnce() -> Result<Vec<Product>, FetchError>,
) -> Result<PageRead, FetchError> {
    if let Some(replay) = ctx.catalogue_pages.same_as_last(page, &digest) {
        ctx.unchanged
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return Ok(PageRead {
            same_as_last: Some(replay),
            ..PageRead::end()
        });
    }
    Ok(PageRead {
        digest: Some(digest),
        ..PageRead::of(parse()?, None)
    })
}
