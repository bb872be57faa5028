//! The accounts and keys connectors read with (Oxylabs, Pop Mart's per
//! region), set from the vault by the server, never stored with a source and
//! never shown; and where the built-in demo's fakes are served.

use std::time::Duration;

use url::Url;

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
    /// Whether the account points at the built-in demo's fake Oxylabs.
    pub oxylabs_demo: bool,
    pub popmart_regions: Vec<String>,
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

    /// Says where the built-in demo is served ("http://127.0.0.1:3000/demo").
    pub fn set_demo_base(&self, url: Url) {
        *self.demo_base.write() = Some(url);
    }

    pub fn demo_base(&self) -> Option<Url> {
        self.demo_base.read().clone()
    }

    /// Which connector accounts are set (never their secrets).
    pub fn connector_status(&self) -> ConnectorStatus {
        let c = self.connectors.read();
        ConnectorStatus {
            oxylabs_user: c.oxylabs.as_ref().map(|a| a.username.clone()),
            oxylabs_demo: c
                .oxylabs
                .as_ref()
                .is_some_and(|a| a.realtime.path().contains("/demo/oxylabs")),
            popmart_regions: c.popmart.keys().cloned().collect(),
        }
    }
}
