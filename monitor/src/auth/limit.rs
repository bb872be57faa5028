//! Throttling of sign-in attempts, checked before a password is hashed.
//!
//! Three limits:
//!
//! - **An account from one address**: after `free_failures` wrong passwords
//!   for one account from one client address, that address waits
//!   `first_delay` before its next try, twice as long after each further
//!   failure, at most `max_delay`. The account itself is never locked: a
//!   stranger guessing from one address must not keep its owner, signing in
//!   from another, out.
//! - **One address, any account**: at most `per_address` failures within
//!   `window` (one password tried against many names).
//! - **One account at once**: at most `concurrent_per_account` passwords of
//!   an account are checked at the same time, and `concurrent_total` in all
//!   (argon2 takes ~19 MiB and tens of milliseconds each); more attempts wait
//!   their turn for up to `slot_wait`, then are refused.
//!
//! An attempt is counted as a failure when it is *reserved*
//! ([`LoginLimiter::begin`]) and forgiven only when its password turns out
//! right ([`Attempt::succeeded`]). So parallel guesses cannot all pass the
//! check before the first is counted, and an attempt whose client hangs up
//! while its password is checked still counts.
//!
//! IPv6 addresses count per /64 (a subscriber usually has the whole
//! network). The failures are kept in the database (`store/logins.rs`), so a
//! restart does not forget them and instances sharing a database server
//! count the same attempts; stale rows are swept at most once a minute and
//! each table keeps at most `max_keys`. Only the turns are per process: they
//! bound this process's hashing memory.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::AuthError;
use crate::store::{LedgerKeys, LoginLedger, Store, Strikes};

#[derive(Clone, Copy, Debug)]
pub struct LoginLimits {
    /// Wrong passwords for one account from one address before it waits.
    pub free_failures: u32,
    /// The first wait; each further failure doubles it.
    pub first_delay: Duration,
    pub max_delay: Duration,
    /// An account's failures from an address are forgotten this long after the last.
    pub forget_after: Duration,
    /// Failures from one address, whatever the account, within `window`.
    pub per_address: usize,
    pub window: Duration,
    /// Passwords of one account checked at the same time.
    pub concurrent_per_account: usize,
    /// Passwords checked at the same time, all accounts together.
    pub concurrent_total: usize,
    /// How long an attempt waits for its turn before it is refused.
    pub slot_wait: Duration,
    /// Entries kept in each table.
    pub max_keys: usize,
}

impl Default for LoginLimits {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        LoginLimits {
            free_failures: 5,
            first_delay: Duration::from_secs(2 * 60),
            max_delay: Duration::from_secs(15 * 60),
            forget_after: Duration::from_secs(60 * 60),
            per_address: 20,
            window: Duration::from_secs(15 * 60),
            concurrent_per_account: 2,
            concurrent_total: (2 * cores).max(4),
            slot_wait: Duration::from_secs(10),
            max_keys: 10_000,
        }
    }
}

/// How often stale rows are swept (ms).
const SWEEP_EVERY: i64 = 60_000;

pub struct LoginLimiter {
    limits: LoginLimits,
    store: Arc<Store>,
    /// Each account's turns at having its password checked.
    turns: Mutex<HashMap<String, Arc<Semaphore>>>,
    hashing: Arc<Semaphore>,
    /// When this process last swept the stale rows (ms).
    swept: AtomicI64,
}

/// An attempt counted as a failure, not yet given its turn.
struct Reservation {
    keys: LedgerKeys,
    /// When it was counted (ms), as it stands in its address's list.
    at: i64,
    turn: Arc<Semaphore>,
}

/// An attempt that may now check its password. It stays counted as a
/// failure unless [`Attempt::succeeded`] is called.
pub struct Attempt<'a> {
    limiter: &'a LoginLimiter,
    reservation: Reservation,
    _turns: (OwnedSemaphorePermit, OwnedSemaphorePermit),
}

impl Attempt<'_> {
    /// The password was right: this account's failures from this address
    /// are forgiven, and this attempt does not count against the address.
    pub async fn succeeded(self) {
        self.limiter.forgive(&self.reservation, true).await;
    }
}

/// The bucket an address counts in: IPv4 as is, IPv6 per /64.
fn bucket(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
        v4 => v4,
    }
}

