//! A watch rule as its forms send it: the fields "New rule" and a rule's
//! "Edit…" share ([`RuleFields`], flattened into their server functions so
//! the inputs keep their names), the conditions the forms offer, and how the
//! text becomes a rule's scope, condition and cooldown. A mistake names the
//! input it is about.

use serde::{Deserialize, Serialize};

use model::Condition;

/// The conditions a rule form offers: (value, label).
pub(crate) const CONDITIONS: [(&str, &str); 10] = [
    ("drop_or_restock", "Any price drop or restock"),
    ("restocked", "A size restocks"),
    ("price_at_or_below", "Price at or below…"),
    ("drop_percent", "Price drops by at least … %"),
    ("drop_amount", "Price drops by at least … (amount)"),
    ("sold_out", "Sells out"),
    ("new_arrival", "New arrival"),
    ("back_online", "Source back online after being blocked"),
    (
        "deal_score_at_least",
        "Drop or restock, deal score at least …",
    ),
    ("lowest_in_days", "Drop to its lowest in … days"),
];

/// What both rule forms send about the rule itself (the new-rule form adds
/// its one channel, the edit form its checked channels).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RuleFields {
    pub name: Option<String>,
    pub condition: Option<String>,
    pub value: Option<String>,
    /// Words every matching title has, separated by spaces.
    pub keywords: Option<String>,
    pub brand: Option<String>,
    pub series: Option<String>,
    /// A source's key.
    pub store: Option<String>,
    /// A product's key.
    pub product: Option<String>,
    /// Sizes separated by commas.
    pub sizes: Option<String>,
    /// "15m", "2h"...; blank keeps the default.
    pub cooldown: Option<String>,
}

#[cfg(any(feature = "ssr", test))]
impl RuleFields {
    /// The rule's condition, or the input that is wrong and why.
    pub fn condition(&self) -> Result<Condition, (&'static str, String)> {
        condition_from(
            self.condition.as_deref().unwrap_or(""),
            self.value.as_deref().unwrap_or(""),
        )
    }

    /// The rule's scope (an empty one: any product).
    pub fn scope(&self) -> model::Scope {
        model::Scope {
            keywords: self
                .keywords
                .as_deref()
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_string)
                .collect(),
            brand: opt(&self.brand),
            series: opt(&self.series),
            source: opt(&self.store),
            product: opt(&self.product),
            sizes: list(&self.sizes),
        }
    }

    /// The cooldown in seconds (`default` when left blank), or why not.
    #[cfg(feature = "ssr")]
    pub fn cooldown_secs(&self, default: u64) -> Result<u64, (&'static str, String)> {
        match opt(&self.cooldown) {
            None => Ok(default),
            Some(raw) => crate::api::parse_interval(&raw).map_err(|e| ("cooldown", e)),
        }
    }

    /// The name given, or "" (the service names an unnamed rule).
    pub fn name(&self) -> String {
        self.name.clone().unwrap_or_default()
    }
}

/// Turns the rule form's condition and value into a condition.
#[cfg(any(feature = "ssr", test))]
pub fn condition_from(kind: &str, value: &str) -> Result<Condition, (&'static str, String)> {
    let number = |field: &'static str, what: &str| {
        value
            .trim()
            .trim_end_matches('%')
            .trim()
            .parse::<model::Decimal>()
            .map_err(|_| (field, format!("Give {what} as a number, e.g. 120 or 9.99.")))
    };
    let whole = |what: &str, lo: u32, hi: u32| {
        value
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| (lo..=hi).contains(n))
            .ok_or_else(|| ("value", format!("Give {what}, a whole number.")))
    };
    Ok(match kind {
        "drop_or_restock" | "" => Condition::DropOrRestock,
        "price_at_or_below" => Condition::PriceAtOrBelow {
            price: number("value", "the price")?,
        },
        "drop_percent" => Condition::DropPercent {
            percent: number("value", "the percentage")?,
        },
        "drop_amount" => Condition::DropAmount {
            amount: number("value", "the amount")?,
        },
        "restocked" => Condition::Restocked,
        "sold_out" => Condition::SoldOut,
        "new_arrival" => Condition::NewArrival,
        "back_online" => Condition::BackOnline,
        "deal_score_at_least" => Condition::DealScoreAtLeast {
            score: whole("a deal score from 1 to 100", 1, 100)?
                .try_into()
                .unwrap_or(100),
        },
        "lowest_in_days" => Condition::LowestInDays {
            days: whole("a number of days from 1 to 365", 1, 365)?,
        },
        other => return Err(("condition", format!("Unknown condition {other:?}."))),
    })
}

