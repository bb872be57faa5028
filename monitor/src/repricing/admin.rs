//! The Shopify Admin GraphQL API of the user's own store
//! (docs/external-apis.md): `POST https://{shop}/admin/api/{version}/graphql.json`
//! with `X-Shopify-Access-Token`. Reads the shop's name and currency
//! (`shop { name currencyCode }`), finds variants by SKU, and sets prices
//! with `productVariantsBulkUpdate`.
//!
//! Cost-based throttling: every answer may carry
//! `extensions.cost.throttleStatus`; the client keeps the last one and waits
//! before a call that would overdraw the bucket. `THROTTLED` comes with HTTP
//! 200 or 429; both are [`AdminError::Throttled`] with how long to wait.
//! `userErrors` are failures even with HTTP 200.
//!
//! (Over 500 lines only with its unit tests, the last 80-odd lines:
//! they test this file's private parsing and state, so they stay beside it.)

use std::time::Duration;

use serde_json::{json, Value};
use url::Url;

pub const API_VERSION: &str = "2025-07";

/// The bucket as the last answer left it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Cost {
    pub requested: f64,
    pub actual: Option<f64>,
    pub maximum: f64,
    pub available: f64,
    /// Points restored per second (the Standard plan: 100).
    pub restore_rate: f64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserError {
    pub field: Vec<String>,
    pub message: String,
    pub code: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum AdminError {
    #[error("Shopify is throttling this app; retry in {0:?}")]
    Throttled(Duration),
    #[error("the access token was refused (HTTP {0}); check the token and its scopes")]
    Unauthorized(u16),
    #[error("Shopify answered HTTP {status}: {said}")]
    Http { status: u16, said: String },
    #[error("Shopify did not answer: {0}")]
    Transport(String),
    #[error("Shopify's answer is not GraphQL JSON: {0}")]
    Malformed(String),
    #[error("the query failed: {}", .0.join("; "))]
    GraphQl(Vec<String>),
    #[error("Shopify refused the change: {}", .0.iter().map(|e| e.message.clone()).collect::<Vec<_>>().join("; "))]
    UserErrors(Vec<UserError>),
}

impl AdminError {
    /// Worth trying again later (throttling, 5xx, no answer).
    pub fn is_transient(&self) -> bool {
        matches!(self, AdminError::Throttled(_) | AdminError::Transport(_))
            || matches!(self, AdminError::Http { status, .. } if *status >= 500)
    }
}

/// A GraphQL answer, read.
#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    pub data: Value,
    pub cost: Option<Cost>,
}

fn cost_of(v: &Value) -> Option<Cost> {
    let c = v.pointer("/extensions/cost")?;
    let t = &c["throttleStatus"];
    Some(Cost {
        requested: c["requestedQueryCost"].as_f64()?,
        actual: c["actualQueryCost"].as_f64(),
        maximum: t["maximumAvailable"].as_f64()?,
        available: t["currentlyAvailable"].as_f64()?,
        restore_rate: t["restoreRate"].as_f64()?,
    })
}

/// The longest the Admin API's throttling may hold a call (its bucket
/// refills in seconds; a longer wait is a broken answer).
pub const MAX_THROTTLE_WAIT: Duration = Duration::from_secs(60);

/// How long until `needed` points are in the bucket (at most
/// [`MAX_THROTTLE_WAIT`], whatever numbers the answer held).
pub fn wait_for(cost: &Cost, needed: f64) -> Duration {
    // Written so that NaN anywhere means "no wait".
    let short = matches!(
        cost.available.partial_cmp(&needed),
        Some(std::cmp::Ordering::Less)
    );
    if !short || cost.restore_rate.is_nan() || cost.restore_rate <= 0.0 {
        return Duration::ZERO;
    }
    crate::bounds::wait_secs(
        (needed - cost.available) / cost.restore_rate,
        MAX_THROTTLE_WAIT,
    )
    .unwrap_or(Duration::ZERO)
}