/// The rows of `account` (lower-cased) tried from `address`. The address
/// comes first and has no space, so no two pairs share a key.
fn ledger_keys(account: &str, address: Option<IpAddr>) -> LedgerKeys {
    let address = address.map(|a| bucket(a).to_string());
    LedgerKeys {
        pair: format!("{} {account}", address.as_deref().unwrap_or("-")),
        address,
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// How long ago `then` was at `now` (both ms; zero if `then` is later).
fn since(then: i64, now: i64) -> Duration {
    Duration::from_millis(u64::try_from(now.saturating_sub(then)).unwrap_or(0))
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// How long a pair with `failures` waits after its last.
fn delay(l: &LoginLimits, failures: u32) -> Option<Duration> {
    let over = failures.checked_sub(l.free_failures)?;
    let doubled = l.first_delay.saturating_mul(1 << over.min(16));
    Some(doubled.min(l.max_delay))
}

/// Checks the limits at `now` and counts the attempt as a failure; the wait
/// when it is refused (then nothing is counted).
fn count(
    l: &LoginLimits,
    ledger: &mut LoginLedger,
    has_address: bool,
    now: i64,
) -> Result<(), AuthError> {
    let s = &mut ledger.strikes;
    if since(s.last, now) >= l.forget_after {
        *s = Strikes::default();
    }
    if let Some(d) = delay(l, s.failures) {
        let wait = d.saturating_sub(since(s.last, now));
        if !wait.is_zero() {
            return Err(AuthError::Throttled(wait));
        }
    }
    ledger.recent.retain(|t| since(*t, now) < l.window);
    if ledger.recent.len() >= l.per_address {
        let first = ledger.recent.first().copied().unwrap_or(now);
        return Err(AuthError::Throttled(
            l.window.saturating_sub(since(first, now)),
        ));
    }
    s.failures = s.failures.saturating_add(1);
    s.last = now;
    if has_address {
        ledger.recent.push(now);
    }
    Ok(())
}

/// Takes an attempt counted at `at` back: all of the pair's failures when
/// the password was right, else just this one (it was never checked).
fn forgive(ledger: &mut LoginLedger, at: i64, right: bool) -> Result<(), Infallible> {
    let s = &mut ledger.strikes;
    s.failures = if right {
        0
    } else {
        s.failures.saturating_sub(1)
    };
    if let Some(i) = ledger.recent.iter().rposition(|t| *t == at) {
        ledger.recent.remove(i);
    }
    Ok(())
}

impl LoginLimiter {
    pub fn new(limits: LoginLimits, store: Arc<Store>) -> LoginLimiter {
        LoginLimiter {
            limits,
            store,
            turns: Mutex::new(HashMap::new()),
            hashing: Arc::new(Semaphore::new(limits.concurrent_total.max(1))),
            swept: AtomicI64::new(0),
        }
    }

    /// Reserves an attempt at `account` from `address` and waits for its
    /// turn. `Throttled` when the address must wait first, `Busy` when the
    /// account's turns stay taken for too long.
    pub async fn begin(
        &self,
        account: &str,
        address: Option<IpAddr>,
    ) -> Result<Attempt<'_>, AuthError> {
        let reservation = self.reserve(account, address, now_ms()).await?;
        let (own, all) = (reservation.turn.clone(), self.hashing.clone());
        let turns = async move { (own.acquire_owned().await, all.acquire_owned().await) };
        let got = tokio::time::timeout(self.limits.slot_wait, turns).await;
        match got {
            Ok((Ok(own), Ok(all))) => Ok(Attempt {
                limiter: self,
                reservation,
                _turns: (own, all),
            }),
            _ => {
                // Never checked, so not counted.
                self.forgive(&reservation, false).await;
                Err(AuthError::Busy)
            }
        }
    }

    /// Checks the limits and counts the attempt as a failure, in one
    /// conditional write.
    async fn reserve(
        &self,
        account: &str,
        address: Option<IpAddr>,
        now: i64,
    ) -> Result<Reservation, AuthError> {
        let account = account.to_lowercase();
        let keys = ledger_keys(&account, address);
        self.sweep(now).await;
        let has_address = keys.address.is_some();
        self.store
            .update_login_ledger(&keys, |ledger| {
                count(&self.limits, ledger, has_address, now)
            })
            .await??;
        Ok(Reservation {
            keys,
            at: now,
            turn: self.turn(account),
        })
    }

    /// `account`'s turns, made on first use.
    fn turn(&self, account: String) -> Arc<Semaphore> {
        let mut turns = self.turns.lock();
        if !turns.contains_key(&account) && turns.len() >= self.limits.max_keys {
            // Only accounts nobody is signing in to right now.
            turns.retain(|_, s| Arc::strong_count(s) > 1);
        }
        let per_account = self.limits.concurrent_per_account.max(1);
        turns
            .entry(account)
            .or_insert_with(|| Arc::new(Semaphore::new(per_account)))
            .clone()
    }

    async fn forgive(&self, r: &Reservation, right: bool) {
        let done = self
            .store
            .update_login_ledger(&r.keys, |ledger| forgive(ledger, r.at, right))
            .await;
        if let Err(e) = done {
            tracing::warn!("a sign-in attempt stays counted (the database did not answer): {e}");
        }
    }

    /// Forgets stale rows, at most once a minute per process.
    async fn sweep(&self, now: i64) {
        let last = self.swept.load(Ordering::Relaxed);
        if now.saturating_sub(last) < SWEEP_EVERY
            || self
                .swept
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        let l = &self.limits;
        let swept = self
            .store
            .sweep_login_ledger(
                now.saturating_sub(millis(l.forget_after)),
                now.saturating_sub(millis(l.window)),
                l.max_keys,
            )
            .await;
        if let Err(e) = swept {
            tracing::warn!("could not sweep stale sign-in failures: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Some moment, ms since the Unix epoch.
    const T0: i64 = 1_800_000_000_000;
    const MINUTE: i64 = 60_000;

    fn limits() -> LoginLimits {
        LoginLimits {
            free_failures: 5,
            first_delay: Duration::from_secs(60),
            max_delay: Duration::from_secs(15 * 60),
            forget_after: Duration::from_secs(3600),
            per_address: 20,
            window: Duration::from_secs(15 * 60),
            concurrent_per_account: 2,
            concurrent_total: 8,
            slot_wait: Duration::from_millis(100),
            max_keys: 10_000,
        }
    }

    async fn store() -> Arc<Store> {
        Arc::new(Store::open("mem://").await.unwrap())
    }

    async fn limiter(limits: LoginLimits) -> LoginLimiter {
        LoginLimiter::new(limits, store().await)
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    /// The wait a refused reservation names; `None` if it was let through.
    fn refused(r: Result<Reservation, AuthError>) -> Option<Duration> {
        match r {
            Ok(_) => None,
            Err(AuthError::Throttled(wait)) => Some(wait),
            Err(e) => panic!("unexpected refusal: {e}"),
        }
    }

    /// What the database holds for `account` from `address`.
    async fn ledger(l: &LoginLimiter, account: &str, address: Option<IpAddr>) -> LoginLedger {
        let keys = ledger_keys(account, address);
        let read = l
            .store
            .update_login_ledger(&keys, |now| Ok::<_, Infallible>(now.clone()));
        read.await.unwrap().unwrap()
    }

    async fn rows(store: &Store, table: &str) -> usize {
        let sql = format!("RETURN array::len((SELECT VALUE id FROM {table}))");
        let n: Option<i64> = store.db().query(sql).await.unwrap().take(0).unwrap();
        n.unwrap() as usize
    }

    #[tokio::test]
    async fn guesses_count_before_their_password_is_checked_and_waits_double() {
        let l = limiter(limits()).await;
        let (guesser, owner) = (ip("192.0.2.7"), ip("198.51.100.20"));
        // Five guesses in flight at once: none has finished, all count.
        for _ in 0..5 {
            assert_eq!(refused(l.reserve("Admin", guesser, T0).await), None);
        }
        assert_eq!(
            refused(l.reserve("admin", guesser, T0).await),
            Some(Duration::from_secs(60))
        );
        // The owner, at another address, is not kept out.
        assert_eq!(refused(l.reserve("admin", owner, T0).await), None);
        // Each further failure doubles the wait, up to 15 minutes.
        let mut at = T0;
        for expected in [120, 240, 480, 900, 900] {
            at += 1000 * expected.min(900);
            assert_eq!(refused(l.reserve("admin", guesser, at).await), None);
            assert_eq!(
                refused(l.reserve("admin", guesser, at).await),
                Some(Duration::from_secs(expected as u64))
            );
        }
        // An hour of quiet forgets them.
        at += 60 * MINUTE;
        assert_eq!(refused(l.reserve("admin", guesser, at).await), None);
    }

    #[tokio::test]
    async fn a_right_password_forgives_its_address_and_account() {
        let l = limiter(limits()).await;
        let a = ip("192.0.2.7");
        for _ in 0..4 {
            l.reserve("alice", a, T0).await.unwrap();
        }
        let right = l.reserve("alice", a, T0).await.unwrap();
        l.forgive(&right, true).await;
        for _ in 0..5 {
            assert_eq!(refused(l.reserve("alice", a, T0).await), None);
        }
        assert!(refused(l.reserve("alice", a, T0).await).is_some());
        // The four failures before still count against the address.
        assert_eq!(ledger(&l, "alice", a).await.recent.len(), 9);
    }

    #[tokio::test]
    async fn one_address_trying_many_accounts_is_stopped() {
        let l = limiter(limits()).await;
        let a = ip("192.0.2.7");
        for n in 0..20 {
            assert_eq!(refused(l.reserve(&format!("user{n}"), a, T0).await), None);
        }
        let wait = refused(l.reserve("someone-else", a, T0).await).expect("the address waits");
        assert_eq!(wait, Duration::from_secs(15 * 60));
        let elsewhere = l.reserve("someone-else", ip("192.0.2.8"), T0).await;
        assert_eq!(refused(elsewhere), None);
        let later = T0 + 15 * MINUTE;
        assert_eq!(refused(l.reserve("someone-else", a, later).await), None);
    }

    #[tokio::test]
    async fn ipv6_counts_per_64_and_mapped_ipv4_as_ipv4() {
        let l = limiter(limits()).await;
        for n in 0..5 {
            let a = ip(&format!("2001:db8:1:2::{n}"));
            l.reserve("bob", a, T0).await.unwrap();
        }
        assert!(refused(l.reserve("bob", ip("2001:db8:1:2:ffff::9"), T0).await).is_some());
        assert_eq!(
            refused(l.reserve("bob", ip("2001:db8:1:3::1"), T0).await),
            None
        );
        for _ in 0..5 {
            l.reserve("carol", ip("::ffff:192.0.2.1"), T0)
                .await
                .unwrap();
        }
        assert!(refused(l.reserve("carol", ip("192.0.2.1"), T0).await).is_some());
    }

    #[tokio::test]
    async fn a_restart_or_another_instance_counts_the_same_failures() {
        let store = store().await;
        let (first, second) = (
            LoginLimiter::new(limits(), store.clone()),
            LoginLimiter::new(limits(), store),
        );
        let a = ip("192.0.2.7");
        // Eight guesses at once, spread over both: exactly five are let
        // through, whichever writes first.
        let guesses = (0..8).map(|n| {
            let l = if n % 2 == 0 { &first } else { &second };
            l.reserve("admin", a, T0)
        });
        let results = futures::future::join_all(guesses).await;
        let through = results.into_iter().filter_map(|r| r.ok()).count();
        assert_eq!(through, 5);
        assert!(refused(second.reserve("admin", a, T0 + 1000).await).is_some());
        assert_eq!(ledger(&first, "admin", a).await.strikes.failures, 5);
    }

    #[tokio::test]
    async fn the_tables_stay_bounded() {
        let l = limiter(LoginLimits {
            max_keys: 100,
            ..limits()
        })
        .await;
        for n in 0..300u32 {
            let a = Some(IpAddr::from(n.to_be_bytes()));
            let _ = l
                .reserve(&format!("name{n}"), a, T0 + i64::from(n) * 1000)
                .await;
        }
        l.sweep(T0 + 10 * MINUTE).await;
        assert!(rows(&l.store, "login_pair").await <= 100);
        assert!(rows(&l.store, "login_address").await <= 100);
        assert!(l.turns.lock().len() <= 100, "{}", l.turns.lock().len());
        // Stale rows go whatever their number.
        l.sweep(T0 + 2 * 60 * MINUTE).await;
        assert_eq!(rows(&l.store, "login_pair").await, 0);
        assert_eq!(rows(&l.store, "login_address").await, 0);
    }

    #[tokio::test]
    async fn at_most_two_passwords_of_an_account_are_checked_at_once() {
        let l = limiter(limits()).await;
        let first = l.begin("admin", ip("192.0.2.1")).await.unwrap();
        let second = l.begin("admin", ip("192.0.2.2")).await.unwrap();
        // A third waits its turn, and gives up after `slot_wait`.
        assert!(matches!(
            l.begin("admin", ip("192.0.2.3")).await,
            Err(AuthError::Busy)
        ));
        // Another account is not held up.
        let other = l.begin("bob", ip("192.0.2.3")).await.unwrap();
        drop(first);
        let third = l.begin("admin", ip("192.0.2.3")).await.unwrap();
        // The refused attempt was not counted: one failure, not two.
        let counted = ledger(&l, "admin", ip("192.0.2.3")).await;
        assert_eq!(counted.strikes.failures, 1);
        // The address's failures: bob's and this one.
        assert_eq!(counted.recent.len(), 2);
        drop((second, third, other));
    }
}
