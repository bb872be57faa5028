//! Server functions for who is signed in and what they may manage: the
//! caller's own account (password, API tokens) and, for admins, users and
//! the audit log. Every one checks the caller's role on the server
//! ([`crate::api::caller`]); the account logic itself is `monitor::auth`.
//!
//! Signing in, the first-admin setup and signing out are plain form posts
//! to `/auth/*` (server routes), since they set or clear the session cookie.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use model::Role;
use model::{ApiToken, AuditEntry, User, Viewer};

use crate::api::FormResult;
#[cfg(feature = "ssr")]
use crate::api::{back_to, caller, control, plain_form_post, words};
#[cfg(feature = "ssr")]
use crate::flash::TokenFlash;

#[cfg(feature = "ssr")]
fn accounts() -> Result<std::sync::Arc<monitor::Accounts>, ServerFnError> {
    Ok(control()?.accounts)
}

/// The caller, who must be a signed-in user (an anonymous visitor has no
/// account to change).
#[cfg(feature = "ssr")]
pub(crate) fn signed_in() -> Result<monitor::Identity, ServerFnError> {
    let who = caller(Role::Viewer)?;
    if who.viewer.user.is_none() {
        if let Some(r) = use_context::<leptos_axum::ResponseOptions>() {
            r.set_status(http::StatusCode::UNAUTHORIZED);
        }
        return Err(ServerFnError::new("Sign in first."));
    }
    Ok(who)
}

/// A refused account change as a form result (the form shows it in words).
#[cfg(feature = "ssr")]
fn refused(e: monitor::auth::AuthError) -> FormResult {
    FormResult::failed(e.to_string())
}

#[cfg(feature = "ssr")]
fn done(message: String) -> FormResult {
    FormResult {
        ok: true,
        message,
        errors: vec![],
    }
}

/// Who is asking: `None` when nobody is signed in (and visitors have no
/// anonymous access). Public, so the sign-in page can call it.
#[server(endpoint = "whoami", input = Json)]
pub async fn whoami() -> Result<Option<Viewer>, ServerFnError> {
    Ok(use_context::<http::request::Parts>()
        .and_then(|p| p.extensions.get::<monitor::Identity>().cloned())
        .map(|w| w.viewer))
}

/// What the account page shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccountView {
    pub viewer: Viewer,
    pub tokens: Vec<ApiToken>,
    /// A token made by a plain form post (no JavaScript) just before: its
    /// secret, shown this once (see [`crate::flash`]).
    #[serde(default)]
    pub created: Option<NewToken>,
}

/// The caller's session (the SHA-256 of its cookie), if they came with one.
#[cfg(feature = "ssr")]
fn session(who: &monitor::Identity) -> Option<&str> {
    match &who.credential {
        monitor::auth::Credential::Session(s) => Some(s.as_str()),
        _ => None,
    }
}

#[server(input = Json)]
pub async fn load_account() -> Result<AccountView, ServerFnError> {
    let who = caller(Role::Viewer)?;
    let tokens = if who.viewer.user.is_some() {
        accounts()?
            .tokens(&who)
            .await
            .map_err(|e| words("could not read the tokens", e))?
    } else {
        vec![]
    };
    let created = session(&who)
        .zip(use_context::<TokenFlash>())
        .and_then(|(s, flash)| flash.take(s));
    if created.is_some() {
        // The page holds a secret: no copy of it in any cache.
        if let Some(r) = use_context::<leptos_axum::ResponseOptions>() {
            r.insert_header(
                http::header::CACHE_CONTROL,
                http::HeaderValue::from_static("no-store"),
            );
        }
    }
    Ok(AccountView {
        viewer: who.viewer,
        tokens,
        created,
    })
}

#[server]
pub async fn change_password(
    current: String,
    password: String,
    password2: String,
) -> Result<FormResult, ServerFnError> {
    let who = signed_in()?;
    if password != password2 {
        return Ok(FormResult {
            ok: false,
            message: "The two new passwords are not the same.".into(),
            errors: vec![("password2".into(), "Not the same as the first.".into())],
        });
    }
    Ok(
        match accounts()?.change_password(&who, &current, &password).await {
            Ok(()) => done("Password changed; your other sessions were signed out.".into()),
            Err(e) => refused(e),
        },
    )
}

/// A token just made: its secret is in this answer and nowhere else.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewToken {
    pub result: FormResult,
    pub secret: Option<String>,
}

