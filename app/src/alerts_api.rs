//! The Alerts page's server functions: the page's data, saving, pausing and
//! deleting a rule, adding, testing and removing a channel, and the one-click
//! "Watch" of the product page and the grid. The rules themselves live in
//! `monitor::alerts`, which checks the caller's role again.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use serde::{Deserialize, Serialize};

use model::{ChannelInfo, Delivery, Rule};

use crate::api::FormResult;
#[cfg(feature = "ssr")]
use crate::api::{back_to, caller, control, words};
use crate::rule_form::RuleFields;
#[cfg(feature = "ssr")]
use crate::rule_form::{condition_from, opt};

/// What the alerts page shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertsView {
    /// The live feed continues after this event.
    pub last_seq: u64,
    pub rules: Vec<Rule>,
    pub channels: Vec<ChannelInfo>,
    /// The newest notifications first.
    pub log: Vec<Delivery>,
    /// Sources (key, name), for a rule's store.
    pub sources: Vec<(String, String)>,
    pub can_edit: bool,
    /// Signed in (not an anonymous visitor): may enable push for themselves.
    pub signed_in: bool,
}

#[server(input = Json)]
pub async fn load_alerts() -> Result<AlertsView, ServerFnError> {
    let who = caller(model::Role::Viewer)?;
    let c = control()?;
    let last_seq = c.engine.store().last_seq();
    let log = c
        .alerts
        .log(&who, 100)
        .await
        .map_err(|e| words("could not read the notification log", e))?;
    Ok(AlertsView {
        last_seq,
        rules: c.alerts.rules(),
        channels: c.alerts.channels(),
        log,
        sources: c
            .engine
            .sources()
            .into_iter()
            .map(|s| (s.key, s.name))
            .collect(),
        can_edit: who.viewer.can(model::Role::Editor),
        signed_in: who.viewer.user.is_some(),
    })
}

#[cfg(feature = "ssr")]
pub(crate) fn result_of<T>(
    r: Result<T, monitor::alerts::AlertError>,
    ok: impl FnOnce(T) -> String,
) -> Result<FormResult, ServerFnError> {
    use monitor::alerts::AlertError;
    match r {
        Ok(v) => {
            back_to("/alerts");
            Ok(FormResult {
                ok: true,
                message: ok(v),
                errors: vec![],
            })
        }
        Err(AlertError::Invalid { field, message }) => Ok(FormResult::field(field, message)),
        Err(AlertError::TestFailed(why)) => Ok(FormResult::failed(why)),
        Err(AlertError::Auth(e)) => {
            if let Some(r) = use_context::<leptos_axum::ResponseOptions>() {
                r.set_status(http::StatusCode::FORBIDDEN);
            }
            Err(ServerFnError::new(e.to_string()))
        }
        Err(e) => Ok(FormResult::failed(e.to_string())),
    }
}

/// Creates a rule from the form. `channel` is one channel's id, or "*" for
/// every channel there is.
#[server]
pub async fn save_rule(
    id: Option<String>,
    #[server(flatten)] rule: RuleFields,
    channel: Option<String>,
) -> Result<FormResult, ServerFnError> {
    let who = caller(model::Role::Editor)?;
    let alerts = control()?.alerts;
    let condition = match rule.condition() {
        Ok(c) => c,
        Err((field, msg)) => return Ok(FormResult::field(field, msg)),
    };
    let channels = match channel.as_deref().map(str::trim) {
        None | Some("") | Some("*") => alerts.channels().into_iter().map(|c| c.id).collect(),
        Some(id) => vec![id.to_string()],
    };
    let cooldown_secs = match rule.cooldown_secs(15 * 60) {
        Ok(s) => s,
        Err((field, msg)) => return Ok(FormResult::field(field, msg)),
    };
    let id = opt(&id).unwrap_or_default();
    // Saving a rule again keeps it paused or running, as it was.
    let paused = alerts.rule(&id).is_ok_and(|r| r.paused);
    let rule = Rule {
        id,
        name: rule.name(),
        scope: rule.scope(),
        condition,
        channels,
        cooldown_secs,
        paused,
        created: chrono::Utc::now(),
        owner: None,
    };
    result_of(alerts.save_rule(&who, rule).await, |r| {
        format!("Saved the rule {:?}.", r.name)
    })
}

