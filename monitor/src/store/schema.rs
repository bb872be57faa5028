//! The schema, defined in code at start, with a version record for migrations.

use super::handle::Handle;

use super::{Result, StoreError};

/// Bump when stored shapes change, and add the migration to [`apply`].
pub const SCHEMA_VERSION: i64 = 2;

// Every index is one more write per row, so the hot tables have none: their
// record ids are the index. Products and variants are keyed `product:⟨key⟩`,
// `variant:⟨key/variant⟩`, written by id and loaded whole at start. History
// rows are keyed `[product, ts]` and events `[seq]`, so "a product's history
// in time order" and "events after N" are range scans over the ids.
//
// Version 2 (from 1): history and event ids became those arrays (they were
// random ids with secondary indexes).
const DEFINE: &str = r#"
DEFINE TABLE IF NOT EXISTS meta SCHEMALESS;
DEFINE TABLE IF NOT EXISTS source SCHEMALESS;
DEFINE TABLE IF NOT EXISTS product SCHEMALESS;
DEFINE TABLE IF NOT EXISTS variant SCHEMALESS;
DEFINE TABLE IF NOT EXISTS price_history SCHEMALESS;
DEFINE TABLE IF NOT EXISTS stock_history SCHEMALESS;
DEFINE TABLE IF NOT EXISTS event SCHEMALESS;
DEFINE TABLE IF NOT EXISTS poll_run SCHEMALESS;
DEFINE INDEX IF NOT EXISTS poll_run_source ON poll_run FIELDS source;
DEFINE TABLE IF NOT EXISTS poll_recent SCHEMALESS;
DEFINE TABLE IF NOT EXISTS poll_day SCHEMALESS;
DEFINE INDEX IF NOT EXISTS poll_day_source ON poll_day FIELDS source;
DEFINE TABLE IF NOT EXISTS brand_alias SCHEMALESS;
DEFINE TABLE IF NOT EXISTS user SCHEMALESS;
DEFINE TABLE IF NOT EXISTS session SCHEMALESS;
DEFINE INDEX IF NOT EXISTS session_user ON session FIELDS user;
DEFINE TABLE IF NOT EXISTS api_token SCHEMALESS;
DEFINE TABLE IF NOT EXISTS audit SCHEMALESS;
DEFINE TABLE IF NOT EXISTS secret SCHEMALESS;
DEFINE TABLE IF NOT EXISTS delivery SCHEMALESS;
DEFINE INDEX IF NOT EXISTS delivery_due ON delivery FIELDS state, next_at;
DEFINE TABLE IF NOT EXISTS rule SCHEMALESS;
DEFINE TABLE IF NOT EXISTS channel SCHEMALESS;
DEFINE TABLE IF NOT EXISTS link SCHEMALESS;
DEFINE TABLE IF NOT EXISTS proposal SCHEMALESS;
DEFINE INDEX IF NOT EXISTS proposal_state ON proposal FIELDS state;
DEFINE TABLE IF NOT EXISTS webhook_seen SCHEMALESS;
DEFINE TABLE IF NOT EXISTS signal SCHEMALESS;
DEFINE TABLE IF NOT EXISTS lease SCHEMALESS;
DEFINE TABLE IF NOT EXISTS instance SCHEMALESS;
DEFINE TABLE IF NOT EXISTS login_pair SCHEMALESS;
DEFINE INDEX IF NOT EXISTS login_pair_last ON login_pair FIELDS last;
DEFINE TABLE IF NOT EXISTS login_address SCHEMALESS;
DEFINE INDEX IF NOT EXISTS login_address_last ON login_address FIELDS last;
DEFINE INDEX IF NOT EXISTS signal_user ON signal FIELDS user;
"#;

/// Defines every table and index, checks the schema version, and returns the
/// last event sequence number.
pub async fn apply(db: &Handle) -> Result<u64> {
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
    if found == Some(1) {
        migrate_1_to_2(db).await?;
    }
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

/// Re-keys the history and event rows of a version-1 database (random ids
/// plus indexes) to the version-2 ids, in one transaction per table.
async fn migrate_1_to_2(db: &Handle) -> Result<()> {
    const STEPS: &str = r#"
BEGIN TRANSACTION;
REMOVE INDEX IF EXISTS price_history_product ON price_history;
LET $rows = SELECT * OMIT id FROM price_history;
DELETE price_history;
FOR $r IN $rows { CREATE type::record('price_history', [$r.product, $r.ts]) CONTENT $r; };
COMMIT TRANSACTION;
BEGIN TRANSACTION;
REMOVE INDEX IF EXISTS stock_history_product ON stock_history;
LET $rows = SELECT * OMIT id FROM stock_history;
DELETE stock_history;
FOR $r IN $rows { CREATE type::record('stock_history', [$r.product, $r.ts]) CONTENT $r; };
COMMIT TRANSACTION;
BEGIN TRANSACTION;
REMOVE INDEX IF EXISTS event_seq ON event;
REMOVE FIELD IF EXISTS seq ON event;
LET $rows = SELECT * OMIT id FROM event;
DELETE event;
FOR $r IN $rows { CREATE type::record('event', [$r.seq]) CONTENT $r; };
COMMIT TRANSACTION;
"#;
    tracing::info!("migrating the database from schema 1 to 2 (history and event ids)");
    let mut response = db.query(STEPS).await?;
    super::root_error(response.take_errors())
}
