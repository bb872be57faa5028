//! The "amazon" connector: Amazon products (ASINs) read through the Oxylabs
//! Web Scraper API (docs/external-apis.md). A few ASINs go through
//! the realtime API, one query each; more than [`AmazonConfig::realtime_max`]
//! go as one batch to the push-pull API, whose jobs are polled until done.
//!
//! The account (username and password) is given on the Sources page and kept
//! sealed in the vault; it is sent as HTTP Basic auth and never shown, logged
//! or stored with a source.
//!
//! Oxylabs says "nothing" in several ways that are not "sold out": a 404 or
//! parse code 12003 (no such product), a parsed page without a buy-box price
//! (`price` 0, `price_buybox` -1, empty `stock`). The first is reported and
//! the product left as it was; the second keeps the last price and marks the
//! product out of stock (it has no offer), or, at first sight, waits until a
//! price shows.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use url::Url;

use model::{AmazonSettings, Product};

use crate::fetch::{Answer, FetchError, Fetcher};
use crate::normalise::BrandTable;

mod parse;
pub use parse::{parse_result, stock_from_text, ItemError, Stock};

/// An Oxylabs account and where its two APIs are.
#[derive(Clone)]
pub struct OxylabsAccount {
    pub username: String,
    pub password: String,
    /// The realtime API's base (`https://realtime.oxylabs.io`).
    pub realtime: Url,
    /// The push-pull API's base (`https://data.oxylabs.io`).
    pub data: Url,
}

impl std::fmt::Debug for OxylabsAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OxylabsAccount")
            .field("username", &self.username)
            .field("password", &"<hidden>")
            .field("realtime", &self.realtime.as_str())
            .field("data", &self.data.as_str())
            .finish()
    }
}

pub const REALTIME_API: &str = "https://realtime.oxylabs.io";
pub const DATA_API: &str = "https://data.oxylabs.io";

/// How the connector uses the two APIs.
#[derive(Clone, Debug)]
pub struct AmazonConfig {
    /// Up to this many ASINs go through the realtime API; more as a batch.
    pub realtime_max: usize,
    /// How often a batch's jobs are asked about.
    pub batch_poll: Duration,
    /// How long a run waits for a batch before giving up on the rest.
    pub batch_wait: Duration,
}

impl Default for AmazonConfig {
    fn default() -> Self {
        AmazonConfig {
            realtime_max: 10,
            batch_poll: Duration::from_secs(5),
            batch_wait: Duration::from_secs(600),
        }
    }
}

/// What the source and the engine know when reading an answer.
pub struct AmazonContext<'a> {
    pub source: &'a str,
    pub settings: &'a AmazonSettings,
    /// The source's currency, for an answer that names none.
    pub currency: &'a str,
    pub brands: &'a BrandTable,
    /// The last state of each product by ASIN (a product without an offer
    /// keeps its last price).
    pub previous: &'a HashMap<String, Product>,
}

/// What one read of an Amazon source found: the products, the ASINs that
/// could not be read (with why), and an error that stopped the read early.
#[derive(Debug, Default)]
pub struct AmazonRead {
    pub products: Vec<Product>,
    pub skipped: Vec<ItemError>,
    pub stopped: Option<FetchError>,
}

fn query(settings: &AmazonSettings, query: Value) -> Value {
    let mut body = json!({
        "source": "amazon_product",
        "domain": settings.domain,
        "query": query,
        "parse": true,
    });
    if let Some(geo) = settings
        .geo_location
        .as_deref()
        .filter(|g| !g.trim().is_empty())
    {
        body["geo_location"] = json!(geo.trim());
    }
    body
}

/// Oxylabs' statuses in words (docs/external-apis.md).
fn classify(a: Answer) -> Result<Value, FetchError> {
    let message = || {
        serde_json::from_slice::<Value>(&a.body)
            .ok()
            .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_string))
            .unwrap_or_default()
    };
    match a.status {
        200..=203 => {}
        204 => return Err(FetchError::Server { status: 204 }),
        401 | 403 => {
            return Err(FetchError::Refused(format!(
                "Oxylabs refused the username and password (HTTP {}); check them under Connector accounts",
                a.status
            )))
        }
        422 | 400 => {
            return Err(FetchError::Unreadable(format!(
                "Oxylabs rejected the query (HTTP {}): {}",
                a.status,
                message()
            )))
        }
        429 => return Err(FetchError::RateLimited { status: 429, retry_after: a.retry_after }),
        524 => return Err(FetchError::Server { status: 524 }),
        500..=699 => return Err(FetchError::Server { status: a.status }),
        _ => return Err(FetchError::Http { status: a.status }),
    }
    if a.html {
        return Err(FetchError::Blocked(
            "Oxylabs answered with an HTML page where JSON was expected".into(),
        ));
    }
    serde_json::from_slice(&a.body)
        .map_err(|e| FetchError::Unreadable(format!("Oxylabs' answer is not valid JSON ({e})")))
}

