//! Hostile data in a CRS Redis (counters past 2^53, negative or not numbers, keys of the wrong
//! type on every read path) against a real redis-server: each bad item is skipped with one
//! warning naming its key, and the snapshot still succeeds with what the good data gives.

use chrono::{DateTime, Duration, TimeZone, Utc};
use relaywatch_core::model::{Snapshot, SourceKind};
use relaywatch_core::pricing::Pricing;
use relaywatch_core::source::aggregate::{aggregate, Scope};
use relaywatch_core::source::crs::{opus_period, CrsReader};
use relaywatch_core::source::ReadRequest;
use relaywatch_core::tz::{epoch_minute, RelayTz};
use relaywatch_testkit::{fresh_db, AccountSpec, ApiKeySpec, CrsWriter, Platform, UsageEvent};

const K1: &str = "11111111-1111-4111-8111-111111111111";
const K2: &str = "22222222-2222-4222-8222-222222222222";
const K3: &str = "33333333-3333-4333-8333-333333333333";
const SONNET45: &str = "claude-sonnet-4-5-20250929";
const GPT5: &str = "gpt-5";
const TODAY: &str = "2026-11-22";
const MONTH: &str = "2026-11";
/// 2^64 − 1, which wrapped today's requests before.
const U64_MAX: &str = "18446744073709551615";
/// Between 2^63 and 2^64, which was reported as a real count before.
const PAST_2_63: &str = "9223372036854776391";

/// Sunday 2026-11-22 12:00 at UTC+8.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 4, 0, 0).unwrap()
}

fn minute_key() -> String {
    format!("system:metrics:minute:{}", epoch_minute(now()))
}

fn opus_key() -> String {
    let period = opus_period(now(), RelayTz::from_config(8), 1, 0);
    format!("usage:opus:weekly:{K1}:{period}")
}

/// Three keys (K1 with every limit), two models today, one yesterday, one minute bucket,
/// three accounts; indexes and global aggregates as CRS v1.1.263+ writes them.
fn seed(url: &str) {
    let n = now();
    let mut w = CrsWriter::connect(url);
    let created = n - Duration::days(40);
    w.api_key(
        &ApiKeySpec::new(K1, "alpha", created)
            .daily_cost_limit(10.0)
            .total_cost_limit(100.0)
            .weekly_opus_cost_limit(50.0),
    );
    w.api_key(&ApiKeySpec::new(K2, "beta", created));
    w.api_key(&ApiKeySpec::new(K3, "gamma", created));
    let today = n - Duration::hours(1);
    w.usage(
        &UsageEvent::new(K1, SONNET45, today)
            .tokens(1000, 500, 0, 0)
            .cost(0.5, 0.5)
            .account("acc-1", "claude-official"),
    );
    w.usage(
        &UsageEvent::new(K2, GPT5, today)
            .tokens(2000, 1000, 0, 0)
            .cost(0.25, 0.25),
    );
    w.usage(
        &UsageEvent::new(K1, SONNET45, n - Duration::days(1))
            .tokens(100, 100, 0, 0)
            .cost(0.125, 0.125)
            .account("acc-1", "claude-official"),
    );
    w.minute_metrics(n, 10, 1000, 200, 0, 0);
    let ok = |name: &str| {
        AccountSpec::new(name)
            .active(true)
            .status("active")
            .schedulable(true)
    };
    w.account(Platform::Claude, "c-ok", &ok("c-ok"));
    w.account(Platform::ClaudeConsole, "cc-ok", &ok("cc-ok"));
    w.account(Platform::Bedrock, "b-ok", &ok("b-ok"));
    w.flush();
}

async fn snapshot(url: &str) -> Snapshot {
    let mut reader = CrsReader::connect(url, std::time::Duration::from_secs(5))
        .await
        .expect("connect");
    let req = ReadRequest {
        now: now(),
        tz: RelayTz::from_config(8),
        trend_days: 7,
        top_n: 10,
        window_minutes: 5,
    };
    let data = reader
        .read(&req)
        .await
        .expect("bad data never fails the read");
    let scope = Scope {
        source: SourceKind::Crs,
        trend_days: 7,
        top_n: 10,
    };
    aggregate(data, &Pricing::bundled(), scope)
}

fn redis(url: &str) -> redis::Connection {
    redis::Client::open(url).unwrap().get_connection().unwrap()
}

fn run(con: &mut redis::Connection, args: &[&str]) {
    let mut c = redis::cmd(args[0]);
    for a in &args[1..] {
        c.arg(*a);
    }
    c.exec(con).unwrap_or_else(|e| panic!("{args:?}: {e}"));
}

