//! Admin pages: users (create, role, password reset, delete) and the audit
//! log. The server refuses these to anyone but an admin; the header only
//! links them for admins.

use leptos::prelude::*;

use model::Role;

use crate::access::{
    load_audit, load_users, CreateUser, DeleteUser, ResetUserPassword, SetUserRole,
};
use crate::sources::outcome;
use crate::time::LocalTime;
use crate::ui::ErrorText;

fn role_options(selected: Role) -> impl IntoView {
    Role::ALL
        .into_iter()
        .map(|r| view! { <option value=r.as_str() selected=r == selected>{r.as_str()}</option> })
        .collect_view()
}

#[component]
pub fn UsersPage() -> impl IntoView {
    let create = ServerAction::<CreateUser>::new();
    let role = ServerAction::<SetUserRole>::new();
    let reset = ServerAction::<ResetUserPassword>::new();
    let delete = ServerAction::<DeleteUser>::new();
    let data = Resource::new(
        move || {
            (
                create.version().get(),
                role.version().get(),
                delete.version().get(),
            )
        },
        |_| load_users(),
    );
    let (create_result, role_result, reset_result, delete_result) =
        (create.value(), role.value(), reset.value(), delete.value());
    view! {
        <main class="page narrow">
            <h1>"Users"</h1>
            <p class="hint">"Viewers read everything, editors also manage sources and rules, admins also manage users and credentials."</p>
            <Transition fallback=|| view! { <p class="loading">"Loading users…"</p> }>
                {move || data.get().map(|r| match r {
                    Err(e) => view! { <ErrorText what="Could not load the users" error=e.to_string()/> }.into_any(),
                    Ok(users) => view! {
                        <ul class="users" data-testid="users">
                            {users.into_iter().map(|u| {
                                let (n1, n2, n3) = (u.name.clone(), u.name.clone(), u.name.clone());
                                view! {
                                    <li class="panel" data-testid="user">
                                        <h2>{u.name.clone()} " " <span class="badge">{u.role.as_str()}</span></h2>
                                        <p class="hint">
                                            "Since " <LocalTime at=u.created/>
                                            {u.last_login.map(|t| view! { " · last sign-in " <LocalTime at=t/> })}
                                        </p>
                                        <div class="row-actions">
                                            <ActionForm action=role attr:class="inline-form">
                                                <input type="hidden" name="name" value=n1/>
                                                <label>"Role " <select name="role">{role_options(u.role)}</select></label>
                                                <button type="submit">"Change role"</button>
                                            </ActionForm>
                                            <details class="inline">
                                                <summary>"Set password…"</summary>
                                                <ActionForm action=reset attr:class="form">
                                                    <input type="hidden" name="name" value=n2/>
                                                    <label>"New password" <input type="password" name="password" required minlength="10" autocomplete="new-password"/></label>
                                                    <button type="submit">"Set password"</button>
                                                </ActionForm>
                                            </details>
                                            <details class="inline">
                                                <summary>"Delete…"</summary>
                                                <ActionForm action=delete>
                                                    <input type="hidden" name="name" value=n3/>
                                                    <p>"Delete " {u.name.clone()} " with their sessions and API tokens?"</p>
                                                    <button type="submit" class="danger">"Delete user"</button>
                                                </ActionForm>
                                            </details>
                                        </div>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                })}
            </Transition>
            {outcome(role_result)}
            {outcome(reset_result)}
            {outcome(delete_result)}
            <section class="panel" aria-labelledby="new-user">
                <h2 id="new-user">"Add a user"</h2>
                <ActionForm action=create attr:class="form" attr:data-testid="new-user">
                    <label>"User name" <input type="text" name="name" required autocapitalize="none" autocomplete="off"/></label>
                    <label>"Role" <select name="role">{role_options(Role::Viewer)}</select></label>
                    <label>"Password " <span class="hint">"(at least 10 characters; they can change it)"</span>
                        <input type="password" name="password" required minlength="10" autocomplete="new-password"/></label>
                    <button type="submit">"Add user"</button>
                    {outcome(create_result)}
                </ActionForm>
            </section>
        </main>
    }
}

#[component]
pub fn AuditPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| load_audit(None));
    view! {
        <main class="page">
            <h1>"Audit log"</h1>
            <p class="hint">"Every change: who, what, when, and the values before and after. Newest first; the last 100."</p>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || data.get().map(|r| match r {
                    Err(e) => view! { <ErrorText what="Could not load the audit log" error=e.to_string()/> }.into_any(),
                    Ok(entries) => view! {
                        <div class="table-scroll">
                        <table class="audit" data-testid="audit">
                            <thead><tr><th>"When"</th><th>"Who"</th><th>"What"</th><th>"On"</th><th>"Before"</th><th>"After"</th></tr></thead>
                            <tbody>
                                {entries.into_iter().map(|e| view! {
                                    <tr>
                                        <td><LocalTime at=e.at/></td>
                                        <td>{e.actor}</td>
                                        <td><code>{e.action}</code></td>
                                        <td>{e.target}</td>
                                        <td><code>{e.before.map(|v| v.to_string()).unwrap_or_default()}</code></td>
                                        <td><code>{e.after.map(|v| v.to_string()).unwrap_or_default()}</code></td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                        </div>
                    }.into_any(),
                })}
            </Suspense>
        </main>
    }
}
