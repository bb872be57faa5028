//! Links from a CSV over REST (issue 21), against the running binary with
//! its demo shop connected: `POST /api/v1/reprice/links/import` previews
//! (links nothing) and imports a CSV with good and bad lines; each line says
//! what it will do or did, a bad line never stops the others, the links are
//! audited, and a markup is edited with `PATCH /api/v1/reprice/links/{id}`.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::{start, Auth, ADMIN_PASSWORD};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const IMPORT: &str = "/api/v1/reprice/links/import";

fn urlencoding(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

#[tokio::test]
async fn a_csv_of_links_is_previewed_then_imported_line_by_line() {
    let s = start(&["--admin-password", ADMIN_PASSWORD], &[]);
    let admin_cookie = s.admin().await;
    let admin = Auth::Token(s.token(&admin_cookie, "admin").await);
    let viewer = Auth::Cookie(s.user(&admin_cookie, "vera", "viewer").await);

    // The demo's products (20), each size with its SKU.
    let mut keys = vec![];
    for _ in 0..100 {
        let (_, page) = s
            .call(Method::GET, "/api/v1/products?limit=100", &admin, None)
            .await;
        keys = serde_json::from_str::<Value>(&page).unwrap()["products"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| p["key"].as_str().map(str::to_string))
            .collect();
        if keys.len() >= 20 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(keys.len() >= 20, "the demo store was imported: {keys:?}");
    keys.sort();
    // (product key, variant id, SKU)
    let mut sizes: Vec<(String, String, String)> = vec![];
    for key in &keys {
        let (_, detail) = s
            .call(
                Method::GET,
                &format!("/api/v1/products/{}", urlencoding(key)),
                &admin,
                None,
            )
            .await;
        for v in serde_json::from_str::<Value>(&detail).unwrap()["variants"]
            .as_array()
            .unwrap()
        {
            sizes.push((
                key.clone(),
                v["id"].as_str().unwrap().to_string(),
                v["sku"].as_str().unwrap_or_default().to_string(),
            ));
        }
    }
    let mut count: HashMap<String, usize> = HashMap::new();
    for (_, _, sku) in &sizes {
        *count.entry(sku.to_lowercase()).or_default() += 1;
    }
    // The demo's apparel shares SKUs such as DW-M across products.
    let ambiguous = sizes
        .iter()
        .find(|(_, _, sku)| !sku.is_empty() && count[&sku.to_lowercase()] > 1)
        .map(|(_, _, sku)| sku.clone())
        .expect("two tracked sizes share a SKU");
    let unique: Vec<&(String, String, String)> = sizes
        .iter()
        .filter(|(_, _, sku)| !sku.is_empty() && count[&sku.to_lowercase()] == 1)
        .collect();
    let (a_key, a_variant, a_sku) = unique[0].clone();
    let (b_key, b_variant, _) = unique
        .iter()
        .find(|(k, _, _)| *k != a_key)
        .map(|x| (*x).clone())
        .unwrap();
    let (_, c_variant, _) = unique[unique.len() - 1].clone();

    let csv = format!(
        "source_sku,store_sku,markup_percent\n\
         {a_sku},DW-{a_variant},20\n\
         {b_key},DW-{b_variant}\n\
         NOPE-NOT-TRACKED,DW-{c_variant},10\n\
         {ambiguous},DW-{c_variant}\n\
         {b_key},DW-{c_variant},-150\n\
         {a_key},DW-{a_variant}\n"
    );

    // No store connected yet: 409, in words.
    let (status, body) = s
        .call_text(Method::POST, IMPORT, &admin, "text/csv", &csv)
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, body) = s
        .call(
            Method::POST,
            "/api/v1/shopify/connect",
            &admin,
            Some(json!({ "domain": format!("{}/demo/shop", s.base), "token": monitor::demo::admin::DEMO_TOKEN })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, shop) = s.call(Method::GET, "/api/v1/shopify", &admin, None).await;
    assert_eq!(
        serde_json::from_str::<Value>(&shop).unwrap()["currency"],
        "USD",
        "the shop's currency is read at connect: {shop}"
    );

    // Viewers may not; only CSV is taken.
    let (status, body) = s
        .call_text(Method::POST, IMPORT, &viewer, "text/csv", &csv)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = s
        .call(Method::POST, IMPORT, &admin, Some(json!({ "csv": csv })))
        .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{body}");
    assert!(body.contains("text/csv"), "{body}");
    let (status, body) = s
        .call_text(Method::POST, IMPORT, &admin, "text/csv", "\n\n")
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    // The preview (the default): every line, nothing linked.
    let (status, body) = s
        .call_text(
            Method::POST,
            IMPORT,
            &admin,
            "text/csv; charset=utf-8",
            &csv,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let preview: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(preview["preview"], true);
    assert_eq!(
        (preview["linked"].as_u64(), preview["refused"].as_u64()),
        (Some(2), Some(4))
    );
    let lines = preview["lines"].as_array().unwrap();
    let states: Vec<&str> = lines.iter().map(|l| l["state"].as_str().unwrap()).collect();
    assert_eq!(
        states,
        [
            "will_link",
            "will_link",
            "refused",
            "refused",
            "refused",
            "refused"
        ]
    );
    let reasons: Vec<&str> = lines
        .iter()
        .map(|l| l["reason"].as_str().unwrap_or_default())
        .collect();
    assert!(reasons[2].contains("no tracked product"), "{}", reasons[2]);
    assert!(reasons[3].contains("ambiguous"), "{}", reasons[3]);
    assert!(reasons[4].contains("bad markup"), "{}", reasons[4]);
    assert!(reasons[5].contains("line 2"), "{}", reasons[5]);
    assert_eq!(lines[0]["line"], 2, "lines are numbered as in the file");
    assert_eq!(lines[0]["source_product"], a_key.as_str());
    let (_, links) = s
        .call(Method::GET, "/api/v1/reprice/links", &admin, None)
        .await;
    assert_eq!(links, "[]", "a preview links nothing");

    // Imported: the two good lines are linked; the bad ones say why.
    let (status, body) = s
        .call_text(
            Method::POST,
            &format!("{IMPORT}?preview=false"),
            &admin,
            "text/csv",
            &csv,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let done: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(done["preview"], false);
    assert_eq!(
        (done["linked"].as_u64(), done["refused"].as_u64()),
        (Some(2), Some(4))
    );
    assert_eq!(done["lines"][0]["state"], "linked");
    assert_eq!(done["lines"][1]["state"], "linked");
    let (_, links) = s
        .call(Method::GET, "/api/v1/reprice/links", &admin, None)
        .await;
    let links: Vec<Value> = serde_json::from_str(&links).unwrap();
    assert_eq!(links.len(), 2);
    let first = links
        .iter()
        .find(|l| l["id"] == done["lines"][0]["link"])
        .unwrap();
    assert_eq!(first["source_variant"], a_variant.as_str());
    assert_eq!(first["markup"]["percent"], "20");
    assert_eq!(first["target_currency"], "USD");
    let second = links
        .iter()
        .find(|l| l["id"] == done["lines"][1]["link"])
        .unwrap();
    assert_eq!(second["inherit"], true, "no markup: the store's");

    // Audited like single links, and the import as a whole.
    let (_, audit) = s
        .call(Method::GET, "/api/v1/audit?limit=100", &admin, None)
        .await;
    let audit: Vec<Value> = serde_json::from_str(&audit).unwrap();
    let count = |action: &str| audit.iter().filter(|e| e["action"] == action).count();
    assert_eq!(count("reprice.link"), 2);
    assert_eq!(count("reprice.import"), 1);

    // The same file again links nothing twice.
    let (_, body) = s
        .call_text(
            Method::POST,
            &format!("{IMPORT}?preview=false"),
            &admin,
            "text/csv",
            &csv,
        )
        .await;
    let again: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(again["linked"], 0);
    assert!(again["lines"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("already fed by another link"));

    // A link's markup edited: refused whole when a part is wrong, applied
    // whole when all is right.
    let id = first["id"].as_str().unwrap();
    let path = format!("/api/v1/reprice/links/{id}");
    for bad in [
        json!({ "markup": { "percent": "30", "rate": "0" } }),
        json!({ "markup": { "percent": "30", "floor": "50", "ceiling": "10" } }),
        json!({ "inherit": true, "colour": "red" }),
    ] {
        let (status, body) = s
            .call(Method::PATCH, &path, &admin, Some(bad.clone()))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
    }
    let (status, body) = s
        .call(
            Method::PATCH,
            &path,
            &admin,
            Some(json!({ "markup": { "percent": "30", "rounding": "to99", "rate": "0.92" } })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let edited: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(edited["markup"]["percent"], "30");
    assert_eq!(edited["markup"]["rate"], "0.92");
    assert_eq!(edited["inherit"], false);
    let (status, _) = s
        .call(
            Method::PATCH,
            "/api/v1/reprice/links/nope",
            &admin,
            Some(json!({ "inherit": true })),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
