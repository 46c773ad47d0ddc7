//! Per-channel delivery history in Redis; rule: every attempt leaves one record, written in the
//! same atomic step as the outbox transition it describes — `{prefix}history:{channel}:ok` keeps
//! the last 100 deliveries, `…:failed` the last 50 failed attempts — and a record never holds
//! more than a clipped, already-redacted reason (no payload, no URL, no secret).

use redis::aio::MultiplexedConnection;
use serde::{Deserialize, Serialize};

/// Deliveries kept per channel.
pub const OK_CAP: usize = 100;
/// Failed attempts kept per channel.
pub const FAILED_CAP: usize = 50;
/// Longest reason kept, in characters.
pub const REASON_MAX_CHARS: usize = 300;

/// What an attempt came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttemptResult {
    Delivered,
    /// Failed, will be tried again.
    Retry,
    /// Failed for good (permanent error, or the last attempt): the item is dead-lettered.
    Dead,
}

/// One attempt, as the history lists keep it (JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// When the attempt ended, ms since the epoch.
    pub time_ms: u64,
    /// Outbox item id.
    pub id: u64,
    /// Message kind (`report`, `alert`, …).
    pub kind: String,
    /// The item's idempotency key.
    pub key: String,
    /// 1-based attempt number.
    pub attempt: u32,
    pub result: AttemptResult,
    /// HTTP status, when there was an answer.
    pub status: Option<u16>,
    /// The platform's own code (`errcode`, …).
    pub code: Option<i64>,
    pub latency_ms: u64,
    /// Why it failed (redacted by the caller, clipped here).
    pub reason: Option<String>,
}

/// Clips a reason to [`REASON_MAX_CHARS`] characters.
pub fn clip_reason(reason: &str) -> String {
    let mut out: String = reason.chars().take(REASON_MAX_CHARS).collect();
    if out.len() < reason.len() {
        out.push('…');
    }
    out
}

/// `{prefix}history:{channel}:ok`.
pub fn ok_key(prefix: &str, channel: &str) -> String {
    format!("{prefix}history:{channel}:ok")
}

/// `{prefix}history:{channel}:failed`.
pub fn failed_key(prefix: &str, channel: &str) -> String {
    format!("{prefix}history:{channel}:failed")
}

/// Errors reading history.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("history Redis error: {0}")]
    Redis(String),
}

async fn read(con: &MultiplexedConnection, key: String) -> Result<Vec<Record>, HistoryError> {
    let mut con = con.clone();
    let raw: Vec<String> = redis::cmd("LRANGE")
        .arg(key)
        .arg(0)
        .arg(-1)
        .query_async(&mut con)
        .await
        .map_err(|e| HistoryError::Redis(e.to_string()))?;
    Ok(raw
        .iter()
        .filter_map(|s| serde_json::from_str(s).ok())
        .collect())
}

/// The channel's recent deliveries, newest first.
pub async fn delivered(
    con: &MultiplexedConnection,
    prefix: &str,
    channel: &str,
) -> Result<Vec<Record>, HistoryError> {
    read(con, ok_key(prefix, channel)).await
}

/// The channel's recent failed attempts, newest first.
pub async fn failed(
    con: &MultiplexedConnection,
    prefix: &str,
    channel: &str,
) -> Result<Vec<Record>, HistoryError> {
    read(con, failed_key(prefix, channel)).await
}

/// A channel's deliveries and failed attempts as one list, newest first (pure); ties keep
/// the later attempt first.
pub fn newest_first(delivered: Vec<Record>, failed: Vec<Record>) -> Vec<Record> {
    let mut all = delivered;
    all.extend(failed);
    all.sort_by_key(|r| std::cmp::Reverse((r.time_ms, r.id, r.attempt)));
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_clipped_on_char_boundaries() {
        let long = "错".repeat(400);
        let c = clip_reason(&long);
        assert_eq!(c.chars().count(), REASON_MAX_CHARS + 1);
        assert!(c.ends_with('…'));
        assert_eq!(clip_reason("HTTP 500"), "HTTP 500");
    }

    #[test]
    fn merged_history_is_newest_first() {
        let r = |time_ms, attempt, result| Record {
            time_ms,
            id: 1,
            kind: "report".into(),
            key: "k".into(),
            attempt,
            result,
            status: None,
            code: None,
            latency_ms: 0,
            reason: None,
        };
        let all = newest_first(
            vec![r(30, 3, AttemptResult::Delivered)],
            vec![
                r(10, 1, AttemptResult::Retry),
                r(20, 2, AttemptResult::Retry),
            ],
        );
        let order: Vec<u32> = all.iter().map(|r| r.attempt).collect();
        assert_eq!(order, [3, 2, 1]);
    }

    #[test]
    fn records_round_trip_as_json() {
        let r = Record {
            time_ms: 1,
            id: 2,
            kind: "alert".into(),
            key: "alert:x".into(),
            attempt: 3,
            result: AttemptResult::Retry,
            status: Some(429),
            code: None,
            latency_ms: 12,
            reason: Some("HTTP 429".into()),
        };
        let s = serde_json::to_string(&r).unwrap();
        assert!(s.contains("\"result\":\"retry\""));
        assert_eq!(serde_json::from_str::<Record>(&s).unwrap(), r);
    }
}
