//! Users, sessions, API tokens, roles and the audit log.
//!
//! [`Accounts`] answers "who is this request?" ([`Identity`]) from a session
//! cookie or an API token, and performs the account changes (users, roles,
//! passwords, tokens), each checked against the caller's role and written to
//! the audit log. Source changes are checked the same way in
//! [`crate::control`]. The server calls these for every page, server
//! function, REST route and socket; the UI only hides what a role cannot do.
//!
//! A change is checked whole before anything is written: a request refused
//! for one of its fields changes nothing (`users.rs` edits a user's role and
//! password in one transaction).
//!
//! What is stored: argon2id hashes of passwords; the SHA-256 of session
//! cookies and of token secrets (they are 256-bit random, so a leaked
//! database does not yield a usable credential); secrets that must be read
//! back (store credentials) sealed by the [`vault`].

mod limit;
pub mod secret;
mod users;
pub mod vault;

use std::net::IpAddr;
use std::sync::Arc;

use parking_lot::Mutex;
use std::time::Duration;

use chrono::Utc;
use serde_json::json;

use model::{ApiToken, AuditEntry, Role, User, Viewer};

use crate::store::{SessionRow, Store, StoreError, TokenRow, UserRow};
pub use limit::{Attempt, LoginLimiter, LoginLimits};
pub use vault::{KeySource, Vault, VaultError};

/// The name of the session cookie.
pub const SESSION_COOKIE: &str = "dw_session";
/// What an API token starts with: `dw_<id>_<secret>`.
pub const TOKEN_PREFIX: &str = "dw_";
/// How long a sign-in lasts.
pub const SESSION_TTL: Duration = Duration::from_secs(14 * 24 * 3600);
pub const MIN_PASSWORD: usize = 10;
/// No password or user name is longer (see `check_password`, `check_name`):
/// a sign-in with a longer one is refused before anything is hashed or kept.
const MAX_PASSWORD_BYTES: usize = 4 * 1024;
const MAX_NAME_BYTES: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("wrong user name or password")]
    BadLogin,
    #[error("too many failed sign-ins; try again in {} minute(s)", .0.as_secs().div_ceil(60).max(1))]
    Throttled(Duration),
    /// Too many sign-ins to one account at the same moment (see `limit.rs`).
    #[error("this account is being signed in to too often at once; try again in a few seconds")]
    Busy,
    /// Allowed only from a signed-in browser, not with an API token.
    #[error("{0}")]
    SessionOnly(String),
    #[error("sign in first")]
    Unauthenticated,
    #[error("this needs the {needed} role (you are {have})")]
    Forbidden { needed: Role, have: Role },
    #[error("{0}")]
    Invalid(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How a request was authenticated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credential {
    /// The SHA-256 of the session cookie.
    Session(String),
    /// The token's id.
    Token(String),
    Anonymous,
}

/// Who is asking, resolved once per request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub viewer: Viewer,
    pub credential: Credential,
    /// For the audit log: "alice", "token:ci (alice)", "anonymous".
    pub label: String,
}

impl Identity {
    pub fn anonymous(role: Role) -> Identity {
        Identity {
            viewer: Viewer {
                user: None,
                role,
                via: "anonymous".into(),
            },
            credential: Credential::Anonymous,
            label: "anonymous".into(),
        }
    }

    pub fn role(&self) -> Role {
        self.viewer.role
    }

    /// `Forbidden` unless this identity has at least `needed`.
    pub fn require(&self, needed: Role) -> Result<(), AuthError> {
        if self.viewer.can(needed) {
            Ok(())
        } else {
            Err(AuthError::Forbidden {
                needed,
                have: self.viewer.role,
            })
        }
    }

    /// An identity for the server's own actions (start-up, the setup link).
    pub fn system(label: &str) -> Identity {
        Identity {
            viewer: Viewer {
                user: None,
                role: Role::Admin,
                via: "system".into(),
            },
            credential: Credential::Anonymous,
            label: label.into(),
        }
    }
}

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

fn check_password(password: &str) -> Result<(), AuthError> {
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

pub struct Accounts {
    store: Arc<Store>,
    limiter: LoginLimiter,
    /// The one-time first-admin setup token, while no user exists.
    setup_token: Mutex<Option<String>>,
    pub vault: Vault,
    /// Audit ids are microseconds, bumped when two land in the same one.
    last_audit: Mutex<i64>,
}

impl Accounts {
    pub fn new(store: Arc<Store>, vault: Vault, limits: LoginLimits) -> Accounts {
        Accounts {
            store,
            limiter: LoginLimiter::new(limits),
            setup_token: Mutex::new(None),
            vault,
            last_audit: Mutex::new(0),
        }
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

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
        let user = self.insert_user(name, Role::Admin, password).await?;
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

    async fn insert_user(&self, name: &str, role: Role, password: &str) -> Result<User, AuthError> {
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
        attempt.succeeded();
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

    async fn existing(&self, name: &str) -> Result<UserRow, AuthError> {
        self.store
            .user(&name.trim().to_lowercase())
            .await?
            .ok_or_else(|| AuthError::NotFound(format!("user {name:?}")))
    }

    /// The last admin cannot be demoted or deleted: nobody could manage users.
    async fn keep_an_admin(&self, row: &UserRow) -> Result<(), AuthError> {
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

    /// Appends to the audit log.
    pub async fn audit(
        &self,
        who: &Identity,
        action: &str,
        target: &str,
        before: Option<serde_json::Value>,
        after: Option<serde_json::Value>,
    ) -> Result<(), AuthError> {
        let entry = self.audit_entry(who, action, target, before, after);
        self.store.append_audit(&entry).await?;
        Ok(())
    }

    /// An audit entry with its id, not written yet (a change written in one
    /// transaction writes its entries in the same one).
    fn audit_entry(
        &self,
        who: &Identity,
        action: &str,
        target: &str,
        before: Option<serde_json::Value>,
        after: Option<serde_json::Value>,
    ) -> AuditEntry {
        let at = Utc::now();
        let id = {
            let mut last = self.last_audit.lock();
            *last = (*last + 1).max(at.timestamp_micros());
            *last
        };
        AuditEntry {
            id,
            at,
            actor: who.label.clone(),
            action: action.into(),
            target: target.into(),
            before,
            after,
        }
    }

    /// The audit log, newest first (admins only).
    pub async fn audit_log(
        &self,
        who: &Identity,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, AuthError> {
        who.require(Role::Admin)?;
        Ok(self.store.audit(before, limit.clamp(1, 500)).await?)
    }

    /// Forgets sessions past their end (called now and then).
    pub async fn sweep(&self) -> Result<(), AuthError> {
        Ok(self.store.delete_expired_sessions(Utc::now()).await?)
    }
}

/// Why the last admin keeps the role (and the account).
fn only_admin() -> AuthError {
    AuthError::Invalid("This is the only admin; make another user admin first.".into())
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

/// Argon2 takes tens of milliseconds of CPU: off the async threads.
async fn hash(password: &str) -> String {
    let pw = password.to_string();
    tokio::task::spawn_blocking(move || secret::hash_password(&pw))
        .await
        .expect("hashing does not panic")
}
