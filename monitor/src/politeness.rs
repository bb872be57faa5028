//! Per-host politeness: how Dropwatch avoids hammering a shop.
//!
//! Every request to a host passes its [`HostGate`]: at most `max_in_flight`
//! requests at once, at least `min_spacing` between their starts, nothing
//! before a `Retry-After` or back-off deadline, and a circuit breaker that
//! opens after `breaker_threshold` consecutive failures, then lets one probe
//! through (half-open): success closes it, failure opens it again for twice
//! as long. Back-off starts at `base_backoff` (2 s) and doubles with each
//! consecutive failure up to `max_backoff` (5 min), so a shop that stumbles
//! for a few seconds is polled again within seconds of its recovery (at most
//! about as long as the outage lasted, and 30 s for outages under 30 s),
//! while one that is down for an hour is asked once every 5 minutes. A wait
//! the shop asks for (`Retry-After`, Shopify's 430) is honoured in full.
//!
//! Every wait a shop asks for is at most an hour ([`crate::bounds`]), and all
//! time arithmetic here saturates, so no answer can panic a gate. The locks
//! are `parking_lot`'s, which are not poisoned: should a bug panic under one,
//! the other hosts' requests go on.
//!
//! (Over 500 lines only with its unit tests, the last 160-odd lines:
//! they test this file's private parsing and state, so they stay beside it.)

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use crate::bounds::{later, utc_in, MAX_WAIT};
use crate::fetch::FetchError;

/// The rules for one host.
#[derive(Clone, Debug)]
pub struct Politeness {
    pub max_in_flight: usize,
    pub min_spacing: Duration,
    /// A random extra wait of up to this much between requests, on top of
    /// `min_spacing` (Pop Mart: 1.5 s + up to 2.5 s).
    pub spacing_jitter: Duration,
    /// First back-off after a failure; doubles with each consecutive one.
    pub base_backoff: Duration,
    /// The longest back-off and breaker opening (not a shop's own Retry-After).
    pub max_backoff: Duration,
    /// Back-off after a 430, Shopify's security rejection.
    pub security_backoff: Duration,
    pub breaker_threshold: u32,
    /// How long the breaker first stays open (at least the back-off of the
    /// moment); each failed probe doubles it, up to `max_backoff`.
    pub breaker_cooldown: Duration,
    /// A request waits for a back-off deadline at most this long; a later
    /// deadline fails the request at once with [`FetchError::BackingOff`]
    /// (the poll run is then recorded as skipped instead of hanging).
    pub max_wait: Duration,
}

impl Default for Politeness {
    fn default() -> Self {
        Politeness {
            max_in_flight: 2,
            min_spacing: Duration::from_millis(1000),
            spacing_jitter: Duration::ZERO,
            base_backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(300),
            security_backoff: Duration::from_secs(120),
            breaker_threshold: 5,
            breaker_cooldown: Duration::from_secs(10),
            max_wait: Duration::from_secs(30),
        }
    }
}

impl Politeness {
    /// For hosts on this machine (the demo store, test fakes): no spacing.
    pub fn local() -> Self {
        Politeness {
            max_in_flight: 4,
            min_spacing: Duration::ZERO,
            ..Politeness::default()
        }
    }
}

