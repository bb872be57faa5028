//! Alerts (issue 5, in progress on this branch): watch rules and the
//! channels notifications go to. So far: channel addresses in the
//! Apprise-style URL form changedetection.io users know (`channel.rs`), and
//! sending one message to an HTTP channel in its own wire format (`send.rs`).
pub mod channel;
pub mod rules;
pub mod send;
pub mod service;
