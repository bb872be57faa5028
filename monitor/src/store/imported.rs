//! History carried over from another tool (a changedetection.io backup's
//! price snapshots): written as ordinary history rows, older than anything
//! Dropwatch read itself, so a product's chart starts full.

use serde_json::{json, Value};

use model::{PricePoint, StockPoint};

use super::{Result, Store};

/// Rows keyed `[product, ts]` as the poller writes them (see the schema).
fn keyed<T: serde::Serialize>(points: &[T]) -> Value {
    Value::Array(
        points
            .iter()
            .filter_map(|p| {
                let mut row = serde_json::to_value(p).ok()?;
                let o = row.as_object_mut()?;
                let id = json!([o.get("product")?, o.get("ts")?]);
                o.insert("id".into(), id);
                Some(row)
            })
            .collect(),
    )
}

impl Store {
    /// Adds history points in one transaction; a point already stored (the
    /// same product and moment, e.g. an import run twice) is kept as it was.
    pub async fn import_history(&self, prices: &[PricePoint], stock: &[StockPoint]) -> Result<()> {
        if prices.is_empty() && stock.is_empty() {
            return Ok(());
        }
        self.db()
            .query(
                "BEGIN TRANSACTION;
                 INSERT IGNORE INTO price_history $prices;
                 INSERT IGNORE INTO stock_history $stock;
                 COMMIT TRANSACTION;",
            )
            .bind(json!({ "prices": keyed(prices), "stock": keyed(stock) }))
            .await?
            .check()?;
        Ok(())
    }
}
