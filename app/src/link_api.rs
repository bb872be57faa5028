//! The Repricing page's server functions for links: finding a variant of
//! the user's store ("Find the variant in your store"), linking a tracked
//! product to one and proposing a price from the source's price now,
//! proposing again from a link, and removing one (editors). A link's edit
//! and links from a CSV are `link_edit.rs` and `link_import.rs`.

use leptos::prelude::*;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::api::FormResult;
#[cfg(feature = "ssr")]
use crate::api::{caller, control};
#[cfg(feature = "ssr")]
use crate::markup_form::checked;
use crate::markup_form::MarkupForm;
#[cfg(feature = "ssr")]
use crate::repricing_api::result_of;

/// A variant of the user's store, found by "Find in your store".
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TargetOption {
    pub id: String,
    pub title: String,
    pub sku: Option<String>,
    pub price: Decimal,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SearchResult {
    pub message: Option<String>,
    pub found: Vec<TargetOption>,
}

/// Searches the connected store's variants (editors).
#[server]
pub async fn search_store(query: Option<String>) -> Result<SearchResult, ServerFnError> {
    let who = caller(model::Role::Editor)?;
    match control()?
        .repricing
        .search_targets(&who, query.as_deref().unwrap_or(""))
        .await
    {
        Ok(found) => Ok(SearchResult {
            message: found
                .is_empty()
                .then(|| "Nothing in your store matches.".to_string()),
            found: found
                .into_iter()
                .map(|v| TargetOption {
                    id: v.id,
                    title: v.title,
                    sku: v.sku,
                    price: v.price,
                })
                .collect(),
        }),
        Err(e) => Ok(SearchResult {
            message: Some(e.to_string()),
            found: vec![],
        }),
    }
}

/// What "Sell it in your store" sends: the product (its key or address),
/// one size or none (its lowest price), the store variant, and the markup
/// or "follow the store's markups".
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LinkForm {
    pub product: Option<String>,
    pub size: Option<String>,
    /// The store variant: its id, Admin URL or "product/variant".
    pub target: Option<String>,
    /// A checkbox: follow the store's markups instead of this one.
    pub inherit: Option<String>,
    #[serde(flatten)]
    pub markup: MarkupForm,
}

/// Links a tracked product (one size, or its lowest price) to a variant of
/// the store (editors), and proposes a price from the source's price now.
#[server]
pub async fn link_product(#[server(flatten)] form: LinkForm) -> Result<FormResult, ServerFnError> {
    let LinkForm {
        product,
        size,
        target,
        inherit,
        markup,
    } = form;
    use monitor::repricing::service::{target_spec, RepriceError};
    let who = caller(model::Role::Editor)?;
    let c = control()?;
    let key = product
        .unwrap_or_default()
        .trim()
        .trim_start_matches("/product/")
        .to_string();
    let key = key
        .split("/product/")
        .last()
        .unwrap_or_default()
        .to_string();
    let Some(p) = c
        .engine
        .product(&key)
        .or_else(|| c.engine.product(&url_decode(&key)))
    else {
        return Ok(FormResult::field("product", "no tracked product has this key (open the product and press \"Sell it in your store\")"));
    };
    let variant = match size.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => match p.variants.iter().find(|v| v.size.eq_ignore_ascii_case(s)) {
            Some(v) => Some(v.id.clone()),
            None => {
                let sizes: Vec<&str> = p.variants.iter().map(|v| v.size.as_str()).collect();
                return Ok(FormResult::field(
                    "size",
                    format!("{} has no size {s:?}; it has {}", p.title, sizes.join(", ")),
                ));
            }
        },
    };
    let target = match target_spec(target.as_deref().unwrap_or("")) {
        Ok(t) => t,
        Err(e) => return Ok(FormResult::field("target", e)),
    };
    let markup = match markup.markup() {
        Ok(m) => m,
        Err((f, m)) => return Ok(FormResult::field(f, m)),
    };
    let inherit = checked(&inherit);
    let r = c
        .repricing
        .link(&who, &p.key, variant, &target, markup, inherit)
        .await;
    let link = match r {
        Ok(l) => l,
        Err(e @ RepriceError::Invalid(_)) => {
            return result_of::<()>(Err(e), "target", |_| String::new())
        }
        Err(e) => return result_of::<()>(Err(e), "", |_| String::new()),
    };
    let said = match c.repricing.propose_now(&who, &link.id).await {
        Ok(pr) => match pr.proposed {
            Some(price) => format!(
                "Linked {} to {}; proposed {price} (now {}).",
                p.title,
                link.target_title,
                link.target_price
                    .map(|x| x.to_string())
                    .unwrap_or_else(|| "?".into())
            ),
            None => format!(
                "Linked {} to {}; {}",
                p.title,
                link.target_title,
                pr.note.unwrap_or_default()
            ),
        },
        // The link is made: a proposal that cannot be made now does not
        // undo it, so the answer says what was done, not a failure.
        Err(e) => format!(
            "Linked {} to {}; no price proposed yet ({e}): press \"Propose\" on the link.",
            p.title, link.target_title
        ),
    };
    result_of(Ok(()), "", |_| said)
}

/// Undoes [`crate::ui::encode_segment`] (a pasted product address).
pub fn url_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        // Bytes, not `str` slices: "%aé" must not cut a character in two.
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        if b[i] == b'%' {
            if let Some(x) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(x);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Removes a link (editors).
#[server]
pub async fn unlink(id: String) -> Result<FormResult, ServerFnError> {
    let who = caller(model::Role::Editor)?;
    let r = control()?.repricing.unlink(&who, &id).await;
    result_of(r, "", |_| "Removed the link.".into())
}

/// A proposal from the source's price now (editors).
#[server]
pub async fn propose_link(id: String) -> Result<FormResult, ServerFnError> {
    let who = caller(model::Role::Editor)?;
    let r = control()?.repricing.propose_now(&who, &id).await;
    result_of(r, "", |p| match p.proposed {
        Some(x) => format!("Proposed {x}."),
        None => p.note.unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pasted_product_addresses_decode() {
        assert_eq!(url_decode("demo%3A12%2Fx"), "demo:12/x");
        assert_eq!(url_decode("100%"), "100%");
        assert_eq!(url_decode("a%2"), "a%2");
    }
}
