//! Repricing: the user's own Shopify store follows the products they track,
//! with a markup, and never by surprise. The page lists proposals live
//! ("Update Shopify", bulk approve, reject), the links from tracked products
//! to the store's variants, the store-wide and per-tag markups, and the
//! store's connection (admins). The logic is `monitor::repricing`; every
//! change checks the caller's role there and here.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use leptos_router::hooks::use_query_map;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use model::{Link, Markup, Proposal, ProposalState, Rounding};

#[cfg(feature = "ssr")]
use crate::api::{back_to, caller, control, words};
use crate::api::{FormResult, NoJsError};
use crate::link_edit::{EditLink, LinkEditForm};
use crate::link_import::{ImportLinks, ImportPanel};
#[cfg(feature = "ssr")]
use crate::markup_form::checked;
use crate::markup_form::MarkupForm;
use crate::sources::{field_error, outcome};
use crate::time::LocalTime;
use crate::ui::{product_href, ErrorText};

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

pub fn state_label(s: ProposalState) -> &'static str {
    match s {
        ProposalState::Proposed => "waiting for approval",
        ProposalState::Approved => "approved",
        ProposalState::Pushing => "pushing",
        ProposalState::Done => "done",
        ProposalState::Failed => "failed",
        ProposalState::Rejected => "rejected",
        ProposalState::CannotPrice => "cannot price",
        ProposalState::Superseded => "replaced",
    }
}

fn state_attr(s: ProposalState) -> &'static str {
    match s {
        ProposalState::Proposed => "proposed",
        ProposalState::Approved => "approved",
        ProposalState::Pushing => "pushing",
        ProposalState::Done => "done",
        ProposalState::Failed => "failed",
        ProposalState::Rejected => "rejected",
        ProposalState::CannotPrice => "cannot_price",
        ProposalState::Superseded => "superseded",
    }
}

fn money(p: Option<Decimal>) -> String {
    p.map(|p| p.to_string()).unwrap_or_else(|| "–".into())
}

/// Live on this page: a repricing event (proposal, push, failure) reloads
/// the proposals.
#[component]
fn LiveTick(since: u64, tick: RwSignal<u32>) -> impl IntoView {
    crate::live::use_live_events(since, move |e: model::Event| {
        if e.kind.is_repricing() {
            tick.update(|t| *t += 1)
        }
    });
}

/// The markup inputs, shared by the link form, the markup form and a
/// link's edit form (which starts from the link's markup, `initial`).
/// `came_back`: the (field, error) a JavaScript-less post came back with.
#[component]
pub(crate) fn MarkupFields(
    result: Signal<Option<Result<FormResult, ServerFnError>>>,
    #[prop(into)] prefix: String,
    #[prop(default = None)] initial: Option<Markup>,
    #[prop(default = None)] came_back: Option<(String, String)>,
) -> impl IntoView {
    let err = {
        let prefix = prefix.clone();
        move |f: &'static str| {
            let back = came_back
                .as_ref()
                .filter(|(field, _)| field == f)
                .map(|(_, e)| e.clone());
            field_error(result, f, format!("{prefix}-{f}-error"), back)
        }
    };
    let m = initial.unwrap_or_default();
    let text = |d: Option<Decimal>| d.map(|d| d.normalize().to_string()).unwrap_or_default();
    let percent = if m.percent.is_zero() && m.fixed.is_zero() {
        String::new()
    } else {
        text(Some(m.percent))
    };
    let fixed = text(Some(m.fixed).filter(|f| !f.is_zero()));
    let (floor, ceiling, guard, rate) = (
        text(m.floor),
        text(m.ceiling),
        text(m.max_step_percent),
        text(m.rate),
    );
    let rounding = m.rounding;
    let described = |f: &str| format!("{prefix}-{f}-error");
    view! {
        <fieldset class="markup">
            <legend>"Markup"</legend>
            <label>"Percent " <input type="text" name="percent" size="6" inputmode="decimal" placeholder="20" value=percent aria-describedby=described("percent")/></label>
            {err("percent")}
            <label>"Plus a fixed amount " <input type="text" name="fixed" size="6" inputmode="decimal" placeholder="0" value=fixed/></label>
            {err("fixed")}
            <label>"Round "
                <select name="rounding">
                    <option value="cents" selected={rounding == Rounding::Cents}>"to the cent"</option>
                    <option value="to99" selected={rounding == Rounding::To99}>"up to .99"</option>
                    <option value="to95" selected={rounding == Rounding::To95}>"up to .95"</option>
                    <option value="whole" selected={rounding == Rounding::Whole}>"up to whole units"</option>
                </select>
            </label>
            <label>"Floor " <input type="text" name="floor" size="6" inputmode="decimal" value=floor/></label>
            {err("floor")}
            <label>"Ceiling " <input type="text" name="ceiling" size="6" inputmode="decimal" value=ceiling/></label>
            {err("ceiling")}
            <label>"Hold changes larger than " <input type="text" name="guard" size="4" inputmode="decimal" placeholder="15" value=guard/> " % for approval"</label>
            {err("guard")}
            <label>"Conversion rate " <span class="hint">"(only for a source in another currency than your store: your store's units per unit of the source's, e.g. 0.92)"</span>
                <input type="text" name="rate" size="8" inputmode="decimal" value=rate aria-describedby=described("rate")/></label>
            {err("rate")}
            <label class="check"><input type="checkbox" name="auto" checked=m.auto_approve/> " Push without asking (within the guard)"</label>
        </fieldset>
    }
}

