//! The quota rule's unit tests: levels, periods, grouping, claims.

use super::*;
use chrono::TimeZone;

const T: [u32; 2] = [80, 100];

fn tz() -> RelayTz {
    RelayTz::from_config(8)
}

fn key(id: &str, daily_limit: f64, daily: f64) -> KeyCost {
    KeyCost {
        key_id: id.into(),
        key_name: format!("name-{id}"),
        relay_daily_limit_usd: daily_limit,
        daily_usd: daily,
        ..KeyCost::default()
    }
}

fn items(a: &Alert) -> &[QuotaItem] {
    match &a.payload {
        AlertPayload::Quota { items } => items,
        _ => panic!("not a quota alert"),
    }
}

/// 2026-11-22 at `h`:`m` on the relay's clock (+08:00).
fn at(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 0, 0, 0).unwrap() - Duration::hours(8)
        + Duration::hours(h as i64)
        + Duration::minutes(m as i64)
}

#[test]
fn escalates_80_then_100_once_each() {
    let s0 = QuotaState::default();
    let (s1, a1) = evaluate(&[key("k", 100.0, 50.0)], &[], &T, &s0, at(9, 0), tz());
    assert!(a1.is_empty());
    let (s2, a2) = evaluate(&[key("k", 100.0, 85.0)], &[], &T, &s1, at(10, 0), tz());
    assert_eq!(a2.len(), 1);
    assert_eq!(a2[0].state, AlertState::Firing);
    assert_eq!(items(&a2[0])[0].threshold_pct, 80);
    assert_eq!(items(&a2[0])[0].period, "2026-11-22");
    let (s3, a3) = evaluate(&[key("k", 100.0, 90.0)], &[], &T, &s2, at(11, 0), tz());
    assert!(a3.is_empty(), "nothing repeats within the period");
    let (s4, a4) = evaluate(&[key("k", 100.0, 101.0)], &[], &T, &s3, at(12, 0), tz());
    assert_eq!(a4.len(), 1);
    assert_eq!(items(&a4[0])[0].threshold_pct, 100);
    assert_eq!(a4[0].subject, "100:2026-11-22");
    let (s5, a5) = evaluate(&[key("k", 100.0, 130.0)], &[], &T, &s4, at(13, 0), tz());
    assert!(a5.is_empty());
    let (_, a6) = evaluate(&[key("k", 100.0, 131.0)], &[], &T, &s5, at(23, 0), tz());
    assert!(a6.is_empty());
}

#[test]
fn jump_straight_to_100_sends_one_message() {
    let (s, a) = evaluate(
        &[key("k", 10.0, 12.0)],
        &[],
        &T,
        &QuotaState::default(),
        at(9, 0),
        tz(),
    );
    assert_eq!(a.len(), 1);
    assert_eq!(items(&a[0])[0].threshold_pct, 100);
    assert_eq!(s.entries["k|relay:daily"].level, 100);
}

#[test]
fn midnight_in_the_relay_timezone_brings_back_under() {
    // 23:50 +08:00 over the daily limit; 00:10 +08:00 (16:10 UTC) the new day is at 1 %.
    let (s1, a1) = evaluate(
        &[key("k", 100.0, 100.0)],
        &[],
        &T,
        &QuotaState::default(),
        at(23, 50),
        tz(),
    );
    assert_eq!(items(&a1[0])[0].period, "2026-11-22");
    // Still 2026-11-22 in UTC, already 2026-11-23 on the relay's clock.
    let after = at(24, 10);
    assert_eq!(after.format("%Y-%m-%d").to_string(), "2026-11-22");
    let (s2, a2) = evaluate(&[key("k", 100.0, 1.0)], &[], &T, &s1, after, tz());
    assert_eq!(a2.len(), 1);
    assert_eq!(a2[0].state, AlertState::Resolved);
    assert_eq!(items(&a2[0])[0].period, "2026-11-23");
    assert_eq!(items(&a2[0])[0].threshold_pct, 100);
    assert!(s2.entries.is_empty());
    let (_, a3) = evaluate(&[key("k", 100.0, 2.0)], &[], &T, &s2, at(25, 0), tz());
    assert!(a3.is_empty(), "back under is said once");
}

#[test]
fn new_period_already_over_fires_again_without_back_under() {
    let (s1, _) = evaluate(
        &[key("k", 100.0, 100.0)],
        &[],
        &T,
        &QuotaState::default(),
        at(23, 0),
        tz(),
    );
    let (_, a) = evaluate(&[key("k", 100.0, 85.0)], &[], &T, &s1, at(24, 30), tz());
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].state, AlertState::Firing);
    assert_eq!(items(&a[0])[0].period, "2026-11-23");
    assert_eq!(items(&a[0])[0].threshold_pct, 80);
}

