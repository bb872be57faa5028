//! The browser side of `/api/live`: one WebSocket per page, opened after
//! hydration, reconnecting with back-off and resuming from the last sequence
//! number it saw, so that every event is applied exactly once.

use leptos::prelude::*;

use model::Event;

/// The live connection's state, shown in the page header. (Only the browser
/// build ever leaves `Connecting`.)
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Connection {
    Connecting,
    Live,
    Reconnecting,
    Offline,
}

impl Connection {
    pub fn as_str(self) -> &'static str {
        match self {
            Connection::Connecting => "connecting",
            Connection::Live => "live",
            Connection::Reconnecting => "reconnecting",
            Connection::Offline => "offline",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Connection::Connecting => "Connecting…",
            Connection::Live => "● Live",
            Connection::Reconnecting => "Reconnecting…",
            Connection::Offline => "Offline",
        }
    }
}

/// The page's live connection state, provided by [`crate::App`] and shown in
/// the header.
#[derive(Clone, Copy)]
pub struct LiveState(pub RwSignal<Connection>);

/// Opens the live feed from `since` (in the browser only) and calls
/// `on_event` for each new event, in order, once. The socket closes when the
/// calling component goes away (e.g. on navigation to another page).
pub fn use_live_events(since: u64, on_event: impl Fn(Event) + Clone + 'static) {
    let state = use_context::<LiveState>()
        .map(|s| s.0)
        .unwrap_or_else(|| RwSignal::new(Connection::Connecting));
    #[cfg(feature = "hydrate")]
    {
        let last = StoredValue::new(since);
        let handle = client::Handle::default();
        let h = handle.clone();
        Effect::new(move |_| {
            client::connect(
                h.clone(),
                last,
                state,
                std::rc::Rc::new(on_event.clone()),
                0,
            );
        });
        let closer = StoredValue::new_local(handle);
        on_cleanup(move || {
            closer.with_value(|h| h.close());
            state.set(Connection::Connecting);
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (since, on_event, state);
}

#[cfg(feature = "hydrate")]
mod client {
    use std::cell::{Cell, RefCell};
    use std::rc::Rc;

    use leptos::prelude::*;
    use wasm_bindgen::prelude::*;
    use wasm_bindgen::JsCast;
    use web_sys::{MessageEvent, WebSocket};

    use super::Connection;
    use model::Event;

    /// 0.5 s, 1 s, 2 s … up to 15 s between attempts.
    fn backoff_ms(attempt: u32) -> i32 {
        (500i32 << attempt.min(5)).min(15_000)
    }

    /// The current socket, and whether the page is done with it.
    #[derive(Clone, Default)]
    pub struct Handle(Rc<RefCell<(Option<WebSocket>, bool)>>);

    impl Handle {
        pub fn close(&self) {
            let mut h = self.0.borrow_mut();
            h.1 = true;
            if let Some(ws) = h.0.take() {
                let _ = ws.close();
            }
        }

        fn closed(&self) -> bool {
            self.0.borrow().1
        }
    }

    pub fn connect(
        handle: Handle,
        last: StoredValue<u64>,
        state: RwSignal<Connection>,
        on_event: Rc<dyn Fn(Event)>,
        attempt: u32,
    ) {
        if handle.closed() {
            return;
        }
        let Some(window) = web_sys::window() else {
            return;
        };
        let loc = window.location();
        let proto = if loc.protocol().ok().as_deref() == Some("https:") {
            "wss"
        } else {
            "ws"
        };
        let host = loc.host().unwrap_or_default();
        let url = format!("{proto}://{host}/api/live?since={}", last.get_value());
        let retry = {
            let on_event = on_event.clone();
            let handle = handle.clone();
            move |opened: bool| {
                if handle.closed() {
                    return;
                }
                let online = web_sys::window()
                    .map(|w| w.navigator().on_line())
                    .unwrap_or(true);
                state.set(if online {
                    Connection::Reconnecting
                } else {
                    Connection::Offline
                });
                let next = if opened { 0 } else { attempt + 1 };
                let on_event = on_event.clone();
                let handle = handle.clone();
                let cb =
                    Closure::once_into_js(move || connect(handle, last, state, on_event, next));
                if let Some(w) = web_sys::window() {
                    let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(
                        cb.unchecked_ref(),
                        backoff_ms(attempt),
                    );
                }
            }
        };
        let ws = match WebSocket::new(&url) {
            Ok(ws) => ws,
            Err(_) => return retry(false),
        };
        handle.0.borrow_mut().0 = Some(ws.clone());
        let opened = Rc::new(Cell::new(false));

        let onopen = {
            let opened = opened.clone();
            Closure::<dyn FnMut()>::new(move || {
                opened.set(true);
                state.set(Connection::Live);
            })
        };
        ws.set_onopen(Some(onopen.as_ref().unchecked_ref()));
        onopen.forget();

        let onmessage = {
            let handle = handle.clone();
            Closure::<dyn FnMut(MessageEvent)>::new(move |m: MessageEvent| {
                if handle.closed() {
                    return;
                }
                let Some(text) = m.data().as_string() else {
                    return;
                };
                match serde_json::from_str::<Event>(&text) {
                    Ok(e) if e.seq > last.get_value() => {
                        last.set_value(e.seq);
                        on_event(e);
                    }
                    Ok(_) => {}
                    Err(err) => leptos::logging::warn!("live: unreadable message: {err}"),
                }
            })
        };
        ws.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
        onmessage.forget();

        // `close` follows `error`, so reconnecting from `close` alone covers both.
        let onclose = Closure::<dyn FnMut()>::new(move || retry(opened.get()));
        ws.set_onclose(Some(onclose.as_ref().unchecked_ref()));
        onclose.forget();
    }
}
