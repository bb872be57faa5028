//! The store: SurrealDB 3 through one shared handle.
//!
//! Where the database lives is a URL: `surrealkv://data/dropwatch` (the
//! default, an embedded file database), `mem://` (tests), or `ws://host:8000`
//! (a SurrealDB server, for several Dropwatch instances). A plain path means a
//! SurrealKV file at that path.
//!
//! Records travel as JSON (`serde_json::Value` implements SurrealDB's
//! `SurrealValue`), so the model types stay plain serde and wasm-clean.
//! Decimals are stored as their exact strings, times as RFC 3339 UTC with a
//! millisecond `ts` beside them for ordering.
//!
//! Writes that belong together go through [`Store::commit`], one transaction
//! that also numbers the events from a counter in the database (see
//! `sequence.rs`), so numbers never repeat, never go backwards, survive a
//! restart, and stay so when several instances share a server.

mod accounts;
mod alerts;
mod backup;
mod deliveries;
mod handle;
mod imported;
mod leases;
mod logins;
mod read;
mod repricing;
mod retention;
mod run_log;
mod runs;
mod schema;
mod sequence;
mod signals;
mod write;

use std::sync::atomic::{AtomicU64, Ordering};

use handle::Handle;

pub use accounts::{EndSessions, SecretRow, SessionRow, TokenRow, UserChange, UserRow};
pub use backup::{restore, Restored};
pub use deliveries::Delivery;
pub use handle::DbMemory;
pub use leases::{Fence, HostHold, InstanceRow, LeaseRow};
pub use logins::{LedgerKeys, LoginLedger, Strikes};
pub use runs::RECENT_RUNS;
pub use schema::SCHEMA_VERSION;
pub use write::Batch;

/// A store failure, with what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] surrealdb::Error),
    #[error("could not open the database at {url}: {reason}")]
    Open { url: String, reason: String },
    #[error("a stored record could not be read ({0}); was it written by another program?")]
    Decode(String),
    #[error("the database was written by a newer Dropwatch (schema {found}, this one knows up to {supported}); upgrade Dropwatch or use another --db")]
    NewerSchema { found: i64, supported: i64 },
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// The database handle and the event counter.
pub struct Store {
    db: Handle,
    /// Held while a batch is numbered, written and published, so that events
    /// reach live clients in sequence order.
    write_lock: tokio::sync::Mutex<()>,
    /// The highest event number published to this process's live clients.
    last_seq: AtomicU64,
    /// A SurrealDB server, which other instances may share.
    shared: bool,
    /// Numbers this process committed, not yet published (shared only).
    own: sequence::OwnEvents,
    /// The oldest event retention has kept (see `retention.rs`).
    oldest_event: AtomicU64,
    /// One-page checks' runs, written behind (see `run_log.rs`).
    run_log: run_log::RunLog,
}

/// Turns what a user typed for `--db` into a SurrealDB endpoint.
pub fn endpoint(db: &str) -> String {
    let known = ["mem://", "surrealkv://", "ws://", "wss://", "rocksdb://"];
    if known.iter().any(|p| db.starts_with(p)) {
        db.to_string()
    } else {
        format!("surrealkv://{db}")
    }
}

impl Store {
    /// Opens (and, for a file, creates) the database and applies the schema.
    ///
    /// For a `ws://` server, `DROPWATCH_DB_USER` and `DROPWATCH_DB_PASS` name a
    /// root user to sign in with.
    pub async fn open(db: &str) -> Result<Store> {
        Self::open_with(db, DbMemory::DEFAULT).await
    }

    /// [`Store::open`] with the memory an embedded database file may keep
    /// (ignored for `mem://` and servers).
    pub async fn open_with(db: &str, memory: DbMemory) -> Result<Store> {
        let handle = Self::connect(db, memory).await?;
        handle.use_ns_db("dropwatch", "dropwatch").await?;
        let shared = endpoint(db).starts_with("ws");
        Self::on(handle, shared).await
    }

    /// Connects to `db` (creating a file's folder) and signs in to a server.
    async fn connect(db: &str, memory: DbMemory) -> Result<Handle> {
        let url = endpoint(db);
        if let Some(path) = url.strip_prefix("surrealkv://") {
            if let Some(parent) = std::path::Path::new(path).parent() {
                std::fs::create_dir_all(parent).map_err(|e| StoreError::Open {
                    url: url.clone(),
                    reason: e.to_string(),
                })?;
            }
        }
        let handle = Handle::open(&url, memory)
            .await
            .map_err(|reason| StoreError::Open {
                url: url.clone(),
                reason,
            })?;
        if url.starts_with("ws") {
            if let (Ok(username), Ok(password)) = (
                std::env::var("DROPWATCH_DB_USER"),
                std::env::var("DROPWATCH_DB_PASS"),
            ) {
                handle.signin_root(username, password).await?;
            }
        }
        Ok(handle)
    }

    /// The store on an open handle: applies the schema (migrating older
    /// data) and reads where the events stand.
    async fn on(handle: Handle, shared: bool) -> Result<Store> {
        // Instances starting together on a new server define the schema at
        // the same moment: all but one meet a conflict and try again.
        let last_seq = sequence::with_retry(|| schema::apply(&handle)).await?;
        let store = Store {
            db: handle,
            write_lock: tokio::sync::Mutex::new(()),
            last_seq: AtomicU64::new(last_seq),
            shared,
            own: Default::default(),
            oldest_event: AtomicU64::new(1),
            run_log: Default::default(),
        };
        store.load_oldest_event().await?;
        Ok(store)
    }

    /// The highest event sequence number stored so far (0 before any event).
    pub fn last_seq(&self) -> u64 {
        self.last_seq.load(Ordering::SeqCst)
    }

    /// A trivial query: whether the database answers, within 3 s (for
    /// readiness probes, which give up sooner than a query would).
    pub async fn ping(&self) -> Result<()> {
        let wait = std::time::Duration::from_secs(3);
        match tokio::time::timeout(wait, self.db.query("RETURN 1")).await {
            Ok(answer) => {
                answer?.check()?;
                Ok(())
            }
            Err(_) => Err(StoreError::Db(surrealdb::Error::connection(
                "the database did not answer within 3 s (is its server running?)".into(),
                None,
            ))),
        }
    }

    pub(crate) fn db(&self) -> &Handle {
        &self.db
    }
}

/// In a failed transaction every statement reports "not executed due to a
/// failed transaction"; the statement that failed first says why. Returns
/// that one.
fn root_error(errors: std::collections::HashMap<usize, surrealdb::Error>) -> Result<()> {
    let mut errors: Vec<(usize, surrealdb::Error)> = errors.into_iter().collect();
    errors.sort_by_key(|(i, _)| *i);
    let cascade = |e: &surrealdb::Error| e.to_string().contains("failed transaction");
    match errors.iter().position(|(_, e)| !cascade(e)) {
        Some(i) => Err(errors.swap_remove(i).1.into()),
        None => match errors.into_iter().next() {
            Some((_, e)) => Err(e.into()),
            None => Ok(()),
        },
    }
}

/// Decodes JSON rows into a model type.
fn decode<T: serde::de::DeserializeOwned>(rows: Vec<serde_json::Value>) -> Result<Vec<T>> {
    rows.into_iter()
        .map(|r| serde_json::from_value(r).map_err(|e| StoreError::Decode(e.to_string())))
        .collect()
}
