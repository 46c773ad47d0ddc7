//! The breaker rule against a real redis-server: one breaker per provider shared by several
//! instances, and the watch over Claude Code Hub's breaker hashes; rule: every test owns a fresh
//! logical DB, instances are separate connections, time is an argument.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use redis::aio::MultiplexedConnection;
use relaywatch_core::config::rules::BreakerSettings;
use relaywatch_core::events::stream;
use relaywatch_core::model::LogEvent;
use relaywatch_core::render::message::AlertState;
use relaywatch_core::rules::{Alert, AlertPayload};
use relaywatch_core::source::cch::read_breakers;
use relaywatch_core::source::cch::watched::cch_states;
use relaywatch_core::source::raw::Warnings;
use relaywatch_core::source::redis_io;
use relaywatch_core::store::breaker::BreakerRule;
use tokio::sync::Barrier;

async fn con(url: &str) -> MultiplexedConnection {
    stream::connect(url, Duration::from_secs(5)).await.unwrap()
}

fn t(s: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0).unwrap() + chrono::Duration::seconds(s)
}

fn ev(s: i64, status: u16) -> LogEvent {
    LogEvent {
        ts: Some(t(s)),
        provider_id: Some("3".into()),
        status_code: Some(status),
        error_message: (status >= 500).then(|| format!("upstream {status} {}", "e".repeat(300))),
        ..Default::default()
    }
}

fn settings() -> BreakerSettings {
    BreakerSettings {
        failures: 5,
        open_seconds: 60,
        half_open_successes: 2,
        cooldown_seconds: 300,
        ..Default::default()
    }
}

async fn rule(url: &str, cfg: BreakerSettings) -> BreakerRule {
    BreakerRule::new(con(url).await, cfg, "rwtest:")
}

