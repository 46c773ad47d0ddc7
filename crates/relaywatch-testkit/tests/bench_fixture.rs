//! Checks `fixtures::seed_bench` against a request-by-request replay through `CrsWriter`; rule: the aggregated seed must hold the same usage keys and values as the replay, minus only keys CRS's TTLs would already have removed.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, TimeZone, Utc};
use redis::{Commands, Connection};
use relaywatch_testkit::fixtures::{
    bench_account_index, bench_accounts, bench_cell, bench_model, bench_request, seed_bench,
    seed_bench_with, BenchConfig, SeedReport,
};
use relaywatch_testkit::{fresh_db, CrsWriter, UsageEvent};

fn con(url: &str) -> Connection {
    redis::Client::open(url).unwrap().get_connection().unwrap()
}

fn all_keys(c: &mut Connection) -> BTreeSet<String> {
    let keys: Vec<String> = c.keys("*").unwrap();
    keys.into_iter()
        .filter(|k| {
            k.starts_with("usage:") || k.starts_with("account_usage:") || k.starts_with("system:")
        })
        .collect()
}

fn key_type(c: &mut Connection, key: &str) -> String {
    redis::cmd("TYPE").arg(key).query(c).unwrap()
}

/// Every request of the bench's traffic, one `CrsWriter::usage` call each, into `url`.
fn replay(url: &str, keys: usize, days: usize, models: usize, now: DateTime<Utc>) {
    let accounts = bench_accounts();
    let mut w = CrsWriter::connect(url).buffered(true);
    for k in 0..keys {
        let (_, account, account_type) = &accounts[bench_account_index(k)];
        for d in 0..days {
            for m in 0..models {
                let (n, one) = bench_request(k, d, m);
                let ev = UsageEvent::new(
                    relaywatch_testkit::fixtures::bench_key_id(k),
                    bench_model(m),
                    now - Duration::days(d as i64),
                )
                .tokens(
                    one.input as u64,
                    one.output as u64,
                    one.cache_create as u64,
                    one.cache_read as u64,
                )
                .ephemeral(one.ephemeral_5m as u64, one.ephemeral_1h as u64)
                .cost(one.real_usd, one.rated_usd)
                .account(account.clone(), *account_type);
                for _ in 0..n {
                    w.usage(&ev);
                }
            }
        }
    }
    w.flush();
}

/// `key` has the same type and value in the seed (`a`) and the replay (`b`), and no more TTL.
fn assert_same_key(a: &mut Connection, b: &mut Connection, key: &str) {
    let ta = key_type(a, key);
    assert_eq!(ta, key_type(b, key), "type of {key}");
    match ta.as_str() {
        "hash" => {
            let ha: BTreeMap<String, String> = a.hgetall(key).unwrap();
            let hb: BTreeMap<String, String> = b.hgetall(key).unwrap();
            assert_eq!(ha, hb, "hash {key}");
        }
        "set" => {
            let sa: BTreeSet<String> = a.smembers(key).unwrap();
            let sb: BTreeSet<String> = b.smembers(key).unwrap();
            assert_eq!(sa, sb, "set {key}");
        }
        "string" => {
            let va: String = a.get(key).unwrap();
            let vb: String = b.get(key).unwrap();
            let (fa, fb): (f64, f64) = (va.parse().unwrap(), vb.parse().unwrap());
            assert!(
                (fa - fb).abs() <= 1e-9 * fb.abs().max(1.0),
                "{key}: {va} vs {vb}"
            );
        }
        other => panic!("unexpected type {other} for {key}"),
    }
    let (tla, tlb): (i64, i64) = (a.ttl(key).unwrap(), b.ttl(key).unwrap());
    assert_eq!(tla == -1, tlb == -1, "persistence of {key}: {tla} vs {tlb}");
    assert!(
        tla <= tlb + 5,
        "{key}: seeded TTL {tla} above replay TTL {tlb}"
    );
}

