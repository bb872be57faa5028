//! Exports read back as a user would open them: the CSV's columns and rows,
//! JSON that parses, filters that narrow, a rule's channel never shown with
//! its secret, and a large export that arrives in bounded chunks.

mod common;

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use serde_json::{json, Value};

use common::Harness;
use model::{Condition, Rule, Scope};
use monitor::alerts::AlertService;
use monitor::export::{ExportKind, ExportRequest, Exporter, CHUNK};

/// An exporter, the alert service it reads rules from, and an admin.
async fn exporter(h: &Harness) -> (Exporter, Arc<AlertService>, monitor::Identity) {
    let (_, at) = common::fake_discord(Duration::ZERO).await;
    let (alerts, who) = common::alert_service(h, at).await;
    (Exporter::new(h.engine.clone(), alerts.clone()), alerts, who)
}

fn request(kind: ExportKind, query: &[(&str, &str)]) -> ExportRequest {
    ExportRequest::from_query(kind, query.iter().copied(), None).unwrap()
}

/// The whole export, and the size of each chunk it came in.
async fn download(x: &Exporter, req: ExportRequest) -> (String, Vec<usize>) {
    let mut stream = Box::pin(x.stream(req).unwrap());
    let (mut all, mut sizes) = (vec![], vec![]);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.expect("the export finishes");
        sizes.push(chunk.len());
        all.extend(chunk);
    }
    (String::from_utf8(all).unwrap(), sizes)
}

/// (header, rows) of a CSV text.
fn csv_rows(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let header = r.headers().unwrap().iter().map(str::to_string).collect();
    let rows = r
        .records()
        .map(|rec| rec.unwrap().iter().map(str::to_string).collect())
        .collect();
    (header, rows)
}

#[tokio::test]
async fn products_come_one_row_per_size_and_filters_narrow_them() {
    let h = Harness::new(30).await;
    h.check().await;
    let (x, _, _) = exporter(&h).await;
    let products = h.engine.products();
    let sizes: usize = products.iter().map(|p| p.variant_count).sum();

    let (text, _) = download(&x, request(ExportKind::Products, &[("format", "csv")])).await;
    let (header, rows) = csv_rows(&text);
    assert_eq!(
        header,
        [
            "product",
            "title",
            "brand",
            "series",
            "source",
            "url",
            "currency",
            "variant",
            "size",
            "sku",
            "price",
            "compare_at",
            "available",
            "updated"
        ]
    );
    assert_eq!(rows.len(), sizes);
    let first = h.engine.product(&rows[0][0]).expect("a product's key");
    let v = &first.variants[0];
    assert_eq!(
        (&rows[0][7], &rows[0][8], &rows[0][10]),
        (&v.id, &v.size, &v.price.unwrap().to_string())
    );

    let brand = products[0].brand.clone();
    let of_brand: usize = products
        .iter()
        .filter(|p| p.brand == brand)
        .map(|p| p.variant_count)
        .sum();
    assert!(of_brand < sizes, "the demo has more than one brand");
    let query = [("format", "csv"), ("brand", brand.as_str()), ("page", "9")];
    let (text, _) = download(&x, request(ExportKind::Products, &query)).await;
    let (_, rows) = csv_rows(&text);
    assert_eq!(rows.len(), of_brand, "every page of the filtered grid");
    assert!(rows.iter().all(|r| r[2] == brand));

    let (text, _) = download(&x, request(ExportKind::Products, &[])).await;
    let rows: Vec<Value> = serde_json::from_str(&text).expect("valid JSON");
    assert_eq!(rows.len(), sizes);
    assert!(rows[0]["price"].is_string(), "money as exact text");

    // Nothing matches: still a header, and an empty array.
    let none = [("q", "no such words"), ("format", "csv")];
    let (text, _) = download(&x, request(ExportKind::Products, &none)).await;
    assert_eq!(csv_rows(&text).1.len(), 0);
    assert!(text.starts_with("product,title,"));
    let (text, _) = download(&x, request(ExportKind::Products, &none[..1])).await;
    assert_eq!(text.trim(), "[]");
}

