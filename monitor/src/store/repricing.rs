//! Repricing links and proposals. A proposal's `version` is checked and
//! bumped in the same statement that changes its state, so of two approvals
//! of one proposal (two clicks, two Dropwatch instances on one database)
//! exactly one claims it.

use serde_json::json;

use model::{Link, Proposal, ProposalState};

use super::{Result, Store};

#[derive(serde::Deserialize)]
struct LinkRow {
    link_row: Link,
}

#[derive(serde::Deserialize)]
struct ProposalRow {
    proposal_row: Proposal,
}

fn state_name(s: ProposalState) -> String {
    serde_json::to_value(s)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

impl Store {
    pub async fn links(&self) -> Result<Vec<Link>> {
        let rows: Vec<LinkRow> = self
            .all(
                "SELECT link_row, created_ts FROM link ORDER BY created_ts",
                json!({}),
            )
            .await?;
        Ok(rows.into_iter().map(|r| r.link_row).collect())
    }

    pub async fn save_link(&self, l: &Link) -> Result<()> {
        self.exec(
            "UPSERT type::record('link', $id) CONTENT { link_row: $row, created_ts: $ts }",
            json!({ "id": l.id, "row": l, "ts": l.created.timestamp_millis() }),
        )
        .await
    }

    pub async fn delete_link(&self, id: &str) -> Result<()> {
        self.exec("DELETE type::record('link', $id)", json!({ "id": id }))
            .await
    }

    /// Stores a new proposal; false when one with that id exists (the same
    /// link and event).
    pub async fn create_proposal(&self, p: &Proposal) -> Result<bool> {
        let mut res = self
            .db()
            .query("CREATE type::record('proposal', $id) CONTENT { proposal_row: $row, state: $state, version: $version, ts: $ts }")
            .bind(json!({ "id": p.id, "row": p, "state": state_name(p.state), "version": p.version, "ts": p.created.timestamp_millis() }))
            .await?;
        Ok(res.take_errors().is_empty())
    }

    /// Moves a proposal from `expected_version` to the next version with
    /// `next` (its state and fields). `None` when someone else changed it
    /// first (the version moved on): nothing is written.
    pub async fn advance_proposal(
        &self,
        next: &Proposal,
        expected_version: u64,
    ) -> Result<Option<Proposal>> {
        let mut res = self
            .db()
            .query(
                "UPDATE type::record('proposal', $id)
                 SET proposal_row = $row, state = $state, version = $version
                 WHERE version = $expected RETURN AFTER",
            )
            .bind(json!({
                "id": next.id,
                "row": next,
                "state": state_name(next.state),
                "version": next.version,
                "expected": expected_version,
            }))
            .await?
            .check()?;
        let rows: Vec<serde_json::Value> = res.take(0)?;
        let rows: Vec<ProposalRow> = super::decode(rows)?;
        Ok(rows.into_iter().next().map(|r| r.proposal_row))
    }

    pub async fn proposal(&self, id: &str) -> Result<Option<Proposal>> {
        let rows: Vec<ProposalRow> = self
            .all(
                "SELECT proposal_row FROM type::record('proposal', $id)",
                json!({ "id": id }),
            )
            .await?;
        Ok(rows.into_iter().next().map(|r| r.proposal_row))
    }

    /// The newest proposals first.
    pub async fn proposals(&self, limit: usize) -> Result<Vec<Proposal>> {
        let rows: Vec<ProposalRow> = self
            .all(
                "SELECT proposal_row, ts FROM proposal ORDER BY ts DESC LIMIT $limit",
                json!({ "limit": limit }),
            )
            .await?;
        Ok(rows.into_iter().map(|r| r.proposal_row).collect())
    }

    /// Proposals in these states (e.g. approved and pushing, at start).
    pub async fn proposals_in(&self, states: &[ProposalState]) -> Result<Vec<Proposal>> {
        let names: Vec<String> = states.iter().map(|s| state_name(*s)).collect();
        let rows: Vec<ProposalRow> = self
            .all(
                "SELECT proposal_row, ts FROM proposal WHERE state IN $states ORDER BY ts",
                json!({ "states": names }),
            )
            .await?;
        Ok(rows.into_iter().map(|r| r.proposal_row).collect())
    }

    /// Records a webhook delivery id; false when it was seen before.
    pub async fn first_delivery(&self, webhook_id: &str) -> Result<bool> {
        let mut res = self
            .db()
            .query("CREATE type::record('webhook_seen', $id) CONTENT { at: time::now() }")
            .bind(json!({ "id": webhook_id }))
            .await?;
        Ok(res.take_errors().is_empty())
    }
}
