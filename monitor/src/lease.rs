//! Host leases: on a shared server, each host is polled by exactly one live
//! instance at a time.
//!
//! The unit is the politeness unit ([`lease_key`]): a shop's host (with its
//! port), or the Oxylabs account for every Amazon source. Every
//! [`Leases::ttl`] / 3 each instance ([`run`]):
//!
//! 1. beats its heart (`instance:⟨id⟩`) and counts the live instances;
//! 2. reads the sources from the database, so a source added, changed or
//!    removed on another instance is polled here too (or no longer);
//! 3. renews its leases, keeping each host's back-off and breaker with it,
//!    and forgets any it has lost;
//! 4. takes free or expired leases up to its fair share (the hosts divided by
//!    the live instances, rounded up), and gives back what it holds above it,
//!    so a new instance gets work and a dead one's hosts are taken over
//!    within the TTL plus one round.
//!
//! Two instances never read one host at once. A host given back stops
//! being polled here at once but its lease is released only once the poll
//! in flight is over (renewed until then), and an instance stops starting
//! polls a third of the TTL before its lease would lapse: a poll begun
//! under a lease that is then not renewed (a paused instance, a database
//! that went away) has that long to end before another instance may take
//! the host (and one that runs longer has its writes refused by the fence).
//!
//! A new owner first lets the follower catch up with every event already
//! committed (so it diffs against the products as they are now), forgets
//! the pages it read while it last held the host, honours the host's stored
//! back-off, then polls at once. Its writes carry the lease's epoch as a
//! fence ([`crate::store::Fence`]): an owner that lost its lease (paused,
//! partitioned) has its poll's commit refused rather than writing over the
//! new owner's.
//!
//! On one machine (SurrealKV, `mem://`) none of this runs.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

use chrono::Utc;
use parking_lot::Mutex;
use url::Url;

use model::{Source, SourceSettings};

use crate::engine::{Engine, SourceTask};
use crate::fetch::host_key;
use crate::store::{Fence, HostHold, InstanceRow, StoreError};

/// A lease lasts this long unless renewed (renewed every third of it).
pub const DEFAULT_TTL: Duration = Duration::from_secs(15);

/// The lease of a task one instance runs for all (`alerts`: matching events
/// to rules and sending the notifications).
pub fn task_key(name: &str) -> String {
    format!("task:{name}")
}

fn is_task(key: &str) -> bool {
    key.starts_with("task:")
}

/// The lease unit a source is polled under.
pub fn lease_key(source: &Source) -> String {
    match &source.settings {
        SourceSettings::Amazon(_) => "oxylabs".into(),
        _ => Url::parse(&source.url)
            .map(|u| host_key(&u))
            .unwrap_or_else(|_| source.key.clone()),
    }
}

fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// A lease this instance holds.
#[derive(Clone, Copy, Debug)]
struct Held {
    epoch: u64,
    /// ms since the Unix epoch.
    expires: i64,
}

impl From<&crate::store::LeaseRow> for Held {
    fn from(row: &crate::store::LeaseRow) -> Held {
        Held {
            epoch: row.epoch,
            expires: row.expires,
        }
    }
}

/// This instance's leases.
pub struct Leases {
    /// This instance's id (random, new at every start).
    pub me: String,
    pub ttl: Duration,
    started: i64,
    addr: Mutex<String>,
    held: Mutex<HashMap<String, Held>>,
    /// Given back, but a poll of the host is still in flight: renewed
    /// (and not polled again) until it is over, then released.
    releasing: Mutex<HashMap<String, Held>>,
    /// Lease keys of the tasks this instance would run (see [`task_key`]).
    tasks: Mutex<std::collections::BTreeSet<String>>,
    /// Set by [`Engine::leave`]: no more rounds.
    left: std::sync::atomic::AtomicBool,
    /// Set when a round should run now (a source was added here).
    wake: Arc<tokio::sync::Notify>,
}

