//! `CrsWriter::usage` for one event: every counter, cost, Opus key, account-usage hash and index set it leaves, spelled out by hand; rule: one focused test per family of keys, each on its own database.

use std::collections::BTreeMap;

use redis::{Commands, Connection};
use relaywatch_testkit::{fresh_db, CrsWriter};

use super::{at, con, event, hgetall, map, ttl, KEY};

const MODEL: &str = "claude-sonnet-4-20250514";

/// A fresh database holding [`event`] once, the writer that wrote it and a connection.
fn one_event() -> (CrsWriter, Connection) {
    let url = fresh_db();
    let mut w = CrsWriter::connect(&url);
    w.usage(&event());
    let c = con(&url);
    (w, c)
}

/// The fields of a daily, monthly or hourly hash after [`event`].
fn period() -> BTreeMap<String, String> {
    map(&[
        ("tokens", "1200"),
        ("inputTokens", "1000"),
        ("outputTokens", "200"),
        ("cacheCreateTokens", "300"),
        ("cacheReadTokens", "4000"),
        ("allTokens", "5500"),
        ("requests", "1"),
        ("ephemeral5mTokens", "300"),
        ("ephemeral1hTokens", "0"),
    ])
}

/// The fields of a per-model hash after [`event`].
fn model_counts() -> BTreeMap<String, String> {
    map(&[
        ("inputTokens", "1000"),
        ("outputTokens", "200"),
        ("cacheCreateTokens", "300"),
        ("cacheReadTokens", "4000"),
        ("allTokens", "5500"),
        ("requests", "1"),
        ("ephemeral5mTokens", "300"),
        ("ephemeral1hTokens", "0"),
    ])
}

fn get(c: &mut Connection, k: &str) -> Option<String> {
    c.get(k).unwrap()
}

fn members(c: &mut Connection, k: &str) -> Vec<String> {
    let mut v: Vec<String> = c.smembers(k).unwrap();
    v.sort();
    v
}

#[test]
fn usage_event_writes_the_key_total_and_period_hashes() {
    let (_w, mut c) = one_event();
    assert_eq!(
        hgetall(&mut c, &format!("usage:{KEY}")),
        map(&[
            ("totalTokens", "1200"),
            ("totalInputTokens", "1000"),
            ("totalOutputTokens", "200"),
            ("totalCacheCreateTokens", "300"),
            ("totalCacheReadTokens", "4000"),
            ("totalAllTokens", "5500"),
            ("totalEphemeral5mTokens", "300"),
            ("totalEphemeral1hTokens", "0"),
            ("totalRequests", "1"),
        ])
    );
    assert_eq!(ttl(&mut c, &format!("usage:{KEY}")), -1);

    let daily = format!("usage:daily:{KEY}:2026-03-05");
    assert_eq!(hgetall(&mut c, &daily), period());
    assert_eq!(
        hgetall(&mut c, &format!("usage:monthly:{KEY}:2026-03")),
        period()
    );
    assert_eq!(
        hgetall(&mut c, &format!("usage:hourly:{KEY}:2026-03-05:01")),
        period()
    );
    let t = ttl(&mut c, &daily);
    assert!(t > 32 * 86400 - 60 && t <= 32 * 86400, "daily ttl {t}");
    let t = ttl(&mut c, &format!("usage:hourly:{KEY}:2026-03-05:01"));
    assert!(t > 7 * 86400 - 60 && t <= 7 * 86400, "hourly ttl {t}");
}