#[component]
pub fn RepricingPage() -> impl IntoView {
    let approve = ServerAction::<ApproveProposal>::new();
    let reject = ServerAction::<RejectProposal>::new();
    let bulk = ServerAction::<ApproveSelected>::new();
    let link = ServerAction::<LinkProduct>::new();
    let unlink = ServerAction::<Unlink>::new();
    let propose = ServerAction::<ProposeLink>::new();
    let save_markup = ServerAction::<SaveMarkup>::new();
    let remove_markup = ServerAction::<RemoveMarkup>::new();
    let connect = ServerAction::<ConnectShop>::new();
    let connect_offered = ServerAction::<ConnectOfferedShop>::new();
    let secret = ServerAction::<SetWebhookSecret>::new();
    let search = ServerAction::<SearchStore>::new();
    let edit = ServerAction::<EditLink>::new();
    let import = ServerAction::<ImportLinks>::new();
    // Whose "Edit markup…" form was submitted last: its result shows there only.
    let editing = RwSignal::new(String::new());
    let nojs = NoJsError::from_query();
    let nojs_links = nojs.clone();
    let import_said = nojs.for_form(crate::link_import::FORM);
    let tick = RwSignal::new(0u32);
    let selected = RwSignal::new(Vec::<String>::new());
    let query = use_query_map();
    let prefill = move || query.with_untracked(|q| q.get("product").unwrap_or_default());

    // Counts the settings changes that went through: the forms reload after
    // one, not after a mistake (which would close what the user opened).
    let saved = RwSignal::new(0u32);
    for v in [
        link.value(),
        unlink.value(),
        save_markup.value(),
        remove_markup.value(),
        connect.value(),
        connect_offered.value(),
        secret.value(),
        edit.value(),
    ] {
        Effect::new(move |_| {
            if let Some(Ok(r)) = v.get() {
                if r.ok {
                    saved.update(|n| *n += 1);
                }
            }
        });
    }
    // An import that linked something shows its links.
    Effect::new(move |_| {
        let linked = import.value().with(|r| {
            matches!(r, Some(Ok(r)) if r.report.as_ref().is_some_and(|x| !x.preview && x.linked > 0))
        });
        if linked {
            saved.update(|n| *n += 1);
        }
    });
    let settings_changed = move || saved.get();
    // The forms reload after a settings change only (never under typing);
    // the proposals and links also on every repricing event.
    let settings = Resource::new(settings_changed, |_| load_repricing());
    let live = Resource::new(
        move || {
            (
                settings_changed(),
                approve.version().get(),
                reject.version().get(),
                bulk.version().get(),
                propose.version().get(),
                tick.get(),
            )
        },
        |_| load_repricing(),
    );
    Effect::new(move |_| {
        if bulk.version().get() > 0 {
            selected.set(vec![]);
        }
    });
    let target_input = NodeRef::<leptos::html::Input>::new();
    let link_form = NodeRef::<leptos::html::Form>::new();
    let connect_form = NodeRef::<leptos::html::Form>::new();
    let secret_form = NodeRef::<leptos::html::Form>::new();
    let link_result = link.value();
    let markup_result = save_markup.value();
    let link_fields = Signal::derive(move || link_result.get());
    let markup_fields = Signal::derive(move || markup_result.get());
    let connect_result = connect.value();
    let secret_result = secret.value();
    // The token and the secret are cleared once saved.
    Effect::new(move |_| {
        if let Some(Ok(r)) = connect_result.get() {
            if r.ok {
                if let Some(f) = connect_form.get_untracked() {
                    f.reset();
                }
            }
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(r)) = secret_result.get() {
            if r.ok {
                if let Some(f) = secret_form.get_untracked() {
                    f.reset();
                }
            }
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(r)) = link_result.get() {
            if r.ok {
                if let Some(f) = link_form.get_untracked() {
                    f.reset();
                }
            }
        }
    });

    view! {
        <main class="page">
            <h1>"Repricing"</h1>
            <p class="hint">"Your Shopify prices follow the products you track, with your markup. Nothing is pushed without your approval unless you allow it for a link."</p>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || live.get().map(|r| match r {
                    Err(e) => view! { <ErrorText what="Could not load the proposals" error=e.to_string()/> }.into_any(),
                    Ok(v) => {
                        let can_edit = v.can_edit;
                        let waiting = v.proposals.iter().filter(|p| p.p.state == ProposalState::Proposed).count();
                        view! {
                        <section aria-labelledby="proposals-heading">
                            <h2 id="proposals-heading">"Proposals " {(waiting > 0).then(|| view! { <span class="badge" data-testid="waiting">{waiting} " waiting"</span> })}</h2>
                            {v.proposals.is_empty().then(|| view! { <p class="hint">"No proposals yet: link a product below; when its price changes, the new price for your store appears here."</p> })}
                            <div class="table-scroll">
                            <table class="log proposals" data-testid="proposals">
                                <thead><tr>
                                    {can_edit.then(|| view! { <th><span class="visually-hidden">"Select"</span></th> })}
                                    <th>"Product"</th><th>"Your variant"</th><th>"Source"</th><th>"Now"</th><th>"Proposed"</th><th>"Rule"</th><th>"State"</th>
                                    {can_edit.then(|| view! { <th><span class="visually-hidden">"Actions"</span></th> })}
                                </tr></thead>
                                <tbody>
                                    {v.proposals.iter().map(|row| {
                                        let p = row.p.clone();
                                        let pick = format!("{}@{}", p.id, p.version);
                                        let pick2 = pick.clone();
                                        let waiting = p.state == ProposalState::Proposed;
                                        let (id1, id2) = (p.id.clone(), p.id.clone());
                                        let (v1, v2) = (p.version.to_string(), p.version.to_string());
                                        view! {
                                            <tr data-testid="proposal" data-state=state_attr(p.state) data-id=p.id.clone() data-created=p.created.timestamp_millis()>
                                                {can_edit.then(|| view! { <td>{waiting.then(move || {
                                                    let pick = pick.clone();
                                                    let pick2 = pick2.clone();
                                                    view! {
                                                    <input type="checkbox" aria-label="Select for bulk approval" data-testid="select"
                                                        prop:checked=move || selected.with(|s| s.contains(&pick2))
                                                        on:change=move |_| selected.update(|s| {
                                                            if let Some(i) = s.iter().position(|x| *x == pick) { s.remove(i); } else { s.push(pick.clone()); }
                                                        })/>
                                                }})}</td> })}
                                                <td><a href=product_href(&row.source_key)>{row.source_title.clone()}</a></td>
                                                <td>{row.target_title.clone()}</td>
                                                <td>{p.source_price.to_string()} " " {p.source_currency.clone()}</td>
                                                <td data-testid="current">{money(p.current_target)}</td>
                                                <td data-testid="proposed"><strong>{money(p.proposed)}</strong></td>
                                                <td class="hint">{p.rule.clone()}
                                                    {p.rate.map(|r| view! { <br/><span data-testid="rate">{format!("converted at {} {} per {}", r.normalize(), p.target_currency.clone().unwrap_or_default(), p.source_currency)}</span> })}
                                                    {p.note.clone().map(|n| view! { <br/>{n} })}</td>
                                                <td>
                                                    <span class="state" data-testid="state">{state_label(p.state)}</span>
                                                    {(p.state == ProposalState::Done).then(|| view! { <br/><span data-testid="pushed">"now " {money(p.pushed_price.or(p.proposed))}</span> })}
                                                    {p.error.clone().map(|e| view! { <br/><span class="error-text">{e}</span> })}
                                                    {p.approved_by.clone().map(|b| view! { <br/><span class="hint">"by " {b} " · " <LocalTime at=p.updated/></span> })}
                                                </td>
                                                {can_edit.then(move || view! { <td>{waiting.then(move || view! {
                                                    <div class="row-actions">
                                                        <ActionForm action=approve attr:class="inline-form">
                                                            <input type="hidden" name="id" value=id1/>
                                                            <input type="hidden" name="version" value=v1/>
                                                            <button type="submit" data-testid="update-shopify">"Update Shopify"</button>
                                                        </ActionForm>
                                                        <ActionForm action=reject attr:class="inline-form">
                                                            <input type="hidden" name="id" value=id2/>
                                                            <input type="hidden" name="version" value=v2/>
                                                            <button type="submit" class="secondary">"Reject"</button>
                                                        </ActionForm>
                                                    </div>
                                                })}</td> })}
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                            </div>
                            {can_edit.then(|| view! {
                                <ActionForm action=bulk attr:class="inline-form">
                                    <input type="hidden" name="picks" prop:value=move || selected.with(|s| s.join(","))/>
                                    <button type="submit" data-testid="approve-selected" prop:disabled=move || selected.with(|s| s.is_empty())>
                                        {move || format!("Update Shopify for {} selected", selected.with(|s| s.len()))}
                                    </button>
                                </ActionForm>
                            })}
                            {outcome(approve.value())}
                            {outcome(reject.value())}
                            {outcome(bulk.value())}
                        </section>

                        <section aria-labelledby="links-heading">
                            <h2 id="links-heading">"Links"</h2>
                            {v.links.is_empty().then(|| view! { <p class="hint">"No links yet."</p> })}
                            <ul class="rules" data-testid="links">
                                {v.links.iter().map(|l| {
                                    let (id1, id2) = (l.link.id.clone(), l.link.id.clone());
                                    let (link_now, nojs) = (l.link.clone(), nojs_links.clone());
                                    view! {
                                        <li class="panel" data-testid="link" data-id=l.link.id.clone()>
                                            <h3><a href=product_href(&l.link.source_product)>{l.source_title.clone()}</a>
                                                {l.size.clone().map(|s| view! { " · size " {s} })}
                                                " → " {l.link.target_title.clone()}</h3>
                                            <p>"Source " {money(l.source_price)} " " {l.currency.clone()}
                                               " · your store " <span data-testid="target-price">{money(l.link.target_price)}</span> " " {l.store_currency.clone()}
                                               {l.link.target_stock.map(|s| view! { " · " {s} " in stock" })}
                                               " · markup: " {l.rule.clone()}</p>
                                            {can_edit.then(move || view! {
                                                <div class="row-actions">
                                                    <ActionForm action=propose attr:class="inline-form">
                                                        <input type="hidden" name="id" value=id1/>
                                                        <button type="submit" class="secondary">"Propose now"</button>
                                                    </ActionForm>
                                                    <details class="inline">
                                                        <summary>"Remove…"</summary>
                                                        <ActionForm action=unlink>
                                                            <input type="hidden" name="id" value=id2/>
                                                            <button type="submit" class="danger">"Remove link"</button>
                                                        </ActionForm>
                                                    </details>
                                                </div>
                                                <LinkEditForm link=link_now action=edit editing nojs/>
                                            })}
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                            {outcome(propose.value())}
                            {outcome(unlink.value())}
                        </section>
                        <LiveTick since=v.last_seq tick/>
                        }.into_any()
                    }
                })}
            </Transition>

            <Transition fallback=|| ()>
                {move || settings.get().map(|r| match r {
                    Err(e) => view! { <ErrorText what="Could not load the repricing settings" error=e.to_string()/> }.into_any(),
                    Ok(v) => {
                        let connected = v.shop.domain.is_some();
                        view! {
                        {(v.can_edit && connected).then(|| view! {
                            <section class="panel" aria-labelledby="link-heading">
                                <h2 id="link-heading">"Link a product to your store"</h2>
                                <ActionForm action=link node_ref=link_form attr:class="form" attr:data-testid="link-form">
                                    <label>"Tracked product " <span class="hint">"(its key, or its Dropwatch address)"</span>
                                        <input type="text" name="product" value=prefill() required aria-describedby="link-product-error"/></label>
                                    {field_error(link_result, "product", "link-product-error".into(), None)}
                                    <label>"Size " <span class="hint">"(empty: the lowest price of any size)"</span>
                                        <input type="text" name="size" size="6" aria-describedby="link-size-error"/></label>
                                    {field_error(link_result, "size", "link-size-error".into(), None)}
                                    <label>"Your variant " <span class="hint">"(its SKU, or its address in your Shopify admin)"</span>
                                        <input type="text" name="target" node_ref=target_input required autocomplete="off" spellcheck="false" aria-describedby="link-target-error"/></label>
                                    {field_error(link_result, "target", "link-target-error".into(), None)}
                                    <MarkupFields result=link_fields prefix="link"/>
                                    <label class="check"><input type="checkbox" name="inherit"/> " Use the store's markups below instead (by tag, else the store default)"</label>
                                    <button type="submit">"Link"</button>
                                    {outcome(link_result)}
                                </ActionForm>
                                <details>
                                    <summary>"Find the variant in your store"</summary>
                                    <ActionForm action=search attr:class="inline-form">
                                        <input type="search" name="query" placeholder="words of the title, or sku:ABC" aria-label="Search your store"/>
                                        <button type="submit" class="secondary">"Search"</button>
                                    </ActionForm>
                                    {move || search.value().get().and_then(|r| r.ok()).map(|r| view! {
                                        {r.message.map(|m| view! { <p class="hint">{m}</p> })}
                                        <ul class="search-results">
                                            {r.found.into_iter().map(|t| {
                                                let id = t.id.clone();
                                                view! {
                                                    <li>{t.title} " · " {t.sku.unwrap_or_default()} " · " {t.price.to_string()} " "
                                                        <button type="button" class="secondary" on:click=move |_| {
                                                            if let Some(i) = target_input.get_untracked() { i.set_value(&id); }
                                                        }>"Use"</button>
                                                    </li>
                                                }
                                            }).collect_view()}
                                        </ul>
                                    })}
                                </details>
                            </section>
                        })}

                        {(v.can_edit && connected).then(|| view! {
                            <ImportPanel action=import came_back=import_said.clone()/>
                        })}

                        <section aria-labelledby="markups-heading">
                            <h2 id="markups-heading">"Store markups"</h2>
                            <p class="hint">"Links that follow the store take the first tag markup matching the product's tags, else the store default."</p>
                            {v.markups.is_empty().then(|| view! { <p class="hint">"None yet."</p> })}
                            <ul data-testid="markups">
                                {v.markups.iter().map(|(tag, words)| {
                                    let t = tag.clone().unwrap_or_default();
                                    view! {
                                        <li>{match tag { Some(t) => format!("Tag {t:?}: "), None => "Store default: ".into() }} {words.clone()}
                                            {v.can_edit.then(move || view! {
                                                " " <ActionForm action=remove_markup attr:class="inline-form">
                                                    <input type="hidden" name="tag" value=t/>
                                                    <button type="submit" class="secondary">"Remove"</button>
                                                </ActionForm>
                                            })}
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                            {v.can_edit.then(|| view! {
                                <details class="panel">
                                    <summary><h3 class="inline-heading">"Set a store or tag markup"</h3></summary>
                                    <ActionForm action=save_markup attr:class="form">
                                        <label>"Tag " <span class="hint">"(empty: the store default)"</span> <input type="text" name="tag"/></label>
                                        <MarkupFields result=markup_fields prefix="markup"/>
                                        <button type="submit">"Save markup"</button>
                                        {outcome(markup_result)}
                                    </ActionForm>
                                </details>
                            })}
                            {outcome(remove_markup.value())}
                        </section>

                        <section aria-labelledby="shop-heading">
                            <h2 id="shop-heading">"Your Shopify store"</h2>
                            <p data-testid="shop-status">{match (&v.shop.name, &v.shop.domain) {
                                (Some(n), Some(d)) => format!("Connected to {n} ({d})."),
                                (None, Some(d)) => format!("Connected to {d}."),
                                _ => "No store connected yet.".to_string(),
                            }} {v.shop.currency.clone().filter(|_| connected).map(|c| view! {
                                " It sells in " <span data-testid="shop-currency">{c}</span>
                                "; a source priced in another currency needs a conversion rate in its markup."
                            })} " " {if v.shop.webhook_secret_set { "Its webhooks are checked with the app secret." } else { "No webhook secret set: the shop's webhooks are refused." }}</p>
                            {(!v.is_admin && !connected).then(|| view! { <p class="hint">"An admin connects the store."</p> })}
                            {v.is_admin.then(|| view! {
                                {v.shop.offered.clone().map(|label| view! {
                                    <ActionForm action=connect_offered attr:class="inline-form">
                                        <button type="submit" class="secondary" data-testid="connect-offered">{format!("Connect {label}")}</button>
                                        <span class="hint">" (offered by this server, to try repricing out)"</span>
                                    </ActionForm>
                                    {outcome(connect_offered.value())}
                                })}
                                <details class="panel" open=!connected>
                                    <summary><h3 class="inline-heading">"Connect a store"</h3></summary>
                                    <ActionForm action=connect node_ref=connect_form attr:class="form">
                                        <label>"Shop domain" <input type="text" name="domain" placeholder="my-shop.myshopify.com" aria-describedby="shop-domain-error"/></label>
                                        {field_error(connect_result, "domain", "shop-domain-error".into(), None)}
                                        <label>"Admin API access token" <input type="password" name="token" autocomplete="off" placeholder="shpat_…" aria-describedby="shop-token-error"/></label>
                                        {field_error(connect_result, "token", "shop-token-error".into(), None)}
                                        <p class="hint">"A custom app's token with read_products and write_products. Kept encrypted; never shown again."</p>
                                        <button type="submit">"Test connection and save"</button>
                                        {outcome(connect_result)}
                                    </ActionForm>
                                </details>
                                <details class="panel">
                                    <summary><h3 class="inline-heading">"Webhooks from your shop"</h3></summary>
                                    <p class="hint">"Subscribe your app to products/update and inventory_levels/update at " <code>"/webhooks/shopify"</code> " on this server; Dropwatch checks each one's signature with the app's secret."</p>
                                    <ActionForm action=secret node_ref=secret_form attr:class="form">
                                        <label>"App secret" <input type="password" name="secret" autocomplete="off" aria-describedby="shop-secret-error"/></label>
                                        {field_error(secret_result, "secret", "shop-secret-error".into(), None)}
                                        <button type="submit">"Save secret"</button>
                                        {outcome(secret_result)}
                                    </ActionForm>
                                </details>
                            })}
                        </section>
                        {(!v.can_edit).then(|| view! {
                            <p class="hint" data-testid="read-only">"You can read proposals and links; approving and linking need the editor role."</p>
                        })}
                        }.into_any()
                    }
                })}
            </Transition>
        </main>
    }
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
