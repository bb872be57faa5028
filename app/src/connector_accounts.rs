//! The connector accounts on the Sources page (admins): the Oxylabs
//! account Amazon sources are read through, a client key and signing salt
//! per Pop Mart region, or the accounts the server offers. Saved secrets
//! are never shown again; the panel says only whether they are set.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::{load_sources, ConnectorsView, SaveOxylabs, SavePopmartKeys, UseOfferedAccounts};
use crate::form_feedback::{field_error, outcome};

/// The accounts connectors use (admins): Oxylabs for Amazon, and a client
/// key and signing salt per Pop Mart region. What is saved is never shown
/// again; the page says only whether it is set.
#[component]
pub(crate) fn ConnectorAccounts(initial: ConnectorsView) -> impl IntoView {
    let oxy = ServerAction::<SaveOxylabs>::new();
    let pm = ServerAction::<SavePopmartKeys>::new();
    let take_offered = ServerAction::<UseOfferedAccounts>::new();
    let offered = initial.offered.clone();
    let status = RwSignal::new(initial);
    // After each save, say what is set now.
    Effect::new(move |ran: Option<()>| {
        (
            oxy.version().get(),
            pm.version().get(),
            take_offered.version().get(),
        );
        if ran.is_some() {
            spawn_local(async move {
                if let Ok(Some(c)) = load_sources().await.map(|v| v.connectors) {
                    status.set(c);
                }
            });
        }
    });
    let (oxy_result, pm_result, offered_result) = (oxy.value(), pm.value(), take_offered.value());
    let password = NodeRef::<leptos::html::Input>::new();
    let salt = NodeRef::<leptos::html::Input>::new();
    let client_key = NodeRef::<leptos::html::Input>::new();
    // Secrets leave the form once saved.
    Effect::new(move |_| {
        if oxy_result.get().is_some_and(|r| r.is_ok_and(|r| r.ok)) {
            if let Some(i) = password.get() {
                i.set_value("");
            }
        }
    });
    Effect::new(move |_| {
        if pm_result.get().is_some_and(|r| r.is_ok_and(|r| r.ok)) {
            for i in [salt.get(), client_key.get()].into_iter().flatten() {
                i.set_value("");
            }
        }
    });
    let oxy_state = move || {
        status.with(|s| match (&s.oxylabs_user, &s.oxylabs_offered) {
            (Some(_), Some(whose)) => format!("Set: {whose}'s Oxylabs."),
            (Some(u), None) => format!("Set for the user {u:?}."),
            (None, _) => "Not set: Amazon sources cannot be read yet.".to_string(),
        })
    };
    let pm_state = move || {
        status.with(|s| {
            if s.popmart_regions.is_empty() {
                "No region has keys yet.".to_string()
            } else {
                format!("Keys set for {}.", s.popmart_regions.join(", "))
            }
        })
    };
    view! {
        <section class="panel" aria-labelledby="connectors-heading" data-testid="connectors">
            <h2 id="connectors-heading">"Connector accounts"</h2>
            <p class="hint">"Kept sealed on this server; never shown again after saving, never logged."</p>
            {offered.map(|whose| view! {
                <ActionForm action=take_offered attr:class="form inline">
                    <button type="submit" class="secondary">{format!("Use {whose}'s Oxylabs and Pop Mart")}</button>
                    {outcome(offered_result)}
                </ActionForm>
            })}
            <h3>"Oxylabs (Amazon)"</h3>
            <p data-testid="oxylabs-state">{oxy_state}</p>
            <ActionForm action=oxy attr:class="form">
                <label>"Oxylabs username" <input type="text" name="user" autocomplete="off" required/></label>
                <label>"Oxylabs password" <input type="password" name="password" autocomplete="new-password" required node_ref=password aria-describedby="oxy-error"/></label>
                {field_error(oxy_result.clone(), "password", "oxy-error".into(), None)}
                <button type="submit">"Save Oxylabs account"</button>
                {outcome(oxy_result)}
            </ActionForm>
            <h3>"Pop Mart"</h3>
            <p data-testid="popmart-state">{pm_state}</p>
            <ActionForm action=pm attr:class="form">
                <label>"Region"
                    <select name="region">
                        {model::POPMART_REGIONS.iter().map(|(code, name, ..)| view! { <option value=*code>{format!("{name} ({code})")}</option> }).collect_view()}
                    </select>
                </label>
                <label>"Client key" <input type="password" name="client_key" autocomplete="off" required node_ref=client_key/></label>
                <label>"Signing salt" <input type="password" name="salt" autocomplete="off" required node_ref=salt aria-describedby="pm-error"/></label>
                {field_error(pm_result.clone(), "salt", "pm-error".into(), None)}
                <button type="submit">"Save Pop Mart keys"</button>
                {outcome(pm_result)}
            </ActionForm>
        </section>
    }
}