#[tokio::test]
async fn one_products_history_has_its_rows_in_time_order() {
    let h = Harness::new(10).await;
    h.check().await;
    let (x, _, _) = exporter(&h).await;
    let (pid, variant, _) = h.variant(3, 0);
    let key = format!("{}:{pid}", h.source.key);
    let sizes = h.engine.product(&key).unwrap().variants.len();
    let new_price = "12.34";
    assert_eq!(
        h.control(
            "price",
            json!({ "variant_id": variant, "price": new_price })
        )
        .await,
        204
    );
    h.check().await;

    let one = [("product", key.as_str()), ("format", "csv")];
    let (text, _) = download(&x, request(ExportKind::History, &one)).await;
    let (header, rows) = csv_rows(&text);
    assert_eq!(
        header,
        [
            "product",
            "at",
            "kind",
            "variant",
            "size",
            "price",
            "compare_at",
            "available"
        ]
    );
    // First sight: a price and a stock row per size; then the change.
    assert_eq!(rows.len(), 2 * sizes + 1, "{text}");
    assert!(rows.iter().all(|r| r[0] == key));
    let last = rows.last().unwrap();
    assert_eq!(
        (last[2].as_str(), last[3].as_str(), last[5].as_str()),
        ("price", variant.to_string().as_str(), new_price)
    );
    let times: Vec<_> = rows
        .iter()
        .map(|r| chrono::DateTime::parse_from_rfc3339(&r[1]).expect("RFC 3339"))
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]));

    let (text, _) = download(&x, request(ExportKind::History, &one[..1])).await;
    let rows: Vec<Value> = serde_json::from_str(&text).unwrap();
    assert_eq!(rows.len(), 2 * sizes + 1);
    assert_eq!(rows[0]["kind"], "price");

    // Everything: every product's history.
    let (text, _) = download(&x, request(ExportKind::History, &[("format", "csv")])).await;
    let (_, rows) = csv_rows(&text);
    let all: usize = h.engine.products().iter().map(|p| p.variant_count).sum();
    assert_eq!(rows.len(), 2 * all + 1);

    let unknown = request(ExportKind::History, &[("product", "nope:1")]);
    assert!(x.stream(unknown).is_err(), "refused before a byte is sent");
}

#[tokio::test]
async fn events_and_sources_export_in_both_formats() {
    let h = Harness::new(10).await;
    h.check().await;
    let (x, _, _) = exporter(&h).await;
    let events = h.events().await;
    assert!(events.len() >= 10);

    let (text, _) = download(&x, request(ExportKind::Events, &[])).await;
    let back: Vec<model::Event> = serde_json::from_str(&text).expect("events as the API has them");
    assert_eq!(back, events);
    let since = events[4].seq.to_string();
    let query = [("format", "csv"), ("since", since.as_str())];
    let (text, _) = download(&x, request(ExportKind::Events, &query)).await;
    let (header, rows) = csv_rows(&text);
    assert_eq!(&header[..3], ["seq", "at", "kind"]);
    assert_eq!(rows.len(), events.len() - 5);
    assert_eq!(rows[0][0], events[5].seq.to_string());
    assert_eq!(rows[0][2], events[5].kind.as_str());

    let (text, _) = download(&x, request(ExportKind::Sources, &[("format", "csv")])).await;
    let (header, rows) = csv_rows(&text);
    assert_eq!(header[0], "key");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0][0], h.source.key);
    let (text, _) = download(&x, request(ExportKind::Sources, &[])).await;
    let back: Vec<model::Source> = serde_json::from_str(&text).unwrap();
    assert_eq!(back, h.engine.sources());
}

#[tokio::test]
async fn rules_show_their_channels_redacted_never_the_secret() {
    let h = Harness::new(5).await;
    let (x, alerts, who) = exporter(&h).await;
    let secret = "token-abcdefgh-very-secret";
    let channel = alerts
        .add_channel(&who, "team", &format!("discord://42/{secret}"))
        .await
        .unwrap();
    alerts
        .save_rule(
            &who,
            Rule {
                cooldown_secs: 60,
                ..common::rule(
                    "Nike drops",
                    Scope {
                        brand: Some("Nike".into()),
                        sizes: vec!["9".into(), "10".into()],
                        ..Scope::default()
                    },
                    Condition::DropPercent { percent: 15.into() },
                    vec![channel.id.clone()],
                )
            },
        )
        .await
        .unwrap();

    let (text, _) = download(&x, request(ExportKind::Rules, &[("format", "csv")])).await;
    assert!(!text.contains(secret), "{text}");
    let (header, rows) = csv_rows(&text);
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0][col("condition")], "drop_percent");
    assert_eq!(rows[0][col("threshold")], "15");
    assert_eq!(rows[0][col("sizes")], "9 10");
    assert_eq!(
        rows[0][col("channels")],
        format!("team <{}>", channel.redacted)
    );
    assert_eq!(
        rows[0][col("owner")],
        "root",
        "the signed-in user who made it"
    );

    let (text, _) = download(&x, request(ExportKind::Rules, &[])).await;
    assert!(!text.contains(secret), "{text}");
    let rules: Vec<Value> = serde_json::from_str(&text).unwrap();
    assert_eq!(
        rules[0]["channels"][0]["redacted"],
        channel.redacted.as_str()
    );
    assert_eq!(rules[0]["condition"]["kind"], "drop_percent");
    assert_eq!(rules[0]["owner"], "root");
}

#[tokio::test]
async fn a_large_export_arrives_in_bounded_chunks() {
    let h = Harness::new(1_500).await;
    h.check().await;
    let (x, _, _) = exporter(&h).await;
    let sizes: usize = h.engine.products().iter().map(|p| p.variant_count).sum();
    let (text, chunks) = download(&x, request(ExportKind::Products, &[("format", "csv")])).await;
    assert_eq!(csv_rows(&text).1.len(), sizes);
    assert!(chunks.len() > 10, "{} chunks", chunks.len());
    // A chunk is cut once it passes CHUNK (plus what the CSV writer holds).
    let most = chunks.iter().max().copied().unwrap_or(0);
    assert!(most <= CHUNK + 16 * 1024, "a chunk of {most} bytes");
}
