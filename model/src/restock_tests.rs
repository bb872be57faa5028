//! Restock prediction on fixed series: a known cadence, too few sell-outs,
//! the store's hour, and the backtest.

use chrono::TimeZone;

use super::*;
use crate::VariantStock;

const DAY: i64 = 24 * HOUR_MS;
/// 2026-01-01 00:00 UTC.
const T0: i64 = 1_767_225_600_000;

fn row(ts: i64, size: &str, available: bool) -> StockPoint {
    StockPoint {
        product: "p".into(),
        at: Utc.timestamp_millis_opt(ts).unwrap(),
        ts,
        variants: vec![VariantStock {
            variant: format!("v{size}"),
            size: size.into(),
            available,
        }],
    }
}

/// Size "9": in stock 10 days, then sold out for each of `gaps` days in
/// turn (back at 09:00 UTC), ending sold out when `ends_out`.
fn cadence(gaps: &[i64], ends_out: bool) -> (Vec<StockPoint>, i64) {
    let mut rows = vec![row(T0, "9", true)];
    let mut t = T0;
    for g in gaps {
        t += 10 * DAY;
        rows.push(row(t, "9", false));
        t += g * DAY + 9 * HOUR_MS;
        rows.push(row(t, "9", true));
        t -= 9 * HOUR_MS;
    }
    if ends_out {
        t += 10 * DAY;
        rows.push(row(t, "9", false));
    }
    (rows, t)
}

#[test]
fn a_sold_out_size_is_expected_back_in_the_middle_half_of_its_past_gaps() {
    let (rows, sold_out_at) = cadence(&[2, 3, 4, 5, 6], true);
    let o = outlook(&rows);
    assert_eq!(o.len(), 1);
    assert!(!o[0].available);
    let w = o[0].window.as_ref().expect("five past sell-outs");
    // Gaps are 2..6 days plus 9 h: the quartiles are 3 d 9 h and 5 d 9 h.
    assert_eq!(
        w.from.timestamp_millis(),
        sold_out_at + 3 * DAY + 9 * HOUR_MS
    );
    assert_eq!(
        w.until.timestamp_millis(),
        sold_out_at + 5 * DAY + 9 * HOUR_MS
    );
    assert_eq!((w.within, w.of), (4, 5));
    assert_eq!(w.usual_hour, Some(9));
    assert_eq!(
        w.said,
        "usually back in 3–5 days after selling out; 4 of the last 5 sell-outs came back within 5 days, this product's restocks mostly come around 09:00 UTC"
    );
}

#[test]
fn too_few_sell_outs_or_in_stock_give_no_window() {
    let (rows, _) = cadence(&[2, 3], true);
    let o = outlook(&rows);
    assert_eq!(o[0].window, None);
    assert_eq!(
        o[0].note.as_deref(),
        Some("No estimate yet: it came back from 2 sell-outs so far; 3 are needed.")
    );
    let (rows, _) = cadence(&[2, 3, 4, 5], false);
    let o = outlook(&rows);
    assert!(o[0].available);
    assert_eq!((o[0].window.as_ref(), o[0].note.as_ref()), (None, None));
}

#[test]
fn the_stores_hour_needs_most_restocks_near_it() {
    let at = |day: i64, hour: i64| T0 + day * DAY + hour * HOUR_MS;
    assert_eq!(
        usual_hour(&[at(1, 9), at(2, 10), at(3, 9), at(4, 22)]),
        Some(9)
    );
    // Spread over the day: no usual hour.
    assert_eq!(
        usual_hour(&[at(1, 1), at(2, 7), at(3, 13), at(4, 19)]),
        None
    );
    assert_eq!(usual_hour(&[at(1, 9), at(2, 9)]), None, "too few");
}

#[test]
fn the_backtest_scores_held_out_sell_outs() {
    // A steady 4-day rhythm is predicted every time.
    let (rows, _) = cadence(&[4, 4, 4, 4, 4, 4], false);
    let b = backtest(&sizes_over_time(&rows));
    assert_eq!(b.predictions, 3);
    assert_eq!((b.inside, b.by_until, b.median_error_hours), (3, 3, 0));
    // A size that suddenly takes much longer is a miss, by about 10 days.
    let (rows, _) = cadence(&[4, 4, 4, 14], false);
    let b = backtest(&sizes_over_time(&rows));
    assert_eq!((b.predictions, b.inside, b.by_until), (1, 0, 0));
    assert_eq!(b.median_error_hours, 240);
}
