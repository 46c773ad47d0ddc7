//! What the leaderboard ranks, read from CRS: every key's rated cost, requests and tokens over
//! yesterday (the relay's calendar day) or a rolling 24 h, from CRS's per-key daily (or hourly)
//! cost and usage keys. Rule: read-only and pipelined; the ranking is the rule's
//! (`rules::leaderboard::rank`).

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Timelike, Utc};

use super::quota::{all_key_ids, mget};
use crate::error::Result;
use crate::model::{KeyPeriod, KeyUsage, LeaderboardWindow};
use crate::source::parse::{self, Fields, UsageNames};
use crate::source::raw::Warnings;
use crate::source::redis_io::{self, Conn};
use crate::tz::RelayTz;

/// `[from, to)` of the window at `now`: yesterday on the relay's clock, or the current hour
/// and the 23 before it up to `now`.
pub fn span(
    tz: RelayTz,
    window: LeaderboardWindow,
    now: DateTime<Utc>,
) -> (DateTime<Utc>, DateTime<Utc>) {
    let local = tz.local(now);
    let floor = |t: Option<chrono::DateTime<chrono::FixedOffset>>| {
        t.and_then(|t| t.with_second(0))
            .and_then(|t| t.with_nanosecond(0))
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or(now)
    };
    match window {
        LeaderboardWindow::CalendarDay => {
            let midnight = floor(local.with_hour(0).and_then(|t| t.with_minute(0)));
            (midnight - Duration::days(1), midnight)
        }
        LeaderboardWindow::Rolling24h => {
            let hour = floor(local.with_minute(0));
            (hour - Duration::hours(23), now + Duration::microseconds(1))
        }
    }
}

/// The buckets a window covers (CRS date or hour names) and its label.
pub fn buckets(
    window: LeaderboardWindow,
    now: DateTime<Utc>,
    tz: RelayTz,
) -> (Vec<String>, String) {
    match window {
        LeaderboardWindow::CalendarDay => {
            let d = tz.date(now - Duration::days(1));
            (vec![d.clone()], d)
        }
        LeaderboardWindow::Rolling24h => {
            let hours = (0..24)
                .rev()
                .map(|i| tz.hour(now - Duration::hours(i)))
                .collect();
            let start = tz.local(now - Duration::hours(23)).format("%Y-%m-%d %H:00");
            let end = tz.local(now).format("%Y-%m-%d %H:%M");
            (hours, format!("{start} – {end}"))
        }
    }
}

fn cmd(name: &str, key: &str) -> redis::Cmd {
    let mut c = redis::cmd(name);
    c.arg(key);
    c
}

fn prefixed(names: &[String], prefix: &str) -> Vec<String> {
    names.iter().map(|b| format!("{prefix}{b}")).collect()
}

/// `<prefix><id>:<bucket>` for every key and bucket, key by key.
fn bucket_names(ids: &[String], buckets: &[String], prefix: &str) -> Vec<String> {
    let mut out = Vec::with_capacity(ids.len() * buckets.len());
    for id in ids {
        for b in buckets {
            out.push(format!("{prefix}{id}:{b}"));
        }
    }
    out
}

fn commands(name: &str, keys: &[String]) -> Vec<redis::Cmd> {
    keys.iter().map(|k| cmd(name, k)).collect()
}

fn name_cmds(ids: &[String]) -> Vec<redis::Cmd> {
    ids.iter()
        .map(|id| {
            let mut c = cmd("HMGET", &format!("apikey:{id}"));
            c.arg("name").arg("isDeleted");
            c
        })
        .collect()
}

