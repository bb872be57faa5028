//! Proposals: a new price for a linked variant from its source's price
//! and the markup, replacing an older one still waiting; the editor's
//! decision on it (approve, reject, or many at once), each checked
//! against the version the editor saw; and the live event for each step.

use chrono::Utc;
use rust_decimal::Decimal;

use model::{Event, EventKind, Link, Priced, Proposal, ProposalState, Role};

use super::service::{RepriceError, Repricer};
use crate::auth::Identity;

impl Repricer {
    /// The newest proposals first.
    pub async fn proposals(&self, limit: usize) -> Result<Vec<Proposal>, RepriceError> {
        Ok(self.store().proposals(limit).await?)
    }

    /// A proposal for the link from its source's current price (editors):
    /// after linking, or after changing the markup.
    pub async fn propose_now(
        &self,
        who: &Identity,
        link_id: &str,
    ) -> Result<Proposal, RepriceError> {
        who.require(Role::Editor)?;
        let link = self
            .links()
            .into_iter()
            .find(|l| l.id == link_id)
            .ok_or_else(|| RepriceError::NotFound(format!("link {link_id}")))?;
        let product = self
            .engine
            .product(&link.source_product)
            .ok_or_else(|| RepriceError::NotFound(format!("product {}", link.source_product)))?;
        let price = match &link.source_variant {
            Some(v) => product
                .variants
                .iter()
                .find(|x| &x.id == v)
                .and_then(|x| x.price),
            None => product.summary().min_price,
        }
        .ok_or_else(|| {
            RepriceError::NotFound(format!(
                "a price for the linked size of {} (the shop shows none yet)",
                link.source_product
            ))
        })?;
        let id = format!("{}-m{}", link.id, Utc::now().timestamp_millis());
        self.propose_as(id, &link, self.store().last_seq(), price, &product.currency)
            .await
    }

    /// A proposal for `link` from a source price (from event `seq`).
    pub async fn propose(
        &self,
        link: &Link,
        seq: u64,
        source_price: Decimal,
        source_currency: &str,
    ) -> Result<Proposal, RepriceError> {
        self.propose_as(
            format!("{}-{seq}", link.id),
            link,
            seq,
            source_price,
            source_currency,
        )
        .await
    }

    async fn propose_as(
        &self,
        id: String,
        link: &Link,
        seq: u64,
        source_price: Decimal,
        source_currency: &str,
    ) -> Result<Proposal, RepriceError> {
        let now = Utc::now();
        let (markup, rule) = self.effective_markup(link);
        let target_currency = self.store_currency(link);
        let (state, proposed, note, auto, rate) = match markup.apply(
            source_price,
            source_currency,
            &target_currency,
            link.target_price,
        ) {
            Priced::Price {
                price,
                auto,
                note,
                rate,
            } => (ProposalState::Proposed, Some(price), note, auto, rate),
            Priced::CannotPrice(why) => (ProposalState::CannotPrice, None, Some(why), false, None),
        };
        let p = Proposal {
            id,
            link: link.id.clone(),
            seq,
            source_price,
            source_currency: source_currency.to_string(),
            target_currency: Some(target_currency),
            rate,
            current_target: link.target_price,
            proposed,
            note,
            rule,
            state,
            version: 1,
            approved_by: None,
            attempts: 0,
            error: None,
            pushed_price: None,
            created: now,
            updated: now,
        };
        if !self.store().create_proposal(&p).await? {
            return self
                .store()
                .proposal(&p.id)
                .await?
                .ok_or_else(|| RepriceError::NotFound(p.id.clone()));
        }
        // An older proposal for the same target still waiting is replaced.
        for old in self
            .store()
            .proposals_in(&[ProposalState::Proposed])
            .await?
        {
            if old.link == p.link && old.id != p.id {
                let mut next = old.clone();
                next.state = ProposalState::Superseded;
                next.version += 1;
                next.updated = now;
                next.note = Some(format!(
                    "replaced by a newer proposal ({})",
                    p.proposed
                        .map(|x| x.to_string())
                        .unwrap_or_else(|| "cannot price".into())
                ));
                let _ = self.store().advance_proposal(&next, old.version).await?;
            }
        }
        self.announce(EventKind::RepriceProposed, link, &p).await;
        if auto {
            return self
                .approve(&Identity::system("auto-approve"), &p.id, p.version)
                .await;
        }
        Ok(p)
    }

