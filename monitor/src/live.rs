//! The live feed: every stored event after a sequence number, then live ones.
//!
//! A [`LiveFeed`] subscribes to the engine's broadcast *before* it reads the
//! backlog from the store, so an event committed while the backlog is read is
//! in the broadcast queue; events are deduplicated by sequence number. A
//! client that falls too far behind the broadcast (it lags) is switched back
//! to reading the store. Either way it receives every event exactly once, in
//! order — the guarantee `/api/live?since=SEQ` documents.
//!
//! Catching up is bounded: each client reads the store a page at a time
//! (its cost follows the page, see `Store::events_since`), holds one page
//! at most, and at most [`CATCHUP_READS`] clients read at once, so a crowd
//! of clients asking for the whole history (`since=0`) queues behind each
//! other instead of crowding out the poller's writes. The server's own
//! feeds (alerts, repricing) do not queue. Full pages are shared: the last
//! [`SHARED_PAGES`] read are kept, events encoded, so a crowd starting from
//! the same cursor costs one read and one encoding per page, not one per
//! client. A feed catching up steps aside for other tasks every
//! [`YIELD_EVERY`] events, so a socket taking thousands of events does not
//! hold a worker thread while a health check or a page waits. A cursor
//! beyond the newest event means "from now".

use std::collections::VecDeque;
use std::sync::Arc;

use tokio::sync::broadcast::{self, error::RecvError};
use tokio::sync::Semaphore;

use model::Event;

use crate::store::{Store, StoreError};

/// How many events one store read brings in while catching up.
const BACKLOG_PAGE: usize = 200;

/// How many clients may read the backlog from the store at once.
pub const CATCHUP_READS: usize = 4;

/// How many full backlog pages are kept for other clients catching up
/// (at most 16 × 200 events, a few MB).
pub const SHARED_PAGES: usize = 16;

/// A feed catching up yields to other tasks after this many events.
pub const YIELD_EVERY: u32 = 16;

/// A full page of backlog: the events after `from`, shared by every feed
/// that catches up through it.
type Page = Arc<[Arc<Published>]>;

/// The last full pages read, newest last.
#[derive(Default)]
struct SharedPages(parking_lot::Mutex<VecDeque<(u64, Page)>>);

impl SharedPages {
    fn get(&self, from: u64) -> Option<Page> {
        let pages = self.0.lock();
        pages
            .iter()
            .find(|(f, _)| *f == from)
            .map(|(_, p)| p.clone())
    }

    /// Keeps `page` if it is full: a short page ends at the newest event of
    /// the moment it was read, and later readers must read past it.
    fn keep(&self, from: u64, page: &Page) {
        if page.len() < BACKLOG_PAGE {
            return;
        }
        let mut pages = self.0.lock();
        if pages.iter().any(|(f, _)| *f == from) {
            return;
        }
        if pages.len() >= SHARED_PAGES {
            pages.pop_front();
        }
        pages.push_back((from, page.clone()));
    }

    fn len(&self) -> usize {
        self.0.lock().len()
    }
}

/// An event as published to every feed: the event, and its JSON text,
/// made once however many clients send it.
pub struct Published {
    pub event: Event,
    json: std::sync::OnceLock<Arc<str>>,
}

impl Published {
    pub fn new(event: Event) -> Published {
        Published {
            event,
            json: std::sync::OnceLock::new(),
        }
    }

    /// The event as the live socket sends it (encoded by the first client that asks).
    pub fn json(&self) -> Arc<str> {
        self.json
            .get_or_init(|| {
                serde_json::to_string(&self.event)
                    .expect("events always serialise")
                    .into()
            })
            .clone()
    }
}

/// The broadcast side: the engine publishes every committed event here.
#[derive(Clone)]
pub struct LiveHub {
    tx: broadcast::Sender<Arc<Published>>,
    /// Feeds the server keeps for itself (the alert service), which are not
    /// browsers and so not counted as live clients.
    internal: Arc<std::sync::atomic::AtomicUsize>,
    /// Turns to read the backlog from the store (clients only).
    catchup: Arc<Semaphore>,
    pages: Arc<SharedPages>,
}