/// A lease as `/status` shows it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct HeldLease {
    pub host: String,
    pub epoch: u64,
    pub expires: chrono::DateTime<Utc>,
}

impl Leases {
    pub fn new(ttl: Duration) -> Leases {
        Leases {
            me: format!("{:016x}", rand::random::<u64>()),
            ttl: ttl.max(Duration::from_secs(1)),
            started: now_ms(),
            addr: Mutex::new(String::new()),
            held: Mutex::default(),
            releasing: Mutex::default(),
            tasks: Mutex::default(),
            left: Default::default(),
            wake: Arc::default(),
        }
    }

    fn ttl_ms(&self) -> i64 {
        i64::try_from(self.ttl.as_millis()).unwrap_or(i64::MAX / 4)
    }

    /// Where this instance's web server listens (shown to the others).
    pub fn set_addr(&self, addr: &str) {
        *self.addr.lock() = addr.to_string();
    }

    /// The fence for writes about `host`, while this instance holds it
    /// with a third of the TTL to spare (a poll started under it ends
    /// before the lease could lapse and be taken).
    pub fn fence(&self, host: &str) -> Option<Fence> {
        let held = self.held.lock().get(host).copied()?;
        (held.expires.saturating_sub(self.ttl_ms() / 3) > now_ms()).then(|| Fence {
            host: host.to_string(),
            owner: self.me.clone(),
            epoch: held.epoch,
        })
    }

    /// Whether a run fenced by `fence` may still ask the shop: this
    /// instance holds the same lease with a third of the TTL to spare. A run
    /// asks again before each request, since its own writes can wait on the
    /// database server (up to 10 s, store/handle.rs) past the moment its
    /// lease lapsed and another instance took the host.
    pub fn holds(&self, fence: &Fence) -> bool {
        self.fence(&fence.host)
            .is_some_and(|now| now.epoch == fence.epoch)
    }

    /// The leases held now, by host.
    pub fn held(&self) -> Vec<HeldLease> {
        let mut v: Vec<HeldLease> = self
            .held
            .lock()
            .iter()
            .map(|(host, h)| HeldLease {
                host: host.clone(),
                epoch: h.epoch,
                expires: chrono::DateTime::from_timestamp_millis(h.expires).unwrap_or_default(),
            })
            .collect();
        v.sort_by(|a, b| a.host.cmp(&b.host));
        v
    }

    /// Asks for a round now (a source was added on this instance).
    pub fn nudge(&self) {
        self.wake.notify_one();
    }

    /// This instance would run task `name` when no other live one does.
    pub fn want(&self, name: &str) {
        if self.tasks.lock().insert(task_key(name)) {
            self.nudge();
        }
    }
}

/// Runs rounds until the engine is gone.
pub(crate) async fn run(engine: Weak<Engine>) -> Result<(), String> {
    let mut failing = false;
    loop {
        let Some(e) = engine.upgrade() else {
            return Ok(());
        };
        match round(&e).await {
            Ok(()) if failing => {
                tracing::info!("host leases: the database answers again");
                failing = false;
            }
            Ok(()) => {}
            Err(err) => {
                if !failing {
                    tracing::warn!("host leases: {err}; polling waits for the database");
                }
                failing = true;
            }
        }
        let (every, wake) = (e.leases.ttl / 3, e.leases.wake.clone());
        drop(e);
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(every) => {}
        }
    }
}

