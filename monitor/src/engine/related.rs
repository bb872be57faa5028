//! Related products for a product page (see `model::related`): worked out
//! on request from the products in memory, with the watch rules the caller
//! passes and the deal scores the insight task keeps. Only products of
//! stores still watched are offered, and the same item in another store
//! (the comparison, users' verdicts included) is left out.
//!
//! Cost: one pass over every product under the state lock (string
//! comparisons; a style code is read only for products of the same brand),
//! then the best few picked out of the candidates: 4.3 ms at 10,000
//! products on the release build (see `docs/insight.md`).

use std::collections::HashSet;

use model::related::{self, RelatedItem};
use model::Rule;

use super::Engine;

impl Engine {
    /// Up to `limit` products related to `key`'s, best first, each with
    /// why; empty for a product not tracked.
    pub fn related(&self, key: &str, rules: &[Rule], limit: usize) -> Vec<RelatedItem> {
        let watched: HashSet<String> = self.sources.lock().keys().cloned().collect();
        let mut items = {
            let state = self.state.lock();
            let Some(me) = state.get(key) else {
                return vec![];
            };
            let verdicts = self.verdicts.read();
            related::rank(
                me,
                state.values().filter(|p| watched.contains(&p.source)),
                rules,
                |k| self.deals.get(k).and_then(|i| i.deal.score),
                |o| model::compare::same_item_judged(me, o, &verdicts).is_some(),
                limit,
            )
        };
        for item in &mut items {
            item.product.deal = self.deals.badge(&item.product.key);
        }
        items
    }
}