impl Default for LiveHub {
    fn default() -> Self {
        let (tx, _) = broadcast::channel(4096);
        LiveHub {
            tx,
            internal: Arc::default(),
            catchup: Arc::new(Semaphore::new(CATCHUP_READS)),
            pages: Arc::default(),
        }
    }
}

impl LiveHub {
    pub fn publish(&self, events: &[Event]) {
        for e in events {
            // No receivers is fine: nobody is watching right now.
            let _ = self.tx.send(Arc::new(Published::new(e.clone())));
        }
    }

    /// Events in the broadcast queue (at most its capacity, 4096).
    pub fn backlog(&self) -> usize {
        self.tx.len()
    }

    /// Backlog pages kept for clients catching up (at most [`SHARED_PAGES`]).
    pub fn shared_pages(&self) -> usize {
        self.pages.len()
    }

    /// How many live clients (sockets) are subscribed.
    pub fn clients(&self) -> usize {
        self.tx
            .receiver_count()
            .saturating_sub(self.internal.load(std::sync::atomic::Ordering::SeqCst))
    }
}

/// One client's ordered, gap-free stream of events.
pub struct LiveFeed {
    store: Arc<Store>,
    /// A turn to read the store while catching up; `None` for the server's own feeds.
    catchup: Option<Arc<Semaphore>>,
    pages: Arc<SharedPages>,
    rx: broadcast::Receiver<Arc<Published>>,
    last: u64,
    backlog: VecDeque<Arc<Published>>,
    catching_up: bool,
    /// Events handed out from the backlog since the feed last yielded.
    since_yield: u32,
    /// Set for a server-internal feed: decremented when it ends.
    internal: Option<Arc<std::sync::atomic::AtomicUsize>>,
    /// The oldest event kept, when the client asked for older ones that
    /// retention has removed: it must reload rather than resume with a gap.
    missed: Option<u64>,
}

impl Drop for LiveFeed {
    fn drop(&mut self) {
        if let Some(n) = &self.internal {
            n.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        }
    }
}

impl LiveFeed {
    /// A feed for the server's own use, not counted among live clients.
    pub fn internal(store: Arc<Store>, hub: &LiveHub, since: u64) -> Self {
        hub.internal
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let mut feed = LiveFeed::new(store, hub, since);
        feed.internal = Some(hub.internal.clone());
        feed.catchup = None;
        feed
    }

    /// Starts a feed of the events after `since` (after the newest one
    /// when `since` is beyond it).
    pub fn new(store: Arc<Store>, hub: &LiveHub, since: u64) -> Self {
        let since = since.min(store.last_seq());
        LiveFeed {
            rx: hub.tx.subscribe(),
            missed: (since.saturating_add(1) < store.oldest_event()).then(|| store.oldest_event()),
            last: since,
            store,
            catchup: Some(hub.catchup.clone()),
            pages: hub.pages.clone(),
            backlog: VecDeque::new(),
            catching_up: true,
            since_yield: 0,
            internal: None,
        }
    }

    /// The sequence number of the last event handed out.
    pub fn last_seq(&self) -> u64 {
        self.last
    }

    /// `Some(oldest kept)` when events after the requested `since` are no
    /// longer kept: the client missed some and must reload.
    pub fn missed(&self) -> Option<u64> {
        self.missed
    }

    /// Whether there are events after the last one handed out (a follower
    /// that has none left has caught up).
    pub fn has_ready(&self) -> bool {
        !self.backlog.is_empty() || self.last < self.store.last_seq()
    }

    /// The next event; `Ok(None)` when the engine shuts down.
    pub async fn next(&mut self) -> Result<Option<Event>, StoreError> {
        Ok(self
            .next_published()
            .await?
            .map(|p| match Arc::try_unwrap(p) {
                Ok(p) => p.event,
                Err(shared) => shared.event.clone(),
            }))
    }

