//! Changes to an existing user: their role and their password, made by an
//! admin ([`Accounts::edit_user`]) or by the user ([`Accounts::change_password`]).
//!
//! Each is checked whole before anything is written, then written in one
//! transaction with its audit entries ([`Store::change_user`]): a request
//! refused for one field changes nothing, not even the fields that were
//! fine. (Issue 23: an admin's password was reset, and their sessions
//! ended, by a request refused for demoting the only admin.)
//!
//! [`Store::change_user`]: crate::store::Store::change_user

use chrono::Utc;
use serde_json::{json, Map, Value};

use model::{Role, User};

use super::user_accounts::{check_password, hash, only_admin};
use super::{secret, Accounts, AuthError, Credential, Identity, MAX_PASSWORD_BYTES};
use crate::store::{EndSessions, UserChange};

impl Accounts {
    /// An admin changes a user's role, password, or both, as one change.
    ///
    /// Everything is checked first: the caller is an admin, the user
    /// exists, the last admin keeps the role, the password is acceptable.
    /// Then one transaction writes the user's row and the audit entries,
    /// and, with a new password, ends the user's sessions and revokes their
    /// API tokens (an admin resets a password when the account may be in
    /// other hands, and a token would outlive the reset). With nothing to
    /// change, answers the user as they are.
    pub async fn edit_user(
        &self,
        who: &Identity,
        name: &str,
        role: Option<Role>,
        password: Option<&str>,
    ) -> Result<User, AuthError> {
        who.require(Role::Admin)?;
        let row = self.existing(name).await?;
        let role = role.filter(|r| *r != row.user.role);
        let demotes = row.user.role == Role::Admin && role.is_some();
        if demotes {
            self.keep_an_admin(&row).await?;
        }
        if let Some(pw) = password {
            check_password(pw)?;
        }

        // Allowed as a whole: now all of it, or (if the database fails) none.
        let mut user = row.user.clone();
        let mut set = Map::new();
        let mut audit = vec![];
        if let Some(r) = role {
            user.role = r;
            set.insert("role".into(), json!(r));
            audit.push(self.audit_entry(
                who,
                "user.role",
                &user.name,
                Some(json!({ "role": row.user.role })),
                Some(json!({ "role": r })),
            ));
        }
        let mut reset_at = None;
        if let Some(pw) = password {
            let now = Utc::now();
            user.password_changed = Some(now);
            set.insert("password_hash".into(), json!(hash(pw).await));
            set.insert("password_changed".into(), json!(now));
            let tokens = self.store.tokens(Some(&user.name)).await?;
            for t in tokens.iter().filter(|t| t.revoked.is_none()) {
                audit.push(self.audit_entry(
                    who,
                    "token.revoke",
                    &t.id,
                    None,
                    Some(json!({ "name": t.name })),
                ));
            }
            audit.push(self.audit_entry(who, "user.password_reset", &user.name, None, None));
            reset_at = Some(now);
        }
        if set.is_empty() {
            return Ok(user);
        }
        let applied = self
            .store
            .change_user(&UserChange {
                name: user.name.clone(),
                set: Value::Object(set),
                keep_an_admin: demotes,
                end_sessions: if reset_at.is_some() {
                    EndSessions::All
                } else {
                    EndSessions::None
                },
                revoke_tokens: reset_at,
                audit,
            })
            .await?;
        if !applied {
            // Another admin was demoted or deleted meanwhile.
            return Err(only_admin());
        }
        Ok(user)
    }

    /// Changes a user's role (admins): [`Accounts::edit_user`] with a role only.
    pub async fn set_role(
        &self,
        who: &Identity,
        name: &str,
        role: Role,
    ) -> Result<User, AuthError> {
        self.edit_user(who, name, Some(role), None).await
    }

    /// An admin sets another user's password: [`Accounts::edit_user`] with a
    /// password only (their sessions end and their API tokens are revoked).
    pub async fn reset_password(
        &self,
        who: &Identity,
        name: &str,
        new: &str,
    ) -> Result<(), AuthError> {
        self.edit_user(who, name, None, Some(new)).await.map(|_| ())
    }

    /// A user changes their own password (knowing the current one), from a
    /// signed-in browser; their other sessions end, in the same transaction.
    pub async fn change_password(
        &self,
        who: &Identity,
        current: &str,
        new: &str,
    ) -> Result<(), AuthError> {
        let name = who.viewer.user.clone().ok_or(AuthError::Unauthenticated)?;
        let Credential::Session(keep) = &who.credential else {
            return Err(AuthError::Invalid(
                "Passwords are changed from a signed-in browser, not with a token.".into(),
            ));
        };
        let wrong = || AuthError::Invalid("The current password is not right.".into());
        if current.len() > MAX_PASSWORD_BYTES {
            return Err(wrong());
        }
        // The new password first: a refusal spends no sign-in attempt.
        check_password(new)?;
        let attempt = self.limiter.begin(&name, None).await?;
        let row = self.existing(&name).await?;
        let (pw, phc) = (current.to_string(), row.password_hash.clone());
        let ok = tokio::task::spawn_blocking(move || secret::verify_password(&pw, &phc))
            .await
            .unwrap_or(false);
        if !ok {
            return Err(wrong());
        }
        attempt.succeeded().await;
        let password_hash = hash(new).await;
        self.store
            .change_user(&UserChange {
                name: name.clone(),
                set: json!({ "password_hash": password_hash, "password_changed": Utc::now() }),
                keep_an_admin: false,
                end_sessions: EndSessions::AllBut(keep.clone()),
                revoke_tokens: None,
                audit: vec![self.audit_entry(who, "user.password", &name, None, None)],
            })
            .await?;
        Ok(())
    }
}
