//! Editing the alert rules (editors, each change audited): a rule is
//! checked whole (its name, its condition's bounds, channels that exist, a
//! cooldown of at most 30 days) before it is kept; rules can be paused,
//! resumed and deleted. Which rules fire for an event is `rules.rs`. A
//! rule is owned by the signed-in user who created it, and what it watches
//! teaches their picks (`model::picks`).

use chrono::Utc;
use serde_json::json;

use model::{Role, Rule};

use super::service::{invalid, new_id, AlertError, AlertService};
use crate::auth::Identity;

impl AlertService {
    pub fn rules(&self) -> Vec<Rule> {
        self.rules.read().clone()
    }

    /// One rule, or `NotFound`.
    pub fn rule(&self, id: &str) -> Result<Rule, AlertError> {
        self.rules
            .read()
            .iter()
            .find(|r| r.id == id)
            .cloned()
            .ok_or_else(|| AlertError::NotFound(format!("rule {id}")))
    }

    /// Creates a rule (empty id) or replaces the one with that id.
    pub async fn save_rule(&self, who: &Identity, mut rule: Rule) -> Result<Rule, AlertError> {
        self.current().await;
        who.require(Role::Editor)?;
        rule.name = rule.name.trim().to_string();
        if rule.name.chars().count() > 120 {
            return Err(invalid("name", "A rule's name has at most 120 characters."));
        }
        if rule.name.is_empty() {
            rule.name = format!("{}: {}", rule.scope.describe(), rule.condition.describe());
        }
        rule.scope.keywords.retain(|k| !k.trim().is_empty());
        rule.scope.sizes.retain(|k| !k.trim().is_empty());
        match &rule.condition {
            // Bounded like every price (model::money): 0 to 10^9, 4 decimals.
            model::Condition::PriceAtOrBelow { price } => {
                if let Err(e) = model::money::check_price(*price) {
                    return Err(invalid("price", format!("{e}.")));
                }
            }

            model::Condition::DropPercent { percent }
                if *percent <= 0.into() || *percent >= 100.into() =>
            {
                return Err(invalid(
                    "percent",
                    "A drop in percent is between 0 and 100.",
                ));
            }
            model::Condition::DealScoreAtLeast { score } if !(1..=100).contains(score) => {
                return Err(invalid("score", "A deal score is between 1 and 100."));
            }
            model::Condition::LowestInDays { days } if !(1..=365).contains(days) => {
                return Err(invalid("days", "Give between 1 and 365 days."));
            }
            model::Condition::DropAmount { amount } if *amount <= 0.into() => {
                return Err(invalid("amount", "A drop amount is more than 0."));
            }
            model::Condition::DropAmount { amount }
                if model::money::check_price(*amount).is_err() =>
            {
                return Err(invalid(
                    "amount",
                    "A drop amount is at most 1000000000, with at most 4 decimals.",
                ));
            }
            _ => {}
        }
        if rule.channels.is_empty() {
            return Err(invalid(
                "channels",
                "Choose at least one channel to notify (add one under Channels first).",
            ));
        }
        {
            let known = self.channels.read();
            if let Some(missing) = rule.channels.iter().find(|c| !known.contains_key(*c)) {
                return Err(invalid(
                    "channels",
                    format!("There is no channel {missing:?}."),
                ));
            }
        }
        if rule.cooldown_secs > 30 * 86_400 {
            return Err(invalid("cooldown", "A cooldown is at most 30 days."));
        }
        // Who made a rule is the server's to say, never the caller's.
        let before = if rule.id.is_empty() {
            rule.id = new_id("r");
            rule.created = Utc::now();
            rule.owner.clone_from(&who.viewer.user);
            None
        } else {
            let old = self.rule(&rule.id)?;
            rule.created = old.created;
            rule.owner.clone_from(&old.owner);
            Some(old)
        };
        self.store().save_rule(&rule).await?;
        {
            let mut rules = self.rules.write();
            match rules.iter_mut().find(|r| r.id == rule.id) {
                Some(r) => *r = rule.clone(),
                None => rules.push(rule.clone()),
            }
        }
        let created = before.is_none();
        self.accounts
            .audit(
                who,
                if created {
                    "rule.create"
                } else {
                    "rule.update"
                },
                &rule.id,
                before.map(|r| json!(r)),
                Some(json!(rule)),
            )
            .await?;
        if let (true, Some(owner)) = (created, &rule.owner) {
            // What a user watches teaches their picks; the rule stands
            // whether or not this is kept.
            let signal = model::picks::Signal::watched(&rule);
            if let Err(e) = self.store().note_signal(owner, &signal, Utc::now()).await {
                tracing::warn!(rule = %rule.id, "could not keep the watch for picks: {e}");
            }
        }
        Ok(rule)
    }

    pub async fn set_rule_paused(
        &self,
        who: &Identity,
        id: &str,
        paused: bool,
    ) -> Result<Rule, AlertError> {
        self.current().await;
        who.require(Role::Editor)?;
        let mut rule = self.rule(id)?;
        rule.paused = paused;
        self.store().save_rule(&rule).await?;
        if let Some(r) = self.rules.write().iter_mut().find(|r| r.id == id) {
            r.paused = paused;
        }
        self.accounts
            .audit(
                who,
                if paused { "rule.pause" } else { "rule.resume" },
                id,
                None,
                None,
            )
            .await?;
        Ok(rule)
    }

    pub async fn delete_rule(&self, who: &Identity, id: &str) -> Result<(), AlertError> {
        self.current().await;
        who.require(Role::Editor)?;
        let old = self.rule(id)?;
        self.store().delete_rule(id).await?;
        self.rules.write().retain(|r| r.id != id);
        self.accounts
            .audit(who, "rule.delete", id, Some(json!(old)), None)
            .await?;
        Ok(())
    }
}
