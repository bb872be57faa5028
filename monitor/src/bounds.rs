//! Waits from outside, bounded: how long a shop or a service may make us wait.
//!
//! Shops (`Retry-After`), Discord (`retry_after`), Telegram
//! (`parameters.retry_after`) and Shopify's Admin API (its cost bucket) all
//! tell Dropwatch how long to wait, and any of them can send `-1`, `NaN`,
//! `1e20` or a date in the year 9999. Every such number becomes a
//! [`Duration`] here, clamped to `0 ..= cap` (at most [`MAX_WAIT`], one
//! hour): nonsense is ignored (the caller's own back-off applies), and an
//! enormous wait is one hour, after which the next answer says again. Adding
//! a clamped wait to an `Instant` or a `DateTime` cannot overflow, and
//! [`later`] and [`utc_in`] make sure of it anyway.
//!
//! Prices are bounded in `model::money`; intervals in `engine`'s checks.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::time::Instant;

/// The longest wait anyone outside can impose: one hour.
pub const MAX_WAIT: Duration = Duration::from_secs(3600);

/// Seconds as a number (from a header or JSON), clamped to `0 ..= cap`
/// (and never above [`MAX_WAIT`]). `None` for negative numbers, `NaN` and
/// other non-numbers, which say nothing we can use.
pub fn wait_secs(secs: f64, cap: Duration) -> Option<Duration> {
    if secs.is_nan() || secs < 0.0 {
        return None;
    }
    let cap = cap.min(MAX_WAIT);
    // `+inf` and anything past the cap is the cap; try_from cannot panic.
    Some(Duration::try_from_secs_f64(secs).map_or(cap, |d| d.min(cap)))
}

/// A `Retry-After` value: delay-seconds ("120", also "1.5"), or an HTTP date
/// ("Wed, 21 Oct 2026 07:28:00 GMT"). Clamped to `0 ..= cap`; a date in the
/// past means "now". Anything else is `None`.
pub fn retry_after(value: &str, now: DateTime<Utc>, cap: Duration) -> Option<Duration> {
    let value = value.trim();
    if value.is_empty() || value.len() > 64 {
        return None;
    }
    if let Ok(secs) = value.parse::<f64>() {
        return wait_secs(secs, cap);
    }
    let at = DateTime::parse_from_rfc2822(value)
        .ok()?
        .with_timezone(&Utc);
    let ahead = at.signed_duration_since(now);
    Some(
        ahead
            .to_std()
            .map_or(Duration::ZERO, |d| d.min(cap.min(MAX_WAIT))),
    )
}

/// `now + wait`, saturating far in the future instead of panicking.
pub fn later(now: Instant, wait: Duration) -> Instant {
    now.checked_add(wait)
        .or_else(|| now.checked_add(MAX_WAIT))
        .unwrap_or(now)
}

/// The wall-clock time `wait` from now, for status pages and records.
pub fn utc_in(wait: Duration) -> DateTime<Utc> {
    let now = Utc::now();
    chrono::Duration::from_std(wait.min(MAX_WAIT * 24 * 365))
        .ok()
        .and_then(|d| now.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = MAX_WAIT;

    #[test]
    fn seconds_are_clamped_and_nonsense_ignored() {
        assert_eq!(wait_secs(7.0, HOUR), Some(Duration::from_secs(7)));
        assert_eq!(wait_secs(0.25, HOUR), Some(Duration::from_millis(250)));
        assert_eq!(wait_secs(1e20, HOUR), Some(HOUR));
        assert_eq!(wait_secs(f64::INFINITY, HOUR), Some(HOUR));
        assert_eq!(
            wait_secs(1e20, Duration::from_secs(60)),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            wait_secs(1e20, Duration::MAX),
            Some(HOUR),
            "never above an hour"
        );
        assert_eq!(wait_secs(-1.0, HOUR), None);
        assert_eq!(wait_secs(f64::NAN, HOUR), None);
    }

    #[test]
    fn retry_after_headers_of_every_shape() {
        let now = Utc::now();
        assert_eq!(
            retry_after("120", now, HOUR),
            Some(Duration::from_secs(120))
        );
        assert_eq!(retry_after("10000000000000000000", now, HOUR), Some(HOUR));
        assert_eq!(retry_after("1e20", now, HOUR), Some(HOUR));
        assert_eq!(retry_after("-1", now, HOUR), None);
        assert_eq!(retry_after("NaN", now, HOUR), None);
        assert_eq!(retry_after("soon", now, HOUR), None);
        assert_eq!(
            retry_after("Fri, 31 Dec 9999 23:59:59 GMT", now, HOUR),
            Some(HOUR)
        );
        assert_eq!(
            retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now, HOUR),
            Some(Duration::ZERO)
        );
        let soon = (now + chrono::Duration::seconds(90)).to_rfc2822();
        let d = retry_after(&soon, now, HOUR).unwrap();
        assert!(
            d > Duration::from_secs(85) && d <= Duration::from_secs(90),
            "{d:?}"
        );
    }

    #[test]
    fn instants_and_dates_saturate() {
        let now = Instant::now();
        assert!(later(now, Duration::MAX) > now);
        assert!(utc_in(Duration::MAX) > Utc::now());
    }
}
