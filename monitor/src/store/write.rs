//! Writes: a batch of changes in one transaction, and small single-record writes.

use std::collections::{HashMap, HashSet};

use serde_json::{json, Value};

use model::{Event, Product, Source, Variant};

use super::{Result, Store};
use crate::detect::{Diff, PricePoint, StockPoint};

/// Everything one step of a poll changed, written in one transaction.
#[derive(Debug, Default)]
pub struct Batch {
    /// Products as they are now (the engine's state takes them after the commit).
    pub products: Vec<Product>,
    /// Keys of the products the store has never seen (inserted, not updated).
    new_products: HashSet<String>,
    /// (product key, variant id) of the variant rows to write.
    variant_writes: Vec<(String, String)>,
    /// (product key, variant id) of the variant rows to delete.
    variant_deletes: Vec<(String, String)>,
    pub price_points: Vec<PricePoint>,
    pub stock_points: Vec<StockPoint>,
    /// Events without numbers; [`Store::commit`] numbers them.
    pub events: Vec<Event>,
    /// On a shared server: the lease the writes need (see `leases.rs`).
    pub fence: Option<super::Fence>,
}

impl Batch {
    /// An empty batch whose writes need `fence` (see `leases.rs`).
    pub fn fenced(fence: Option<super::Fence>) -> Batch {
        Batch {
            fence,
            ..Batch::default()
        }
    }

    pub fn add(&mut self, diff: Diff) {
        if let Some(p) = diff.product {
            if diff.first_sight {
                self.new_products.insert(p.key.clone());
            }
            for id in diff.changed_variants {
                self.variant_writes.push((p.key.clone(), id));
            }
            for id in diff.gone_variants {
                self.variant_deletes.push((p.key.clone(), id));
            }
            self.products.push(p);
        }
        self.price_points.extend(diff.price_point);
        self.stock_points.extend(diff.stock_point);
        self.events.extend(diff.events);
    }

    pub fn is_empty(&self) -> bool {
        self.products.is_empty()
            && self.price_points.is_empty()
            && self.stock_points.is_empty()
            && self.events.is_empty()
    }
}

pub(super) fn to_json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).expect("model types always serialise")
}

/// The record key of a variant row.
fn variant_key(product: &str, variant: &str) -> String {
    format!("{product}/{variant}")
}

/// A product's row: the product without its variants (they have their own table).
fn product_row(p: &Product, with_id: bool) -> Value {
    let mut row = to_json(p);
    let obj = row.as_object_mut().expect("a product is an object");
    obj.remove("variants");
    if with_id {
        obj.insert("id".into(), json!(p.key));
    }
    row
}

fn variant_row(p: &Product, position: usize, v: &Variant, with_id: bool) -> Value {
    let mut row = to_json(v);
    let obj = row.as_object_mut().expect("a variant is an object");
    let key = variant_key(&p.key, &v.id);
    // `id` is the record's own id in SurrealDB; the shop's variant id is kept apart.
    let shop_id = obj.remove("id").expect("a variant has an id");
    obj.insert("variant_id".into(), shop_id);
    if with_id {
        obj.insert("id".into(), json!(key));
    }
    obj.insert("vkey".into(), json!(key));
    obj.insert("product".into(), json!(p.key));
    obj.insert("position".into(), json!(position));
    row
}

/// The statements and rows that write a batch's products and variants. Every
/// write goes by record id: no statement here scans a table.
fn product_statements(batch: &Batch, sql: &mut String, vars: &mut serde_json::Map<String, Value>) {
    let by_key: HashMap<&str, &Product> =
        batch.products.iter().map(|p| (p.key.as_str(), p)).collect();
    let (mut new_rows, mut changed_rows) = (vec![], vec![]);
    for p in &batch.products {
        if batch.new_products.contains(&p.key) {
            new_rows.push(product_row(p, true));
        } else {
            changed_rows.push(product_row(p, false));
        }
    }
    let (mut new_variants, mut changed_variants) = (vec![], vec![]);
    for (key, id) in &batch.variant_writes {
        let p = by_key[key.as_str()];
        if let Some((pos, v)) = p.variants.iter().enumerate().find(|(_, v)| &v.id == id) {
            if batch.new_products.contains(key) {
                new_variants.push(variant_row(p, pos, v, true));
            } else {
                changed_variants.push(variant_row(p, pos, v, false));
            }
        }
    }
    let deletes: Vec<String> = batch
        .variant_deletes
        .iter()
        .map(|(p, v)| variant_key(p, v))
        .collect();
    let mut add = |stmt: &str, name: &str, rows: Vec<Value>| {
        if !rows.is_empty() {
            sql.push_str(stmt);
            vars.insert(name.into(), Value::Array(rows));
        }
    };
    add(
        "INSERT INTO product $new_products;\n",
        "new_products",
        new_rows,
    );
    add(
        "FOR $p IN $changed_products { UPSERT type::record('product', $p.key) CONTENT $p; };\n",
        "changed_products",
        changed_rows,
    );
    add(
        "INSERT INTO variant $new_variants;\n",
        "new_variants",
        new_variants,
    );
    add(
        "FOR $v IN $changed_variants { UPSERT type::record('variant', $v.vkey) CONTENT $v; };\n",
        "changed_variants",
        changed_variants,
    );
    add(
        "FOR $k IN $gone_variants { DELETE type::record('variant', $k); };\n",
        "gone_variants",
        deletes.into_iter().map(Value::String).collect(),
    );
}

