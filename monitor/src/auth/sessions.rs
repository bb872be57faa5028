//! Signing in and out, and answering "who is this request?": a session
//! cookie (stored only as its SHA-256, the role read from the user each
//! time) or an API token (never more than its owner may do now), and
//! whether a long-lived socket's credential still holds.

use std::net::IpAddr;

use chrono::Utc;

use model::{User, Viewer};

use super::{
    secret, Accounts, AuthError, Credential, Identity, MAX_NAME_BYTES, MAX_PASSWORD_BYTES,
    SESSION_TTL, TOKEN_PREFIX,
};
use crate::store::SessionRow;

impl Accounts {
    /// Checks a password and opens a session. Returns the cookie value (shown
    /// to nobody else, stored only as its hash) and who signed in.
    pub async fn login(
        &self,
        name: &str,
        password: &str,
        ip: Option<IpAddr>,
    ) -> Result<(String, Identity), AuthError> {
        let name = name.trim().to_lowercase();
        if name.len() > MAX_NAME_BYTES || password.len() > MAX_PASSWORD_BYTES {
            return Err(AuthError::BadLogin);
        }
        // Counted as a failure before the password is hashed, so that
        // parallel guesses cannot all pass the check (see `limit`).
        let attempt = self
            .limiter
            .begin(&name, ip)
            .await
            .inspect_err(|e| tracing::warn!(user = %name, ip = ?ip, "sign-in refused: {e}"))?;
        let row = self.store.user(&name).await?;
        let phc = row.as_ref().map(|r| r.password_hash.clone());
        let pw = password.to_string();
        let ok = tokio::task::spawn_blocking(move || {
            secret::verify_password(&pw, phc.as_deref().unwrap_or(secret::dummy_hash()))
                && phc.is_some()
        })
        .await
        .unwrap_or(false);
        let Some(row) = row.filter(|_| ok) else {
            tracing::info!(user = %name, ip = ?ip, "sign-in failed");
            return Err(AuthError::BadLogin);
        };
        attempt.succeeded().await;
        let cookie = secret::random_text(32);
        let hash = secret::sha256_hex(&cookie);
        let now = Utc::now();
        self.store
            .save_session(
                &hash,
                &SessionRow {
                    user: row.user.name.clone(),
                    created: now,
                    expires: now + chrono::Duration::from_std(SESSION_TTL).expect("ttl fits"),
                },
            )
            .await?;
        self.store.touch_login(&row.user.name, now).await?;
        let who = session_identity(&row.user, hash);
        self.audit(&who, "session.login", &row.user.name, None, None)
            .await?;
        Ok((cookie, who))
    }

    pub async fn logout(&self, who: &Identity) -> Result<(), AuthError> {
        if let Credential::Session(hash) = &who.credential {
            self.store.delete_session(hash).await?;
            self.audit(
                who,
                "session.logout",
                who.viewer.user.as_deref().unwrap_or(""),
                None,
                None,
            )
            .await?;
        }
        Ok(())
    }

    /// The identity behind a session cookie; `None` when it is unknown or expired.
    pub async fn session(&self, cookie: &str) -> Result<Option<Identity>, AuthError> {
        let hash = secret::sha256_hex(cookie);
        let Some(s) = self.store.session(&hash).await? else {
            return Ok(None);
        };
        if s.expires < Utc::now() {
            self.store.delete_session(&hash).await?;
            return Ok(None);
        }
        // The role is read from the user each time: a change applies at once.
        Ok(self
            .store
            .user(&s.user)
            .await?
            .map(|u| session_identity(&u.user, hash)))
    }

    /// The identity behind an API token (`dw_<id>_<secret>`); `None` when it
    /// is malformed, unknown, revoked, or its owner is gone.
    pub async fn token(&self, presented: &str) -> Result<Option<Identity>, AuthError> {
        let Some((id, secret_part)) = presented
            .trim()
            .strip_prefix(TOKEN_PREFIX)
            .and_then(|rest| rest.split_once('_'))
        else {
            return Ok(None);
        };
        let Some(row) = self.store.token(id).await? else {
            return Ok(None);
        };
        if row.token.revoked.is_some()
            || !secret::same(&row.secret_hash, &secret::sha256_hex(secret_part))
        {
            return Ok(None);
        }
        let Some(owner) = self.store.user(&row.token.owner).await? else {
            return Ok(None);
        };
        // A token never does more than its owner may do now.
        let role = row.token.role.min(owner.user.role);
        let now = Utc::now();
        if row
            .token
            .last_used
            .is_none_or(|t| now - t > chrono::Duration::seconds(60))
        {
            self.store.touch_token(id, now).await?;
        }
        Ok(Some(Identity {
            viewer: Viewer {
                user: Some(owner.user.name.clone()),
                role,
                via: "token".into(),
            },
            credential: Credential::Token(id.to_string()),
            label: format!("token:{} ({})", row.token.name, owner.user.name),
        }))
    }

    /// Whether the credential behind an identity still holds (a long-lived
    /// socket checks this now and then: a revoked token stops at once).
    pub async fn still_valid(&self, who: &Identity) -> bool {
        match &who.credential {
            Credential::Anonymous => true,
            Credential::Session(hash) => matches!(
                self.store.session(hash).await,
                Ok(Some(s)) if s.expires > Utc::now()
            ),
            Credential::Token(id) => matches!(
                self.store.token(id).await,
                Ok(Some(t)) if t.token.revoked.is_none()
            ),
        }
    }

    /// Forgets sessions past their end (called now and then).
    pub async fn sweep(&self) -> Result<(), AuthError> {
        Ok(self.store.delete_expired_sessions(Utc::now()).await?)
    }
}

fn session_identity(user: &User, hash: String) -> Identity {
    Identity {
        viewer: Viewer {
            user: Some(user.name.clone()),
            role: user.role,
            via: "session".into(),
        },
        credential: Credential::Session(hash),
        label: user.name.clone(),
    }
}