    /// Tells the live feed (and so the Repricing page) what happened.
    pub(super) async fn announce(&self, kind: EventKind, link: &Link, p: &Proposal) {
        let tracked = self.engine.product(&link.source_product);
        let product = tracked.as_ref().map(|x| x.summary());
        let (old_price, new_price, reason) = match kind {
            EventKind::RepriceProposed => (
                p.current_target,
                p.proposed,
                Some(link.target_title.clone()),
            ),
            EventKind::RepricePushed => (
                p.current_target,
                p.pushed_price.or(p.proposed),
                Some(link.target_title.clone()),
            ),
            _ => (
                p.current_target,
                p.proposed,
                p.error.clone().or_else(|| p.note.clone()),
            ),
        };
        let source = tracked
            .map(|x| x.source)
            .unwrap_or_else(|| "repricing".into());
        let e = Event {
            seq: 0,
            kind,
            at: Utc::now(),
            source,
            product,
            variant: None,
            old_price,
            new_price,
            reason,
        };
        if let Err(err) = self.engine.record(vec![e]).await {
            tracing::warn!("could not record the repricing event: {err}");
        }
    }

    /// Approves the proposal as seen at `version`, and pushes it.
    pub async fn approve(
        &self,
        who: &Identity,
        id: &str,
        version: u64,
    ) -> Result<Proposal, RepriceError> {
        let approved = self.mark_approved(who, id, version).await?;
        Ok(self.push(approved).await)
    }

    /// proposed (at `version`) -> approved, or why not.
    async fn mark_approved(
        &self,
        who: &Identity,
        id: &str,
        version: u64,
    ) -> Result<Proposal, RepriceError> {
        self.decide(who, id, version, ProposalState::Approved).await
    }

    /// Rejects the proposal as seen at `version`.
    pub async fn reject(
        &self,
        who: &Identity,
        id: &str,
        version: u64,
    ) -> Result<Proposal, RepriceError> {
        let done = self
            .decide(who, id, version, ProposalState::Rejected)
            .await?;
        self.accounts
            .audit(who, "reprice.reject", id, None, None)
            .await?;
        Ok(done)
    }

    /// An editor's decision on a waiting proposal as seen at `version`:
    /// approved (noting who) or rejected, in the one write that checks and
    /// bumps the version; `Conflict` when it is no longer that proposal.
    async fn decide(
        &self,
        who: &Identity,
        id: &str,
        version: u64,
        to: ProposalState,
    ) -> Result<Proposal, RepriceError> {
        who.require(Role::Editor)?;
        let p = self
            .store()
            .proposal(id)
            .await?
            .ok_or_else(|| RepriceError::NotFound(format!("proposal {id}")))?;
        if p.version != version || p.state != ProposalState::Proposed {
            return Err(RepriceError::Conflict);
        }
        let mut next = p;
        next.state = to;
        next.version += 1;
        if to == ProposalState::Approved {
            next.approved_by = Some(who.label.clone());
        }
        next.updated = Utc::now();
        self.store()
            .advance_proposal(&next, version)
            .await?
            .ok_or(RepriceError::Conflict)
    }

    /// Approves several proposals (each as seen at its version) and pushes
    /// them, one `productVariantsBulkUpdate` per product of the shop; one
    /// that changed meanwhile is skipped with its reason. In the order given.
    pub async fn approve_many(
        &self,
        who: &Identity,
        picks: &[(String, u64)],
    ) -> Vec<(String, Result<Proposal, RepriceError>)> {
        let mut out: Vec<(String, Result<Proposal, RepriceError>)> = vec![];
        let mut approved = vec![];
        for (id, version) in picks {
            match self.mark_approved(who, id, *version).await {
                Ok(p) => approved.push(p),
                Err(e) => out.push((id.clone(), Err(e))),
            }
        }
        for p in self.push_all(approved).await {
            out.push((p.id.clone(), Ok(p)));
        }
        out.sort_by_key(|(id, _)| picks.iter().position(|(x, _)| x == id));
        out
    }
}