/// Read the window's per-key usage from CRS, and the window's label: keys from the relay's
/// usage index sets (all keys on relays without them), then costs, usage hashes and names in
/// pipelines.
pub async fn read_key_periods(
    conn: &mut Conn,
    window: LeaderboardWindow,
    now: DateTime<Utc>,
    tz: RelayTz,
) -> Result<(Vec<KeyPeriod>, String)> {
    let (names, label) = buckets(window, now, tz);
    let (cost_prefix, usage_prefix, index_prefix) = match window {
        LeaderboardWindow::CalendarDay => {
            ("usage:cost:daily:", "usage:daily:", "usage:daily:index:")
        }
        LeaderboardWindow::Rolling24h => {
            ("usage:cost:hourly:", "usage:hourly:", "usage:hourly:index:")
        }
    };
    let mut exists = redis::cmd("EXISTS");
    exists
        .arg("apikey:index:version")
        .arg("system:migration:usage_index_v2");
    let indexed = matches!(conn.one(exists).await?, redis::Value::Int(n) if n > 0);
    let ids: Vec<String> = if indexed {
        let sets = commands("SMEMBERS", &prefixed(&names, index_prefix));
        let mut all = BTreeSet::new();
        for v in conn.batch(sets).await? {
            all.extend(redis_io::strings(&v));
        }
        all.into_iter().collect()
    } else {
        all_key_ids(conn).await?
    };

    let n = names.len();
    let costs = mget(conn, &bucket_names(&ids, &names, cost_prefix)).await?;
    let usage = conn
        .batch(commands(
            "HGETALL",
            &bucket_names(&ids, &names, usage_prefix),
        ))
        .await?;
    let records = conn.batch(name_cmds(&ids)).await?;

    let mut w = Warnings::default();
    let keys: Vec<KeyPeriod> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let mut u = KeyUsage {
                id: id.clone(),
                name: id.clone(),
                ..KeyUsage::default()
            };
            for j in i * n..(i + 1) * n {
                u.cost_usd += costs[j]
                    .as_deref()
                    .and_then(parse::parse_float)
                    .filter(|c| c.is_finite())
                    .unwrap_or(0.0);
                let pairs = redis_io::pairs(&usage[j]);
                if !pairs.is_empty() {
                    let r = parse::usage(&Fields::new(id, &pairs), UsageNames::Plain, &mut w);
                    u.requests += r.requests;
                    u.all_tokens += r.all_tokens;
                }
            }
            let rec = redis_io::optionals(&records[i]);
            if let Some(Some(name)) = rec.first().filter(|n| n.as_deref() != Some("")) {
                u.name = name.clone();
            }
            let deleted = rec
                .get(1)
                .and_then(|d| d.as_deref())
                .and_then(parse::parse_bool)
                .unwrap_or(false);
            KeyPeriod { usage: u, deleted }
        })
        .collect();
    Ok((keys, label))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn spans_start_at_relay_midnight_or_23_hours_before_this_hour() {
        let tz = RelayTz::from_config(8);
        // 2026-11-22 00:30:15 +08:00.
        let now = Utc.with_ymd_and_hms(2026, 11, 21, 16, 30, 15).unwrap();
        let midnight = Utc.with_ymd_and_hms(2026, 11, 21, 16, 0, 0).unwrap();
        assert_eq!(
            span(tz, LeaderboardWindow::CalendarDay, now),
            (midnight - Duration::days(1), midnight)
        );
        assert_eq!(
            span(tz, LeaderboardWindow::Rolling24h, now),
            (
                midnight - Duration::hours(23),
                now + Duration::microseconds(1)
            )
        );
    }

    #[test]
    fn yesterday_is_the_relays_calendar_day() {
        let tz = RelayTz::from_config(8);
        // 2026-11-22 00:30 +08:00 = 2026-11-21 16:30 UTC: yesterday is the 21st.
        let now = Utc.with_ymd_and_hms(2026, 11, 21, 16, 30, 0).unwrap();
        let (b, label) = buckets(LeaderboardWindow::CalendarDay, now, tz);
        assert_eq!(
            (b, label.as_str()),
            (vec!["2026-11-21".to_string()], "2026-11-21")
        );
        let (h, label) = buckets(LeaderboardWindow::Rolling24h, now, tz);
        assert_eq!(h.len(), 24);
        assert_eq!(h[0], "2026-11-21:01");
        assert_eq!(h[23], "2026-11-22:00");
        assert_eq!(label, "2026-11-21 01:00 – 2026-11-22 00:30");
    }
}
