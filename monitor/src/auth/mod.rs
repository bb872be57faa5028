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
//!
//! Where each part lives: who is asking ([`Identity`], `identity.rs`);
//! the first admin (`setup.rs`); signing in and resolving sessions and
//! tokens (`sessions.rs`); creating, listing and deleting users
//! (`user_accounts.rs`) and changing one (`users.rs`); API tokens
//! (`tokens.rs`); the audit log (`audit.rs`); sign-in throttling
//! (`limit.rs`); hashing and random secrets (`secret.rs`); the [`vault`].

mod audit;
mod identity;
mod limit;
pub mod secret;
mod sessions;
mod setup;
mod tokens;
mod user_accounts;
mod users;
pub mod vault;

use std::sync::Arc;

use parking_lot::Mutex;
use std::time::Duration;

use model::Role;

use crate::store::{Store, StoreError};
pub use identity::{Credential, Identity};
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
            limiter: LoginLimiter::new(limits, store.clone()),
            store,
            setup_token: Mutex::new(None),
            vault,
            last_audit: Mutex::new(0),
        }
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }
}
