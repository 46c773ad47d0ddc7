//! CCH's provider circuit-breaker state in Redis (`circuit_breaker:state:{providerId}`); rule: written exactly as CCH's state store writes it — a hash of five string fields, '' for null, HSET then a 24 h EXPIRE — and removed with DEL as CCH's reset does.

use redis::Connection;

/// CCH's TTL on a breaker hash (24 h).
pub const BREAKER_TTL_SECONDS: i64 = 86_400;

/// The states CCH writes.
pub const BREAKER_STATES: [&str; 3] = ["closed", "open", "half-open"];

/// `circuit_breaker:state:{provider_id}`.
pub fn breaker_key(provider_id: i32) -> String {
    format!("circuit_breaker:state:{provider_id}")
}

/// One breaker's state as CCH keeps it (times in epoch milliseconds).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BreakerState {
    /// `closed`, `open` or `half-open`.
    pub circuit_state: String,
    pub failure_count: u32,
    pub last_failure_ms: Option<i64>,
    pub open_until_ms: Option<i64>,
    pub half_open_success_count: u32,
}

impl BreakerState {
    /// The hash fields in CCH's order, values as CCH serializes them ('' for null).
    pub fn fields(&self) -> [(&'static str, String); 5] {
        let ms = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
        [
            ("failureCount", self.failure_count.to_string()),
            ("lastFailureTime", ms(self.last_failure_ms)),
            ("circuitState", self.circuit_state.clone()),
            ("circuitOpenUntil", ms(self.open_until_ms)),
            (
                "halfOpenSuccessCount",
                self.half_open_success_count.to_string(),
            ),
        ]
    }
}

/// Writes provider `provider_id`'s breaker hash: `state` (`closed`|`open`|`half-open`, else a
/// panic), `failure_count`, `circuitOpenUntil` and `lastFailureTime` in epoch ms ('' when
/// `None`), `halfOpenSuccessCount` 0; TTL 24 h.
pub fn write_breaker(
    con: &mut Connection,
    provider_id: i32,
    state: &str,
    failure_count: u32,
    open_until_ms: Option<i64>,
    last_failure_ms: Option<i64>,
) -> redis::RedisResult<()> {
    let state = BreakerState {
        circuit_state: state.to_string(),
        failure_count,
        last_failure_ms,
        open_until_ms,
        half_open_success_count: 0,
    };
    write_breaker_state(con, provider_id, &state)
}

/// Writes `state` as provider `provider_id`'s breaker hash (HSET of all five fields, then
/// EXPIRE 24 h, in one pipeline). Panics on a state CCH never writes.
pub fn write_breaker_state(
    con: &mut Connection,
    provider_id: i32,
    state: &BreakerState,
) -> redis::RedisResult<()> {
    assert!(
        BREAKER_STATES.contains(&state.circuit_state.as_str()),
        "CCH writes no breaker state {:?} (only closed, open, half-open)",
        state.circuit_state
    );
    let key = breaker_key(provider_id);
    let mut pipe = redis::pipe();
    let hset = pipe.cmd("HSET").arg(&key);
    for (field, value) in state.fields() {
        hset.arg(field).arg(value);
    }
    hset.ignore();
    pipe.cmd("EXPIRE")
        .arg(&key)
        .arg(BREAKER_TTL_SECONDS)
        .ignore();
    pipe.exec(con)
}

/// CCH's reset: deletes the hash (a provider without one is closed).
pub fn reset_breaker(con: &mut Connection, provider_id: i32) -> redis::RedisResult<()> {
    redis::cmd("DEL").arg(breaker_key(provider_id)).exec(con)
}
