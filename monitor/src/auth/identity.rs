//! Who is asking: the [`Identity`] resolved once per request (its role,
//! how it was authenticated, and its label for the audit log), and the
//! role check every action makes.

use model::{Role, Viewer};

use super::AuthError;

/// How a request was authenticated.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
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