/// How a request through the gate ended.
pub enum Outcome {
    Ok,
    RateLimited {
        retry_after: Option<Duration>,
        security_rejection: bool,
    },
    Failed(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Breaker {
    Closed,
    Open { until: Instant },
    HalfOpen { probing: bool },
}

struct HostState {
    /// When a request last went out (gates idle for long are forgotten).
    last_used: Instant,
    next_start: Instant,
    not_before: Option<Instant>,
    consecutive_failures: u32,
    /// When the last failure was reported.
    last_failure: Option<Instant>,
    /// Times the breaker opened since the last success.
    opens: u32,
    breaker: Breaker,
    last_error: Option<String>,
}

struct HostGate {
    rules: Politeness,
    slots: Arc<Semaphore>,
    state: Mutex<HostState>,
}

/// Held while a request is in flight; give it back with [`Gates::report`].
pub struct Permit {
    host: String,
    /// When the request went out.
    started: Instant,
    _slot: OwnedSemaphorePermit,
}

/// What the status page shows of a host.
#[derive(Clone, Debug, Serialize)]
pub struct HostStatus {
    pub host: String,
    /// `ok`, `backing_off`, `breaker_open` or `half_open`.
    pub state: &'static str,
    pub until: Option<DateTime<Utc>>,
    pub consecutive_failures: u32,
    pub in_flight: usize,
    pub last_error: Option<String>,
}

impl From<HostStatus> for model::HostView {
    fn from(h: HostStatus) -> Self {
        model::HostView {
            host: h.host,
            state: h.state.to_string(),
            until: h.until,
            consecutive_failures: h.consecutive_failures,
            in_flight: h.in_flight,
            last_error: h.last_error,
        }
    }
}

/// The gates of every host Dropwatch talks to.
#[derive(Default)]
pub struct Gates {
    default_rules: Politeness,
    overrides: Mutex<HashMap<String, Politeness>>,
    hosts: Mutex<HashMap<String, Arc<HostGate>>>,
}

fn to_utc(at: Instant) -> DateTime<Utc> {
    utc_in(at.saturating_duration_since(Instant::now()))
}

impl Gates {
    pub fn new(default_rules: Politeness) -> Self {
        Gates {
            default_rules,
            ..Default::default()
        }
    }

    /// Sets the rules for one host (`host` or `host:port`), e.g. the demo store.
    pub fn set_rules(&self, host: &str, rules: Politeness) {
        self.overrides.lock().insert(host.to_string(), rules);
        self.hosts.lock().remove(host);
    }

    fn gate(&self, host: &str) -> Arc<HostGate> {
        let mut hosts = self.hosts.lock();
        hosts
            .entry(host.to_string())
            .or_insert_with(|| {
                let rules = self
                    .overrides
                    .lock()
                    .get(host)
                    .cloned()
                    .unwrap_or_else(|| self.default_rules.clone());
                Arc::new(HostGate {
                    slots: Arc::new(Semaphore::new(rules.max_in_flight.max(1))),
                    state: Mutex::new(HostState {
                        last_used: Instant::now(),
                        next_start: Instant::now(),
                        not_before: None,
                        consecutive_failures: 0,
                        last_failure: None,
                        opens: 0,
                        breaker: Breaker::Closed,
                        last_error: None,
                    }),
                    rules,
                })
            })
            .clone()
    }

    /// Takes over a host's back-off or open breaker as another instance left
    /// it (`state` as [`HostStatus::state`], `until` in ms since the Unix
    /// epoch): a host's `Retry-After` holds whichever instance polls it.
    /// Held at most a day, whatever the record says.
    pub fn adopt(&self, host: &str, state: &str, until_ms: i64, failures: u32) {
        let left = until_ms.saturating_sub(Utc::now().timestamp_millis());
        let Ok(left) = u64::try_from(left) else {
            return;
        };
        let until = later(
            Instant::now(),
            Duration::from_millis(left).min(Duration::from_secs(86_400)),
        );
        let gate = self.gate(host);
        let mut st = gate.state.lock();
        st.consecutive_failures = st.consecutive_failures.max(failures);
        match state {
            "breaker_open" => st.breaker = Breaker::Open { until },
            _ => st.not_before = Some(st.not_before.map_or(until, |t| t.max(until))),
        }
    }

    /// Waits until a request to `host` may start, or refuses when the host is
    /// in a long back-off or its breaker is open.
    pub async fn acquire(&self, host: &str) -> Result<Permit, FetchError> {
        let gate = self.gate(host);
        loop {
            // Back-off and breaker first: no point queueing for a slot we can't use.
            if let Some(t) = admission(&gate, host)? {
                tokio::time::sleep_until(t).await;
            }
            let slot = gate
                .slots
                .clone()
                .acquire_owned()
                .await
                .expect("gate semaphores are never closed");
            let start_at = {
                let mut st = gate.state.lock();
                let start = st.next_start.max(Instant::now());
                st.last_used = start;
                let jitter = gate.rules.spacing_jitter.as_secs_f64();
                let extra = if jitter > 0.0 {
                    Duration::from_secs_f64(rand::Rng::random_range(&mut rand::rng(), 0.0..jitter))
                } else {
                    Duration::ZERO
                };
                st.next_start = later(start, gate.rules.min_spacing.saturating_add(extra));
                start
            };
            tokio::time::sleep_until(start_at).await;
            // A failure reported while this request waited its turn (another
            // source of the same shop) starts a back-off this one keeps too:
            // many sources of one shop must not each find out for themselves.
            let now = Instant::now();
            {
                let mut st = gate.state.lock();
                if st.not_before.is_some_and(|t| t > now) {
                    // A probe that waits again is still the probe.
                    if let Breaker::HalfOpen { .. } = st.breaker {
                        st.breaker = Breaker::HalfOpen { probing: false };
                    }
                    continue;
                }
            }
            return Ok(Permit {
                host: host.to_string(),
                started: now,
                _slot: slot,
            });
        }
    }

    /// Records how a request ended, adjusting back-off and the breaker.
    pub fn report(&self, permit: Permit, outcome: Outcome) {
        let gate = self.gate(&permit.host);
        let rules = &gate.rules;
        let mut st = gate.state.lock();
        let now = Instant::now();
        // A failure of a request sent before the last one was reported is
        // news of the same outage (several sources of one shop, requests in
        // flight together): it does not deepen the back-off or the breaker.
        let fresh = st.last_failure.is_none_or(|t| permit.started >= t);
        let (delay, error) = match outcome {
            Outcome::Ok => {
                st.consecutive_failures = 0;
                st.last_failure = None;
                st.opens = 0;
                st.not_before = None;
                st.breaker = Breaker::Closed;
                st.last_error = None;
                return;
            }
            Outcome::RateLimited {
                retry_after,
                security_rejection,
            } => {
                let floor = if security_rejection {
                    rules.security_backoff
                } else {
                    Duration::ZERO
                };
                let asked = retry_after.unwrap_or_default();
                if fresh {
                    st.consecutive_failures = st.consecutive_failures.saturating_add(1);
                }
                let exp = exponential(rules, st.consecutive_failures);
                // A server that says when to come back is believed; otherwise back off.
                let delay = if retry_after.is_some() { asked } else { exp };
                (delay.max(floor), "rate limited".to_string())
            }
            Outcome::Failed(msg) => {
                if fresh {
                    st.consecutive_failures = st.consecutive_failures.saturating_add(1);
                }
                (exponential(rules, st.consecutive_failures), msg)
            }
        };
        // However long a shop asks for, an hour at most; then it may say again.
        let delay = delay.min(MAX_WAIT);
        let until = later(now, delay);
        st.not_before = match st.not_before {
            Some(t) if !fresh && t > until => Some(t),
            _ => Some(until),
        };
        st.last_failure = Some(now);
        st.last_error = Some(error);
        if !fresh {
            return;
        }
        let reopen = matches!(st.breaker, Breaker::HalfOpen { .. });
        if reopen || st.consecutive_failures >= rules.breaker_threshold {
            st.opens = st.opens.saturating_add(1);
            let factor = 1u32 << st.opens.saturating_sub(1).min(16);
            let open = rules
                .breaker_cooldown
                .saturating_mul(factor)
                .min(rules.max_backoff);
            st.breaker = Breaker::Open {
                until: later(now, open.max(delay)),
            };
        }
    }

    /// Forgets hosts idle for `idle` that are in good standing (nothing in
    /// flight, no back-off, breaker closed), so the map does not grow with
    /// every host ever contacted. Their rules (overrides) stay.
    pub fn prune(&self, idle: Duration) -> usize {
        let now = Instant::now();
        let mut hosts = self.hosts.lock();
        let before = hosts.len();
        hosts.retain(|_, gate| {
            let st = gate.state.lock();
            let busy = gate.slots.available_permits() < gate.rules.max_in_flight.max(1);
            let waiting = st.not_before.is_some_and(|t| t > now) || st.breaker != Breaker::Closed;
            busy || waiting || now.saturating_duration_since(st.last_used) < idle
        });
        before - hosts.len()
    }

    /// How many hosts have a gate now.
    pub fn len(&self) -> usize {
        self.hosts.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every host's state, for the status page.
    pub fn snapshot(&self) -> Vec<HostStatus> {
        let hosts = self.hosts.lock();
        let now = Instant::now();
        let mut out: Vec<HostStatus> = hosts
            .iter()
            .map(|(host, gate)| status(host, gate, now))
            .collect();
        out.sort_by(|a, b| a.host.cmp(&b.host));
        out
    }

    /// One host's state (none before a request went to it).
    pub fn status(&self, host: &str) -> Option<HostStatus> {
        let gate = self.hosts.lock().get(host).cloned()?;
        Some(status(host, &gate, Instant::now()))
    }
}

/// What the status page shows of one host's gate at `now`.
fn status(host: &str, gate: &HostGate, now: Instant) -> HostStatus {
    let st = gate.state.lock();
    let (state, until) = match st.breaker {
        Breaker::Open { until } if until > now => ("breaker_open", Some(until)),
        Breaker::Open { .. } | Breaker::HalfOpen { .. } => ("half_open", None),
        Breaker::Closed => match st.not_before {
            Some(t) if t > now => ("backing_off", Some(t)),
            _ => ("ok", None),
        },
    };
    HostStatus {
        host: host.to_string(),
        state,
        until: until.map(to_utc),
        consecutive_failures: st.consecutive_failures,
        in_flight: gate.rules.max_in_flight.max(1) - gate.slots.available_permits(),
        last_error: st.last_error.clone(),
    }
}

/// Whether a request may queue for `gate` now: `Ok(Some(t))` to wait until
/// `t` first, an error when the breaker is open or the back-off is longer
/// than a request waits.
fn admission(gate: &HostGate, host: &str) -> Result<Option<Instant>, FetchError> {
    let mut st = gate.state.lock();
    let now = Instant::now();
    match st.breaker {
        Breaker::Open { until } if now < until => {
            return Err(FetchError::CircuitOpen {
                host: host.into(),
                until: to_utc(until),
            })
        }
        Breaker::Open { .. } => st.breaker = Breaker::HalfOpen { probing: true },
        Breaker::HalfOpen { probing: true } => {
            return Err(FetchError::CircuitOpen {
                host: host.into(),
                until: to_utc(later(now, gate.rules.base_backoff)),
            })
        }
        Breaker::HalfOpen { probing: false } => st.breaker = Breaker::HalfOpen { probing: true },
        Breaker::Closed => {}
    }
    match st.not_before {
        Some(t) if t > later(now, gate.rules.max_wait) => {
            if let Breaker::HalfOpen { .. } = st.breaker {
                st.breaker = Breaker::HalfOpen { probing: false };
            }
            Err(FetchError::BackingOff {
                host: host.into(),
                until: to_utc(t),
            })
        }
        Some(t) if t > now => Ok(Some(t)),
        _ => Ok(None),
    }
}

fn exponential(rules: &Politeness, failures: u32) -> Duration {
    let factor = 1u32 << failures.saturating_sub(1).min(16);
    rules
        .base_backoff
        .saturating_mul(factor)
        .min(rules.max_backoff)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quick() -> Politeness {
        Politeness {
            max_in_flight: 1,
            min_spacing: Duration::from_millis(50),
            spacing_jitter: Duration::ZERO,
            base_backoff: Duration::from_millis(20),
            max_backoff: Duration::from_millis(200),
            security_backoff: Duration::from_millis(100),
            breaker_threshold: 3,
            breaker_cooldown: Duration::from_millis(300),
            max_wait: Duration::from_millis(100),
        }
    }

    #[tokio::test]
    async fn requests_are_spaced() {
        let gates = Gates::new(quick());
        let t0 = Instant::now();
        for _ in 0..3 {
            let p = gates.acquire("h").await.unwrap();
            gates.report(p, Outcome::Ok);
        }
        assert!(t0.elapsed() >= Duration::from_millis(100));
    }

    #[tokio::test]
    async fn retry_after_beyond_the_wait_limit_refuses_at_once() {
        let gates = Gates::new(quick());
        let p = gates.acquire("h").await.unwrap();
        gates.report(
            p,
            Outcome::RateLimited {
                retry_after: Some(Duration::from_secs(60)),
                security_rejection: false,
            },
        );
        let err = gates.acquire("h").await.err().unwrap();
        assert!(matches!(err, FetchError::BackingOff { .. }), "{err}");
        assert_eq!(gates.snapshot()[0].state, "backing_off");
    }

    #[tokio::test]
    async fn breaker_opens_then_half_opens_then_closes() {
        let gates = Gates::new(quick());
        for _ in 0..3 {
            let p = gates.acquire("h").await.unwrap();
            gates.report(p, Outcome::Failed("500".into()));
        }
        assert!(matches!(
            gates.acquire("h").await,
            Err(FetchError::CircuitOpen { .. })
        ));
        assert_eq!(gates.snapshot()[0].state, "breaker_open");
        tokio::time::sleep(Duration::from_millis(320)).await;
        // One probe goes through; a second is refused while it is out.
        let probe = gates.acquire("h").await.unwrap();
        assert!(gates.acquire("h").await.is_err());
        gates.report(probe, Outcome::Ok);
        let p = gates.acquire("h").await.unwrap();
        gates.report(p, Outcome::Ok);
        assert_eq!(gates.snapshot()[0].state, "ok");
    }

    /// The breaker's probe is waiting its turn when a request sent before
    /// the breaker opened fails: the probe waits out the new back-off and
    /// goes, instead of refusing itself and leaving the breaker waiting for
    /// a probe that never comes.
    #[tokio::test]
    async fn a_probe_that_must_wait_again_still_goes() {
        let gates = Arc::new(Gates::new(Politeness {
            max_in_flight: 2,
            min_spacing: Duration::from_millis(300),
            spacing_jitter: Duration::ZERO,
            base_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(10),
            security_backoff: Duration::from_millis(200),
            breaker_threshold: 1,
            breaker_cooldown: Duration::from_millis(10),
            max_wait: Duration::from_secs(1),
        }));
        let early = gates.acquire("h").await.unwrap(); // still out
        let b = gates.acquire("h").await.unwrap();
        gates.report(b, Outcome::Failed("500".into())); // the breaker opens
        tokio::time::sleep(Duration::from_millis(220)).await;
        let g = gates.clone();
        let probe = tokio::spawn(async move { g.acquire("h").await.map(|_| ()) });
        tokio::time::sleep(Duration::from_millis(20)).await;
        gates.report(early, Outcome::Failed("timeout".into()));
        assert!(probe.await.unwrap().is_ok(), "the probe went");
    }

    /// The default rules at 1/100 of their times, so that an outage of
    /// minutes plays out in a second or two of a test.
    fn hundredfold_faster() -> Politeness {
        let d = Politeness::default();
        Politeness {
            min_spacing: d.min_spacing / 100,
            base_backoff: d.base_backoff / 100,
            max_backoff: d.max_backoff / 100,
            breaker_cooldown: d.breaker_cooldown / 100,
            max_wait: d.max_wait / 100,
            ..d
        }
    }

    /// Ten product pages of one shop, each checked every second, and the
    /// shop failing for `outage_secs`: how long after it recovered was it
    /// read again, and how many requests did it get meanwhile? (At 1/100 of
    /// real time, with the default rules.)
    async fn recovery(outage_secs: u64) -> (Duration, usize) {
        let gates = Arc::new(Gates::new(hundredfold_faster()));
        let outage = Duration::from_millis(10 * outage_secs);
        let start = Instant::now();
        let asked = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut pages = vec![];
        for _ in 0..10 {
            let (gates, asked) = (gates.clone(), asked.clone());
            pages.push(tokio::spawn(async move {
                loop {
                    if let Ok(p) = gates.acquire("shop").await {
                        let now = start.elapsed();
                        if now >= outage {
                            gates.report(p, Outcome::Ok);
                            return now;
                        }
                        asked.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        gates.report(p, Outcome::Failed("503".into()));
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }));
        }
        let mut first = Duration::MAX;
        for p in pages {
            first = first.min(p.await.unwrap());
        }
        let asked = asked.load(std::sync::atomic::Ordering::SeqCst);
        (first.saturating_sub(outage) * 100, asked)
    }

    #[tokio::test]
    async fn a_short_outage_is_over_for_us_within_30_seconds_a_long_one_is_polled_gently() {
        for secs in [5, 10, 20, 30] {
            let (late, _) = recovery(secs).await;
            assert!(
                late <= Duration::from_secs(30),
                "after a {secs} s outage the shop was read again only {late:?} after it recovered"
            );
        }
        // Down for 10 minutes: asked about once per back-off step, not 600
        // times; read again within the 5-minute cap.
        let (late, asked) = recovery(600).await;
        assert!(late <= Duration::from_secs(300), "{late:?}");
        assert!(asked <= 20, "asked {asked} times in 10 minutes");
    }
}
