//! A page source's poll: fetch the page, skip it when its bytes are the ones
//! read last time, else read it (see `read.rs`).

use std::sync::atomic::Ordering;

use parking_lot::Mutex;

use model::{PageSettings, Product};

use super::{read_page, PageContext, PageError};
use crate::fetch::FetchError;
use crate::sources::connector::{PageRead, ReadContext};
use crate::unchanged::{self, PageSeen};

/// Checks the page: its one product, or why it could not be read.
pub(crate) async fn read(
    ctx: &ReadContext,
    settings: &PageSettings,
    previous: Option<&Product>,
    last_page: &Mutex<Option<PageSeen>>,
) -> Result<PageRead, FetchError> {
    let body = ctx.fetcher.get_page(&ctx.store).await?;
    // The very page read last time, read the same way: what it says is
    // what is kept (no copy, no parse, no change).
    let digest = unchanged::page_digest(&body, settings, &ctx.currency);
    if let Some(p) = previous {
        if last_page.lock().as_ref().map(|s| s.digest) == Some(digest) {
            ctx.unchanged.fetch_add(1, Ordering::Relaxed);
            return Ok(PageRead::of(vec![p.clone()], None));
        }
    }
    *last_page.lock() = None;
    let html = body.into_text();
    let pctx = PageContext {
        source: &ctx.key,
        url: &ctx.store,
        currency: &ctx.currency,
        brands: &ctx.brands,
        settings,
        previous,
    };
    match read_page(&html, &pctx) {
        Ok((p, trace)) => {
            *last_page.lock() = Some(PageSeen {
                digest,
                notes: trace.notes,
            });
            Ok(PageRead::of(vec![p], None))
        }
        Err(PageError::Blocked(why)) => Err(FetchError::Blocked(why)),
        Err(e) => Err(FetchError::Unreadable(e.to_string())),
    }
}
