//! EZ-API tail benchmark: one `relaywatch run` tailing `log_records` in a real PostgreSQL while
//! this process writes records at a steady rate (default 2,000/s, in 100 ms batches, as EZ-API's
//! batched LogWriter does) for a while; prints the rate written, the rows the tail read, its lag
//! on `/health` (sampled every 500 ms: median, p95, max) and the time from the last write until
//! the tail had read everything. Prints figures; asserts nothing about speed.
//! RELAYWATCH_BENCH_RATE and RELAYWATCH_BENCH_SECS scale it.

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::Utc;
use common::{test_dir, Daemon, Receiver};
use relaywatch_testkit::ezapi::{create_log_records, insert_log_records, LogRecordRow};
use relaywatch_testkit::pg::{connect, PgServer};
use relaywatch_testkit::RedisServer;
use tokio::runtime::Runtime;
use tokio_postgres::Client;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(((v.len() as f64 - 1.0) * p).round() as usize)
        .copied()
        .unwrap_or(0.0)
}

fn main() {
    let rate = env_or("RELAYWATCH_BENCH_RATE", 2_000);
    let secs = env_or("RELAYWATCH_BENCH_SECS", 30);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let pg = PgServer::start().expect("PostgreSQL");
    let url = pg.url();
    let client = rt.block_on(async {
        let c = connect(&url).await;
        create_log_records(&c, "log_records").await.unwrap();
        c
    });
    let redis = RedisServer::start();
    let db = redis.url_db(1);
    let rx = Receiver::start(200, "{}");
    let dir = test_dir("ezapi-tail-bench");
    write_config(&dir, &db);
    let env = [
        ("RW_GENERIC", rx.url("/hook")),
        ("RW_EZAPI_DB", url.clone()),
    ];
    let d = Daemon::start(&dir, "bench", &env);
    while d.health().is_none_or(|h| h["events"]["state"] != "up") {
        std::thread::sleep(Duration::from_millis(100));
    }
    let (written, mut lags, wrote_for) = write_steadily(&rt, &client, &d, rate, secs);
    let max_id: i64 = rt
        .block_on(client.query_one("SELECT max(id) FROM log_records", &[]))
        .unwrap()
        .get(0);
    let drained = catch_up(&d, max_id);
    let rows = d
        .health()
        .map(|h| h["events"]["rows"].clone())
        .unwrap_or_default();
    println!(
        "wrote {written} records in {wrote_for:.1} s = {:.0} records/s; the tail read {rows} rows",
        written as f64 / wrote_for
    );
    println!(
        "lag on /health while writing: median {:.2} s, p95 {:.2} s, max {:.2} s ({} samples)",
        pct(&mut lags.clone(), 0.5),
        pct(&mut lags.clone(), 0.95),
        pct(&mut lags, 1.0),
        lags.len()
    );
    println!("caught up {drained:.2} s after the last write");
}

/// The daemon's config: the demo relay, events tailed from EZ-API's table, one webhook.
fn write_config(dir: &Path, db: &str) {
    let head = common::demo_config(db);
    std::fs::write(
        dir.join("relaywatch.toml"),
        format!(
            "{head}[events]\nsource = \"ezapi\"\ndatabase_url = {{ env = \"RW_EZAPI_DB\" }}\n\
             [rules.quota]\nenabled = false\n[[channels]]\nname = \"hook\"\ntype = \"generic\"\n\
             url = {{ env = \"RW_GENERIC\" }}\n"
        ),
    )
    .unwrap();
}

/// Writes `rate` records a second in 100 ms batches for `secs` seconds (one in 50 an error),
/// sampling the tail's lag every 500 ms: records written, lags, seconds spent writing.
fn write_steadily(
    rt: &Runtime,
    client: &Client,
    d: &Daemon,
    rate: u64,
    secs: u64,
) -> (u64, Vec<f64>, f64) {
    let per_batch = (rate / 10).max(1) as usize;
    let start = Instant::now();
    let mut written = 0u64;
    let mut lags = Vec::new();
    let mut last_sample = Instant::now();
    let mut tick = start;
    while start.elapsed() < Duration::from_secs(secs) {
        let now = Utc::now();
        let rows: Vec<LogRecordRow> = (0..per_batch)
            .map(|i| {
                let at = now + chrono::Duration::microseconds(i as i64);
                if i % 50 == 0 {
                    LogRecordRow::error(at, 502, "bench")
                } else {
                    LogRecordRow::ok(at)
                }
            })
            .collect();
        rt.block_on(insert_log_records(client, "log_records", &rows))
            .unwrap();
        written += rows.len() as u64;
        if last_sample.elapsed() >= Duration::from_millis(500) {
            last_sample = Instant::now();
            if let Some(l) = d.health().and_then(|h| h["events"]["lag_seconds"].as_f64()) {
                lags.push(l);
            }
        }
        tick += Duration::from_millis(100);
        if let Some(w) = tick.checked_duration_since(Instant::now()) {
            std::thread::sleep(w);
        }
    }
    let wrote_for = start.elapsed().as_secs_f64();
    (written, lags, wrote_for)
}

/// Seconds until the tail's position reaches `max_id` (gives up after two minutes).
fn catch_up(d: &Daemon, max_id: i64) -> f64 {
    let done = Instant::now();
    while d
        .health()
        .and_then(|h| h["events"]["position"].as_i64())
        .is_none_or(|p| p < max_id)
    {
        std::thread::sleep(Duration::from_millis(50));
        if done.elapsed() > Duration::from_secs(120) {
            break;
        }
    }
    done.elapsed().as_secs_f64()
}
