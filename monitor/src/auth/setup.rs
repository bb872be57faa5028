//! The first admin: while no user exists, a one-time setup link (its
//! token kept in memory, printed by the server) or `--admin-password`
//! creates an admin; once a user exists, neither does anything.

use serde_json::json;

use model::{Role, User};

use super::{secret, Accounts, AuthError, Identity};

impl Accounts {
    pub async fn needs_setup(&self) -> Result<bool, AuthError> {
        Ok(self.store.user_count().await? == 0)
    }

    /// The one-time token of the first-admin link; `None` once a user exists.
    pub async fn setup_token(&self) -> Result<Option<String>, AuthError> {
        if !self.needs_setup().await? {
            *self.setup_token.lock() = None;
            return Ok(None);
        }
        let mut t = self.setup_token.lock();
        Ok(Some(
            t.get_or_insert_with(|| secret::random_text(24)).clone(),
        ))
    }

    /// Creates the first admin with the one-time setup token.
    pub async fn setup_admin(
        &self,
        token: &str,
        name: &str,
        password: &str,
    ) -> Result<User, AuthError> {
        let expected = self.setup_token.lock().clone();
        let valid = expected.as_deref().is_some_and(|t| secret::same(t, token));
        if !valid || !self.needs_setup().await? {
            return Err(AuthError::Invalid(
                "This setup link is no longer valid: an admin exists already, or the server restarted (it prints a new link while there is no user).".into(),
            ));
        }
        let user = self.insert_user(name, Role::Admin, password).await?;
        *self.setup_token.lock() = None;
        self.audit(
            &Identity::system("setup link"),
            "user.create",
            &user.name,
            None,
            Some(json!({ "role": user.role })),
        )
        .await?;
        Ok(user)
    }

    /// Creates `name` as admin with `password` if there is no user yet
    /// (`--admin-password`); does nothing otherwise.
    pub async fn ensure_admin(
        &self,
        name: &str,
        password: &str,
    ) -> Result<Option<User>, AuthError> {
        if !self.needs_setup().await? {
            return Ok(None);
        }
        let user = match self.insert_user(name, Role::Admin, password).await {
            Ok(user) => user,
            // Another instance sharing the database made its first admin
            // at the same moment.
            Err(AuthError::Invalid(_)) if !self.needs_setup().await? => return Ok(None),
            Err(e) => return Err(e),
        };
        self.audit(
            &Identity::system("--admin-password"),
            "user.create",
            &user.name,
            None,
            Some(json!({ "role": user.role })),
        )
        .await?;
        Ok(Some(user))
    }
}
