//! What the quota rule compares, read from CRS: each limited API key's rated cost over every
//! period a limit counts (today, the 5 hours, this week, month, lifetime, weekly Opus) and the
//! relay's own limits. Rule: read-only and pipelined — two round trips after listing the keys —
//! and only the costs a key's limits need are fetched.

use chrono::{DateTime, Datelike, Duration, Utc};

use super::{api_key_id, legacy_opus_week, opus_period};
use crate::config::quota::{own_limit_for, QuotaPeriod, QuotaSettings};
use crate::error::Result;
use crate::model::KeyCost;
use crate::source::parse::parse_float;
use crate::source::redis_io::{self, Conn};
use crate::tz::RelayTz;

/// Whether `[[rules.quota.limits]]` sets a limit of `period` for `k`.
fn has_own(settings: &QuotaSettings, k: &KeyCost, period: QuotaPeriod) -> bool {
    own_limit_for(&settings.limits, &k.key_id, &k.key_name, &k.tags, period).is_some()
}

const KEY_FIELDS: [&str; 8] = [
    "name",
    "tags",
    "isDeleted",
    "dailyCostLimit",
    "totalCostLimit",
    "weeklyOpusCostLimit",
    "weeklyResetDay",
    "weeklyResetHour",
];

/// Every API key id: `apikey:idx:all`, else SCAN `apikey:*` with CRS's two-part rule.
pub async fn all_key_ids(conn: &mut Conn) -> Result<Vec<String>> {
    let members = redis_io::strings(&conn.one(cmd("SMEMBERS", "apikey:idx:all")).await?);
    if !members.is_empty() {
        let mut ids = members;
        ids.sort();
        return Ok(ids);
    }
    Ok(conn
        .scan("apikey:*")
        .await?
        .into_iter()
        .filter_map(|k| api_key_id(&k).map(str::to_string))
        .collect())
}

fn cmd(name: &str, key: &str) -> redis::Cmd {
    let mut c = redis::cmd(name);
    c.arg(key);
    c
}

/// GET many string keys with chunked MGETs in one pipeline.
pub async fn mget(conn: &mut Conn, names: &[String]) -> Result<Vec<Option<String>>> {
    let cmds = names
        .chunks(1_000)
        .map(|chunk| {
            let mut c = redis::cmd("MGET");
            for n in chunk {
                c.arg(n);
            }
            c
        })
        .collect();
    let mut out = Vec::with_capacity(names.len());
    for r in conn.batch(cmds).await? {
        out.extend(redis_io::optionals(&r));
    }
    out.resize(names.len(), None);
    Ok(out)
}

fn num(v: &Option<String>) -> f64 {
    v.as_deref()
        .and_then(parse_float)
        .filter(|x| x.is_finite())
        .unwrap_or(0.0)
}

/// Read what `evaluate` needs for every key that has a limit (the relay's, when
/// `relay_limits`, or one of `limits`): two pipelined round trips after listing the keys.
pub async fn read_key_costs(
    conn: &mut Conn,
    settings: &QuotaSettings,
    now: DateTime<Utc>,
    tz: RelayTz,
) -> Result<Vec<KeyCost>> {
    let keys = limited_keys(conn, settings).await?;
    read_costs(conn, settings, keys, now, tz).await
}

/// Every live key that has a limit, with its weekly Opus reset day and hour.
async fn limited_keys(
    conn: &mut Conn,
    settings: &QuotaSettings,
) -> Result<Vec<(KeyCost, u32, u32)>> {
    let own = |k: &KeyCost, p: QuotaPeriod| has_own(settings, k, p);
    let ids = all_key_ids(conn).await?;
    let cmds = ids
        .iter()
        .map(|id| {
            let mut c = cmd("HMGET", &format!("apikey:{id}"));
            for f in KEY_FIELDS {
                c.arg(f);
            }
            c
        })
        .collect();
    let records = conn.batch(cmds).await?;
    let mut keys: Vec<(KeyCost, u32, u32)> = Vec::new();
    for (id, v) in ids.iter().zip(records) {
        let f = redis_io::optionals(&v);
        if f.len() != KEY_FIELDS.len() || f.iter().all(Option::is_none) {
            continue;
        }
        if f[2].as_deref().is_some_and(|d| d.trim() == "true") {
            continue;
        }
        let mut k = KeyCost {
            key_id: id.clone(),
            key_name: f[0].clone().filter(|n| !n.is_empty()).unwrap_or(id.clone()),
            tags: f[1]
                .as_deref()
                .and_then(|t| serde_json::from_str(t).ok())
                .unwrap_or_default(),
            ..KeyCost::default()
        };
        if settings.relay_limits {
            k.relay_daily_limit_usd = num(&f[3]);
            k.relay_total_limit_usd = num(&f[4]);
            k.relay_weekly_opus_limit_usd = num(&f[5]);
        }
        let has_relay = k.relay_daily_limit_usd > 0.0
            || k.relay_total_limit_usd > 0.0
            || k.relay_weekly_opus_limit_usd > 0.0;
        let has_own = [
            QuotaPeriod::FiveHours,
            QuotaPeriod::Daily,
            QuotaPeriod::Weekly,
            QuotaPeriod::Monthly,
            QuotaPeriod::Total,
        ]
        .iter()
        .any(|p| own(&k, *p));
        if !(has_relay || has_own) {
            continue;
        }
        let day: u32 = f[6]
            .as_deref()
            .and_then(|v| v.trim().parse().ok())
            .filter(|d| (1..=7).contains(d))
            .unwrap_or(1);
        let hour: u32 = f[7]
            .as_deref()
            .and_then(|v| v.trim().parse().ok())
            .filter(|h| *h < 24)
            .unwrap_or(0);
        keys.push((k, day, hour));
    }
    Ok(keys)
}