fn post(
    fetcher: &Fetcher,
    account: &OxylabsAccount,
    url: Url,
    body: &Value,
) -> reqwest::RequestBuilder {
    fetcher
        .client()
        .post(url)
        .basic_auth(&account.username, Some(&account.password))
        .header(reqwest::header::ACCEPT, "application/json")
        .json(body)
}

fn get(fetcher: &Fetcher, account: &OxylabsAccount, url: Url) -> reqwest::RequestBuilder {
    fetcher
        .client()
        .get(url)
        .basic_auth(&account.username, Some(&account.password))
        .header(reqwest::header::ACCEPT, "application/json")
}

fn join(base: &Url, path: &str) -> Url {
    let mut u = base.clone();
    let prefix = u.path().trim_end_matches('/').to_string();
    u.set_path(&format!("{prefix}{path}"));
    u
}

/// An Amazon source's poll: every ASIN as page 1 (see `connector.rs`). A
/// stopped read, or ASINs that could not be read, fail the run (so nothing
/// is marked removed) after what was read is kept.
pub(crate) async fn read_source(
    ctx: &crate::sources::connector::ReadContext,
    settings: &AmazonSettings,
    account: &OxylabsAccount,
    cfg: &AmazonConfig,
    previous: &HashMap<String, Product>,
) -> Result<crate::sources::connector::PageRead, FetchError> {
    let actx = AmazonContext {
        source: &ctx.key,
        settings,
        currency: &ctx.currency,
        brands: &ctx.brands,
        previous,
    };
    let read = read(&ctx.fetcher, account, cfg, &actx).await;
    let partial = read.stopped.or_else(|| {
        (!read.skipped.is_empty()).then(|| {
            let why: Vec<String> = read.skipped.iter().map(|e| e.to_string()).collect();
            FetchError::Unreadable(format!(
                "{} of {} ASINs could not be read: {}",
                read.skipped.len(),
                settings.asins.len(),
                why.join("; ")
            ))
        })
    });
    match partial {
        Some(e) if read.products.is_empty() => Err(e),
        partial => Ok(crate::sources::connector::PageRead::of(
            read.products,
            partial,
        )),
    }
}

/// Reads every ASIN of a source: realtime for a few, a batch for many.
pub async fn read(
    fetcher: &Fetcher,
    account: &OxylabsAccount,
    cfg: &AmazonConfig,
    ctx: &AmazonContext<'_>,
) -> AmazonRead {
    if ctx.settings.asins.len() <= cfg.realtime_max {
        read_realtime(fetcher, account, ctx).await
    } else {
        read_batch(fetcher, account, cfg, ctx).await
    }
}

/// The first result of an answer, for its ASIN.
fn take_result(answer: &Value, asin: &str, ctx: &AmazonContext<'_>, out: &mut AmazonRead) {
    match answer.pointer("/results/0") {
        Some(r) => match parse_result(r, asin, ctx) {
            Ok(p) => out.products.push(p),
            Err(e) => out.skipped.push(e),
        },
        None => out.skipped.push(ItemError::Unreadable {
            asin: asin.into(),
            why: "Oxylabs' answer has no results".into(),
        }),
    }
}

async fn read_realtime(
    fetcher: &Fetcher,
    account: &OxylabsAccount,
    ctx: &AmazonContext<'_>,
) -> AmazonRead {
    use futures::StreamExt;
    let mut out = AmazonRead::default();
    let url = join(&account.realtime, "/v1/queries");
    // A realtime query takes Oxylabs seconds: up to 4 at once (the host's
    // gate holds the rest back).
    // (Collected first: a lazy map over borrowed ASINs trips the spawned
    // poll task's Send check.)
    let queries: Vec<_> = ctx
        .settings
        .asins
        .iter()
        .map(|asin| {
            let request = post(
                fetcher,
                account,
                url.clone(),
                &query(ctx.settings, json!(asin)),
            );
            async move { (asin, fetcher.exchange(request, classify).await) }
        })
        .collect();
    let mut answers = futures::stream::iter(queries).buffered(4);
    while let Some((asin, answer)) = answers.next().await {
        match answer {
            Ok(answer) => take_result(&answer, asin, ctx, &mut out),
            // One ASIN's query Oxylabs could not parse: the others still go.
            Err(FetchError::Unreadable(why)) => out.skipped.push(ItemError::Unreadable {
                asin: asin.clone(),
                why,
            }),
            Err(e) => {
                out.stopped = Some(e);
                return out;
            }
        }
    }
    out
}