impl Store {
    /// Writes a batch in one transaction, numbering its events, then calls
    /// `publish` with the numbered events (and the written products, handed
    /// over rather than copied) while still holding the write lock
    /// (so live clients receive events in sequence order). Returns the events.
    ///
    /// The numbers come from the database, in the same transaction: it adds
    /// the batch's events to the counter `meta:events` and numbers them up to
    /// the new count. Two instances committing at once on one server both
    /// write the counter, so one of them meets a transaction conflict and
    /// tries again with the other's count (see [`super::sequence`]); numbers
    /// are therefore unique and commit in order.
    pub async fn commit(
        &self,
        mut batch: Batch,
        publish: impl FnOnce(&[Event], Vec<Product>),
    ) -> Result<Vec<Event>> {
        if batch.is_empty() {
            return Ok(vec![]);
        }
        let _guard = self.write_lock.lock().await;

        let mut sql = String::from("BEGIN TRANSACTION;\n");
        let mut vars = serde_json::Map::new();
        if let Some(fence) = &batch.fence {
            sql.push_str(super::leases::CHECK_FENCE);
            vars.insert("fence".into(), to_json(fence));
        }
        product_statements(&batch, &mut sql, &mut vars);
        // History rows are keyed [product, ts] (see the schema).
        let history = |rows: Value| -> Value {
            let mut rows = rows;
            for r in rows.as_array_mut().expect("a list of points") {
                let o = r.as_object_mut().expect("a point is an object");
                let id = json!([o["product"], o["ts"]]);
                o.insert("id".into(), id);
            }
            rows
        };
        if !batch.price_points.is_empty() {
            sql.push_str("INSERT INTO price_history $prices;\n");
            vars.insert("prices".into(), history(to_json(&batch.price_points)));
        }
        if !batch.stock_points.is_empty() {
            sql.push_str("INSERT INTO stock_history $stock;\n");
            vars.insert("stock".into(), history(to_json(&batch.stock_points)));
        }
        let numbered = !batch.events.is_empty();
        if numbered {
            sql.push_str(super::sequence::NUMBER_EVENTS);
            vars.insert("events".into(), to_json(&batch.events));
        }
        sql.push_str("COMMIT TRANSACTION;");
        let vars = Value::Object(vars);
        let base = super::sequence::with_retry(|| async {
            let mut response = self.db().query(sql.as_str()).bind(vars.clone()).await?;
            super::root_error(response.take_errors())?;
            if !numbered {
                return Ok(0);
            }
            // The statement before COMMIT returns the number before the batch's first.
            let at = response.num_statements().saturating_sub(2);
            let base: Option<u64> = response.take(at)?;
            base.ok_or_else(|| super::StoreError::Decode("the event counter".into()))
        })
        .await?;
        let mut seq = base;
        for e in &mut batch.events {
            seq += 1;
            e.seq = seq;
        }
        // Publish before raising `last_seq`: whoever reads `last_seq` and then
        // the engine's state must find the state already updated.
        publish(&batch.events, std::mem::take(&mut batch.products));
        if numbered {
            self.committed(base + 1, seq);
        }
        Ok(batch.events)
    }

    /// Creates or replaces a source.
    pub async fn save_source(&self, source: &Source) -> Result<()> {
        self.db()
            .query("UPSERT type::record('source', $key) CONTENT $row")
            .bind(json!({ "key": source.key, "row": to_json(source) }))
            .await?
            .check()?;
        Ok(())
    }

    /// Deletes a source's record and its recent runs (its products and
    /// history stay, marked by key; its kept runs age out).
    pub async fn delete_source(&self, key: &str) -> Result<()> {
        // Its runs still queued first, so none outlives it.
        self.write_queued_runs_first().await;
        self.db()
            .query("DELETE type::record('source', $key); DELETE type::record('poll_recent', $key);")
            .bind(json!({ "key": key }))
            .await?
            .check()?;
        Ok(())
    }

    /// Adds a brand spelling to the user's brand table.
    pub async fn save_brand_alias(&self, alias: &str, canonical: &str) -> Result<()> {
        self.db()
            .query("UPSERT type::record('brand_alias', $alias) CONTENT { alias: $alias, canonical: $canonical }")
            .bind(json!({ "alias": alias.to_lowercase(), "canonical": canonical }))
            .await?
            .check()?;
        Ok(())
    }
}
