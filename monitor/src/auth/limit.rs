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
//! network). The state is in memory and bounded: each table keeps at most
//! `max_keys` entries, forgetting stale ones first, then the oldest.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Arc;

use parking_lot::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::AuthError;

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

/// An account (its lower-cased name) tried from an address (`None` when the
/// address is not known, e.g. a password change).
type PairKey = (String, Option<IpAddr>);

struct Strikes {
    failures: u32,
    last: Instant,
}

#[derive(Default)]
struct Tables {
    pairs: HashMap<PairKey, Strikes>,
    addresses: HashMap<IpAddr, VecDeque<Instant>>,
    /// Each account's turns at having its password checked.
    turns: HashMap<String, Arc<Semaphore>>,
}

pub struct LoginLimiter {
    limits: LoginLimits,
    tables: Mutex<Tables>,
    hashing: Arc<Semaphore>,
}

/// An attempt counted as a failure, not yet given its turn.
struct Reservation {
    pair: PairKey,
    address: Option<IpAddr>,
    at: Instant,
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
    pub fn succeeded(self) {
        self.limiter.forgive(&self.reservation, true);
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

fn prune(q: &mut VecDeque<Instant>, now: Instant, window: Duration) {
    while q
        .front()
        .is_some_and(|t| now.saturating_duration_since(*t) >= window)
    {
        q.pop_front();
    }
}

/// Makes room for one more key: forgets the stale entries and, if that is
/// not enough, the oldest tenth.
fn make_room<K: Clone + Eq + Hash, V>(
    map: &mut HashMap<K, V>,
    max: usize,
    stale: impl Fn(&V) -> bool,
    age: impl Fn(&V) -> Instant,
) {
    if map.len() < max {
        return;
    }
    map.retain(|_, v| !stale(v));
    if map.len() < max {
        return;
    }
    let mut by_age: Vec<(Instant, K)> = map.iter().map(|(k, v)| (age(v), k.clone())).collect();
    by_age.sort_by_key(|(t, _)| *t);
    for (_, k) in by_age.into_iter().take(max / 10 + 1) {
        map.remove(&k);
    }
}

impl LoginLimiter {
    pub fn new(limits: LoginLimits) -> LoginLimiter {
        LoginLimiter {
            limits,
            tables: Mutex::new(Tables::default()),
            hashing: Arc::new(Semaphore::new(limits.concurrent_total.max(1))),
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
        let reservation = self.reserve(account, address, Instant::now())?;
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
                self.forgive(&reservation, false);
                Err(AuthError::Busy)
            }
        }
    }

    /// How long an account-and-address pair with `failures` waits after its last.
    fn delay(&self, failures: u32) -> Option<Duration> {
        let over = failures.checked_sub(self.limits.free_failures)?;
        let doubled = self.limits.first_delay.saturating_mul(1 << over.min(16));
        Some(doubled.min(self.limits.max_delay))
    }

    /// Checks the limits and counts the attempt as a failure, in one step
    /// under the lock.
    fn reserve(
        &self,
        account: &str,
        address: Option<IpAddr>,
        now: Instant,
    ) -> Result<Reservation, AuthError> {
        let l = &self.limits;
        let account = account.to_lowercase();
        let address = address.map(bucket);
        let pair = (account.clone(), address);
        let mut guard = self.tables.lock();
        let t = &mut *guard;

        if t.pairs
            .get(&pair)
            .is_some_and(|s| now.saturating_duration_since(s.last) >= l.forget_after)
        {
            t.pairs.remove(&pair);
        }
        if let Some(s) = t.pairs.get(&pair) {
            if let Some(until) = self.delay(s.failures).map(|d| s.last + d) {
                if now < until {
                    return Err(AuthError::Throttled(until - now));
                }
            }
        }
        let queue = match address {
            Some(a) => t.addresses.get_mut(&a),
            None => None,
        };
        if let Some(q) = queue {
            prune(q, now, l.window);
            if q.len() >= l.per_address {
                let first = q.front().copied().unwrap_or(now);
                let wait = l
                    .window
                    .saturating_sub(now.saturating_duration_since(first));
                return Err(AuthError::Throttled(wait));
            }
        }

        if !t.pairs.contains_key(&pair) {
            make_room(
                &mut t.pairs,
                l.max_keys,
                |s| now.saturating_duration_since(s.last) >= l.forget_after,
                |s| s.last,
            );
        }
        let strikes = t.pairs.entry(pair.clone()).or_insert(Strikes {
            failures: 0,
            last: now,
        });
        strikes.failures = strikes.failures.saturating_add(1);
        strikes.last = now;
        if let Some(a) = address {
            if !t.addresses.contains_key(&a) {
                make_room(
                    &mut t.addresses,
                    l.max_keys,
                    |q| {
                        q.back()
                            .is_none_or(|b| now.saturating_duration_since(*b) >= l.window)
                    },
                    |q| q.back().copied().unwrap_or(now),
                );
            }
            t.addresses.entry(a).or_default().push_back(now);
        }
        if !t.turns.contains_key(&account) && t.turns.len() >= l.max_keys {
            // Only accounts nobody is signing in to right now.
            t.turns.retain(|_, s| Arc::strong_count(s) > 1);
        }
        let turn = t
            .turns
            .entry(account)
            .or_insert_with(|| Arc::new(Semaphore::new(l.concurrent_per_account.max(1))))
            .clone();
        Ok(Reservation {
            pair,
            address,
            at: now,
            turn,
        })
    }

    /// Takes a reservation back: all of the pair's failures when the
    /// password was right, else just this one (it was never checked).
    fn forgive(&self, r: &Reservation, right: bool) {
        let mut guard = self.tables.lock();
        let t = &mut *guard;
        if right {
            t.pairs.remove(&r.pair);
        } else if let Some(s) = t.pairs.get_mut(&r.pair) {
            s.failures = s.failures.saturating_sub(1);
        }
        let queue = match r.address {
            Some(a) => t.addresses.get_mut(&a),
            None => None,
        };
        if let Some(q) = queue {
            if let Some(i) = q.iter().rposition(|at| *at == r.at) {
                q.remove(i);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn guesses_count_before_their_password_is_checked_and_waits_double() {
        let l = LoginLimiter::new(limits());
        let (guesser, owner) = (ip("192.0.2.7"), ip("198.51.100.20"));
        let t0 = Instant::now();
        // Five guesses in flight at once: none has finished, all count.
        let in_flight: Vec<_> = (0..5)
            .map(|_| l.reserve("Admin", guesser, t0).unwrap())
            .collect();
        assert_eq!(in_flight.len(), 5);
        assert_eq!(
            refused(l.reserve("admin", guesser, t0)),
            Some(Duration::from_secs(60))
        );
        // The owner, at another address, is not kept out.
        assert_eq!(refused(l.reserve("admin", owner, t0)), None);
        // Each further failure doubles the wait, up to 15 minutes.
        let mut at = t0;
        for expected in [120, 240, 480, 900, 900] {
            at += Duration::from_secs(expected.min(900));
            assert_eq!(refused(l.reserve("admin", guesser, at)), None);
            assert_eq!(
                refused(l.reserve("admin", guesser, at)),
                Some(Duration::from_secs(expected))
            );
        }
        // An hour of quiet forgets them.
        at += Duration::from_secs(3600);
        assert_eq!(refused(l.reserve("admin", guesser, at)), None);
    }

    #[test]
    fn a_right_password_forgives_its_address_and_account() {
        let l = LoginLimiter::new(limits());
        let a = ip("192.0.2.7");
        let now = Instant::now();
        for _ in 0..4 {
            l.reserve("alice", a, now).unwrap();
        }
        let right = l.reserve("alice", a, now).unwrap();
        l.forgive(&right, true);
        for _ in 0..5 {
            assert_eq!(refused(l.reserve("alice", a, now)), None);
        }
        assert!(refused(l.reserve("alice", a, now)).is_some());
        // The four failures before still count against the address.
        assert_eq!(l.tables.lock().addresses[&a.unwrap()].len(), 9);
    }

    #[test]
    fn one_address_trying_many_accounts_is_stopped() {
        let l = LoginLimiter::new(limits());
        let a = ip("192.0.2.7");
        let now = Instant::now();
        for n in 0..20 {
            assert_eq!(refused(l.reserve(&format!("user{n}"), a, now)), None);
        }
        let wait = refused(l.reserve("someone-else", a, now)).expect("the address waits");
        assert_eq!(wait, Duration::from_secs(15 * 60));
        assert_eq!(
            refused(l.reserve("someone-else", ip("192.0.2.8"), now)),
            None
        );
        let later = now + Duration::from_secs(15 * 60);
        assert_eq!(refused(l.reserve("someone-else", a, later)), None);
    }

    #[test]
    fn ipv6_counts_per_64_and_mapped_ipv4_as_ipv4() {
        let l = LoginLimiter::new(limits());
        let now = Instant::now();
        for n in 0..5 {
            let a = ip(&format!("2001:db8:1:2::{n}"));
            l.reserve("bob", a, now).unwrap();
        }
        assert!(refused(l.reserve("bob", ip("2001:db8:1:2:ffff::9"), now)).is_some());
        assert_eq!(refused(l.reserve("bob", ip("2001:db8:1:3::1"), now)), None);
        for _ in 0..5 {
            l.reserve("carol", ip("::ffff:192.0.2.1"), now).unwrap();
        }
        assert!(refused(l.reserve("carol", ip("192.0.2.1"), now)).is_some());
    }

    #[test]
    fn the_tables_stay_bounded() {
        let l = LoginLimiter::new(LoginLimits {
            max_keys: 100,
            ..limits()
        });
        let now = Instant::now();
        for n in 0..1000u32 {
            let a = Some(IpAddr::from(n.to_be_bytes()));
            let _ = l.reserve(&format!("name{n}"), a, now);
        }
        let t = l.tables.lock();
        assert!(t.pairs.len() <= 100, "{}", t.pairs.len());
        assert!(t.addresses.len() <= 100, "{}", t.addresses.len());
        assert!(t.turns.len() <= 100, "{}", t.turns.len());
    }

    #[tokio::test]
    async fn at_most_two_passwords_of_an_account_are_checked_at_once() {
        let l = LoginLimiter::new(limits());
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
        let pair = ("admin".to_string(), ip("192.0.2.3"));
        assert_eq!(l.tables.lock().pairs[&pair].failures, 1);
        drop((second, third, other));
    }
}
