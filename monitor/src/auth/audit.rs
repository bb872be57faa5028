//! The audit log: every account, source, alert and repricing change is
//! appended with who made it and the before and after, under an id that
//! orders entries even when two land in the same microsecond.

use chrono::Utc;

use model::{AuditEntry, Role};

use super::{Accounts, AuthError, Identity};

impl Accounts {
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
    pub(super) fn audit_entry(
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
}