/// One round: heartbeat, sources, renewals, takes and give-backs.
async fn round(e: &Arc<Engine>) -> Result<(), StoreError> {
    let l = &e.leases;
    if l.left.load(Ordering::SeqCst) {
        return Ok(());
    }
    let store = e.store();
    let now = now_ms();
    let me = InstanceRow {
        id: l.me.clone(),
        addr: l.addr.lock().clone(),
        started: l.started,
        seen: now,
    };
    store.heartbeat(&me).await?;
    let live = store.instances_since(now - l.ttl_ms()).await?.len().max(1);
    e.sync_sources(store.sources().await?);

    let mut hosts: BTreeMap<String, Vec<Arc<SourceTask>>> = BTreeMap::new();
    for task in e.sources.lock().values() {
        let source = task.source.lock();
        if source.enabled {
            hosts
                .entry(lease_key(&source))
                .or_default()
                .push(task.clone());
        }
    }

    // Give up hosts no longer polled, and release those given back whose
    // last poll is over.
    let gone: Vec<String> = l
        .held
        .lock()
        .keys()
        .filter(|h| !is_task(h) && !hosts.contains_key(*h))
        .cloned()
        .collect();
    for host in gone {
        give_back(e, &host);
    }
    let releasing: Vec<(String, Held)> = l
        .releasing
        .lock()
        .iter()
        .map(|(h, v)| (h.clone(), *v))
        .collect();
    for (host, held) in releasing {
        release_when_idle(e, &host, held).await?;
    }

    // Renew what is held.
    let mine: Vec<(String, Held)> = l.held.lock().iter().map(|(h, v)| (h.clone(), *v)).collect();
    for (host, held) in mine {
        if !renew_in(e, &l.held, &host, held).await? {
            tracing::warn!(host, "lost the lease of {host} to another instance");
        }
    }

    // Take free leases up to a fair share; give back what is above it.
    // Tasks are not shared out: whoever finds one free runs it until it
    // stops or dies (handing a running task over would risk doing its
    // last piece of work twice).
    let share = hosts.len().div_ceil(live);
    let leases: HashMap<String, crate::store::LeaseRow> = store
        .leases()
        .await?
        .into_iter()
        .map(|r| (r.host.clone(), r))
        .collect();
    let now = now_ms();
    let free = |key: &str| {
        leases
            .get(key)
            .is_none_or(|r| r.owner.is_none() || r.expires < now)
    };
    let tasks: Vec<String> = l.tasks.lock().iter().cloned().collect();
    for key in tasks {
        if !l.held.lock().contains_key(&key) && free(&key) {
            if let Some(row) = store
                .acquire_lease(&key, &l.me, now, now + l.ttl_ms())
                .await?
            {
                tracing::info!(task = key, "runs {key} for every instance");
                l.held.lock().insert(key, Held::from(&row));
            }
        }
    }
    let hosts_held = || l.held.lock().keys().filter(|k| !is_task(k)).count();
    // Instances start their search at different hosts, so two taking at
    // once mostly ask for different ones.
    let offset = u64::from_str_radix(&l.me[..8.min(l.me.len())], 16).unwrap_or(0) as usize;
    let order: Vec<&String> = hosts.keys().collect();
    for i in 0..order.len() {
        if hosts_held() >= share {
            break;
        }
        let host = order[(i + offset) % order.len()];
        if l.held.lock().contains_key(host) {
            continue;
        }
        if free(host) {
            if let Some(row) = store
                .acquire_lease(host, &l.me, now, now + l.ttl_ms())
                .await?
            {
                took(e, host, row, &hosts[host]).await;
            }
        }
    }
    let excess = hosts_held().saturating_sub(share);
    if excess > 0 {
        let give: Vec<String> = l
            .held
            .lock()
            .keys()
            .filter(|k| !is_task(k))
            .take(excess)
            .cloned()
            .collect();
        for host in give {
            tracing::info!(
                host,
                "gives the lease of {host} back ({live} instances share the hosts)"
            );
            if let Some(held) = give_back(e, &host) {
                release_when_idle(e, &host, held).await?;
            }
        }
    }
    Ok(())
}

/// Stops polling `host` here: no poll starts once it is out of `held`.
/// Its lease is released by [`release_when_idle`].
fn give_back(e: &Engine, host: &str) -> Option<Held> {
    let l = &e.leases;
    let held = l.held.lock().remove(host)?;
    l.releasing.lock().insert(host.to_string(), held);
    Some(held)
}

