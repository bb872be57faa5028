//! Change detection: diff one observation of a product against what we held.
//!
//! Pure functions, no I/O: [`diff`] compares the last known product with the
//! newly observed one and says what to write (the product, history points) and
//! which events to raise. The poller keeps the current state in memory so this
//! is a hash-map lookup per product, and history is written only on change.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use model::{Event, EventKind, EventVariant, PriceMove, Product, Variant};
pub use model::{PricePoint, StockPoint, VariantPrice, VariantStock};

/// What one observation changed. Empty when nothing did.
#[derive(Debug, Default)]
pub struct Diff {
    /// The product to write, when anything about it changed.
    pub product: Option<Product>,
    /// Whether the store has never seen this product (so it can be inserted
    /// rather than updated).
    pub first_sight: bool,
    /// Ids of the variants to write (new or changed); the others are stored as they are.
    pub changed_variants: Vec<String>,
    /// Variants it no longer has (their `id`s).
    pub gone_variants: Vec<String>,
    pub price_point: Option<PricePoint>,
    pub stock_point: Option<StockPoint>,
    /// Events without sequence numbers; the store numbers them on commit.
    pub events: Vec<Event>,
}

fn event(kind: EventKind, product: &Product, at: DateTime<Utc>) -> Event {
    Event {
        seq: 0,
        kind,
        at,
        source: product.source.clone(),
        product: Some(product.summary()),
        variant: None,
        old_price: None,
        new_price: None,
        reason: None,
    }
}

fn variant_event(kind: EventKind, product: &Product, v: &Variant, at: DateTime<Utc>) -> Event {
    Event {
        variant: Some(EventVariant {
            id: v.id.clone(),
            size: v.size.clone(),
            price: v.price,
            available: v.available,
            cart_url: v.cart_url.clone(),
        }),
        ..event(kind, product, at)
    }
}

/// The variant's price-history entry; none while its price is not known.
fn price_of(v: &Variant) -> Option<VariantPrice> {
    Some(VariantPrice {
        variant: v.id.clone(),
        size: v.size.clone(),
        price: v.price?,
        compare_at: v.compare_at,
    })
}

fn stock_of(v: &Variant) -> VariantStock {
    VariantStock {
        variant: v.id.clone(),
        size: v.size.clone(),
        available: v.available,
    }
}

/// Compares the product we held (`old`, if any) with what was just observed.
pub fn diff(old: Option<&Product>, mut new: Product, now: DateTime<Utc>) -> Diff {
    let ts = now.timestamp_millis();
    let Some(old) = old.filter(|o| !o.removed) else {
        // First sight, or listed again after it was removed.
        let mut gone_variants = vec![];
        if let Some(o) = old {
            new.first_seen = o.first_seen;
            gone_variants = o
                .variants
                .iter()
                .filter(|ov| !new.variants.iter().any(|v| v.id == ov.id))
                .map(|ov| ov.id.clone())
                .collect();
        }
        new.updated = now;
        new.removed = false;
        new.last_change = old.and_then(|o| o.last_change.clone());
        let prices: Vec<VariantPrice> = new.variants.iter().filter_map(price_of).collect();
        return Diff {
            first_sight: old.is_none(),
            changed_variants: new.variants.iter().map(|v| v.id.clone()).collect(),
            price_point: (!prices.is_empty()).then(|| PricePoint {
                product: new.key.clone(),
                at: now,
                ts,
                variants: prices,
            }),
            stock_point: Some(StockPoint {
                product: new.key.clone(),
                at: now,
                ts,
                variants: new.variants.iter().map(stock_of).collect(),
            }),
            events: vec![event(EventKind::NewProduct, &new, now)],
            gone_variants,
            product: Some(new),
        };
    };

    new.first_seen = old.first_seen;
    new.updated = old.updated;
    new.last_change = match (old.price_range(), new.price_range()) {
        (Some((was, _)), Some((now_min, _))) if was != now_min => Some(PriceMove {
            old: was,
            new: now_min,
            at: now,
        }),
        _ => old.last_change.clone(),
    };
    let mut prices = Vec::new();
    let mut stock = Vec::new();
    // (kind, variant, old price) in the shop's variant order; events are built
    // after `new.updated` is final so every event carries the same summary.
    let mut changes: Vec<(EventKind, Variant, Option<Decimal>)> = Vec::new();
    let mut changed_variants = Vec::new();
    for v in &new.variants {
        let before = old.variants.iter().find(|o| o.id == v.id);
        if before != Some(v) {
            changed_variants.push(v.id.clone());
        }
        match before {
            Some(o) => {
                if o.price != v.price || o.compare_at != v.compare_at {
                    prices.extend(price_of(v));
                }
                // A price first shown (it was hidden while sold out) is
                // history, not a move.
                if let (Some(was), Some(now)) = (o.price, v.price) {
                    if was != now {
                        changes.push((EventKind::PriceChanged, v.clone(), Some(was)));
                    }
                }
                if o.available != v.available {
                    stock.push(stock_of(v));
                    let kind = if v.available {
                        EventKind::Restocked
                    } else {
                        EventKind::SoldOut
                    };
                    changes.push((kind, v.clone(), None));
                }
            }
            None => {
                // A size added to the product: its first price and stock are history.
                prices.extend(price_of(v));
                stock.push(stock_of(v));
                if v.available {
                    changes.push((EventKind::Restocked, v.clone(), None));
                }
            }
        }
    }
    // Stored variants carry their position: a reordered product rewrites them all.
    let moved = new.variants.iter().enumerate().any(|(i, v)| {
        old.variants
            .iter()
            .position(|o| o.id == v.id)
            .is_some_and(|j| j != i)
    });
    if moved {
        changed_variants = new.variants.iter().map(|v| v.id.clone()).collect();
    }
    let mut gone_variants = Vec::new();
    for o in &old.variants {
        if !new.variants.iter().any(|v| v.id == o.id) {
            gone_variants.push(o.id.clone());
            if o.available {
                let mut gone = o.clone();
                gone.available = false;
                stock.push(stock_of(&gone));
                changes.push((EventKind::SoldOut, gone, None));
            }
        }
    }

    let details_changed = old.title != new.title
        || old.brand != new.brand
        || old.url != new.url
        || old.image != new.image
        || old.product_type != new.product_type
        || old.tags != new.tags
        || old.currency != new.currency
        || old.facts != new.facts
        || old.variants != new.variants;
    if !details_changed {
        return Diff::default();
    }
    new.updated = now;
    let events = changes
        .into_iter()
        .map(|(kind, v, old_price)| {
            let mut e = variant_event(kind, &new, &v, now);
            if kind == EventKind::PriceChanged {
                e.old_price = old_price;
                e.new_price = v.price;
            }
            e
        })
        .collect();
    Diff {
        price_point: (!prices.is_empty()).then(|| PricePoint {
            product: new.key.clone(),
            at: now,
            ts,
            variants: prices,
        }),
        stock_point: (!stock.is_empty()).then(|| StockPoint {
            product: new.key.clone(),
            at: now,
            ts,
            variants: stock,
        }),
        events,
        first_sight: false,
        changed_variants,
        gone_variants,
        product: Some(new),
    }
}

