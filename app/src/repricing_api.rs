//! The Repricing page's server functions: the page's data (proposals,
//! links, markups and the store's connection, as the page shows them),
//! connecting the store and its webhook secret (admins), the store and tag
//! markups, and the decisions on proposals (approve and push, reject, bulk
//! approve), each checked against the version shown. Links are
//! `link_api.rs`. The logic is `monitor::repricing`.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use model::ProposalState;
use model::{Link, Proposal};

use crate::api::FormResult;
#[cfg(feature = "ssr")]
use crate::api::{back_to, caller, control, words};
use crate::markup_form::MarkupForm;
#[cfg(feature = "ssr")]
use crate::repricing::state_label;

/// A link as the page shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LinkRow {
    pub link: Link,
    pub source_title: String,
    /// The linked size, if one.
    pub size: Option<String>,
    /// The source's price now (that size's, or the lowest).
    pub source_price: Option<Decimal>,
    pub currency: String,
    /// The currency the store's price is in.
    #[serde(default)]
    pub store_currency: String,
    /// The markup in force and where it comes from, in words.
    pub rule: String,
}

/// A proposal as the page shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProposalRow {
    pub p: Proposal,
    pub source_key: String,
    pub source_title: String,
    pub target_title: String,
}

/// The connected store (never its token).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ShopView {
    pub domain: Option<String>,
    pub name: Option<String>,
    /// The currency the shop sells in, as it last said.
    #[serde(default)]
    pub currency: Option<String>,
    pub webhook_secret_set: bool,
    /// The shop the server offers to connect with one button, by its label.
    #[serde(default)]
    pub offered: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RepricingView {
    /// The live feed continues after this event.
    pub last_seq: u64,
    pub shop: ShopView,
    pub links: Vec<LinkRow>,
    /// (tag or none for the store default, the markup in words)
    pub markups: Vec<(Option<String>, String)>,
    /// The newest first.
    pub proposals: Vec<ProposalRow>,
    pub can_edit: bool,
    pub is_admin: bool,
}

#[server(input = Json)]
pub async fn load_repricing() -> Result<RepricingView, ServerFnError> {
    let who = caller(model::Role::Viewer)?;
    let c = control()?;
    let r = &c.repricing;
    let last_seq = c.engine.store().last_seq();
    let st = r.status();
    let links = r.links();
    let link_rows = links
        .iter()
        .map(|l| {
            let product = c.engine.product(&l.source_product);
            let variant = product.as_ref().and_then(|p| {
                l.source_variant
                    .as_ref()
                    .and_then(|v| p.variants.iter().find(|x| &x.id == v))
            });
            LinkRow {
                link: l.clone(),
                source_title: product
                    .as_ref()
                    .map(|p| p.title.clone())
                    .unwrap_or_else(|| l.source_product.clone()),
                size: variant.map(|v| v.size.clone()),
                source_price: match (&l.source_variant, &product) {
                    (Some(_), _) => variant.and_then(|v| v.price),
                    (None, Some(p)) => p.summary().min_price,
                    _ => None,
                },
                currency: product
                    .as_ref()
                    .map(|p| p.currency.clone())
                    .unwrap_or_default(),
                store_currency: r.store_currency(l),
                rule: r.effective_markup(l).1,
            }
        })
        .collect();
    let proposals = r
        .proposals(100)
        .await
        .map_err(|e| words("could not read the proposals", e))?
        .into_iter()
        .map(|p| {
            let link = links.iter().find(|l| l.id == p.link);
            let source_key = link.map(|l| l.source_product.clone()).unwrap_or_default();
            ProposalRow {
                source_title: c
                    .engine
                    .product(&source_key)
                    .map(|x| x.title)
                    .unwrap_or_else(|| source_key.clone()),
                target_title: link
                    .map(|l| l.target_title.clone())
                    .unwrap_or_else(|| "(removed link)".into()),
                source_key,
                p,
            }
        })
        .collect();
    Ok(RepricingView {
        last_seq,
        shop: ShopView {
            domain: st.domain,
            name: st.name,
            currency: st.currency,
            webhook_secret_set: st.webhook_secret_set,
            offered: r.offered_shop(),
        },
        links: link_rows,
        markups: r
            .markup_rules()
            .iter()
            .map(|m| (m.tag.clone(), m.markup.describe()))
            .collect(),
        proposals,
        can_edit: who.viewer.can(model::Role::Editor),
        is_admin: who.viewer.can(model::Role::Admin),
    })
}

