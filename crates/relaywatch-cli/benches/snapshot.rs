//! Snapshot benchmark: seeds a real redis-server with 10,000 API keys × 30 days × 30 models as CRS
//! writes them, then times a full snapshot (7-day trend, top 10) in process and as the CLI, and
//! reads the CLI's peak RSS. Prints figures; asserts nothing about speed.
//!
//! Scale with RELAYWATCH_BENCH_KEYS / _DAYS / _MODELS / _RUNS for a quick look.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use relaywatch_core::model::{Snapshot, SourceKind};
use relaywatch_core::pricing::Pricing;
use relaywatch_core::source::aggregate::{aggregate, Scope};
use relaywatch_core::source::crs::CrsReader;
use relaywatch_core::source::ReadRequest;
use relaywatch_core::tz::RelayTz;
use relaywatch_testkit::fixtures::seed_bench;
use relaywatch_testkit::RedisServer;

/// Where a seeded dataset records its `now`.
const SEEDED_AT: &str = "relaywatch-bench:seeded-at";

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// Run the CLI once; wall time and peak RSS in KiB (from wait4's rusage).
// The child is reaped by wait4 (which also gives its rusage), not by Child::wait.
#[allow(clippy::zombie_processes)]
fn run_cli(args: &[&str]) -> (Duration, i64) {
    let started = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_relaywatch"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .env(
            "RELAYWATCH_LOG",
            std::env::var("RELAYWATCH_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .spawn()
        .expect("spawn relaywatch");
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child, which has not been waited for.
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as i32, "wait4");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "relaywatch failed"
    );
    (started.elapsed(), usage.ru_maxrss)
}

fn main() {
    let keys = env_or("RELAYWATCH_BENCH_KEYS", 10_000);
    let days = env_or("RELAYWATCH_BENCH_DAYS", 30);
    let models = env_or("RELAYWATCH_BENCH_MODELS", 30);
    let runs = env_or("RELAYWATCH_BENCH_RUNS", 15);
    // RELAYWATCH_BENCH_REDIS=redis://… reuses a server seeded by an earlier run (the seed takes
    // about two minutes and 6 GB at full size); otherwise a fresh redis-server is started.
    let own_server;
    let url = match std::env::var("RELAYWATCH_BENCH_REDIS") {
        Ok(url) => url,
        Err(_) => {
            own_server = RedisServer::start();
            own_server.url()
        }
    };
    let now = seeded_now(&url, (keys, days, models));

    let (mut times, snap) = time_in_process(&url, now, runs);
    println!(
        "  {} keys ({} deleted), {} accounts",
        snap.api_keys.total + snap.api_keys.deleted,
        snap.api_keys.deleted,
        snap.accounts_total().total
    );
    assert_eq!(snap.top_keys.len(), 10.min(keys));
    times.sort_by(f64::total_cmp);
    println!(
        "snapshot in process ({runs} runs, 7-day trend, top 10): median {:.1} ms, p90 {:.1} ms, min {:.1} ms  [target ≤ 250 ms median]",
        percentile(&times, 0.5),
        percentile(&times, 0.9),
        times[0]
    );
    println!(
        "  today {} requests, {} models in range, top key {} at ${:.2}",
        snap.usage_today.requests,
        snap.models.len(),
        snap.top_keys[0].name,
        snap.top_keys[0].cost_usd
    );

    time_cli(&url, now);
}

/// The `now` of the dataset in `url`: the one recorded by an earlier seed, or now after seeding
/// `keys × days × models` there.
fn seeded_now(url: &str, (keys, days, models): (usize, usize, usize)) -> DateTime<Utc> {
    let mut con = redis::Client::open(url)
        .unwrap()
        .get_connection()
        .expect("connect to the bench Redis");
    let seeded_at: Option<String> = redis::cmd("GET").arg(SEEDED_AT).query(&mut con).unwrap();
    match seeded_at.and_then(|t| DateTime::parse_from_rfc3339(&t).ok()) {
        Some(t) => {
            println!("reusing the dataset seeded at {t} in {url}");
            t.with_timezone(&Utc)
        }
        None => {
            let now = Utc::now();
            println!("seeding {keys} keys × {days} days × {models} models into {url} …");
            let seed = seed_bench(url, keys, days, models, now);
            println!(
                "seeded {} Redis keys with {} commands in {:.1} s",
                seed.redis_keys,
                seed.commands,
                seed.elapsed.as_secs_f64()
            );
            let _: () = redis::cmd("SET")
                .arg(SEEDED_AT)
                .arg(now.to_rfc3339())
                .query(&mut con)
                .unwrap();
            now
        }
    }
}

/// `runs` snapshots read and aggregated in process; their times in ms and the last snapshot.
fn time_in_process(url: &str, now: DateTime<Utc>, runs: usize) -> (Vec<f64>, Snapshot) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let pricing = Pricing::bundled();
    let req = ReadRequest {
        now,
        tz: RelayTz::from_config(8),
        trend_days: 7,
        top_n: 10,
        window_minutes: 5,
    };
    let mut times = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs {
        let started = Instant::now();
        let snap = rt.block_on(async {
            let mut reader = CrsReader::connect(url, Duration::from_secs(5))
                .await
                .unwrap();
            let data = reader.read(&req).await.unwrap();
            aggregate(
                data,
                &pricing,
                Scope {
                    source: SourceKind::Crs,
                    trend_days: 7,
                    top_n: 10,
                },
            )
        });
        times.push(ms(started.elapsed()));
        last = Some(snap);
    }
    (times, last.unwrap())
}

/// Five runs of `relaywatch snapshot --json` as a process: median wall time and peak RSS.
fn time_cli(url: &str, now: DateTime<Utc>) {
    let at = now.to_rfc3339_opts(SecondsFormat::Secs, true);
    let mut wall = Vec::new();
    let mut peak = 0;
    for _ in 0..5 {
        let (t, rss) = run_cli(&["snapshot", "--redis", url, "--json", "--at", &at]);
        wall.push(ms(t));
        peak = peak.max(rss);
    }
    wall.sort_by(f64::total_cmp);
    println!(
        "relaywatch snapshot --json as a process (5 runs): median {:.1} ms wall, peak RSS {:.1} MB  [target ≤ 50 MB]",
        percentile(&wall, 0.5),
        peak as f64 / 1024.0
    );
}
