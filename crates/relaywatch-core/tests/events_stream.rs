//! The events stream consumer against a real redis-server; rule: every test owns a fresh
//! logical DB, consumers are real XREADGROUP/XAUTOCLAIM clients, nothing is mocked.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use redis::aio::MultiplexedConnection;
use relaywatch_core::events::stream::{self, StreamConfig, StreamConsumer};
use relaywatch_core::events::{push, push_as, BadKind, Encoding};
use relaywatch_core::model::LogEvent;

async fn con(url: &str) -> MultiplexedConnection {
    stream::connect(url, Duration::from_secs(5)).await.unwrap()
}

fn cfg(consumer: &str, claim_idle_ms: u64) -> StreamConfig {
    StreamConfig {
        stream: "relaywatch:events".into(),
        group: "relaywatch".into(),
        consumer: consumer.into(),
        count: 100,
        claim_idle: Duration::from_millis(claim_idle_ms),
    }
}

fn event(i: u64) -> LogEvent {
    LogEvent {
        ts: Utc
            .timestamp_millis_opt(1_800_000_000_000 + i as i64)
            .single(),
        provider_id: Some(format!("{}", i % 3)),
        model: Some("claude-sonnet-4".into()),
        status_code: Some(if i.is_multiple_of(5) { 502 } else { 200 }),
        latency_ms: Some(100 + i),
        ..Default::default()
    }
}

async fn consumer(url: &str, c: StreamConfig) -> StreamConsumer {
    let s = StreamConsumer::new(con(url).await, c);
    s.ensure_group().await.unwrap();
    s
}

#[tokio::test]
async fn pushed_events_come_back_whole_and_acked_leave_nothing_pending() {
    let url = relaywatch_testkit::fresh_db();
    let mut c = consumer(&url, cfg("a", 30_000)).await;
    // A second ensure_group is a no-op (BUSYGROUP ignored).
    c.ensure_group().await.unwrap();
    let events: Vec<LogEvent> = (0..250).map(event).collect();
    let ids = push(&mut con(&url).await, "relaywatch:events", &events, None)
        .await
        .unwrap();
    assert_eq!(ids.len(), 250);
    let mut got = Vec::new();
    loop {
        let b = c.next_batch(Duration::from_millis(50)).await.unwrap();
        if b.is_empty() {
            break;
        }
        assert!(b.events.len() <= 100, "COUNT bounds a batch");
        c.ack(&b.ids()).await.unwrap();
        got.extend(b.events);
    }
    let got_events: Vec<LogEvent> = got.iter().map(|(_, e)| e.clone()).collect();
    assert_eq!(got_events, events);
    assert_eq!(c.pending().await.unwrap(), 0);
}

#[tokio::test]
async fn missing_ts_is_taken_from_the_stream_id() {
    let url = relaywatch_testkit::fresh_db();
    let mut c = consumer(&url, cfg("a", 30_000)).await;
    let mut w = con(&url).await;
    let id: String = redis::cmd("XADD")
        .arg("relaywatch:events")
        .arg("1800000000123-0")
        .arg("status_code")
        .arg("503")
        .query_async(&mut w)
        .await
        .unwrap();
    let b = c.next_batch(Duration::ZERO).await.unwrap();
    assert_eq!(b.events.len(), 1);
    assert_eq!(b.events[0].0, id);
    assert_eq!(
        b.events[0].1.ts.unwrap().timestamp_millis(),
        1_800_000_000_123
    );
}

