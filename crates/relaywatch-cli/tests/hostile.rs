//! `relaywatch snapshot` and `report` on a CRS Redis holding every kind of hostile data at once
//! (keys of the wrong type on each read path, counters past 2^53, negative or not numbers):
//! both exit 0 and list one warning per kind.

use std::process::{Command, Output};

use chrono::{DateTime, Duration, TimeZone, Utc};
use relaywatch_testkit::{fresh_db, AccountSpec, ApiKeySpec, CrsWriter, Platform, UsageEvent};

const K1: &str = "11111111-1111-4111-8111-111111111111";
const K2: &str = "22222222-2222-4222-8222-222222222222";
const K3: &str = "33333333-3333-4333-8333-333333333333";
const K4: &str = "44444444-4444-4444-8444-444444444444";
const SONNET45: &str = "claude-sonnet-4-5-20250929";
const GPT5: &str = "gpt-5";
const TODAY: &str = "2026-11-22";
const AT: &str = "2026-11-22T12:00:00+08:00";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 4, 0, 0).unwrap()
}

/// Run with a clean environment: no user config, no seed variables leaking in.
fn relaywatch(args: &[&str]) -> Output {
    let home = std::env::temp_dir().join(format!("rw-hostile-home-{}", std::process::id()));
    Command::new(env!("CARGO_BIN_EXE_relaywatch"))
        .args(args)
        .env_clear()
        .env("HOME", &home)
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .output()
        .expect("run relaywatch")
}

fn run(con: &mut redis::Connection, args: &[&str]) {
    let mut c = redis::cmd(args[0]);
    for a in &args[1..] {
        c.arg(*a);
    }
    c.exec(con).unwrap_or_else(|e| panic!("{args:?}: {e}"));
}

/// Good CRS data, then one hostile edit of each kind.
fn seed_hostile(url: &str) {
    let n = now();
    let mut w = CrsWriter::connect(url);
    let created = n - Duration::days(30);
    w.api_key(&ApiKeySpec::new(K1, "alpha", created).daily_cost_limit(10.0));
    w.api_key(&ApiKeySpec::new(K2, "beta", created));
    w.api_key(&ApiKeySpec::new(K3, "gamma", created));
    w.api_key(&ApiKeySpec::new(K4, "delta", created));
    for (key, model) in [(K1, SONNET45), (K2, GPT5), (K3, SONNET45), (K4, SONNET45)] {
        w.usage(
            &UsageEvent::new(key, model, n - Duration::hours(1))
                .tokens(1000, 500, 0, 0)
                .cost(0.5, 0.5),
        );
    }
    w.minute_metrics(n, 10, 1000, 200, 0, 0);
    let ok = AccountSpec::new("ok").active(true).status("active");
    w.account(Platform::Claude, "c-ok", &ok);
    w.account(Platform::ClaudeConsole, "cc-ok", &ok);
    w.flush();

    let mut con = redis::Client::open(url).unwrap().get_connection().unwrap();
    let minute = format!("system:metrics:minute:{}", n.timestamp().div_euclid(60));
    let wrong_types = [
        format!("usage:model:daily:{GPT5}:{TODAY}"),
        format!("usage:daily:{K2}:{TODAY}"),
        // K3 is a top key (K1's cost is unreadable, K4's record too), so its days are read.
        format!("usage:{K3}:model:daily:{SONNET45}:{TODAY}"),
        "claude:account:index".to_string(),
        minute,
        format!("usage:cost:daily:{K1}:{TODAY}"),
        format!("apikey:{K4}"),
        "claude_console_account:cc-ok".to_string(),
        "usage:global:total".to_string(),
        format!("usage:daily:index:{TODAY}"),
    ];
    for key in &wrong_types {
        run(&mut con, &["DEL", key]);
        run(&mut con, &["RPUSH", key, "x"]);
    }
    let k1_today = format!("usage:daily:{K1}:{TODAY}");
    let k3_today = format!("usage:daily:{K3}:{TODAY}");
    run(
        &mut con,
        &["HSET", &k1_today, "requests", "18446744073709551615"],
    );
    run(
        &mut con,
        &["HSET", &k1_today, "inputTokens", "9223372036854776391"],
    );
    run(&mut con, &["HSET", &k3_today, "outputTokens", "-7"]);
    run(&mut con, &["HSET", &k3_today, "cacheReadTokens", "lots"]);
}

const KINDS: [&str; 12] = [
    "daily model hash(es) of the wrong type",
    "key daily usage hash(es) of the wrong type",
    "per-key model hash(es) of the wrong type",
    "index set(s) of the wrong type",
    "metrics minute bucket(s) of the wrong type",
    "cost value(s) of the wrong type",
    "API key record(s) of the wrong type",
    "account record(s) of the wrong type",
    "global total hash(es) of the wrong type",
    "counter(s) outside 0…2^53",
    "non-numeric counter(s)",
    // Both index sets above, counted once each.
    "skipped 2 index set(s)",
];

#[test]
fn snapshot_on_hostile_data_exits_0_with_one_warning_per_kind() {
    let url = fresh_db();
    seed_hostile(&url);
    let o = relaywatch(&["snapshot", "--redis", &url, "--json", "--at", AT]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let warnings: Vec<&str> = v["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    for kind in KINDS {
        let n = warnings.iter().filter(|w| w.contains(kind)).count();
        assert_eq!(n, 1, "{kind:?} once in {warnings:#?}");
    }
    assert_eq!(warnings.len(), KINDS.len() - 1, "{warnings:#?}");
    // 2^64 − 1, 2^63 + 391, −7 and "lots": four counters, each warned once though two paths
    // (today's sum and the top keys' days) read them.
    assert!(
        warnings
            .iter()
            .any(|w| w.starts_with("skipped 3 counter(s) outside 0…2^53")),
        "{warnings:#?}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.starts_with("skipped 1 non-numeric counter(s)")),
        "{warnings:#?}"
    );
    // Today, by SCAN (the daily index is a list): K2's daily hash is a list too, K1's requests
    // and input unreadable; K3's and K4's count.
    assert_eq!(v["usage_today"]["requests"], 2);
    assert_eq!(v["usage_today"]["input_tokens"], 2000);
    assert_eq!(v["usage_today"]["output_tokens"], 500 + 500);
    // Lifetime summed per key (usage:global:total is a list) over the keys whose record reads.
    assert_eq!(v["usage_total"]["requests"], 3);
    assert_eq!(v["api_keys"]["total"], 3);
    assert_eq!(v["accounts"]["claude"]["total"], 1, "found by SCAN");
}

#[test]
fn report_on_hostile_data_exits_0_and_shows_the_warnings() {
    let url = fresh_db();
    seed_hostile(&url);
    let out = std::env::temp_dir().join(format!("rw-hostile-report-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let o = relaywatch(&[
        "report",
        "--once",
        "--redis",
        &url,
        "--at",
        AT,
        "--out",
        out.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        err.contains("warning: skipped 1 daily model hash(es) of the wrong type"),
        "{err}"
    );
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        md.contains("global total hash(es) of the wrong type"),
        "{md}"
    );
    assert!(md.contains("counter(s) outside 0…2^53"), "{md}");
}
