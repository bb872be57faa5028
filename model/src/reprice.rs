//! Repricing (issue 6): how a target price follows a source price — the
//! markup rule, and what it proposes. Pure functions, shared by the engine
//! (proposals) and the browser (a preview while a rule is edited).

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// How a computed price is rounded, always upwards (never below the markup).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Rounding {
    /// To the cent.
    #[default]
    Cents,
    /// Up to the next x.99.
    To99,
    /// Up to the next x.95.
    To95,
    /// Up to the next whole unit.
    Whole,
}

/// A markup: percentage and/or fixed amount, rounding, floor and ceiling,
/// a guard against large jumps, and a fixed conversion rate for a source
/// priced in another currency than the store.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Markup {
    /// Percent added to the source price (20 = +20 %).
    #[serde(default)]
    pub percent: Decimal,
    /// Added after the percentage.
    #[serde(default)]
    pub fixed: Decimal,
    #[serde(default)]
    pub rounding: Rounding,
    #[serde(default)]
    pub floor: Option<Decimal>,
    #[serde(default)]
    pub ceiling: Option<Decimal>,
    /// A change larger than this many percent of the current target price
    /// is held for approval even with auto-approve on.
    #[serde(default)]
    pub max_step_percent: Option<Decimal>,
    /// Push proposals within the guard without asking.
    #[serde(default)]
    pub auto_approve: bool,
    /// Units of the store's currency per unit of the source's (0.92 for a
    /// USD source and a EUR store), as the user entered it. Used only when
    /// the two currencies differ: the source price is multiplied by it
    /// before the markup. None: a source in another currency cannot be priced.
    #[serde(default)]
    pub rate: Option<Decimal>,
}

/// The largest conversion rate a markup may hold (one unit of the source's
/// currency worth a million of the store's is a typo, not a rate).
pub const MAX_RATE: Decimal = Decimal::from_parts(1_000_000, 0, 0, false, 0);

/// A conversion rate has at most this many decimals.
pub const MAX_RATE_DECIMALS: u32 = 10;

/// Checks a conversion rate: positive, at most [`MAX_RATE`], at most
/// [`MAX_RATE_DECIMALS`] decimals. The error says what to enter instead.
pub fn check_rate(rate: Decimal) -> Result<Decimal, String> {
    if rate <= Decimal::ZERO {
        return Err(format!(
            "the conversion rate {rate} is not positive; give how many units of your store's currency one unit of the source's is worth, e.g. 0.92"
        ));
    }
    if rate > MAX_RATE {
        return Err(format!(
            "the conversion rate {rate} is beyond the largest rate Dropwatch takes ({MAX_RATE})"
        ));
    }
    let tidy = rate.normalize();
    if tidy.scale() > MAX_RATE_DECIMALS {
        return Err(format!(
            "the conversion rate {rate} has more than {MAX_RATE_DECIMALS} decimals"
        ));
    }
    Ok(tidy)
}

impl Markup {
    /// "+20 % + 2.50, up to .99, floor 30, ceiling 100, held above a 15 % step, auto-approve".
    pub fn describe(&self) -> String {
        let mut parts = vec![];
        let mut head = String::new();
        if !self.percent.is_zero() || self.fixed.is_zero() {
            head.push_str(&format!(
                "{}{} %",
                if self.percent.is_sign_negative() {
                    ""
                } else {
                    "+"
                },
                self.percent.normalize()
            ));
        }
        if !self.fixed.is_zero() {
            if !head.is_empty() {
                head.push(' ');
            }
            head.push_str(&format!(
                "{}{}",
                if self.fixed.is_sign_negative() {
                    ""
                } else {
                    "+ "
                },
                self.fixed
            ));
        }
        parts.push(head);
        match self.rounding {
            Rounding::Cents => {}
            Rounding::To99 => parts.push("up to .99".into()),
            Rounding::To95 => parts.push("up to .95".into()),
            Rounding::Whole => parts.push("up to whole units".into()),
        }
        if let Some(f) = self.floor {
            parts.push(format!("floor {f}"));
        }
        if let Some(c) = self.ceiling {
            parts.push(format!("ceiling {c}"));
        }
        if let Some(m) = self.max_step_percent {
            parts.push(format!("held above a {} % step", m.normalize()));
        }
        if let Some(r) = self.rate {
            parts.push(format!("converted at {}", r.normalize()));
        }
        if self.auto_approve {
            parts.push("auto-approve".into());
        }
        parts.join(", ")
    }
}

