//! Exports over REST, against the running binary with its demo store:
//! `GET /api/v1/export/{kind}` answers a CSV (`Accept: text/csv` or
//! `?format=csv`) or JSON attachment; the grid's filters narrow products,
//! `product=` picks one product's history, a viewer may download, a
//! stranger may not, and a rule's channel never comes out with its secret.

mod common;

use std::time::Duration;

use common::{start, Auth, Server, ADMIN_PASSWORD};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

struct Download {
    status: StatusCode,
    content_type: String,
    disposition: String,
    body: String,
}

async fn get(s: &Server, path: &str, auth: &Auth, accept: Option<&str>) -> Download {
    let mut req = s.http.get(s.url(path)).headers(s.headers(auth));
    if let Some(a) = accept {
        req = req.header("accept", a);
    }
    let resp = req.send().await.unwrap();
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let (content_type, disposition) = (header("content-type"), header("content-disposition"));
    Download {
        status: resp.status(),
        content_type,
        disposition,
        body: resp.text().await.unwrap(),
    }
}

/// A CSV line's fields (quotes as RFC 4180 writes them; no line breaks
/// inside fields in these exports).
fn fields(line: &str) -> Vec<String> {
    let (mut out, mut cur, mut quoted) = (vec![], String::new(), false);
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// (header, rows) of a CSV body.
fn csv(body: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut lines = body.lines().filter(|l| !l.is_empty());
    let header = fields(lines.next().expect("a header row"));
    (header, lines.map(fields).collect())
}

fn urlencoding(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn products_history_and_rules_download_as_csv_and_json() {
    // Without the demo's made-up year, so a product's history is what the
    // first poll read.
    let s = start(
        &[
            "--admin-password",
            ADMIN_PASSWORD,
            "--demo-history-products",
            "0",
        ],
        &[],
    );
    let admin_cookie = s.admin().await;
    let admin = Auth::Token(s.token(&admin_cookie, "admin").await);
    let viewer = Auth::Cookie(s.user(&admin_cookie, "vera", "viewer").await);

    // The demo's 20 products, once imported.
    let mut products: Vec<Value> = vec![];
    for _ in 0..150 {
        let (_, page) = s.call(Method::GET, "/api/v1/products", &viewer, None).await;
        products = serde_json::from_str::<Value>(&page).unwrap()["products"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if products.len() >= 20 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(products.len(), 20, "the demo store was imported");
    let sizes_of = |ps: &[&Value]| -> usize {
        ps.iter()
            .map(|p| p["variant_count"].as_u64().unwrap() as usize)
            .sum()
    };
    let all: Vec<&Value> = products.iter().collect();
    let sizes = sizes_of(&all);

    // CSV by Accept header, as an attachment named for the kind and day.
    let d = get(&s, "/api/v1/export/products", &viewer, Some("text/csv")).await;
    assert_eq!(d.status, StatusCode::OK, "{}", d.body);
    assert_eq!(d.content_type, "text/csv; charset=utf-8");
    assert!(
        d.disposition
            .starts_with("attachment; filename=\"dropwatch-products-")
            && d.disposition.ends_with(".csv\""),
        "{}",
        d.disposition
    );
    let (header, rows) = csv(&d.body);
    assert_eq!(
        header[..4],
        ["product", "title", "brand", "series"],
        "{header:?}"
    );
    assert_eq!(rows.len(), sizes, "one row per size");
    let price = header.iter().position(|h| h == "price").unwrap();
    assert!(rows.iter().all(|r| r.len() == header.len()));
    assert!(rows
        .iter()
        .all(|r| r[price].parse::<model::Decimal>().is_ok()));

    // The grid's filters narrow it (all pages of them).
    let brand = products[0]["brand"].as_str().unwrap().to_string();
    let of_brand: Vec<&Value> = products.iter().filter(|p| p["brand"] == brand).collect();
    let path = format!(
        "/api/v1/export/products?brand={}&page=2&format=csv",
        urlencoding(&brand)
    );
    let (_, rows) = csv(&get(&s, &path, &viewer, None).await.body);
    assert_eq!(rows.len(), sizes_of(&of_brand));
    assert!(rows.len() < sizes, "the demo has more than one brand");
    assert!(rows.iter().all(|r| r[2] == brand));

    // JSON by default, and it parses.
    let d = get(&s, "/api/v1/export/products", &viewer, None).await;
    assert_eq!(d.content_type, "application/json");
    assert!(d.disposition.ends_with(".json\""), "{}", d.disposition);
    let rows: Vec<Value> = serde_json::from_str(&d.body).expect("valid JSON");
    assert_eq!(rows.len(), sizes);

    // One product's history: a price and a stock row per size at first sight.
    let key = products[3]["key"].as_str().unwrap();
    let path = format!(
        "/api/v1/export/history?product={}&format=csv",
        urlencoding(key)
    );
    let d = get(&s, &path, &viewer, None).await;
    assert_eq!(d.status, StatusCode::OK, "{}", d.body);
    assert!(d.disposition.contains("dropwatch-history-"));
    let (header, rows) = csv(&d.body);
    assert_eq!(header[..3], ["product", "at", "kind"]);
    assert_eq!(rows.len(), 2 * sizes_of(&[&products[3]]), "{}", d.body);
    assert!(rows.iter().all(|r| r[0] == key));
    let d = get(&s, "/api/v1/export/events", &viewer, None).await;
    let events: Vec<model::Event> = serde_json::from_str(&d.body).expect("events");
    assert!(events.len() >= 20);

    // Refusals, as problem+json.
    let d = get(&s, "/api/v1/export/users", &viewer, None).await;
    assert_eq!(d.status, StatusCode::NOT_FOUND);
    assert_eq!(d.content_type, "application/problem+json");
    assert!(d.body.contains("products, history, events"), "{}", d.body);
    let d = get(&s, "/api/v1/export/history?product=nope:1", &viewer, None).await;
    assert_eq!(d.status, StatusCode::NOT_FOUND, "{}", d.body);
    let d = get(&s, "/api/v1/export/products?format=xml", &viewer, None).await;
    assert_eq!(d.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", d.body);
    let d = get(&s, "/api/v1/export/products", &Auth::None, None).await;
    assert_eq!(d.status, StatusCode::UNAUTHORIZED);

    // A rule sending to a Discord channel: the export shows the channel
    // redacted, never its token.
    let secret = "Sup3rSecretWebhookToken";
    let (status, ch) = s
        .call(
            Method::POST,
            "/api/v1/channels",
            &admin,
            Some(json!({ "name": "team", "url": format!("discord://42/{secret}") })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ch}");
    let ch: Value = serde_json::from_str(&ch).unwrap();
    let (status, body) = s
        .call(
            Method::POST,
            "/api/v1/rules",
            &admin,
            Some(json!({ "condition": { "kind": "restocked" }, "channels": [ch["id"]] })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    for format in ["csv", "json"] {
        let path = format!("/api/v1/export/rules?format={format}");
        let d = get(&s, &path, &viewer, None).await;
        assert_eq!(d.status, StatusCode::OK, "{}", d.body);
        assert!(!d.body.contains(secret), "{}", d.body);
        assert!(
            d.body.contains(ch["redacted"].as_str().unwrap()),
            "{}",
            d.body
        );
    }
    let d = get(&s, "/api/v1/export/sources?format=csv", &viewer, None).await;
    assert_eq!(csv(&d.body).1.len(), 1, "the demo source");
}
