//! API tokens (`dw_<id>_<secret>`): made from a signed-in browser with at
//! most the caller's role, shown once and stored as the SHA-256 of the
//! secret; listed and revoked by their owner, or by an admin.

use chrono::Utc;
use serde_json::json;

use model::{ApiToken, Role};

use super::{secret, Accounts, AuthError, Credential, Identity, TOKEN_PREFIX};
use crate::store::TokenRow;

impl Accounts {
    /// Creates an API token for the caller, with at most the caller's role.
    /// Returns the token and its full text, which is shown this once.
    ///
    /// Only from a signed-in session: a token that could make tokens would
    /// outlive its own revocation through the ones it made.
    pub async fn create_token(
        &self,
        who: &Identity,
        name: &str,
        role: Role,
    ) -> Result<(ApiToken, String), AuthError> {
        who.require(Role::Viewer)?;
        let owner = who.viewer.user.clone().ok_or(AuthError::Unauthenticated)?;
        if !matches!(who.credential, Credential::Session(_)) {
            return Err(AuthError::SessionOnly(
                "API tokens are made from a signed-in browser (the account page), not with another token.".into(),
            ));
        }
        if !who.viewer.can(role) {
            return Err(AuthError::Forbidden {
                needed: role,
                have: who.viewer.role,
            });
        }
        let name = name.trim();
        if name.is_empty() || name.len() > 80 {
            return Err(AuthError::Invalid(
                "Name the token (what uses it), in up to 80 characters.".into(),
            ));
        }
        let id = secret::random_id(12);
        let secret_part = secret::random_text(32);
        let token = ApiToken {
            id: id.clone(),
            name: name.to_string(),
            role,
            owner,
            created: Utc::now(),
            last_used: None,
            revoked: None,
        };
        self.store
            .save_token(&TokenRow {
                token: token.clone(),
                secret_hash: secret::sha256_hex(&secret_part),
            })
            .await?;
        self.audit(
            who,
            "token.create",
            &id,
            None,
            Some(json!({ "name": token.name, "role": role })),
        )
        .await?;
        Ok((token, format!("{TOKEN_PREFIX}{id}_{secret_part}")))
    }

    /// Tokens the caller may see: their own, or everyone's for an admin.
    pub async fn tokens(&self, who: &Identity) -> Result<Vec<ApiToken>, AuthError> {
        let user = who.viewer.user.clone().ok_or(AuthError::Unauthenticated)?;
        if who.viewer.can(Role::Admin) {
            Ok(self.store.tokens(None).await?)
        } else {
            Ok(self.store.tokens(Some(&user)).await?)
        }
    }

    /// Revokes a token: the caller's own, or anyone's for an admin.
    pub async fn revoke_token(&self, who: &Identity, id: &str) -> Result<ApiToken, AuthError> {
        let user = who.viewer.user.clone().ok_or(AuthError::Unauthenticated)?;
        let mut row = self
            .store
            .token(id)
            .await?
            .filter(|r| r.token.owner == user || who.viewer.can(Role::Admin))
            .ok_or_else(|| AuthError::NotFound(format!("token {id:?}")))?;
        if row.token.revoked.is_none() {
            row.token.revoked = Some(Utc::now());
            self.store.save_token(&row).await?;
            self.audit(
                who,
                "token.revoke",
                id,
                None,
                Some(json!({ "name": row.token.name })),
            )
            .await?;
        }
        Ok(row.token)
    }
}
