//! Throttling of sign-in attempts, per account and per client address.
//!
//! Failures are counted in a sliding window; once an account (or an address)
//! has too many, further attempts are refused before the password is even
//! checked, until the oldest failure in the window ages out. A success clears
//! the account's failures (not the address's: one right password must not
//! unlock guessing at other accounts from the same place).

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug)]
pub struct LoginLimits {
    pub window: Duration,
    pub per_account: usize,
    pub per_ip: usize,
}

impl Default for LoginLimits {
    fn default() -> Self {
        LoginLimits {
            window: Duration::from_secs(15 * 60),
            per_account: 5,
            per_ip: 20,
        }
    }
}

#[derive(Default)]
struct Failures {
    accounts: HashMap<String, VecDeque<Instant>>,
    ips: HashMap<IpAddr, VecDeque<Instant>>,
}

pub struct LoginLimiter {
    limits: LoginLimits,
    failures: Mutex<Failures>,
}

fn prune(q: &mut VecDeque<Instant>, now: Instant, window: Duration) {
    while q.front().is_some_and(|t| now.duration_since(*t) >= window) {
        q.pop_front();
    }
}

/// How long until `q` has room again, if it is full.
fn wait(q: &VecDeque<Instant>, max: usize, now: Instant, window: Duration) -> Option<Duration> {
    if q.len() < max {
        return None;
    }
    q.front()
        .map(|t| window.saturating_sub(now.duration_since(*t)))
}

impl LoginLimiter {
    pub fn new(limits: LoginLimits) -> LoginLimiter {
        LoginLimiter {
            limits,
            failures: Mutex::new(Failures::default()),
        }
    }

    /// `Some(wait)` when the account or the address must wait before trying.
    pub fn check(&self, account: &str, ip: Option<IpAddr>) -> Option<Duration> {
        let now = Instant::now();
        let w = self.limits.window;
        let mut f = self.failures.lock().unwrap();
        let account = account.to_lowercase();
        let by_account = f.accounts.get_mut(&account).and_then(|q| {
            prune(q, now, w);
            wait(q, self.limits.per_account, now, w)
        });
        let by_ip = ip.and_then(|ip| {
            f.ips.get_mut(&ip).and_then(|q| {
                prune(q, now, w);
                wait(q, self.limits.per_ip, now, w)
            })
        });
        by_account.max(by_ip)
    }

    pub fn failed(&self, account: &str, ip: Option<IpAddr>) {
        let now = Instant::now();
        let w = self.limits.window;
        let mut f = self.failures.lock().unwrap();
        // Keep memory bounded whatever names an attacker sends.
        if f.accounts.len() > 10_000 {
            f.accounts.retain(|_, q| {
                prune(q, now, w);
                !q.is_empty()
            });
        }
        if f.ips.len() > 10_000 {
            f.ips.retain(|_, q| {
                prune(q, now, w);
                !q.is_empty()
            });
        }
        f.accounts
            .entry(account.to_lowercase())
            .or_default()
            .push_back(now);
        if let Some(ip) = ip {
            f.ips.entry(ip).or_default().push_back(now);
        }
    }

    pub fn succeeded(&self, account: &str) {
        self.failures
            .lock()
            .unwrap()
            .accounts
            .remove(&account.to_lowercase());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_and_addresses_are_throttled_separately() {
        let l = LoginLimiter::new(LoginLimits {
            window: Duration::from_secs(60),
            per_account: 3,
            per_ip: 5,
        });
        let ip: IpAddr = "10.0.0.7".parse().unwrap();
        let other: IpAddr = "10.0.0.8".parse().unwrap();
        for _ in 0..3 {
            assert!(l.check("alice", Some(ip)).is_none());
            l.failed("alice", Some(ip));
        }
        let wait = l.check("ALICE", Some(other)).expect("account locked");
        assert!(wait <= Duration::from_secs(60) && wait > Duration::from_secs(50));
        // Another account from the same address may still try, until the
        // address has too many failures of its own.
        assert!(l.check("bob", Some(ip)).is_none());
        l.failed("bob", Some(ip));
        l.failed("carol", Some(ip));
        assert!(l.check("dave", Some(ip)).is_some());
        assert!(l.check("dave", Some(other)).is_none());
        l.succeeded("alice");
        assert!(l.check("alice", Some(other)).is_none());
    }
}
