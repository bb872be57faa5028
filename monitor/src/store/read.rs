//! Reads: loading the current state at start, events since a number, history, runs.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{json, Value};

use model::{Event, Product, Source, Variant};

use super::{decode, Result, Store};
use crate::detect::{PricePoint, StockPoint};

#[derive(Deserialize)]
struct VariantRow {
    product: String,
    position: usize,
    #[serde(flatten)]
    variant: Variant,
}

/// Row counts, for the benchmark and tests ("an unchanged cycle writes no history").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub products: u64,
    pub variants: u64,
    pub price_history: u64,
    pub stock_history: u64,
    pub events: u64,
    pub poll_runs: u64,
}

impl Store {
    async fn rows(&self, sql: &str, vars: Value) -> Result<Vec<Value>> {
        let mut res = self.db().query(sql).bind(vars).await?.check()?;
        Ok(res.take(0)?)
    }

    /// Every product with its variants, for the in-memory current state.
    pub async fn load_products(&self) -> Result<Vec<Product>> {
        let products = self
            .rows("SELECT * OMIT id FROM product", json!({}))
            .await?;
        let variants = self
            .rows("SELECT * OMIT id FROM variant", json!({}))
            .await?;
        assemble(products, variants)
    }

    /// The stored products of `keys` with their variants (a key with no
    /// product row is left out): what another instance wrote, read by id.
    pub async fn load_products_by_key(&self, keys: &[String]) -> Result<Vec<Product>> {
        if keys.is_empty() {
            return Ok(vec![]);
        }
        // A product's variants are keyed `product/variant`: the id range
        // from "key/" up to "key0" ('0' follows '/') holds exactly them.
        let mut res = self
            .db()
            .query(
                "SELECT * OMIT id FROM $keys.map(|$k| type::record('product', $k));
                 array::flatten($keys.map(|$k| SELECT * OMIT id FROM type::record('variant', ($k + '/')..($k + '0'))));",
            )
            .bind(json!({ "keys": keys }))
            .await?
            .check()?;
        let products: Vec<Value> = res.take(0)?;
        let variants: Vec<Value> = res.take(1)?;
        assemble(products, variants)
    }

    /// Up to `limit` events with a sequence number above `since`, oldest first.
    ///
    /// Sequence numbers are dense, so the page is read as the id range
    /// `since+1 ..= since+limit`: its cost follows `limit`, not how many
    /// events come after `since` (an open range with `LIMIT` scanned them
    /// all). Should that range hold nothing while later events exist (a gap
    /// left by retention), the open range finds the next ones.
    pub async fn events_since(&self, since: u64, limit: usize) -> Result<Vec<Event>> {
        self.event_page(since, limit, |to| self.last_seq() > to)
            .await
    }

    /// Up to `limit` events after `since`, oldest first, whatever this
    /// process has published (the follower's read of a shared table): the id
    /// range first, and where that holds nothing (a gap left by retention, or
    /// nothing new) the open range.
    pub async fn events_after(&self, since: u64, limit: usize) -> Result<Vec<Event>> {
        self.event_page(since, limit, |_| true).await
    }

    /// The id range `since+1 ..= since+limit`, and when it is empty and
    /// `look_further(since+limit)` says so, the open range after `since`.
    async fn event_page(
        &self,
        since: u64,
        limit: usize,
        look_further: impl FnOnce(u64) -> bool,
    ) -> Result<Vec<Event>> {
        if limit == 0 {
            return Ok(vec![]);
        }
        let from = since.saturating_add(1);
        let to = from.saturating_add(limit as u64 - 1);
        let page: Vec<Event> = decode(
            self.rows(
                "SELECT * OMIT id FROM event:[$from]..=[$to]",
                json!({ "from": from, "to": to }),
            )
            .await?,
        )?;
        if !page.is_empty() || !look_further(to) {
            return Ok(page);
        }
        decode(
            self.rows(
                "SELECT * OMIT id FROM event:[$from].. LIMIT $limit",
                json!({ "from": from, "limit": limit }),
            )
            .await?,
        )
    }

    /// The newest `limit` events, oldest first.
    pub async fn recent_events(&self, limit: usize) -> Result<Vec<Event>> {
        let since = self.last_seq().saturating_sub(limit as u64);
        self.events_since(since, limit).await
    }

    /// A product's price history, oldest first.
    pub async fn price_history(&self, product: &str) -> Result<Vec<PricePoint>> {
        decode(
            self.rows(
                "SELECT * OMIT id FROM price_history:[$p, NONE]..=[$p, ..]",
                json!({ "p": product }),
            )
            .await?,
        )
    }

    /// A product's stock history, oldest first.
    pub async fn stock_history(&self, product: &str) -> Result<Vec<StockPoint>> {
        decode(
            self.rows(
                "SELECT * OMIT id FROM stock_history:[$p, NONE]..=[$p, ..]",
                json!({ "p": product }),
            )
            .await?,
        )
    }

    pub async fn sources(&self) -> Result<Vec<Source>> {
        decode(
            self.rows(
                "SELECT * OMIT id FROM source ORDER BY created ASC",
                json!({}),
            )
            .await?,
        )
    }

    /// The user's brand spellings: (alias, canonical).
    pub async fn brand_aliases(&self) -> Result<Vec<(String, String)>> {
        #[derive(Deserialize)]
        struct Row {
            alias: String,
            canonical: String,
        }
        let rows: Vec<Row> = decode(
            self.rows("SELECT alias, canonical FROM brand_alias", json!({}))
                .await?,
        )?;
        Ok(rows.into_iter().map(|r| (r.alias, r.canonical)).collect())
    }

    pub async fn counts(&self) -> Result<Counts> {
        self.write_queued_runs_first().await;
        let mut res = self
            .db()
            .query(
                "RETURN {
                    products: count(SELECT id FROM product),
                    variants: count(SELECT id FROM variant),
                    price_history: count(SELECT id FROM price_history),
                    stock_history: count(SELECT id FROM stock_history),
                    events: count(SELECT id FROM event),
                    poll_runs: count(SELECT id FROM poll_run)
                }",
            )
            .await?
            .check()?;
        let v: Option<Value> = res.take(0)?;
        let v = v.unwrap_or_default();
        let n = |k: &str| v[k].as_u64().unwrap_or(0);
        Ok(Counts {
            products: n("products"),
            variants: n("variants"),
            price_history: n("price_history"),
            stock_history: n("stock_history"),
            events: n("events"),
            poll_runs: n("poll_runs"),
        })
    }
}

/// Products from their rows and their variants' rows, variants in the
/// shop's order.
fn assemble(products: Vec<Value>, variants: Vec<Value>) -> Result<Vec<Product>> {
    let mut products: Vec<Product> = decode(
        products
            .into_iter()
            .map(|mut r| {
                r["variants"] = json!([]);
                r
            })
            .collect(),
    )?;
    let rows: Vec<VariantRow> = decode(
        variants
            .into_iter()
            .map(|mut r| {
                if let Some(o) = r.as_object_mut() {
                    if let Some(id) = o.remove("variant_id") {
                        o.insert("id".into(), id);
                    }
                }
                r
            })
            .collect(),
    )?;
    let mut by_product: HashMap<String, Vec<(usize, Variant)>> = HashMap::new();
    for r in rows {
        by_product
            .entry(r.product)
            .or_default()
            .push((r.position, r.variant));
    }
    for p in &mut products {
        let mut vs = by_product.remove(&p.key).unwrap_or_default();
        vs.sort_by_key(|(pos, _)| *pos);
        p.variants = vs.into_iter().map(|(_, v)| v).collect();
    }
    Ok(products)
}
