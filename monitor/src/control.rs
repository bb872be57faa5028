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
    #[error(transparent)]
    Vault(#[from] crate::auth::VaultError),
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
        self.change_source(who, key, Some(edit), None).await
    }

    pub async fn set_source_enabled(
        &self,
        who: &Identity,
        key: &str,
        enabled: bool,
    ) -> Result<Source, ControlError> {
        self.change_source(who, key, None, Some(enabled)).await
    }

    /// Edits a source and pauses or resumes it, as one change: a field
    /// refused leaves the source as it was, the others too (see
    /// [`Engine::change_source`]). Audited as what it did: the edit, then
    /// the pause or resume.
    pub async fn change_source(
        &self,
        who: &Identity,
        key: &str,
        edit: Option<SourceEdit>,
        enabled: Option<bool>,
    ) -> Result<Source, ControlError> {
        who.require(Role::Editor)?;
        let before = self.source(key)?;
        let edited = edit.is_some();
        let after = self
            .engine
            .change_source(key, edit.unwrap_or_default(), enabled)
            .await?;
        if edited {
            // The edit as it would read alone: the pause or resume is its own entry.
            let edit_only = Source {
                enabled: before.enabled,
                ..after.clone()
            };
            self.accounts
                .audit(
                    who,
                    "source.edit",
                    key,
                    Some(source_json(&before)),
                    Some(source_json(&edit_only)),
                )
                .await?;
        }
        if let Some(enabled) = enabled {
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
        }
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

    /// Records that two products are (or are not) the same item, or undoes
    /// it (editors).
    pub async fn judge_match(
        &self,
        who: &Identity,
        a: &str,
        b: &str,
        same: Option<bool>,
    ) -> Result<(), ControlError> {
        who.require(Role::Editor)?;
        let before = self.engine.verdict(a, b);
        self.engine.judge_match(a, b, same).await?;
        self.accounts
            .audit(
                who,
                "match.judge",
                &format!("{a} + {b}"),
                Some(json!({ "same": before })),
                Some(json!({ "same": same })),
            )
            .await?;
        Ok(())
    }

    /// Loads the connector accounts kept in the vault into the engine (at start).
    pub async fn load_connector_accounts(&self) -> Result<(), ControlError> {
        let (vault, store) = (&self.accounts.vault, self.accounts.store());
        let get = |name: &'static str| async move { vault.get(store, name).await };
        if let (Some(user), Some(password)) = (get(OXY_USER).await?, get(OXY_PASSWORD).await?) {
            let api = get(OXY_API).await?.unwrap_or_default();
            self.engine
                .set_oxylabs(Some(oxylabs_account(user, password, &api)?));
        }
        for (region, ..) in model::POPMART_REGIONS {
            let key = vault
                .get(store, &format!("popmart/{region}/client-key"))
                .await?;
            let salt = vault.get(store, &format!("popmart/{region}/salt")).await?;
            let api = vault.get(store, &format!("popmart/{region}/api")).await?;
            if let (Some(client_key), Some(salt)) = (key, salt) {
                let api = api
                    .filter(|a| !a.is_empty())
                    .and_then(|a| url::Url::parse(&a).ok());
                self.engine.set_popmart_keys(
                    region,
                    Some(crate::sources::popmart::PopmartKeys {
                        client_key,
                        salt,
                        api,
                    }),
                );
            }
        }
        Ok(())
    }

    /// Sets the Oxylabs account Amazon sources use (admins). `api` is empty
    /// for Oxylabs itself, or the base of another endpoint (an offered
    /// fake). Kept sealed in the vault; never shown again.
    pub async fn set_oxylabs(
        &self,
        who: &Identity,
        user: &str,
        password: &str,
        api: &str,
    ) -> Result<(), ControlError> {
        who.require(Role::Admin)?;
        let (user, password, api) = (user.trim(), password.trim(), api.trim());
        if user.is_empty() || password.is_empty() {
            return Err(EngineError::InvalidSource(
                "give the Oxylabs username and password".into(),
            )
            .into());
        }
        let account = oxylabs_account(user.into(), password.into(), api)?;
        let (vault, store) = (&self.accounts.vault, self.accounts.store());
        vault
            .put_all(
                store,
                &[(OXY_USER, user), (OXY_PASSWORD, password), (OXY_API, api)],
            )
            .await?;
        self.engine.set_oxylabs(Some(account));
        self.accounts
            .audit(
                who,
                "connector.oxylabs",
                user,
                None,
                Some(json!({ "user": user, "api": if api.is_empty() { "oxylabs" } else { api } })),
            )
            .await?;
        Ok(())
    }

    /// Sets the accounts the server offers ready-made (admins): its
    /// Oxylabs login, and its Pop Mart key and salt for every region.
    /// Returns what to try with them.
    pub async fn use_offered_accounts(&self, who: &Identity) -> Result<String, ControlError> {
        who.require(Role::Admin)?;
        let offer = self.engine.offered_accounts().ok_or_else(|| {
            EngineError::InvalidSource(
                "this server offers no ready-made accounts; give your own below".into(),
            )
        })?;
        if let Some(o) = &offer.oxylabs {
            self.set_oxylabs(who, &o.user, &o.password, &o.api).await?;
        }
        if let Some(k) = &offer.popmart {
            for (region, ..) in model::POPMART_REGIONS {
                self.put_popmart_keys(who, region, &k.client_key, &k.salt, &k.api)
                    .await?;
            }
        }
        Ok(offer.note)
    }

    /// Sets a Pop Mart region's client key and signing salt (admins), for
    /// the region's own Pop Mart API.
    pub async fn set_popmart_keys(
        &self,
        who: &Identity,
        region: &str,
        client_key: &str,
        salt: &str,
    ) -> Result<(), ControlError> {
        self.put_popmart_keys(who, region, client_key, salt, "")
            .await
    }

    /// The keys, for the API at `api` (empty: the region's own host); they
    /// are sent to that API only.
    async fn put_popmart_keys(
        &self,
        who: &Identity,
        region: &str,
        client_key: &str,
        salt: &str,
        api: &str,
    ) -> Result<(), ControlError> {
        who.require(Role::Admin)?;
        let region = region.trim().to_uppercase();
        if !model::POPMART_REGIONS.iter().any(|r| r.0 == region) {
            return Err(
                EngineError::InvalidSource(format!("unknown Pop Mart region {region:?}")).into(),
            );
        }
        let (client_key, salt) = (client_key.trim(), salt.trim());
        if client_key.is_empty() || salt.is_empty() {
            return Err(EngineError::InvalidSource(
                "give the region's client key and signing salt".into(),
            )
            .into());
        }
        let (vault, store) = (&self.accounts.vault, self.accounts.store());
        let api_url = (!api.is_empty())
            .then(|| url::Url::parse(api))
            .transpose()
            .map_err(|e| EngineError::InvalidSource(format!("{api:?} is not an address: {e}")))?;
        let names = [
            format!("popmart/{region}/client-key"),
            format!("popmart/{region}/salt"),
            format!("popmart/{region}/api"),
        ];
        vault
            .put_all(
                store,
                &[
                    (names[0].as_str(), client_key),
                    (names[1].as_str(), salt),
                    (names[2].as_str(), api),
                ],
            )
            .await?;
        let api = api_url;
        self.engine.set_popmart_keys(
            &region,
            Some(crate::sources::popmart::PopmartKeys {
                client_key: client_key.into(),
                salt: salt.into(),
                api,
            }),
        );
        self.accounts
            .audit(who, "connector.popmart", &region, None, None)
            .await?;
        Ok(())
    }
}

const OXY_USER: &str = "oxylabs/username";
const OXY_PASSWORD: &str = "oxylabs/password";
const OXY_API: &str = "oxylabs/api";

/// The account, with both APIs at `api` when one is given (a fake serves
/// both), else at Oxylabs' own hosts.
fn oxylabs_account(
    username: String,
    password: String,
    api: &str,
) -> Result<crate::sources::amazon::OxylabsAccount, ControlError> {
    use crate::sources::amazon::{OxylabsAccount, DATA_API, REALTIME_API};
    let parse = |u: &str| {
        crate::engine::source_url(u).map_err(|_| {
            EngineError::InvalidSource(format!(
                "{u:?} is not an http(s) address for the Oxylabs API"
            ))
        })
    };
    let (realtime, data) = if api.is_empty() {
        (parse(REALTIME_API)?, parse(DATA_API)?)
    } else {
        (parse(api)?, parse(api)?)
    };
    Ok(OxylabsAccount {
        username,
        password,
        realtime,
        data,
    })
}
