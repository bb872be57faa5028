//! A changedetection.io JSON watch as a `json` source, where it can be
//! mapped: its `json:` filter says where the price is (`$.price`), and one
//! read of the endpoint (through the engine's fetcher: outbound policy and
//! politeness like every poll) finds the item's id and title among the
//! usual field names. An answer that is a list, a filter with wildcards
//! (`[*]`, `..`) or `jq:`, or an item without an id or a title cannot be
//! mapped without guessing: it is listed as not imported, saying which.

use serde_json::Value;

use model::JsonMapping;

/// Field names an item's id and title commonly go by.
const ID_KEYS: [&str; 7] = [
    "id",
    "sku",
    "product_id",
    "productId",
    "uuid",
    "code",
    "asin",
];
const TITLE_KEYS: [&str; 5] = ["title", "name", "product_name", "productName", "label"];

/// The price path of a watch's filters: `json:$.a.b` -> `$.a.b`.
pub fn price_path(filters: &[String]) -> Result<String, String> {
    let f = filters
        .iter()
        .find_map(|f| f.strip_prefix("json:"))
        .map(str::trim)
        .ok_or("its filter is jq, which Dropwatch does not read; add it on the Sources page with a field mapping")?;
    if !f.starts_with("$.") || f.contains('*') || f.contains("..") || f.contains('[') {
        return Err(format!(
            "its filter {f:?} picks more than one value; add it on the Sources page with a field mapping"
        ));
    }
    Ok(f.to_string())
}

/// The mapping for one item answered at the top level, with its price at
/// `price`, when its id and title can be named.
pub fn mapping(price: &str, answer: &Value) -> Result<JsonMapping, String> {
    let Value::Object(item) = answer else {
        return Err("its answer is not one item (a list or a value); add it on the Sources page with a field mapping".into());
    };
    let find = |keys: &[&str]| {
        keys.iter()
            .find(|k| {
                item.get(**k)
                    .is_some_and(|v| v.is_string() || v.is_number())
            })
            .map(|k| format!("/{k}"))
    };
    let (Some(id), Some(title)) = (find(&ID_KEYS), find(&TITLE_KEYS)) else {
        return Err(format!(
            "its answer has no id ({}) or no title ({}) field; add it on the Sources page with a field mapping",
            ID_KEYS.join(", "),
            TITLE_KEYS.join(", ")
        ));
    };
    Ok(JsonMapping {
        id,
        title,
        price: price.to_string(),
        ..JsonMapping::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_single_item_with_an_id_and_a_name_is_mapped() {
        let p = price_path(&["json:$.offer.price".into()]).unwrap();
        let m = mapping(
            &p,
            &json!({"sku": "K-1", "name": "Kettle", "offer": {"price": 19.5}}),
        )
        .unwrap();
        assert_eq!(
            (m.id.as_str(), m.title.as_str(), m.price.as_str()),
            ("/sku", "/name", "$.offer.price")
        );
        assert!(m.items.is_empty(), "the answer itself is the item");
    }

    #[test]
    fn what_cannot_be_mapped_without_guessing_says_why() {
        assert!(price_path(&["jq:.price".into()])
            .unwrap_err()
            .contains("jq"));
        assert!(price_path(&["json:$.items[*].price".into()])
            .unwrap_err()
            .contains("more than one"));
        assert!(price_path(&["json:$..price".into()])
            .unwrap_err()
            .contains("more than one"));
        assert!(mapping("$.price", &json!([{"id": 1}]))
            .unwrap_err()
            .contains("not one item"));
        assert!(mapping("$.price", &json!({"price": 3}))
            .unwrap_err()
            .contains("no id"));
        assert!(mapping("$.price", &json!({"id": {"x": 1}, "title": "t"}))
            .unwrap_err()
            .contains("no id"));
    }
}