/// Replace `key` with a value of Redis type `ty`.
fn retype(con: &mut redis::Connection, key: &str, ty: &str) {
    run(con, &["DEL", key]);
    match ty {
        "string" => run(con, &["SET", key, "1"]),
        "list" => run(con, &["RPUSH", key, "x"]),
        "set" => run(con, &["SADD", key, "x"]),
        "zset" => run(con, &["ZADD", key, "1", "x"]),
        "hash" => run(con, &["HSET", key, "requests", "1"]),
        _ => panic!("unknown type {ty}"),
    }
}

fn today_of(s: &Snapshot) -> &relaywatch_core::model::TrendDay {
    s.trend.iter().find(|d| d.date == TODAY).unwrap()
}

fn k1_limit(s: &Snapshot) -> &relaywatch_core::model::KeyLimit {
    s.key_limits.iter().find(|l| l.id == K1).unwrap()
}

/// The one line of `kind`; it counts `n` items and names `example`.
fn assert_warned(s: &Snapshot, kind: &str, n: u64, example: &str) {
    let lines: Vec<&String> = s.warnings.iter().filter(|l| l.contains(kind)).collect();
    assert_eq!(lines.len(), 1, "one line for {kind:?}: {:?}", s.warnings);
    assert!(
        lines[0].starts_with(&format!("skipped {n} {kind}")),
        "{n} × {kind:?}: {:?}",
        s.warnings
    );
    assert!(
        lines[0].contains(example),
        "{example:?} named: {:?}",
        s.warnings
    );
}

#[tokio::test]
async fn good_data_reads_without_warnings() {
    let url = fresh_db();
    seed(&url);
    let s = snapshot(&url).await;
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    assert_eq!(s.usage_today.requests, 2);
    assert_eq!(s.usage_today.input_tokens, 3000);
    assert_eq!(s.usage_total.requests, 3);
    assert_eq!(today_of(&s).requests, 2);
    assert_eq!(s.realtime.rpm, 2.0);
    assert_eq!(s.realtime.tpm, 240.0);
    assert_eq!(s.api_keys.total, 3);
    assert_eq!(s.accounts["claude"].total, 1);
    assert_eq!(s.accounts["claude-console"].total, 1);
    assert_eq!(s.top_keys.len(), 2);
    assert!((k1_limit(&s).daily_cost_usd - 0.5).abs() < 1e-12);
    assert!((k1_limit(&s).total_cost_usd - 0.625).abs() < 1e-12);
    assert!((k1_limit(&s).weekly_opus_cost_usd - 0.625).abs() < 1e-12);
}

/// One hostile edit, the warning it must give (kind, count, example) and what the snapshot
/// then shows, compared with the same data before the edit.
struct Case {
    name: &'static str,
    edits: Vec<Vec<String>>,
    warned: Vec<(&'static str, u64, String)>,
    check: fn(&Snapshot, &Snapshot),
}

fn cmd(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| a.to_string()).collect()
}

async fn run_cases(cases: Vec<Case>) {
    for case in cases {
        let url = fresh_db();
        seed(&url);
        let before = snapshot(&url).await;
        let mut con = redis(&url);
        for e in &case.edits {
            let args: Vec<&str> = e.iter().map(String::as_str).collect();
            match args[0] {
                "RETYPE" => retype(&mut con, args[1], args[2]),
                _ => run(&mut con, &args),
            }
        }
        let after = snapshot(&url).await;
        assert_eq!(
            after.warnings.len(),
            case.warned.len(),
            "{}: {:?}",
            case.name,
            after.warnings
        );
        for (kind, n, example) in &case.warned {
            assert_warned(&after, kind, *n, example);
        }
        (case.check)(&before, &after);
    }
}

const OUT_OF_RANGE: &str = "counter(s) outside 0…2^53";
const NOT_A_NUMBER: &str = "non-numeric counter(s)";

