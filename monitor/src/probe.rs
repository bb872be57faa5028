//! What Dropwatch would read at a URL, and where each value came from.
//!
//! `dropwatch probe URL` and the Sources page's "Test this URL" are the first
//! thing a user runs when a shop "doesn't work". A probe reads the URL the
//! way polling would -- through a [`Fetcher`] (the outbound policy, the
//! host's politeness gate, the size cap and the timeout) and with the same
//! connectors -- and stores nothing. It answers a [`model::Probe`]:
//!
//! 1. the kind: a Shopify store when `products.json` under the store's
//!    address answers with a `products` list (a product page's store is the
//!    part before `/products/`); a JSON API when the answer is JSON;
//!    otherwise a product page;
//! 2. what would be tracked: a page's product with where its title, brand,
//!    price, currency and stock came from (`sources::page::read_page`), or
//!    the first few products of a store (`sources::shopify`);
//! 3. why anything is missing, or why the page is refused, in words that
//!    say what to do (see `probe/page.rs`).
//!
//! The engine's probe ([`Engine::probe`]) goes through the engine's own
//! fetcher, so users' requests follow the server's strict policy and share
//! its politeness with polling; [`probe`] builds its own fetcher with an
//! open policy, for the operator's own command line.

mod json;
mod page;

use std::time::Instant;

use url::Url;

use model::probe::{Fact, Field, Origin, ProbeKind, ProbeProduct, ProbeSize, ProbeVerdict};
use model::{PageSettings, Probe, Product};

use crate::fetch::{FetchError, FetchLimits, Fetcher};
use crate::normalise::{check_product, BrandTable};
use crate::outbound::{Policy, Refused};
use crate::politeness::{Gates, Politeness};
use crate::sources::{shopify, woocommerce};
use crate::{Engine, EngineError};

/// How many of a store's products a probe shows.
pub const SHOWN_PRODUCTS: usize = 5;

/// Why a probe did not start: the address itself is wrong or not allowed.
/// (Everything that goes wrong once it is sent is part of the [`Probe`].)
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("{0}")]
    Address(String),
    #[error("refused: {0}")]
    Refused(#[from] Refused),
    #[error("{0:?} is not a currency code; give three letters, e.g. USD or EUR")]
    Currency(String),
}

impl From<ProbeError> for EngineError {
    fn from(e: ProbeError) -> EngineError {
        EngineError::InvalidSource(e.to_string())
    }
}

/// What to probe, and how a product page is read.
#[derive(Clone, Debug, Default)]
pub struct ProbeRequest {
    pub url: String,
    /// The currency of prices the shop does not label (USD when not given).
    pub currency: Option<String>,
    /// A product page's selectors and stock phrases, as on the Sources form.
    pub page: PageSettings,
}

impl ProbeRequest {
    pub fn new(url: &str, currency: Option<&str>) -> ProbeRequest {
        ProbeRequest {
            url: url.to_string(),
            currency: currency.map(str::to_string),
            page: PageSettings::default(),
        }
    }
}

impl Engine {
    /// What Dropwatch would read at `url`, through the engine's fetcher and
    /// outbound policy, without adding anything ("Test this URL").
    pub async fn probe(&self, url: &str, currency: Option<&str>) -> Result<Probe, EngineError> {
        self.probe_with(ProbeRequest::new(url, currency)).await
    }

    /// [`Engine::probe`] with a product page's selectors and phrases.
    pub async fn probe_with(&self, request: ProbeRequest) -> Result<Probe, EngineError> {
        let brands = self.brands.read().clone();
        Ok(run(&self.fetcher, &brands, &request).await?)
    }
}

/// A probe from the command line: its own fetcher, with the default
/// politeness and an open outbound policy (the operator's own command may
/// reach the LAN).
pub async fn probe(request: &ProbeRequest, limits: FetchLimits) -> Result<Probe, ProbeError> {
    let fetcher = Fetcher::new(limits, Gates::new(Politeness::default()), Policy::open());
    run(&fetcher, &BrandTable::default(), request).await
}

/// The probe itself, through any fetcher.
pub(crate) async fn run(
    fetcher: &Fetcher,
    brands: &BrandTable,
    request: &ProbeRequest,
) -> Result<Probe, ProbeError> {
    let url = crate::engine::source_url(&request.url).map_err(|e| match e {
        EngineError::InvalidSource(why) => ProbeError::Address(why),
        other => ProbeError::Address(other.to_string()),
    })?;
    let currency = match request.currency.as_deref().map(str::trim) {
        None | Some("") => "USD".to_string(),
        Some(c) if c.len() == 3 && c.chars().all(|x| x.is_ascii_alphabetic()) => {
            c.to_ascii_uppercase()
        }
        Some(c) => return Err(ProbeError::Currency(c.to_string())),
    };
    fetcher.policy().check_resolved(&url).await?;

    let started = Instant::now();
    let mut probe = Probe::new(url.as_str());
    let (store, product_page) = shopify::store_of(&url);
    // Is there a Shopify catalogue? Read as a page (HTML is an answer
    // here, not a failure the host's gate would count against it).
    let catalogue_url = shopify::page_url(&store, 1);
    let catalogue = match fetcher.get_html(&catalogue_url).await {
        Ok(body) => shopify::catalogue_size(body.as_bytes()).map(|n| (body, n)),
        // The shop is not there at all, or its gate is closed: the page
        // would fail the same way, after as long a wait.
        Err(
            e @ (FetchError::Timeout(_)
            | FetchError::Unreachable(_)
            | FetchError::BackingOff { .. }
            | FetchError::CircuitOpen { .. }),
        ) => {
            failed(&mut probe, &e);
            probe.millis = elapsed_ms(started);
            return Ok(probe);
        }
        Err(_) => None,
    };
    match catalogue {
        Some((body, count)) if !product_page => {
            read_store(&mut probe, &body, count, &store, &currency, brands);
        }
        _ => {
            // A page of a WooCommerce shop names it (its classes and
            // plugin paths): only then is its Store API asked about.
            let mut woo_page = woocommerce::shop_of(&url).is_some();
            match fetcher.get_html(&url).await {
                Err(e) => failed(&mut probe, &e),
                Ok(body) => {
                    woo_page |= body.contains("woocommerce");
                    probe.status = Some(200);
                    probe.bytes = body.len() as u64;
                    if let Some(v) = json::parse(&body) {
                        json::read(&mut probe, &v);
                    } else {
                        page::read(&mut probe, &body, &url, &currency, brands, &request.page);
                    }
                }
            }
            if let Some((_, count)) = catalogue {
                probe.notes.push(format!(
                    "This shop is a Shopify store ({catalogue_url} lists {count} product{}): add {store} as a Shopify store to watch its whole catalogue, every size's stock included; this address alone is read as a product page.",
                    plural(count)
                ));
            } else if let Some(shop) = store_api(fetcher, &url, woo_page).await {
                probe.notes.push(format!(
                    "This shop runs WooCommerce (its Store API answers): add {shop} as a WooCommerce shop to watch its whole catalogue, every size's stock included; this address alone is read as a page."
                ));
            }
        }
    }
    probe.millis = elapsed_ms(started);
    Ok(probe)
}

