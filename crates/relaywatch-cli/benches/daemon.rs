//! Daemon benchmark: one `relaywatch run` on a real redis-server with a loopback receiver.
//! 1. From an error event's XADD to the alert's webhook POST at the receiver: each round XADDs
//!    one error for a fresh key (threshold 1 on the `key` dimension, so each fires at once) and
//!    waits for its POST; prints p50, p99 and max.
//! 2. An idle daemon: RSS (VmRSS and VmHWM) and CPU over a quiet stretch.
//!
//! Rounds are paced at one per 1.05 s: a generic webhook channel is held to 60 requests a
//! minute, and a round that waited for the rate limit would measure the limit, not the path.
//! Prints figures; asserts nothing about speed. RELAYWATCH_BENCH_ROUNDS (default 120) and
//! RELAYWATCH_BENCH_IDLE_SECS (default 60) scale it.

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{test_dir, Daemon, Receiver};
use relaywatch_testkit::RedisServer;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn proc_status(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// utime + stime in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    f.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
        + f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
}

fn main() {
    let rounds = env_or("RELAYWATCH_BENCH_ROUNDS", 120) as usize;
    let idle_secs = env_or("RELAYWATCH_BENCH_IDLE_SECS", 60);
    let redis = RedisServer::start();
    let db = redis.url_db(1);
    let rx = Receiver::start(200, "{}");
    let dir = test_dir("bench");
    write_config(&dir, &db);
    let d = Daemon::start(&dir, "bench", &[("RW_GENERIC", rx.url("/hooks/bench"))]);
    let pid = d.child.id();
    std::thread::sleep(Duration::from_secs(2));

    // Idle first, before anything was rendered or sent.
    report_idle(pid, idle_secs);

    let mut lat = alert_latencies(&db, &rx, &d, rounds);
    lat.sort_by(f64::total_cmp);
    let p = |q: f64| lat[((lat.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "XADD → webhook POST over {rounds} alerts: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        p(0.5),
        p(0.99),
        lat[lat.len() - 1]
    );
    println!(
        "after the alerts: RSS {:.1} MB (peak {:.1} MB)",
        proc_status(pid, "VmRSS:") as f64 / 1024.0,
        proc_status(pid, "VmHWM:") as f64 / 1024.0,
    );
    drop(d);
}

/// The daemon's config: the demo relay, every error on a key an alert, one generic webhook.
fn write_config(dir: &Path, db: &str) {
    let head = common::demo_config(db);
    std::fs::write(
        dir.join("relaywatch.toml"),
        format!(
            r#"{head}[rules.error_rate]
window_seconds = 60
threshold = 1
dimensions = ["key"]
[rules.quota]
enabled = false
[schedules.none]
cron = "0 0 1 1 *"
enabled = false

[[channels]]
name = "ops-hook"
type = "generic"
url = {{ env = "RW_GENERIC" }}
"#
        ),
    )
    .unwrap();
}

/// RSS and CPU of the daemon `pid` over `idle_secs` quiet seconds.
fn report_idle(pid: u32, idle_secs: u64) {
    let t0 = cpu_ticks(pid);
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(idle_secs));
    let ticks = cpu_ticks(pid) - t0;
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let cpu_pct = ticks as f64 / hz / started.elapsed().as_secs_f64() * 100.0;
    println!(
        "idle daemon over {idle_secs} s: RSS {:.1} MB (peak {:.1} MB), CPU {cpu_pct:.2} %",
        proc_status(pid, "VmRSS:") as f64 / 1024.0,
        proc_status(pid, "VmHWM:") as f64 / 1024.0,
    );
}

/// `rounds` errors on fresh keys, one every 1.05 s: ms from each XADD to its webhook POST.
fn alert_latencies(db: &str, rx: &Receiver, d: &Daemon, rounds: usize) -> Vec<f64> {
    let client = redis::Client::open(db).unwrap();
    let mut con = client.get_connection().unwrap();
    let mut lat = Vec::with_capacity(rounds);
    for i in 0..rounds {
        let before = rx.count();
        let sent = Instant::now();
        redis::cmd("XADD")
            .arg("relaywatch:events")
            .arg("*")
            .arg("status_code")
            .arg(503)
            .arg("key_id")
            .arg(format!("bench-key-{i}"))
            .arg("error_message")
            .arg("overloaded")
            .exec(&mut con)
            .unwrap();
        assert!(
            rx.wait_for(Duration::from_secs(10), |g| g.len() > before),
            "round {i}: no POST\n{}",
            d.log_text()
        );
        let got = rx.got()[before].at;
        lat.push(got.duration_since(sent).as_secs_f64() * 1000.0);
        std::thread::sleep(Duration::from_millis(1050).saturating_sub(sent.elapsed()));
    }
    lat
}
