//! Alerts: the rules page (watch rules, notification channels with "Send
//! test" and "Enable push on this device", the notification log) and the
//! "Watch" button of the product page and the grid. Its server functions
//! are in `alerts_api.rs` (re-exported here). The rules themselves live in
//! `monitor::alerts`; every change checks the caller's role there and here.

use leptos::prelude::*;

use model::Delivery;

pub use crate::alerts_api::*;
use crate::api::NoJsError;
use crate::rule_edit::{EditRule, RuleEditForm};
use crate::rule_form::CONDITIONS;
use crate::sources::{field_error, outcome};
use crate::time::LocalTime;
use crate::ui::ErrorText;

fn condition_options() -> impl IntoView {
    CONDITIONS
        .iter()
        .map(|(v, l)| view! { <option value=*v>{*l}</option> })
        .collect_view()
}

/// The product page's "Watch" form (editors).
#[component]
pub fn WatchForm(key: String, sizes: Vec<String>) -> impl IntoView {
    let watch = ServerAction::<WatchProduct>::new();
    let me = Resource::new(|| (), |_| crate::access::whoami());
    let result = watch.value();
    view! {
        <Suspense fallback=|| ()>
            {move || {
                let key = key.clone();
                let key_for_link = key.clone();
                let sizes = sizes.clone();
                me.get().map(|r| r.ok().flatten().filter(|v| v.can(model::Role::Editor)).map(|_| view! {
                    <section class="panel watch" aria-labelledby="watch-heading">
                        <h2 id="watch-heading">"Get alerts"</h2>
                        <ActionForm action=watch attr:class="inline-form" attr:data-testid="watch-form">
                            <input type="hidden" name="key" value=key/>
                            <label>"Size "
                                <select name="size">
                                    <option value="">"Any size"</option>
                                    {sizes.into_iter().map(|s| view! { <option value=s.clone()>{s.clone()}</option> }).collect_view()}
                                </select>
                            </label>
                            <label>"When "
                                <select name="condition">{condition_options()}</select>
                            </label>
                            <label>"Value " <input type="text" name="value" size="6" inputmode="decimal" placeholder="e.g. 120"/></label>
                            <button type="submit" data-testid="watch">"Watch"</button>
                        </ActionForm>
                        {field_error(result, "channels", "watch-channels".into(), None)}
                        {field_error(result, "value", "watch-value".into(), None)}
                        {move || result.get().and_then(|r| r.ok()).filter(|r| r.ok).map(|r| view! {
                            <p class="ok" role="status">{r.message} " " <a href="/alerts">"See alerts"</a></p>
                        })}
                        <p><a href=format!("/repricing?product={}", crate::ui::encode_segment(&key_for_link)) data-testid="sell-in-store">"Sell it in your store…"</a>
                           <span class="hint">" (your Shopify price follows this one, with your markup)"</span></p>
                    </section>
                }))
            }}
        </Suspense>
    }
}

/// The grid card's one-click "Watch" (any drop or restock, every channel).
#[component]
pub fn WatchButton(key: String, action: ServerAction<WatchProduct>) -> impl IntoView {
    view! {
        <ActionForm action=action attr:class="watch-one">
            <input type="hidden" name="key" value=key/>
            <button type="submit" class="small" data-testid="watch-card">"Watch"</button>
        </ActionForm>
    }
}

fn state_label(d: &Delivery) -> String {
    match d.state.as_str() {
        "sent" => "✓ sent".into(),
        "failed" => "✗ failed".into(),
        "sending" => "sending…".into(),
        _ if d.attempts > 0 => format!("retrying (attempt {})", d.attempts + 1),
        _ => "queued".into(),
    }
}

/// Live on this page: every event may be an alert on its way, so the log
/// refreshes (the 2 s clock then catches its "sent").
#[component]
fn LiveTick(since: u64, tick: RwSignal<u32>) -> impl IntoView {
    crate::live::use_live_events(since, move |_| tick.update(|t| *t += 1));
}

