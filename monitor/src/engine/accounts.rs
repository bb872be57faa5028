//! The accounts and keys connectors read with (Oxylabs, Pop Mart's per
//! region), set from the vault by the server, never stored with a source and
//! never shown; and the ready-made accounts the server may offer (set at
//! start, e.g. for fakes it serves itself), which an admin takes with one
//! button.

use std::time::Duration;

use super::Engine;
use crate::fetch::host_key;
use crate::politeness::Politeness;

/// The accounts and keys connectors use, set from the vault by the server
/// (never stored with a source, never shown).
#[derive(Default)]
pub struct Connectors {
    pub oxylabs: Option<crate::sources::amazon::OxylabsAccount>,
    /// Pop Mart's client key and signing salt, by region code.
    pub popmart: std::collections::BTreeMap<String, crate::sources::popmart::PopmartKeys>,
}

/// What the Sources page may show about the connector accounts.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ConnectorStatus {
    pub oxylabs_user: Option<String>,
    /// Whose account it is when it is the offered one ("the built-in
    /// demo"); `None` for an account an admin typed.
    pub oxylabs_offered: Option<String>,
    pub popmart_regions: Vec<String>,
}

/// Connector accounts the server offers ready-made, all set with one
/// button (the built-in demo offers its fake Oxylabs and Pop Mart). The
/// secrets stay on the server; the page sees the label and the note.
#[derive(Clone, Debug)]
pub struct OfferedAccounts {
    /// Whose they are, as the page says it ("the built-in demo").
    pub label: String,
    pub oxylabs: Option<OfferedLogin>,
    /// One key and salt for every Pop Mart region.
    pub popmart: Option<OfferedKeys>,
    /// What to try once they are set, said to the admin.
    pub note: String,
}

/// An offered Oxylabs login and the API base it is for.
#[derive(Clone, Debug)]
pub struct OfferedLogin {
    pub user: String,
    pub password: String,
    pub api: String,
}

/// An offered Pop Mart client key and signing salt, and the API they are for.
#[derive(Clone, Debug)]
pub struct OfferedKeys {
    pub client_key: String,
    pub salt: String,
    pub api: String,
}

impl Engine {
    /// Sets (or forgets) the Oxylabs account Amazon sources use.
    pub fn set_oxylabs(&self, account: Option<crate::sources::amazon::OxylabsAccount>) {
        if let Some(a) = &account {
            // A paid API made for volume: more in flight, short spacing; its
            // 429s and Retry-After still apply.
            for base in [&a.realtime, &a.data] {
                self.fetcher.gates.set_rules(
                    &host_key(base),
                    Politeness {
                        max_in_flight: 4,
                        min_spacing: self
                            .cfg
                            .politeness
                            .min_spacing
                            .min(Duration::from_millis(100)),
                        ..self.cfg.politeness.clone()
                    },
                );
            }
        }
        self.connectors.write().oxylabs = account;
    }

    /// Sets (or forgets) a Pop Mart region's client key and signing salt.
    pub fn set_popmart_keys(
        &self,
        region: &str,
        keys: Option<crate::sources::popmart::PopmartKeys>,
    ) {
        let mut c = self.connectors.write();
        match keys {
            Some(k) => c.popmart.insert(region.to_uppercase(), k),
            None => c.popmart.remove(&region.to_uppercase()),
        };
    }

    /// Offers ready-made accounts to admins (configured at start).
    pub fn offer_accounts(&self, offer: OfferedAccounts) {
        *self.offered.write() = Some(offer);
    }

    /// The accounts on offer, with their secrets: for the control layer only.
    pub fn offered_accounts(&self) -> Option<OfferedAccounts> {
        self.offered.read().clone()
    }

    /// Which connector accounts are set (never their secrets).
    pub fn connector_status(&self) -> ConnectorStatus {
        let c = self.connectors.read();
        ConnectorStatus {
            oxylabs_user: c.oxylabs.as_ref().map(|a| a.username.clone()),
            oxylabs_offered: self.offered.read().as_ref().and_then(|o| {
                let (mine, offered) = (c.oxylabs.as_ref()?, o.oxylabs.as_ref()?);
                (mine.username == offered.user && mine.realtime.as_str().starts_with(&offered.api))
                    .then(|| o.label.clone())
            }),
            popmart_regions: c.popmart.keys().cloned().collect(),
        }
    }
}