/// Three instances see one provider's events in turn: 5 failures across them open the breaker
/// once; after open_seconds it is half-open and 2 successes close it once.
#[tokio::test]
async fn open_half_open_closed_across_instances() {
    let url = relaywatch_testkit::fresh_db();
    let mut rules = Vec::new();
    for _ in 0..3 {
        rules.push(rule(&url, settings()).await);
    }
    // The script: second → status. A success at 2 resets the count; failures 3..7 open it at 7;
    // traffic while open is ignored; at 67 it is half-open: a failure re-opens (same episode);
    // at 128 half-open again, successes at 128 and 129 close it.
    let script: Vec<(i64, u16)> = vec![
        (0, 502),
        (1, 502),
        (2, 200),
        (3, 500),
        (4, 503),
        (5, 429),
        (6, 502),
        (7, 504),
        (20, 200),
        (30, 200),
        (67, 502),
        (100, 200),
        (128, 200),
        (129, 200),
        (130, 200),
    ];
    let barrier = Arc::new(Barrier::new(3));
    let script = Arc::new(script);
    let mut tasks = Vec::new();
    for (n, r) in rules.into_iter().enumerate() {
        let barrier = barrier.clone();
        let script = script.clone();
        tasks.push(tokio::spawn(async move {
            let mut got: Vec<Alert> = Vec::new();
            for (i, (s, status)) in script.iter().enumerate() {
                let mine: Vec<LogEvent> = if i % 3 == n {
                    vec![ev(*s, *status)]
                } else {
                    Vec::new()
                };
                got.extend(r.evaluate(&mine, t(*s)).await.unwrap());
                got.extend(r.tick(t(*s)).await.unwrap());
                barrier.wait().await;
            }
            got
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    assert_eq!(all.len(), 2, "{all:?}");
    let open = all.iter().find(|a| a.state == AlertState::Firing).unwrap();
    let closed = all
        .iter()
        .find(|a| a.state == AlertState::Resolved)
        .unwrap();
    assert_eq!(open.subject, "provider:3");
    assert_eq!(open.episode, closed.episode);
    assert_eq!(open.at, t(7));
    let AlertPayload::Breaker(b) = &open.payload else {
        panic!("payload")
    };
    assert_eq!(b.failures, 5);
    assert_eq!(
        b.expected_recovery.unwrap().timestamp(),
        t(67).timestamp(),
        "open_until = the opening failure + open_seconds"
    );
    assert!(b.last_error.as_ref().unwrap().chars().count() <= 201);
    assert_eq!(closed.at, t(129));
}

#[tokio::test]
async fn failures_within_a_window_open_it_too() {
    let url = relaywatch_testkit::fresh_db();
    let r = rule(
        &url,
        BreakerSettings {
            failures: 3,
            window_seconds: 10,
            ..settings()
        },
    )
    .await;
    // Failures interleaved with successes: never 3 in a row, but 3 within 10 s.
    let batch = [ev(0, 502), ev(1, 200), ev(2, 502), ev(3, 200), ev(4, 502)];
    let got = r.evaluate(&batch, t(4)).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].state, AlertState::Firing);
    // Spread wider than the window: no open.
    let other = |s, status| LogEvent {
        provider_id: Some("9".into()),
        ..ev(s, status)
    };
    let spread = [
        other(0, 502),
        other(1, 200),
        other(11, 502),
        other(12, 200),
        other(22, 502),
    ];
    assert!(r.evaluate(&spread, t(22)).await.unwrap().is_empty());
}

#[tokio::test]
async fn flapping_is_damped_to_one_open_message_per_cooldown() {
    let url = relaywatch_testkit::fresh_db();
    let cfg = BreakerSettings {
        failures: 2,
        open_seconds: 10,
        half_open_successes: 1,
        cooldown_seconds: 300,
        ..settings()
    };
    let r = rule(&url, cfg).await;
    let mut all = Vec::new();
    // Open at 1, closed at 11, open again at 13 (inside the cooldown: held back), closed at 23
    // (silently: its open was never reported), open again at 25 and still open at 301.
    for (s, status) in [
        (0, 502),
        (1, 502),
        (11, 200),
        (12, 502),
        (13, 502),
        (23, 200),
        (24, 502),
        (25, 502),
    ] {
        all.extend(r.evaluate(&[ev(s, status)], t(s)).await.unwrap());
    }
    all.extend(r.tick(t(200)).await.unwrap());
    let states: Vec<(AlertState, String)> =
        all.iter().map(|a| (a.state, a.episode.clone())).collect();
    assert_eq!(
        states,
        vec![
            (AlertState::Firing, "1".to_string()),
            (AlertState::Resolved, "1".to_string())
        ]
    );
    // The cooldown of the 00:01 report ends at 05:01: the held open is reported then.
    let later = r.tick(t(301)).await.unwrap();
    assert_eq!(later.len(), 1, "{later:?}");
    assert_eq!(later[0].state, AlertState::Firing);
    assert_eq!(later[0].episode, "2");
    assert!(r.tick(t(302)).await.unwrap().is_empty());
}

#[tokio::test]
async fn cch_breaker_hashes_are_watched_once_across_instances() {
    let url = relaywatch_testkit::fresh_db();
    let mut w = con(&url).await;
    let open_until = t(1800).timestamp_millis();
    let _: () = redis::cmd("HSET")
        .arg("circuit_breaker:state:7")
        .arg("failureCount")
        .arg(5)
        .arg("lastFailureTime")
        .arg(t(0).timestamp_millis())
        .arg("circuitState")
        .arg("open")
        .arg("circuitOpenUntil")
        .arg(open_until)
        .arg("halfOpenSuccessCount")
        .arg(0)
        .query_async(&mut w)
        .await
        .unwrap();
    let _: () = redis::cmd("HSET")
        .arg("circuit_breaker:state:8")
        .arg("circuitState")
        .arg("closed")
        .arg("failureCount")
        .arg(0)
        .query_async(&mut w)
        .await
        .unwrap();
    let mut reader = redis_io::connect(&url, Duration::from_secs(5))
        .await
        .unwrap();
    let mut warnings = Warnings::default();
    let breakers = read_breakers(&mut reader, &mut warnings).await.unwrap();
    assert_eq!(breakers.len(), 2);
    let states = cch_states(&breakers);
    assert_eq!(states.len(), 1);
    let a = rule(&url, settings()).await;
    let b = rule(&url, settings()).await;
    let (ra, rb) = tokio::join!(a.watch("cch", &states, t(1)), b.watch("cch", &states, t(1)));
    let opened: Vec<Alert> = ra.unwrap().into_iter().chain(rb.unwrap()).collect();
    assert_eq!(opened.len(), 1, "{opened:?}");
    assert_eq!(opened[0].subject, "cch:provider:7");
    let AlertPayload::Breaker(p) = &opened[0].payload else {
        panic!("payload")
    };
    assert_eq!(p.failures, 5);
    assert_eq!(p.expected_recovery.unwrap().timestamp_millis(), open_until);
    assert!(a.watch("cch", &states, t(2)).await.unwrap().is_empty());
    // CCH closes it: one recovery.
    let _: () = redis::cmd("HSET")
        .arg("circuit_breaker:state:7")
        .arg("circuitState")
        .arg("closed")
        .query_async(&mut w)
        .await
        .unwrap();
    let now_states = cch_states(&read_breakers(&mut reader, &mut warnings).await.unwrap());
    assert!(now_states.is_empty());
    let (ra, rb) = tokio::join!(
        a.watch("cch", &now_states, t(60)),
        b.watch("cch", &now_states, t(60))
    );
    let closed: Vec<Alert> = ra.unwrap().into_iter().chain(rb.unwrap()).collect();
    assert_eq!(closed.len(), 1);
    assert_eq!(closed[0].state, AlertState::Resolved);
    assert_eq!(closed[0].episode, opened[0].episode);
}
