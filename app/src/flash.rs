//! Shown-once answers for plain form posts (JavaScript off, or the wasm not
//! loaded yet).
//!
//! Such a post is answered with a redirect (303) to the page it came from,
//! so whatever the server function answered is lost, which is fine for a
//! message the page can show anew, but not for a new API token's secret:
//! that exists nowhere else. So the server function leaves it here, keyed by
//! the caller's session, and the account page's server render takes it out
//! (once) and shows it. Never in a URL, a cookie or a log; kept in memory
//! only, for [`TTL`].
//!
//! The server provides one [`TokenFlash`] to every request's context.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::access::NewToken;

/// How long a flash waits for the page the browser is sent to.
pub const TTL: Duration = Duration::from_secs(60);

/// At most this many waiting at once (one per session); the oldest goes
/// first.
const MAX_WAITING: usize = 1_000;

/// New tokens waiting to be shown, by session (the SHA-256 of its cookie,
/// as `monitor::auth::Credential::Session` holds it).
#[derive(Clone, Default)]
pub struct TokenFlash(Arc<Mutex<HashMap<String, (Instant, NewToken)>>>);

impl TokenFlash {
    /// Keeps `token` for `session`'s next account page (replacing one still
    /// waiting).
    pub fn put(&self, session: &str, token: NewToken) {
        self.put_at(session, token, Instant::now());
    }

    /// The token waiting for `session`, once.
    pub fn take(&self, session: &str) -> Option<NewToken> {
        self.take_at(session, Instant::now())
    }

    fn put_at(&self, session: &str, token: NewToken, now: Instant) {
        let mut waiting = self.0.lock().unwrap_or_else(|e| e.into_inner());
        waiting.retain(|_, (at, _)| now.saturating_duration_since(*at) < TTL);
        if waiting.len() >= MAX_WAITING && !waiting.contains_key(session) {
            let oldest = waiting
                .iter()
                .min_by_key(|(_, (at, _))| *at)
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                waiting.remove(&k);
            }
        }
        waiting.insert(session.to_string(), (now, token));
    }

    fn take_at(&self, session: &str, now: Instant) -> Option<NewToken> {
        let mut waiting = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let (at, token) = waiting.remove(session)?;
        (now.saturating_duration_since(at) < TTL).then_some(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::FormResult;

    fn token(secret: &str) -> NewToken {
        NewToken {
            result: FormResult {
                ok: true,
                message: "Token created.".into(),
                errors: vec![],
            },
            secret: Some(secret.into()),
        }
    }

    #[test]
    fn a_secret_is_shown_once_and_only_to_its_session() {
        let flash = TokenFlash::default();
        flash.put("session-a", token("dw_1_secret"));
        assert_eq!(flash.take("session-b"), None);
        assert_eq!(
            flash.take("session-a").and_then(|t| t.secret).as_deref(),
            Some("dw_1_secret")
        );
        assert_eq!(flash.take("session-a"), None, "a reload shows nothing");
    }

    #[test]
    fn a_secret_nobody_came_for_is_forgotten() {
        let flash = TokenFlash::default();
        let then = Instant::now();
        flash.put_at("session-a", token("dw_1_secret"), then);
        assert_eq!(flash.take_at("session-a", then + TTL), None);
    }

    #[test]
    fn waiting_flashes_are_bounded() {
        let flash = TokenFlash::default();
        let then = Instant::now();
        for i in 0..MAX_WAITING + 10 {
            flash.put_at(
                &format!("s{i}"),
                token("x"),
                then + Duration::from_millis(i as u64),
            );
        }
        assert_eq!(flash.0.lock().unwrap().len(), MAX_WAITING);
        assert_eq!(flash.take_at("s0", then), None, "the oldest went first");
    }
}
