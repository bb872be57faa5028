//! The schema, defined in code at start, with a version record for migrations.

use surrealdb::engine::any::Any;
use surrealdb::Surreal;

use super::{Result, StoreError};

/// Bump when stored shapes change, and add the migration to [`apply`].
pub const SCHEMA_VERSION: i64 = 1;

// Products and variants are keyed by record id (`product:⟨key⟩`,
// `variant:⟨key/variant⟩`), written by id and loaded whole at start, so they
// carry no secondary indexes: every index is one more write per row.
const DEFINE: &str = r#"
DEFINE TABLE IF NOT EXISTS meta SCHEMALESS;
DEFINE TABLE IF NOT EXISTS source SCHEMALESS;
DEFINE TABLE IF NOT EXISTS product SCHEMALESS;
DEFINE TABLE IF NOT EXISTS variant SCHEMALESS;
DEFINE TABLE IF NOT EXISTS price_history SCHEMALESS;
DEFINE INDEX IF NOT EXISTS price_history_product ON price_history FIELDS product, ts;
DEFINE TABLE IF NOT EXISTS stock_history SCHEMALESS;
DEFINE INDEX IF NOT EXISTS stock_history_product ON stock_history FIELDS product, ts;
DEFINE TABLE IF NOT EXISTS event SCHEMALESS;
DEFINE FIELD IF NOT EXISTS seq ON event TYPE int;
DEFINE INDEX IF NOT EXISTS event_seq ON event FIELDS seq UNIQUE;
DEFINE TABLE IF NOT EXISTS poll_run SCHEMALESS;
DEFINE INDEX IF NOT EXISTS poll_run_source ON poll_run FIELDS source;
DEFINE TABLE IF NOT EXISTS brand_alias SCHEMALESS;
"#;

/// Defines every table and index, checks the schema version, and returns the
/// last event sequence number.
pub async fn apply(db: &Surreal<Any>) -> Result<u64> {
    let mut res = db
        .query("SELECT VALUE version FROM ONLY meta:schema")
        .await?;
    let found: Option<i64> = res.take(0).unwrap_or(None);
    if let Some(found) = found {
        if found > SCHEMA_VERSION {
            return Err(StoreError::NewerSchema {
                found,
                supported: SCHEMA_VERSION,
            });
        }
    }
    db.query(DEFINE).await?.check()?;
    db.query("UPSERT meta:schema SET version = $v")
        .bind(serde_json::json!({ "v": SCHEMA_VERSION }))
        .await?
        .check()?;
    let mut res = db
        .query("SELECT VALUE last_seq FROM ONLY meta:events")
        .await?;
    let last: Option<i64> = res.take(0).unwrap_or(None);
    Ok(last.unwrap_or(0).max(0) as u64)
}
