//! Checks that `CrsWriter` leaves exactly CRS's keys, fields and encodings in a real redis-server; rule: expected values are spelled out by hand from upstream's code, never computed by the code under test.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use redis::{Commands, Connection};
use relaywatch_testkit::{
    fresh_db, AccountSpec, ApiKeySpec, CrsWriter, OpusWeek, Platform, UsageEvent,
};

mod usage;

fn con(url: &str) -> Connection {
    redis::Client::open(url).unwrap().get_connection().unwrap()
}

fn hgetall(c: &mut Connection, key: &str) -> BTreeMap<String, String> {
    c.hgetall(key).unwrap()
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn keys(c: &mut Connection, pattern: &str) -> Vec<String> {
    let mut v: Vec<String> = c.keys(pattern).unwrap();
    v.sort();
    v
}

fn key_type(c: &mut Connection, key: &str) -> String {
    redis::cmd("TYPE").arg(key).query(c).unwrap()
}

fn ttl(c: &mut Connection, key: &str) -> i64 {
    c.ttl(key).unwrap()
}

/// 2026-03-04 17:30:10 UTC = 2026-03-05 01:30 at UTC+8 (a Thursday).
fn at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 4, 17, 30, 10).unwrap()
}

const KEY: &str = "11111111-2222-4333-8444-555555555555";

fn event() -> UsageEvent {
    UsageEvent::new(KEY, "us.anthropic.claude-sonnet-4-20250514-v1:0", at())
        .tokens(1000, 200, 300, 4000)
        .ephemeral(300, 0)
        .cost(0.0123456, 0.0185184)
        .account("acc-1", "claude-official")
}

#[test]
fn options_turn_index_global_micro_and_alltime_keys_off() {
    let url = fresh_db();
    let mut w = CrsWriter::connect(&url)
        .with_indexes(false)
        .with_global_aggregates(false)
        .with_cost_micros(false)
        .with_alltime_model_stats(false);
    w.usage(&event());
    w.account(Platform::Claude, "acc-1", &AccountSpec::new("A"));
    w.api_key(&ApiKeySpec::new(KEY, "k", at()).tags(&["x"]));
    let mut c = con(&url);
    assert!(
        keys(&mut c, "*index*").is_empty(),
        "{:?}",
        keys(&mut c, "*index*")
    );
    assert!(keys(&mut c, "usage:global:*").is_empty());
    assert!(keys(&mut c, "*alltime*").is_empty());
    assert!(keys(&mut c, "usage:model:monthly:months").is_empty());
    assert!(keys(&mut c, "apikey:idx:*").is_empty());
    assert!(keys(&mut c, "apikey:set:*").is_empty());
    assert!(keys(&mut c, "apikey:tag*").is_empty());
    let daily = hgetall(
        &mut c,
        &format!("usage:{KEY}:model:daily:claude-sonnet-4-20250514:2026-03-05"),
    );
    assert!(!daily.contains_key("realCostMicro") && !daily.contains_key("ratedCostMicro"));
    assert_eq!(daily.get("requests").map(String::as_str), Some("1"));
    // The data keys are still there.
    assert_eq!(
        key_type(&mut c, &format!("usage:daily:{KEY}:2026-03-05")),
        "hash"
    );
    assert_eq!(key_type(&mut c, "claude:account:acc-1"), "hash");
}

#[test]
fn index_sets_present_when_on() {
    let url = fresh_db();
    let mut w = CrsWriter::connect(&url);
    w.usage(&event());
    let mut c = con(&url);
    let idx = keys(&mut c, "*index*");
    assert_eq!(
        idx,
        vec![
            "account_usage:daily:index:2026-03-05",
            "account_usage:hourly:index:2026-03-05:01",
            "account_usage:model:daily:index:2026-03-05",
            "account_usage:model:hourly:index:2026-03-05:01",
            "usage:daily:index:2026-03-05",
            "usage:hourly:index:2026-03-05:01",
            "usage:keymodel:daily:index:2026-03-05",
            "usage:keymodel:hourly:index:2026-03-05:01",
            "usage:model:daily:index:2026-03-05",
            "usage:model:hourly:index:2026-03-05:01",
            "usage:model:monthly:index:2026-03",
        ]
    );
    for k in idx {
        assert_eq!(key_type(&mut c, &k), "set", "{k}");
    }
}