#[tokio::test]
async fn a_dead_consumers_pending_entries_are_reclaimed_by_another() {
    let url = relaywatch_testkit::fresh_db();
    let events: Vec<LogEvent> = (0..40).map(event).collect();
    push(&mut con(&url).await, "relaywatch:events", &events, None)
        .await
        .unwrap();
    // Consumer A reads a batch and dies before acking it.
    let taken: BTreeSet<String> = {
        let mut a = consumer(&url, cfg("host-a-1", 200)).await;
        let b = a.next_batch(Duration::ZERO).await.unwrap();
        assert_eq!(b.events.len(), 40);
        b.events.into_iter().map(|(id, _)| id).collect()
    };
    assert_eq!(taken.len(), 40);
    let mut b = consumer(&url, cfg("host-b-2", 200)).await;
    assert_eq!(b.pending().await.unwrap(), 40);
    // Let the entries sit idle longer than claim_idle; B's next read takes them over.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let batch = b.next_batch(Duration::ZERO).await.unwrap();
    assert_eq!(batch.reclaimed, 40);
    let reclaimed: BTreeSet<String> = batch.events.iter().map(|(id, _)| id.clone()).collect();
    assert_eq!(reclaimed, taken, "the same entries, none lost");
    b.ack(&batch.ids()).await.unwrap();
    assert_eq!(b.pending().await.unwrap(), 0);
    // Nothing new and nothing pending: an empty batch.
    assert!(b.next_batch(Duration::ZERO).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_restarted_consumer_first_rereads_what_it_held() {
    let url = relaywatch_testkit::fresh_db();
    push(
        &mut con(&url).await,
        "relaywatch:events",
        &(0..10).map(event).collect::<Vec<_>>(),
        None,
    )
    .await
    .unwrap();
    {
        let mut a = consumer(&url, cfg("same-name", 30_000)).await;
        assert_eq!(a.next_batch(Duration::ZERO).await.unwrap().events.len(), 10);
    }
    let mut again = consumer(&url, cfg("same-name", 30_000)).await;
    let b = again.next_batch(Duration::ZERO).await.unwrap();
    assert_eq!(b.events.len(), 10, "its own pending list comes first");
    assert_eq!(b.reclaimed, 0);
    again.ack(&b.ids()).await.unwrap();
    assert!(again.next_batch(Duration::ZERO).await.unwrap().is_empty());
}

#[tokio::test]
async fn unreadable_entries_are_acked_and_counted_per_kind() {
    let url = relaywatch_testkit::fresh_db();
    let mut c = consumer(&url, cfg("a", 30_000)).await;
    let mut w = con(&url).await;
    let raw: [&[(&str, &str)]; 6] = [
        &[("status_code", "abc")],
        &[("status_code", "9999")],
        &[("ts", "soon")],
        &[("json", "{not json")],
        &[("latency_ms", "-1")],
        &[("status_code", "500"), ("provider_id", "3")],
    ];
    for fields in raw {
        let mut cmd = redis::cmd("XADD");
        cmd.arg("relaywatch:events").arg("*");
        for (k, v) in fields {
            cmd.arg(*k).arg(*v);
        }
        let _: String = cmd.query_async(&mut w).await.unwrap();
    }
    let b = c.next_batch(Duration::ZERO).await.unwrap();
    assert_eq!(b.events.len(), 1);
    assert_eq!(b.bad.get(&BadKind::BadStatusCode), Some(&2));
    assert_eq!(b.bad.get(&BadKind::BadTs), Some(&1));
    assert_eq!(b.bad.get(&BadKind::NotJson), Some(&1));
    assert_eq!(b.bad.get(&BadKind::BadNumber), Some(&1));
    // The bad ones are acked already; only the good one waits for the caller.
    assert_eq!(c.pending().await.unwrap(), 1);
    c.ack(&b.ids()).await.unwrap();
    assert_eq!(c.pending().await.unwrap(), 0);
    assert_eq!(c.bad_counts().values().sum::<u64>(), 5);
    // Never retried: a new consumer reclaiming everything finds nothing.
    let mut other = consumer(&url, cfg("b", 0)).await;
    assert!(other.next_batch(Duration::ZERO).await.unwrap().is_empty());
}

#[tokio::test]
async fn push_trims_with_maxlen() {
    let url = relaywatch_testkit::fresh_db();
    let mut w = con(&url).await;
    let events: Vec<LogEvent> = (0..3_000).map(event).collect();
    push(&mut w, "relaywatch:events", &events, Some(100))
        .await
        .unwrap();
    let len: u64 = redis::cmd("XLEN")
        .arg("relaywatch:events")
        .query_async(&mut w)
        .await
        .unwrap();
    assert!(
        len < 3_000,
        "MAXLEN ~ trimmed the stream to about 100: {len}"
    );
}

#[tokio::test]
async fn field_per_name_entries_read_like_json_ones() {
    let url = relaywatch_testkit::fresh_db();
    let mut c = consumer(&url, cfg("a", 30_000)).await;
    let events: Vec<LogEvent> = (0..30).map(event).collect();
    let mut w = con(&url).await;
    push_as(
        &mut w,
        "relaywatch:events",
        &events[..15],
        None,
        Encoding::Fields,
    )
    .await
    .unwrap();
    push_as(
        &mut w,
        "relaywatch:events",
        &events[15..],
        None,
        Encoding::Json,
    )
    .await
    .unwrap();
    let b = c.next_batch(Duration::ZERO).await.unwrap();
    let got: Vec<LogEvent> = b.events.iter().map(|(_, e)| e.clone()).collect();
    assert_eq!(got, events);
    // An acker acks for the consumer while it reads on.
    let acker = c.acker();
    assert_eq!(acker.ack(&b.ids()).await.unwrap(), 30);
    assert_eq!(c.pending().await.unwrap(), 0);
}