#[tokio::test]
async fn counters_outside_0_to_2_pow_53_are_skipped_with_a_warning_naming_key_and_field() {
    let k2_today = format!("usage:daily:{K2}:{TODAY}");
    let sonnet_today = format!("usage:model:daily:{SONNET45}:{TODAY}");
    run_cases(vec![
        Case {
            // Read by today's sum and by the top keys' days: still one warning.
            name: "2^64 − 1 in a key's daily hash",
            edits: vec![cmd(&["HSET", &k2_today, "requests", U64_MAX])],
            warned: vec![(
                OUT_OF_RANGE,
                1,
                format!("{k2_today} field requests = \"{U64_MAX}\""),
            )],
            check: |b, a| {
                assert_eq!(a.usage_today.requests, b.usage_today.requests - 1);
                assert_eq!(a.usage_today.input_tokens, b.usage_today.input_tokens);
                let k2 = a.top_keys.iter().find(|k| k.id == K2).unwrap();
                assert_eq!(k2.requests, 0);
            },
        },
        Case {
            name: "2^63 + 391 in usage:global:total",
            edits: vec![cmd(&["HSET", "usage:global:total", "requests", PAST_2_63])],
            warned: vec![(
                OUT_OF_RANGE,
                1,
                format!("usage:global:total field requests = \"{PAST_2_63}\""),
            )],
            // Summed per key instead, as CRS does without a global total.
            check: |b, a| {
                assert_eq!(a.usage_total.requests, 3);
                assert_eq!(a.usage_total.input_tokens, b.usage_total.input_tokens);
            },
        },
        Case {
            name: "2^63 + 391 tokens in a metrics minute",
            edits: vec![cmd(&["HSET", &minute_key(), "totalTokens", PAST_2_63])],
            warned: vec![(OUT_OF_RANGE, 1, minute_key())],
            check: |b, a| {
                assert_eq!(a.realtime.rpm, b.realtime.rpm);
                assert_eq!(a.realtime.tpm, 0.0);
            },
        },
        Case {
            name: "negative tokens in a daily model hash",
            edits: vec![cmd(&["HSET", &sonnet_today, "inputTokens", "-5"])],
            warned: vec![(
                OUT_OF_RANGE,
                1,
                format!("{sonnet_today} field inputTokens = \"-5\""),
            )],
            check: |b, a| {
                assert_eq!(today_of(a).input_tokens, today_of(b).input_tokens - 1000);
                assert_eq!(today_of(a).requests, today_of(b).requests);
            },
        },
    ])
    .await;
}

#[tokio::test]
async fn non_numeric_counters_and_bad_costs_are_skipped_with_a_warning_naming_key_and_field() {
    let k1_today = format!("usage:daily:{K1}:{TODAY}");
    let gpt_today = format!("usage:model:daily:{GPT5}:{TODAY}");
    run_cases(vec![
        Case {
            name: "text in a key's daily requests",
            edits: vec![cmd(&["HSET", &k1_today, "requests", "12abc"])],
            warned: vec![(NOT_A_NUMBER, 1, format!("{k1_today} field requests"))],
            check: |b, a| assert_eq!(a.usage_today.requests, b.usage_today.requests - 1),
        },
        Case {
            name: "a fraction in a model's requests",
            edits: vec![cmd(&["HSET", &gpt_today, "requests", "1.5"])],
            warned: vec![(NOT_A_NUMBER, 1, format!("{gpt_today} field requests"))],
            check: |b, a| assert_eq!(today_of(a).requests, today_of(b).requests - 1),
        },
        Case {
            // Read by the range costs and by the limits: one warning.
            name: "a negative cost",
            edits: vec![cmd(&[
                "SET",
                &format!("usage:cost:daily:{K1}:{TODAY}"),
                "-1",
            ])],
            warned: vec![(
                "cost value(s) negative or above 2^53 micro-USD",
                1,
                format!("usage:cost:daily:{K1}:{TODAY} = \"-1\""),
            )],
            check: |_, a| assert_eq!(k1_limit(a).daily_cost_usd, 0.0),
        },
        Case {
            name: "a cost that is not a number",
            edits: vec![cmd(&["SET", &format!("usage:cost:total:{K1}"), "NaN"])],
            warned: vec![(
                "non-numeric cost value(s)",
                1,
                format!("usage:cost:total:{K1}"),
            )],
            check: |_, a| assert_eq!(k1_limit(a).total_cost_usd, 0.0),
        },
    ])
    .await;
}

#[tokio::test]
async fn sums_stop_at_2_pow_53_with_a_warning_instead_of_wrapping() {
    let url = fresh_db();
    seed(&url);
    let mut con = redis(&url);
    let k1_today = format!("usage:daily:{K1}:{TODAY}");
    run(
        &mut con,
        &["HSET", &k1_today, "requests", "9007199254740992"],
    );
    let s = snapshot(&url).await;
    assert_eq!(s.usage_today.requests, 1 << 53, "2^53 + 1 stops at 2^53");
    let k1 = s.top_keys.iter().find(|k| k.id == K1).unwrap();
    assert_eq!(k1.requests, 1 << 53, "K1's 2^53 + 1 over the range too");
    // Two sums stopped: today's, and K1's over the range.
    assert_warned(
        &s,
        "sum(s) stopped at 2^53 instead of overflowing",
        2,
        &format!("usage:daily:*:{TODAY}"),
    );
    assert_eq!(s.warnings.len(), 1, "{:?}", s.warnings);
}

