//! Export: products (their current state, a row per size), price and stock
//! history, events, sources and watch rules, as CSV or JSON, for one
//! product, a filtered grid or everything.
//!
//! An export is a stream of byte chunks filled by a task as it reads: rows
//! are encoded into a buffer that is handed over every [`CHUNK`] bytes
//! through a channel holding at most [`QUEUED`] chunks. Memory stays bounded
//! whatever the size (history is read one product at a time, events a page
//! at a time), a slow client slows the reading instead of growing a buffer,
//! and a client that goes away drops the stream, which ends the task. A
//! failure half-way ends the stream with an error, so that a download is
//! cut off rather than silently short.
//!
//! CSV has a header row and flat columns. JSON is one array: products and
//! history as the same flat rows, events and sources as the objects the
//! rest of the API returns, rules with their channels. Channels appear only
//! in their redacted form ([`ChannelInfo`]): an export never holds a
//! channel's secret address.

mod out;
mod rows;

use std::io;
use std::str::FromStr;
use std::sync::Arc;

use chrono::Utc;
use futures::Stream;
use tokio::sync::mpsc;

use model::{ChannelInfo, ProductFilter, Sort};

use crate::alerts::AlertService;
use crate::Engine;
use out::{failed, Out, Stop};
use rows::{EventRow, HistoryRow, ProductRow, RuleObject, RuleRow, SourceRow};

/// Bytes encoded before they are handed to the response.
pub const CHUNK: usize = 64 * 1024;
/// Chunks waiting for a slow client before the export waits too.
pub const QUEUED: usize = 4;
/// Events read from the store at a time.
const EVENT_PAGE: usize = 1_000;

/// What to export: the path segment of `/api/v1/export/{kind}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportKind {
    /// Every size of every product (one product, or those matching a filter).
    Products,
    /// Price and stock history, a row per size and moment.
    History,
    Events,
    Sources,
    /// Watch rules, their channels redacted.
    Rules,
}

impl ExportKind {
    pub const ALL: [ExportKind; 5] = [
        ExportKind::Products,
        ExportKind::History,
        ExportKind::Events,
        ExportKind::Sources,
        ExportKind::Rules,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ExportKind::Products => "products",
            ExportKind::History => "history",
            ExportKind::Events => "events",
            ExportKind::Sources => "sources",
            ExportKind::Rules => "rules",
        }
    }
}

impl FromStr for ExportKind {
    type Err = ExportError;
    fn from_str(s: &str) -> Result<ExportKind, ExportError> {
        ExportKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| ExportError::UnknownKind(s.to_string()))
    }
}

/// The file format of an export.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Csv,
    Json,
}

impl Format {
    /// `?format=` when given, else the `Accept` header: CSV when it names
    /// `text/csv`, JSON otherwise.
    pub fn choose(format: Option<&str>, accept: Option<&str>) -> Result<Format, ExportError> {
        match format.map(|f| f.trim().to_ascii_lowercase()).as_deref() {
            Some("csv") => Ok(Format::Csv),
            Some("json") => Ok(Format::Json),
            Some(other) => Err(ExportError::UnknownFormat(other.to_string())),
            None if accept.is_some_and(|a| a.to_ascii_lowercase().contains("text/csv")) => {
                Ok(Format::Csv)
            }
            None => Ok(Format::Json),
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Json => "application/json",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Json => "json",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("there is no export {0:?}: ask for products, history, events, sources or rules")]
    UnknownKind(String),
    #[error("there is no format {0:?}: use format=csv or format=json")]
    UnknownFormat(String),
    #[error("since={0:?} is not an event number: give the `seq` of the last event you have")]
    InvalidSince(String),
    #[error("there is no product {0:?}: copy its key from the product's page or /api/v1/products")]
    UnknownProduct(String),
}

/// One export, as asked for in a URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportRequest {
    pub kind: ExportKind,
    pub format: Format,
    /// Products and history: which products (the grid's filters and order;
    /// its page is ignored: every match is exported).
    pub filter: ProductFilter,
    /// Products and history: this product only (the filter is then ignored).
    pub product: Option<String>,
    /// Events: only those after this sequence number.
    pub since: u64,
}

impl ExportRequest {
    /// Reads the grid's query parameters plus `product`, `format` and
    /// `since`, and the `Accept` header.
    pub fn from_query<'a>(
        kind: ExportKind,
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
        accept: Option<&str>,
    ) -> Result<ExportRequest, ExportError> {
        let pairs: Vec<(&str, &str)> = pairs.into_iter().collect();
        let get = |name: &str| {
            pairs
                .iter()
                .rev()
                .find(|(k, v)| *k == name && !v.trim().is_empty())
                .map(|(_, v)| v.trim())
        };
        let since = match get("since") {
            Some(s) => s
                .parse()
                .map_err(|_| ExportError::InvalidSince(s.to_string()))?,
            None => 0,
        };
        Ok(ExportRequest {
            kind,
            format: Format::choose(get("format"), accept)?,
            filter: ProductFilter::from_query(pairs.iter().copied()),
            product: get("product").map(str::to_string),
            since,
        })
    }

    /// "dropwatch-products-20261101.csv": today's date, in UTC.
    pub fn file_name(&self) -> String {
        format!(
            "dropwatch-{}-{}.{}",
            self.kind.as_str(),
            Utc::now().format("%Y%m%d"),
            self.format.extension()
        )
    }
}

/// What a stream of an export yields: a chunk of the file, or why it stopped.
pub type Chunk = io::Result<Vec<u8>>;

