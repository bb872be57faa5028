//! The Dropwatch instances sharing one database server, as `/status` and
//! `GET /api/v1/instances` show them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One live instance and the leases it holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InstanceView {
    /// Random, new at every start.
    pub id: String,
    /// Where its web server listens, as it was started.
    pub addr: String,
    pub started: DateTime<Utc>,
    /// Its last heartbeat.
    pub seen: DateTime<Utc>,
    /// The instance that answered this request.
    pub this: bool,
    /// What it holds: hosts it polls (`host:port`, or `oxylabs`) and tasks
    /// it runs for all (`task:alerts`, `task:repricing`).
    pub leases: Vec<LeaseView>,
}

/// A lease an instance holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LeaseView {
    pub host: String,
    /// Raised by every new holder.
    pub epoch: u64,
    /// When it lapses unless renewed (renewed every third of its time).
    pub expires: DateTime<Utc>,
}