#[test]
fn usage_event_writes_per_model_hashes_with_cost_micros() {
    let (_w, mut c) = one_event();
    let model = MODEL;
    let model_counts = model_counts();
    assert_eq!(
        hgetall(&mut c, &format!("usage:model:daily:{model}:2026-03-05")),
        model_counts
    );
    assert_eq!(
        hgetall(&mut c, &format!("usage:model:monthly:{model}:2026-03")),
        model_counts
    );
    assert_eq!(
        hgetall(&mut c, &format!("usage:model:hourly:{model}:2026-03-05:01")),
        model_counts
    );

    let mut with_cost = model_counts.clone();
    with_cost.insert("realCostMicro".into(), "12346".into());
    with_cost.insert("ratedCostMicro".into(), "18518".into());
    assert_eq!(
        hgetall(
            &mut c,
            &format!("usage:{KEY}:model:daily:{model}:2026-03-05")
        ),
        with_cost
    );
    assert_eq!(
        hgetall(
            &mut c,
            &format!("usage:{KEY}:model:monthly:{model}:2026-03")
        ),
        with_cost
    );
    assert_eq!(
        hgetall(
            &mut c,
            &format!("usage:{KEY}:model:hourly:{model}:2026-03-05:01")
        ),
        with_cost
    );
    let mut alltime = with_cost.clone();
    alltime.remove("allTokens");
    let alltime_key = format!("usage:{KEY}:model:alltime:{model}");
    assert_eq!(hgetall(&mut c, &alltime_key), alltime);
    assert_eq!(ttl(&mut c, &alltime_key), -1);
}

#[test]
fn usage_event_writes_minute_metrics_and_global_aggregates() {
    let (_w, mut c) = one_event();
    let minute_key = format!("system:metrics:minute:{}", at().timestamp() / 60);
    assert_eq!(
        hgetall(&mut c, &minute_key),
        map(&[
            ("requests", "1"),
            ("totalTokens", "5500"),
            ("inputTokens", "1000"),
            ("outputTokens", "200"),
            ("cacheCreateTokens", "300"),
            ("cacheReadTokens", "4000"),
        ])
    );
    let t = ttl(&mut c, &minute_key);
    assert!(t > 590 && t <= 600, "minute ttl {t}");

    let global = map(&[
        ("requests", "1"),
        ("inputTokens", "1000"),
        ("outputTokens", "200"),
        ("cacheCreateTokens", "300"),
        ("cacheReadTokens", "4000"),
        ("allTokens", "5500"),
        ("ephemeral5mTokens", "300"),
        ("ephemeral1hTokens", "0"),
    ]);
    assert_eq!(hgetall(&mut c, "usage:global:total"), global);
    assert_eq!(hgetall(&mut c, "usage:global:daily:2026-03-05"), global);
    assert_eq!(hgetall(&mut c, "usage:global:monthly:2026-03"), global);
}

#[test]
fn usage_event_writes_cost_strings_as_incrbyfloat_stores_them() {
    let (_w, mut c) = one_event();
    assert_eq!(
        get(&mut c, &format!("usage:cost:daily:{KEY}:2026-03-05")).as_deref(),
        Some("0.0185184")
    );
    assert_eq!(
        get(&mut c, &format!("usage:cost:monthly:{KEY}:2026-03")).as_deref(),
        Some("0.0185184")
    );
    assert_eq!(
        get(&mut c, &format!("usage:cost:hourly:{KEY}:2026-03-05:01")).as_deref(),
        Some("0.0185184")
    );
    assert_eq!(
        get(&mut c, &format!("usage:cost:total:{KEY}")).as_deref(),
        Some("0.0185184")
    );
    assert_eq!(
        get(&mut c, &format!("usage:cost:real:total:{KEY}")).as_deref(),
        Some("0.0123456")
    );
    assert_eq!(
        get(&mut c, &format!("usage:cost:real:daily:{KEY}:2026-03-05")).as_deref(),
        Some("0.0123456")
    );
    let t = ttl(&mut c, &format!("usage:cost:daily:{KEY}:2026-03-05"));
    assert!(t > 30 * 86400 - 60 && t <= 30 * 86400);
    assert_eq!(ttl(&mut c, &format!("usage:cost:total:{KEY}")), -1);
}

#[test]
fn usage_event_writes_weekly_opus_costs_for_a_claude_account() {
    let (_w, mut c) = one_event();
    // Weekly Opus: claude-official account, Claude model, reset Monday 00:00
    // -> the week starting Monday 2026-03-02.
    assert_eq!(
        get(&mut c, &format!("usage:opus:weekly:{KEY}:2026-03-02T00")).as_deref(),
        Some("0.0185184")
    );
    assert_eq!(
        get(
            &mut c,
            &format!("usage:opus:real:weekly:{KEY}:2026-03-02T00")
        )
        .as_deref(),
        Some("0.0123456")
    );
    assert_eq!(
        get(&mut c, &format!("usage:opus:total:{KEY}")).as_deref(),
        Some("0.0185184")
    );
    assert_eq!(
        get(&mut c, &format!("usage:opus:real:total:{KEY}")).as_deref(),
        Some("0.0123456")
    );
    let t = ttl(&mut c, &format!("usage:opus:weekly:{KEY}:2026-03-02T00"));
    assert!(t > 14 * 86400 - 60 && t <= 14 * 86400);
}