/// A product a complete read of its catalogue no longer lists.
pub fn removal(old: &Product, now: DateTime<Utc>) -> Diff {
    let mut gone = old.clone();
    gone.removed = true;
    gone.updated = now;
    Diff {
        events: vec![event(EventKind::Removed, &gone, now)],
        product: Some(gone),
        ..Diff::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(id: &str, price: &str, available: bool) -> Variant {
        Variant {
            id: id.into(),
            size: format!("size-{id}"),
            sku: None,
            price: Some(price.parse().unwrap()),
            compare_at: None,
            available,
            cart_url: None,
        }
    }

    fn product(variants: Vec<Variant>) -> Product {
        let t = Utc::now();
        Product {
            key: "s:1".into(),
            source: "s".into(),
            external_id: "1".into(),
            title: "Dunk Low".into(),
            brand: "Nike".into(),
            product_type: "Shoes".into(),
            tags: vec![],
            url: "u".into(),
            image: None,
            currency: "USD".into(),
            variants,
            first_seen: t,
            updated: t,
            removed: false,
            last_change: None,
            facts: Default::default(),
        }
    }

    fn kinds(d: &Diff) -> Vec<EventKind> {
        d.events.iter().map(|e| e.kind).collect()
    }

    #[test]
    fn first_sight_is_one_new_product_with_full_history() {
        let d = diff(
            None,
            product(vec![v("a", "100", true), v("b", "100", false)]),
            Utc::now(),
        );
        assert_eq!(kinds(&d), vec![EventKind::NewProduct]);
        assert_eq!(d.price_point.unwrap().variants.len(), 2);
        assert_eq!(d.stock_point.unwrap().variants.len(), 2);
    }

    #[test]
    fn unchanged_observation_writes_nothing() {
        let old = product(vec![v("a", "100", true)]);
        let d = diff(Some(&old), old.clone(), Utc::now());
        assert!(d.product.is_none() && d.events.is_empty() && d.price_point.is_none());
    }

    #[test]
    fn price_change_and_restock_are_per_variant() {
        let old = product(vec![
            v("a", "100", true),
            v("b", "100", false),
            v("c", "100", true),
        ]);
        let new = product(vec![
            v("a", "90", true),
            v("b", "100", true),
            v("c", "100", false),
        ]);
        let d = diff(Some(&old), new, Utc::now());
        assert_eq!(
            kinds(&d),
            vec![
                EventKind::PriceChanged,
                EventKind::Restocked,
                EventKind::SoldOut
            ]
        );
        let pc = &d.events[0];
        assert_eq!(pc.old_price, Some("100".parse().unwrap()));
        assert_eq!(pc.new_price, Some("90".parse().unwrap()));
        assert_eq!(pc.variant.as_ref().unwrap().id, "a");
        assert_eq!(d.events[1].variant.as_ref().unwrap().size, "size-b");
        assert_eq!(d.price_point.unwrap().variants.len(), 1);
        assert_eq!(d.stock_point.unwrap().variants.len(), 2);
        assert_eq!(d.changed_variants, vec!["a", "b", "c"]);
        // Every event shows the product as it is after the change.
        assert_eq!(
            pc.product.as_ref().unwrap().sizes_in_stock,
            vec!["size-a", "size-b"]
        );
    }

    #[test]
    fn a_vanished_size_that_was_in_stock_is_sold_out() {
        let old = product(vec![v("a", "100", true), v("b", "100", true)]);
        let d = diff(Some(&old), product(vec![v("a", "100", true)]), Utc::now());
        assert_eq!(kinds(&d), vec![EventKind::SoldOut]);
        assert_eq!(d.gone_variants, vec!["b".to_string()]);
        assert!(
            d.changed_variants.is_empty(),
            "the size still there is unchanged"
        );
    }

    #[test]
    fn removed_then_listed_again_is_new_but_keeps_first_seen() {
        let old = product(vec![v("a", "100", true)]);
        let removed = removal(&old, Utc::now()).product.unwrap();
        assert!(removed.removed);
        let d = diff(
            Some(&removed),
            product(vec![v("a", "100", true)]),
            Utc::now(),
        );
        assert_eq!(kinds(&d), vec![EventKind::NewProduct]);
        assert_eq!(d.product.unwrap().first_seen, old.first_seen);
    }
}