    /// The next event as published, with its JSON text shared by every
    /// client that received it live (what the socket sends).
    pub async fn next_published(&mut self) -> Result<Option<Arc<Published>>, StoreError> {
        loop {
            if let Some(e) = self.backlog.pop_front() {
                self.since_yield += 1;
                if self.since_yield >= YIELD_EVERY {
                    self.since_yield = 0;
                    tokio::task::yield_now().await;
                }
                self.last = e.event.seq;
                return Ok(Some(e));
            }
            if self.catching_up {
                let page = self.backlog_page().await?;
                if page.is_empty() {
                    self.catching_up = false;
                } else {
                    self.backlog.extend(page.iter().cloned());
                }
                continue;
            }
            match self.rx.recv().await {
                Ok(e) if e.event.seq > self.last => {
                    self.last = e.event.seq;
                    return Ok(Some(e));
                }
                Ok(_) => continue,
                Err(RecvError::Lagged(_)) => self.catching_up = true,
                Err(RecvError::Closed) => return Ok(None),
            }
        }
    }

    /// The page of events after `self.last`: shared when another feed has
    /// just read it, otherwise read from the store in turn.
    async fn backlog_page(&self) -> Result<Page, StoreError> {
        if let Some(page) = self.pages.get(self.last) {
            return Ok(page);
        }
        let _turn = match &self.catchup {
            Some(s) => Some(
                s.clone()
                    .acquire_owned()
                    .await
                    .expect("the catch-up semaphore is never closed"),
            ),
            None => None,
        };
        // Another feed may have read it while this one waited its turn.
        if let Some(page) = self.pages.get(self.last) {
            return Ok(page);
        }
        // Only events already published here: a newer one may be committed
        // and not yet applied to this instance's products (on a shared
        // server, the follower publishes another instance's events once it
        // has loaded their products).
        let published = self.store.last_seq();
        let room = published.saturating_sub(self.last).min(BACKLOG_PAGE as u64) as usize;
        let page: Page = self
            .store
            .events_since(self.last, room)
            .await?
            .into_iter()
            .filter(|e| e.seq <= published)
            .map(|e| Arc::new(Published::new(e)))
            .collect();
        self.pages.keep(self.last, &page);
        Ok(page)
    }
}

/// Where one of the server's own followers of the feed (alerts, repricing)
/// left off, kept in the store's `meta` under its name.
///
/// Saved once the follower has caught up (no event ready) or a second after
/// the last save, not after every event: that was two database writes for
/// each event of a busy catalogue (1,300 a cycle when 1 % of 65,000 sizes
/// change). Followers are idempotent per event (a notification is keyed by
/// rule, event and channel, a price proposal by link and event), so the
/// events after the saved cursor that a crash shows them again change
/// nothing.
pub struct FollowCursor {
    name: &'static str,
    saved: u64,
    last_save: std::time::Instant,
}

/// The longest a busy follower goes without saving where it is.
const CURSOR_SAVE_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

impl FollowCursor {
    /// A cursor named `name` that was read as `since`.
    pub fn new(name: &'static str, since: u64) -> Self {
        FollowCursor {
            name,
            saved: since,
            last_save: std::time::Instant::now(),
        }
    }

    /// The follower is done with the feed's last event: saves it when the
    /// feed has caught up or the last save is a second old.
    pub async fn done(&mut self, store: &Store, feed: &LiveFeed) {
        let seq = feed.last_seq();
        if seq == self.saved || (feed.has_ready() && self.last_save.elapsed() < CURSOR_SAVE_EVERY) {
            return;
        }
        if let Err(e) = store.set_meta(self.name, serde_json::json!(seq)).await {
            tracing::warn!("could not save where {} left off: {e}", self.name);
            return;
        }
        self.saved = seq;
        self.last_save = std::time::Instant::now();
    }
}