#[tokio::test]
async fn wrong_typed_usage_hashes_are_skipped_with_one_warning_per_kind() {
    let sonnet_today = format!("usage:model:daily:{SONNET45}:{TODAY}");
    let k2_today = format!("usage:daily:{K2}:{TODAY}");
    let k1_model = format!("usage:{K1}:model:daily:{SONNET45}:{TODAY}");
    run_cases(vec![
        Case {
            name: "daily model hash",
            edits: vec![cmd(&["RETYPE", &sonnet_today, "list"])],
            warned: vec![("daily model hash(es) of the wrong type", 1, sonnet_today)],
            check: |b, a| assert_eq!(today_of(a).requests, today_of(b).requests - 1),
        },
        Case {
            // Read by today's sum and by the top keys' days: one warning.
            name: "key's daily hash",
            edits: vec![cmd(&["RETYPE", &k2_today, "set"])],
            warned: vec![("key daily usage hash(es) of the wrong type", 1, k2_today)],
            check: |b, a| assert_eq!(a.usage_today.requests, b.usage_today.requests - 1),
        },
        Case {
            name: "per-key model hash",
            edits: vec![cmd(&["RETYPE", &k1_model, "string"])],
            warned: vec![("per-key model hash(es) of the wrong type", 1, k1_model)],
            check: |b, a| assert_eq!(a.top_keys.len(), b.top_keys.len()),
        },
        Case {
            name: "metrics minute bucket",
            edits: vec![cmd(&["RETYPE", &minute_key(), "list"])],
            warned: vec![(
                "metrics minute bucket(s) of the wrong type",
                1,
                minute_key(),
            )],
            check: |_, a| assert_eq!((a.realtime.rpm, a.realtime.tpm), (0.0, 0.0)),
        },
        Case {
            name: "monthly model hash",
            edits: vec![cmd(&[
                "RETYPE",
                &format!("usage:model:monthly:{SONNET45}:{MONTH}"),
                "list",
            ])],
            warned: vec![(
                "monthly model hash(es) of the wrong type",
                1,
                format!("usage:model:monthly:{SONNET45}:{MONTH}"),
            )],
            check: |b, a| assert!(a.usage_total.cost_usd < b.usage_total.cost_usd),
        },
    ])
    .await;
}

#[tokio::test]
async fn wrong_typed_costs_and_records_are_skipped_with_one_warning_per_kind() {
    let cost_today = format!("usage:cost:daily:{K1}:{TODAY}");
    run_cases(vec![
        Case {
            // MGET answers nil for it; read by the range costs and by the limits: one warning.
            name: "cost counter",
            edits: vec![cmd(&["RETYPE", &cost_today, "hash"])],
            warned: vec![("cost value(s) of the wrong type", 1, cost_today)],
            check: |_, a| assert_eq!(k1_limit(a).daily_cost_usd, 0.0),
        },
        Case {
            name: "total cost and weekly Opus cost",
            edits: vec![
                cmd(&["RETYPE", &format!("usage:cost:total:{K1}"), "set"]),
                cmd(&["RETYPE", &opus_key(), "zset"]),
            ],
            warned: vec![(
                "cost value(s) of the wrong type",
                2,
                format!("usage:cost:total:{K1}"),
            )],
            check: |_, a| {
                assert_eq!(k1_limit(a).total_cost_usd, 0.0);
                assert_eq!(k1_limit(a).weekly_opus_cost_usd, 0.0);
            },
        },
        Case {
            name: "API key record",
            edits: vec![cmd(&["RETYPE", &format!("apikey:{K3}"), "list"])],
            warned: vec![(
                "API key record(s) of the wrong type",
                1,
                format!("apikey:{K3}"),
            )],
            check: |b, a| assert_eq!(a.api_keys.total, b.api_keys.total - 1),
        },
        Case {
            name: "account record",
            edits: vec![cmd(&["RETYPE", "claude_console_account:cc-ok", "string"])],
            warned: vec![(
                "account record(s) of the wrong type",
                1,
                "claude_console_account:cc-ok".into(),
            )],
            check: |_, a| assert_eq!(a.accounts["claude-console"].total, 0),
        },
    ])
    .await;
}