#[test]
fn usage_event_writes_account_usage() {
    let (_w, mut c) = one_event();
    let model = MODEL;
    let acct_total = map(&[
        ("totalTokens", "1200"),
        ("totalInputTokens", "1000"),
        ("totalOutputTokens", "200"),
        ("totalCacheCreateTokens", "300"),
        ("totalCacheReadTokens", "4000"),
        ("totalEphemeral5mTokens", "300"),
        ("totalEphemeral1hTokens", "0"),
        ("totalAllTokens", "5500"),
        ("totalRequests", "1"),
    ]);
    assert_eq!(hgetall(&mut c, "account_usage:acc-1"), acct_total);
    assert_eq!(
        hgetall(&mut c, "account_usage:daily:acc-1:2026-03-05"),
        period()
    );
    assert_eq!(
        hgetall(&mut c, "account_usage:monthly:acc-1:2026-03"),
        period()
    );
    let mut hourly = period();
    for (f, v) in [
        ("inputTokens", "1000"),
        ("outputTokens", "200"),
        ("cacheCreateTokens", "300"),
        ("cacheReadTokens", "4000"),
        ("ephemeral5mTokens", "300"),
        ("ephemeral1hTokens", "0"),
        ("allTokens", "5500"),
        ("requests", "1"),
    ] {
        hourly.insert(format!("model:{model}:{f}"), v.to_string());
    }
    assert_eq!(
        hgetall(&mut c, "account_usage:hourly:acc-1:2026-03-05:01"),
        hourly
    );
    assert_eq!(
        hgetall(
            &mut c,
            &format!("account_usage:model:daily:acc-1:{model}:2026-03-05")
        ),
        model_counts()
    );
}

#[test]
fn usage_event_fills_the_index_sets() {
    let (_w, mut c) = one_event();
    let model = MODEL;
    assert_eq!(members(&mut c, "usage:daily:index:2026-03-05"), vec![KEY]);
    assert_eq!(
        members(&mut c, "usage:hourly:index:2026-03-05:01"),
        vec![KEY]
    );
    assert_eq!(
        members(&mut c, "usage:model:daily:index:2026-03-05"),
        vec![model]
    );
    assert_eq!(
        members(&mut c, "usage:model:hourly:index:2026-03-05:01"),
        vec![model]
    );
    assert_eq!(
        members(&mut c, "usage:model:monthly:index:2026-03"),
        vec![model]
    );
    assert_eq!(
        members(&mut c, "usage:model:monthly:months"),
        vec!["2026-03"]
    );
    assert_eq!(
        members(&mut c, "usage:keymodel:daily:index:2026-03-05"),
        vec![format!("{KEY}:{model}")]
    );
    assert_eq!(
        members(&mut c, "usage:keymodel:hourly:index:2026-03-05:01"),
        vec![format!("{KEY}:{model}")]
    );
    assert_eq!(
        members(&mut c, "account_usage:daily:index:2026-03-05"),
        vec!["acc-1"]
    );
    assert_eq!(
        members(&mut c, "account_usage:model:daily:index:2026-03-05"),
        vec![format!("acc-1:{model}")]
    );
    assert_eq!(ttl(&mut c, "usage:model:monthly:months"), -1);
}

#[test]
fn a_second_identical_event_doubles_counters_and_costs() {
    let (mut w, mut c) = one_event();
    // A second identical event doubles the counters (HINCRBY) and the costs (INCRBYFLOAT).
    w.usage(&event());
    let daily = format!("usage:daily:{KEY}:2026-03-05");
    assert_eq!(
        hgetall(&mut c, &daily).get("requests").map(String::as_str),
        Some("2")
    );
    assert_eq!(
        get(&mut c, &format!("usage:cost:daily:{KEY}:2026-03-05")).as_deref(),
        Some("0.0370368")
    );
}
