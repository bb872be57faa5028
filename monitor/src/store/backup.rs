//! Backup and restore of the whole database, with SurrealDB's own export and
//! import: the backup is the SurrealQL text `surreal export` writes (tables,
//! indexes and every record), so `surreal import` reads it too.
//!
//! A backup streams from a running server (the export reads in its own
//! transactions while polling goes on), chunk by chunk as SurrealDB writes
//! it, so a large database never sits whole in memory. A restore goes into a
//! new, empty database only, before a server opens it: merging a backup into
//! live data would mix two histories. Sealed secrets (channel URLs, tokens of
//! connected shops) are restored sealed: they open only with the same secret
//! key (`--secret-key` or the key file beside the old database).

use std::path::Path;

use futures::{Stream, StreamExt};

use super::handle::Handle;
use super::{endpoint, DbMemory, Store, StoreError};

/// What every SurrealDB export says near its start (the import reads it as
/// "take these records as they are").
const EXPORT_MARK: &str = "OPTION IMPORT";

/// What a restore found in the backup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Restored {
    pub sources: usize,
    pub products: usize,
    pub last_event: u64,
}

impl Handle {
    async fn export_stream(&self) -> surrealdb::Result<surrealdb::method::Backup> {
        match self {
            Handle::File(db) => db.export(()).await,
            Handle::Sdk(db) | Handle::Remote(db) => db.export(()).await,
        }
    }

    async fn import_file(&self, path: &Path) -> surrealdb::Result<()> {
        match self {
            Handle::File(db) => db.import(path).await,
            Handle::Sdk(db) | Handle::Remote(db) => db.import(path).await,
        }
    }
}

impl Store {
    /// The whole database as SurrealQL, in the chunks SurrealDB writes.
    /// Databases on a `ws://` server are backed up with the server's own
    /// `surreal export` (the SDK cannot stream them).
    pub async fn backup(
        &self,
    ) -> Result<impl Stream<Item = Result<Vec<u8>, StoreError>> + Send + 'static, StoreError> {
        self.write_queued_runs_first().await;
        let chunks = self.db().export_stream().await?;
        Ok(chunks.map(|c| c.map_err(StoreError::Db)))
    }
}

fn refused(url: &str, reason: impl Into<String>) -> StoreError {
    StoreError::Open {
        url: url.to_string(),
        reason: reason.into(),
    }
}

/// Restores the backup at `file` into the new database at `db`, then opens
/// it as a server would (bringing an older backup's schema up to date) and
/// says what it holds. Refuses a database that already has tables, and a
/// file that is not a SurrealDB export, before changing anything.
pub async fn restore(db: &str, file: &Path, memory: DbMemory) -> Result<Restored, StoreError> {
    use std::io::Read;
    let url = endpoint(db);
    let mut head = vec![0u8; 64 * 1024];
    let n = std::fs::File::open(file)
        .and_then(|mut f| f.read(&mut head))
        .map_err(|e| {
            refused(
                &url,
                format!("could not read the backup {}: {e}", file.display()),
            )
        })?;
    let head = String::from_utf8_lossy(head.get(..n).unwrap_or_default());
    if !head.contains(EXPORT_MARK) {
        return Err(refused(
            &url,
            format!(
                "{} is not a Dropwatch backup (a SurrealDB export starts with its \"{EXPORT_MARK}\" line); make one with `dropwatch backup FILE`",
                file.display()
            ),
        ));
    }
    let handle = Store::connect(db, memory).await?;
    handle.use_ns_db("dropwatch", "dropwatch").await?;
    let mut info = handle.query("INFO FOR DB").await?.check()?;
    let info: Option<serde_json::Value> = info.take(0)?;
    let tables = info
        .as_ref()
        .and_then(|i| i.get("tables"))
        .and_then(|t| t.as_object())
        .map_or(0, |t| t.len());
    if tables > 0 {
        return Err(refused(
            &url,
            "this database is not empty; restore into a new --db path (or an empty server database), then start Dropwatch with it",
        ));
    }
    handle.import_file(file).await?;
    let store = Store::on(handle, url.starts_with("ws")).await?;
    let sources = store.sources().await?.len();
    let products = store.counts().await?.products as usize;
    Ok(Restored {
        sources,
        products,
        last_event: store.last_seq(),
    })
}
