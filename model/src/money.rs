//! Money from outside, bounded: the one definition of a price Dropwatch accepts.
//!
//! Shops, APIs, forms and the REST API can send any number. A price is kept
//! only when it lies in `0 ..= MAX_PRICE` with at most [`MAX_PRICE_DECIMALS`]
//! decimals (`1e25`, `-1`, `0.000001` and `NaN` are unreadable, never a
//! panic). Every computation on prices goes through the checked helpers here
//! ([`percent_change`], [`percent_of`]): `rust_decimal`'s operators panic on
//! overflow, and a hostile shop must not be able to stop a page or a task by
//! choosing a price. Prices stored before these bounds existed are read with
//! the same checked helpers, so they cannot panic either.

use rust_decimal::Decimal;

/// The highest price Dropwatch records (10^9 in any currency; the dearest
/// real listings are far below, and Japanese yen and Korean won fit).
pub const MAX_PRICE: Decimal = Decimal::from_parts(1_000_000_000, 0, 0, false, 0);

/// Prices carry at most four decimals (some APIs give 0.0001-step prices).
pub const MAX_PRICE_DECIMALS: u32 = 4;

/// Why a number is not a price Dropwatch keeps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PriceError {
    /// Below zero.
    Negative(Decimal),
    /// Above [`MAX_PRICE`].
    TooLarge(Decimal),
    /// More decimals than [`MAX_PRICE_DECIMALS`].
    TooPrecise(Decimal),
    /// Not a number at all (or one `Decimal` cannot hold).
    NotANumber(String),
}

impl std::fmt::Display for PriceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PriceError::Negative(d) => write!(f, "the price {d} is negative"),
            PriceError::TooLarge(d) => write!(
                f,
                "the price {d} is above the largest price Dropwatch records ({MAX_PRICE})"
            ),
            PriceError::TooPrecise(d) => {
                write!(
                    f,
                    "the price {d} has more than {MAX_PRICE_DECIMALS} decimals"
                )
            }
            PriceError::NotANumber(s) => write!(f, "{s:?} is not a price"),
        }
    }
}

impl std::error::Error for PriceError {}

/// Checks a decimal against the bounds. Trailing zeros beyond four decimals
/// ("12.500000") are not extra precision and are dropped.
pub fn check_price(d: Decimal) -> Result<Decimal, PriceError> {
    if d.is_sign_negative() && !d.is_zero() {
        return Err(PriceError::Negative(d));
    }
    if d > MAX_PRICE {
        return Err(PriceError::TooLarge(d));
    }
    if d.scale() > MAX_PRICE_DECIMALS {
        let tidy = d.normalize();
        if tidy.scale() > MAX_PRICE_DECIMALS {
            return Err(PriceError::TooPrecise(d));
        }
        return Ok(tidy.abs());
    }
    Ok(d.abs())
}

/// Parses a price written as text ("129.99", " 12 "), bounded. Exponent
/// forms ("1e3") are refused: shops write prices out.
pub fn parse_price(raw: &str) -> Result<Decimal, PriceError> {
    let t = raw.trim();
    if t.is_empty() || t.len() > 40 || t.contains(['e', 'E']) {
        return Err(PriceError::NotANumber(t.chars().take(40).collect()));
    }
    let d: Decimal = t
        .parse()
        .map_err(|_| PriceError::NotANumber(t.chars().take(40).collect()))?;
    check_price(d)
}

/// An amount as a shop or an API writes it: any non-negative number a
/// `Decimal` holds, plain ("129.99") or with an exponent (a JSON number such
/// as "1.5e2"), not yet bounded: connectors read with this, and the engine's
/// gate (`normalise::check_product`) applies [`check_price`], so that an
/// absurd price is named in the run rather than silently dropped.
pub fn parse_amount(raw: &str) -> Option<Decimal> {
    let t = raw.trim();
    if t.is_empty() || t.len() > 64 {
        return None;
    }
    let d = if t.contains(['e', 'E']) {
        Decimal::from_scientific(t).ok()?
    } else {
        t.parse::<Decimal>().ok()?
    };
    (!d.is_sign_negative() || d.is_zero()).then(|| d.abs())
}

/// A JSON number's text as a bounded price (an exponent is allowed: "1.5e2" = 150).
pub fn parse_number_price(raw: &str) -> Result<Decimal, PriceError> {
    let t = raw.trim();
    let d = parse_amount(t).ok_or_else(|| PriceError::NotANumber(t.chars().take(40).collect()))?;
    check_price(d)
}

/// The change from `old` to `new` in percent of `old`, to one decimal
/// (negative for a drop). `None` when `old` is zero or the result does not
/// fit (prices stored before the bounds existed).
pub fn percent_change(old: Decimal, new: Decimal) -> Option<Decimal> {
    if old.is_zero() {
        return None;
    }
    let diff = new.checked_sub(old)?;
    percent_of(diff, old)
}

/// `part` in percent of `whole`, to one decimal, checked.
pub fn percent_of(part: Decimal, whole: Decimal) -> Option<Decimal> {
    if whole.is_zero() {
        return None;
    }
    part.checked_mul(Decimal::ONE_HUNDRED)?
        .checked_div(whole)
        .map(|p| p.round_dp(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn prices_within_bounds_are_kept_as_written() {
        assert_eq!(parse_price("129.99"), Ok(d("129.99")));
        assert_eq!(parse_price(" 0 "), Ok(d("0")));
        assert_eq!(parse_price("1000000000"), Ok(MAX_PRICE));
        assert_eq!(parse_price("0.0001"), Ok(d("0.0001")));
        assert_eq!(parse_price("12.500000").unwrap().to_string(), "12.5");
    }

    #[test]
    fn hostile_numbers_are_unreadable_not_panics() {
        assert!(matches!(
            parse_price("1000000000.01"),
            Err(PriceError::TooLarge(_))
        ));
        assert!(matches!(
            parse_price("79228162514264337593543950335"),
            Err(PriceError::TooLarge(_))
        ));
        assert!(matches!(parse_price("-1"), Err(PriceError::Negative(_))));
        assert!(matches!(
            parse_price("0.00001"),
            Err(PriceError::TooPrecise(_))
        ));
        for bad in ["NaN", "inf", "1e25", "", "12,99", "9".repeat(100).as_str()] {
            assert!(
                matches!(parse_price(bad), Err(PriceError::NotANumber(_))),
                "{bad}"
            );
        }
        assert_eq!(parse_number_price("1.5e2"), Ok(d("150")));
        assert!(parse_number_price("1e25").is_err());
        assert!(parse_number_price("1e-5").is_err());
        assert!(parse_number_price("-1").is_err());
        // Amounts are read unbounded (the engine's gate bounds them), never negative.
        assert_eq!(parse_amount("1e25"), Some(d("10000000000000000000000000")));
        assert_eq!(parse_amount("-0"), Some(d("0")));
        assert_eq!(parse_amount("-1"), None);
        assert_eq!(parse_amount("1e300"), None);
        assert_eq!(parse_amount("abc"), None);
    }

    #[test]
    fn percentages_never_overflow() {
        assert_eq!(percent_change(d("129.99"), d("116.99")), Some(d("-10.0")));
        assert_eq!(percent_change(d("0"), d("5")), None);
        let tiny = d("0.0000000000000000000000000001");
        assert_eq!(percent_change(tiny, Decimal::MAX), None);
        assert_eq!(percent_change(Decimal::MAX, Decimal::MIN), None);
        assert!(percent_of(Decimal::MAX, tiny).is_none());
    }
}