/// A markup for every link of the store, or for the links whose source
/// product carries a tag. A link takes its own markup unless it says to
/// follow these; then the first tag rule that matches, else the store's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MarkupRule {
    /// None: the store-wide default.
    #[serde(default)]
    pub tag: Option<String>,
    pub markup: Markup,
}

impl MarkupRule {
    pub fn describe(&self) -> String {
        match &self.tag {
            None => format!("store default ({})", self.markup.describe()),
            Some(t) => format!("tag {t:?} ({})", self.markup.describe()),
        }
    }
}

/// What a rule makes of a source price.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Priced {
    /// The price to set, whether it may go without approval, and the
    /// conversion rate used (when the currencies differ).
    Price {
        price: Decimal,
        auto: bool,
        note: Option<String>,
        rate: Option<Decimal>,
    },
    /// It cannot be priced (e.g. currencies differ), in words.
    CannotPrice(String),
}

fn round_up_to_ending(p: Decimal, ending: Decimal) -> Option<Decimal> {
    // The smallest n + ending >= p.
    p.checked_sub(ending)?.ceil().checked_add(ending)
}

impl Markup {
    pub fn apply(
        &self,
        source_price: Decimal,
        source_currency: &str,
        target_currency: &str,
        current_target: Option<Decimal>,
    ) -> Priced {
        if source_price <= Decimal::ZERO {
            return Priced::CannotPrice(format!("the source price {source_price} is not positive"));
        }
        // Another currency: converted at the user's fixed rate, or not at all.
        let rate = if source_currency.eq_ignore_ascii_case(target_currency) {
            None
        } else {
            match self.rate.map(check_rate) {
                Some(Ok(r)) => Some(r),
                Some(Err(why)) => return Priced::CannotPrice(why),
                None => {
                    return Priced::CannotPrice(format!(
                        "the source is priced in {source_currency} and your store sells in {target_currency}; give the markup a conversion rate ({target_currency} per {source_currency}) to price it"
                    ))
                }
            }
        };
        let converted = match rate {
            None => Some(source_price),
            Some(r) => source_price.checked_mul(r),
        };
        let hundred = Decimal::from(100);
        // Checked: the source price comes from a shop, the markup and the
        // rate from a form.
        let raw = hundred
            .checked_add(self.percent)
            .and_then(|factor| converted?.checked_mul(factor))
            .and_then(|p| p.checked_div(hundred))
            .and_then(|p| p.checked_add(self.fixed));
        let rounded = raw.and_then(|raw| match self.rounding {
            Rounding::Cents => {
                Some(raw.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::AwayFromZero))
            }
            Rounding::To99 => round_up_to_ending(raw, Decimal::new(99, 2)),
            Rounding::To95 => round_up_to_ending(raw, Decimal::new(95, 2)),
            Rounding::Whole => Some(raw.ceil()),
        });
        let Some(mut price) = rounded else {
            return Priced::CannotPrice(format!(
                "the marked-up price of {source_price} cannot be computed"
            ));
        };
        let mut note = None;
        if let Some(f) = self.floor {
            if price < f {
                price = f;
                note = Some(format!("raised to the floor {f}"));
            }
        }
        if let Some(c) = self.ceiling {
            if price > c {
                price = c;
                note = Some(format!("capped at the ceiling {c}"));
            }
        }
        // Cents, then the bounds: what is pushed is what was checked.
        price = price.round_dp(2);
        price.rescale(2);
        if price <= Decimal::ZERO {
            return Priced::CannotPrice(format!("the computed price {price} is not positive"));
        }
        if price > crate::money::MAX_PRICE {
            return Priced::CannotPrice(format!(
                "the computed price {price} is beyond the largest price Dropwatch sets ({})",
                crate::money::MAX_PRICE
            ));
        }
        let mut auto = self.auto_approve;
        if let (Some(max), Some(cur)) = (self.max_step_percent, current_target) {
            let step = price
                .checked_sub(cur)
                .and_then(|d| crate::money::percent_of(d, cur))
                .map(|s| s.abs());
            match step {
                Some(step) if step > max => {
                    auto = false;
                    note = Some(format!(
                        "a {}% change is more than the {max}% allowed in one step: held for approval",
                        step.round_dp(1)
                    ));
                }
                Some(_) => {}
                // The step from an absurd current price cannot be computed: held too.
                None if !cur.is_zero() => {
                    auto = false;
                    note = Some(format!("the change from the store's price {cur} cannot be computed: held for approval"));
                }
                None => {}
            }
        }
        Priced::Price {
            price,
            auto,
            note,
            rate,
        }
    }
}

