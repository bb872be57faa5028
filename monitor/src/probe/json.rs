//! A JSON API in a probe. Dropwatch reads an API only through a field
//! mapping the user writes, so the probe says where the answer's items are
//! and what each holds: the start of that mapping.

use std::collections::VecDeque;

use serde_json::Value;

use model::probe::{Field, JsonOutline, ProbeKind, ProbeVerdict};
use model::Probe;

/// How deep and how wide the search for the items goes (an API's answer
/// is the shop's to shape; the probe must stay cheap on any of them).
const MAX_DEPTH: usize = 8;
const MAX_NODES: usize = 10_000;

/// The body as JSON, if it is JSON.
pub(super) fn parse(body: &str) -> Option<Value> {
    let t = body.trim_start();
    if !(t.starts_with('{') || t.starts_with('[')) {
        return None;
    }
    serde_json::from_str(t).ok()
}

/// A JSON answer, into `probe`.
pub(super) fn read(probe: &mut Probe, v: &Value) {
    probe.kind = Some(ProbeKind::Json);
    // Nothing is tracked until the user maps the fields.
    probe.verdict = ProbeVerdict::Unreadable;
    let outline = outline(v);
    let why = match &outline.items_at {
        Some(at) => format!(
            "a JSON API is read through a field mapping: add it as a JSON API source with items = {} and the paths of each item's title, price and stock (its fields: {}); Preview shows what they read",
            if at.is_empty() { "/" } else { at },
            outline.fields.join(", ")
        ),
        None => "a JSON API is read through a field mapping, and this answer holds no list of items: give the address of the API's list of products".to_string(),
    };
    probe.miss(Field::Price, why);
    probe.json = Some(outline);
}

/// The shallowest list of objects in `v`: where it is (a JSON Pointer),
/// how long it is, and the fields of its first item.
fn outline(v: &Value) -> JsonOutline {
    let mut queue = VecDeque::from([(String::new(), v, 0usize)]);
    let mut seen = 0;
    while let Some((at, node, depth)) = queue.pop_front() {
        seen += 1;
        if seen > MAX_NODES {
            break;
        }
        match node {
            Value::Array(items) => {
                if let Some(Value::Object(first)) = items.first() {
                    return JsonOutline {
                        items_at: Some(at),
                        items: items.len(),
                        fields: first.keys().cloned().collect(),
                    };
                }
            }
            Value::Object(o) if depth < MAX_DEPTH => {
                for (k, x) in o {
                    let step = k.replace('~', "~0").replace('/', "~1");
                    queue.push_back((format!("{at}/{step}"), x, depth + 1));
                }
            }
            _ => {}
        }
    }
    JsonOutline::default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shallowest_list_of_objects_is_the_items() {
        let v: Value = serde_json::from_str(
            r#"{"meta":{"tags":["a","b"]},"data":{"total":2,"products":[{"id":1,"name":"A","price":"9.00"},{"id":2}]}}"#,
        )
        .unwrap();
        let o = outline(&v);
        assert_eq!(o.items_at.as_deref(), Some("/data/products"));
        assert_eq!(o.items, 2);
        assert_eq!(o.fields, ["id", "name", "price"]);
        let top = outline(&serde_json::json!([{"sku": "x"}]));
        assert_eq!(top.items_at.as_deref(), Some(""));
        assert_eq!(outline(&serde_json::json!({"a": 1})).items_at, None);
        assert!(parse("  {\"a\":1}").is_some());
        assert!(parse("<html>").is_none());
        assert!(parse("{broken").is_none());
    }

    #[test]
    fn a_json_answer_says_how_to_map_it() {
        let mut p = Probe::new("https://api.example/items");
        read(
            &mut p,
            &serde_json::json!({"items": [{"title": "A", "price": 5}]}),
        );
        assert_eq!(p.kind, Some(ProbeKind::Json));
        let why = p.why_missing(Field::Price).unwrap();
        assert!(why.contains("items = /items"), "{why}");
        assert!(
            why.contains("title, price") || why.contains("price, title"),
            "{why}"
        );
    }
}
