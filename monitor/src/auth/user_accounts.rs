//! Creating, listing and deleting users (admins), and the checks they
//! share with changing a user (`users.rs`): a user name's and a password's
//! form, the last admin kept, and argon2 hashing off the async threads.

use chrono::Utc;
use serde_json::json;

use model::{Role, User};

use super::{secret, Accounts, AuthError, Identity, MIN_PASSWORD};
use crate::store::UserRow;

fn check_name(name: &str) -> Result<String, AuthError> {
    let name = name.trim().to_lowercase();
    if name.is_empty() || name.len() > 64 {
        return Err(AuthError::Invalid(
            "A user name has 1 to 64 characters.".into(),
        ));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
    {
        return Err(AuthError::Invalid(
            "A user name uses letters, digits and . _ - @ only.".into(),
        ));
    }
    Ok(name)
}

pub(super) fn check_password(password: &str) -> Result<(), AuthError> {
    let n = password.chars().count();
    if n < MIN_PASSWORD {
        return Err(AuthError::Invalid(format!(
            "A password needs at least {MIN_PASSWORD} characters."
        )));
    }
    if n > 1024 {
        return Err(AuthError::Invalid(
            "That password is too long (1024 characters at most).".into(),
        ));
    }
    Ok(())
}

impl Accounts {
    pub(super) async fn insert_user(
        &self,
        name: &str,
        role: Role,
        password: &str,
    ) -> Result<User, AuthError> {
        let name = check_name(name)?;
        check_password(password)?;
        let row = UserRow {
            user: User {
                name: name.clone(),
                role,
                created: Utc::now(),
                password_changed: None,
                last_login: None,
            },
            password_hash: hash(password).await,
        };
        if !self.store.create_user(&row).await? {
            return Err(AuthError::Invalid(format!(
                "There is a user {name:?} already."
            )));
        }
        Ok(row.user)
    }

    pub async fn users(&self, who: &Identity) -> Result<Vec<User>, AuthError> {
        who.require(Role::Admin)?;
        Ok(self.store.users().await?)
    }

    pub async fn create_user(
        &self,
        who: &Identity,
        name: &str,
        role: Role,
        password: &str,
    ) -> Result<User, AuthError> {
        who.require(Role::Admin)?;
        let user = self.insert_user(name, role, password).await?;
        self.audit(
            who,
            "user.create",
            &user.name,
            None,
            Some(json!({ "role": role })),
        )
        .await?;
        Ok(user)
    }

    pub(super) async fn existing(&self, name: &str) -> Result<UserRow, AuthError> {
        self.store
            .user(&name.trim().to_lowercase())
            .await?
            .ok_or_else(|| AuthError::NotFound(format!("user {name:?}")))
    }

    /// The last admin cannot be demoted or deleted: nobody could manage users.
    pub(super) async fn keep_an_admin(&self, row: &UserRow) -> Result<(), AuthError> {
        if row.user.role == Role::Admin && self.store.admin_count().await? <= 1 {
            return Err(only_admin());
        }
        Ok(())
    }

    pub async fn delete_user(&self, who: &Identity, name: &str) -> Result<(), AuthError> {
        who.require(Role::Admin)?;
        let row = self.existing(name).await?;
        self.keep_an_admin(&row).await?;
        self.store.delete_user(&row.user.name).await?;
        self.audit(
            who,
            "user.delete",
            &row.user.name,
            Some(json!({ "role": row.user.role })),
            None,
        )
        .await?;
        Ok(())
    }
}

/// Why the last admin keeps the role (and the account).
pub(super) fn only_admin() -> AuthError {
    AuthError::Invalid("This is the only admin; make another user admin first.".into())
}

/// Argon2 takes tens of milliseconds of CPU: off the async threads.
pub(super) async fn hash(password: &str) -> String {
    let pw = password.to_string();
    tokio::task::spawn_blocking(move || secret::hash_password(&pw))
        .await
        .expect("hashing does not panic")
}
