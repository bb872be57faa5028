//! Watch rules and notification channels. A channel's address (its secrets)
//! is not here: it is sealed in the vault under `channel/<id>`.

use serde_json::json;

use model::{ChannelInfo, Rule};

use super::{Result, Store};

#[derive(serde::Deserialize)]
struct RuleRow {
    rule_row: Rule,
}

#[derive(serde::Deserialize)]
struct ChannelRow {
    channel_row: ChannelInfo,
}

impl Store {
    /// Every rule, oldest first.
    pub async fn rules(&self) -> Result<Vec<Rule>> {
        let rows: Vec<RuleRow> = self
            .all(
                "SELECT rule_row, created_ts FROM rule ORDER BY created_ts",
                json!({}),
            )
            .await?;
        Ok(rows.into_iter().map(|r| r.rule_row).collect())
    }

    /// Creates or replaces a rule.
    pub async fn save_rule(&self, r: &Rule) -> Result<()> {
        self.exec(
            "UPSERT type::record('rule', $id) CONTENT { rule_row: $rule, created_ts: $ts }; UPSERT meta:alerts_config SET version = (version ?? 0) + 1;",
            json!({ "id": r.id, "rule": r, "ts": r.created.timestamp_millis() }),
        )
        .await
    }

    pub async fn delete_rule(&self, id: &str) -> Result<()> {
        self.exec(
            "DELETE type::record('rule', $id); UPSERT meta:alerts_config SET version = (version ?? 0) + 1;",
            json!({ "id": id }),
        )
            .await
    }

    /// Every channel, oldest first.
    pub async fn channels(&self) -> Result<Vec<ChannelInfo>> {
        let rows: Vec<ChannelRow> = self
            .all(
                "SELECT channel_row, created_ts FROM channel ORDER BY created_ts",
                json!({}),
            )
            .await?;
        Ok(rows.into_iter().map(|r| r.channel_row).collect())
    }

    pub async fn save_channel(&self, c: &ChannelInfo) -> Result<()> {
        self.exec(
            "UPSERT type::record('channel', $id) CONTENT { channel_row: $info, created_ts: $ts }; UPSERT meta:alerts_config SET version = (version ?? 0) + 1;",
            json!({ "id": c.id, "info": c, "ts": c.created.timestamp_millis() }),
        )
        .await
    }

    pub async fn delete_channel(&self, id: &str) -> Result<()> {
        self.exec(
            "DELETE type::record('channel', $id); UPSERT meta:alerts_config SET version = (version ?? 0) + 1;",
            json!({ "id": id }),
        )
            .await
    }

    /// Raised by every change to rules and channels: the instance running
    /// the alerts reads them again when it moves.
    pub async fn alerts_config_version(&self) -> Result<u64> {
        let mut res = self
            .db()
            .query("SELECT VALUE version FROM ONLY meta:alerts_config")
            .await?
            .check()?;
        let v: Option<u64> = res.take(0)?;
        Ok(v.unwrap_or(0))
    }
}
