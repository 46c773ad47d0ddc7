//! CCH's breaker hashes, written as CCH writes them.

use super::*;

pub(crate) fn redis_con() -> redis::Connection {
    redis::Client::open(fresh_db().as_str())
        .unwrap()
        .get_connection()
        .unwrap()
}

#[test]
fn a_breaker_hash_round_trips_as_cch_writes_it() {
    let mut con = redis_con();
    write_breaker(
        &mut con,
        7,
        "open",
        5,
        Some(1_748_851_200_000),
        Some(1_748_849_400_123),
    )
    .unwrap();
    let hash: BTreeMap<String, String> = con.hgetall("circuit_breaker:state:7").unwrap();
    let expected: BTreeMap<String, String> = [
        ("failureCount", "5"),
        ("lastFailureTime", "1748849400123"),
        ("circuitState", "open"),
        ("circuitOpenUntil", "1748851200000"),
        ("halfOpenSuccessCount", "0"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(hash, expected);
    let ttl: i64 = con.ttl("circuit_breaker:state:7").unwrap();
    assert!((86_390..=86_400).contains(&ttl), "ttl {ttl}");
    write_breaker(&mut con, 7, "closed", 0, None, None).unwrap();
    let closed: BTreeMap<String, String> = con.hgetall(breaker_key(7)).unwrap();
    assert_eq!(closed["circuitOpenUntil"], "");
    assert_eq!(closed["lastFailureTime"], "");
    assert_eq!(closed["circuitState"], "closed");
    let half = BreakerState {
        circuit_state: "half-open".to_string(),
        failure_count: 5,
        last_failure_ms: Some(1),
        open_until_ms: Some(2),
        half_open_success_count: 1,
    };
    write_breaker_state(&mut con, 8, &half).unwrap();
    let h: BTreeMap<String, String> = con.hgetall("circuit_breaker:state:8").unwrap();
    assert_eq!(h["halfOpenSuccessCount"], "1");
    assert_eq!(h["circuitState"], "half-open");
    reset_breaker(&mut con, 7).unwrap();
    assert!(!con.exists::<_, bool>("circuit_breaker:state:7").unwrap());
}

#[test]
#[should_panic(expected = "CCH writes no breaker state \"OPEN\"")]
pub(crate) fn a_breaker_state_cch_never_writes_is_refused() {
    let mut con = redis_con();
    let _ = write_breaker(&mut con, 1, "OPEN", 1, None, None);
}
