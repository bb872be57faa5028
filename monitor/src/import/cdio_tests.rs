//! The hand-written changedetection.io datastore in
//! monitor/tests/fixtures/cdio/backup (its shape: FORMAT.md there), read as
//! a bare url-watches.json and as the zip its Backup button makes.

use std::io::Write;
use std::path::Path;

use super::*;
use model::Condition;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/cdio/backup");

/// The fixture folder zipped as changedetection.io zips its datastore.
pub(crate) fn fixture_zip() -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    fn walk(
        dir: &Path,
        prefix: &str,
        zip: &mut zip::ZipWriter<std::io::Cursor<Vec<u8>>>,
        opts: zip::write::SimpleFileOptions,
    ) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for p in entries {
            let name = format!("{prefix}{}", p.file_name().unwrap().to_string_lossy());
            if p.is_dir() {
                walk(&p, &format!("{name}/"), zip, opts);
            } else {
                zip.start_file(name, opts).unwrap();
                zip.write_all(&std::fs::read(&p).unwrap()).unwrap();
            }
        }
    }
    walk(Path::new(DIR), "", &mut zip, opts);
    zip.finish().unwrap().into_inner()
}

fn by_url<'a>(b: &'a Backup, url: &str) -> &'a Candidate {
    b.watches
        .iter()
        .find(|c| c.url == url)
        .unwrap_or_else(|| panic!("no watch {url}"))
}

#[test]
fn every_watch_becomes_the_right_source_or_says_why_not() {
    let text = std::fs::read_to_string(format!("{DIR}/url-watches.json")).unwrap();
    let b = from_json(&text).unwrap();
    assert_eq!(b.watches.len(), 7);
    assert_eq!(b.notify, vec!["jsons://hooks.example.net/cdio/notify"]);

    let grinder = by_url(&b, "https://shop.example.com/products/espresso-grinder-eg2");
    assert_eq!(grinder.kind.as_deref(), Some("page"));
    assert_eq!(grinder.name.as_deref(), Some("Espresso grinder"));
    assert_eq!(grinder.currency.as_deref(), Some("USD"));
    assert_eq!(grinder.interval_secs, Some(3 * 3600), "the global default");
    assert!(!grinder.paused);
    assert_eq!(grinder.notify.len(), 1);
    assert!(grinder.notify[0].starts_with("discord://"));
    assert_eq!(
        grinder.conditions,
        vec![
            Condition::DropPercent {
                percent: Decimal::new(5, 0)
            },
            Condition::PriceAtOrBelow {
                price: Decimal::new(125, 0)
            },
            Condition::Restocked,
        ]
    );
    assert!(
        grinder.history.is_empty(),
        "a bare url-watches.json has no snapshots"
    );

    let kettle = by_url(&b, "https://store.example.org/item/4711-kettle");
    assert!(kettle.paused);
    assert_eq!(kettle.interval_secs, Some(23_400));
    assert!(kettle.notify[0].starts_with("tgram://"));
    assert!(
        kettle.conditions.contains(&Condition::SoldOut),
        "all_changes: sold out too"
    );

    let shop = by_url(&b, "https://shop.example.com/products.json");
    assert_eq!(shop.kind.as_deref(), Some("shopify"));
    assert_eq!(shop.notify, b.notify, "no urls of its own: the global ones");

    let api = by_url(&b, "https://api.shop.example.com/v1/items/42");
    assert_eq!(api.kind.as_deref(), Some("json"));
    assert_eq!(
        api.json_price.as_deref(),
        Some("$.price"),
        "its json: filter"
    );
    assert!(api.not_imported.is_none(), "mapped when checked: {api:?}");
    let news = by_url(&b, "https://news.example.com/blog/");
    assert!(news
        .not_imported
        .as_deref()
        .unwrap()
        .contains("not text changes"));

    let shoes = by_url(&b, "https://store.example.org/p/trail-runner-3");
    assert_eq!(shoes.tags, vec!["Outdoor", "Deals"]);
    assert_eq!(shoes.interval_secs, Some(86_400));
    // The Deals tag overrides its watches: all changes, max 80, 10 %.
    assert!(shoes.conditions.contains(&Condition::DropPercent {
        percent: Decimal::new(10, 0)
    }));
    assert!(shoes.conditions.contains(&Condition::SoldOut));
    assert_eq!(shoes.dropped_conditions, vec!["price rises above 80"]);
    assert!(shoes.notify[0].starts_with("ntfy://"));
}

#[test]
fn the_backup_zip_carries_a_restock_watchs_price_and_stock_history() {
    let b = from_zip(&fixture_zip()).unwrap();
    assert_eq!(b.watches.len(), 7);
    let grinder = by_url(&b, "https://shop.example.com/products/espresso-grinder-eg2");
    let h: Vec<(i64, Option<String>, Option<bool>)> = grinder
        .history
        .iter()
        .map(|r| {
            (
                r.at.timestamp(),
                r.price.map(|p| p.normalize().to_string()),
                r.available,
            )
        })
        .collect();
    assert_eq!(
        h,
        vec![
            (1717236000, Some("129.99".into()), Some(true)),
            (1717840800, Some("119.99".into()), Some(true)),
            (1718445600, Some("99.5".into()), Some(false)),
            (1719050400, Some("99.5".into()), Some(true)),
        ]
    );
}

#[test]
fn snapshots_of_every_era_are_read_and_junk_is_not() {
    let at = DateTime::<Utc>::from_timestamp(1, 0).unwrap();
    let r = reading(at, "In Stock: True - Price: 109.0").unwrap();
    assert_eq!(
        (r.price, r.available),
        (Some(Decimal::new(1090, 1)), Some(true))
    );
    let r = reading(at, "In Stock: False - Price:").unwrap();
    assert_eq!((r.price, r.available), (None, Some(false)));
    let r = reading(at, "True - 129.99").unwrap();
    assert_eq!(r.price, Some(Decimal::new(12999, 2)));
    assert!(reading(at, "<html>hello</html>").is_none());
    assert!(reading(at, "In Stock: None - Price: 1e400").is_none());
    assert!(
        reading(at, "In Stock: True - Price: -5")
            .unwrap()
            .price
            .is_none(),
        "bounded prices only"
    );
}

#[test]
fn what_is_not_a_backup_says_so() {
    assert!(from_json("{\"a\": 1}").unwrap_err().contains("watching"));
    assert!(from_json("{not json")
        .unwrap_err()
        .contains("not valid JSON"));
    assert!(from_zip(b"PK\x03\x04garbage")
        .unwrap_err()
        .contains("cannot be read"));
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file("hello.txt", zip::write::SimpleFileOptions::default())
        .unwrap();
    zip.write_all(b"hi").unwrap();
    let bytes = zip.finish().unwrap().into_inner();
    assert!(from_zip(&bytes)
        .unwrap_err()
        .contains("not a changedetection.io backup"));
}

#[test]
fn a_zip_bomb_entry_is_read_only_up_to_its_cap() {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("url-watches.json", opts).unwrap();
    // 40 MB of spaces compresses to ~40 KB; only 16 MB are ever read, and
    // what is read is not a datastore.
    let chunk = vec![b' '; 1 << 20];
    for _ in 0..40 {
        zip.write_all(&chunk).unwrap();
    }
    let bytes = zip.finish().unwrap().into_inner();
    assert!(bytes.len() < 1 << 20);
    assert!(from_zip(&bytes).is_err());
}
