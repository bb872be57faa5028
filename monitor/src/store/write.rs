//! Writes: a batch of changes in one transaction, and small single-record writes.

use std::sync::atomic::Ordering;

use serde_json::{json, Value};

use model::{Event, PollRun, Product, Source};

use super::{Result, Store};
use crate::detect::{Diff, PricePoint, StockPoint};

/// Everything one step of a poll changed, written in one transaction.
#[derive(Debug, Default)]
pub struct Batch {
    /// Products to write in full (their variants replace the stored ones).
    pub products: Vec<Product>,
    pub price_points: Vec<PricePoint>,
    pub stock_points: Vec<StockPoint>,
    /// Events without numbers; [`Store::commit`] numbers them.
    pub events: Vec<Event>,
}

impl Batch {
    pub fn add(&mut self, diff: Diff) {
        self.products.extend(diff.product);
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

fn to_json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).expect("model types always serialise")
}

/// A product row (without variants) and its variant rows.
fn product_rows(p: &Product) -> (Value, Vec<Value>) {
    let mut row = to_json(p);
    let obj = row.as_object_mut().expect("a product is an object");
    obj.remove("variants");
    obj.insert("id".into(), json!(p.key));
    let variants = p
        .variants
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let mut r = to_json(v);
            let o = r.as_object_mut().expect("a variant is an object");
            o.insert("id".into(), json!(format!("{}/{}", p.key, v.id)));
            o.insert("product".into(), json!(p.key));
            o.insert("position".into(), json!(i));
            r
        })
        .collect();
    (row, variants)
}

impl Store {
    /// Writes a batch in one transaction, numbering its events, then calls
    /// `publish` with the numbered events while still holding the write lock
    /// (so live clients receive events in sequence order). Returns the events.
    pub async fn commit(
        &self,
        mut batch: Batch,
        publish: impl FnOnce(&[Event]),
    ) -> Result<Vec<Event>> {
        if batch.is_empty() {
            return Ok(vec![]);
        }
        let _guard = self.write_lock.lock().await;
        let mut seq = self.last_seq.load(Ordering::SeqCst);
        for e in &mut batch.events {
            seq += 1;
            e.seq = seq;
        }

        let mut sql = String::from("BEGIN TRANSACTION;\n");
        let mut vars = serde_json::Map::new();
        if !batch.products.is_empty() {
            let keys: Vec<&str> = batch.products.iter().map(|p| p.key.as_str()).collect();
            let (rows, variants): (Vec<Value>, Vec<Vec<Value>>) =
                batch.products.iter().map(product_rows).unzip();
            // Replacing rows (rather than merging) drops variants a product no longer has.
            sql.push_str("DELETE product WHERE key IN $keys;\n");
            sql.push_str("DELETE variant WHERE product IN $keys;\n");
            sql.push_str("INSERT INTO product $products;\n");
            sql.push_str("INSERT INTO variant $variants;\n");
            vars.insert("keys".into(), json!(keys));
            vars.insert("products".into(), Value::Array(rows));
            vars.insert(
                "variants".into(),
                Value::Array(variants.into_iter().flatten().collect()),
            );
        }
        if !batch.price_points.is_empty() {
            sql.push_str("INSERT INTO price_history $prices;\n");
            vars.insert("prices".into(), to_json(&batch.price_points));
        }
        if !batch.stock_points.is_empty() {
            sql.push_str("INSERT INTO stock_history $stock;\n");
            vars.insert("stock".into(), to_json(&batch.stock_points));
        }
        if !batch.events.is_empty() {
            let rows: Vec<Value> = batch
                .events
                .iter()
                .map(|e| {
                    let mut r = to_json(e);
                    r.as_object_mut()
                        .expect("an event is an object")
                        .insert("id".into(), json!(e.seq));
                    r
                })
                .collect();
            sql.push_str("INSERT INTO event $events;\n");
            sql.push_str("UPSERT meta:events SET last_seq = $last_seq;\n");
            vars.insert("events".into(), Value::Array(rows));
            vars.insert("last_seq".into(), json!(seq));
        }
        sql.push_str("COMMIT TRANSACTION;");
        self.db().query(sql).bind(Value::Object(vars)).await?.check()?;
        // Publish before raising `last_seq`: whoever reads `last_seq` and then
        // the engine's state must find the state already updated.
        publish(&batch.events);
        self.last_seq.store(seq, Ordering::SeqCst);
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

    /// Deletes a source's record (its products and history stay, marked by key).
    pub async fn delete_source(&self, key: &str) -> Result<()> {
        self.db()
            .query("DELETE type::record('source', $key)")
            .bind(json!({ "key": key }))
            .await?
            .check()?;
        Ok(())
    }

    /// Records a poll run (at its start, and again when it ends).
    pub async fn save_run(&self, run: &PollRun) -> Result<()> {
        self.db()
            .query("UPSERT type::record('poll_run', $id) CONTENT $row")
            .bind(json!({ "id": run.id, "row": to_json(run) }))
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