/// The report's totals add up, and its key count, accounts and key index match the database.
fn assert_report_adds_up(
    report: &SeedReport,
    a: &mut Connection,
    (keys, days, models): (usize, usize, usize),
) {
    let mut requests = 0;
    for k in 0..keys {
        for d in 0..days {
            for m in 0..models {
                requests += bench_cell(k, d, m).requests;
            }
        }
    }
    assert_eq!(report.totals.requests, requests);
    let global: BTreeMap<String, String> = a.hgetall("usage:global:total").unwrap();
    assert_eq!(global["requests"], requests.to_string());
    let dbsize: u64 = redis::cmd("DBSIZE").query(a).unwrap();
    assert_eq!(report.redis_keys, dbsize);
    assert!(report.accounts.len() >= 10);
    let claude: Vec<String> = a.smembers("claude:account:index").unwrap();
    assert_eq!(claude.len(), 8);
    let key_index: Vec<String> = a.smembers("apikey:idx:all").unwrap();
    assert_eq!(key_index.len(), keys);
}

#[test]
fn seed_matches_request_by_request_replay() {
    // 10:00 UTC on 2026-03-03 = 18:00 at UTC+8; nine days back crosses a
    // month, an Opus week and the 7-day hourly horizon.
    let now = Utc.with_ymd_and_hms(2026, 3, 3, 10, 0, 0).unwrap();
    let (keys, days, models) = (6, 9, 4);

    let seeded = fresh_db();
    let report = seed_bench(&seeded, keys, days, models, now);
    assert_eq!(report.key_ids.len(), keys);
    assert_eq!(report.dates[0], "2026-03-03");
    assert_eq!(report.dates[8], "2026-02-23");

    let replayed = fresh_db();
    replay(&replayed, keys, days, models, now);

    let mut a = con(&seeded);
    let mut b = con(&replayed);
    let a_keys = all_keys(&mut a);
    let b_keys = all_keys(&mut b);
    assert!(!a_keys.is_empty());

    for key in &a_keys {
        assert!(
            b_keys.contains(key),
            "seeded key {key} is not written by a replay"
        );
        assert_same_key(&mut a, &mut b, key);
    }

    // Keys only the replay has are the ones CRS's TTLs would have removed by `now`.
    let recent: Vec<&String> = report.dates.iter().take(7).collect();
    let today_minute = format!("system:metrics:minute:{}", now.timestamp() / 60);
    for key in b_keys.difference(&a_keys) {
        let hourly = key.contains(":hourly:");
        let old_hourly = hourly && !recent.iter().any(|d| key.contains(&format!("{d}:")));
        let old_minute = key.starts_with("system:metrics:minute:") && *key != today_minute;
        assert!(
            old_hourly || old_minute,
            "replay-only key {key} should have been seeded"
        );
    }

    assert_report_adds_up(&report, &mut a, (keys, days, models));
}

#[test]
fn restore_and_hset_paths_write_the_same_data() {
    let now = Utc.with_ymd_and_hms(2026, 1, 31, 20, 0, 0).unwrap();
    let fast = fresh_db();
    let report = seed_bench(&fast, 5, 4, 3, now);
    assert!(
        report.used_restore,
        "redis-server >= 7.0 takes the DUMP payloads"
    );
    let slow = fresh_db();
    let mut cfg = BenchConfig::new(5, 4, 3, now);
    cfg.use_restore = false;
    cfg.workers = 1;
    let slow_report = seed_bench_with(&slow, &cfg);
    assert!(!slow_report.used_restore);
    assert_eq!(report.redis_keys, slow_report.redis_keys);

    let mut a = con(&fast);
    let mut b = con(&slow);
    let everything: Vec<String> = a.keys("*").unwrap();
    for key in everything {
        let t = key_type(&mut a, &key);
        assert_eq!(t, key_type(&mut b, &key), "{key}");
        if t == "hash" && !key.starts_with("apikey:") && !key.contains("account:") {
            let ha: BTreeMap<String, String> = a.hgetall(&key).unwrap();
            let hb: BTreeMap<String, String> = b.hgetall(&key).unwrap();
            assert_eq!(ha, hb, "{key}");
            let encoding: String = redis::cmd("OBJECT")
                .arg("ENCODING")
                .arg(&key)
                .query(&mut a)
                .unwrap();
            assert_eq!(encoding, "listpack", "{key}");
        }
        let (ta, tb): (i64, i64) = (a.ttl(&key).unwrap(), b.ttl(&key).unwrap());
        assert!((ta - tb).abs() <= 5, "{key}: {ta} vs {tb}");
    }
}