/// A tracked product (or one of its sizes) feeding a variant of the user's
/// own Shopify store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Link {
    pub id: String,
    /// The tracked product's key.
    pub source_product: String,
    /// One size's variant id; none: the product's lowest price.
    #[serde(default)]
    pub source_variant: Option<String>,
    /// `gid://shopify/ProductVariant/...`
    pub target_variant: String,
    /// `gid://shopify/Product/...` (a push groups a product's variants).
    pub target_product: String,
    pub target_title: String,
    pub target_currency: String,
    /// The target's price as last read (after a push, or from a webhook).
    #[serde(default)]
    pub target_price: Option<Decimal>,
    /// When the shop last said so (a webhook's `updated_at`): an older
    /// delivery arriving late never overwrites newer state.
    #[serde(default)]
    pub target_updated: Option<DateTime<Utc>>,
    /// The target's inventory item (`inventory_levels/update` names it).
    #[serde(default)]
    pub target_inventory_item: Option<String>,
    /// Units available in the shop, from its webhooks.
    #[serde(default)]
    pub target_stock: Option<i64>,
    #[serde(default)]
    pub target_stock_updated: Option<DateTime<Utc>>,
    pub markup: Markup,
    /// Take the markup from the store's tag rules or its default instead
    /// of `markup`.
    #[serde(default)]
    pub inherit: bool,
    pub created: DateTime<Utc>,
}

/// Where a proposal is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ProposalState {
    /// Waiting for approval.
    Proposed,
    /// Approved, waiting to be pushed (or pushing again after a restart).
    Approved,
    Pushing,
    Done,
    Failed,
    Rejected,
    /// The rule could not price it (see `note`).
    CannotPrice,
    /// A newer proposal for the same link replaced it before it was pushed.
    Superseded,
}

