//! Streaming-rules benchmark: pushes N log events onto a Redis Stream (pipelined XADD), then
//! times one instance consuming them end to end — XREADGROUP batches of 1,000, parse, tally,
//! the shared window update in Redis (one Lua call per batch), the decision, XACK — and prints
//! events/s. Entries are one `json` field each (what `push` writes) unless marked "field
//! entries" (one field per LogRecord name). Then the same with every dimension, and with the
//! breaker as well. Prints figures; asserts nothing about speed.
//!
//! RELAYWATCH_BENCH_EVENTS (default 200,000) scales it; RELAYWATCH_BENCH_REDIS=redis://… uses
//! that server (a scratch DB!) instead of starting one.

use std::time::{Duration, Instant};

use chrono::Utc;
use relaywatch_core::config::rules::{BreakerSettings, Dimension, ErrorRateSettings};
use relaywatch_core::events::stream::{self, StreamConfig, StreamConsumer};
use relaywatch_core::events::{push_as, Encoding};
use relaywatch_core::model::LogEvent;
use relaywatch_core::rules::breaker::BreakerRule;
use relaywatch_core::rules::error_rate::ErrorRateRule;
use relaywatch_testkit::RedisServer;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn events(n: usize) -> Vec<LogEvent> {
    let now = Utc::now();
    (0..n)
        .map(|i| {
            let failed = i.is_multiple_of(23);
            LogEvent {
                ts: Some(now),
                group: Some("default".into()),
                key_id: Some(format!("key-{}", i % 200)),
                model: Some(format!("claude-model-{}", i % 10)),
                provider_id: Some(format!("{}", i % 20)),
                provider_name: Some(format!("upstream-{}", i % 20)),
                provider_type: Some("anthropic".into()),
                status_code: Some(if failed { 502 } else { 200 }),
                latency_ms: Some(300 + (i % 700) as u64),
                tokens_in: Some(1_000),
                tokens_out: Some(200),
                error_message: failed.then(|| "upstream connect error or disconnect".into()),
                client_ip: Some("10.0.0.1".into()),
            }
        })
        .collect()
}

struct Run {
    label: &'static str,
    dims: Vec<Dimension>,
    breaker: bool,
    encoding: Encoding,
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let n = env_or("RELAYWATCH_BENCH_EVENTS", 200_000);
    let own;
    let base = match std::env::var("RELAYWATCH_BENCH_REDIS") {
        Ok(url) => url,
        Err(_) => {
            own = RedisServer::start();
            own.url_db(1)
        }
    };
    let runs = runs();
    println!("streaming rules: {n} events, 20 providers, 200 keys, 10 models, 1 in 23 an error");
    for (i, run) in runs.iter().enumerate() {
        let stream_key = format!("bench:events:{i}");
        let mut admin = stream::connect(&base, Duration::from_secs(5))
            .await
            .unwrap();
        let _: () = redis::cmd("FLUSHDB").query_async(&mut admin).await.unwrap();
        let evs = events(n);
        let started = Instant::now();
        push_as(&mut admin, &stream_key, &evs, None, run.encoding)
            .await
            .unwrap();
        let push_s = started.elapsed().as_secs_f64();
        drop(evs);

        let Tally {
            seen,
            batches,
            alerts,
            t_read,
            t_eval,
            t_ack,
            secs,
        } = consume(&base, &stream_key, run).await;
        assert_eq!(seen, n, "every event consumed");
        println!(
            "  {:<46} {:>9.0} events/s  ({seen} events, {batches} batches, {:.2} s; push {:.0} events/s; {alerts} alerts)",
            run.label,
            seen as f64 / secs,
            secs,
            n as f64 / push_s
        );
        println!(
            "  {:<46} read+parse {:.2} s, evaluate+ack {:.2} s, overlapped into {:.2} s",
            "", t_read, t_eval, t_ack
        );
    }
}

/// The four runs: two dimensions (JSON and field entries), four dimensions, and the breaker.
fn runs() -> [Run; 4] {
    [
        Run {
            label: "error_rate (global + provider)",
            dims: vec![Dimension::Global, Dimension::Provider],
            breaker: false,
            encoding: Encoding::Json,
        },
        Run {
            label: "error_rate (global + provider), field entries",
            dims: vec![Dimension::Global, Dimension::Provider],
            breaker: false,
            encoding: Encoding::Fields,
        },
        Run {
            label: "error_rate (global + provider + key + model)",
            dims: vec![
                Dimension::Global,
                Dimension::Provider,
                Dimension::Key,
                Dimension::Model,
            ],
            breaker: false,
            encoding: Encoding::Json,
        },
        Run {
            label: "error_rate (global + provider) + breaker",
            dims: vec![Dimension::Global, Dimension::Provider],
            breaker: true,
            encoding: Encoding::Json,
        },
    ]
}

/// What consuming one stream measured.
struct Tally {
    seen: usize,
    batches: usize,
    alerts: usize,
    t_read: f64,
    t_eval: f64,
    t_ack: f64,
    secs: f64,
}

/// One instance consuming `stream_key` to the end with `run`'s rules.
async fn consume(base: &str, stream_key: &str, run: &Run) -> Tally {
    let cfg = StreamConfig {
        stream: stream_key.to_string(),
        group: "bench".into(),
        consumer: "bench-1".into(),
        count: 1_000,
        claim_idle: Duration::from_secs(30),
    };
    let mut consumer = StreamConsumer::new(
        stream::connect(base, Duration::from_secs(5)).await.unwrap(),
        cfg,
    );
    consumer.ensure_group().await.unwrap();
    let rules_con = stream::connect(base, Duration::from_secs(5)).await.unwrap();
    let er = ErrorRateRule::new(
        rules_con.clone(),
        ErrorRateSettings {
            dimensions: run.dims.clone(),
            ..Default::default()
        },
        "bench:",
    );
    let br = BreakerRule::new(rules_con, BreakerSettings::default(), "bench:");
    let started = Instant::now();
    let (mut seen, mut batches, mut alerts) = (0usize, 0usize, 0usize);
    let (mut t_read, mut t_eval, mut t_ack) = (0f64, 0f64, 0f64);
    let acker = consumer.acker();
    // Batch N is evaluated while batch N+1 is read; N is acked once evaluated.
    let mut current = consumer.next_batch(Duration::ZERO).await.unwrap();
    while !current.is_empty() {
        let lap = Instant::now();
        let read_next = async {
            let lap = Instant::now();
            let b = consumer.next_batch(Duration::ZERO).await.unwrap();
            (b, lap.elapsed().as_secs_f64())
        };
        let evaluate = async {
            let lap = Instant::now();
            let now = Utc::now();
            let events = || current.events.iter().map(|(_, e)| e);
            let mut n = er.evaluate(events(), now).await.unwrap().alerts.len();
            if run.breaker {
                n += br.evaluate(events(), now).await.unwrap().len();
            }
            acker.ack(&current.ids()).await.unwrap();
            (n, lap.elapsed().as_secs_f64())
        };
        let ((next, read_s), (n, eval_s)) = tokio::join!(read_next, evaluate);
        t_read += read_s;
        t_eval += eval_s;
        t_ack += lap.elapsed().as_secs_f64();
        alerts += n;
        seen += current.events.len();
        batches += 1;
        current = next;
    }
    let secs = started.elapsed().as_secs_f64();
    Tally {
        seen,
        batches,
        alerts,
        t_read,
        t_eval,
        t_ack,
        secs,
    }
}