/// The costs each key's limits need, in one pipelined MGET.
async fn read_costs(
    conn: &mut Conn,
    settings: &QuotaSettings,
    mut keys: Vec<(KeyCost, u32, u32)>,
    now: DateTime<Utc>,
    tz: RelayTz,
) -> Result<Vec<KeyCost>> {
    let own = |k: &KeyCost, p: QuotaPeriod| has_own(settings, k, p);
    // Only the costs each key's limits need: today, total, month, Opus (current and legacy
    // name), the 5 hours, the earlier days of this week.
    let today = tz.date(now);
    let month = tz.month(now);
    let legacy_week = legacy_opus_week(now, tz);
    let hours: Vec<String> = (0..5).map(|i| tz.hour(now - Duration::hours(i))).collect();
    let since_monday = tz.day(now).weekday().num_days_from_monday() as i64;
    let week_days: Vec<String> = (1..=since_monday)
        .map(|i| tz.date(now - Duration::days(i)))
        .collect();
    let mut names = Vec::with_capacity(keys.len() * 2);
    let mut slots: Vec<(usize, Slot)> = Vec::with_capacity(keys.len() * 2);
    for (i, (k, day, hour)) in keys.iter_mut().enumerate() {
        let id = k.key_id.clone();
        let needs = |p: QuotaPeriod| own(k, p);
        let weekly = needs(QuotaPeriod::Weekly);
        let mut want = |slot: Slot, name: String| {
            slots.push((i, slot));
            names.push(name);
        };
        if k.relay_daily_limit_usd > 0.0 || needs(QuotaPeriod::Daily) || weekly {
            want(Slot::Daily, format!("usage:cost:daily:{id}:{today}"));
        }
        if k.relay_total_limit_usd > 0.0 || needs(QuotaPeriod::Total) {
            want(Slot::Total, format!("usage:cost:total:{id}"));
        }
        if needs(QuotaPeriod::Monthly) {
            want(Slot::Monthly, format!("usage:cost:monthly:{id}:{month}"));
        }
        if needs(QuotaPeriod::FiveHours) {
            for h in &hours {
                want(Slot::Hour, format!("usage:cost:hourly:{id}:{h}"));
            }
        }
        if weekly {
            for d in &week_days {
                want(Slot::WeekDay, format!("usage:cost:daily:{id}:{d}"));
            }
        }
        k.weekly_opus_period = opus_period(now, tz, *day, *hour);
        if k.relay_weekly_opus_limit_usd > 0.0 {
            let period = k.weekly_opus_period.clone();
            want(Slot::Opus, format!("usage:opus:weekly:{id}:{period}"));
            want(
                Slot::OpusLegacy,
                format!("usage:opus:weekly:{id}:{legacy_week}"),
            );
        }
    }
    let values = mget(conn, &names).await?;
    let mut out: Vec<KeyCost> = keys.into_iter().map(|(k, _, _)| k).collect();
    let mut opus: Vec<(Option<f64>, f64)> = vec![(None, 0.0); out.len()];
    for ((i, slot), v) in slots.into_iter().zip(&values) {
        let k = &mut out[i];
        let x = num(v);
        match slot {
            Slot::Daily => k.daily_usd = x,
            Slot::Total => k.total_usd = x,
            Slot::Monthly => k.monthly_usd = x,
            Slot::Hour => k.five_hours_usd += x,
            Slot::WeekDay => k.weekly_usd += x,
            Slot::Opus => opus[i].0 = v.is_some().then_some(x),
            Slot::OpusLegacy => opus[i].1 = x,
        }
    }
    for (k, (current, legacy)) in out.iter_mut().zip(opus) {
        k.weekly_usd += k.daily_usd;
        k.weekly_opus_usd = current.unwrap_or(legacy);
    }
    Ok(out)
}

/// Which cost a read value is.
#[derive(Debug, Clone, Copy)]
enum Slot {
    Daily,
    Total,
    Monthly,
    Hour,
    WeekDay,
    Opus,
    OpusLegacy,
}
