//! The way out of an export: rows are encoded as CSV or JSON into a buffer
//! that is handed to the response every [`CHUNK`] bytes, waiting while the
//! client is [`QUEUED`](super::QUEUED) chunks behind.

use serde::Serialize;
use tokio::sync::mpsc;

use super::{rows, Chunk, ExportRequest, Format, CHUNK};

/// Why an export stopped early.
pub(super) enum Stop {
    /// The client went away.
    Gone,
    Failed(String),
}

pub(super) fn failed(e: impl std::fmt::Display) -> Stop {
    Stop::Failed(e.to_string())
}

/// The encoder and the way out: rows in, chunks of about [`CHUNK`] bytes out.
pub(super) struct Out {
    pub(super) format: Format,
    encoder: Encoder,
    pub(super) tx: mpsc::Sender<Chunk>,
    pub(super) rows: u64,
    pub(super) bytes: u64,
}

/// Where rows are encoded until they are handed over.
enum Encoder {
    Csv(csv::Writer<Vec<u8>>),
    Json(Vec<u8>),
}

impl Out {
    pub(super) fn new(req: &ExportRequest, tx: mpsc::Sender<Chunk>) -> Out {
        let encoder = match req.format {
            Format::Csv => {
                let mut w = csv_writer();
                // Into a Vec: cannot fail.
                let _ = w.write_record(rows::columns(req.kind));
                Encoder::Csv(w)
            }
            Format::Json => Encoder::Json(Vec::with_capacity(CHUNK)),
        };
        Out {
            format: req.format,
            encoder,
            tx,
            rows: 0,
            bytes: 0,
        }
    }

    pub(super) async fn row<T: Serialize>(&mut self, row: &T) -> Result<(), Stop> {
        let buffered = match &mut self.encoder {
            Encoder::Csv(w) => {
                w.serialize(row).map_err(failed)?;
                w.get_ref().len()
            }
            Encoder::Json(buf) => {
                buf.extend_from_slice(if self.rows == 0 { b"[\n" } else { b",\n" });
                serde_json::to_writer(&mut *buf, row).map_err(failed)?;
                buf.len()
            }
        };
        self.rows += 1;
        if buffered >= CHUNK {
            self.flush().await?;
        }
        Ok(())
    }

    /// Hands what is buffered to the response (waits while the client is behind).
    async fn flush(&mut self) -> Result<(), Stop> {
        let chunk = match &mut self.encoder {
            // csv gives its buffer up only whole: a fresh writer per chunk.
            Encoder::Csv(w) => std::mem::replace(w, csv_writer())
                .into_inner()
                .map_err(|e| failed(e.error()))?,
            Encoder::Json(buf) => std::mem::replace(buf, Vec::with_capacity(CHUNK + CHUNK / 4)),
        };
        if chunk.is_empty() {
            return Ok(());
        }
        self.bytes += chunk.len() as u64;
        self.tx.send(Ok(chunk)).await.map_err(|_| Stop::Gone)
    }

    /// Closes the JSON array and sends the rest.
    pub(super) async fn finish(&mut self) -> Result<(), Stop> {
        if let Encoder::Json(buf) = &mut self.encoder {
            buf.extend_from_slice(if self.rows == 0 { b"[]\n" } else { b"\n]\n" });
        }
        self.flush().await
    }
}

/// A CSV writer into a buffer of about a chunk; the header is written by hand.
fn csv_writer() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::with_capacity(CHUNK + CHUNK / 4))
}
