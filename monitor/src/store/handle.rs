//! The database handle: one SurrealDB connection, opened the way its URL needs.
//!
//! A SurrealKV file is opened through SurrealDB's own datastore builder so that
//! its write buffer (the memtable) and its block cache get sizes Dropwatch
//! chooses ([`DbMemory`]). Left to itself SurrealDB sizes both from the
//! machine's RAM — on a 24 GiB machine a 1 GiB write buffer and a cache of
//! 11 GiB — and the process's memory then follows the bytes written for as
//! long as it runs; the SDK's `connect` offers no way to set either (a URL's
//! query keys are read as `datastore_*` options). `mem://` and `ws://` go
//! through the SDK's `any` engine as before.
//!
//! Every query goes through [`Handle::query`], which reads like the SDK's own
//! (`.query(sql).bind(vars).await`).

use std::borrow::Cow;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::Arc;

use surrealdb::engine::any::Any;
use surrealdb::engine::local::Db;
use surrealdb::method::IntoVariables;
use surrealdb::{IndexedResults, Surreal};
use surrealdb_cnf::ConfigMap;
use surrealdb_engine_local::Datastore;

/// How much memory the embedded database may keep, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DbMemory {
    /// Writes collect here before they are flushed to a file on disk. It is
    /// also the largest one transaction may be.
    pub write_buffer: usize,
    /// Recently read blocks of the database files.
    pub cache: u64,
}

impl DbMemory {
    const MIB: usize = 1024 * 1024;

    /// 16 MiB each: Dropwatch's largest transaction (50 products with their
    /// events and history, see `EngineConfig::commit_products`) fits in the
    /// buffer many times over, the operating system caches the files beneath
    /// the block cache, and a machine running Dropwatch beside other things
    /// is not asked for gigabytes.
    pub const DEFAULT: DbMemory = DbMemory {
        write_buffer: 16 * Self::MIB,
        cache: 16 * Self::MIB as u64,
    };

    /// A budget in MiB, split evenly between the buffer and the cache; at
    /// least 16 MiB (8 each) so that a large import still fits in a buffer.
    pub fn from_mib(total: u32) -> DbMemory {
        let half = (total.max(16) as usize / 2).saturating_mul(Self::MIB);
        DbMemory {
            write_buffer: half,
            cache: half as u64,
        }
    }
}