/// Reads an answer: status, `Retry-After` (seconds) and body.
pub fn read_answer(
    status: u16,
    retry_after: Option<f64>,
    body: &str,
) -> Result<Answer, AdminError> {
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    let throttled = parsed.as_ref().is_some_and(|v| {
        v["errors"].as_array().is_some_and(|es| {
            es.iter()
                .any(|e| e.pointer("/extensions/code").and_then(Value::as_str) == Some("THROTTLED"))
        })
    });
    if throttled || status == 429 {
        let from_cost = parsed
            .as_ref()
            .and_then(cost_of)
            .map(|c| wait_for(&c, c.requested));
        let wait = from_cost
            .filter(|d| !d.is_zero())
            .or(retry_after.and_then(|s| crate::bounds::wait_secs(s, MAX_THROTTLE_WAIT)))
            .unwrap_or(Duration::from_secs(1));
        return Err(AdminError::Throttled(wait));
    }
    if status == 401 || status == 403 {
        return Err(AdminError::Unauthorized(status));
    }
    let said = || body.chars().take(200).collect::<String>();
    if !(200..300).contains(&status) {
        return Err(AdminError::Http {
            status,
            said: said(),
        });
    }
    let v = parsed.ok_or_else(|| AdminError::Malformed(said()))?;
    if let Some(errors) = v["errors"].as_array().filter(|e| !e.is_empty()) {
        return Err(AdminError::GraphQl(
            errors
                .iter()
                .map(|e| e["message"].as_str().unwrap_or("unknown error").to_string())
                .collect(),
        ));
    }
    let data = v
        .get("data")
        .cloned()
        .filter(|d| !d.is_null())
        .ok_or_else(|| AdminError::Malformed("no data".into()))?;
    Ok(Answer {
        cost: cost_of(&v),
        data,
    })
}

/// A variant of the user's store.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AdminVariant {
    /// `gid://shopify/ProductVariant/...`
    pub id: String,
    pub product_id: String,
    pub title: String,
    pub sku: Option<String>,
    pub price: rust_decimal::Decimal,
    pub compare_at_price: Option<rust_decimal::Decimal>,
    /// `gid://shopify/InventoryItem/...`
    #[serde(default)]
    pub inventory_item_id: Option<String>,
}

fn variant_of(node: &Value, product_id: Option<&str>) -> Option<AdminVariant> {
    Some(AdminVariant {
        id: node["id"].as_str()?.to_string(),
        product_id: product_id.map(str::to_string).or_else(|| {
            node.pointer("/product/id")
                .and_then(Value::as_str)
                .map(str::to_string)
        })?,
        title: node["title"].as_str().unwrap_or_default().to_string(),
        sku: node["sku"].as_str().map(str::to_string),
        price: model::money::parse_price(node["price"].as_str()?).ok()?,
        compare_at_price: node["compareAtPrice"]
            .as_str()
            .and_then(|p| model::money::parse_price(p).ok()),
        inventory_item_id: node
            .pointer("/inventoryItem/id")
            .and_then(Value::as_str)
            .map(str::to_string),
    })
}

/// What "Test connection" reads of the shop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShopInfo {
    pub name: String,
    /// ISO 4217, as Shopify's `CurrencyCode` enum writes it ("USD", "EUR").
    pub currency: String,
}

/// `shop.currencyCode` of an answer: three ASCII letters, upper case.
fn currency_of(data: &Value) -> Result<String, AdminError> {
    data.pointer("/shop/currencyCode")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|c| c.len() == 3 && c.chars().all(|x| x.is_ascii_alphabetic()))
        .map(str::to_ascii_uppercase)
        .ok_or_else(|| AdminError::Malformed("no shop currency (shop.currencyCode)".into()))
}

/// A connection to one store.
pub struct AdminShop {
    endpoint: Url,
    token: String,
    http: reqwest::Client,
    last_cost: parking_lot::Mutex<Option<(Cost, std::time::Instant)>>,
}

impl std::fmt::Debug for AdminShop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AdminShop({}, token ****)", self.endpoint)
    }
}

/// `my-shop`, `my-shop.myshopify.com` or an https URL of the shop -> the
/// GraphQL endpoint.
pub fn endpoint_for(shop: &str) -> Result<Url, String> {
    let shop = shop.trim().trim_end_matches('/');
    let base = if shop.starts_with("http://") || shop.starts_with("https://") {
        shop.to_string()
    } else if shop.contains('.') {
        format!("https://{shop}")
    } else {
        format!("https://{shop}.myshopify.com")
    };
    let mut url = Url::parse(&base).map_err(|e| format!("{shop:?} is not a shop domain: {e}"))?;
    if url.host_str().is_none_or(|h| h.is_empty()) {
        return Err(format!("{shop:?} is not a shop domain"));
    }
    // A shop behind a path prefix (the demo's shop) keeps it.
    let prefix = url
        .path()
        .trim_end_matches('/')
        .trim_end_matches("/admin")
        .to_string();
    url.set_path(&format!("{prefix}/admin/api/{API_VERSION}/graphql.json"));
    url.set_query(None);
    Ok(url)
}

impl AdminShop {
    pub fn new(endpoint: Url, token: &str, http: reqwest::Client) -> AdminShop {
        AdminShop {
            endpoint,
            token: token.to_string(),
            http,
            last_cost: Default::default(),
        }
    }