/// Releases a lease given back once no poll of its host is in flight here
/// (renewing it until then, so nobody else reads the host meanwhile).
async fn release_when_idle(e: &Engine, host: &str, held: Held) -> Result<(), StoreError> {
    let l = &e.leases;
    // Out of `held` before `running` is read here, and a run sets `running`
    // before it asks for the fence: either it saw no lease, or it is seen.
    let busy = e
        .sources
        .lock()
        .values()
        .any(|t| t.running.load(Ordering::SeqCst) && lease_key(&t.source.lock()) == host);
    if !busy {
        e.store()
            .release_lease(host, &l.me, held.epoch, hold_of(e, host).as_ref())
            .await?;
        l.releasing.lock().remove(host);
        tracing::info!(host, "gave the lease of {host} back");
        return Ok(());
    }
    renew_in(e, &l.releasing, host, held).await?;
    Ok(())
}

/// Renews `host`'s lease, kept in `map` (`held` or `releasing`) with its
/// new expiry; false (and out of `map`) when another instance has it now.
async fn renew_in(
    e: &Engine,
    map: &Mutex<HashMap<String, Held>>,
    host: &str,
    held: Held,
) -> Result<bool, StoreError> {
    let l = &e.leases;
    let hold = hold_of(e, host);
    let renewed = e
        .store()
        .renew_lease(
            host,
            &l.me,
            held.epoch,
            now_ms() + l.ttl_ms(),
            hold.as_ref(),
        )
        .await?;
    let mut map = map.lock();
    match renewed {
        Some(row) => {
            map.insert(host.to_string(), Held::from(&row));
            Ok(true)
        }
        None => {
            map.remove(host);
            Ok(false)
        }
    }
}

/// Takes `host` for a check now if its lease is free (a "check now" on this
/// instance); the fence when this instance holds it.
pub(crate) async fn take_for_check(e: &Engine, host: &str) -> Result<Option<Fence>, StoreError> {
    if let Some(f) = e.leases.fence(host) {
        return Ok(Some(f));
    }
    let now = now_ms();
    let l = &e.leases;
    if let Some(row) = e
        .store()
        .acquire_lease(host, &l.me, now, now + l.ttl_ms())
        .await?
    {
        let tasks: Vec<Arc<SourceTask>> = e
            .sources
            .lock()
            .values()
            .filter(|t| lease_key(&t.source.lock()) == host)
            .cloned()
            .collect();
        took(e, host, row, &tasks).await;
    }
    Ok(e.leases.fence(host))
}

/// This instance now holds `host`: catch up, forget old reads, honour the
/// stored back-off, and poll.
async fn took(e: &Engine, host: &str, row: crate::store::LeaseRow, tasks: &[Arc<SourceTask>]) {
    // Bounded well inside the TTL: the round still has leases to renew.
    e.catch_up((e.leases.ttl / 4).min(Duration::from_secs(5)))
        .await;
    for t in tasks {
        *t.last_page.lock() = None;
        t.catalogue_pages.forget_all();
    }
    if let Some(hold) = &row.hold {
        e.fetcher
            .gates
            .adopt(host, &hold.state, hold.until, hold.failures);
    }
    tracing::info!(host, epoch = row.epoch, "took the lease of {host}");
    e.leases
        .held
        .lock()
        .insert(host.to_string(), Held::from(&row));
    for t in tasks {
        t.wake.notify_one();
    }
}

/// The host's back-off or open breaker, to be kept with its lease.
fn hold_of(e: &Engine, host: &str) -> Option<HostHold> {
    e.fetcher.gates.status(host).and_then(|h| {
        let until = h.until?;
        (until > Utc::now()).then(|| HostHold {
            state: h.state.to_string(),
            until: until.timestamp_millis(),
            failures: h.consecutive_failures,
        })
    })
}