#[test]
fn bedrock_account_is_a_json_string_with_real_booleans() {
    let url = fresh_db();
    let mut w = CrsWriter::connect(&url);
    let created = at();
    w.account(
        Platform::Bedrock,
        "br-1",
        &AccountSpec::new("Bedrock One")
            .schedulable(false)
            .created_at(created),
    );
    let mut c = con(&url);
    assert_eq!(key_type(&mut c, "bedrock_account:br-1"), "string");
    let raw: String = c.get("bedrock_account:br-1").unwrap();
    let doc: serde_json::Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(doc["id"], "br-1");
    assert_eq!(doc["name"], "Bedrock One");
    assert_eq!(doc["isActive"], serde_json::Value::Bool(true));
    assert_eq!(doc["schedulable"], serde_json::Value::Bool(false));
    assert_eq!(doc["type"], "bedrock");
    assert_eq!(doc["priority"], serde_json::json!(50));
    assert_eq!(doc["createdAt"], "2026-03-04T17:30:10.000Z");
    assert!(doc.get("status").is_none());
    let index: Vec<String> = c.smembers("bedrock_account:index").unwrap();
    assert_eq!(index, vec!["br-1"]);
}

#[test]
fn hash_accounts_use_crs_prefixes_and_string_booleans() {
    let url = fresh_db();
    let mut w = CrsWriter::connect(&url);
    let limited_at = at();
    let end = Utc.with_ymd_and_hms(2026, 3, 4, 18, 30, 10).unwrap();
    for p in Platform::ALL {
        w.account(
            p,
            "a1",
            &AccountSpec::new("n").rate_limited(limited_at, Some(end)),
        );
    }
    let mut c = con(&url);
    let expected = [
        (Platform::Claude, "claude:account:a1"),
        (Platform::ClaudeConsole, "claude_console_account:a1"),
        (Platform::Gemini, "gemini_account:a1"),
        (Platform::GeminiApi, "gemini_api_account:a1"),
        (Platform::OpenAi, "openai:account:a1"),
        (Platform::OpenAiResponses, "openai_responses_account:a1"),
        (Platform::AzureOpenAi, "azure_openai:account:a1"),
        (Platform::Bedrock, "bedrock_account:a1"),
        (Platform::Ccr, "ccr_account:a1"),
        (Platform::Droid, "droid:account:a1"),
    ];
    for (p, key) in expected {
        let index = key.replace("a1", "index");
        let members: Vec<String> = c.smembers(&index).unwrap();
        assert_eq!(members, vec!["a1"], "{index}");
        if p == Platform::Bedrock {
            continue;
        }
        assert_eq!(key_type(&mut c, key), "hash", "{key}");
        let h = hgetall(&mut c, key);
        assert_eq!(h["isActive"], "true", "{key}");
        assert_eq!(h["schedulable"], "true", "{key}");
        assert_eq!(h["status"], "active", "{key}");
        assert_eq!(h["rateLimitStatus"], "limited", "{key}");
        assert_eq!(h["rateLimitedAt"], "2026-03-04T17:30:10.000Z", "{key}");
        assert_eq!(h["rateLimitEndAt"], "2026-03-04T18:30:10.000Z", "{key}");
    }
}

