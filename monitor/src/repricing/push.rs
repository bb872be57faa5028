//! The push queue: approved proposals claimed (approved -> pushing, from
//! the version seen) and set on the user's store, one call per shop
//! product, retried while Shopify throttles or fails transiently; each job
//! ends done (with the price read back) or failed, and jobs a stopped
//! process left behind are finished at the next start.

use std::time::Duration;

use chrono::Utc;
use rust_decimal::Decimal;
use serde_json::json;

use model::{EventKind, Link, Proposal, ProposalState};

use super::admin::{AdminError, AdminShop};
use super::service::{RepriceError, Repricer};
use crate::auth::Identity;

/// Transient push failures are retried this many times.
pub const PUSH_ATTEMPTS: u32 = 5;

/// The currency a proposal's price was computed in.
fn priced_in(job: &Proposal, link: &Link) -> String {
    job.target_currency
        .clone()
        .unwrap_or_else(|| link.target_currency.clone())
}

impl Repricer {
    /// Claims an approved (or interrupted) job and pushes it. Returns the
    /// proposal as it ended (or as another pusher left it).
    pub async fn push(&self, p: Proposal) -> Proposal {
        self.push_all(vec![p]).await.remove(0)
    }

    /// Claims each approved job (approved -> pushing, from the version it
    /// has; a job someone else claimed first is left to them and returned
    /// as it is) and pushes the claimed ones.
    pub(super) async fn push_all(&self, jobs: Vec<Proposal>) -> Vec<Proposal> {
        let mut out = vec![];
        let mut claimed = vec![];
        for p in jobs {
            let mut job = p.clone();
            job.state = ProposalState::Pushing;
            job.version += 1;
            job.updated = Utc::now();
            match self.store().advance_proposal(&job, p.version).await {
                Ok(Some(j)) => claimed.push(j),
                // Someone else holds it (or the store is down): leave it to them.
                _ => out.push(p),
            }
        }
        out.extend(self.finish_all(claimed).await);
        out
    }

    /// Pushes claimed jobs: those for variants of one shop product go in one
    /// call. Each ends done (with the price read back) or failed.
    async fn finish_all(&self, jobs: Vec<Proposal>) -> Vec<Proposal> {
        let links = self.links();
        let mut groups: Vec<(String, Vec<(Proposal, Link)>)> = vec![];
        let mut out = vec![];
        for job in jobs {
            let link = links.iter().find(|l| l.id == job.link).cloned();
            let why = match (&link, job.proposed) {
                (None, _) => Some("its link was removed"),
                (_, None) => Some("there is no price to push"),
                _ => None,
            };
            match (why, link) {
                (Some(why), link) => out.push(self.settle(job, link, Err(why.to_string())).await),
                (None, Some(link)) => {
                    // One price per variant in a call: a second job for the
                    // same variant goes in a call of its own.
                    match groups.iter_mut().find(|(product, g)| {
                        *product == link.target_product
                            && !g
                                .iter()
                                .any(|(_, l)| l.target_variant == link.target_variant)
                    }) {
                        Some((_, g)) => g.push((job, link)),
                        None => groups.push((link.target_product.clone(), vec![(job, link)])),
                    }
                }
                (None, None) => unreachable!("a job without a link has a reason"),
            }
        }
        for (product, group) in groups {
            let shop = match self.shop() {
                Ok(s) => s,
                Err(e) => {
                    for (job, link) in group {
                        out.push(self.settle(job, Some(link), Err(e.to_string())).await);
                    }
                    continue;
                }
            };
            let mut wait = Duration::from_millis(500);
            let mut attempts = 0;
            let result = loop {
                attempts += 1;
                match self.push_in_currency(&shop, &product, &group).await {
                    Ok(done) => break Ok(done),
                    Err(AdminError::Throttled(d)) if attempts < PUSH_ATTEMPTS => {
                        tokio::time::sleep(d).await
                    }
                    Err(e) if e.is_transient() && attempts < PUSH_ATTEMPTS => {
                        tokio::time::sleep(wait).await;
                        wait *= 2;
                    }
                    Err(e) => break Err(e.to_string()),
                }
            };
            for (mut job, link) in group {
                job.attempts += attempts;
                let r = match &result {
                    Ok((currency, _)) if !priced_in(&job, &link).eq_ignore_ascii_case(currency) => {
                        Err(format!(
                            "your store sells in {currency}, but this price was computed in {}: not pushed; propose again (with a conversion rate in the markup if the source is not priced in {currency})",
                            priced_in(&job, &link)
                        ))
                    }
                    Ok((_, vs)) => Ok(vs
                        .iter()
                        .find(|v| v.id == link.target_variant)
                        .map(|v| v.price)),
                    Err(e) => Err(e.clone()),
                };
                out.push(self.settle(job, Some(link), r).await);
            }
        }
        out
    }

