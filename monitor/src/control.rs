//! Every change to what Dropwatch watches, checked and recorded.
//!
//! The server functions behind the pages and the REST API both come through
//! here, so each change is allowed by one rule (the caller's role) and lands
//! in the audit log with its before and after, whichever door it came in by.

use std::sync::Arc;

use serde_json::json;

use model::{Role, Source};

use crate::auth::{Accounts, AuthError, Identity};
use crate::engine::{Engine, EngineError, NewSource, SourceEdit};

#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl From<crate::store::StoreError> for ControlError {
    fn from(e: crate::store::StoreError) -> Self {
        ControlError::Engine(e.into())
    }
}

/// The engine and the accounts, for changes made on someone's behalf.
#[derive(Clone)]
pub struct Control {
    pub engine: Arc<Engine>,
    pub accounts: Arc<Accounts>,
    /// Rules, channels and notifications (checks roles and audits itself).
    pub alerts: Arc<crate::alerts::AlertService>,
    /// Links, proposals and pushes to the user's Shopify store (likewise).
    pub repricing: Arc<crate::repricing::service::Repricer>,
}

fn source_json(s: &Source) -> serde_json::Value {
    json!({ "name": s.name, "url": s.url, "interval_secs": s.interval_secs, "enabled": s.enabled })
}

impl Control {
    fn source(&self, key: &str) -> Result<Source, ControlError> {
        self.engine
            .sources()
            .into_iter()
            .find(|s| s.key == key)
            .ok_or_else(|| EngineError::UnknownSource(key.to_string()).into())
    }

    /// Adds a source (or returns the one already watching that URL, with
    /// `false`).
    pub async fn add_source(
        &self,
        who: &Identity,
        new: NewSource,
    ) -> Result<(Source, bool), ControlError> {
        who.require(Role::Editor)?;
        let before = self.engine.sources().len();
        let s = self.engine.add_source(new).await?;
        let added = self.engine.sources().len() > before;
        if added {
            self.accounts
                .audit(who, "source.add", &s.key, None, Some(source_json(&s)))
                .await?;
        }
        Ok((s, added))
    }

    pub async fn edit_source(
        &self,
        who: &Identity,
        key: &str,
        edit: SourceEdit,
    ) -> Result<Source, ControlError> {
        who.require(Role::Editor)?;
        let before = self.source(key)?;
        let after = self.engine.update_source(key, edit).await?;
        self.accounts
            .audit(
                who,
                "source.edit",
                key,
                Some(source_json(&before)),
                Some(source_json(&after)),
            )
            .await?;
        Ok(after)
    }

    pub async fn set_source_enabled(
        &self,
        who: &Identity,
        key: &str,
        enabled: bool,
    ) -> Result<Source, ControlError> {
        who.require(Role::Editor)?;
        let before = self.source(key)?;
        let after = self.engine.set_enabled(key, enabled).await?;
        let action = if enabled {
            "source.resume"
        } else {
            "source.pause"
        };
        self.accounts
            .audit(
                who,
                action,
                key,
                Some(json!({ "enabled": before.enabled })),
                Some(json!({ "enabled": enabled })),
            )
            .await?;
        Ok(after)
    }

    pub async fn remove_source(&self, who: &Identity, key: &str) -> Result<(), ControlError> {
        who.require(Role::Editor)?;
        let before = self.source(key)?;
        self.engine.remove_source(key).await?;
        self.accounts
            .audit(who, "source.remove", key, Some(source_json(&before)), None)
            .await?;
        Ok(())
    }

    /// Starts a run of the source now; its progress shows as it goes.
    pub async fn check_source(&self, who: &Identity, key: &str) -> Result<(), ControlError> {
        who.require(Role::Editor)?;
        let source = self.source(key)?;
        if source.enabled {
            self.engine.trigger(key)?;
        } else {
            // A paused source has no scheduler to wake: run it once by hand.
            let engine = self.engine.clone();
            let key = key.to_string();
            tokio::spawn(async move {
                let _ = engine.check_now(&key).await;
            });
        }
        self.accounts
            .audit(who, "source.check", &source.key, None, None)
            .await?;
        Ok(())
    }
}