#[test]
fn api_key_hash_and_indexes() {
    let url = fresh_db();
    let mut w = CrsWriter::connect(&url);
    let created = at();
    let spec = ApiKeySpec::new(KEY, "Team Alpha", created)
        .tags(&["prod", "team-a"])
        .daily_cost_limit(12.5)
        .total_cost_limit(100.0)
        .service_rates(serde_json::json!({"claude": 1.5}))
        .weekly_reset(3, 9);
    w.api_key(&spec);
    let deleted = ApiKeySpec::new("dead-key", "Old", created)
        .deleted_at(created)
        .tags(&["prod"]);
    w.api_key(&deleted);
    w.api_key(&ApiKeySpec::new("off-key", "Off", created).active(false));

    let mut c = con(&url);
    let h = hgetall(&mut c, &format!("apikey:{KEY}"));
    assert_eq!(h["id"], KEY);
    assert_eq!(h["name"], "Team Alpha");
    assert_eq!(h["isActive"], "true");
    assert_eq!(h["createdAt"], "2026-03-04T17:30:10.000Z");
    assert_eq!(h["lastUsedAt"], "");
    assert_eq!(h["dailyCostLimit"], "12.5");
    assert_eq!(h["totalCostLimit"], "100");
    assert_eq!(h["weeklyOpusCostLimit"], "0");
    assert_eq!(h["tags"], r#"["prod","team-a"]"#);
    assert_eq!(h["serviceRates"], r#"{"claude":1.5}"#);
    assert_eq!(h["permissions"], "[]");
    assert_eq!(h["weeklyResetDay"], "3");
    assert_eq!(h["weeklyResetHour"], "9");
    assert!(!h.contains_key("isDeleted"));
    assert_eq!(h["apiKey"].len(), 64);
    let t = ttl(&mut c, &format!("apikey:{KEY}"));
    assert!(t > 365 * 86400 - 60 && t <= 365 * 86400);

    let dead = hgetall(&mut c, "apikey:dead-key");
    assert_eq!(dead["isDeleted"], "true");
    assert_eq!(dead["isActive"], "false");
    assert_eq!(dead["deletedAt"], "2026-03-04T17:30:10.000Z");

    let hash_map: BTreeMap<String, String> = c.hgetall("apikey:hash_map").unwrap();
    let mut ids: Vec<&String> = hash_map.values().collect();
    ids.sort();
    assert_eq!(ids, vec![KEY, "off-key"]);

    let sorted = |c: &mut Connection, k: &str| -> Vec<String> {
        let mut v: Vec<String> = c.smembers(k).unwrap();
        v.sort();
        v
    };
    assert_eq!(
        sorted(&mut c, "apikey:idx:all"),
        vec![
            "11111111-2222-4333-8444-555555555555",
            "dead-key",
            "off-key"
        ]
    );
    assert_eq!(sorted(&mut c, "apikey:set:active"), vec![KEY]);
    assert_eq!(sorted(&mut c, "apikey:set:deleted"), vec!["dead-key"]);
    assert_eq!(sorted(&mut c, "apikey:tags:all"), vec!["prod", "team-a"]);
    assert_eq!(sorted(&mut c, "apikey:tag:prod"), vec![KEY]);
    let score: f64 = c.zscore("apikey:idx:createdAt", KEY).unwrap();
    assert_eq!(score as i64, created.timestamp_millis());
    let name_members: Vec<String> = c.zrange("apikey:idx:name", 0, -1).unwrap();
    assert!(name_members.contains(&format!("team alpha\u{0}{KEY}")));
    let version: String = c.get("apikey:index:version").unwrap();
    assert_eq!(version, "2");

    // The weekly reset of the key decides the Opus period name.
    w.usage(&event());
    let weekly = keys(&mut c, &format!("usage:opus:weekly:{KEY}:*"));
    // Local time is Thursday 2026-03-05 01:30; reset Wednesday 09:00 -> 2026-03-04T09.
    assert_eq!(
        weekly,
        vec![format!("usage:opus:weekly:{KEY}:2026-03-04T09")]
    );
}

#[test]
fn opus_keys_only_for_claude_accounts_and_models() {
    let url = fresh_db();
    let mut w = CrsWriter::connect(&url);
    w.usage(
        &UsageEvent::new("k1", "gpt-5", at())
            .tokens(10, 10, 0, 0)
            .cost(0.5, 0.5)
            .account("o", "openai"),
    );
    w.usage(
        &UsageEvent::new("k2", "gpt-5", at())
            .tokens(10, 10, 0, 0)
            .cost(0.5, 0.5)
            .account("c", "claude-console"),
    );
    w.usage(
        &UsageEvent::new("k3", "claude-opus-4-1-20250805", at())
            .tokens(10, 10, 0, 0)
            .cost(0.5, 0.5)
            .account("r", "ccr"),
    );
    // No cost: no cost keys at all.
    w.usage(
        &UsageEvent::new("k4", "claude-opus-4-1-20250805", at())
            .tokens(10, 10, 0, 0)
            .account("c", "claude-console"),
    );
    let mut c = con(&url);
    assert_eq!(
        keys(&mut c, "usage:opus:weekly:*"),
        vec!["usage:opus:weekly:k3:2026-03-02T00"]
    );
    assert!(keys(&mut c, "usage:cost:*:k4*").is_empty());
    assert_eq!(keys(&mut c, "usage:cost:total:*").len(), 3);
}

#[test]
fn legacy_writer_uses_iso_weeks_and_no_new_structures() {
    let url = fresh_db();
    let mut w = CrsWriter::connect(&url).legacy();
    w.usage(&event());
    let mut c = con(&url);
    // Thursday 2026-03-05 at UTC+8: ISO week 10.
    assert_eq!(
        keys(&mut c, "usage:opus:weekly:*"),
        vec![format!("usage:opus:weekly:{KEY}:2026-W10")]
    );
    assert!(keys(&mut c, "*alltime*").is_empty());
    assert!(keys(&mut c, "usage:global:*").is_empty());
    assert!(keys(&mut c, "*index*").is_empty());

    let w2 = CrsWriter::connect(&url).opus_week(OpusWeek::ResetPeriod);
    assert_eq!(w2.options().opus_week, OpusWeek::ResetPeriod);
}

#[test]
fn tz_offset_changes_buckets_and_zero_means_eight() {
    let url = fresh_db();
    let mut w = CrsWriter::connect(&url).tz_offset_hours(-5);
    w.usage(&UsageEvent::new("k", "gpt-5", at()).tokens(1, 1, 0, 0));
    let mut w0 = CrsWriter::connect(&url).tz_offset_hours(0);
    w0.usage(&UsageEvent::new("z", "gpt-5", at()).tokens(1, 1, 0, 0));
    let mut c = con(&url);
    assert_eq!(
        keys(&mut c, "usage:daily:k:*"),
        vec!["usage:daily:k:2026-03-04"]
    );
    assert_eq!(
        keys(&mut c, "usage:hourly:k:*"),
        vec!["usage:hourly:k:2026-03-04:12"]
    );
    assert_eq!(
        keys(&mut c, "usage:daily:z:*"),
        vec!["usage:daily:z:2026-03-05"]
    );
}

#[test]
fn output_quirk_and_long_context_fields() {
    let url = fresh_db();
    let mut w = CrsWriter::connect(&url);
    // No input, no output: CRS books the whole total as output.
    w.usage(&UsageEvent::new("q", "claude-sonnet-4-20250514", at()).tokens(0, 0, 100, 50));
    w.usage(
        &UsageEvent::new("l", "claude-sonnet-4-20250514[1m]", at())
            .tokens(250_000, 10, 0, 0)
            .long_context(true),
    );
    let mut c = con(&url);
    let q = hgetall(&mut c, "usage:daily:q:2026-03-05");
    assert_eq!(q["outputTokens"], "150");
    assert_eq!(q["allTokens"], "300");
    assert_eq!(q["tokens"], "150");
    let l = hgetall(&mut c, "usage:daily:l:2026-03-05");
    assert_eq!(l["longContextInputTokens"], "250000");
    assert_eq!(l["longContextOutputTokens"], "10");
    assert_eq!(l["longContextRequests"], "1");
    let total = hgetall(&mut c, "usage:l");
    assert_eq!(total["totalLongContextRequests"], "1");
    assert!(!hgetall(&mut c, "usage:monthly:l:2026-03").contains_key("longContextRequests"));
    assert_eq!(
        key_type(
            &mut c,
            "usage:model:daily:claude-sonnet-4-20250514[1m]:2026-03-05"
        ),
        "hash"
    );
}

#[test]
fn minute_metrics_and_raw_helpers() {
    let url = fresh_db();
    let mut w = CrsWriter::connect(&url);
    w.minute_metrics(at(), 3, 10, 20, 30, 40);
    w.raw_hset("usage:daily:bad:2026-03-05", "requests", "not-a-number");
    w.raw_set("apikey:broken", "just a string");
    w.raw_sadd("usage:daily:index:2026-03-05", "ghost");
    w.raw_set("gone", "x").raw_del("gone");
    let mut c = con(&url);
    let m = hgetall(
        &mut c,
        &format!("system:metrics:minute:{}", at().timestamp() / 60),
    );
    assert_eq!(
        m,
        map(&[
            ("requests", "3"),
            ("totalTokens", "100"),
            ("inputTokens", "10"),
            ("outputTokens", "20"),
            ("cacheCreateTokens", "30"),
            ("cacheReadTokens", "40"),
        ])
    );
    assert_eq!(
        hgetall(&mut c, "usage:daily:bad:2026-03-05")["requests"],
        "not-a-number"
    );
    assert_eq!(key_type(&mut c, "apikey:broken"), "string");
    assert_eq!(key_type(&mut c, "gone"), "none");
}

#[test]
fn buffered_writer_sends_on_flush() {
    let url = fresh_db();
    let mut w = CrsWriter::connect(&url).buffered(true);
    let events: Vec<UsageEvent> = (0..50)
        .map(|i| UsageEvent::new(format!("k{i}"), "gpt-5", at()).tokens(1, 2, 0, 0))
        .collect();
    w.usage_many(&events);
    let mut c = con(&url);
    assert!(keys(&mut c, "usage:daily:*").is_empty());
    w.flush();
    assert_eq!(hgetall(&mut c, "usage:global:total")["requests"], "50");
}
