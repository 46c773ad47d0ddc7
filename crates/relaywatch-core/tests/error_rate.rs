//! The error-rate rule's shared window and alert state against a real redis-server; rule: every
//! test owns a fresh logical DB, concurrent evaluators are tasks with their own connections, and
//! time is an argument (no test waits on the clock).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use redis::aio::MultiplexedConnection;
use relaywatch_core::config::rules::{Dimension, ErrorRateSettings};
use relaywatch_core::events::stream;
use relaywatch_core::model::LogEvent;
use relaywatch_core::render::message::AlertState;
use relaywatch_core::rules::{Alert, AlertPayload};
use relaywatch_core::store::error_rate::ErrorRateRule;
use tokio::sync::Barrier;

async fn con(url: &str) -> MultiplexedConnection {
    stream::connect(url, Duration::from_secs(5)).await.unwrap()
}

fn t(h: u32, m: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, h, m, s).unwrap()
}

fn err(ts: DateTime<Utc>, provider: &str, key: &str) -> LogEvent {
    LogEvent {
        ts: Some(ts),
        provider_id: Some(provider.into()),
        provider_name: Some(format!("upstream-{provider}")),
        key_id: Some(key.into()),
        model: Some("claude-sonnet-4".into()),
        status_code: Some(502),
        error_message: Some(format!("upstream connect error {}", "x".repeat(300))),
        ..Default::default()
    }
}

fn ok(ts: DateTime<Utc>) -> LogEvent {
    LogEvent {
        ts: Some(ts),
        provider_id: Some("3".into()),
        status_code: Some(200),
        ..Default::default()
    }
}

fn global() -> ErrorRateSettings {
    ErrorRateSettings {
        dimensions: vec![Dimension::Global],
        ..Default::default()
    }
}

async fn rule(url: &str, cfg: ErrorRateSettings) -> ErrorRateRule {
    ErrorRateRule::new(con(url).await, cfg, "rwtest:")
}

#[tokio::test]
async fn a_burst_across_a_minute_boundary_fires_with_counts_offenders_and_a_sample() {
    let url = relaywatch_testkit::fresh_db();
    let r = rule(
        &url,
        ErrorRateSettings {
            dimensions: vec![Dimension::Global, Dimension::Provider],
            ..Default::default()
        },
    )
    .await;
    let first: Vec<LogEvent> = (0..6)
        .map(|i| err(t(10, 0, 55), "3", &format!("k{}", i % 2)))
        .collect();
    let e1 = r.evaluate(&first, t(10, 0, 55)).await.unwrap();
    assert!(e1.alerts.is_empty(), "{:?}", e1.alerts);
    let mut second: Vec<LogEvent> = (0..5).map(|_| err(t(10, 1, 5), "3", "k0")).collect();
    second.push(err(t(10, 1, 5), "4", "k9"));
    second.push(ok(t(10, 1, 5)));
    let e2 = r.evaluate(&second, t(10, 1, 5)).await.unwrap();
    assert_eq!(e2.alerts.len(), 2, "global and provider:3: {:?}", e2.alerts);
    let by_subject = |s: &str| e2.alerts.iter().find(|a| a.subject == s).unwrap().clone();
    let g = by_subject("global");
    assert_eq!(g.state, AlertState::Firing);
    assert_eq!(g.episode, "1");
    let AlertPayload::ErrorRate(p) = &g.payload else {
        panic!("payload")
    };
    assert_eq!((p.errors, p.requests, p.threshold), (12, 13, 10));
    let providers = &p.offenders.iter().find(|(d, _)| d == "provider").unwrap().1;
    assert_eq!(providers[0], ("upstream-3".to_string(), 11));
    let keys = &p.offenders.iter().find(|(d, _)| d == "key").unwrap().1;
    assert_eq!(keys[0], ("k0".to_string(), 8));
    let status = &p.offenders.iter().find(|(d, _)| d == "status").unwrap().1;
    assert_eq!(status[0], ("502".to_string(), 12));
    let sample = p.sample.as_ref().unwrap();
    assert_eq!(sample.status_code, Some(502));
    assert!(sample.error.as_ref().unwrap().chars().count() <= 201);
    let p3 = by_subject("provider:3");
    let AlertPayload::ErrorRate(p3) = &p3.payload else {
        panic!("payload")
    };
    assert_eq!(p3.errors, 11);
    assert!(p3.offenders.iter().all(|(d, _)| d != "provider"));
    // The window slides: at 10:01:55 the 10:00:55 errors have left it.
    assert_eq!(r.window("global", t(10, 1, 54)).await.unwrap().errors, 12);
    assert_eq!(r.window("global", t(10, 1, 55)).await.unwrap().errors, 6);
}

