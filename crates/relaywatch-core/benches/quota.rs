//! Quota rule speed: reading every limited key's costs from a real redis-server, the pure
//! evaluation, and a whole run (read, evaluate, claim, store); rule: it prints figures and checks
//! the alert counts — it is not a timed test.
//!
//! `cargo bench -p relaywatch-core --bench quota` (`RELAYWATCH_BENCH_QUOTA_KEYS` sets N).

use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use relaywatch_core::config::quota::QuotaSettings;
use relaywatch_core::config::Settings;
use relaywatch_core::daemon::quota::run_once;
use relaywatch_core::model::KeyCost;
use relaywatch_core::rules::quota::{evaluate, QuotaState};
use relaywatch_core::rules::AlertPayload;
use relaywatch_core::source::crs::quota::read_key_costs;
use relaywatch_core::source::redis_io::{connect, Conn};
use relaywatch_core::store::quota::QuotaStore;
use relaywatch_core::tz::RelayTz;
use relaywatch_testkit::RedisServer;

#[tokio::main]
async fn main() {
    let n: usize = std::env::var("RELAYWATCH_BENCH_QUOTA_KEYS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    let server = RedisServer::start();
    let url = server.url_db(0);
    let mut conn = connect(&url, StdDuration::from_secs(5)).await.unwrap();
    let tz = RelayTz::from_config(8);
    // Sunday 2026-11-22 12:00 +08:00.
    let now = Utc.with_ymd_and_hms(2026, 11, 22, 4, 0, 0).unwrap();
    let today = tz.date(now);

    seed_keys(&mut conn, n, &today).await;
    let settings = QuotaSettings::default();

    let t = Instant::now();
    let inputs = read_key_costs(&mut conn, &settings, now, tz).await.unwrap();
    let read = t.elapsed();
    assert_eq!(inputs.len(), n);

    let (eval, rows) = time_evaluate(&inputs, &settings, now, tz);

    let mut store = QuotaStore::new(
        connect(&url, StdDuration::from_secs(5)).await.unwrap(),
        "bench:",
    );
    let mut whole = Settings::default();
    whole.source.redis_url = Some(url.clone());
    whole.source.timezone_offset_hours = 8;
    whole.rules.quota = settings.clone();
    let relay = relaywatch_core::source::open(&whole);
    let t = Instant::now();
    let first = run_once(&relay, &mut store, &whole, now).await.unwrap();
    let run1 = t.elapsed();
    let t = Instant::now();
    let second = run_once(&relay, &mut store, &whole, now).await.unwrap();
    let run2 = t.elapsed();
    assert_eq!(first.len(), 2);
    assert!(second.is_empty(), "nothing repeats");

    println!("quota bench: {n} keys with a limit, {rows} over a threshold");
    println!(
        "  read costs from CRS Redis: {:>8.1} ms ({:.0} keys/s)",
        read.as_secs_f64() * 1e3,
        n as f64 / read.as_secs_f64()
    );
    println!(
        "  evaluate (pure):           {:>8.1} ms ({:.0} keys/s)",
        eval.as_secs_f64() * 1e3,
        n as f64 / eval.as_secs_f64()
    );
    println!(
        "  whole run, first (claims): {:>8.1} ms",
        run1.as_secs_f64() * 1e3
    );
    println!(
        "  whole run, steady state:   {:>8.1} ms",
        run2.as_secs_f64() * 1e3
    );
}

/// Every key has a daily limit of 100; a third are at 85 %, a tenth at 120 %.
async fn seed_keys(conn: &mut Conn, n: usize, today: &str) {
    let mut cmds = Vec::with_capacity(n * 3 + 1);
    for i in 0..n {
        let id = format!("key-{i:06}");
        let mut h = redis::cmd("HSET");
        h.arg(format!("apikey:{id}"))
            .arg("name")
            .arg(format!("name-{i}"))
            .arg("dailyCostLimit")
            .arg("100")
            .arg("isDeleted")
            .arg("false");
        cmds.push(h);
        let mut s = redis::cmd("SADD");
        s.arg("apikey:idx:all").arg(&id);
        cmds.push(s);
        let cost = if i % 10 == 0 {
            120.0
        } else if i % 3 == 0 {
            85.0
        } else {
            10.0
        };
        let mut c = redis::cmd("SET");
        c.arg(format!("usage:cost:daily:{id}:{today}")).arg(cost);
        cmds.push(c);
    }
    conn.batch(cmds).await.unwrap();
}

/// The pure evaluation's mean time over 20 rounds, and how many keys are over a threshold.
fn time_evaluate(
    inputs: &[KeyCost],
    settings: &QuotaSettings,
    now: DateTime<Utc>,
    tz: RelayTz,
) -> (StdDuration, usize) {
    let t = Instant::now();
    let rounds = 20;
    let mut alerts = Vec::new();
    for _ in 0..rounds {
        alerts = evaluate(
            inputs,
            &settings.limits,
            &settings.thresholds,
            &QuotaState::default(),
            now,
            tz,
        )
        .1;
    }
    let eval = t.elapsed() / rounds;
    let rows: usize = alerts
        .iter()
        .map(|a| match &a.payload {
            AlertPayload::Quota { items } => items.len(),
            _ => 0,
        })
        .sum();
    assert_eq!(alerts.len(), 2, "one grouped alert per level");
    (eval, rows)
}
