//! A markup as the repricing forms send it: the inputs of `MarkupFields`
//! (percent, fixed amount, rounding, floor, ceiling, step guard, auto
//! approve, conversion rate), shared by the store's markups, "Sell it in
//! your store" and a link's "Edit markup…", flattened into their server
//! functions so the inputs keep their names. Read and checked into a
//! [`Markup`]; a mistake names the input it is about.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use model::{Markup, Rounding};

/// The markup inputs of a repricing form, as typed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MarkupForm {
    pub percent: Option<String>,
    pub fixed: Option<String>,
    pub rounding: Option<String>,
    pub floor: Option<String>,
    pub ceiling: Option<String>,
    /// The step guard: the largest change one push may make, in percent.
    pub guard: Option<String>,
    /// A checkbox: "on" when proposals are approved without asking.
    pub auto: Option<String>,
    /// Units of the store's currency per unit of the source's; blank: none.
    pub rate: Option<String>,
}

impl MarkupForm {
    /// The markup, or the input that is wrong and why.
    pub fn markup(&self) -> Result<Markup, (&'static str, String)> {
        let rounding = match self.rounding.as_deref().unwrap_or("") {
            "" | "cents" => Rounding::Cents,
            "to99" => Rounding::To99,
            "to95" => Rounding::To95,
            "whole" => Rounding::Whole,
            other => return Err(("rounding", format!("unknown rounding {other:?}"))),
        };
        let m = Markup {
            percent: decimal_field(&self.percent, "percent")?.unwrap_or_default(),
            fixed: decimal_field(&self.fixed, "fixed")?.unwrap_or_default(),
            rounding,
            floor: decimal_field(&self.floor, "floor")?,
            ceiling: decimal_field(&self.ceiling, "ceiling")?,
            max_step_percent: decimal_field(&self.guard, "guard")?,
            auto_approve: checked(&self.auto),
            rate: match decimal_field(&self.rate, "rate")? {
                None => None,
                Some(r) => Some(model::check_rate(r).map_err(|e| ("rate", e))?),
            },
        };
        if m.percent <= Decimal::from(-100) {
            return Err((
                "percent",
                "a markup of -100 % or less gives nothing to sell".into(),
            ));
        }
        if let (Some(f), Some(c)) = (m.floor, m.ceiling) {
            if f > c {
                return Err(("floor", format!("the floor {f} is above the ceiling {c}")));
            }
        }
        if m.max_step_percent.is_some_and(|g| g <= Decimal::ZERO) {
            return Err(("guard", "the step guard is a positive percentage".into()));
        }
        Ok(m)
    }
}

/// Whether a checkbox was ticked ("on"; "true" and "1" from scripts).
pub fn checked(raw: &Option<String>) -> bool {
    matches!(raw.as_deref(), Some("on" | "true" | "1"))
}

/// A decimal from a form field ("20", "20 %", "19,99"); empty: none.
pub fn decimal_field(
    raw: &Option<String>,
    field: &'static str,
) -> Result<Option<Decimal>, (&'static str, String)> {
    let t = raw
        .as_deref()
        .unwrap_or("")
        .trim()
        .trim_end_matches('%')
        .trim()
        .replace(',', ".");
    if t.is_empty() {
        return Ok(None);
    }
    t.parse::<Decimal>().map(Some).map_err(|_| {
        (
            field,
            format!("{:?} is not a number", raw.as_deref().unwrap_or("")),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> Option<String> {
        Some(x.to_string())
    }

    fn field_of(form: MarkupForm) -> &'static str {
        form.markup().unwrap_err().0
    }

    #[test]
    fn the_markup_form_reads_numbers_and_says_what_is_wrong() {
        let m = MarkupForm {
            percent: s("20 %"),
            fixed: s("2,50"),
            rounding: s("to99"),
            ceiling: s(""),
            guard: s("15"),
            auto: s("on"),
            ..Default::default()
        }
        .markup()
        .unwrap();
        assert_eq!(m.percent, Decimal::from(20));
        assert_eq!(m.fixed, "2.50".parse::<Decimal>().unwrap());
        assert_eq!(m.rounding, Rounding::To99);
        assert_eq!(m.max_step_percent, Some(Decimal::from(15)));
        assert!(m.auto_approve);
        let blank = MarkupForm::default;
        assert_eq!(
            field_of(MarkupForm {
                percent: s("lots"),
                ..blank()
            }),
            "percent"
        );
        assert_eq!(
            field_of(MarkupForm {
                floor: s("50"),
                ceiling: s("40"),
                ..blank()
            }),
            "floor"
        );
        assert_eq!(
            field_of(MarkupForm {
                percent: s("-100"),
                ..blank()
            }),
            "percent"
        );
        assert_eq!(
            field_of(MarkupForm {
                rounding: s("nearest"),
                ..blank()
            }),
            "rounding"
        );
        assert!(!blank().markup().unwrap().auto_approve);
    }

    #[test]
    fn the_conversion_rate_field_is_read_and_bounded() {
        let with = |rate: &str| MarkupForm {
            rate: s(rate),
            ..Default::default()
        };
        assert_eq!(
            with(" 0,92 ").markup().unwrap().rate,
            Some("0.92".parse().unwrap())
        );
        assert_eq!(with("").markup().unwrap().rate, None);
        for bad in ["0", "-1", "lots", "99999999"] {
            assert_eq!(field_of(with(bad)), "rate", "{bad}");
        }
    }
}
