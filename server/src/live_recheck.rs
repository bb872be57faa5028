//! Live sockets' credentials, checked again together (see `live.rs`).
//!
//! Every [`RECHECK`] one task looks up each distinct credential among the
//! open sockets once: a hundred sockets on one session or API token cost
//! one lookup a period, not a hundred (which, with 100 dashboards open,
//! had been the largest share of a quiet catalogue's CPU). The sockets
//! whose credential ended (signed out, session over, token revoked, or the
//! database not answering, as before) are told, and close with 4401.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::watch;

use monitor::auth::Credential;
use monitor::Accounts;
use monitor::Identity;

/// How often the open sockets' credentials are checked again.
pub const RECHECK: Duration = Duration::from_secs(5);

/// The open sockets' credentials, and what the last round found ended.
pub struct Rechecks {
    /// Each credential in use, with how many sockets use it.
    open: Mutex<HashMap<Credential, (Identity, usize)>>,
    /// The credentials the last round found ended (sent only when some did).
    ended: watch::Sender<Arc<Vec<Credential>>>,
}

impl Default for Rechecks {
    fn default() -> Rechecks {
        Rechecks {
            open: Mutex::default(),
            ended: watch::Sender::new(Arc::default()),
        }
    }
}

impl Rechecks {
    /// Counts one more socket on `who`'s credential, until the guard is dropped.
    pub fn open(self: &Arc<Self>, who: &Identity) -> OpenSocket {
        self.open
            .lock()
            .entry(who.credential.clone())
            .or_insert_with(|| (who.clone(), 0))
            .1 += 1;
        OpenSocket {
            rechecks: self.clone(),
            credential: who.credential.clone(),
            ended: self.ended.subscribe(),
        }
    }

    /// Looks up every credential in use once; tells the sockets of those
    /// that ended.
    async fn round(&self, accounts: &Accounts) {
        // Copied out: the lock is not held across the lookups.
        let open: Vec<Identity> = self
            .open
            .lock()
            .values()
            .map(|(who, _)| who.clone())
            .collect();
        let mut ended = vec![];
        for who in open {
            if !accounts.still_valid(&who).await {
                ended.push(who.credential);
            }
        }
        if !ended.is_empty() {
            self.ended.send_replace(Arc::new(ended));
        }
    }

    /// Runs the rounds until `shutdown` flips.
    pub async fn run(
        self: Arc<Self>,
        accounts: Arc<Accounts>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let mut every = tokio::time::interval(RECHECK);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        every.tick().await;
        loop {
            tokio::select! {
                _ = every.tick() => self.round(&accounts).await,
                _ = shutdown.changed() => return,
            }
        }
    }
}

/// One open socket's place in [`Rechecks`].
pub struct OpenSocket {
    rechecks: Arc<Rechecks>,
    credential: Credential,
    ended: watch::Receiver<Arc<Vec<Credential>>>,
}

impl OpenSocket {
    /// Returns once a round finds this socket's credential ended (never
    /// if the rounds stop: the server is shutting down).
    pub async fn ended(&mut self) {
        loop {
            if self.ended.changed().await.is_err() {
                return std::future::pending().await;
            }
            if self.ended.borrow_and_update().contains(&self.credential) {
                return;
            }
        }
    }
}

impl Drop for OpenSocket {
    fn drop(&mut self) {
        let mut open = self.rechecks.open.lock();
        if let Some((_, n)) = open.get_mut(&self.credential) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.credential);
            }
        }
    }
}