#[test]
fn raising_the_limit_brings_back_under() {
    let (s1, _) = evaluate(
        &[key("k", 100.0, 100.0)],
        &[],
        &T,
        &QuotaState::default(),
        at(9, 0),
        tz(),
    );
    let (s2, a) = evaluate(&[key("k", 200.0, 100.0)], &[], &T, &s1, at(10, 0), tz());
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].state, AlertState::Resolved);
    assert_eq!(items(&a[0])[0].limit_usd, 200.0);
    assert!(s2.entries.is_empty());
    // Partly raised: back under 100 %, still over 80 % (already announced): one message.
    let (s1, _) = evaluate(
        &[key("k", 100.0, 100.0)],
        &[],
        &T,
        &QuotaState::default(),
        at(9, 0),
        tz(),
    );
    let (s2, a) = evaluate(&[key("k", 110.0, 100.0)], &[], &T, &s1, at(10, 0), tz());
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].state, AlertState::Resolved);
    assert_eq!(s2.entries["k|relay:daily"].level, 80);
    // The limit removed entirely also resolves; a deleted key is forgotten silently.
    let (_, a) = evaluate(&[key("k", 0.0, 100.0)], &[], &T, &s1, at(10, 0), tz());
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].state, AlertState::Resolved);
    let (s, a) = evaluate(&[], &[], &T, &s1, at(10, 0), tz());
    assert!(a.is_empty() && s.entries.is_empty());
}

#[test]
fn three_keys_crossing_together_are_one_grouped_alert_per_level() {
    let inputs = [
        key("a", 10.0, 8.0),
        key("b", 10.0, 9.0),
        key("c", 10.0, 15.0),
        key("d", 10.0, 8.5),
        key("e", 10.0, 1.0),
    ];
    let (_, a) = evaluate(&inputs, &[], &T, &QuotaState::default(), at(9, 0), tz());
    assert_eq!(a.len(), 2, "{a:#?}");
    assert_eq!(a[0].subject, "100:2026-11-22");
    assert_eq!(items(&a[0]).len(), 1);
    let eighty: Vec<&str> = items(&a[1]).iter().map(|i| i.key_id.as_str()).collect();
    assert_eq!(
        eighty,
        ["b", "d", "a"],
        "every key, the closest to its limit first"
    );
}

#[test]
fn own_limits_by_key_name_and_tag_and_rolling_five_hours() {
    let limits = vec![
        QuotaLimitSetting {
            key: Some("name-k".into()),
            tag: None,
            period: QuotaPeriod::Monthly,
            usd: 100.0,
        },
        QuotaLimitSetting {
            key: None,
            tag: Some("team".into()),
            period: QuotaPeriod::FiveHours,
            usd: 10.0,
        },
    ];
    let mut k = key("k", 0.0, 0.0);
    k.tags = vec!["team".into()];
    k.monthly_usd = 95.0;
    k.five_hours_usd = 10.0;
    let (s1, a) = evaluate(
        &[k.clone()],
        &limits,
        &T,
        &QuotaState::default(),
        at(9, 5),
        tz(),
    );
    let all: Vec<(String, String, u32)> = a
        .iter()
        .flat_map(|a| items(a).iter())
        .map(|i| (i.limit.clone(), i.period.clone(), i.threshold_pct))
        .collect();
    assert_eq!(
        all,
        [
            ("5h".into(), "2026-11-22 09:00".into(), 100),
            ("monthly".into(), "2026-11".into(), 80)
        ]
    );
    // Two hours later the rolling window is still over: its episode keeps its name.
    let (s2, a) = evaluate(&[k.clone()], &limits, &T, &s1, at(11, 5), tz());
    assert!(a.is_empty());
    k.five_hours_usd = 2.0;
    let (_, a) = evaluate(&[k], &limits, &T, &s2, at(14, 5), tz());
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].state, AlertState::Resolved);
    assert_eq!(items(&a[0])[0].period, "2026-11-22 09:00");
}

#[test]
fn period_names_follow_the_relay_clock() {
    // Sunday 2026-11-22 at 00:30 +08:00 is Saturday in UTC.
    let now = at(0, 30);
    assert_eq!(week_name(now, tz()), "2026-11-16/2026-11-22");
    assert_eq!(day_name(now, tz()), "2026-11-22");
    assert_eq!(level_reached(79.99, 100.0, &T), 0);
    assert_eq!(level_reached(80.0, 100.0, &T), 80);
    assert_eq!(level_reached(1.0, 0.0, &T), 0);
}
