//! Deciding which rules an event fires: scope, condition, cooldown and re-arm.
//!
//! The matcher keeps, per rule and (product, size): when it last fired (for
//! the cooldown), and for "at or below X" whether it is armed (it disarms when
//! it fires and re-arms only once the price went back above X, so a price
//! that stays low does not notify on every change). That memory is saved in
//! the store ([`Matcher::saved`]) whenever it changes, so a restart, or
//! another instance taking the alerts over, goes on with the same cooldowns.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};

use model::{Condition, Event, EventKind, Rule, Scope};

/// The part of an event a rule's scope looks at.
fn in_scope(scope: &Scope, e: &Event) -> bool {
    if scope.source.as_ref().is_some_and(|s| *s != e.source) {
        return false;
    }
    let Some(p) = &e.product else {
        // Source-level events (blocked/unblocked) have no product to narrow by.
        return !scope.narrows() && scope.sizes.is_empty();
    };
    if !scope.covers(p) {
        return false;
    }
    if !scope.sizes.is_empty() {
        match &e.variant {
            Some(v) => {
                if !scope.sizes.iter().any(|s| s.eq_ignore_ascii_case(&v.size)) {
                    return false;
                }
            }
            None => return false,
        }
    }
    true
}

/// (rule id, product key, size)
type Key = (String, String, String);

#[derive(Default)]
pub struct Matcher {
    last_fired: HashMap<Key, DateTime<Utc>>,
    /// Keys of "at or below" rules that fired and wait for the price to go back up.
    disarmed: HashMap<Key, ()>,
    /// Changed since [`Matcher::saved`] was last taken.
    changed: bool,
}

/// The matcher as stored: lists, since its keys are tuples.
#[derive(Default, serde::Serialize, serde::Deserialize)]
struct Saved {
    fired: Vec<(Key, DateTime<Utc>)>,
    disarmed: Vec<Key>,
}

impl Matcher {
    /// A matcher as saved (an unreadable or missing one starts empty).
    pub fn from_saved(saved: Option<serde_json::Value>) -> Matcher {
        let saved: Saved = saved
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default();
        Matcher {
            last_fired: saved.fired.into_iter().collect(),
            disarmed: saved.disarmed.into_iter().map(|k| (k, ())).collect(),
            changed: false,
        }
    }

    /// The matcher to save, when it changed since the last call.
    pub fn saved(&mut self) -> Option<serde_json::Value> {
        if !std::mem::take(&mut self.changed) {
            return None;
        }
        let saved = Saved {
            fired: self
                .last_fired
                .iter()
                .map(|(k, t)| (k.clone(), *t))
                .collect(),
            disarmed: self.disarmed.keys().cloned().collect(),
        };
        serde_json::to_value(saved).ok()
    }

