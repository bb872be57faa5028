//! Alerts: watch rules, the channels notifications go to (Apprise-style
//! URLs, `channel.rs`), sending in each service's wire format (`send.rs`,
//! `email.rs`, `push.rs`), and the service that follows the events, queues
//! deliveries in the store and sends them (`service.rs`).
pub mod channel;
mod email;
pub mod push;
pub mod rules;
pub mod send;
pub mod service;

pub use channel::{Channel, ChannelError, Endpoints, Vapid};
pub use service::{AlertError, AlertService};