async fn read_batch(
    fetcher: &Fetcher,
    account: &OxylabsAccount,
    cfg: &AmazonConfig,
    ctx: &AmazonContext<'_>,
) -> AmazonRead {
    let mut out = AmazonRead::default();
    let mut pending: Vec<(String, String)> = vec![]; // (job id, ASIN)
                                                     // The batch endpoint takes up to 5,000 queries per call.
    for chunk in ctx.settings.asins.chunks(5000) {
        let body = query(ctx.settings, json!(chunk));
        let answer = match fetcher
            .exchange(
                post(
                    fetcher,
                    account,
                    join(&account.data, "/v1/queries/batch"),
                    &body,
                ),
                classify,
            )
            .await
        {
            Ok(a) => a,
            Err(e) => {
                out.stopped = Some(e);
                return out;
            }
        };
        let Some(queries) = answer.get("queries").and_then(Value::as_array) else {
            out.stopped = Some(FetchError::Unreadable(
                "Oxylabs' batch answer lists no queries".into(),
            ));
            return out;
        };
        for (i, q) in queries.iter().enumerate() {
            let id = q.get("id").and_then(|v| {
                v.as_str()
                    .map(str::to_string)
                    .or_else(|| v.as_u64().map(|n| n.to_string()))
            });
            let asin = q
                .get("query")
                .and_then(Value::as_str)
                .map(str::to_uppercase)
                .or_else(|| chunk.get(i).cloned());
            if let (Some(id), Some(asin)) = (id, asin) {
                pending.push((id, asin));
            }
        }
    }
    let deadline = Instant::now() + cfg.batch_wait;
    while !pending.is_empty() {
        let mut still = vec![];
        for (id, asin) in pending {
            let status = fetcher
                .exchange(
                    get(
                        fetcher,
                        account,
                        join(&account.data, &format!("/v1/queries/{id}")),
                    ),
                    classify,
                )
                .await;
            let state = match status {
                Ok(job) => job
                    .get("status")
                    .and_then(Value::as_str)
                    .unwrap_or("pending")
                    .to_string(),
                Err(e) => {
                    out.stopped = Some(e);
                    return out;
                }
            };
            match state.as_str() {
                "done" => {
                    let results = fetcher
                        .exchange(
                            get(
                                fetcher,
                                account,
                                join(&account.data, &format!("/v1/queries/{id}/results")),
                            ),
                            classify,
                        )
                        .await;
                    match results {
                        Ok(answer) => take_result(&answer, &asin, ctx, &mut out),
                        // 204: not finished after all; ask again.
                        Err(FetchError::Server { status: 204 }) => still.push((id, asin)),
                        Err(e) => {
                            out.stopped = Some(e);
                            return out;
                        }
                    }
                }
                "faulted" => out.skipped.push(ItemError::Unreadable {
                    asin,
                    why: "Oxylabs' job failed (faulted); will try again next run".into(),
                }),
                _ => still.push((id, asin)),
            }
        }
        pending = still;
        if pending.is_empty() {
            break;
        }
        if Instant::now() + cfg.batch_poll > deadline {
            out.stopped = Some(FetchError::Unreadable(format!(
                "Oxylabs had not finished {} of {} jobs after {} s; they are asked for again next run",
                pending.len(),
                ctx.settings.asins.len(),
                cfg.batch_wait.as_secs()
            )));
            return out;
        }
        tokio::time::sleep(cfg.batch_poll).await;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stock_words() {
        assert_eq!(stock_from_text("In Stock"), Stock::InStock);
        assert_eq!(
            stock_from_text("Only 3 left in stock - order soon."),
            Stock::Low(Some(3))
        );
        assert_eq!(
            stock_from_text("Only 1 left in stock (more on the way)."),
            Stock::Low(Some(1))
        );
        assert_eq!(stock_from_text("Currently unavailable."), Stock::Out);
        assert_eq!(stock_from_text("Temporarily out of stock."), Stock::Out);
        assert_eq!(
            stock_from_text("Usually ships within 2 to 3 days."),
            Stock::InStock
        );
        assert_eq!(stock_from_text(""), Stock::Unknown);
        assert_eq!(stock_from_text("Something new"), Stock::Unknown);
    }

    #[test]
    fn the_password_is_never_printed() {
        let a = OxylabsAccount {
            username: "user".into(),
            password: "hunter2-secret".into(),
            realtime: Url::parse(REALTIME_API).unwrap(),
            data: Url::parse(DATA_API).unwrap(),
        };
        let printed = format!("{a:?}");
        assert!(
            printed.contains("user") && !printed.contains("hunter2"),
            "{printed}"
        );
    }
}