impl Default for DbMemory {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// An open connection to the database.
pub(crate) enum Handle {
    /// A SurrealKV file opened with our own memory settings.
    File(Surreal<Db>),
    /// `mem://`.
    Sdk(Surreal<Any>),
    /// A SurrealDB server (`ws://`, `wss://`): each query is given at most
    /// [`REMOTE_QUERY_TIMEOUT`].
    Remote(Surreal<Any>),
}

/// The longest a query to a SurrealDB server may take. The SDK reconnects
/// by itself when the server comes back, but a query in flight when the
/// connection broke can wait for an answer that never comes; this turns it
/// into an error its caller retries.
pub const REMOTE_QUERY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// A query being built; await it for the results.
pub(crate) enum Query<'a> {
    File(surrealdb::method::Query<'a, Db>),
    Sdk(surrealdb::method::Query<'a, Any>),
    Remote(surrealdb::method::Query<'a, Any>),
}

impl Handle {
    /// Opens `url` (already an endpoint: `surrealkv://`, `mem://`, `ws://`...).
    pub(crate) async fn open(url: &str, memory: DbMemory) -> Result<Handle, String> {
        match url.strip_prefix("surrealkv://") {
            Some(path) => open_file(path, memory).await.map(Handle::File),
            None => {
                let remote = url.starts_with("ws://") || url.starts_with("wss://");
                surrealdb::engine::any::connect(url)
                    .await
                    .map(|db| {
                        if remote {
                            Handle::Remote(db)
                        } else {
                            Handle::Sdk(db)
                        }
                    })
                    .map_err(|e| e.to_string())
            }
        }
    }

    pub(crate) fn query<'a>(&'a self, sql: impl Into<Cow<'a, str>>) -> Query<'a> {
        match self {
            Handle::File(db) => Query::File(db.query(sql)),
            Handle::Sdk(db) => Query::Sdk(db.query(sql)),
            Handle::Remote(db) => Query::Remote(db.query(sql)),
        }
    }

    pub(crate) async fn use_ns_db(&self, ns: &str, db: &str) -> surrealdb::Result<()> {
        match self {
            Handle::File(h) => h.use_ns(ns).use_db(db).await.map(|_| ()),
            Handle::Sdk(h) | Handle::Remote(h) => h.use_ns(ns).use_db(db).await.map(|_| ()),
        }
    }

    pub(crate) async fn signin_root(
        &self,
        username: String,
        password: String,
    ) -> surrealdb::Result<()> {
        let root = surrealdb::opt::auth::Root { username, password };
        match self {
            Handle::File(h) => h.signin(root).await.map(|_| ()),
            Handle::Sdk(h) | Handle::Remote(h) => h.signin(root).await.map(|_| ()),
        }
    }
}

impl<'a> Query<'a> {
    pub(crate) fn bind(self, vars: impl IntoVariables) -> Self {
        match self {
            Query::File(q) => Query::File(q.bind(vars)),
            Query::Sdk(q) => Query::Sdk(q.bind(vars)),
            Query::Remote(q) => Query::Remote(q.bind(vars)),
        }
    }
}

impl<'a> IntoFuture for Query<'a> {
    type Output = surrealdb::Result<IndexedResults>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send + 'a>>;

    fn into_future(self) -> Self::IntoFuture {
        match self {
            Query::File(q) => Box::pin(q.into_future()),
            Query::Sdk(q) => Box::pin(q.into_future()),
            Query::Remote(q) => Box::pin(async move {
                tokio::time::timeout(REMOTE_QUERY_TIMEOUT, q.into_future())
                    .await
                    .unwrap_or_else(|_| {
                        Err(surrealdb::Error::connection(
                            format!(
                                "the database server did not answer within {} s (is it running?)",
                                REMOTE_QUERY_TIMEOUT.as_secs()
                            ),
                            None,
                        ))
                    })
            }),
        }
    }
}

/// Opens a SurrealKV file the way the SDK's local engine does (version
/// check, bootstrap, then the maintenance tasks), with our memory settings.
async fn open_file(path: &str, memory: DbMemory) -> Result<Surreal<Db>, String> {
    let config = ConfigMap::empty()
        .with_key_value(
            "surrealkv_max_memtable_size",
            memory.write_buffer.to_string(),
        )
        .with_key_value("surrealkv_block_cache_capacity", memory.cache.to_string());
    let kvs: Arc<Datastore> = Datastore::builder()
        .with_config(config)
        .without_maintenance_tasks()
        .build_with_path(&format!("surrealkv://{path}"))
        .await
        .map_err(|e| e.to_string())?;
    kvs.check_version().await.map_err(|e| e.to_string())?;
    kvs.bootstrap().await.map_err(|e| e.to_string())?;
    kvs.start_maintenance_tasks();
    Surreal::<Db>::unstable_from_datastore(kvs, None)
        .await
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch_dir(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("dropwatch-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    async fn count(h: &Handle) -> i64 {
        let mut res = h
            .query("RETURN array::len(SELECT VALUE id FROM row)")
            .await
            .unwrap();
        let n: Option<i64> = res.take(0).unwrap();
        n.unwrap_or(0)
    }

    /// The write buffer we ask for is the one SurrealKV uses: one transaction
    /// larger than it is refused, many that add up to more are flushed to disk
    /// and kept across a reopen.
    #[tokio::test]
    async fn a_file_store_uses_the_buffer_size_we_give_it() {
        let dir = scratch_dir("buffer");
        let url = format!("surrealkv://{}", dir.display());
        let memory = DbMemory {
            write_buffer: 1024 * 1024,
            cache: 1024 * 1024,
        };
        let h = Handle::open(&url, memory).await.unwrap();
        h.use_ns_db("t", "t").await.unwrap();
        h.query("DEFINE TABLE row SCHEMALESS")
            .await
            .unwrap()
            .check()
            .unwrap();

        let too_big = h
            .query("FOR $i IN 0..20000 { CREATE row SET n = $i, pad = 'padding to make each row about a hundred bytes long' };")
            .await
            .and_then(|r| r.check());
        assert!(too_big.is_err(), "a 2 MB transaction fit in a 1 MiB buffer");
        assert_eq!(count(&h).await, 0, "the refused transaction left nothing");

        for _ in 0..10 {
            h.query("FOR $i IN 0..2000 { CREATE row SET n = $i, pad = 'padding to make each row about a hundred bytes long' };")
                .await
                .unwrap()
                .check()
                .unwrap();
        }
        assert_eq!(count(&h).await, 20000);
        drop(h);

        // the file engine shuts down in the background when the handle goes
        let mut reopened = None;
        for _ in 0..50 {
            match Handle::open(&url, memory).await {
                Ok(h) => {
                    reopened = Some(h);
                    break;
                }
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
            }
        }
        let h = reopened.expect("the file reopens");
        h.use_ns_db("t", "t").await.unwrap();
        assert_eq!(count(&h).await, 20000);
        drop(h);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_budget_splits_evenly_with_a_floor() {
        assert_eq!(DbMemory::from_mib(32), DbMemory::DEFAULT);
        assert_eq!(DbMemory::from_mib(1), DbMemory::from_mib(16));
        assert_eq!(DbMemory::from_mib(16).write_buffer, 8 * 1024 * 1024);
    }
}