#[cfg(feature = "ssr")]
pub(crate) fn result_of<T>(
    r: Result<T, monitor::repricing::service::RepriceError>,
    field: &str,
    ok: impl FnOnce(T) -> String,
) -> Result<FormResult, ServerFnError> {
    use monitor::repricing::service::RepriceError;
    match r {
        Ok(v) => {
            back_to("/repricing");
            Ok(FormResult {
                ok: true,
                message: ok(v),
                errors: vec![],
            })
        }
        Err(RepriceError::Invalid(m)) if !field.is_empty() => Ok(FormResult::field(field, m)),
        Err(RepriceError::Auth(e)) => {
            if let Some(r) = use_context::<leptos_axum::ResponseOptions>() {
                r.set_status(http::StatusCode::FORBIDDEN);
            }
            Err(ServerFnError::new(e.to_string()))
        }
        Err(e) => Ok(FormResult::failed(e.to_string())),
    }
}

/// Connects the store: reads its name with the token ("Test connection"),
/// then keeps both sealed (admins).
#[server]
pub async fn connect_shop(
    domain: Option<String>,
    token: Option<String>,
) -> Result<FormResult, ServerFnError> {
    let who = caller(model::Role::Admin)?;
    let (domain, token) = (domain.unwrap_or_default(), token.unwrap_or_default());
    if domain.trim().is_empty() {
        return Ok(FormResult::field(
            "domain",
            "the shop's domain, e.g. my-shop.myshopify.com",
        ));
    }
    if token.trim().is_empty() {
        return Ok(FormResult::field(
            "token",
            "the Admin API access token (shpat_…)",
        ));
    }
    let r = control()?.repricing.connect(&who, &domain, &token).await;
    result_of(r, "domain", |name| format!("Connected to {name:?}."))
}

/// Connects the shop the server offers (admins).
#[server]
pub async fn connect_offered_shop() -> Result<FormResult, ServerFnError> {
    let who = caller(model::Role::Admin)?;
    let r = control()?.repricing.connect_offered(&who).await;
    result_of(r, "", |name| format!("Connected to {name:?}."))
}

/// The secret the shop's webhooks are checked with (admins).
#[server]
pub async fn set_webhook_secret(secret: Option<String>) -> Result<FormResult, ServerFnError> {
    let who = caller(model::Role::Admin)?;
    let r = control()?
        .repricing
        .set_webhook_secret(&who, secret.as_deref().unwrap_or(""))
        .await;
    result_of(r, "secret", |_| {
        "Saved: webhooks signed with this secret are taken from now on.".into()
    })
}

/// Adds or replaces the store default (empty tag) or a tag's markup (editors).
#[server]
pub async fn save_markup(
    tag: Option<String>,
    #[server(flatten)] form: MarkupForm,
) -> Result<FormResult, ServerFnError> {
    let who = caller(model::Role::Editor)?;
    let markup = match form.markup() {
        Ok(m) => m,
        Err((f, m)) => return Ok(FormResult::field(f, m)),
    };
    let tag = tag.map(|t| t.trim().to_string()).filter(|t| !t.is_empty());
    let r = control()?.repricing;
    let mut rules: Vec<model::MarkupRule> = r
        .markup_rules()
        .into_iter()
        .filter(|x| {
            x.tag.as_ref().map(|t| t.to_lowercase()) != tag.as_ref().map(|t| t.to_lowercase())
        })
        .collect();
    let rule = model::MarkupRule { tag, markup };
    let said = rule.describe();
    rules.push(rule);
    result_of(r.set_markup_rules(&who, rules).await, "percent", |_| {
        format!("Saved the {said}.")
    })
}

