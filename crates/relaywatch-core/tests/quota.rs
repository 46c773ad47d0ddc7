//! The quota rule against a real redis-server seeded as CRS writes: costs read for every period,
//! 80 → 100 % escalation with three instances evaluating at once (each level sent once, nothing
//! in later runs), the relay-day rollover's "back under", and keys crossing together grouped.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, TimeZone, Utc};
use relaywatch_core::config::quota::{QuotaLimitSetting, QuotaPeriod, QuotaSettings};
use relaywatch_core::config::Settings;
use relaywatch_core::daemon::quota::run_once;
use relaywatch_core::render::message::AlertState;
use relaywatch_core::rules::{Alert, AlertPayload};
use relaywatch_core::source::crs::quota::read_key_costs;
use relaywatch_core::source::open;
use relaywatch_core::source::redis_io::{connect, Conn};
use relaywatch_core::store::quota::QuotaStore;
use relaywatch_core::tz::RelayTz;
use relaywatch_testkit::{fresh_db, ApiKeySpec, CrsWriter, UsageEvent};

const SONNET: &str = "claude-sonnet-4-5-20250929";

fn tz() -> RelayTz {
    RelayTz::from_config(8)
}

/// 2026-11-22 (a Sunday) at `h`:`m` on the relay's clock (+08:00); h may pass 24.
fn at(h: i64, m: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 16, 0, 0).unwrap()
        + Duration::hours(h)
        + Duration::minutes(m)
}

/// Settings reading CRS at `url` (+08:00) with `quota` as the rule's settings.
fn crs(url: &str, quota: &QuotaSettings) -> Settings {
    let mut s = Settings::default();
    s.source.redis_url = Some(url.to_string());
    s.source.timezone_offset_hours = 8;
    s.rules.quota = quota.clone();
    s
}

async fn conn(url: &str) -> Conn {
    connect(url, StdDuration::from_secs(5)).await.unwrap()
}

fn spend(w: &mut CrsWriter, key: &str, when: DateTime<Utc>, usd: f64) {
    w.usage(
        &UsageEvent::new(key, SONNET, when)
            .tokens(1000, 500, 0, 0)
            .cost(usd, usd),
    );
}

fn items(alerts: &[Alert]) -> Vec<(String, u32, AlertState)> {
    alerts
        .iter()
        .flat_map(|a| match &a.payload {
            AlertPayload::Quota { items } => items
                .iter()
                .map(|i| (i.key_id.clone(), i.threshold_pct, a.state))
                .collect::<Vec<_>>(),
            _ => Vec::new(),
        })
        .collect()
}

/// Three instances (own connections) evaluating at the same moment; every alert they would send.
async fn three_instances(url: &str, settings: &QuotaSettings, now: DateTime<Utc>) -> Vec<Alert> {
    let s = crs(url, settings);
    let r = [open(&s), open(&s), open(&s)];
    let mut st = [
        QuotaStore::new(conn(url).await, "rw:"),
        QuotaStore::new(conn(url).await, "rw:"),
        QuotaStore::new(conn(url).await, "rw:"),
    ];
    let [r0, r1, r2] = &r;
    let [t0, t1, t2] = &mut st;
    let (a, b, c) = tokio::join!(
        run_once(r0, t0, &s, now),
        run_once(r1, t1, &s, now),
        run_once(r2, t2, &s, now),
    );
    let mut all = a.unwrap();
    all.extend(b.unwrap());
    all.extend(c.unwrap());
    all
}

#[tokio::test]
async fn escalation_80_then_100_is_two_messages_across_three_instances() {
    let url = fresh_db();
    let mut w = CrsWriter::connect(&url);
    w.api_key(&ApiKeySpec::new("k1", "backend-prod", at(-48, 0)).daily_cost_limit(10.0));
    let settings = QuotaSettings::default();

    spend(&mut w, "k1", at(9, 0), 5.0);
    assert!(three_instances(&url, &settings, at(9, 5)).await.is_empty());

    spend(&mut w, "k1", at(10, 0), 3.5);
    let sent = three_instances(&url, &settings, at(10, 5)).await;
    assert_eq!(items(&sent), [("k1".into(), 80, AlertState::Firing)]);
    assert!(three_instances(&url, &settings, at(11, 5)).await.is_empty());

    spend(&mut w, "k1", at(12, 0), 2.0);
    let sent = three_instances(&url, &settings, at(12, 5)).await;
    assert_eq!(items(&sent), [("k1".into(), 100, AlertState::Firing)]);
    let AlertPayload::Quota { items: rows } = &sent[0].payload else {
        panic!()
    };
    assert_eq!(rows[0].period, "2026-11-22");
    assert_eq!(rows[0].limit, "daily");
    assert!((rows[0].cost_usd - 10.5).abs() < 1e-9);
    for h in [13, 14, 20] {
        assert!(three_instances(&url, &settings, at(h, 5)).await.is_empty());
    }
}

#[tokio::test]
async fn relay_midnight_brings_back_under_once() {
    let url = fresh_db();
    let mut w = CrsWriter::connect(&url);
    w.api_key(&ApiKeySpec::new("k1", "night-owl", at(-48, 0)).daily_cost_limit(10.0));
    let settings = QuotaSettings::default();
    spend(&mut w, "k1", at(23, 40), 12.0);
    let sent = three_instances(&url, &settings, at(23, 50)).await;
    assert_eq!(items(&sent), [("k1".into(), 100, AlertState::Firing)]);
    // 00:10 on the relay's clock is still 2026-11-22 in UTC.
    spend(&mut w, "k1", at(24, 5), 0.5);
    let sent = three_instances(&url, &settings, at(24, 10)).await;
    assert_eq!(items(&sent), [("k1".into(), 100, AlertState::Resolved)]);
    let AlertPayload::Quota { items: rows } = &sent[0].payload else {
        panic!()
    };
    assert_eq!(rows[0].period, "2026-11-23");
    assert!(three_instances(&url, &settings, at(25, 10))
        .await
        .is_empty());
}

