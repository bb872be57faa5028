//! The same item across stores: which products match, users' verdicts on
//! matches (kept in the database), and the price spread on each summary.

use model::{Product, ProductSummary};

use super::*;

impl Engine {
    /// [`Engine::products`] with each item's spread across the stores
    /// carrying it (for the grid and its "biggest gap" sort) and its deal
    /// badge (for the "best deals" sort and the "near the low" filter).
    pub fn products_compared(&self) -> Vec<ProductSummary> {
        let mut v = self.products();
        self.add_spreads(&mut v);
        for s in &mut v {
            s.deal = self.deals.badge(&s.key);
        }
        v
    }

    /// Sets each summary's spread across the stores carrying the same item.
    fn add_spreads(&self, summaries: &mut [ProductSummary]) {
        let watched: std::collections::HashSet<String> =
            self.sources.lock().keys().cloned().collect();
        let state = self.state.lock();
        let verdicts = self.verdicts.read();
        let live: Vec<&Product> = state
            .values()
            .filter(|p| !p.removed && watched.contains(&p.source))
            .collect();
        let index = model::compare::MatchIndex::new(live, &verdicts);
        for s in summaries.iter_mut() {
            if let Some(me) = state.get(&s.key) {
                let others: Vec<&Product> = index.matches(me).into_iter().map(|(p, _)| p).collect();
                s.spread = model::compare::spread(me, &others);
            }
        }
    }

    /// The same item in other stores (cross-store comparison): products of
    /// other sources that match by GTIN, style code, or brand + model name,
    /// with why. Removed products are left out.
    pub fn same_items(&self, key: &str) -> Vec<(Product, model::MatchedBy)> {
        // Only stores still watched: a removed source's products stay in
        // the history but are nobody's offer any more.
        let watched: std::collections::HashSet<String> =
            self.sources.lock().keys().cloned().collect();
        let state = self.state.lock();
        let verdicts = self.verdicts.read();
        let Some(me) = state.get(key) else {
            return vec![];
        };
        let mut out: Vec<(Product, model::MatchedBy)> = state
            .values()
            .filter(|p| !p.removed && p.key != me.key && watched.contains(&p.source))
            .filter_map(|p| {
                model::compare::same_item_judged(me, p, &verdicts).map(|why| (p.clone(), why))
            })
            .collect();
        out.sort_by(|a, b| a.0.key.cmp(&b.0.key));
        out
    }

    /// Records a user's verdict on two products: the same item (`Some(true)`:
    /// confirm or merge), not the same (`Some(false)`: split), or back to
    /// automatic matching (`None`). Both must exist, in different sources.
    pub async fn judge_match(
        &self,
        a: &str,
        b: &str,
        same: Option<bool>,
    ) -> Result<(), EngineError> {
        {
            let state = self.state.lock();
            let (pa, pb) = match (state.get(a), state.get(b)) {
                (Some(pa), Some(pb)) => (pa, pb),
                (None, _) => return Err(EngineError::InvalidSource(format!("no product {a:?}"))),
                (_, None) => return Err(EngineError::InvalidSource(format!("no product {b:?}"))),
            };
            if pa.source == pb.source {
                return Err(EngineError::InvalidSource(
                    "both products are from the same store; only offers in different stores can be the same item".into(),
                ));
            }
        }
        let pairs: Vec<(String, String, bool)> = {
            let mut v = self.verdicts.write();
            match same {
                Some(s) => v.insert(model::compare::pair(a, b), s),
                None => v.remove(&model::compare::pair(a, b)),
            };
            let mut pairs: Vec<_> = v
                .iter()
                .map(|((a, b), s)| (a.clone(), b.clone(), *s))
                .collect();
            pairs.sort();
            pairs
        };
        self.store
            .set_meta(VERDICTS_META, serde_json::json!({ "pairs": pairs }))
            .await?;
        Ok(())
    }

    /// The users' verdict on two products, if any.
    pub fn verdict(&self, a: &str, b: &str) -> Option<bool> {
        self.verdicts
            .read()
            .get(&model::compare::pair(a, b))
            .copied()
    }
}
