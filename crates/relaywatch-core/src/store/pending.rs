//! What the rules' state holds that changes with time alone — error-rate subjects firing,
//! breakers not closed, the earliest held digest, the alert records repeats follow — read in one
//! round trip so the daemon's ticker knows how long it may sleep. Rule: read-only.

use chrono::{DateTime, TimeZone, Utc};
use redis::aio::MultiplexedConnection;

use super::RuleError;
use crate::rules::alert_state::AlertRecord;

/// The time-driven state at one read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PendingState {
    /// Error-rate subjects firing (`{p}alert:error_rate:firing`).
    pub firing: u64,
    /// Breakers not closed (`{p}breaker:active`).
    pub open_breakers: u64,
    /// The earliest digest release (`{p}digest:due`).
    pub next_digest: Option<DateTime<Utc>>,
    /// Every alert record (`{p}alerts:records`), when asked for; unreadable ones left out.
    pub records: Vec<AlertRecord>,
}

/// Reads the pending state under `prefix`; the records are parsed only when `with_records`.
pub async fn read(
    con: &mut MultiplexedConnection,
    prefix: &str,
    with_records: bool,
) -> Result<PendingState, RuleError> {
    let p = prefix;
    let (firing, active, digest, records): (u64, u64, Vec<(String, f64)>, Vec<String>) =
        redis::pipe()
            .cmd("SCARD")
            .arg(format!("{p}alert:error_rate:firing"))
            .cmd("SCARD")
            .arg(format!("{p}breaker:active"))
            .cmd("ZRANGE")
            .arg(format!("{p}digest:due"))
            .arg(0)
            .arg(0)
            .arg("WITHSCORES")
            .cmd("HVALS")
            .arg(format!("{p}alerts:records"))
            .query_async(con)
            .await
            .map_err(|e| RuleError::Redis {
                rule: "alert",
                reason: e.to_string(),
            })?;
    Ok(PendingState {
        firing,
        open_breakers: active,
        next_digest: digest
            .first()
            .and_then(|(_, ms)| Utc.timestamp_millis_opt(*ms as i64).single()),
        records: match with_records {
            true => records
                .iter()
                .filter_map(|t| serde_json::from_str(t).ok())
                .collect(),
            false => Vec::new(),
        },
    })
}