/// Pauses (`enabled` = false) or resumes a rule.
#[server]
pub async fn set_rule_enabled(id: String, enabled: bool) -> Result<FormResult, ServerFnError> {
    let who = caller(model::Role::Editor)?;
    let r = control()?.alerts.set_rule_paused(&who, &id, !enabled).await;
    result_of(r, |r| {
        format!(
            "{} {:?}.",
            if r.paused { "Paused" } else { "Resumed" },
            r.name
        )
    })
}

#[server]
pub async fn delete_rule(id: String) -> Result<FormResult, ServerFnError> {
    let who = caller(model::Role::Editor)?;
    let r = control()?.alerts.delete_rule(&who, &id).await;
    result_of(r, |_| "Deleted the rule.".into())
}

#[server]
pub async fn add_channel(name: String, url: String) -> Result<FormResult, ServerFnError> {
    let who = caller(model::Role::Editor)?;
    let r = control()?.alerts.add_channel(&who, &name, &url).await;
    result_of(r, |c| format!("Added {:?} ({}).", c.name, c.redacted))
}

#[server]
pub async fn remove_channel(id: String) -> Result<FormResult, ServerFnError> {
    let who = caller(model::Role::Editor)?;
    let r = control()?.alerts.remove_channel(&who, &id).await;
    result_of(r, |_| "Removed the channel.".into())
}

/// Sends a test message to a channel now; the result says whether it arrived.
#[server]
pub async fn send_test_notification(id: String) -> Result<FormResult, ServerFnError> {
    let who = caller(model::Role::Editor)?;
    let r = control()?.alerts.send_test(&who, &id).await;
    result_of(r, |_| "Sent: the channel took the test message.".into())
}

/// One click: watch this product (one size, or all) for any price drop or
/// restock, or the condition chosen, on every channel there is.
#[server]
pub async fn watch_product(
    key: String,
    size: Option<String>,
    condition: Option<String>,
    value: Option<String>,
) -> Result<FormResult, ServerFnError> {
    let who = caller(model::Role::Editor)?;
    let c = control()?;
    let Some(p) = c.engine.product(&key) else {
        return Ok(FormResult::failed(format!("There is no product {key:?}.")));
    };
    let condition = match condition_from(
        condition.as_deref().unwrap_or(""),
        value.as_deref().unwrap_or(""),
    ) {
        Ok(c) => c,
        Err((field, msg)) => return Ok(FormResult::field(field, msg)),
    };
    let channels: Vec<String> = c.alerts.channels().into_iter().map(|c| c.id).collect();
    if channels.is_empty() {
        return Ok(FormResult::field("channels", "Add a notification channel on the Alerts page first, so the alert has somewhere to go."));
    }
    let sizes = opt(&size).into_iter().collect::<Vec<_>>();
    let name = match sizes.first() {
        Some(s) => format!("{} (size {s})", p.title),
        None => p.title.clone(),
    };
    let rule = Rule {
        id: String::new(),
        name,
        scope: model::Scope {
            product: Some(key),
            sizes,
            ..model::Scope::default()
        },
        condition,
        channels,
        cooldown_secs: 15 * 60,
        paused: false,
        created: chrono::Utc::now(),
        owner: None,
    };
    let n = rule.channels.len();
    let r = c.alerts.save_rule(&who, rule).await;
    result_of(r, |r| {
        format!(
            "Watching: {} — alerts go to {n} channel(s).",
            r.condition.describe()
        )
    })
}
