//! Seeds the benchmark dataset into a fresh redis-server and prints how long it took; rule: a measuring tool only, it asserts nothing.
//!
//! `cargo run --release -p relaywatch-testkit --example seed_bench -- [keys] [days] [models]`
//! (defaults 10000 30 30).

use chrono::Utc;
use relaywatch_testkit::fixtures::{seed_bench_with, BenchConfig};
use relaywatch_testkit::RedisServer;

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("arguments are numbers: keys days models"))
        .collect();
    let keys = args.first().copied().unwrap_or(10_000);
    let days = args.get(1).copied().unwrap_or(30);
    let models = args.get(2).copied().unwrap_or(30);
    let server = RedisServer::start();
    let url = server.fresh_db();
    let mut cfg = BenchConfig::new(keys, days, models, Utc::now());
    if let Some(w) = std::env::var("SEED_WORKERS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        cfg.workers = w;
    }
    if let Some(p) = std::env::var("SEED_PIPELINE")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        cfg.pipeline_commands = p;
    }
    if std::env::var("SEED_NO_RESTORE").is_ok() {
        cfg.use_restore = false;
    }
    let report = seed_bench_with(&url, &cfg);
    let mut con = redis::Client::open(url.as_str())
        .unwrap()
        .get_connection()
        .unwrap();
    let info: String = redis::cmd("INFO").arg("memory").query(&mut con).unwrap();
    let cpu: String = redis::cmd("INFO").arg("cpu").query(&mut con).unwrap();
    let cpu_line: Vec<&str> = cpu
        .lines()
        .filter(|l| l.starts_with("used_cpu_user:") || l.starts_with("used_cpu_sys:"))
        .collect();
    let used = info
        .lines()
        .find(|l| l.starts_with("used_memory_human:"))
        .unwrap_or("used_memory_human:?");
    println!(
        "seeded {keys} keys x {days} days x {models} models in {:.1} s: {} redis keys, {} commands, {used}, redis {}",
        report.elapsed.as_secs_f64(),
        report.redis_keys,
        report.commands,
        cpu_line.join(" ")
    );
    for (name, t) in &report.phases {
        println!("  {name}: {:.1} s", t.as_secs_f64());
    }
    println!("  restore used: {}", report.used_restore);
}
