//! The dashboard's "For you": picks for the signed-in user (see
//! `model::picks`), learned from the product pages they open, the grid
//! filters they use and the watch rules they create, kept per user in the
//! database. "Clear what Dropwatch learned" forgets all of it; it is a
//! plain form post, so it works without JavaScript too. Anonymous visitors
//! are learned nothing about and see no "For you".

use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use model::picks::ForYou;

use crate::api::FormResult;
use crate::suggestion::Suggestion;
use crate::ui::ErrorText;

/// Keeps `signal` for the caller's picks, if they are a user signed in
/// with a session (a browser: what a program reads with a token is not
/// what its owner looked at). A failure is logged by the engine and does
/// not fail the page.
#[cfg(feature = "ssr")]
pub(crate) async fn learn(
    who: &monitor::Identity,
    engine: &monitor::Engine,
    signal: Option<model::picks::Signal>,
) {
    let session = matches!(who.credential, monitor::auth::Credential::Session(_));
    if let (true, Some(user), Some(signal)) = (session, who.viewer.user.as_deref(), signal) {
        let _ = engine.note_signal(user, &signal).await;
    }
}

/// The caller's picks; `None` for an anonymous visitor.
#[server(input = Json)]
pub async fn load_picks() -> Result<Option<ForYou>, ServerFnError> {
    let who = crate::api::caller(model::Role::Viewer)?;
    let Some(user) = who.viewer.user else {
        return Ok(None);
    };
    let control = crate::api::control()?;
    let rules = control.alerts.rules();
    control
        .engine
        .picks(&user, &rules, model::picks::MAX_PICKS)
        .await
        .map(Some)
        .map_err(|e| crate::api::words("could not read what Dropwatch learned", e))
}

/// Forgets everything picks learned about the caller.
#[server]
pub async fn clear_picks() -> Result<FormResult, ServerFnError> {
    // Anonymous visitors are refused (401) here: nothing is learned about them.
    let who = crate::access::signed_in()?;
    let Some(user) = who.viewer.user else {
        return Err(ServerFnError::new("Sign in first."));
    };
    let forgot = crate::api::engine()?
        .forget_signals(&user)
        .await
        .map_err(|e| crate::api::words("could not clear what Dropwatch learned", e))?;
    crate::api::back_to("/");
    Ok(FormResult {
        ok: true,
        message: format!(
            "Dropwatch forgot what it learned from your views, filters and rules ({forgot} signals)."
        ),
        errors: vec![],
    })
}

#[component]
pub fn ForYouPanel() -> impl IntoView {
    let clear = ServerAction::<ClearPicks>::new();
    let data = Resource::new(move || clear.version().get(), |_| load_picks());
    view! {
        <Transition fallback=|| ()>
            {move || data.get().map(|r| match r {
                // Nothing learned (or nobody signed in): nothing to show.
                Ok(Some(f)) if f.signals > 0 => view! { <Picks f clear/> }.into_any(),
                Ok(_) => ().into_any(),
                Err(e) => view! { <ErrorText what="Could not load your picks" error=e.to_string()/> }.into_any(),
            })}
        </Transition>
        {crate::sources::outcome(clear.value())}
    }
}

#[component]
fn Picks(f: ForYou, clear: ServerAction<ClearPicks>) -> impl IntoView {
    let empty = f.picks.is_empty();
    view! {
        <section class="panel picks" aria-labelledby="for-you-heading" data-testid="for-you">
            <div class="picks-head">
                <h2 id="for-you-heading">"For you"</h2>
                <ActionForm action=clear attr:class="inline">
                    <button type="submit" class="link-button" data-testid="clear-picks">"Clear what Dropwatch learned"</button>
                </ActionForm>
            </div>
            {empty.then(|| view! { <p class="hint">"Nothing in stock matches what you looked at yet."</p> })}
            <ul class="suggestions">
                {f.picks.into_iter().map(|p| {
                    let why = p.said();
                    view! { <Suggestion product=p.product why testid="pick"/> }
                }).collect_view()}
            </ul>
            <p class="hint">
                "Learned from the products you open, the filters you use and the rules you create ("
                {f.signals} " kept, only for you)."
            </p>
        </section>
    }
}
