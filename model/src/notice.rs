//! Messages on the live socket that are not events. They carry no sequence
//! number and are not stored: each says something about what Dropwatch
//! already knows, and is sent only to the sockets open at the time (a
//! socket that catches up on stored events gets the current deal of each
//! product they touch instead; see `server/src/live.rs`). On the wire an
//! object whose `type` is one no event has.

use serde::{Deserialize, Serialize};

use crate::deal::Deal;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Notice {
    /// The events the client asked for are no longer kept: it must reload
    /// (the socket is closed with 4410 after this).
    Reload { oldest: u64 },
    /// A product's deal was assessed again and changed, about a second
    /// after the events that moved its price or stock.
    Deal { product: String, deal: Box<Deal> },
}

impl Notice {
    pub fn json(&self) -> String {
        // A notice is plain data (strings, numbers, decimals, dates): it
        // always serialises.
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notice_is_not_an_event_and_reads_back() {
        let reload = Notice::Reload { oldest: 42 };
        let text = reload.json();
        assert_eq!(text, r#"{"type":"reload","oldest":42}"#);
        assert!(serde_json::from_str::<crate::Event>(&text).is_err());
        assert_eq!(serde_json::from_str::<Notice>(&text).ok(), Some(reload));
    }
}
