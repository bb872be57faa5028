//! Picks for each signed-in user, the dashboard's "For you" (see
//! `model::picks`): the signals are kept per user in the database
//! (`store/signals.rs`), and picks are worked out on request from them, the
//! products in memory, the user's own watch rules and the deal scores.
//! Nothing about a user is held in memory between requests, so a restarted
//! server, or another instance on the same database, gives the same picks.
//!
//! Cost per request: one read of the user's signals (at most
//! `MAX_SIGNALS` rows, by an index on the user) and one pass over every
//! product under the state lock.

use std::collections::HashSet;

use chrono::Utc;

use model::picks::{self, ForYou, Interests, Signal};
use model::Rule;

use super::Engine;
use crate::store::StoreError;

impl Engine {
    /// Keeps what `user` just did (a product opened, the grid filtered).
    /// A failure is logged here: the page the user asked for is served
    /// whether or not it is kept.
    pub async fn note_signal(&self, user: &str, signal: &Signal) -> Result<(), StoreError> {
        let kept = self.store.note_signal(user, signal, Utc::now()).await;
        if let Err(e) = &kept {
            tracing::warn!(
                user,
                kind = signal.kind().as_str(),
                "could not keep a signal for picks: {e}"
            );
        }
        kept
    }

    /// `user`'s picks, at most `limit`: `rules` are the watch rules (the
    /// products their own rules name are never picks).
    pub async fn picks(
        &self,
        user: &str,
        rules: &[Rule],
        limit: usize,
    ) -> Result<ForYou, StoreError> {
        let noted = self.store.signals(user).await?;
        let watched: HashSet<String> = self.sources.lock().keys().cloned().collect();
        let watching: HashSet<&str> = rules
            .iter()
            .filter(|r| r.owner.as_deref() == Some(user))
            .filter_map(|r| r.scope.product.as_deref())
            .collect();
        let mut found = {
            let state = self.state.lock();
            let interests = Interests::learn(&noted, Utc::now(), |k| state.get(k));
            picks::pick(
                &interests,
                state.values().filter(|p| watched.contains(&p.source)),
                &watching,
                |k| self.deals.get(k).and_then(|i| i.deal.score),
                limit,
            )
        };
        for p in &mut found {
            p.product.deal = self.deals.badge(&p.product.key);
        }
        Ok(ForYou {
            picks: found,
            signals: noted.len(),
        })
    }

    /// Forgets what picks learned about `user`; returns how many signals.
    pub async fn forget_signals(&self, user: &str) -> Result<usize, StoreError> {
        self.store.forget_signals(user).await
    }
}