/// Reads what is exported: the engine's products, sources, history and
/// events, and the alert service's rules and (redacted) channels.
#[derive(Clone)]
pub struct Exporter {
    engine: Arc<Engine>,
    alerts: Arc<AlertService>,
}

impl Exporter {
    pub fn new(engine: Arc<Engine>, alerts: Arc<AlertService>) -> Exporter {
        Exporter { engine, alerts }
    }

    /// Starts an export and returns its bytes as a stream (on a task of the
    /// current Tokio runtime). An unknown product is refused here, before a
    /// byte is sent, not in the middle of a download.
    pub fn stream(
        &self,
        req: ExportRequest,
    ) -> Result<impl Stream<Item = Chunk> + Send + 'static, ExportError> {
        if let (ExportKind::Products | ExportKind::History, Some(key)) = (req.kind, &req.product) {
            if self.engine.product(key).is_none() {
                return Err(ExportError::UnknownProduct(key.clone()));
            }
        }
        let (tx, rx) = mpsc::channel(QUEUED);
        let this = self.clone();
        tokio::spawn(async move {
            let mut out = Out::new(&req, tx);
            let done = match this.write(&req, &mut out).await {
                Ok(()) => out.finish().await,
                Err(stop) => Err(stop),
            };
            match done {
                Ok(()) => tracing::info!(
                    kind = req.kind.as_str(),
                    rows = out.rows,
                    bytes = out.bytes,
                    "export sent"
                ),
                Err(Stop::Gone) => tracing::info!(
                    kind = req.kind.as_str(),
                    rows = out.rows,
                    "export abandoned by the client"
                ),
                Err(Stop::Failed(why)) => {
                    tracing::warn!(
                        kind = req.kind.as_str(),
                        rows = out.rows,
                        "export failed: {why}"
                    );
                    let _ = out.tx.send(Err(io::Error::other(why))).await;
                }
            }
        });
        Ok(futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|chunk| (chunk, rx))
        }))
    }

    async fn write(&self, req: &ExportRequest, out: &mut Out) -> Result<(), Stop> {
        match req.kind {
            ExportKind::Products => {
                for key in self.keys(req) {
                    // A product can vanish between listing and reading.
                    let Some(p) = self.engine.product(&key) else {
                        continue;
                    };
                    for v in &p.variants {
                        out.row(&ProductRow::new(&p, v)).await?;
                    }
                }
            }
            ExportKind::History => {
                let store = self.engine.store();
                for key in self.keys(req) {
                    let prices = store.price_history(&key).await.map_err(failed)?;
                    let stock = store.stock_history(&key).await.map_err(failed)?;
                    for row in HistoryRow::of(&prices, &stock) {
                        out.row(&row).await?;
                    }
                }
            }
            ExportKind::Events => {
                let store = self.engine.store();
                // Events recorded during the export are left for the next one.
                let end = store.last_seq();
                let mut after = req.since;
                while after < end {
                    let page = store
                        .events_since(after, EVENT_PAGE)
                        .await
                        .map_err(failed)?;
                    let Some(last) = page.last() else { break };
                    after = last.seq;
                    for e in page.iter().filter(|e| e.seq <= end) {
                        match out.format {
                            Format::Csv => out.row(&EventRow::new(e)).await?,
                            Format::Json => out.row(e).await?,
                        }
                    }
                }
            }
            ExportKind::Sources => {
                for s in self.engine.sources() {
                    match out.format {
                        Format::Csv => out.row(&SourceRow::new(&s)).await?,
                        Format::Json => out.row(&s).await?,
                    }
                }
            }
            ExportKind::Rules => {
                let channels = self.alerts.channels();
                for r in self.alerts.rules() {
                    let used: Vec<&ChannelInfo> = r
                        .channels
                        .iter()
                        .filter_map(|id| channels.iter().find(|c| &c.id == id))
                        .collect();
                    match out.format {
                        Format::Csv => out.row(&RuleRow::new(&r, &used)).await?,
                        Format::Json => out.row(&RuleObject::new(&r, used)).await?,
                    }
                }
            }
        }
        Ok(())
    }

    /// The products to export, in the grid's order: one, or every match.
    fn keys(&self, req: &ExportRequest) -> Vec<String> {
        if let Some(key) = &req.product {
            return vec![key.clone()];
        }
        // Comparing stores costs; only its own sort needs it.
        let mut all = if req.filter.sort == Sort::Spread {
            self.engine.products_compared()
        } else {
            self.engine.products()
        };
        all.retain(|p| req.filter.matches(p));
        req.filter.sort(&mut all);
        all.into_iter().map(|p| p.key).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_and_format_are_read_from_the_request() {
        assert_eq!("rules".parse::<ExportKind>().unwrap(), ExportKind::Rules);
        assert!("users".parse::<ExportKind>().is_err());
        let csv = Some("text/csv, */*;q=0.1");
        assert_eq!(Format::choose(None, csv).unwrap(), Format::Csv);
        assert_eq!(Format::choose(None, None).unwrap(), Format::Json);
        assert_eq!(Format::choose(Some("JSON"), csv).unwrap(), Format::Json);
        assert!(Format::choose(Some("xml"), None).is_err());
        let req = ExportRequest::from_query(
            ExportKind::Events,
            [("brand", "Nike"), ("since", "42"), ("page", "3")],
            None,
        )
        .unwrap();
        assert_eq!((req.since, req.filter.brand.as_str()), (42, "Nike"));
        assert!(req.file_name().starts_with("dropwatch-events-"));
        assert!(req.file_name().ends_with(".json"));
        assert!(ExportRequest::from_query(ExportKind::Events, [("since", "x")], None).is_err());
    }
}