/// A proposed price for a link's target, from one source price change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Proposal {
    pub id: String,
    pub link: String,
    /// The source event it came from.
    pub seq: u64,
    pub source_price: Decimal,
    pub source_currency: String,
    /// The store's currency the price was computed in (none: proposals
    /// made before the store's currency was read, priced in the source's).
    #[serde(default)]
    pub target_currency: Option<String>,
    /// The conversion rate the source price was multiplied by, when the
    /// currencies differ.
    #[serde(default)]
    pub rate: Option<Decimal>,
    pub current_target: Option<Decimal>,
    pub proposed: Option<Decimal>,
    /// How the rule got there (floor, ceiling, held by the guard...).
    pub note: Option<String>,
    /// The rule that produced it, in words ("this link: +20 %, up to .99").
    #[serde(default)]
    pub rule: String,
    pub state: ProposalState,
    /// Bumped by every change of state; an approval names the version it
    /// saw, so two approvals (two clicks, two instances) push once.
    pub version: u64,
    #[serde(default)]
    pub approved_by: Option<String>,
    #[serde(default)]
    pub attempts: u32,
    #[serde(default)]
    pub error: Option<String>,
    /// The price Shopify reported after the push.
    #[serde(default)]
    pub pushed_price: Option<Decimal>,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn price_of(m: &Markup, source: &str, current: Option<&str>) -> (String, bool, Option<String>) {
        match m.apply(d(source), "USD", "usd", current.map(d)) {
            Priced::Price {
                price, auto, note, ..
            } => (price.to_string(), auto, note),
            Priced::CannotPrice(why) => panic!("{why}"),
        }
    }

    fn markup(percent: i64, rounding: Rounding) -> Markup {
        Markup {
            percent: percent.into(),
            fixed: Decimal::ZERO,
            rounding,
            floor: None,
            ceiling: None,
            max_step_percent: None,
            auto_approve: true,
            rate: None,
        }
    }

    #[test]
    fn percentage_fixed_amount_and_rounding() {
        assert_eq!(
            price_of(&markup(20, Rounding::Cents), "100", None).0,
            "120.00"
        );
        assert_eq!(
            price_of(&markup(20, Rounding::Cents), "19.99", None).0,
            "23.99",
            "23.988 up to the cent"
        );
        assert_eq!(
            price_of(&markup(20, Rounding::To99), "19.50", None).0,
            "23.99"
        );
        assert_eq!(
            price_of(&markup(0, Rounding::To99), "23.99", None).0,
            "23.99",
            "already .99"
        );
        assert_eq!(
            price_of(&markup(0, Rounding::To99), "24.00", None).0,
            "24.99"
        );
        assert_eq!(
            price_of(&markup(0, Rounding::To95), "24.96", None).0,
            "25.95"
        );
        assert_eq!(
            price_of(&markup(10, Rounding::Whole), "10.01", None).0,
            "12.00"
        );
        let mut m = markup(10, Rounding::Cents);
        m.fixed = d("2.50");
        assert_eq!(price_of(&m, "10", None).0, "13.50");
    }

    #[test]
    fn floor_ceiling_and_the_step_guard() {
        let mut m = markup(20, Rounding::Cents);
        m.floor = Some(d("30"));
        m.ceiling = Some(d("100"));
        assert_eq!(price_of(&m, "10", None).0, "30.00");
        assert_eq!(price_of(&m, "200", None).0, "100.00");
        m.max_step_percent = Some(d("15"));
        let (p, auto, note) = price_of(&m, "50", Some("60.00"));
        assert_eq!(
            (p.as_str(), auto),
            ("60.00", true),
            "no change is within the guard"
        );
        let (p, auto, note2) = price_of(&m, "40", Some("60.00"));
        assert_eq!(p, "48.00");
        assert!(!auto, "a 20% drop is held");
        assert!(note2.unwrap().contains("held for approval"));
        assert!(note.is_none());
    }

    #[test]
    fn markups_describe_themselves() {
        let mut m = markup(20, Rounding::To99);
        assert_eq!(m.describe(), "+20 %, up to .99, auto-approve");
        m.fixed = d("2.50");
        m.auto_approve = false;
        m.floor = Some(d("30"));
        m.max_step_percent = Some(d("15"));
        assert_eq!(
            m.describe(),
            "+20 % + 2.50, up to .99, floor 30, held above a 15 % step"
        );
        let rule = MarkupRule {
            tag: Some("sneakers".into()),
            markup: markup(0, Rounding::Whole),
        };
        assert_eq!(
            rule.describe(),
            "tag \"sneakers\" (+0 %, up to whole units, auto-approve)"
        );
    }

    #[test]
    fn different_currencies_cannot_be_priced() {
        let m = markup(20, Rounding::Cents);
        match m.apply(d("10"), "EUR", "USD", None) {
            Priced::CannotPrice(why) => {
                assert!(why.contains("EUR") && why.contains("USD"), "{why}")
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            m.apply(d("0"), "USD", "USD", None),
            Priced::CannotPrice(_)
        ));
    }

    #[test]
    fn a_conversion_rate_prices_another_currency_before_the_markup() {
        let mut m = markup(20, Rounding::Cents);
        m.rate = Some(d("0.9"));
        // 50 USD at 0.9 = 45 EUR, +20 % = 54 EUR; the rate is said.
        match m.apply(d("50"), "USD", "EUR", None) {
            Priced::Price { price, rate, .. } => {
                assert_eq!(price.to_string(), "54.00");
                assert_eq!(rate, Some(d("0.9")));
            }
            other => panic!("{other:?}"),
        }
        // The same currency: the rate is not used.
        match m.apply(d("50"), "USD", "usd", None) {
            Priced::Price { price, rate, .. } => {
                assert_eq!((price.to_string(), rate), ("60.00".to_string(), None))
            }
            other => panic!("{other:?}"),
        }
        assert!(
            m.describe().contains("converted at 0.9"),
            "{}",
            m.describe()
        );
    }

    #[test]
    fn conversion_rates_are_bounded_and_checked() {
        assert_eq!(check_rate(d("0.920")), Ok(d("0.92")));
        assert!(check_rate(d("0")).is_err());
        assert!(check_rate(d("-1")).is_err());
        assert!(check_rate(d("1000001")).is_err());
        assert!(check_rate(d("0.00000000001")).is_err());
        // A rate that would overflow, or price beyond the largest price, is
        // refused in words; never a panic.
        let mut m = markup(0, Rounding::Cents);
        m.rate = Some(MAX_RATE);
        assert!(matches!(
            m.apply(crate::money::MAX_PRICE, "USD", "JPY", None),
            Priced::CannotPrice(_)
        ));
        m.rate = Some(Decimal::MAX);
        match m.apply(Decimal::MAX, "USD", "JPY", None) {
            Priced::CannotPrice(why) => assert!(why.contains("rate"), "{why}"),
            other => panic!("{other:?}"),
        }
    }
}
