//! `rules replay error-rate` over EZ-API's `log_records` in a real PostgreSQL: with the seed's
//! settings it fires at exactly the records EZ-API's sliding rule fires at (a brute-force
//! reference written from the rule's definition, not from our code), on two hours of traffic
//! with bursts over, just under, message-only, soft-deleted, straddling a minute edge, exactly
//! 60 000 ms and 60 001 ms wide, and inside a cooldown; the breaker replay and the stream replay
//! run too, and nothing is written to the table.

use chrono::{DateTime, Duration, TimeZone, Utc};
use relaywatch_core::config::channels::SecretRef;
use relaywatch_core::config::rules::{Dimension, EventSourceKind};
use relaywatch_core::config::Settings;
use relaywatch_core::secret_store::SecretStore;
use relaywatch_core::service::replay::replay;
use relaywatch_testkit::ezapi::{create_log_records, insert_log_records, LogRecordRow};
use relaywatch_testkit::pg::{connect, PgServer};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 4, 20, 0, 0).unwrap()
}

/// A small deterministic generator (no crate needed for test data).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

fn ms(at: i64) -> DateTime<Utc> {
    t0() + Duration::milliseconds(at)
}

fn burst(
    rows: &mut Vec<LogRecordRow>,
    start_ms: i64,
    n: i64,
    span_ms: i64,
    f: impl Fn(DateTime<Utc>) -> LogRecordRow,
) {
    for i in 0..n {
        let at = start_ms + if n > 1 { i * span_ms / (n - 1) } else { 0 };
        rows.push(f(ms(at)));
    }
}

/// Two hours: ~2.6 requests/s of background with 1 % scattered errors, and the bursts.
fn dataset() -> Vec<LogRecordRow> {
    let mut g = Lcg(42);
    let mut rows = Vec::new();
    let mut at = 0i64;
    while at < 7_200_000 {
        at += 1 + (g.next() % 760) as i64;
        let row = if g.next().is_multiple_of(100) {
            LogRecordRow::error(ms(at), 502, "upstream reset")
        } else {
            LogRecordRow::ok(ms(at))
        };
        rows.push(row);
    }
    let e502 = |t| LogRecordRow::error(t, 502, "bad gateway");
    // Over: 12 errors in 30 s (fires at the 10th).
    burst(&mut rows, 600_000, 12, 30_000, e502);
    // Inside its cooldown: 15 more two minutes later (no fire).
    burst(&mut rows, 720_000, 15, 20_000, e502);
    // Just under: 9 errors in 50 s.
    burst(&mut rows, 1_500_000, 9, 50_000, e502);
    // Message only: status 200 with an error message.
    burst(&mut rows, 2_100_000, 10, 5_000, |t| {
        LogRecordRow::error(t, 200, "stream cut")
    });
    // Soft-deleted: never events.
    burst(&mut rows, 2_700_000, 15, 5_000, |t| LogRecordRow {
        deleted_at: Some(t + Duration::hours(3)),
        ..LogRecordRow::error(t, 503, "overloaded")
    });
    // Not errors: 4xx without a message, a whitespace-only message.
    burst(&mut rows, 3_000_000, 20, 5_000, |t| {
        LogRecordRow::error(t, 429, "")
    });
    burst(&mut rows, 3_100_000, 20, 5_000, |t| {
        LogRecordRow::error(t, 200, "   ")
    });
    // Straddling a minute edge: 9 just before, 9 just after.
    burst(&mut rows, 3_659_100, 9, 800, e502);
    burst(&mut rows, 3_660_100, 9, 800, e502);
    // Exactly 60 000 ms wide (fires) and 60 001 ms wide (does not).
    burst(&mut rows, 4_500_000, 10, 60_000, e502);
    burst(&mut rows, 5_400_000, 10, 60_001, e502);
    // Exactly the cooldown after a firing, then again (both fire).
    burst(&mut rows, 6_000_000, 10, 900, e502);
    burst(&mut rows, 6_300_000, 10, 900, e502);
    rows.sort_by_key(|r| r.created_at);
    rows
}

fn is_error(r: &LogRecordRow) -> bool {
    r.status_code >= 500 || !r.error_message.trim().is_empty()
}

/// The seed's rule, from its definition: at each error at t (in order), count the errors in
/// [t − 60 s, t] seen so far; fire when the count reaches 10 and the last firing is ≥ 300 s old.
fn reference(rows: &[LogRecordRow]) -> Vec<DateTime<Utc>> {
    let live: Vec<&LogRecordRow> = rows.iter().filter(|r| r.deleted_at.is_none()).collect();
    let mut fired: Vec<DateTime<Utc>> = Vec::new();
    for (i, r) in live.iter().enumerate() {
        if !is_error(r) {
            continue;
        }
        let t = r.created_at;
        let count = live[..=i]
            .iter()
            .filter(|x| is_error(x) && x.created_at >= t - Duration::seconds(60))
            .count();
        let cool = fired
            .last()
            .is_none_or(|l| t - *l >= Duration::seconds(300));
        if count >= 10 && cool {
            fired.push(t);
        }
    }
    fired
}