#[tokio::test]
async fn a_wrong_typed_global_total_is_summed_per_key_with_one_warning() {
    run_cases(vec![
        Case {
            // Made `snapshot` exit 1 before; now summed per key, as CRS does without it.
            name: "usage:global:total",
            edits: vec![cmd(&["RETYPE", "usage:global:total", "string"])],
            warned: vec![(
                "global total hash(es) of the wrong type",
                1,
                "usage:global:total".into(),
            )],
            check: |b, a| {
                assert_eq!(a.usage_total.requests, b.usage_total.requests);
                assert_eq!(a.usage_total.all_tokens, b.usage_total.all_tokens);
            },
        },
        Case {
            name: "usage:global:total and a key's lifetime hash",
            edits: vec![
                cmd(&["RETYPE", "usage:global:total", "string"]),
                cmd(&["RETYPE", &format!("usage:{K2}"), "list"]),
            ],
            warned: vec![
                (
                    "global total hash(es) of the wrong type",
                    1,
                    "usage:global:total".into(),
                ),
                (
                    "per-key lifetime hash(es) of the wrong type",
                    1,
                    format!("usage:{K2}"),
                ),
            ],
            check: |b, a| assert_eq!(a.usage_total.requests, b.usage_total.requests - 1),
        },
    ])
    .await;
}

#[tokio::test]
async fn wrong_typed_index_sets_are_skipped_with_one_warning_per_kind() {
    let index = "index set(s) of the wrong type";
    run_cases(vec![
        Case {
            // Found by SCAN instead, as on a relay without index sets.
            name: "account index",
            edits: vec![cmd(&["RETYPE", "claude:account:index", "string"])],
            warned: vec![(index, 1, "claude:account:index".into())],
            check: |b, a| assert_eq!(a.accounts["claude"], b.accounts["claude"]),
        },
        Case {
            // Silently zeroed today before; its keys are found by SCAN instead.
            name: "daily index",
            edits: vec![cmd(&[
                "RETYPE",
                &format!("usage:daily:index:{TODAY}"),
                "string",
            ])],
            warned: vec![(index, 1, format!("usage:daily:index:{TODAY}"))],
            check: |b, a| {
                assert_eq!(a.usage_today, b.usage_today);
                assert_eq!(a.top_keys, b.top_keys);
            },
        },
        Case {
            name: "model daily index",
            edits: vec![cmd(&[
                "RETYPE",
                &format!("usage:model:daily:index:{TODAY}"),
                "zset",
            ])],
            warned: vec![(index, 1, format!("usage:model:daily:index:{TODAY}"))],
            check: |b, a| {
                assert_eq!(a.trend, b.trend);
                assert_eq!(a.usage_today, b.usage_today);
            },
        },
        Case {
            name: "API key index",
            edits: vec![cmd(&["RETYPE", "apikey:idx:all", "hash"])],
            warned: vec![(index, 1, "apikey:idx:all".into())],
            check: |b, a| assert_eq!(a.api_keys, b.api_keys),
        },
        Case {
            name: "list of months",
            edits: vec![cmd(&["RETYPE", "usage:model:monthly:months", "string"])],
            warned: vec![(index, 1, "usage:model:monthly:months".into())],
            check: |b, a| assert_eq!(a.usage_total.requests, b.usage_total.requests),
        },
    ])
    .await;
}

#[tokio::test]
async fn a_key_name_that_is_not_utf8_does_not_fail_a_scan() {
    let url = fresh_db();
    seed(&url);
    let before = snapshot(&url).await;
    let mut con = redis(&url);
    // The daily index is a string, so today's hashes are found by SCAN, which meets this name.
    retype(&mut con, &format!("usage:daily:index:{TODAY}"), "string");
    redis::cmd("HSET")
        .arg(format!("usage:daily:odd-\u{fffd}:{TODAY}"))
        .arg("requests")
        .arg("1")
        .exec(&mut con)
        .unwrap();
    let mut name = b"usage:daily:".to_vec();
    name.extend_from_slice(&[0xff, 0xfe]);
    name.extend_from_slice(format!(":{TODAY}").as_bytes());
    redis::cmd("HSET")
        .arg(name.as_slice())
        .arg("requests")
        .arg("1")
        .exec(&mut con)
        .unwrap();
    let after = snapshot(&url).await;
    // The valid (if odd) name counts; the one that is not UTF-8 is left out.
    assert_eq!(after.usage_today.requests, before.usage_today.requests + 1);
    assert_eq!(after.warnings.len(), 1, "{:?}", after.warnings);
    assert_warned(
        &after,
        "index set(s) of the wrong type",
        1,
        &format!("usage:daily:index:{TODAY}"),
    );
}
