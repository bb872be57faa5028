//! Alerts (issue 5, in progress on this branch): watch rules and the
//! channels notifications go to. So far: channel addresses in the
//! Apprise-style URL form changedetection.io users know (`channel.rs`).
pub mod channel;
