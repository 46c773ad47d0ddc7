//! The daemon's health as plain data: the document `/health` serves and the tray reads (Redis,
//! the last snapshot and delivery, the next fires, a table tail). Rule: nothing secret — the
//! Redis address is masked and errors are redacted before they get here.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Whether relaywatch's Redis is reachable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RedisState {
    /// Not tried yet.
    Starting,
    Up,
    Down,
}

/// The last delivery the sender finished (delivered or failed for good).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LastDelivery {
    pub at: DateTime<Utc>,
    pub channel: String,
    pub kind: String,
    pub delivered: bool,
}

/// One upcoming scheduled fire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NextFire {
    pub job: String,
    pub at: DateTime<Utc>,
}

/// A log-table tail as `/health` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TailHealth {
    /// `ezapi:log_records`.
    pub source: String,
    /// `up` (this instance reads), `standby` (another instance holds the lease) or `down`.
    pub state: String,
    /// Why it is down, redacted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The last id read.
    pub position: Option<i64>,
    /// How far the newest row read is behind the clock, in seconds, when last read.
    pub lag_seconds: Option<f64>,
    /// Rows read since this instance started.
    pub rows: u64,
}

/// The health document served at `/health`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Health {
    /// `ok`, `standby` (nothing is sent by configuration), or `degraded` (Redis down).
    pub status: String,
    pub redis: RedisState,
    /// Why Redis is down, redacted; absent when up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redis_error: Option<String>,
    /// Since when Redis has been in its current state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redis_since: Option<DateTime<Utc>>,
    pub last_snapshot_at: Option<DateTime<Utc>>,
    pub outbox_depth: Option<u64>,
    pub last_delivery: Option<LastDelivery>,
    pub next_fires: Vec<NextFire>,
    /// Why the last config reload was refused (the old config keeps running).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reload_error: Option<String>,
    /// The log-table tail (`[events] source = "ezapi"`), when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<TailHealth>,
    pub instance: String,
    pub version: String,
    pub started_at: DateTime<Utc>,
}