    /// Waits until the bucket (as last seen, restored since) holds `points`.
    async fn pace(&self, points: f64) {
        let wait = self.last_cost.lock().map(|(c, at)| {
            let restored = at.elapsed().as_secs_f64() * c.restore_rate;
            let now = Cost {
                available: (c.available + restored).min(c.maximum),
                ..c
            };
            wait_for(&now, points.min(c.maximum))
        });
        if let Some(w) = wait.filter(|w| !w.is_zero()) {
            tokio::time::sleep(w).await;
        }
    }

    /// One GraphQL call (no retry; see [`AdminError::is_transient`]).
    pub async fn call(
        &self,
        query: &str,
        variables: Value,
        expected_cost: f64,
    ) -> Result<Answer, AdminError> {
        self.pace(expected_cost).await;
        let resp = self
            .http
            .post(self.endpoint.clone())
            .header("X-Shopify-Access-Token", &self.token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .map_err(|e| AdminError::Transport(e.without_url().to_string()))?;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok());
        let body = resp
            .text()
            .await
            .map_err(|e| AdminError::Transport(e.without_url().to_string()))?;
        let answer = read_answer(status, retry_after, &body);
        if let Ok(Answer { cost: Some(c), .. }) = &answer {
            *self.last_cost.lock() = Some((*c, std::time::Instant::now()));
        }
        answer
    }