#[component]
pub fn AlertsPage() -> impl IntoView {
    let save = ServerAction::<SaveRule>::new();
    let toggle = ServerAction::<SetRuleEnabled>::new();
    let delete = ServerAction::<DeleteRule>::new();
    let add = ServerAction::<AddChannel>::new();
    let remove = ServerAction::<RemoveChannel>::new();
    let test = ServerAction::<SendTestNotification>::new();
    let edit = ServerAction::<EditRule>::new();
    // Whose "Edit…" form was submitted last: its result shows there only.
    let editing = RwSignal::new(String::new());
    let nojs = NoJsError::from_query();
    // The log refreshes every 2 s while the page is open (in the browser).
    let tick = RwSignal::new(0u32);
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        {
            let handle = set_interval_with_handle(
                move || tick.update(|t| *t += 1),
                std::time::Duration::from_secs(2),
            );
            if let Ok(h) = handle {
                on_cleanup(move || h.clear());
            }
        }
    });
    // A refused edit keeps its form open with the mistakes in it: only a
    // saved edit reloads the rules (which re-draws them closed).
    let edits_saved = RwSignal::new(0u32);
    Effect::new(move |_| {
        if let Some(Ok(r)) = edit.value().get() {
            if r.ok {
                edits_saved.update(|n| *n = n.wrapping_add(1));
            }
        }
    });
    let changed = move || {
        (
            save.version().get(),
            toggle.version().get(),
            delete.version().get(),
            add.version().get(),
            remove.version().get(),
            test.version().get(),
            edits_saved.get(),
        )
    };
    // Rules and channels reload after a change only (never under a user's
    // typing); the log also on the clock.
    let data = Resource::new(changed, |_| load_alerts());
    let log = Resource::new(move || (changed(), tick.get()), |_| load_alerts());
    let save_result = save.value();
    let add_result = add.value();
    // A channel added: clear the form (its address is a secret).
    let add_form = NodeRef::<leptos::html::Form>::new();
    Effect::new(move |_| {
        if let Some(Ok(r)) = add_result.get() {
            if r.ok {
                if let Some(f) = add_form.get_untracked() {
                    f.reset();
                }
            }
        }
    });
    view! {
        <main class="page">
            <h1>"Alerts"</h1>
            <p class="hint">"Rules say what to watch; channels say where alerts go. Every alert is queued before it is sent, so a restart loses none."</p>
            <script src="/push.js" defer></script>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || log.get().map(|r| match r {
                    Err(e) => view! { <ErrorText what="Could not load the notification log" error=e.to_string()/> }.into_any(),
                    Ok(v) => {
                        let names: std::collections::HashMap<String, String> = v.channels.iter().map(|c| (c.id.clone(), c.name.clone())).collect();
                        let rule_names: std::collections::HashMap<String, String> = v.rules.iter().map(|r| (r.id.clone(), r.name.clone())).collect();
                        view! {
                        <section aria-labelledby="log-heading">
                            <h2 id="log-heading">"Notification log"</h2>
                            {v.log.is_empty().then(|| view! { <p class="hint">"Nothing sent yet."</p> })}
                            <div class="table-scroll">
                            <table class="log" data-testid="notification-log">
                                <thead><tr><th>"When"</th><th>"Alert"</th><th>"Rule"</th><th>"Channel"</th><th>"State"</th></tr></thead>
                                <tbody>
                                    {v.log.iter().map(|d| view! {
                                        <tr data-state=d.state.clone() data-testid="notification">
                                            <td><LocalTime at=d.sent_at.unwrap_or(d.created)/></td>
                                            <td>{d.title.clone()}</td>
                                            <td>{rule_names.get(&d.rule).cloned().unwrap_or_else(|| "(deleted rule)".into())}</td>
                                            <td>{names.get(&d.channel).cloned().unwrap_or_else(|| "(removed channel)".into())}</td>
                                            <td>
                                                <span class="state">{state_label(d)}</span>
                                                {d.last_error.clone().map(|e| view! { <br/><span class="error-text">{e}</span> })}
                                            </td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                            </div>
                        </section>

                        }.into_any()
                    }
                })}
            </Transition>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || data.get().map(|r| match r {
                    Err(e) => view! { <ErrorText what="Could not load the alerts" error=e.to_string()/> }.into_any(),
                    Ok(v) => {
                        let names: std::collections::HashMap<String, String> = v.channels.iter().map(|c| (c.id.clone(), c.name.clone())).collect();
                        let can_edit = v.can_edit;
                        let nojs = nojs.clone();
                        view! {
                        <LiveTick since=v.last_seq tick/>
                        <section aria-labelledby="rules-heading">
                            <h2 id="rules-heading">"Rules"</h2>
                            {v.rules.is_empty().then(|| view! { <p class="hint">"No rules yet. Add one below, or press \"Watch\" on a product."</p> })}
                            <ul class="rules" data-testid="rules">
                                {v.rules.iter().map(|r| {
                                    let (id1, id2) = (r.id.clone(), r.id.clone());
                                    let paused = r.paused;
                                    let to = r.channels.iter().map(|c| names.get(c).cloned().unwrap_or_else(|| c.clone())).collect::<Vec<_>>().join(", ");
                                    let (rule, channels, sources, nojs) = (r.clone(), v.channels.clone(), v.sources.clone(), nojs.clone());
                                    view! {
                                        <li class="panel" data-testid="rule" data-paused=r.paused.to_string() data-id=r.id.clone()>
                                            <h3>{r.name.clone()} {r.paused.then(|| view! { " " <span class="badge">"paused"</span> })}</h3>
                                            <p>"When " {r.condition.describe()} " · for " {r.scope.describe()} " · to " {to}
                                               " · no repeat within " {crate::api::format_interval(r.cooldown_secs)}</p>
                                            {can_edit.then(move || view! {
                                                <div class="row-actions">
                                                    <ActionForm action=toggle attr:class="inline-form">
                                                        <input type="hidden" name="id" value=id1/>
                                                        <input type="hidden" name="enabled" value=paused.to_string()/>
                                                        <button type="submit">{if paused { "Resume" } else { "Pause" }}</button>
                                                    </ActionForm>
                                                    <details class="inline">
                                                        <summary>"Delete…"</summary>
                                                        <ActionForm action=delete>
                                                            <input type="hidden" name="id" value=id2/>
                                                            <button type="submit" class="danger">"Delete rule"</button>
                                                        </ActionForm>
                                                    </details>
                                                </div>
                                                <RuleEditForm rule channels sources action=edit editing nojs/>
                                            })}
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                            {can_edit.then(|| {
                                let channels = v.channels.clone();
                                let sources = v.sources.clone();
                                view! {
                                <details class="panel">
                                    <summary><h3 class="inline-heading">"New rule"</h3></summary>
                                    <ActionForm action=save attr:class="form" attr:data-testid="new-rule">
                                        <label>"Name " <span class="hint">"(optional)"</span> <input type="text" name="name"/></label>
                                        <label>"When" <select name="condition">{condition_options()}</select></label>
                                        <label>"Value " <span class="hint">"(price, %, amount, score or days, for the conditions with …)"</span>
                                            <input type="text" name="value" inputmode="decimal" aria-describedby="rule-value-error"/></label>
                                        {field_error(save_result, "value", "rule-value-error".into(), None)}
                                        {field_error(save_result, "price", "rule-price-error".into(), None)}
                                        {field_error(save_result, "percent", "rule-percent-error".into(), None)}
                                        {field_error(save_result, "amount", "rule-amount-error".into(), None)}
                                        <fieldset>
                                            <legend>"For which products " <span class="hint">"(empty: all)"</span></legend>
                                            <label>"Words in the title" <input type="text" name="keywords" placeholder="dunk low panda"/></label>
                                            <label>"Brand" <input type="text" name="brand"/></label>
                                            <label>"Series / collection" <input type="text" name="series"/></label>
                                            <label>"Store"
                                                <select name="store">
                                                    <option value="">"Any store"</option>
                                                    {sources.into_iter().map(|(k, n)| view! { <option value=k>{n}</option> }).collect_view()}
                                                </select>
                                            </label>
                                            <label>"Sizes " <span class="hint">"(comma-separated)"</span> <input type="text" name="sizes" placeholder="9, 9.5, 10"/></label>
                                        </fieldset>
                                        <label>"Notify"
                                            <select name="channel" aria-describedby="rule-channels-error">
                                                <option value="*">"Every channel"</option>
                                                {channels.into_iter().map(|c| view! { <option value=c.id>{c.name}</option> }).collect_view()}
                                            </select>
                                        </label>
                                        {field_error(save_result, "channels", "rule-channels-error".into(), None)}
                                        <label>"No repeat for the same product and size within" <input type="text" name="cooldown" value="15m" aria-describedby="rule-cooldown-error"/></label>
                                        {field_error(save_result, "cooldown", "rule-cooldown-error".into(), None)}
                                        <button type="submit">"Add rule"</button>
                                        {outcome(save_result)}
                                    </ActionForm>
                                </details>
                            }})}
                        </section>

                        <section aria-labelledby="channels-heading">
                            <h2 id="channels-heading">"Channels"</h2>
                            {v.channels.is_empty().then(|| view! { <p class="hint">"No channels yet: add a Discord webhook, Telegram bot, ntfy topic, email or this browser below."</p> })}
                            <ul class="channels" data-testid="channels">
                                {v.channels.iter().map(|c| {
                                    let (id1, id2) = (c.id.clone(), c.id.clone());
                                    view! {
                                        <li class="panel" data-testid="channel" data-kind=c.kind.clone()>
                                            <h3>{c.name.clone()} " " <span class="badge">{c.kind.clone()}</span></h3>
                                            <p><code>{c.redacted.clone()}</code> <span class="hint">" · added by " {c.owner.clone()}</span></p>
                                            {can_edit.then(move || view! {
                                                <div class="row-actions">
                                                    <ActionForm action=test attr:class="inline-form">
                                                        <input type="hidden" name="id" value=id1/>
                                                        <button type="submit" data-testid="send-test">"Send test"</button>
                                                    </ActionForm>
                                                    <details class="inline">
                                                        <summary>"Remove…"</summary>
                                                        <ActionForm action=remove>
                                                            <input type="hidden" name="id" value=id2/>
                                                            <button type="submit" class="danger">"Remove channel"</button>
                                                        </ActionForm>
                                                    </details>
                                                </div>
                                            })}
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                            {outcome(test.value())}
                            {outcome(remove.value())}
                            {can_edit.then(|| view! {
                                <section class="panel" aria-labelledby="add-channel">
                                    <h3 id="add-channel">"Add a channel"</h3>
                                    <ActionForm action=add node_ref=add_form attr:class="form" attr:data-testid="add-channel">
                                        <label>"Name" <input type="text" name="name" placeholder="My Discord"/></label>
                                        <label>"Address"
                                            <input type="text" name="url" required autocomplete="off" spellcheck="false" aria-describedby="channel-url-error channel-url-help"
                                                placeholder="discord://webhook_id/webhook_token"/>
                                        </label>
                                        <p class="hint" id="channel-url-help">
                                            "discord://ID/TOKEN · slack://T/B/X · tgram://BOTTOKEN/CHATID · ntfy://topic or ntfys://host/topic · json://host/path · mailto://user:pass@smtp.host?to=you@example.com (mailtos:// for TLS on 465). Kept encrypted; only a masked form is shown again."
                                        </p>
                                        {field_error(add_result, "url", "channel-url-error".into(), None)}
                                        {field_error(add_result, "name", "channel-name-error".into(), None)}
                                        <button type="submit">"Add channel"</button>
                                        {outcome(add_result)}
                                    </ActionForm>
                                </section>
                            })}
                        </section>
                        {(!can_edit).then(|| view! {
                            <p class="hint" data-testid="read-only">"You can read rules, channels and the log; changing them needs the editor role."</p>
                        })}
                        {outcome(toggle.value())}
                        {outcome(delete.value())}
                    }.into_any()
                    }
                })}
            </Transition>
            // Web Push for this browser (public/push.js shows these when the
            // browser can, and says why not when it cannot).
            <p class="push-row">
                <button type="button" id="push-enable" data-testid="push-enable" hidden>"Enable push on this device"</button>
                <button type="button" id="push-disable" hidden>"Stop push on this device"</button>
                <span id="push-status" class="hint" role="status"></span>
            </p>
        </main>
    }
}