/// The rule form's condition and value for a rule's condition (the
/// inverse of [`condition_from`]).
pub fn condition_parts(c: &Condition) -> (&'static str, String) {
    match c {
        Condition::DropOrRestock => ("drop_or_restock", String::new()),
        Condition::PriceAtOrBelow { price } => ("price_at_or_below", price.normalize().to_string()),
        Condition::DropPercent { percent } => ("drop_percent", percent.normalize().to_string()),
        Condition::DropAmount { amount } => ("drop_amount", amount.normalize().to_string()),
        Condition::Restocked => ("restocked", String::new()),
        Condition::SoldOut => ("sold_out", String::new()),
        Condition::NewArrival => ("new_arrival", String::new()),
        Condition::BackOnline => ("back_online", String::new()),
        Condition::DealScoreAtLeast { score } => ("deal_score_at_least", score.to_string()),
        Condition::LowestInDays { days } => ("lowest_in_days", days.to_string()),
    }
}

/// Comma-separated values, blanks left out.
#[cfg(any(feature = "ssr", test))]
fn list(raw: &Option<String>) -> Vec<String> {
    raw.as_deref()
        .unwrap_or_default()
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// A text input's value, or `None` when left blank.
#[cfg(any(feature = "ssr", test))]
pub(crate) fn opt(raw: &Option<String>) -> Option<String> {
    raw.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule_form_reads_conditions_and_says_what_is_wrong() {
        assert_eq!(condition_from("", ""), Ok(Condition::DropOrRestock));
        assert_eq!(
            condition_from("price_at_or_below", " 119.99 "),
            Ok(Condition::PriceAtOrBelow {
                price: "119.99".parse().unwrap()
            })
        );
        assert_eq!(
            condition_from("drop_percent", "15%"),
            Ok(Condition::DropPercent { percent: 15.into() })
        );
        let (field, msg) = condition_from("drop_amount", "ten").unwrap_err();
        assert_eq!(field, "value");
        assert!(msg.contains("number"), "{msg}");
        assert_eq!(condition_from("nonsense", "").unwrap_err().0, "condition");
        // Every condition the form offers is one it can read.
        for (kind, _) in CONDITIONS {
            assert!(condition_from(kind, "5").is_ok(), "{kind}");
        }
    }

    #[test]
    fn a_rules_condition_fills_the_form_it_came_from() {
        for c in [
            Condition::DropOrRestock,
            Condition::PriceAtOrBelow {
                price: "119.90".parse().unwrap(),
            },
            Condition::DropPercent { percent: 15.into() },
            Condition::DropAmount {
                amount: "7.5".parse().unwrap(),
            },
            Condition::Restocked,
            Condition::SoldOut,
            Condition::NewArrival,
            Condition::BackOnline,
            Condition::DealScoreAtLeast { score: 80 },
            Condition::LowestInDays { days: 90 },
        ] {
            let (kind, value) = condition_parts(&c);
            assert_eq!(condition_from(kind, &value), Ok(c.clone()), "{c:?}");
        }
    }

    #[test]
    fn the_scope_reads_blank_inputs_as_any() {
        let fields = RuleFields {
            keywords: Some("  dunk   low ".into()),
            brand: Some("  ".into()),
            sizes: Some("9, 9.5,, ".into()),
            store: Some(" demo ".into()),
            ..Default::default()
        };
        let s = fields.scope();
        assert_eq!(s.keywords, ["dunk", "low"]);
        assert_eq!(s.brand, None);
        assert_eq!(s.sizes, ["9", "9.5"]);
        assert_eq!(s.source.as_deref(), Some("demo"));
    }
}
