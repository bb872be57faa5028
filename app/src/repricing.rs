//! Repricing: the user's own Shopify store follows the products they track,
//! with a markup, and never by surprise. The page lists proposals live
//! ("Update Shopify", bulk approve, reject), the links from tracked products
//! to the store's variants, the store-wide and per-tag markups, and the
//! store's connection (admins). The logic is `monitor::repricing`; every
//! change checks the caller's role there and here.
//!
//! This file is the page and what only it shows; its server functions are
//! `repricing_api.rs` (the page's data, the store's connection, markups,
//! proposals) and `link_api.rs` (links), re-exported here, and the markup
//! inputs it shares with a link's edit form are `markup_fields.rs`.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use rust_decimal::Decimal;

use model::ProposalState;

use crate::api::NoJsError;
pub use crate::link_api::*;
use crate::link_edit::{EditLink, LinkEditForm};
use crate::link_import::{ImportLinks, ImportPanel};
use crate::markup_fields::MarkupFields;
pub use crate::repricing_api::*;
use crate::sources::{field_error, outcome};
use crate::time::LocalTime;
use crate::ui::{product_href, ErrorText};

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
