//! Markups: the check every markup passes before it is kept, the
//! store-wide default and per-tag rules (editors), and which markup a
//! link's proposals use (its own, or the first rule its product's tags
//! match, else the store default).

use rust_decimal::Decimal;
use serde_json::json;

use model::{Link, Markup, MarkupRule, Role};

use super::service::{RepriceError, Repricer, RULES_META};
use crate::auth::Identity;

/// A markup the engine can use: no negative percentage below -100, floor
/// not above ceiling, a positive step guard, a bounded conversion rate.
pub(super) fn check_markup(m: &Markup) -> Result<(), RepriceError> {
    if m.percent <= Decimal::from(-100) {
        return Err(RepriceError::Invalid(
            "a markup of -100 % or less gives nothing to sell".into(),
        ));
    }
    if let (Some(f), Some(c)) = (m.floor, m.ceiling) {
        if f > c {
            return Err(RepriceError::Invalid(format!(
                "the floor {f} is above the ceiling {c}"
            )));
        }
    }
    if m.floor.is_some_and(|f| f.is_sign_negative())
        || m.ceiling.is_some_and(|c| c <= Decimal::ZERO)
    {
        return Err(RepriceError::Invalid(
            "floor and ceiling are positive prices".into(),
        ));
    }
    if m.max_step_percent.is_some_and(|x| x <= Decimal::ZERO) {
        return Err(RepriceError::Invalid(
            "the step guard is a positive percentage".into(),
        ));
    }
    // Bounded like every price: a markup of 10^20 % is a typo, not a price.
    let limit = model::money::MAX_PRICE;
    let too_big = [
        Some(m.percent),
        Some(m.fixed.abs()),
        m.floor,
        m.ceiling,
        m.max_step_percent,
    ]
    .into_iter()
    .flatten()
    .find(|v| *v > limit);
    if let Some(v) = too_big {
        return Err(RepriceError::Invalid(format!(
            "{v} is beyond the largest value a markup may hold ({limit})"
        )));
    }
    if let Some(r) = m.rate {
        model::check_rate(r).map_err(RepriceError::Invalid)?;
    }
    Ok(())
}

impl Repricer {
    /// The store-wide and per-tag markups, in the order they are tried.
    pub fn markup_rules(&self) -> Vec<MarkupRule> {
        self.rules.read().clone()
    }

    /// Replaces the store-wide default and the per-tag markups (editors).
    /// At most one store default; tags are matched without case.
    pub async fn set_markup_rules(
        &self,
        who: &Identity,
        rules: Vec<MarkupRule>,
    ) -> Result<(), RepriceError> {
        who.require(Role::Editor)?;
        let mut seen = std::collections::HashSet::new();
        let mut clean = vec![];
        for mut r in rules {
            r.tag = r
                .tag
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty());
            let key = r.tag.as_ref().map(|t| t.to_lowercase());
            if !seen.insert(key.clone()) {
                return Err(RepriceError::Invalid(match key {
                    None => "there is one store default markup".into(),
                    Some(t) => format!("the tag {t:?} has two markups"),
                }));
            }
            check_markup(&r.markup)?;
            clean.push(r);
        }
        // Tag rules first (in the order given), the store default last.
        clean.sort_by_key(|r| r.tag.is_none());
        // In an object: a list as the value would read back as rows.
        self.store()
            .set_meta(RULES_META, json!({ "rules": clean }))
            .await?;
        let before = std::mem::replace(&mut *self.rules.write(), clean.clone());
        self.accounts
            .audit(
                who,
                "reprice.rules",
                "markup",
                Some(json!(before)),
                Some(json!(clean)),
            )
            .await?;
        Ok(())
    }

    /// The markup a link's proposals use, and the rule's words.
    pub fn effective_markup(&self, link: &Link) -> (Markup, String) {
        self.markup_for(&link.source_product, &link.markup, link.inherit)
    }

    /// The markup a link from `source_product` with its own `markup` (or
    /// following the store's, `inherit`) would use, and the rule's words.
    pub(super) fn markup_for(
        &self,
        source_product: &str,
        markup: &Markup,
        inherit: bool,
    ) -> (Markup, String) {
        if inherit {
            let tags: Vec<String> = self
                .engine
                .product(source_product)
                .map(|p| p.tags.iter().map(|t| t.to_lowercase()).collect())
                .unwrap_or_default();
            let rules = self.rules.read();
            let hit = rules
                .iter()
                .find(|r| {
                    r.tag
                        .as_ref()
                        .is_some_and(|t| tags.contains(&t.to_lowercase()))
                })
                .or_else(|| rules.iter().find(|r| r.tag.is_none()));
            if let Some(r) = hit {
                return (r.markup.clone(), r.describe());
            }
        }
        (markup.clone(), format!("this link ({})", markup.describe()))
    }
}
