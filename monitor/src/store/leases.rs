//! Host leases and live instances, for several instances on one server.
//!
//! A lease `lease:⟨host⟩` says which instance polls a host (the politeness
//! unit: a shop's host, or the Oxylabs account): `owner`, `epoch` (raised by
//! every new owner, so a stale owner's writes can be refused) and `expires`
//! (ms since the epoch; the owner renews it well before). `hold` is the host's
//! politeness state as its owner last saw it (back-off, `Retry-After`, an
//! open breaker), so a new owner honours it. An instance's heartbeat is
//! `instance:⟨id⟩`. Times are the instances' wall clocks: instances on
//! different machines need them in sync (NTP), within a small part of the TTL.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{decode, Result, Store};

/// A host's politeness state carried with its lease.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostHold {
    /// `backing_off` or `breaker_open`.
    pub state: String,
    /// Until when, ms since the Unix epoch.
    pub until: i64,
    #[serde(default)]
    pub failures: u32,
}

/// A lease as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseRow {
    pub host: String,
    /// The holding instance; `None` once released.
    #[serde(default)]
    pub owner: Option<String>,
    pub epoch: u64,
    /// ms since the Unix epoch.
    pub expires: i64,
    #[serde(default)]
    pub hold: Option<HostHold>,
}

/// What a poll's writes are fenced by: they commit only while `owner` still
/// holds `host`'s lease at `epoch`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Fence {
    pub host: String,
    pub owner: String,
    pub epoch: u64,
}

/// The statement that fails a transaction whose `$fence` no longer holds.
pub(super) const CHECK_FENCE: &str = "\
IF (SELECT VALUE [owner, epoch] FROM ONLY type::record('lease', $fence.host)) != [$fence.owner, $fence.epoch] {
    THROW 'this instance no longer holds the lease of ' + $fence.host + ' (another instance took it over); its changes were not written';
};
";

/// An instance's heartbeat.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceRow {
    pub id: String,
    /// Where its web server listens, as it was started (for `/status`).
    #[serde(default)]
    pub addr: String,
    /// ms since the Unix epoch.
    pub started: i64,
    pub seen: i64,
}

impl Store {
    /// Records that instance `row.id` is alive now.
    pub async fn heartbeat(&self, row: &InstanceRow) -> Result<()> {
        self.db()
            .query("UPSERT type::record('instance', $row.id) CONTENT $row")
            .bind(json!({ "row": super::write::to_json(row) }))
            .await?
            .check()?;
        Ok(())
    }

    /// Instances seen since `since` (ms), oldest first.
    pub async fn instances_since(&self, since: i64) -> Result<Vec<InstanceRow>> {
        let mut res = self
            .db()
            .query(
                "SELECT record::id(id) AS id, addr, started, seen FROM instance
                 WHERE seen >= $since ORDER BY started, id",
            )
            .bind(json!({ "since": since }))
            .await?
            .check()?;
        let rows: Vec<Value> = res.take(0)?;
        decode(rows)
    }

    /// Forgets an instance (it stopped cleanly).
    pub async fn remove_instance(&self, id: &str) -> Result<()> {
        self.db()
            .query("DELETE type::record('instance', $id)")
            .bind(json!({ "id": id }))
            .await?
            .check()?;
        Ok(())
    }

    /// Every lease.
    pub async fn leases(&self) -> Result<Vec<LeaseRow>> {
        let mut res = self
            .db()
            .query("SELECT * OMIT id FROM lease ORDER BY host")
            .await?
            .check()?;
        let rows: Vec<Value> = res.take(0)?;
        decode(rows)
    }

    /// Takes `host` for `owner` until `expires` if nobody holds it (never
    /// held, released, or expired at `now`), raising its epoch. `None` when
    /// someone else holds it or took it at the same moment.
    pub async fn acquire_lease(
        &self,
        host: &str,
        owner: &str,
        now: i64,
        expires: i64,
    ) -> Result<Option<LeaseRow>> {
        let res = self
            .db()
            .query(
                "UPSERT type::record('lease', $host)
                 SET host = $host, owner = $owner, epoch = (epoch ?? 0) + 1, expires = $expires
                 WHERE owner = NONE OR expires < $now
                 RETURN AFTER",
            )
            .bind(json!({ "host": host, "owner": owner, "now": now, "expires": expires }))
            .await;
        self.one_lease(res)
    }

    /// Extends `owner`'s lease of `host` at `epoch` to `expires`, keeping the
    /// host's politeness state; `None` when the lease is no longer theirs.
    pub async fn renew_lease(
        &self,
        host: &str,
        owner: &str,
        epoch: u64,
        expires: i64,
        hold: Option<&HostHold>,
    ) -> Result<Option<LeaseRow>> {
        let res = self
            .db()
            .query(
                "UPDATE type::record('lease', $host) SET expires = $expires, hold = $hold
                 WHERE owner = $owner AND epoch = $epoch
                 RETURN AFTER",
            )
            .bind(json!({
                "host": host, "owner": owner, "epoch": epoch, "expires": expires,
                "hold": hold.map(super::write::to_json),
            }))
            .await;
        self.one_lease(res)
    }

    /// Gives `host` up (for another instance to take at once), keeping its
    /// politeness state.
    pub async fn release_lease(
        &self,
        host: &str,
        owner: &str,
        epoch: u64,
        hold: Option<&HostHold>,
    ) -> Result<()> {
        self.db()
            .query(
                "UPDATE type::record('lease', $host) SET owner = NONE, expires = 0, hold = $hold
                 WHERE owner = $owner AND epoch = $epoch",
            )
            .bind(json!({
                "host": host, "owner": owner, "epoch": epoch,
                "hold": hold.map(super::write::to_json),
            }))
            .await?
            .check()?;
        Ok(())
    }

    /// The lease a conditional write returned; a transaction conflict (the
    /// other instance wrote it first) is "not taken".
    fn one_lease(
        &self,
        res: std::result::Result<surrealdb::IndexedResults, surrealdb::Error>,
    ) -> Result<Option<LeaseRow>> {
        let res = res
            .map_err(super::StoreError::from)
            .and_then(|r| Ok(r.check()?));
        match res {
            Ok(mut r) => {
                let rows: Vec<Value> = r.take(0)?;
                let rows: Vec<Value> = rows
                    .into_iter()
                    .map(|mut v| {
                        if let Some(o) = v.as_object_mut() {
                            o.remove("id");
                        }
                        v
                    })
                    .collect();
                Ok(decode::<LeaseRow>(rows)?.into_iter().next())
            }
            Err(e) if super::sequence::is_conflict(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }
}