/// Three evaluators (separate connections) share one burst and the ticks after it.
#[tokio::test]
async fn concurrent_evaluators_emit_one_firing_and_one_resolved() {
    let url = relaywatch_testkit::fresh_db();
    let mut rules = Vec::new();
    for _ in 0..3 {
        rules.push(rule(&url, global()).await);
    }
    // 30 errors at 10:00:00..10:00:29, split over the three, evaluated concurrently at each
    // second; then everyone ticks every 5 s until 10:03:00. A barrier keeps the three at the
    // same moment, as instances sharing one clock are.
    let barrier = Arc::new(Barrier::new(3));
    let mut tasks = Vec::new();
    for (n, r) in rules.into_iter().enumerate() {
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            let mut got: Vec<Alert> = Vec::new();
            for s in 0..30u32 {
                // Each second one error, from a different evaluator each time.
                let mine: Vec<LogEvent> = if s as usize % 3 == n {
                    vec![err(t(10, 0, s), &format!("{}", s % 2), "k")]
                } else {
                    Vec::new()
                };
                let e = r.evaluate(&mine, t(10, 0, s)).await.unwrap();
                got.extend(e.alerts);
                barrier.wait().await;
            }
            for s in (30..=180).step_by(5) {
                let now = t(10, 0, 0) + chrono::Duration::seconds(s);
                got.extend(r.tick(now).await.unwrap());
                barrier.wait().await;
            }
            got
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    let firing: Vec<&Alert> = all
        .iter()
        .filter(|a| a.state == AlertState::Firing)
        .collect();
    let resolved: Vec<&Alert> = all
        .iter()
        .filter(|a| a.state == AlertState::Resolved)
        .collect();
    assert_eq!(firing.len(), 1, "{all:?}");
    assert_eq!(resolved.len(), 1, "{all:?}");
    assert_eq!(firing[0].episode, resolved[0].episode);
    assert_eq!(
        firing[0].idempotency_key("ops"),
        "alert:error_rate:global:firing:1:ops"
    );
    // The tenth error (10:00:09) fires. The count falls under 10 when the error of 10:00:20
    // leaves the window (10:01:20, a tick); resolved a full window later.
    assert_eq!(firing[0].at, t(10, 0, 9));
    assert_eq!(resolved[0].at, t(10, 2, 20));
    assert_eq!(resolved[0].first_seen, firing[0].at);
}

#[tokio::test]
async fn cooldown_and_episode_survive_a_restart() {
    let url = relaywatch_testkit::fresh_db();
    let cfg = ErrorRateSettings {
        window_seconds: 10,
        cooldown_seconds: 120,
        ..global()
    };
    let burst = |at| (0..10).map(|_| err(at, "3", "k")).collect::<Vec<_>>();
    {
        let r = rule(&url, cfg.clone()).await;
        assert_eq!(
            r.evaluate(&burst(t(10, 0, 0)), t(10, 0, 0))
                .await
                .unwrap()
                .alerts
                .len(),
            1
        );
        assert!(
            r.tick(t(10, 0, 10)).await.unwrap().is_empty(),
            "below: clock starts"
        );
        let res = r.tick(t(10, 0, 20)).await.unwrap();
        assert_eq!(res.len(), 1);
        assert_eq!(res[0].state, AlertState::Resolved);
    }
    // A new process: the burst at 10:01 is inside the 120 s cooldown of the 10:00 firing.
    let r = rule(&url, cfg).await;
    assert!(r
        .evaluate(&burst(t(10, 1, 0)), t(10, 1, 0))
        .await
        .unwrap()
        .alerts
        .is_empty());
    let again = r.evaluate(&burst(t(10, 2, 0)), t(10, 2, 0)).await.unwrap();
    assert_eq!(again.alerts.len(), 1);
    assert_eq!(again.alerts[0].episode, "2");
}

#[tokio::test]
async fn ratio_fires_only_with_enough_requests_and_late_events_are_not_counted() {
    let url = relaywatch_testkit::fresh_db();
    let r = rule(
        &url,
        ErrorRateSettings {
            threshold: 0,
            ratio: Some(0.5),
            min_requests: 10,
            ..global()
        },
    )
    .await;
    let now = t(12, 0, 0);
    let few: Vec<LogEvent> = (0..4).map(|_| err(now, "3", "k")).collect();
    assert!(r.evaluate(&few, now).await.unwrap().alerts.is_empty());
    let old: Vec<LogEvent> = (0..20).map(|_| err(t(11, 0, 0), "3", "k")).collect();
    let e = r.evaluate(&old, now).await.unwrap();
    assert_eq!(e.late, 20);
    assert!(e.alerts.is_empty());
    let mut more: Vec<LogEvent> = (0..4).map(|_| ok(now)).collect();
    more.extend((0..2).map(|_| err(now, "3", "k")));
    let e = r.evaluate(&more, now).await.unwrap();
    assert_eq!(e.alerts.len(), 1, "6 errors of 10 requests");
}
