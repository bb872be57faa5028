//! Editing a watch rule on the Alerts page (issue 21): an "Edit…" form on
//! each rule with its scope, condition, channels and cooldown as they are.
//! Saving goes through the same `AlertService::save_rule` as a new rule,
//! which checks everything before it writes anything, so an edit is refused
//! whole or applied whole. It is an `ActionForm`: without the wasm it is a
//! plain form post, sent back to the page (with the mistake next to its
//! field when refused, see `api::back_with_error`).

use leptos::prelude::*;

use model::{ChannelInfo, Rule};

#[cfg(feature = "ssr")]
use crate::api::{back_with_error, caller, control};
use crate::api::{format_interval, FormResult, NoJsError};
use crate::rule_form::{condition_parts, RuleFields};
use crate::sources::{field_error, outcome};

/// The name a rule's edit form goes by (for a refused plain post).
pub fn form_name(rule_id: &str) -> String {
    format!("edit-rule:{rule_id}")
}

/// Saves a rule's scope, condition, channels (each checked box's id) and
/// cooldown; the rule keeps its id, its creation time and whether it is
/// paused. Checked whole before anything is written (editors).
#[server]
pub async fn edit_rule(
    id: String,
    #[server(flatten)] fields: RuleFields,
    channels: Option<Vec<String>>,
) -> Result<FormResult, ServerFnError> {
    use crate::alerts::result_of;
    let who = caller(model::Role::Editor)?;
    let alerts = control()?.alerts;
    let form = form_name(&id);
    let refuse = |r: FormResult| {
        back_with_error("/alerts", &form, &r);
        Ok(r)
    };
    let old = match alerts.rule(&id) {
        Ok(r) => r,
        Err(e) => {
            return refuse(FormResult::failed(format!(
                "{e}: it was deleted meanwhile; reload the page."
            )))
        }
    };
    let condition = match fields.condition() {
        Ok(c) => c,
        Err((field, msg)) => return refuse(FormResult::field(field, msg)),
    };
    let cooldown_secs = match fields.cooldown_secs(old.cooldown_secs) {
        Ok(s) => s,
        Err((field, msg)) => return refuse(FormResult::field(field, msg)),
    };
    let rule = Rule {
        name: fields.name(),
        scope: fields.scope(),
        condition,
        channels: channels
            .unwrap_or_default()
            .into_iter()
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty())
            .collect(),
        cooldown_secs,
        ..old
    };
    let r = result_of(alerts.save_rule(&who, rule).await, |r| {
        format!("Saved the rule {:?}: {}.", r.name, r.condition.describe())
    });
    match r {
        Ok(result) if !result.ok => refuse(result),
        other => other,
    }
}

/// The "Edit…" form of one rule (editors). `editing` holds the id of the
/// rule whose form was submitted last, so that one action's result shows
/// under that rule's form only.
#[component]
pub fn RuleEditForm(
    rule: Rule,
    channels: Vec<ChannelInfo>,
    /// Sources (key, name), for the store.
    sources: Vec<(String, String)>,
    action: ServerAction<EditRule>,
    editing: RwSignal<String>,
    nojs: NoJsError,
) -> impl IntoView {
    let id = rule.id.clone();
    let form = form_name(&id);
    let mine = id.clone();
    let result = Signal::derive(move || {
        editing
            .with(|e| *e == mine)
            .then(|| action.value().get())
            .flatten()
    });
    let err = {
        let id = id.clone();
        let nojs = nojs.clone();
        let form = form.clone();
        move |f: &'static str| {
            field_error(
                result,
                f,
                format!("rule-{id}-{f}-error"),
                nojs.for_field(&form, f),
            )
        }
    };
    let described = {
        let id = id.clone();
        move |f: &str| format!("rule-{id}-{f}-error")
    };
    let (kind, value) = condition_parts(&rule.condition);
    let scope = rule.scope.clone();
    let store = scope.source.clone().unwrap_or_default();
    let on_submit = {
        let id = id.clone();
        move |_: leptos::ev::MouseEvent| editing.set(id.clone())
    };
    let came_back = nojs.for_form(&form);
    view! {
        <details class="inline edit" open=nojs.is(&form)>
            <summary>"Edit…"</summary>
            <ActionForm action=action attr:class="form" attr:data-testid="edit-rule">
                <input type="hidden" name="id" value=id.clone()/>
                <label>"Name " <input type="text" name="name" value=rule.name.clone()/></label>
                <label>"When"
                    <select name="condition" aria-describedby=described("condition")>
                        {crate::rule_form::CONDITIONS.iter().map(|(v, l)| view! {
                            <option value=*v selected={*v == kind}>{*l}</option>
                        }).collect_view()}
                    </select>
                </label>
                {err("condition")}
                <label>"Value " <span class="hint">"(price, % or amount, for the conditions with …)"</span>
                    <input type="text" name="value" inputmode="decimal" value=value aria-describedby=described("value")/></label>
                {err("value")}
                {err("price")}
                {err("percent")}
                {err("amount")}
                <fieldset>
                    <legend>"For which products " <span class="hint">"(empty: all)"</span></legend>
                    <label>"Words in the title" <input type="text" name="keywords" value=scope.keywords.join(" ")/></label>
                    <label>"Brand" <input type="text" name="brand" value=scope.brand.clone().unwrap_or_default()/></label>
                    <label>"Series / collection" <input type="text" name="series" value=scope.series.clone().unwrap_or_default()/></label>
                    <label>"Store"
                        <select name="store">
                            <option value="" selected={store.is_empty()}>"Any store"</option>
                            {sources.into_iter().map(|(k, n)| {
                                let selected = k == store;
                                view! { <option value=k selected=selected>{n}</option> }
                            }).collect_view()}
                        </select>
                    </label>
                    <label>"One product " <span class="hint">"(its key; empty: any)"</span>
                        <input type="text" name="product" value=scope.product.clone().unwrap_or_default()/></label>
                    <label>"Sizes " <span class="hint">"(comma-separated)"</span> <input type="text" name="sizes" value=scope.sizes.join(", ")/></label>
                </fieldset>
                <fieldset aria-describedby=described("channels")>
                    <legend>"Notify"</legend>
                    {channels.into_iter().map(|c| {
                        let checked = rule.channels.contains(&c.id);
                        view! {
                            <label class="check"><input type="checkbox" name="channels[]" value=c.id checked=checked/> " " {c.name}</label>
                        }
                    }).collect_view()}
                </fieldset>
                {err("channels")}
                <label>"No repeat for the same product and size within "
                    <input type="text" name="cooldown" value=format_interval(rule.cooldown_secs) aria-describedby=described("cooldown")/></label>
                {err("cooldown")}
                <button type="submit" on:click=on_submit>"Save rule"</button>
                {came_back.map(|m| view! { <p class="error" role="alert">{m}</p> })}
                {outcome(result)}
            </ActionForm>
        </details>
    }
}
