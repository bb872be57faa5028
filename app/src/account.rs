//! Signing in and one's own account: the sign-in page, the first-admin
//! setup page (opened from the one-time link the server prints), and the
//! account page (change password, API tokens, sign out).
//!
//! Sign-in, setup and sign-out are plain HTML forms posting to `/auth/*`:
//! they work before the wasm loads, and the server sets or clears the
//! HttpOnly session cookie that page scripts never see.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use model::Role;

use crate::access::{load_account, ChangePassword, CreateToken, NewToken, RevokeToken};
use crate::sources::outcome;
use crate::time::LocalTime;
use crate::ui::ErrorText;

fn query(key: &'static str) -> String {
    use_query_map().with_untracked(|q| q.get(key).unwrap_or_default())
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let (next, error, name) = (query("next"), query("error"), query("name"));
    let next = if next.is_empty() {
        "/".to_string()
    } else {
        next
    };
    view! {
        <main class="page narrow">
            <h1>"Sign in"</h1>
            {(!error.is_empty()).then(|| view! { <p class="error" role="alert" data-testid="login-error">{error}</p> })}
            <form class="form panel" method="post" action="/auth/login">
                <input type="hidden" name="next" value=next/>
                <label>"User name" <input type="text" name="name" required autocomplete="username" autocapitalize="none" value=name/></label>
                <label>"Password" <input type="password" name="password" required autocomplete="current-password"/></label>
                <button type="submit">"Sign in"</button>
            </form>
            <p class="hint">"First start? Open the setup link the server printed when it started, or start it with --admin-password."</p>
        </main>
    }
}

#[component]
pub fn SetupPage() -> impl IntoView {
    let (token, error, name) = (query("token"), query("error"), query("name"));
    let name = if name.is_empty() {
        "admin".to_string()
    } else {
        name
    };
    view! {
        <main class="page narrow">
            <h1>"Create the first admin"</h1>
            <p>"This account can manage users, sources and store credentials. The link works once, while no user exists."</p>
            {(!error.is_empty()).then(|| view! { <p class="error" role="alert">{error}</p> })}
            <form class="form panel" method="post" action="/auth/setup">
                <input type="hidden" name="token" value=token/>
                <label>"User name" <input type="text" name="name" required autocomplete="username" autocapitalize="none" value=name/></label>
                <label>"Password " <span class="hint">"(at least 10 characters)"</span>
                    <input type="password" name="password" required minlength="10" autocomplete="new-password"/></label>
                <label>"Password again" <input type="password" name="password2" required minlength="10" autocomplete="new-password"/></label>
                <button type="submit">"Create admin and sign in"</button>
            </form>
        </main>
    }
}

/// The sign-out button (a form, so it works without JavaScript).
#[component]
pub fn SignOut() -> impl IntoView {
    view! {
        <form method="post" action="/auth/logout" class="inline-form">
            <button type="submit" class="link-button">"Sign out"</button>
        </form>
    }
}

