//! Seeds CRS data into a running redis for the web UI tests and the first-paint figure; rule: it
//! writes only what CRS itself writes (through `CrsWriter` / `seed_bench_with`) and prints one
//! line of what it wrote.
//!
//! `cargo run -p relaywatch-testkit --example seed_ui -- REDIS_URL` (a small realistic set: keys
//! with Chinese and Latin names, today and yesterday, several models, accounts in every state)
//! `cargo run -p relaywatch-testkit --example seed_ui -- REDIS_URL bench KEYS [DAYS MODELS]`
//! (the benchmark dataset, e.g. 10000 keys).

use chrono::{DateTime, Duration, Utc};
use relaywatch_testkit::fixtures::{seed_bench_with, BenchConfig};
use relaywatch_testkit::{AccountSpec, ApiKeySpec, CrsWriter, Platform, UsageEvent};

const KEYS: [(&str, &str); 3] = [
    ("k-alpha", "team-alpha"),
    ("k-beta", "研发部-北京"),
    ("k-gamma", "ci-bot"),
];

const MODELS: [&str; 3] = [
    "claude-sonnet-4-5-20250929",
    "claude-opus-4-1-20250805",
    "claude-3-5-haiku-20241022",
];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let url = args
        .first()
        .expect("usage: seed_ui REDIS_URL [bench KEYS [DAYS MODELS]]");
    if args.get(1).map(String::as_str) == Some("bench") {
        seed_bench_set(url, &args);
        return;
    }
    let now = Utc::now();
    let mut w = CrsWriter::connect(url);
    for (id, name) in KEYS {
        w.api_key(&ApiKeySpec::new(id, name, now - Duration::days(10)));
    }
    let n = seed_usage(&mut w, now);
    for m in 0..3 {
        w.minute_metrics(
            now - Duration::minutes(m),
            3 + m as u64,
            4_000,
            1_000,
            0,
            9_000,
        );
    }
    let accounts = accounts(now);
    for (p, id, spec) in &accounts {
        w.account(*p, id, spec);
    }
    w.flush();
    println!(
        "seeded ui: {} keys, {n} usage events, {} accounts",
        KEYS.len(),
        accounts.len()
    );
}

/// `bench KEYS [DAYS MODELS]`: the benchmark dataset.
fn seed_bench_set(url: &str, args: &[String]) {
    let num = |i: usize, d: usize| {
        args.get(i)
            .map(|v| v.parse().expect("KEYS, DAYS and MODELS are numbers"))
            .unwrap_or(d)
    };
    let (keys, days, models) = (num(2, 10_000), num(3, 7), num(4, 5));
    let report = seed_bench_with(url, &BenchConfig::new(keys, days, models, Utc::now()));
    println!(
        "seeded bench: {keys} keys x {days} days x {models} models, {} redis keys in {:.1} s",
        report.redis_keys,
        report.elapsed.as_secs_f64()
    );
}

/// Yesterday's and today's requests of every key on every model; how many were written.
fn seed_usage(w: &mut CrsWriter, now: DateTime<Utc>) -> u64 {
    let mut n = 0u64;
    for (day, per) in [(1i64, 4u64), (0, 6)] {
        for (ki, (id, _)) in KEYS.iter().enumerate() {
            for (mi, model) in MODELS.iter().enumerate() {
                for r in 0..per.saturating_sub((ki + mi) as u64) {
                    let at =
                        now - Duration::days(day) - Duration::minutes((r * 7 + ki as u64) as i64);
                    let input = 1_200 + 350 * r + 90 * ki as u64;
                    let output = 400 + 120 * mi as u64;
                    let cost =
                        (input as f64 * 3.0 + output as f64 * 15.0) / 1e6 * (mi as f64 + 1.0);
                    w.usage(
                        &UsageEvent::new(*id, *model, at)
                            .tokens(input, output, 2_000, 8_000)
                            .cost(cost, cost),
                    );
                    n += 1;
                }
            }
        }
    }
    n
}

/// Accounts in every state: fine, rate-limited, erroring, unschedulable.
fn accounts(now: DateTime<Utc>) -> [(Platform, &'static str, AccountSpec); 5] {
    [
        (Platform::Claude, "acc-1", AccountSpec::new("claude-main")),
        (
            Platform::Claude,
            "acc-2",
            AccountSpec::new("claude-backup").rate_limited(
                now - Duration::minutes(5),
                Some(now + Duration::minutes(55)),
            ),
        ),
        (
            Platform::ClaudeConsole,
            "acc-3",
            AccountSpec::new("console-1"),
        ),
        (
            Platform::Gemini,
            "acc-4",
            AccountSpec::new("gemini-1").status("error"),
        ),
        (
            Platform::OpenAi,
            "acc-5",
            AccountSpec::new("openai-1").schedulable(false),
        ),
    ]
}
