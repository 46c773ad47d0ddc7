//! Leaderboard: the top N API keys by rated cost over yesterday (the relay's calendar day) or a
//! rolling 24 h, with totals over every key. Rule: a period without usage still yields a
//! leaderboard (the "no usage" message), never silence. `rank` is pure; `read` is the thin async
//! edge over CRS's per-key daily (or hourly) cost and usage keys, pipelined.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::quota::{all_key_ids, mget};
use crate::error::Result;
use crate::model::KeyUsage;
use crate::render::messages::Leaderboard;
use crate::source::parse::{self, Fields, UsageNames};
use crate::source::raw::Warnings;
use crate::source::redis_io::{self, Conn};
use crate::tz::RelayTz;

/// Allowed `top_n`.
pub const TOP_N: (u32, u32) = (1, 20);
pub const DEFAULT_TOP_N: u32 = 5;

/// The period ranked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeaderboardWindow {
    /// Yesterday, as a calendar day on the relay's clock.
    #[default]
    CalendarDay,
    /// The current hour and the 23 before it (CRS's hourly buckets).
    Rolling24h,
}

/// One key's usage over the period, and whether it is soft-deleted (deleted keys count in the
/// totals but are not ranked, as in CRS's cost ranking).
#[derive(Debug, Clone, PartialEq)]
pub struct KeyPeriod {
    pub usage: KeyUsage,
    pub deleted: bool,
}

/// Rank keys by cost (then requests, then id) and total every key.
pub fn rank(keys: &[KeyPeriod], top_n: u32, period: String) -> Leaderboard {
    let used = |k: &KeyPeriod| k.usage.cost_usd > 0.0 || k.usage.requests > 0;
    let mut top: Vec<KeyUsage> = keys
        .iter()
        .filter(|k| used(k) && !k.deleted)
        .map(|k| k.usage.clone())
        .collect();
    top.sort_by(|a, b| {
        b.cost_usd
            .total_cmp(&a.cost_usd)
            .then(b.requests.cmp(&a.requests))
            .then(a.id.cmp(&b.id))
    });
    top.truncate(top_n.clamp(TOP_N.0, TOP_N.1) as usize);
    Leaderboard {
        period,
        top,
        keys_with_usage: keys.iter().filter(|k| used(k)).count() as u64,
        total_requests: keys.iter().map(|k| k.usage.requests).sum(),
        total_tokens: keys.iter().map(|k| k.usage.all_tokens).sum(),
        total_cost_usd: keys.iter().map(|k| k.usage.cost_usd).sum(),
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

/// Read the window's per-key usage from CRS and rank it: keys from the relay's usage index sets
/// (all keys on relays without them), then costs, usage hashes and names in pipelines.
pub async fn read(
    conn: &mut Conn,
    window: LeaderboardWindow,
    top_n: u32,
    now: DateTime<Utc>,
    tz: RelayTz,
) -> Result<Leaderboard> {
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
    Ok(rank(&keys, top_n, label))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn k(id: &str, requests: u64, cost: f64, deleted: bool) -> KeyPeriod {
        KeyPeriod {
            usage: KeyUsage {
                id: id.into(),
                name: format!("n-{id}"),
                requests,
                all_tokens: requests * 100,
                cost_usd: cost,
            },
            deleted,
        }
    }

    #[test]
    fn ranks_by_cost_and_totals_every_key() {
        let keys = [
            k("a", 10, 1.0, false),
            k("b", 5, 3.0, false),
            k("c", 1, 3.0, false),
            k("d", 0, 0.0, false),
            k("e", 50, 9.0, true),
            k("f", 2, 0.5, false),
        ];
        let b = rank(&keys, 3, "2026-11-21".into());
        let ids: Vec<&str> = b.top.iter().map(|u| u.id.as_str()).collect();
        assert_eq!(ids, ["b", "c", "a"]);
        assert_eq!(b.keys_with_usage, 5);
        assert_eq!(b.total_requests, 68);
        assert_eq!(b.total_tokens, 6_800);
        assert!((b.total_cost_usd - 16.5).abs() < 1e-9);
    }

    #[test]
    fn no_usage_is_an_empty_board_not_silence() {
        let b = rank(&[k("d", 0, 0.0, false)], 5, "2026-11-21".into());
        assert!(b.top.is_empty());
        assert_eq!(b.keys_with_usage, 0);
        assert_eq!(b.period, "2026-11-21");
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
