use chrono::{TimeZone, Utc, Weekday};

use super::*;

/// 2026-11-05 was a Thursday.
fn thursday(week: i64, hour: u32) -> i64 {
    (Utc.with_ymd_and_hms(2026, 11, 5, hour, 0, 0).unwrap() + Duration::weeks(week))
        .timestamp_millis()
}

#[test]
fn a_store_restocking_on_thursday_mornings_says_so() {
    // 12 Thursdays at 10:00 or 11:00, 3 restocks on other days at other hours.
    let mut times: Vec<i64> = (0..12).map(|w| thursday(-w, 10 + (w % 2) as u32)).collect();
    times.extend([
        thursday(-1, 3) - DAY_MS,
        thursday(-2, 17) + 2 * DAY_MS,
        thursday(-3, 22) + DAY_MS,
    ]);
    let r = RestockCounts::of(&times, i64::MIN).rhythm().unwrap();
    assert_eq!(r.restocks, 15);
    assert_eq!(r.weekday, Some(Weekday::Thu));
    assert_eq!(r.weekday_share, 80);
    // 12 of 15 within an hour of 10:00 or 11:00 (ties: the most at that hour).
    assert!(matches!(r.hour, Some(10) | Some(11)), "{r:?}");
    assert_eq!(r.hour_share, 80);
    assert!(
        r.said
            .starts_with("This store restocks most on Thursdays (80% of 15 restocks"),
        "{}",
        r.said
    );

    // A window from Monday to Saturday names Thursday at the usual hour.
    let from = Utc.with_ymd_and_hms(2026, 11, 30, 6, 0, 0).unwrap();
    let until = from + Duration::days(5);
    let at = r.likely_within(from, until, None).unwrap();
    assert_eq!(at.weekday(), Weekday::Thu);
    assert_eq!(Some(at.hour()), r.hour);
    let said = r.likely_said(at, None);
    assert!(said.starts_with("Likely Thu 3 Dec around"), "{said}");
    assert!(
        said.ends_with("(this store restocks most on Thursdays)."),
        "{said}"
    );
    // The product's own hour wins over the store's.
    let own = r.likely_within(from, until, Some(15)).unwrap();
    assert_eq!((own.weekday(), own.hour()), (Weekday::Thu, 15));
    assert!(r
        .likely_said(own, Some(15))
        .starts_with("Likely Thu 3 Dec around 15:00 UTC"));
    // A window that holds no Thursday names nothing.
    assert_eq!(r.likely_within(from, from + Duration::days(2), None), None);
    // Nor one that starts after the hour on its only Thursday.
    let late = Utc.with_ymd_and_hms(2026, 12, 3, 20, 0, 0).unwrap();
    assert_eq!(r.likely_within(late, late + Duration::days(3), None), None);
}

#[test]
fn too_few_or_spread_restocks_claim_nothing() {
    let few: Vec<i64> = (0..11).map(|w| thursday(-w, 10)).collect();
    assert_eq!(RestockCounts::of(&few, i64::MIN).rhythm(), None);
    // One restock every 13 hours for three weeks: every day, every hour.
    let spread: Vec<i64> = (0..40)
        .map(|k| thursday(0, 0) - k * 13 * 3_600_000)
        .collect();
    let r = RestockCounts::of(&spread, i64::MIN).rhythm().unwrap();
    assert_eq!((r.weekday, r.hour), (None, None), "{r:?}");
    assert!(r.said.starts_with("No rhythm"), "{}", r.said);
    let soon = Utc::now() + Duration::days(9);
    assert_eq!(r.likely_within(Utc::now(), soon, None), None);
    // An hour alone names no day.
    let hour_only = StoreRhythm {
        hour: Some(10),
        ..r
    };
    assert_eq!(hour_only.likely_within(Utc::now(), soon, None), None);
}

#[test]
fn counts_added_and_removed_in_any_order_agree() {
    let a = RestockCounts::of(&[thursday(0, 10), thursday(-1, 9)], i64::MIN);
    let b = RestockCounts::of(&[thursday(-2, 10)], i64::MIN);
    let mut total = RestockCounts::default();
    total.remove(&a); // removed before it was added: wraps, then comes right
    total.add(&b);
    total.add(&a);
    total.add(&a);
    assert_eq!(total, {
        let mut t = a;
        t.add(&b);
        t
    });
    assert_eq!(total.total(), 3);
    // Only restocks from `since` on count.
    assert_eq!(
        RestockCounts::of(&[thursday(0, 10), thursday(-1, 9)], thursday(0, 0)).total(),
        1
    );
}

#[test]
fn backtest_counts_held_out_restocks_on_the_learnt_rhythm() {
    let times: Vec<i64> = (0..20).map(|w| thursday(-w, 10)).collect();
    let b = backtest(&times, thursday(-3, 0));
    assert_eq!(b.held_out, 4);
    assert_eq!((b.on_weekday, b.near_hour), (4, 4));
    assert_eq!(b.rhythm.unwrap().weekday, Some(Weekday::Thu));
}
