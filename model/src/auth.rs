//! Who may do what: roles, the signed-in user as the pages see it, API tokens
//! and the audit log, as they travel to the browser and the REST API.
//!
//! Nothing here carries a secret: password hashes, session ids and token
//! secrets stay on the server (see `monitor::auth`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What a user (or a token, or an anonymous visitor) may do. Ordered: each
/// role may do everything the one before it may.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads everything, including the live feed; changes nothing.
    Viewer,
    /// Also manages sources, rules and repricing proposals.
    Editor,
    /// Also manages users, secrets and store credentials.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Editor, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Editor => "editor",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s.trim().to_ascii_lowercase().as_str() {
            "viewer" => Some(Role::Viewer),
            "editor" => Some(Role::Editor),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    /// Whether this role may do what `needed` may.
    pub fn allows(self, needed: Role) -> bool {
        self >= needed
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who is making a request, as the pages and the API see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Viewer {
    /// The user name; `None` for an anonymous visitor (`--anonymous viewer`).
    pub user: Option<String>,
    pub role: Role,
    /// How the request was authenticated: "session", "token" or "anonymous".
    pub via: String,
}

impl Viewer {
    pub fn can(&self, needed: Role) -> bool {
        self.role.allows(needed)
    }
}

/// A user account, without its password hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct User {
    pub name: String,
    pub role: Role,
    pub created: DateTime<Utc>,
    #[serde(default)]
    pub password_changed: Option<DateTime<Utc>>,
    #[serde(default)]
    pub last_login: Option<DateTime<Utc>>,
}

/// An API token as listed: never its secret (that is shown once, at creation).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiToken {
    /// The public part of the token (`dw_<id>_...`), used to list and revoke it.
    pub id: String,
    pub name: String,
    pub role: Role,
    /// The user who created it.
    pub owner: String,
    pub created: DateTime<Utc>,
    #[serde(default)]
    pub last_used: Option<DateTime<Utc>>,
    #[serde(default)]
    pub revoked: Option<DateTime<Utc>>,
}

/// One entry of the audit log: who changed what, when.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    /// Sortable and unique: microseconds since the epoch.
    pub id: i64,
    pub at: DateTime<Utc>,
    /// "alice", "token:ci (alice)", "setup", "system".
    pub actor: String,
    /// What was done, e.g. "source.add", "user.role", "token.revoke".
    pub action: String,
    /// What it was done to (a source key, a user name, a token id).
    pub target: String,
    /// The state before and after, where it applies (secrets never appear).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub before: Option<serde_json::Value>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub after: Option<serde_json::Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_and_parse() {
        assert!(Role::Admin.allows(Role::Editor));
        assert!(Role::Editor.allows(Role::Viewer));
        assert!(!Role::Viewer.allows(Role::Editor));
        assert!(!Role::Editor.allows(Role::Admin));
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse(" Admin "), Some(Role::Admin));
        assert_eq!(Role::parse("root"), None);
    }
}