/// Makes a token. Without JavaScript the browser is sent back to the
/// account page, which shows the answer (the secret too) once: it waits in
/// the [`TokenFlash`] for this session, never in the redirect's URL.
#[server]
pub async fn create_token(name: String, role: String) -> Result<NewToken, ServerFnError> {
    let who = signed_in()?;
    let made = make_token(&who, &name, &role).await?;
    let flash = use_context::<TokenFlash>();
    match (session(&who), flash) {
        (Some(s), Some(flash)) if plain_form_post() => {
            flash.put(s, made.clone());
            back_to("/account");
            // The redirect's body is never shown: the secret stays out of it.
            Ok(NewToken {
                secret: None,
                ..made
            })
        }
        _ => Ok(made),
    }
}

#[cfg(feature = "ssr")]
async fn make_token(
    who: &monitor::Identity,
    name: &str,
    role: &str,
) -> Result<NewToken, ServerFnError> {
    let Some(role) = Role::parse(role) else {
        return Ok(NewToken {
            result: FormResult::failed(format!("Unknown role {role:?}.")),
            secret: None,
        });
    };
    Ok(match accounts()?.create_token(who, name, role).await {
        Ok((t, secret)) => NewToken {
            result: done(format!(
                "Token {:?} created. Copy it now: it is not shown again.",
                t.name
            )),
            secret: Some(secret),
        },
        Err(e) => {
            // Programs see the refusal of a token making tokens as such.
            if matches!(e, monitor::auth::AuthError::SessionOnly(_)) {
                if let Some(r) = use_context::<leptos_axum::ResponseOptions>() {
                    r.set_status(http::StatusCode::FORBIDDEN);
                }
            }
            NewToken {
                result: refused(e),
                secret: None,
            }
        }
    })
}

#[server]
pub async fn revoke_token(id: String) -> Result<FormResult, ServerFnError> {
    let who = signed_in()?;
    Ok(match accounts()?.revoke_token(&who, &id).await {
        Ok(t) => done(format!("Token {:?} revoked.", t.name)),
        Err(e) => refused(e),
    })
}

#[server(input = Json)]
pub async fn load_users() -> Result<Vec<User>, ServerFnError> {
    let who = caller(Role::Admin)?;
    accounts()?
        .users(&who)
        .await
        .map_err(|e| words("could not read the users", e))
}

#[server]
pub async fn create_user(
    name: String,
    role: String,
    password: String,
) -> Result<FormResult, ServerFnError> {
    let who = caller(Role::Admin)?;
    let Some(role) = Role::parse(&role) else {
        return Ok(FormResult::field("role", format!("Unknown role {role:?}.")));
    };
    Ok(
        match accounts()?.create_user(&who, &name, role, &password).await {
            Ok(u) => done(format!("Created {} as {}.", u.name, u.role)),
            Err(e) => refused(e),
        },
    )
}

#[server]
pub async fn set_user_role(name: String, role: String) -> Result<FormResult, ServerFnError> {
    let who = caller(Role::Admin)?;
    let Some(role) = Role::parse(&role) else {
        return Ok(FormResult::field("role", format!("Unknown role {role:?}.")));
    };
    Ok(
        match accounts()?.edit_user(&who, &name, Some(role), None).await {
            Ok(u) => done(format!("{} is now {}.", u.name, u.role)),
            Err(e) => refused(e),
        },
    )
}

#[server]
pub async fn reset_user_password(
    name: String,
    password: String,
) -> Result<FormResult, ServerFnError> {
    let who = caller(Role::Admin)?;
    Ok(
        match accounts()?
            .edit_user(&who, &name, None, Some(&password))
            .await
        {
            Ok(_) => done(format!(
                "New password set for {name}; their sessions were signed out and their API tokens revoked."
            )),
            Err(e) => refused(e),
        },
    )
}

#[server]
pub async fn delete_user(name: String) -> Result<FormResult, ServerFnError> {
    let who = caller(Role::Admin)?;
    Ok(match accounts()?.delete_user(&who, &name).await {
        Ok(()) => done(format!("Deleted {name} with their sessions and tokens.")),
        Err(e) => refused(e),
    })
}

#[server(input = Json)]
pub async fn load_audit(before: Option<i64>) -> Result<Vec<AuditEntry>, ServerFnError> {
    let who = caller(Role::Admin)?;
    accounts()?
        .audit_log(&who, before, 100)
        .await
        .map_err(|e| words("could not read the audit log", e))
}

/// Server functions that only read; every other one changes something and
/// must refuse viewers (the access tests check both lists against the
/// server's registry).
pub const READ_ONLY_SERVER_FNS: &[&str] = &[
    "whoami",
    "load_dashboard",
    "load_product",
    "load_comparison",
    "load_sources",
    "load_status",
    "load_account",
    "load_users",
    "load_audit",
    "load_alerts",
    "load_repricing",
    "load_trending",
    "load_related",
    "load_picks",
];
