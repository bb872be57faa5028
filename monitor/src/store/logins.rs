//! The sign-in throttle's ledger: failed attempts, kept in the database so
//! that a restart does not forget them and every instance sharing the
//! database counts the same attempts.
//!
//! Two kinds of rows: `login_pair:⟨account, address⟩` (an account's failures
//! from one address, and when the last was) and `login_address:⟨address⟩`
//! (one address's recent failures, whatever the account). The checks live in
//! `crate::auth::limit`; here they are read and written together, each write
//! only if neither row changed since it was read (a `version` per row), else
//! read again. Rows are never deleted by that path (a deleted row would start
//! its version again), only swept once stale.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::sequence::with_retry;
use super::{root_error, Result, Store, StoreError};

/// An account's failures from one address.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Strikes {
    pub failures: u32,
    /// The last failure, ms since the Unix epoch.
    pub last: i64,
}

/// What one sign-in attempt reads and changes: its account-and-address
/// strikes and its address's recent failures (ms, oldest first; empty when
/// the address is not known).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoginLedger {
    pub strikes: Strikes,
    pub recent: Vec<i64>,
}

/// The rows of one attempt: the account-and-address key and the address
/// key (`None` when the address is not known, e.g. a password change).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LedgerKeys {
    pub pair: String,
    pub address: Option<String>,
}

/// What the write throws when a row changed since it was read ("can be
/// retried" makes [`with_retry`] read and decide again).
const CHANGED: &str = "the sign-in ledger changed since it was read; this can be retried";

#[derive(Deserialize)]
struct PairRow {
    #[serde(default)]
    failures: u32,
    #[serde(default)]
    last: i64,
    #[serde(default)]
    version: u64,
}

#[derive(Deserialize)]
struct AddressRow {
    #[serde(default)]
    recent: Vec<i64>,
    #[serde(default)]
    version: u64,
}

const READ: &str = "
SELECT failures, last, version FROM ONLY type::record('login_pair', $pair);
IF $address { (SELECT recent, version FROM ONLY type::record('login_address', $address)) } ELSE { NONE };
";

const WRITE: &str = "
BEGIN TRANSACTION;
IF ((SELECT VALUE version FROM ONLY type::record('login_pair', $pair)) ?? 0) != $pair_version {
    THROW $changed;
};
UPSERT type::record('login_pair', $pair)
    CONTENT { failures: $strikes.failures, last: $strikes.last, version: $pair_version + 1 };
IF $address {
    IF ((SELECT VALUE version FROM ONLY type::record('login_address', $address)) ?? 0) != $address_version {
        THROW $changed;
    };
    UPSERT type::record('login_address', $address)
        CONTENT { recent: $recent, last: $strikes.last, version: $address_version + 1 };
};
COMMIT TRANSACTION;
";

/// A row read with `ONLY`: `None` when it does not exist.
fn decode_row<T: serde::de::DeserializeOwned>(row: Option<Value>) -> Result<Option<T>> {
    row.filter(|v| !v.is_null())
        .map(|v| serde_json::from_value(v).map_err(|e| StoreError::Decode(e.to_string())))
        .transpose()
}

impl Store {
    /// Reads the ledger of `keys`, lets `change` decide, and writes what it
    /// changed if neither row changed in between (else reads again). `change`
    /// returning `Err` writes nothing and is returned as is.
    pub async fn update_login_ledger<T, E>(
        &self,
        keys: &LedgerKeys,
        change: impl FnMut(&mut LoginLedger) -> std::result::Result<T, E> + Send,
    ) -> Result<std::result::Result<T, E>> {
        let change = parking_lot::Mutex::new(change);
        with_retry(|| async {
            let (mut ledger, versions) = self.read_login_ledger(keys).await?;
            let before = ledger.clone();
            let out = (change.lock())(&mut ledger);
            if out.is_ok() && ledger != before {
                self.write_login_ledger(keys, &ledger, versions).await?;
            }
            Ok(out)
        })
        .await
    }

    async fn read_login_ledger(&self, keys: &LedgerKeys) -> Result<(LoginLedger, (u64, u64))> {
        let mut res = self
            .db()
            .query(READ)
            .bind(json!({ "pair": keys.pair, "address": keys.address }))
            .await?
            .check()?;
        let pair: Option<PairRow> = decode_row(res.take(0)?)?;
        let address: Option<AddressRow> = decode_row(res.take(1)?)?;
        let versions = (
            pair.as_ref().map_or(0, |p| p.version),
            address.as_ref().map_or(0, |a| a.version),
        );
        let ledger = LoginLedger {
            strikes: pair.map_or(Strikes::default(), |p| Strikes {
                failures: p.failures,
                last: p.last,
            }),
            recent: address.map(|a| a.recent).unwrap_or_default(),
        };
        Ok((ledger, versions))
    }

    async fn write_login_ledger(
        &self,
        keys: &LedgerKeys,
        ledger: &LoginLedger,
        (pair_version, address_version): (u64, u64),
    ) -> Result<()> {
        let mut res = self
            .db()
            .query(WRITE)
            .bind(json!({
                "pair": keys.pair, "address": keys.address, "changed": CHANGED,
                "pair_version": pair_version, "address_version": address_version,
                "strikes": ledger.strikes, "recent": ledger.recent,
            }))
            .await?;
        root_error(res.take_errors())
    }

    /// Forgets account-and-address rows whose last failure is before
    /// `pairs_before` and address rows before `addresses_before` (ms), then
    /// keeps at most `max_rows` of each, the newest.
    pub async fn sweep_login_ledger(
        &self,
        pairs_before: i64,
        addresses_before: i64,
        max_rows: usize,
    ) -> Result<()> {
        let mut res = self
            .db()
            .query(
                "DELETE login_pair WHERE last < $pairs_before;
                 DELETE login_address WHERE last < $addresses_before;
                 LET $cut = (SELECT VALUE last FROM login_pair ORDER BY last DESC LIMIT 1 START $max)[0];
                 IF $cut != NONE { DELETE login_pair WHERE last <= $cut };
                 LET $cut = (SELECT VALUE last FROM login_address ORDER BY last DESC LIMIT 1 START $max)[0];
                 IF $cut != NONE { DELETE login_address WHERE last <= $cut };",
            )
            .bind(json!({
                "pairs_before": pairs_before, "addresses_before": addresses_before, "max": max_rows,
            }))
            .await?;
        root_error(res.take_errors())
    }
}
