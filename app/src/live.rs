//! The browser side of `/api/live`: one WebSocket for the whole app, opened
//! after hydration, kept across page changes, reconnecting with back-off and
//! resuming from the last sequence number it saw.
//!
//! The app shell provides [`Live`]. The header starts it as soon as it knows
//! the visitor may read, on every page (the account and admin pages follow
//! no events, yet their header tells the truth too), and every page that
//! follows events starts it as well. A page follows events with
//! [`use_live_events`], from the sequence number its data was read at, and
//! gets every later event once, in order. When a page starts from further
//! back than the socket has come (an event arrived between reading its data
//! and following), the socket is reopened from there; the pages already
//! following skip what they have seen. A page that shows deals also hears
//! of each deal that changed ([`use_live_deals`]).

use leptos::prelude::*;

use model::deal::Deal;
use model::Event;

/// The live connection's state, shown in the page header.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Connection {
    /// Not started: the page as the server rendered it, before its script
    /// runs (for good, with JavaScript off).
    Idle,
    Connecting,
    Live,
    Reconnecting,
    Offline,
}

impl Connection {
    pub fn as_str(self) -> &'static str {
        match self {
            Connection::Idle => "idle",
            Connection::Connecting => "connecting",
            Connection::Live => "live",
            Connection::Reconnecting => "reconnecting",
            Connection::Offline => "offline",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Connection::Idle => "Not live",
            Connection::Connecting => "Connecting…",
            Connection::Live => "● Live",
            Connection::Reconnecting => "Reconnecting…",
            Connection::Offline => "Offline",
        }
    }
}

/// The app's live connection: its state (for the header) and, in the
/// browser, the socket that every page shares.
#[derive(Clone, Copy)]
pub struct Live {
    pub state: RwSignal<Connection>,
    #[cfg(feature = "hydrate")]
    hub: StoredValue<client::Hub, LocalStorage>,
}

impl Live {
    /// Provides the connection, not open yet, to the whole app.
    pub fn provide() {
        let state = RwSignal::new(Connection::Idle);
        provide_context(Live {
            state,
            #[cfg(feature = "hydrate")]
            hub: StoredValue::new_local(client::Hub::new(state)),
        });
    }

    /// Opens the socket, once; later calls do nothing (as does every call
    /// on the server).
    pub fn start(self) {
        #[cfg(feature = "hydrate")]
        if let Some(hub) = self.hub.try_get_value() {
            hub.start();
        }
    }
}

