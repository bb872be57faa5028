//! The product page's server functions: the product with its history and
//! insight, the same item in other stores, and a user's verdict on a match.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use serde::{Deserialize, Serialize};

use model::{PricePoint, Product, StockPoint};

use crate::api::FormResult;
#[cfg(feature = "ssr")]
use crate::api::{caller, control, engine, words};

/// Everything the product page shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProductDetail {
    pub last_seq: u64,
    pub product: Product,
    pub source_name: String,
    /// Oldest first.
    pub prices: Vec<PricePoint>,
    pub stock: Vec<StockPoint>,
    /// Its deal score and restock outlook as last assessed.
    #[serde(default)]
    pub insight: Option<model::restock::ProductInsight>,
    /// When its store usually restocks, once it has restocked often enough.
    #[serde(default)]
    pub store_rhythm: Option<model::rhythm::StoreRhythm>,
}

/// One store's offer of an item, for the comparison.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoreOffer {
    pub key: String,
    pub store: String,
    pub title: String,
    pub url: String,
    pub currency: String,
    /// The lowest price of a size in stock; none when sold out.
    pub in_stock_from: Option<model::Decimal>,
    pub lowest: model::Decimal,
    pub sizes_in_stock: Vec<String>,
    /// None for the product itself.
    pub matched_by: Option<model::MatchedBy>,
}

impl StoreOffer {
    pub fn of(p: &Product, store: String, matched_by: Option<model::MatchedBy>) -> StoreOffer {
        StoreOffer {
            key: p.key.clone(),
            store,
            title: p.title.clone(),
            url: p.url.clone(),
            currency: p.currency.clone(),
            in_stock_from: p.lowest_in_stock(),
            lowest: p.price_range().map(|r| r.0).unwrap_or_default(),
            sizes_in_stock: p.sizes_in_stock(),
            matched_by,
        }
    }
}

/// The product page's comparison across stores.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// The same item in other stores (with this one first).
    pub offers: Vec<StoreOffer>,
    /// Products a user said are not this item.
    pub kept_apart: Vec<StoreOffer>,
    /// Products of other stores that could be merged with this one by hand:
    /// (key, "store — title"), by brand first.
    pub candidates: Vec<(String, String)>,
    /// Whether the caller may confirm, split and merge (editors).
    pub can_edit: bool,
}

#[server(input = Json)]
pub async fn load_comparison(key: String) -> Result<Comparison, ServerFnError> {
    let who = caller(model::Role::Viewer)?;
    let engine = engine()?;
    let Some(product) = engine.product(&key) else {
        return Ok(Comparison::default());
    };
    let names: std::collections::HashMap<String, String> = engine
        .sources()
        .into_iter()
        .map(|s| (s.key, s.name))
        .collect();
    let name_of = |k: &str| names.get(k).cloned().unwrap_or_else(|| k.to_string());
    let mut offers = vec![StoreOffer::of(&product, name_of(&product.source), None)];
    let same = engine.same_items(&key);
    offers.extend(
        same.iter()
            .map(|(p, why)| StoreOffer::of(p, name_of(&p.source), Some(*why))),
    );
    let can_edit = who.viewer.can(model::Role::Editor);
    let mut kept_apart = vec![];
    let mut candidates = vec![];
    if can_edit {
        let all = engine.products();
        for s in &all {
            if s.source == product.source || offers.iter().any(|o| o.key == s.key) {
                continue;
            }
            if engine.verdict(&key, &s.key) == Some(false) {
                if let Some(p) = engine.product(&s.key) {
                    kept_apart.push(StoreOffer::of(&p, name_of(&p.source), None));
                }
                continue;
            }
            candidates.push((
                s.brand.eq_ignore_ascii_case(&product.brand),
                s.key.clone(),
                format!("{} — {} ({})", name_of(&s.source), s.title, s.price_label()),
            ));
        }
        // Same brand first, then by title; at most 200 to choose from.
        candidates.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.2.cmp(&b.2)));
        candidates.truncate(200);
    }
    Ok(Comparison {
        offers,
        kept_apart,
        candidates: candidates.into_iter().map(|(_, k, l)| (k, l)).collect(),
        can_edit,
    })
}

/// A user's verdict on whether two products are the same item (editors):
/// `same` (confirm or merge), `different` (split) or `auto` (undo).
#[server]
pub async fn judge_match(
    key: String,
    other: String,
    verdict: String,
) -> Result<FormResult, ServerFnError> {
    let who = caller(model::Role::Editor)?;
    let same = match verdict.as_str() {
        "same" => Some(true),
        "different" => Some(false),
        "auto" => None,
        v => return Ok(FormResult::field("other", format!("unknown verdict {v:?}"))),
    };
    let other = other.trim().trim_start_matches("/product/").to_string();
    if other.is_empty() {
        return Ok(FormResult::field(
            "other",
            "choose the product in another store",
        ));
    }
    match control()?.judge_match(&who, &key, &other, same).await {
        Ok(()) => Ok(FormResult {
            ok: true,
            message: match same {
                Some(true) => "Kept together as the same item.".into(),
                Some(false) => "Kept apart: not the same item.".into(),
                None => "Back to automatic matching.".into(),
            },
            errors: vec![],
        }),
        Err(monitor::ControlError::Engine(monitor::EngineError::InvalidSource(m))) => {
            Ok(FormResult::field("other", m))
        }
        Err(e) => Err(words("could not save the match", e)),
    }
}

/// `None` when no product has that key.
#[server(input = Json)]
pub async fn load_product(key: String) -> Result<Option<ProductDetail>, ServerFnError> {
    let who = caller(model::Role::Viewer)?;
    let engine = engine()?;
    let last_seq = engine.store().last_seq();
    let Some(product) = engine.product(&key) else {
        return Ok(None);
    };
    let opened = model::picks::Signal::opened(&product);
    crate::picks::learn(&who, &engine, Some(opened)).await;
    let prices = engine
        .store()
        .price_history(&key)
        .await
        .map_err(|e| words("could not read the price history", e))?;
    let stock = engine
        .store()
        .stock_history(&key)
        .await
        .map_err(|e| words("could not read the stock history", e))?;
    let source_name = engine
        .sources()
        .into_iter()
        .find(|s| s.key == product.source)
        .map(|s| s.name)
        .unwrap_or_else(|| product.source.clone());
    let store_rhythm = engine.store_rhythm(&product.source);
    Ok(Some(ProductDetail {
        last_seq,
        product,
        source_name,
        prices,
        stock,
        insight: engine.insight(&key).map(|d| {
            let mut insight = (*d).clone();
            model::restock::with_rhythm(&mut insight.restock, store_rhythm.as_ref());
            insight
        }),
        store_rhythm,
    }))
}