#[component]
pub fn AccountPage() -> impl IntoView {
    let refresh = RwSignal::new(0u32);
    let data = Resource::new(move || refresh.get(), |_| load_account());
    let password = ServerAction::<ChangePassword>::new();
    let create = ServerAction::<CreateToken>::new();
    let revoke = ServerAction::<RevokeToken>::new();
    // Reload the list after each create or revoke (both read every time, so
    // the effect follows both).
    Effect::new(move |_| {
        let (c, r) = (create.version().get(), revoke.version().get());
        if c + r > 0 {
            refresh.update(|n| *n += 1);
        }
    });
    let password_result = password.value();
    let created = create.value();
    let revoke_result = revoke.value();
    view! {
        <main class="page narrow">
            <h1>"Account"</h1>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || data.get().map(|r| match r {
                    Err(e) => view! { <ErrorText what="Could not load the account" error=e.to_string()/> }.into_any(),
                    Ok(v) => {
                        let signed_in = v.viewer.user.is_some();
                        let role = v.viewer.role;
                        view! {
                            // Made by a plain form post just before (no JavaScript).
                            {v.created.map(|t| view! { <CreatedToken t/> })}
                            <p data-testid="me">
                                {match &v.viewer.user {
                                    Some(u) => format!("Signed in as {u} ({}).", v.viewer.role),
                                    None => format!("Not signed in: you are reading as an anonymous {}.", v.viewer.role),
                                }}
                            </p>
                            {signed_in.then(|| view! { <SignOut/> })}
                            <section class="panel" aria-labelledby="tokens-heading">
                                <h2 id="tokens-heading">"API tokens"</h2>
                                <p class="hint">"Programs send a token as " <code>"Authorization: Bearer <token>"</code> " to the REST API (" <a href="/api/docs">"documentation"</a> ") and the live socket."</p>
                                <ul class="tokens" data-testid="tokens">
                                    {v.tokens.into_iter().map(|t| {
                                        let id = t.id.clone();
                                        let live = t.revoked.is_none();
                                        view! {
                                            <li data-testid="token" data-revoked=(!live).to_string()>
                                                <strong>{t.name.clone()}</strong>
                                                " · " {t.role.as_str()} " · " {t.owner.clone()}
                                                " · made " <LocalTime at=t.created/>
                                                {t.last_used.map(|u| view! { " · last used " <LocalTime at=u/> })}
                                                {t.revoked.map(|r| view! { " · revoked " <LocalTime at=r/> })}
                                                {live.then(|| view! {
                                                    <ActionForm action=revoke attr:class="inline-form">
                                                        <input type="hidden" name="id" value=id.clone()/>
                                                        <button type="submit" class="danger">"Revoke"</button>
                                                    </ActionForm>
                                                })}
                                            </li>
                                        }
                                    }).collect_view()}
                                </ul>
                                {outcome(revoke_result)}
                                {signed_in.then(|| view! {
                                    <ActionForm action=create attr:class="form" attr:data-testid="new-token">
                                        <label>"Name " <span class="hint">"(what will use it)"</span>
                                            <input type="text" name="name" required placeholder="grafana"/></label>
                                        <label>"Role"
                                            <select name="role">
                                                {Role::ALL.into_iter().filter(|r| role.allows(*r)).map(|r| view! {
                                                    <option value=r.as_str() selected=r == Role::Viewer>{r.as_str()}</option>
                                                }).collect_view()}
                                            </select>
                                        </label>
                                        <button type="submit">"Create token"</button>
                                    </ActionForm>
                                })}
                            </section>
                            {signed_in.then(|| view! {
                                <section class="panel" aria-labelledby="password-heading">
                                    <h2 id="password-heading">"Change password"</h2>
                                    <ActionForm action=password attr:class="form">
                                        <label>"Current password" <input type="password" name="current" required autocomplete="current-password"/></label>
                                        <label>"New password " <span class="hint">"(at least 10 characters)"</span>
                                            <input type="password" name="password" required minlength="10" autocomplete="new-password"/></label>
                                        <label>"New password again" <input type="password" name="password2" required minlength="10" autocomplete="new-password"/></label>
                                        <button type="submit">"Change password"</button>
                                        {outcome(password_result)}
                                    </ActionForm>
                                </section>
                            })}
                        }.into_any()
                    }
                })}
            </Transition>
            // The new token's secret lives only in this action's answer.
            {move || created.get().map(|r| match r {
                Ok(t) => view! { <CreatedToken t/> }.into_any(),
                Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
            })}
        </main>
    }
}

/// A token just made, with its secret: shown once.
#[component]
fn CreatedToken(t: NewToken) -> impl IntoView {
    view! {
        <div class="panel" role="status" data-testid="token-created">
            <p class=if t.result.ok { "ok" } else { "error" }>{t.result.message}</p>
            {t.secret.map(|s| view! { <p><code class="secret" data-testid="token-secret">{s}</code></p> })}
        </div>
    }
}