fn settings(url: &str) -> Settings {
    let mut s = Settings::default();
    s.events.source = EventSourceKind::Ezapi;
    s.events.database_url = Some(SecretRef::Plain(url.to_string()));
    let er = &mut s.rules.error_rate;
    er.threshold = 10;
    er.window_seconds = 60;
    er.cooldown_seconds = 300;
    er.status_code_threshold = 500;
    er.min_requests = 1;
    er.ratio = None;
    er.dimensions = vec![Dimension::Global];
    s
}

#[tokio::test]
async fn replay_fires_exactly_where_the_seed_rule_fires() {
    let url = PgServer::shared().fresh_database().await;
    let client = connect(&url).await;
    create_log_records(&client, "log_records").await.unwrap();
    let rows = dataset();
    assert!(rows.len() > 9_000, "{} rows", rows.len());
    insert_log_records(&client, "log_records", &rows)
        .await
        .unwrap();
    let expected = reference(&rows);
    // The bursts above: over, message-only, straddle, exactly 60 s, both cooldown bursts.
    assert!(expected.len() >= 6, "{expected:?}");

    let s = settings(&url);
    let report = replay(
        &s,
        &SecretStore::default(),
        "error-rate",
        t0(),
        t0() + Duration::hours(2),
    )
    .await
    .unwrap();
    let fired: Vec<DateTime<Utc>> = report
        .events
        .iter()
        .filter(|e| e.state == "firing")
        .map(|e| e.at)
        .collect();
    assert_eq!(fired, expected);
    assert_eq!(report.summary.firing, expected.len() as u64);
    let end = t0() + Duration::hours(2);
    let in_span = rows
        .iter()
        .filter(|r| r.deleted_at.is_none() && r.created_at < end)
        .count();
    assert_eq!(report.records, in_span as u64);
    assert!(report.events.iter().all(|e| e.subject == "global"));
    for e in report.events.iter().filter(|e| e.state == "firing") {
        assert!(e.count >= 10 && e.total >= e.count, "{e:?}");
    }
    // Every firing resolves a full window after its condition ended (all before the end).
    assert_eq!(report.summary.resolved, report.summary.firing);

    // Nothing was written to the relay's table.
    let n: i64 = client
        .query_one("SELECT count(*) FROM log_records", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n as usize, rows.len());
}

#[tokio::test]
async fn a_span_starting_mid_burst_counts_the_minute_before_it() {
    let url = PgServer::shared().fresh_database().await;
    let client = connect(&url).await;
    create_log_records(&client, "log_records").await.unwrap();
    let mut rows = Vec::new();
    burst(&mut rows, 0, 12, 11_000, |t| {
        LogRecordRow::error(t, 502, "x")
    });
    insert_log_records(&client, "log_records", &rows)
        .await
        .unwrap();
    // The span starts after the 6th error: the window still holds the first six, so the 10th
    // error fires inside the span, as it did live.
    let from = t0() + Duration::milliseconds(5 * 1_000 + 1);
    let report = replay(
        &settings(&url),
        &SecretStore::default(),
        "error-rate",
        from,
        t0() + Duration::minutes(10),
    )
    .await
    .unwrap();
    let firing: Vec<_> = report
        .events
        .iter()
        .filter(|e| e.state == "firing")
        .collect();
    assert_eq!(firing.len(), 1, "{report:?}");
    assert_eq!(firing[0].at, rows[9].created_at);
}

#[tokio::test]
async fn breaker_replay_opens_and_closes_on_the_events_clock() {
    let url = PgServer::shared().fresh_database().await;
    let client = connect(&url).await;
    create_log_records(&client, "log_records").await.unwrap();
    let mut rows = Vec::new();
    burst(&mut rows, 0, 5, 4_000, |t| LogRecordRow {
        provider_id: 7,
        ..LogRecordRow::error(t, 502, "x")
    });
    burst(&mut rows, 200_000, 3, 2_000, |t| LogRecordRow {
        provider_id: 7,
        ..LogRecordRow::ok(t)
    });
    insert_log_records(&client, "log_records", &rows)
        .await
        .unwrap();
    let mut s = settings(&url);
    s.rules.breaker.failures = 5;
    s.rules.breaker.window_seconds = 0;
    s.rules.breaker.open_seconds = 60;
    s.rules.breaker.half_open_successes = 2;
    let report = replay(
        &s,
        &SecretStore::default(),
        "breaker",
        t0(),
        t0() + Duration::minutes(10),
    )
    .await
    .unwrap();
    let states: Vec<(&str, i64)> = report
        .events
        .iter()
        .map(|e| (e.state, (e.at - t0()).num_milliseconds()))
        .collect();
    assert_eq!(states, vec![("firing", 4_000), ("resolved", 201_000)]);
    assert!(report.events.iter().all(|e| e.subject == "provider:7"));
}

#[tokio::test]
async fn a_bad_span_or_rule_is_refused_by_name() {
    let s = settings("postgres://nobody@127.0.0.1:1/none");
    let e = replay(
        &s,
        &SecretStore::default(),
        "quota",
        t0(),
        t0() + Duration::hours(1),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(e.contains("rule") && e.contains("error-rate"), "{e}");
    let e = replay(&s, &SecretStore::default(), "error-rate", t0(), t0())
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("from"), "{e}");
}