    /// The rules (of `rules`) this event fires, in order. Records the firing
    /// for cooldown and re-arm.
    pub fn fire<'r>(&mut self, rules: &'r [Rule], e: &Event) -> Vec<&'r Rule> {
        self.fire_with(rules, e, None)
    }

    /// [`Matcher::fire`] with the product's deal as assessed after the
    /// event (rules on the deal score need it; without it they do not fire).
    pub fn fire_with<'r>(
        &mut self,
        rules: &'r [Rule],
        e: &Event,
        deal: Option<&model::deal::Deal>,
    ) -> Vec<&'r Rule> {
        let drop_or_restock = drop_or_restock(e);
        let mut out = vec![];
        for r in rules.iter().filter(|r| !r.paused) {
            if !in_scope(&r.scope, e) {
                continue;
            }
            let key: Key = (
                r.id.clone(),
                e.product
                    .as_ref()
                    .map(|p| p.key.clone())
                    .unwrap_or_else(|| e.source.clone()),
                e.variant
                    .as_ref()
                    .map(|v| v.size.clone())
                    .unwrap_or_default(),
            );
            let hit = match &r.condition {
                Condition::PriceAtOrBelow { price } => match (e.kind, e.new_price) {
                    (EventKind::PriceChanged, Some(now)) => {
                        if now > *price {
                            // Back above: armed again.
                            self.changed |= self.disarmed.remove(&key).is_some();
                            false
                        } else {
                            !self.disarmed.contains_key(&key)
                        }
                    }
                    _ => false,
                },
                // Unrounded, checked: a drop of 9.96 % is not one of 10 %.
                Condition::DropPercent { percent } => e
                    .price_move()
                    .and_then(|m| m.drop_percent())
                    .is_some_and(|p| p >= *percent),
                Condition::DropAmount { amount } => e
                    .price_move()
                    .and_then(|m| m.drop_amount())
                    .is_some_and(|d| d >= *amount),
                Condition::Restocked => e.kind == EventKind::Restocked,
                Condition::SoldOut => e.kind == EventKind::SoldOut,
                Condition::NewArrival => e.kind == EventKind::NewProduct,
                Condition::BackOnline => e.kind == EventKind::Unblocked,
                Condition::DropOrRestock => drop_or_restock,
                Condition::DealScoreAtLeast { score } => {
                    drop_or_restock && deal.and_then(|d| d.score).is_some_and(|s| s >= *score)
                }
                Condition::LowestInDays { days } => {
                    e.price_move().is_some_and(|m| m.is_drop())
                        && deal.is_some_and(|d| d.lowest_in_days >= *days)
                }
            };
            if !hit {
                continue;
            }
            if let Some(last) = self.last_fired.get(&key) {
                if e.at - *last < cooldown(r) {
                    continue;
                }
            }
            self.last_fired.insert(key.clone(), e.at);
            self.changed = true;
            if matches!(r.condition, Condition::PriceAtOrBelow { .. }) {
                self.disarmed.insert(key, ());
            }
            out.push(r);
        }
        out
    }

    /// Forgets what no longer matters (cooldowns that have run out, rules
    /// that are gone), so the matcher's memory does not grow with every
    /// product a rule ever fired for.
    pub fn prune(&mut self, rules: &[Rule], now: DateTime<Utc>) {
        let before = self.len();
        self.last_fired
            .retain(|(id, ..), at| rules.iter().any(|r| r.id == *id && now - *at < cooldown(r)));
        // "At or below" stays disarmed until the price goes back up, however long.
        self.disarmed
            .retain(|(id, ..), _| rules.iter().any(|r| r.id == *id));
        self.changed |= self.len() != before;
    }

    /// How many keys the matcher holds (for `/metrics`).
    pub fn len(&self) -> usize {
        self.last_fired.len() + self.disarmed.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Any price drop, or a size back in stock.
fn drop_or_restock(e: &Event) -> bool {
    e.kind == EventKind::Restocked || e.price_move().is_some_and(|m| m.is_drop())
}

/// Whether an active rule asks about the deal of this event's product (a
/// drop or a restock): only then is the product assessed for the rules.
pub fn wants_deal(rules: &[Rule], e: &Event) -> bool {
    drop_or_restock(e)
        && rules.iter().any(|r| {
            !r.paused
                && matches!(
                    r.condition,
                    Condition::DealScoreAtLeast { .. } | Condition::LowestInDays { .. }
                )
        })
}

/// A rule's cooldown (stored values are bounded on save; a record written
/// by hand cannot overflow this either).
fn cooldown(r: &Rule) -> Duration {
    i64::try_from(r.cooldown_secs)
        .ok()
        .and_then(Duration::try_seconds)
        .unwrap_or(Duration::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::{EventVariant, ProductSummary};

    fn product(title: &str) -> ProductSummary {
        ProductSummary {
            key: format!("demo:{title}"),
            source: "demo".into(),
            title: title.into(),
            brand: "Nike".into(),
            product_type: "Sneakers".into(),
            url: String::new(),
            image: None,
            currency: "USD".into(),
            min_price: Some(100.into()),
            max_price: Some(100.into()),
            compare_at: None,
            sizes_in_stock: vec![],
            variant_count: 1,
            removed: false,
            updated: Utc::now(),
            change: None,
            spread: None,
            deal: None,
        }
    }

    fn event(kind: EventKind, title: &str, size: &str, old: i64, new: i64, secs: i64) -> Event {
        Event {
            seq: 1,
            kind,
            at: DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap(),
            source: "demo".into(),
            product: Some(product(title)),
            variant: Some(EventVariant {
                id: "1".into(),
                size: size.into(),
                price: Some(new.into()),
                available: true,
                cart_url: None,
            }),
            old_price: Some(old.into()),
            new_price: Some(new.into()),
            reason: None,
        }
    }

    fn rule(id: &str, scope: Scope, condition: Condition, cooldown_secs: u64) -> Rule {
        Rule {
            id: id.into(),
            name: id.into(),
            scope,
            condition,
            channels: vec!["c".into()],
            cooldown_secs,
            paused: false,
            created: Utc::now(),
            owner: None,
        }
    }

    #[test]
    fn below_x_fires_once_and_rearms_only_above_x() {
        let rules = [rule(
            "r",
            Scope {
                keywords: vec!["dunk".into()],
                ..Scope::default()
            },
            Condition::PriceAtOrBelow { price: 100.into() },
            0,
        )];
        let mut m = Matcher::default();
        let fired = |m: &mut Matcher, old, new, t| {
            m.fire(
                &rules,
                &event(EventKind::PriceChanged, "Dunk Low", "9", old, new, t),
            )
            .len()
        };
        assert_eq!(fired(&mut m, 120, 110, 0), 0, "above X");
        assert_eq!(fired(&mut m, 110, 95, 10), 1, "crossed below");
        assert_eq!(fired(&mut m, 95, 90, 20), 0, "still below: no repeat");
        assert_eq!(fired(&mut m, 90, 105, 30), 0, "back above re-arms");
        assert_eq!(fired(&mut m, 105, 99, 40), 1, "below again fires");
        // Out of scope: another title.
        assert_eq!(
            m.fire(
                &rules,
                &event(EventKind::PriceChanged, "Air Max", "9", 120, 50, 50)
            )
            .len(),
            0
        );
    }

    #[test]
    fn a_saved_matcher_keeps_its_cooldowns_and_disarmed_rules() {
        let rules = [
            rule(
                "low",
                Scope::default(),
                Condition::PriceAtOrBelow { price: 100.into() },
                0,
            ),
            rule(
                "drop",
                Scope::default(),
                Condition::DropPercent { percent: 5.into() },
                3600,
            ),
        ];
        let ev = |old, new, t| event(EventKind::PriceChanged, "Dunk Low", "9", old, new, t);
        let mut m = Matcher::default();
        assert!(m.saved().is_none(), "nothing changed yet");
        assert_eq!(m.fire(&rules, &ev(120, 95, 0)).len(), 2);
        let saved = m.saved().expect("firing changed it");
        assert!(m.saved().is_none(), "saved once per change");

        // Another process (a restart, or the instance taking alerts over).
        let mut again = Matcher::from_saved(Some(saved));
        assert_eq!(
            again.fire(&rules, &ev(95, 90, 60)).len(),
            0,
            "still below X (disarmed) and inside the drop rule's hour"
        );
        assert_eq!(
            again.fire(&rules, &ev(90, 80, 4000)).len(),
            1,
            "the cooldown ran out"
        );
        assert!(Matcher::from_saved(Some(serde_json::json!("garbage"))).is_empty());
    }

    #[test]
    fn deal_rules_fire_on_a_drop_or_restock_that_makes_a_good_enough_deal() {
        let rules = [
            rule(
                "score",
                Scope::default(),
                Condition::DealScoreAtLeast { score: 80 },
                0,
            ),
            rule(
                "low",
                Scope::default(),
                Condition::LowestInDays { days: 60 },
                0,
            ),
        ];
        let deal = |score: Option<u8>, lowest_in_days: u32| model::deal::Deal {
            score,
            label: String::new(),
            reason: String::new(),
            price: Some(90.into()),
            history_days: 120,
            lowest_in_days,
            near_low: false,
            windows: vec![],
            all_time: None,
            cheaper_elsewhere: None,
            sizes: vec![],
            computed: Utc::now(),
        };
        let ids = |v: Vec<&Rule>| v.into_iter().map(|r| r.id.clone()).collect::<Vec<_>>();
        let mut m = Matcher::default();
        let drop = event(EventKind::PriceChanged, "Dunk", "9", 100, 90, 0);
        let rise = event(EventKind::PriceChanged, "Dunk", "9", 90, 100, 10);
        let restock = event(EventKind::Restocked, "Dunk", "10", 0, 90, 20);
        assert_eq!(
            ids(m.fire_with(&rules, &drop, Some(&deal(Some(85), 90)))),
            ["score", "low"]
        );
        assert!(
            m.fire_with(&rules, &rise, Some(&deal(Some(95), 90)))
                .is_empty(),
            "a rise is no deal"
        );
        assert_eq!(
            ids(m.fire_with(&rules, &restock, Some(&deal(Some(80), 90)))),
            ["score"],
            "a restock is no drop"
        );
        assert!(
            m.fire_with(&rules, &drop, Some(&deal(Some(79), 59)))
                .is_empty(),
            "below both"
        );
        // Unscored (too little history), or not assessed: silent.
        assert!(m.fire_with(&rules, &drop, Some(&deal(None, 0))).is_empty());
        assert!(m.fire(&rules, &drop).is_empty());
    }

    #[test]
    fn drops_sizes_and_cooldown() {
        let rules = [
            rule(
                "pct",
                Scope::default(),
                Condition::DropPercent { percent: 10.into() },
                600,
            ),
            rule(
                "size",
                Scope {
                    sizes: vec!["9.5".into()],
                    ..Scope::default()
                },
                Condition::Restocked,
                0,
            ),
        ];
        let mut m = Matcher::default();
        let ids = |v: Vec<&Rule>| v.into_iter().map(|r| r.id.clone()).collect::<Vec<_>>();
        assert!(
            ids(m.fire(
                &rules,
                &event(EventKind::PriceChanged, "A", "9", 100, 95, 0)
            ))
            .is_empty(),
            "5% is not 10%"
        );
        assert_eq!(
            ids(m.fire(
                &rules,
                &event(EventKind::PriceChanged, "A", "9", 100, 90, 1)
            )),
            ["pct"]
        );
        assert!(
            ids(m.fire(
                &rules,
                &event(EventKind::PriceChanged, "A", "9", 90, 70, 100)
            ))
            .is_empty(),
            "cooldown"
        );
        assert_eq!(
            ids(m.fire(
                &rules,
                &event(EventKind::PriceChanged, "A", "10", 90, 70, 100)
            )),
            ["pct"],
            "another size is another key"
        );
        assert_eq!(
            ids(m.fire(
                &rules,
                &event(EventKind::PriceChanged, "A", "9", 70, 50, 700)
            )),
            ["pct"],
            "after the cooldown"
        );
        assert!(
            ids(m.fire(&rules, &event(EventKind::Restocked, "A", "9", 0, 0, 0))).is_empty(),
            "not a watched size"
        );
        assert_eq!(
            ids(m.fire(&rules, &event(EventKind::Restocked, "A", "9.5", 0, 0, 0))),
            ["size"]
        );
        let mut paused = rules.clone();
        paused[1].paused = true;
        assert!(
            ids(m.fire(&paused, &event(EventKind::Restocked, "A", "9.5", 0, 0, 5))).is_empty(),
            "paused rules are silent"
        );
    }

    #[test]
    fn watch_button_rule_fires_on_any_drop_or_restock_only() {
        let rules = [rule("w", Scope::default(), Condition::DropOrRestock, 0)];
        let mut m = Matcher::default();
        let n = |m: &mut Matcher, e: Event| m.fire(&rules, &e).len();
        assert_eq!(
            n(&mut m, event(EventKind::PriceChanged, "A", "9", 100, 99, 0)),
            1
        );
        assert_eq!(
            n(&mut m, event(EventKind::PriceChanged, "A", "9", 99, 120, 1)),
            0,
            "a rise"
        );
        assert_eq!(n(&mut m, event(EventKind::Restocked, "A", "9", 0, 0, 2)), 1);
        assert_eq!(n(&mut m, event(EventKind::SoldOut, "A", "9", 0, 0, 3)), 0);
        assert_eq!(
            n(&mut m, event(EventKind::NewProduct, "A", "9", 0, 0, 4)),
            0
        );
    }
}