/// Calls `on_event` for each event after `since`, in order, once (in the
/// browser only), until the calling component goes away (e.g. on
/// navigation to another page).
pub fn use_live_events(since: u64, on_event: impl Fn(Event) + Clone + 'static) {
    #[cfg(feature = "hydrate")]
    {
        let on_event: std::rc::Rc<dyn Fn(Event)> = std::rc::Rc::new(on_event);
        follow_while_here(move |hub| hub.follow(since, on_event.clone()));
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (since, on_event);
}

/// Calls `on_deal` with each product's deal that changed (in the browser
/// only), until the calling component goes away.
pub fn use_live_deals(on_deal: impl Fn(String, Deal) + 'static) {
    #[cfg(feature = "hydrate")]
    {
        let on_deal: std::rc::Rc<dyn Fn(String, Deal)> = std::rc::Rc::new(on_deal);
        follow_while_here(move |hub| hub.follow_deals(on_deal.clone()));
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = on_deal;
}

/// Follows the shared socket with `follow` once this component hydrated,
/// and stops when it goes away.
#[cfg(feature = "hydrate")]
fn follow_while_here(follow: impl Fn(&client::Hub) -> u64 + 'static) {
    let Some(live) = use_context::<Live>() else {
        return;
    };
    let following = StoredValue::new(None::<u64>);
    // Effects run in the browser only, after this component hydrated.
    Effect::new(move |_| {
        if following.get_value().is_some() {
            return;
        }
        if let Some(hub) = live.hub.try_get_value() {
            following.set_value(Some(follow(&hub)));
            hub.start();
        }
    });
    on_cleanup(move || {
        if let (Some(Some(id)), Some(hub)) = (following.try_get_value(), live.hub.try_get_value()) {
            hub.unfollow(id);
        }
    });
}

#[cfg(feature = "hydrate")]
mod client {
    use std::cell::RefCell;
    use std::rc::Rc;
    use std::time::Duration;

    use leptos::prelude::*;
    use wasm_bindgen::prelude::*;
    use wasm_bindgen::JsCast;
    use web_sys::{MessageEvent, WebSocket};

    use super::Connection;
    use model::deal::Deal;
    use model::{Event, Notice};

    /// A cursor beyond the newest event: the server starts "from now".
    const FROM_NOW: u64 = u64::MAX;

    /// 0.5 s, 1 s, 2 s … up to 15 s between attempts.
    fn backoff(attempt: u32) -> Duration {
        Duration::from_millis((500u64 << attempt.min(5)).min(15_000))
    }

    type OnEvent = Rc<dyn Fn(Event)>;
    type OnDeal = Rc<dyn Fn(String, Deal)>;

    /// A page following events: the last one it was given.
    struct Follower {
        id: u64,
        last: u64,
        on_event: OnEvent,
    }

    struct Inner {
        state: RwSignal<Connection>,
        started: bool,
        socket: Option<WebSocket>,
        /// Counts the sockets opened: the callbacks of an earlier one (closed
        /// on purpose to reopen from further back) are ignored.
        generation: u64,
        /// The socket delivers every event after this. `None`: opened "from
        /// now" and nothing delivered yet, so nobody can tell from where.
        cursor: Option<u64>,
        followers: Vec<Follower>,
        /// Pages that show deals, by follower id.
        deal_followers: Vec<(u64, OnDeal)>,
        next_id: u64,
        /// Failed attempts in a row, for the back-off.
        attempt: u32,
        /// An open is already scheduled.
        open_pending: bool,
    }

    /// The shared socket. Callbacks (the pages' and the signals') are never
    /// called while its state is borrowed, since they may call back in
    /// (a page that goes away stops following).
    #[derive(Clone)]
    pub struct Hub(Rc<RefCell<Inner>>);

    impl Hub {
        pub fn new(state: RwSignal<Connection>) -> Hub {
            Hub(Rc::new(RefCell::new(Inner {
                state,
                started: false,
                socket: None,
                generation: 0,
                cursor: None,
                followers: vec![],
                deal_followers: vec![],
                next_id: 0,
                attempt: 0,
                open_pending: false,
            })))
        }

        pub fn start(&self) {
            let state = {
                let mut h = self.0.borrow_mut();
                if h.started {
                    return;
                }
                h.started = true;
                h.state
            };
            state.set(Connection::Connecting);
            // After a turn of the event loop, so that the pages hydrating
            // now follow first and the socket opens from where they start.
            self.open_soon(Duration::ZERO);
        }

        /// Follows events after `since`; returns the id to stop with.
        pub fn follow(&self, since: u64, on_event: OnEvent) -> u64 {
            let (id, reopen) = {
                let mut h = self.0.borrow_mut();
                let id = h.next_id;
                h.next_id += 1;
                h.followers.push(Follower {
                    id,
                    last: since,
                    on_event,
                });
                let behind = h.cursor.is_none_or(|c| since < c);
                if behind {
                    h.cursor = Some(since);
                }
                (id, behind && h.started)
            };
            if reopen {
                self.reopen();
            }
            id
        }

        /// Hears of deals that change; returns the id to stop with.
        pub fn follow_deals(&self, on_deal: OnDeal) -> u64 {
            let mut h = self.0.borrow_mut();
            let id = h.next_id;
            h.next_id += 1;
            h.deal_followers.push((id, on_deal));
            id
        }

        pub fn unfollow(&self, id: u64) {
            let mut h = self.0.borrow_mut();
            h.followers.retain(|f| f.id != id);
            h.deal_followers.retain(|(f, _)| *f != id);
        }

        /// Closes the socket (its callbacks are ignored from now on) and
        /// opens one from the cursor.
        fn reopen(&self) {
            let old = {
                let mut h = self.0.borrow_mut();
                let old = h.socket.take();
                if old.is_some() {
                    h.generation += 1;
                }
                old
            };
            if let Some(ws) = old {
                let _ = ws.close();
            }
            self.open_soon(Duration::ZERO);
        }

        fn open_soon(&self, delay: Duration) {
            {
                let mut h = self.0.borrow_mut();
                if h.open_pending {
                    return;
                }
                h.open_pending = true;
            }
            let hub = self.clone();
            set_timeout(move || hub.open(), delay);
        }

        fn open(&self) {
            let (old, generation, since) = {
                let mut h = self.0.borrow_mut();
                h.open_pending = false;
                h.generation += 1;
                (h.socket.take(), h.generation, h.cursor.unwrap_or(FROM_NOW))
            };
            if let Some(ws) = old {
                let _ = ws.close();
            }
            let Some(url) = live_url(since) else {
                return;
            };
            match WebSocket::new(&url) {
                Ok(ws) => {
                    self.attach(&ws, generation);
                    self.0.borrow_mut().socket = Some(ws);
                }
                Err(_) => self.closed(generation),
            }
        }

        fn attach(&self, ws: &WebSocket, generation: u64) {
            let hub = self.clone();
            let onopen = Closure::<dyn FnMut()>::new(move || hub.opened(generation));
            ws.set_onopen(Some(onopen.as_ref().unchecked_ref()));
            onopen.forget();

            let hub = self.clone();
            let onmessage = Closure::<dyn FnMut(MessageEvent)>::new(move |m: MessageEvent| {
                if let Some(text) = m.data().as_string() {
                    hub.message(generation, &text);
                }
            });
            ws.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
            onmessage.forget();

            // `close` follows `error`, so reconnecting from `close` alone covers both.
            let hub = self.clone();
            let onclose = Closure::<dyn FnMut()>::new(move || hub.closed(generation));
            ws.set_onclose(Some(onclose.as_ref().unchecked_ref()));
            onclose.forget();
        }

        fn opened(&self, generation: u64) {
            let state = {
                let mut h = self.0.borrow_mut();
                if h.generation != generation {
                    return;
                }
                h.attempt = 0;
                h.state
            };
            state.set(Connection::Live);
        }

        fn closed(&self, generation: u64) {
            let (state, delay) = {
                let mut h = self.0.borrow_mut();
                if h.generation != generation {
                    return;
                }
                h.socket = None;
                let delay = backoff(h.attempt);
                h.attempt = h.attempt.saturating_add(1);
                (h.state, delay)
            };
            let online = web_sys::window()
                .map(|w| w.navigator().on_line())
                .unwrap_or(true);
            state.set(if online {
                Connection::Reconnecting
            } else {
                Connection::Offline
            });
            self.open_soon(delay);
        }

        fn message(&self, generation: u64, text: &str) {
            if self.0.borrow().generation != generation {
                return;
            }
            let e = match serde_json::from_str::<Event>(text) {
                Ok(e) => e,
                Err(err) => {
                    match serde_json::from_str::<Notice>(text) {
                        // The events this page missed are no longer kept (the
                        // server closes with 4410): only a fresh page is right.
                        Ok(Notice::Reload { .. }) => {
                            if let Some(w) = web_sys::window() {
                                let _ = w.location().reload();
                            }
                        }
                        Ok(Notice::Deal { product, deal }) => self.deal(product, *deal),
                        Err(_) => leptos::logging::warn!("live: unreadable message: {err}"),
                    }
                    return;
                }
            };
            let due: Vec<(u64, OnEvent)> = {
                let mut h = self.0.borrow_mut();
                h.cursor = Some(h.cursor.map_or(e.seq, |c| c.max(e.seq)));
                h.followers
                    .iter_mut()
                    .filter(|f| e.seq > f.last)
                    .map(|f| {
                        f.last = e.seq;
                        (f.id, f.on_event.clone())
                    })
                    .collect()
            };
            for (id, on_event) in due {
                // A page that went away while another handled this event
                // hears no more.
                let following = self.0.borrow().followers.iter().any(|f| f.id == id);
                if following {
                    on_event(e.clone());
                }
            }
        }

        fn deal(&self, product: String, deal: Deal) {
            let due: Vec<(u64, OnDeal)> = self.0.borrow().deal_followers.clone();
            for (id, on_deal) in due {
                let following = self.0.borrow().deal_followers.iter().any(|(f, _)| *f == id);
                if following {
                    on_deal(product.clone(), deal.clone());
                }
            }
        }
    }

    fn live_url(since: u64) -> Option<String> {
        let loc = web_sys::window()?.location();
        let proto = if loc.protocol().ok().as_deref() == Some("https:") {
            "wss"
        } else {
            "ws"
        };
        let host = loc.host().ok()?;
        Some(format!("{proto}://{host}/api/live?since={since}"))
    }
}
