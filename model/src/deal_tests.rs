//! The deal maths on fixed series: known percentiles, labels, sizes, and
//! the cross-store cap.

use chrono::{TimeZone, Utc};

use super::*;
use crate::{VariantPrice, VariantStock};

const T0: i64 = 1_700_000_000_000;

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn day(n: i64) -> i64 {
    T0 + n * DAY_MS
}

fn now(n: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(day(n)).unwrap()
}

/// One size ("9") whose price is `steps` (day, price), always in stock.
fn one_size(steps: &[(i64, &str)]) -> Replayed {
    let prices: Vec<PricePoint> = steps
        .iter()
        .map(|(n, p)| PricePoint {
            product: "p".into(),
            at: now(*n),
            ts: day(*n),
            variants: vec![VariantPrice {
                variant: "v9".into(),
                size: "9".into(),
                price: d(p),
                compare_at: None,
            }],
        })
        .collect();
    let stock = vec![stock_row(0, "v9", "9", true)];
    replay(&prices, &stock)
}

fn stock_row(n: i64, id: &str, size: &str, available: bool) -> StockPoint {
    StockPoint {
        product: "p".into(),
        at: now(n),
        ts: day(n),
        variants: vec![VariantStock {
            variant: id.into(),
            size: size.into(),
            available,
        }],
    }
}

#[test]
fn todays_price_after_a_60_day_higher_price_scores_by_time_weighted_mid_rank() {
    // 100 for 60 days, then 80 for 30 days: 80 is the lowest in the whole
    // history; mid-rank counts the 30 days at 80 half: 100 - 100*15/90 = 83.
    let h = one_size(&[(0, "100"), (60, "80")]);
    let deal = assess(&h, now(90), "USD", None);
    assert_eq!(deal.score, Some(83));
    assert_eq!(deal.label, "Lowest in 90 days");
    assert!(deal.near_low);
    assert_eq!(deal.history_days, 90);
    let w90 = deal.windows.iter().find(|w| w.days == 90).unwrap();
    assert_eq!((w90.low, w90.high), (d("80"), d("100")));
    // Half the time is reached inside the 60 days at 100.
    assert_eq!(w90.median, d("100"));
    assert_eq!((w90.typical_low, w90.typical_high), (d("80"), d("100")));
    assert_eq!(w90.cheaper_percent, 0);
    let w30 = deal.windows.iter().find(|w| w.days == 30).unwrap();
    assert_eq!((w30.low, w30.high, w30.median), (d("80"), d("80"), d("80")));
    assert!(deal.reason.contains("80 USD now"), "{}", deal.reason);
}

#[test]
fn a_price_above_its_usual_says_by_how_much() {
    // 80 for 60 days, 100 for the last 30: cheaper two thirds of the time.
    let h = one_size(&[(0, "80"), (60, "100")]);
    let deal = assess(&h, now(90), "USD", None);
    assert_eq!(deal.score, Some(17));
    assert_eq!(deal.label, "25% above typical");
    assert!(!deal.near_low);
    assert_eq!(deal.lowest_in_days, 0);
    let w90 = deal.windows.iter().find(|w| w.days == 90).unwrap();
    assert_eq!(w90.cheaper_percent, 67);
}

#[test]
fn an_unchanged_price_is_typical_and_scores_fifty() {
    let h = one_size(&[(0, "120")]);
    let deal = assess(&h, now(40), "USD", None);
    assert_eq!(deal.score, Some(50));
    assert_eq!(deal.label, "Unchanged for 40 days");
    let h = one_size(&[(0, "120"), (10, "110"), (20, "120")]);
    let deal = assess(&h, now(25), "USD", None);
    // Back up to 120: five days without a cheaper moment, but no low.
    assert_eq!(deal.lowest_in_days, 0);
    assert_eq!(deal.label, "Typical price");
}

#[test]
fn too_little_history_or_nothing_in_stock_has_no_score() {
    let deal = assess(&one_size(&[(0, "100")]), now(5), "USD", None);
    assert_eq!(deal.score, None);
    assert_eq!(deal.label, "New: 5 of 14 days of history");
    assert!(deal.reason.contains("needs 14 days"));

    let mut h = one_size(&[(0, "100")]);
    h.lowest.push((day(20), None));
    let deal = assess(&h, now(30), "USD", None);
    assert_eq!((deal.score, deal.label.as_str()), (None, "Sold out"));
}

#[test]
fn the_lowest_in_stock_price_follows_sizes_selling_out_and_coming_back() {
    let prices = vec![PricePoint {
        product: "p".into(),
        at: now(0),
        ts: day(0),
        variants: vec![
            VariantPrice {
                variant: "a".into(),
                size: "9".into(),
                price: d("100"),
                compare_at: None,
            },
            VariantPrice {
                variant: "b".into(),
                size: "10".into(),
                price: d("90"),
                compare_at: None,
            },
        ],
    }];
    let mut first = stock_row(0, "a", "9", true);
    first.variants.push(VariantStock {
        variant: "b".into(),
        size: "10".into(),
        available: true,
    });
    let stock = vec![
        first,
        stock_row(3, "b", "10", false),
        stock_row(5, "b", "10", true),
    ];
    let h = replay(&prices, &stock);
    assert_eq!(
        h.lowest,
        vec![
            (day(0), Some(d("90"))),
            (day(3), Some(d("100"))),
            (day(5), Some(d("90")))
        ]
    );
    assert_eq!(h.sizes.len(), 2);
    assert_eq!(h.sizes[1].0, "10");
    assert_eq!(h.sizes[1].1[1], (day(3), None));
    assert_eq!(h.first_ts, Some(day(0)));
    // Each size in stock has its own score.
    let deal = assess(&h, now(30), "EUR", None);
    let sizes: Vec<&str> = deal.sizes.iter().map(|s| s.size.as_str()).collect();
    assert_eq!(sizes, ["9", "10"]);
}

#[test]
fn a_cheaper_store_caps_the_score_and_is_named() {
    let h = one_size(&[(0, "100"), (60, "80")]);
    let elsewhere = Elsewhere {
        product: "other:1".into(),
        store_name: "Store B".into(),
        price: d("72"),
        percent: d("10"),
    };
    let deal = assess(&h, now(90), "USD", Some(elsewhere));
    assert_eq!(deal.score, Some(80));
    assert!(
        deal.reason.contains("10% cheaper at Store B"),
        "{}",
        deal.reason
    );
    // A dearer store changes nothing.
    let dearer = Elsewhere {
        product: "other:1".into(),
        store_name: "Store B".into(),
        price: d("90"),
        percent: d("-12.5"),
    };
    assert_eq!(assess(&h, now(90), "USD", Some(dearer)).score, Some(83));
}

#[test]
fn windows_cut_the_history_at_their_start() {
    // 50 long ago, 100 for the last 100 days: the 90-day window never saw 50.
    let h = one_size(&[(0, "50"), (265, "100")]);
    let deal = assess(&h, now(365), "USD", None);
    let w90 = deal.windows.iter().find(|w| w.days == 90).unwrap();
    assert_eq!(w90.low, d("100"));
    let all = deal.all_time.unwrap();
    assert_eq!(all.low, d("50"));
    assert_eq!(all.cheaper_percent, 73);
    // A rise is no low, however long ago it was cheaper.
    assert_eq!(deal.lowest_in_days, 0);
    assert_eq!(deal.label, "Typical price");
    // Over its 90-day window it was never cheaper: mid-rank of a constant.
    assert_eq!(deal.score, Some(50));
}
