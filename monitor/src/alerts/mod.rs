//! Alerts: watch rules, the channels notifications go to (Apprise-style
//! URLs, `channel.rs`), sending in each service's wire format (`send.rs`,
//! `email.rs`, `push.rs`), and the service that follows the events, queues
//! deliveries in the store and sends them (`service.rs`, with editing rules
//! in `rule_edits.rs`, editing channels in `channel_edits.rs` and the
//! follower and sender in `queue.rs`).
pub mod channel;
mod channel_edits;
mod email;
pub mod push;
mod queue;
mod rule_edits;
pub mod rules;
pub mod send;
pub mod service;

pub use channel::{Channel, ChannelError, Endpoints, Vapid};
pub use service::{AlertError, AlertService};