#[tokio::test]
async fn keys_crossing_together_are_one_grouped_message() {
    let url = fresh_db();
    let mut w = CrsWriter::connect(&url);
    for k in ["k1", "k2", "k3"] {
        w.api_key(&ApiKeySpec::new(k, format!("name-{k}"), at(-48, 0)).daily_cost_limit(10.0));
        spend(&mut w, k, at(9, 0), 8.5);
    }
    w.api_key(&ApiKeySpec::new("k4", "quiet", at(-48, 0)).daily_cost_limit(10.0));
    spend(&mut w, "k4", at(9, 0), 1.0);
    let sent = three_instances(&url, &QuotaSettings::default(), at(9, 30)).await;
    assert_eq!(sent.len(), 1, "{sent:#?}");
    let keys: Vec<String> = items(&sent).into_iter().map(|i| i.0).collect();
    assert_eq!(keys, ["k1", "k2", "k3"]);
}

/// k1 (tagged, a weekly Opus limit) spending this week, this month, 6 h and 1 h ago and on
/// Opus; k2 (no limit) and k3 (limited by name) spending now.
fn seed_every_period(w: &mut CrsWriter) {
    w.api_key(
        &ApiKeySpec::new("k1", "tagged", at(-400, 0))
            .tags(&["team-a"])
            .weekly_opus_cost_limit(50.0)
            .weekly_reset(1, 0),
    );
    w.api_key(&ApiKeySpec::new("k2", "unlimited", at(-400, 0)));
    w.api_key(&ApiKeySpec::new("k3", "by-name", at(-400, 0)));
    // Sunday 2026-11-22: earlier this week (Monday 16th), earlier this month, 6 h ago, 1 h ago.
    spend(w, "k1", at(-144, 0), 1.0);
    spend(w, "k1", at(-20 * 24, 0), 2.0);
    spend(w, "k1", at(3, 0), 4.0);
    spend(w, "k1", at(8, 30), 8.0);
    w.usage(
        &UsageEvent::new("k1", "claude-opus-4-1-20250805", at(9, 0))
            .tokens(10, 10, 0, 0)
            .cost(16.0, 16.0)
            .account("acc-1", "claude-official"),
    );
    spend(w, "k2", at(9, 0), 99.0);
    spend(w, "k3", at(9, 0), 4.5);
}

/// Roomy limits on k1 for every period, 20 USD over five hours for its tag, 5 USD a month for
/// k3 by name.
fn every_period_settings() -> QuotaSettings {
    let roomy = |period| QuotaLimitSetting {
        key: Some("k1".into()),
        tag: None,
        period,
        usd: 1000.0,
    };
    QuotaSettings {
        limits: vec![
            roomy(QuotaPeriod::Daily),
            roomy(QuotaPeriod::Weekly),
            roomy(QuotaPeriod::Monthly),
            roomy(QuotaPeriod::Total),
            QuotaLimitSetting {
                key: None,
                tag: Some("team-a".into()),
                period: QuotaPeriod::FiveHours,
                usd: 20.0,
            },
            QuotaLimitSetting {
                key: Some("by-name".into()),
                tag: None,
                period: QuotaPeriod::Monthly,
                usd: 5.0,
            },
        ],
        ..QuotaSettings::default()
    }
}

#[tokio::test]
async fn costs_are_read_for_every_period_and_limit() {
    let url = fresh_db();
    let mut w = CrsWriter::connect(&url);
    seed_every_period(&mut w);
    let settings = every_period_settings();
    let mut c = conn(&url).await;
    let costs = read_key_costs(&mut c, &settings, at(9, 30), tz())
        .await
        .unwrap();
    let ids: Vec<&str> = costs.iter().map(|k| k.key_id.as_str()).collect();
    assert_eq!(ids, ["k1", "k3"], "only keys with a limit are read");
    let k1 = &costs[0];
    let near = |a: f64, b: f64| (a - b).abs() < 1e-9;
    assert!(near(k1.five_hours_usd, 24.0), "{k1:?}");
    assert!(near(k1.daily_usd, 28.0), "{k1:?}");
    assert!(near(k1.weekly_usd, 29.0), "{k1:?}");
    assert!(near(k1.monthly_usd, 31.0), "{k1:?}");
    assert!(near(k1.total_usd, 31.0), "{k1:?}");
    assert!(near(k1.weekly_opus_usd, 16.0), "{k1:?}");
    assert_eq!(k1.weekly_opus_period, "2026-11-16T00");
    assert_eq!(k1.relay_weekly_opus_limit_usd, 50.0);
    assert_eq!(costs[1].key_name, "by-name");
    assert!(near(costs[1].monthly_usd, 4.5));
    assert_eq!(
        costs[1].daily_usd, 0.0,
        "only the costs its limits need are read"
    );

    let mut store = QuotaStore::new(conn(&url).await, "rw:");
    let s = crs(&url, &settings);
    let sent = run_once(&open(&s), &mut store, &s, at(9, 30))
        .await
        .unwrap();
    let mut got: Vec<(String, String, u32)> = sent
        .iter()
        .flat_map(|a| match &a.payload {
            AlertPayload::Quota { items } => items
                .iter()
                .map(|i| (i.key_id.clone(), i.limit.clone(), i.threshold_pct))
                .collect::<Vec<_>>(),
            _ => Vec::new(),
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("k1".into(), "5h".into(), 100),
            ("k3".into(), "monthly".into(), 80)
        ]
    );
}