/// Removes the store default (empty tag) or a tag's markup (editors).
#[server]
pub async fn remove_markup(tag: Option<String>) -> Result<FormResult, ServerFnError> {
    let who = caller(model::Role::Editor)?;
    let tag = tag
        .map(|t| t.trim().to_lowercase())
        .filter(|t| !t.is_empty());
    let r = control()?.repricing;
    let rules = r
        .markup_rules()
        .into_iter()
        .filter(|x| x.tag.as_ref().map(|t| t.to_lowercase()) != tag)
        .collect();
    result_of(r.set_markup_rules(&who, rules).await, "", |_| {
        "Removed the markup.".into()
    })
}

#[cfg(feature = "ssr")]
fn version_of(v: &Option<String>) -> u64 {
    v.as_deref()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

#[cfg(feature = "ssr")]
fn pushed_words(p: &Proposal) -> String {
    match p.state {
        ProposalState::Done => format!(
            "Shopify now sells it at {}.",
            p.pushed_price.or(p.proposed).unwrap_or_default()
        ),
        ProposalState::Failed => {
            format!("The push failed: {}", p.error.clone().unwrap_or_default())
        }
        _ => state_label(p.state).to_string(),
    }
}

/// "Update Shopify": approves the proposal as shown (its version) and
/// pushes it (editors).
#[server]
pub async fn approve_proposal(
    id: String,
    version: Option<String>,
) -> Result<FormResult, ServerFnError> {
    let who = caller(model::Role::Editor)?;
    let r = control()?
        .repricing
        .approve(&who, &id, version_of(&version))
        .await;
    match r {
        Ok(p) if p.state == ProposalState::Failed => Ok(FormResult::failed(pushed_words(&p))),
        r => result_of(r, "", |p| pushed_words(&p)),
    }
}

#[server]
pub async fn reject_proposal(
    id: String,
    version: Option<String>,
) -> Result<FormResult, ServerFnError> {
    let who = caller(model::Role::Editor)?;
    let r = control()?
        .repricing
        .reject(&who, &id, version_of(&version))
        .await;
    result_of(r, "", |_| "Rejected.".into())
}

/// Approves a selection: `picks` is "id@version" separated by commas.
#[server]
pub async fn approve_selected(picks: Option<String>) -> Result<FormResult, ServerFnError> {
    let who = caller(model::Role::Editor)?;
    let picks: Vec<(String, u64)> = picks
        .unwrap_or_default()
        .split(',')
        .filter_map(|p| {
            let (id, v) = p.trim().rsplit_once('@')?;
            Some((id.to_string(), v.parse().ok()?))
        })
        .collect();
    if picks.is_empty() {
        return Ok(FormResult::failed("Select the proposals to approve first."));
    }
    let done = control()?.repricing.approve_many(&who, &picks).await;
    let ok = done
        .iter()
        .filter(|(_, r)| matches!(r, Ok(p) if p.state == ProposalState::Done))
        .count();
    let failed: Vec<String> = done
        .iter()
        .filter_map(|(id, r)| match r {
            Ok(p) if p.state == ProposalState::Done => None,
            Ok(p) => Some(format!("{id}: {}", pushed_words(p))),
            Err(e) => Some(format!("{id}: {e}")),
        })
        .collect();
    back_to("/repricing");
    Ok(FormResult {
        ok: failed.is_empty(),
        message: if failed.is_empty() {
            format!("Pushed {ok} price{}.", if ok == 1 { "" } else { "s" })
        } else {
            format!("Pushed {ok}; not pushed: {}", failed.join("; "))
        },
        errors: vec![],
    })
}
