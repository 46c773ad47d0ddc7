//! Claude Code Hub's circuit-breaker hashes (`circuit_breaker:state:{providerId}` and
//! `endpoint_circuit_breaker:state:{endpointId}`; fields `failureCount`, `lastFailureTime` ms,
//! `circuitState` closed|open|half-open, `circuitOpenUntil` ms, `halfOpenSuccessCount`); rule:
//! read-only, found by SCAN and read in one pipeline, a hash with an unknown state skipped and
//! counted, never guessed.

pub mod closed;
pub mod days;
pub mod db;
pub mod exact;
pub mod figures;
pub mod leaderboard;
pub mod ledger;
pub mod limits;
pub mod quota;
pub mod relay;
pub mod snapshot;
pub mod watched;
pub mod windows;

use chrono::{DateTime, TimeZone, Utc};
use redis::Cmd;

use super::raw::Warnings;
use super::redis_io::{self, Conn};
use crate::error::Result;

/// Which of CCH's breakers a hash is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CchScope {
    /// `circuit_breaker:state:{providerId}`.
    Provider,
    /// `endpoint_circuit_breaker:state:{endpointId}` (only with ENABLE_ENDPOINT_CIRCUIT_BREAKER).
    Endpoint,
}

impl CchScope {
    pub const ALL: [CchScope; 2] = [CchScope::Provider, CchScope::Endpoint];

    pub fn key_prefix(self) -> &'static str {
        match self {
            CchScope::Provider => "circuit_breaker:state:",
            CchScope::Endpoint => "endpoint_circuit_breaker:state:",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CchScope::Provider => "provider",
            CchScope::Endpoint => "endpoint",
        }
    }
}

/// `circuitState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CchState {
    Closed,
    Open,
    HalfOpen,
}

/// One CCH breaker as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CchBreaker {
    pub scope: CchScope,
    pub id: String,
    pub state: CchState,
    pub failure_count: u64,
    pub last_failure: Option<DateTime<Utc>>,
    pub open_until: Option<DateTime<Utc>>,
    pub half_open_successes: u64,
}

/// The hash fields read, in order.
pub const FIELDS: [&str; 5] = [
    "circuitState",
    "failureCount",
    "lastFailureTime",
    "circuitOpenUntil",
    "halfOpenSuccessCount",
];

fn ms(v: Option<&str>) -> Option<DateTime<Utc>> {
    let n: i64 = v?.trim().parse().ok()?;
    (n > 0).then(|| Utc.timestamp_millis_opt(n).single())?
}

/// A breaker from its HMGET values (in [`FIELDS`] order); `None` when the state is missing or
/// unknown.
pub fn parse_breaker(scope: CchScope, id: &str, values: &[Option<String>]) -> Option<CchBreaker> {
    let get = |i: usize| values.get(i).and_then(|v| v.as_deref());
    let state = match get(0)?.trim() {
        "closed" => CchState::Closed,
        "open" => CchState::Open,
        "half-open" | "half_open" => CchState::HalfOpen,
        _ => return None,
    };
    let count = |i| get(i).and_then(|v| v.trim().parse().ok()).unwrap_or(0);
    Some(CchBreaker {
        scope,
        id: id.to_string(),
        state,
        failure_count: count(1),
        last_failure: ms(get(2)),
        open_until: ms(get(3)),
        half_open_successes: count(4),
    })
}

/// Every CCH breaker hash in the Redis: SCAN per scope, one pipelined HMGET each.
pub async fn read_breakers(conn: &mut Conn, w: &mut Warnings) -> Result<Vec<CchBreaker>> {
    let mut listed: Vec<(CchScope, String)> = Vec::new();
    for scope in CchScope::ALL {
        for key in conn.scan(&format!("{}*", scope.key_prefix())).await? {
            if let Some(id) = key.strip_prefix(scope.key_prefix()) {
                if !id.is_empty() {
                    listed.push((scope, id.to_string()));
                }
            }
        }
    }
    let cmds: Vec<Cmd> = listed
        .iter()
        .map(|(s, id)| {
            let mut c = redis::cmd("HMGET");
            c.arg(format!("{}{id}", s.key_prefix()));
            for f in FIELDS {
                c.arg(f);
            }
            c
        })
        .collect();
    let replies = conn.batch(cmds).await?;
    let mut out = Vec::with_capacity(listed.len());
    for ((scope, id), v) in listed.into_iter().zip(replies) {
        let key = format!("{}{id}", scope.key_prefix());
        if redis_io::is_error(&v) {
            w.add("CCH breaker key(s) of the wrong type", || key.clone());
            continue;
        }
        let values = redis_io::optionals(&v);
        if values.iter().all(Option::is_none) {
            continue;
        }
        match parse_breaker(scope, &id, &values) {
            Some(b) => out.push(b),
            None => w.add("CCH breaker hash(es) with an unknown circuitState", || key),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vals(v: &[&str]) -> Vec<Option<String>> {
        v.iter()
            .map(|s| (!s.is_empty()).then(|| s.to_string()))
            .collect()
    }

    #[test]
    fn parses_cch_fields() {
        let b = parse_breaker(
            CchScope::Provider,
            "7",
            &vals(&["open", "5", "1732252800000", "1732254600000", "0"]),
        )
        .unwrap();
        assert_eq!(b.state, CchState::Open);
        assert_eq!(b.failure_count, 5);
        assert_eq!(b.open_until.unwrap().timestamp_millis(), 1_732_254_600_000);
        let h = parse_breaker(
            CchScope::Endpoint,
            "2",
            &vals(&["half-open", "", "", "", "1"]),
        )
        .unwrap();
        assert_eq!(h.state, CchState::HalfOpen);
        assert_eq!(h.half_open_successes, 1);
        assert_eq!(h.open_until, None);
        assert!(parse_breaker(CchScope::Provider, "1", &vals(&["weird"])).is_none());
        assert!(parse_breaker(CchScope::Provider, "1", &vals(&[""])).is_none());
    }
}