impl Engine {
    /// Stopping on a shared server: gives every lease back (with each host's
    /// back-off) and leaves the list of instances, so the others take over
    /// at their next round instead of after the TTL. Call after
    /// [`Engine::stop`]. Nothing on one machine.
    pub async fn leave(&self) {
        if !self.store.is_shared() {
            return;
        }
        let l = &self.leases;
        l.left.store(true, Ordering::SeqCst);
        let mut held: Vec<(String, Held)> = l.held.lock().drain().collect();
        held.extend(l.releasing.lock().drain());
        for (host, h) in held {
            let hold = hold_of(self, &host);
            if let Err(e) = self
                .store
                .release_lease(&host, &l.me, h.epoch, hold.as_ref())
                .await
            {
                tracing::warn!("could not give the lease of {host} back: {e}");
            }
        }
        if let Err(e) = self.store.remove_instance(&l.me).await {
            tracing::warn!("could not leave the list of instances: {e}");
        }
    }

    /// The live instances sharing this database and what each holds (empty
    /// on one machine).
    pub async fn instances(&self) -> Result<Vec<model::InstanceView>, StoreError> {
        if !self.store.is_shared() {
            return Ok(vec![]);
        }
        let now = now_ms();
        let at = |ms: i64| chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default();
        let leases = self.store.leases().await?;
        let instances = self
            .store
            .instances_since(now - self.leases.ttl_ms())
            .await?;
        Ok(instances
            .into_iter()
            .map(|i| model::InstanceView {
                this: i.id == self.leases.me,
                leases: leases
                    .iter()
                    .filter(|l| l.owner.as_deref() == Some(i.id.as_str()) && l.expires > now)
                    .map(|l| model::LeaseView {
                        host: l.host.clone(),
                        epoch: l.epoch,
                        expires: at(l.expires),
                    })
                    .collect(),
                started: at(i.started),
                seen: at(i.seen),
                addr: i.addr,
                id: i.id,
            })
            .collect())
    }

    /// Whether this instance runs task `name` now: always on one machine; on
    /// a shared server while it holds the task's lease (ask with
    /// [`Engine::want_task`]).
    pub fn holds_task(&self, name: &str) -> bool {
        !self.store.is_shared() || self.leases.fence(&task_key(name)).is_some()
    }

    /// Waits until this instance runs task `name` (at once on one machine).
    pub async fn until_holds_task(&self, name: &str) {
        while !self.holds_task(name) {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// This instance would run task `name` (on a shared server, when no
    /// other live instance does).
    pub fn want_task(&self, name: &str) {
        self.leases.want(name);
    }

    /// Makes the registered sources those stored (added, changed or removed
    /// by another instance).
    pub(crate) fn sync_sources(self: &Arc<Self>, stored: Vec<Source>) {
        let keys: std::collections::HashSet<String> =
            stored.iter().map(|s| s.key.clone()).collect();
        let gone: Vec<Arc<SourceTask>> = {
            let mut sources = self.sources.lock();
            let gone_keys: Vec<String> = sources
                .keys()
                .filter(|k| !keys.contains(*k))
                .cloned()
                .collect();
            gone_keys.iter().filter_map(|k| sources.remove(k)).collect()
        };
        for t in gone {
            if let Some(h) = t.handle.lock().take() {
                h.abort();
            }
        }
        for s in stored {
            let task = self.sources.lock().get(&s.key).cloned();
            match task {
                None => {
                    let task = self.register(s);
                    self.spawn_scheduler(&task);
                }
                Some(task) => {
                    let changed = *task.source.lock() != s;
                    if changed && !task.running.load(Ordering::SeqCst) {
                        *task.source.lock() = s;
                        self.spawn_scheduler(&task);
                    }
                }
            }
        }
    }

    /// Waits (at most `most`) until the follower has published every event
    /// committed so far, so the products here are as stored.
    async fn catch_up(&self, most: Duration) {
        let Ok(counter) = self.store.event_counter().await else {
            return;
        };
        let deadline = tokio::time::Instant::now() + most;
        while self.store.last_seq() < counter && tokio::time::Instant::now() < deadline {
            self.follow.wake.notify_one();
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