    /// One attempt at a group's push: the shop's currency first (its
    /// prices are set in it, and a merchant may change it), then the prices
    /// of the jobs computed in that currency. Returns the currency and the
    /// variants as Shopify now has them.
    async fn push_in_currency(
        &self,
        shop: &AdminShop,
        product: &str,
        group: &[(Proposal, Link)],
    ) -> Result<(String, Vec<super::admin::AdminVariant>), AdminError> {
        let currency = shop.shop_currency().await?;
        self.note_currency(&currency).await;
        let prices: Vec<(String, Decimal)> = group
            .iter()
            .filter(|(j, l)| priced_in(j, l).eq_ignore_ascii_case(&currency))
            .map(|(j, l)| (l.target_variant.clone(), j.proposed.expect("checked above")))
            .collect();
        if prices.is_empty() {
            return Ok((currency, vec![]));
        }
        Ok((currency, shop.set_prices(product, &prices).await?))
    }

    /// Records how a push ended: the job's state, the price read back on
    /// the link, the audit entry and the live event.
    async fn settle(
        &self,
        mut job: Proposal,
        link: Option<Link>,
        result: Result<Option<Decimal>, String>,
    ) -> Proposal {
        let before = job.version;
        job.version += 1;
        job.updated = Utc::now();
        match &result {
            Ok(read_back) => {
                job.state = ProposalState::Done;
                job.pushed_price = *read_back;
                job.error = None;
            }
            Err(why) => {
                job.state = ProposalState::Failed;
                job.error = Some(why.clone());
            }
        }
        if let (Ok(Some(price)), Some(link)) = (&result, &link) {
            let mut l = link.clone();
            l.target_price = Some(*price);
            if self.store().save_link(&l).await.is_ok() {
                if let Some(x) = self.links.write().iter_mut().find(|x| x.id == l.id) {
                    *x = l;
                }
            }
        }
        let who = Identity::system(job.approved_by.as_deref().unwrap_or("repricer"));
        let _ = self
            .accounts
            .audit(
                &who,
                if result.is_ok() { "reprice.push" } else { "reprice.push_failed" },
                &job.id,
                Some(json!({ "price": job.current_target })),
                Some(json!({ "price": job.proposed, "read_back": job.pushed_price, "error": job.error, "attempts": job.attempts })),
            )
            .await;
        let done = match self.store().advance_proposal(&job, before).await {
            Ok(Some(done)) => done,
            _ => job,
        };
        if let Some(link) = &link {
            let kind = if done.state == ProposalState::Done {
                EventKind::RepricePushed
            } else {
                EventKind::RepriceFailed
            };
            self.announce(kind, link, &done).await;
        }
        done
    }

    /// At start: jobs left approved or pushing by a stopped process.
    pub async fn resume(&self) -> Result<usize, RepriceError> {
        let open = self
            .store()
            .proposals_in(&[ProposalState::Approved, ProposalState::Pushing])
            .await?;
        let n = open.len();
        let (pushing, approved): (Vec<_>, Vec<_>) = open
            .into_iter()
            .partition(|p| p.state == ProposalState::Pushing);
        // Their pusher stopped mid-call: push again from here (setting an
        // absolute price twice is harmless).
        self.finish_all(pushing).await;
        self.push_all(approved).await;
        Ok(n)
    }
}