/// A Shopify store: the first catalogue page, and its first few products.
fn read_store(
    probe: &mut Probe,
    body: &str,
    count: usize,
    store: &Url,
    currency: &str,
    brands: &BrandTable,
) {
    probe.kind = Some(ProbeKind::Shopify);
    probe.status = Some(200);
    probe.bytes = body.len() as u64;
    probe.product_count = Some(count);
    let ctx = shopify::PageContext {
        source: "probe",
        store,
        currency,
        brands,
    };
    let products = match shopify::parse_page(body.as_bytes(), &ctx) {
        Ok(p) => p,
        Err(e) => {
            probe.verdict = ProbeVerdict::Unreadable;
            probe.error = Some(e.to_string());
            return;
        }
    };
    probe.verdict = ProbeVerdict::Tracks;
    let readable = products.len();
    for mut p in products.into_iter().take(SHOWN_PRODUCTS) {
        match check_product(&mut p) {
            Ok(()) => probe.products.push(store_product(&p)),
            Err(e) => probe.notes.push(format!("Skipped, as polling would: {e}")),
        }
    }
    if count == 0 {
        probe.miss(
            Field::Products,
            "the first catalogue page lists no products: the store is empty, or hides its catalogue",
        );
    } else if readable < count {
        probe.notes.push(format!(
            "{} of the {count} products on the first page have no size with a readable price and are left out.",
            count - readable
        ));
    }
    probe.miss(
        Field::Currency,
        format!("products.json does not say the currency: {currency} is assumed; give the source's currency if the shop sells in another"),
    );
}

/// A store's product as it would be tracked: everything from
/// `products.json` but the currency, which the source gives.
fn store_product(p: &Product) -> ProbeProduct {
    ProbeProduct {
        title: Fact::new(p.title.clone(), Origin::Catalogue),
        brand: (!p.brand.is_empty()).then(|| Fact::new(p.brand.clone(), Origin::Catalogue)),
        currency: Fact::new(p.currency.clone(), Origin::SourceCurrency),
        price_from: Origin::Catalogue,
        stock_from: Origin::Catalogue,
        sizes: sizes(p),
        url: p.url.clone(),
    }
}

fn sizes(p: &Product) -> Vec<ProbeSize> {
    p.variants
        .iter()
        .map(|v| ProbeSize {
            label: v.size.clone(),
            price: v.price,
            compare_at: v.compare_at,
            available: v.available,
        })
        .collect()
}

/// A fetch that failed, in the probe's words.
fn failed(probe: &mut Probe, e: &FetchError) {
    probe.status = match e {
        FetchError::PasswordProtected => Some(401),
        // A page read (`get_html`) is only "blocked" by a 403.
        FetchError::Blocked(_) => Some(403),
        FetchError::RateLimited { status, .. }
        | FetchError::Server { status }
        | FetchError::Http { status } => Some(*status),
        _ => None,
    };
    probe.verdict = if e.class().is_blocked() {
        ProbeVerdict::Blocked
    } else {
        ProbeVerdict::Failed
    };
    let hint = match e {
        FetchError::Http { status: 404 | 410 } => {
            ": there is no page at this address; check it in a browser"
        }
        _ => "",
    };
    probe.error = Some(format!("{e}{hint}"));
}

fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// The WooCommerce shop `url` belongs to, when its page looks like one and
/// its Store API answers (at the address's own `wp-json` path, else at the
/// site's root).
async fn store_api(fetcher: &Fetcher, url: &Url, woo_page: bool) -> Option<Url> {
    if !woo_page {
        return None;
    }
    let shop = woocommerce::shop_of(url).or_else(|| url.join("/").ok())?;
    woocommerce::answers_store_api(fetcher, &shop)
        .await
        .then_some(shop)
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// A fetcher for tests: local fakes, no waits.
#[cfg(test)]
pub(crate) fn test_fetcher(policy: std::sync::Arc<Policy>) -> Fetcher {
    Fetcher::new(
        FetchLimits::default(),
        Gates::new(Politeness::local()),
        policy,
    )
}

#[cfg(test)]
mod tests;