    /// The shop's name ("Test connection").
    pub async fn shop_name(&self) -> Result<String, AdminError> {
        let a = self.call("query { shop { name } }", json!({}), 1.0).await?;
        a.data
            .pointer("/shop/name")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| AdminError::Malformed("no shop name".into()))
    }

    /// The shop's name and the currency it sells in, in one call (at connect).
    pub async fn shop_info(&self) -> Result<ShopInfo, AdminError> {
        let a = self
            .call("query { shop { name currencyCode } }", json!({}), 1.0)
            .await?;
        let name = a
            .data
            .pointer("/shop/name")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| AdminError::Malformed("no shop name".into()))?;
        Ok(ShopInfo {
            name,
            currency: currency_of(&a.data)?,
        })
    }

    /// The currency the shop sells in (`shop { currencyCode }`), read before
    /// each push: its prices are set in it.
    pub async fn shop_currency(&self) -> Result<String, AdminError> {
        let a = self
            .call("query { shop { currencyCode } }", json!({}), 1.0)
            .await?;
        currency_of(&a.data)
    }

    /// Variants whose SKU is `sku`.
    pub async fn variants_by_sku(&self, sku: &str) -> Result<Vec<AdminVariant>, AdminError> {
        let sku = sku.replace('"', "");
        let found = self.search_variants(&format!("sku:{sku}")).await?;
        // Shopify's search is by prefix and case-insensitive; a link wants
        // the exact SKU.
        Ok(found
            .into_iter()
            .filter(|v| v.sku.as_deref() == Some(sku.as_str()))
            .collect())
    }

    /// Variants matching Shopify's search syntax (`sku:..`, words of the
    /// title), at most 10.
    pub async fn search_variants(&self, query: &str) -> Result<Vec<AdminVariant>, AdminError> {
        let q = "query($q: String!) { productVariants(first: 10, query: $q) { edges { node { id title sku price compareAtPrice inventoryItem { id } product { id } } } } }";
        let a = self.call(q, json!({ "q": query.trim() }), 12.0).await?;
        Ok(a.data
            .pointer("/productVariants/edges")
            .and_then(Value::as_array)
            .map(|edges| {
                edges
                    .iter()
                    .filter_map(|e| variant_of(&e["node"], None))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// One variant by its id (`gid://shopify/ProductVariant/..`); none when
    /// the store has no such variant.
    pub async fn variant(&self, id: &str) -> Result<Option<AdminVariant>, AdminError> {
        let q = "query($id: ID!) { productVariant(id: $id) { id title sku price compareAtPrice inventoryItem { id } product { id } } }";
        let a = self.call(q, json!({ "id": id }), 2.0).await?;
        Ok(variant_of(&a.data["productVariant"], None))
    }

    /// Sets the prices of one product's variants in one call; returns the
    /// variants as Shopify now has them.
    pub async fn set_prices(
        &self,
        product_id: &str,
        prices: &[(String, rust_decimal::Decimal)],
    ) -> Result<Vec<AdminVariant>, AdminError> {
        let q = "mutation($productId: ID!, $variants: [ProductVariantsBulkInput!]!) { productVariantsBulkUpdate(productId: $productId, variants: $variants) { product { id } productVariants { id title sku price compareAtPrice } userErrors { field message code } } }";
        let variants: Vec<Value> = prices
            .iter()
            .map(|(id, p)| json!({ "id": id, "price": p.to_string() }))
            .collect();
        let a = self
            .call(
                q,
                json!({ "productId": product_id, "variants": variants }),
                10.0,
            )
            .await?;
        let r = &a.data["productVariantsBulkUpdate"];
        let errors: Vec<UserError> = r["userErrors"]
            .as_array()
            .map(|es| {
                es.iter()
                    .map(|e| UserError {
                        field: e["field"]
                            .as_array()
                            .map(|f| {
                                f.iter()
                                    .filter_map(|x| x.as_str().map(str::to_string))
                                    .collect()
                            })
                            .unwrap_or_default(),
                        message: e["message"].as_str().unwrap_or("unknown error").to_string(),
                        code: e["code"].as_str().map(str::to_string),
                    })
                    .collect()
            })
            .unwrap_or_default();
        if !errors.is_empty() {
            return Err(AdminError::UserErrors(errors));
        }
        Ok(r["productVariants"]
            .as_array()
            .map(|vs| {
                vs.iter()
                    .filter_map(|v| variant_of(v, Some(product_id)))
                    .collect()
            })
            .unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_with_200_or_429_says_how_long_to_wait() {
        let body = r#"{"errors":[{"message":"Throttled","extensions":{"code":"THROTTLED"}}],"extensions":{"cost":{"requestedQueryCost":110,"actualQueryCost":null,"throttleStatus":{"maximumAvailable":2000,"currentlyAvailable":10,"restoreRate":100}}}}"#;
        assert_eq!(
            read_answer(200, None, body),
            Err(AdminError::Throttled(Duration::from_secs(1)))
        );
        let bare = r#"{"errors":[{"message":"Throttled","extensions":{"code":"THROTTLED"}}]}"#;
        assert_eq!(
            read_answer(429, Some(2.0), bare),
            Err(AdminError::Throttled(Duration::from_secs(2)))
        );
        assert_eq!(
            read_answer(429, None, "Too Many Requests"),
            Err(AdminError::Throttled(Duration::from_secs(1)))
        );
        assert!(AdminError::Throttled(Duration::ZERO).is_transient());
    }

    #[test]
    fn failures_in_words() {
        assert_eq!(
            read_answer(401, None, "[API] Invalid API key or access token"),
            Err(AdminError::Unauthorized(401))
        );
        assert!(matches!(
            read_answer(502, None, "<html>bad gateway</html>"),
            Err(AdminError::Http { status: 502, .. })
        ));
        assert!(read_answer(502, None, "").unwrap_err().is_transient());
        assert!(matches!(
            read_answer(200, None, "<html>login</html>"),
            Err(AdminError::Malformed(_))
        ));
    }

    #[test]
    fn the_shops_currency_is_read_as_shopify_writes_it() {
        let a = read_answer(
            200,
            None,
            r#"{"data":{"shop":{"name":"My shop","currencyCode":"EUR"}},"extensions":{"cost":{"requestedQueryCost":1,"actualQueryCost":1,"throttleStatus":{"maximumAvailable":1000,"currentlyAvailable":999,"restoreRate":50}}}}"#,
        )
        .unwrap();
        assert_eq!(currency_of(&a.data), Ok("EUR".to_string()));
        for bad in [
            r#"{"shop":{"name":"x"}}"#,
            r#"{"shop":{"currencyCode":"EURO"}}"#,
            r#"{"shop":{"currencyCode":12}}"#,
        ] {
            let data: Value = serde_json::from_str(bad).unwrap();
            assert!(matches!(currency_of(&data), Err(AdminError::Malformed(_))));
        }
    }

    #[test]
    fn shop_names_become_the_graphql_endpoint() {
        assert_eq!(
            endpoint_for("my-shop").unwrap().as_str(),
            format!("https://my-shop.myshopify.com/admin/api/{API_VERSION}/graphql.json")
        );
        assert_eq!(
            endpoint_for("my-shop.myshopify.com/").unwrap().host_str(),
            Some("my-shop.myshopify.com")
        );
        assert_eq!(
            endpoint_for("http://127.0.0.1:4000").unwrap().as_str(),
            format!("http://127.0.0.1:4000/admin/api/{API_VERSION}/graphql.json")
        );
        assert_eq!(
            endpoint_for("http://127.0.0.1:3000/demo/shop/")
                .unwrap()
                .as_str(),
            format!("http://127.0.0.1:3000/demo/shop/admin/api/{API_VERSION}/graphql.json")
        );
        assert_eq!(
            endpoint_for("https://my-shop.myshopify.com/admin")
                .unwrap()
                .path(),
            format!("/admin/api/{API_VERSION}/graphql.json")
        );
        assert!(endpoint_for("https://").is_err());
    }
}
