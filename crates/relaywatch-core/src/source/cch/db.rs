//! Claude Code Hub's PostgreSQL, read the way CCH's own statistics read it; rule: read-only
//! `SELECT`s in a read-only session: the billing condition every figure shares, the leaderboard's
//! users, the providers, and the keys, users and providers with limits; rule: every figure over
//! `usage_ledger` rows that pass CCH's billing condition, one aggregate query each (never a
//! row-by-row read), times bounded by the instant asked about so `--at T` answers what CCH would
//! have answered at T. (The per-day sums are `ledger`'s, the limits' use `limits`'.)

use chrono::{DateTime, Utc};
use tokio_postgres::Client;

use super::windows::{DailyReset, Period};
use crate::model::KeyUsage;

/// CCH's billing condition over `usage_ledger` (`l`): not blocked, not a replay, not a
/// non-billing endpoint. (`rtrim(e, '/')` is CCH's `regexp_replace(e, '/+$', '')`, at a
/// fraction of the cost per row; an endpoint shorter than 21 bytes — `/v1/messages`,
/// `/v1/chat/completions`, most rows — cannot be one of the two, which have 25 and 21
/// characters once lowered and trimmed, so the string work is skipped for it.)
pub const BILLING: &str = "l.blocked_by IS NULL AND l.is_replay = false AND (l.endpoint IS NULL \
     OR octet_length(l.endpoint) < 21 OR lower(rtrim(l.endpoint, '/')) NOT IN \
     ('/v1/messages/count_tokens', '/v1/responses/compact'))";

/// A count or sum from PostgreSQL, never below zero.
pub(super) fn u(v: i64) -> u64 {
    v.max(0) as u64
}

/// Every user (not deleted) with usage in `[from, to)`, for the leaderboard: ranked by the
/// caller, totals over all of them (CCH's notification totals every ranked user).
pub async fn user_periods(
    c: &Client,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<crate::model::KeyPeriod>, tokio_postgres::Error> {
    // Tokens as CCH's leaderboard adds them: per row, input + output + cache (a row without
    // input or output tokens adds nothing).
    let q = format!(
        "SELECT u.id::int8, u.name, count(*), coalesce(sum(l.cost_usd), 0)::float8, \
         coalesce(sum(l.input_tokens + l.output_tokens + coalesce(l.cache_creation_input_tokens, 0) \
         + coalesce(l.cache_read_input_tokens, 0)), 0)::int8 FROM usage_ledger l \
         JOIN users u ON u.id = l.user_id AND u.deleted_at IS NULL \
         WHERE {BILLING} AND l.created_at >= $1 AND l.created_at < $2 \
         GROUP BY u.id, u.name"
    );
    let rows = c.query(&q, &[&from, &to]).await?;
    Ok(rows
        .iter()
        .map(|r| crate::model::KeyPeriod {
            usage: KeyUsage {
                id: r.get::<_, i64>(0).to_string(),
                name: r.get(1),
                requests: u(r.get(2)),
                all_tokens: u(r.get(4)),
                cost_usd: r.get(3),
            },
            deleted: false,
        })
        .collect())
}

/// Every provider (deleted ones too: an alert may name one) as (id, name).
pub async fn provider_list(c: &Client) -> Result<Vec<(String, String)>, tokio_postgres::Error> {
    let rows = c
        .query(
            "SELECT id::int8, coalesce(name, '') FROM providers ORDER BY id",
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get::<_, i64>(0).to_string(), r.get(1)))
        .collect())
}

/// A key, user or provider with the limits it has set.
#[derive(Debug, Clone)]
pub struct Limited {
    pub scope: &'static str,
    pub id: i64,
    pub name: String,
    /// The key string (keys only): what the ledger is joined on. Never shown.
    pub key: Option<String>,
    pub enabled: bool,
    /// (period, limit in USD) for each limit set (> 0).
    pub limits: Vec<(Period, f64)>,
    pub daily: DailyReset,
    pub reset_at: Option<DateTime<Utc>>,
}

fn limits_of(r: &tokio_postgres::Row, from: usize) -> Vec<(Period, f64)> {
    Period::ALL
        .iter()
        .enumerate()
        .filter_map(|(i, p)| {
            let v: Option<f64> = r.get(from + i);
            v.filter(|v| *v > 0.0).map(|v| (*p, v))
        })
        .collect()
}

/// Every key, user and provider that is not deleted and has at least one limit set.
pub async fn limited(c: &Client) -> Result<Vec<Limited>, tokio_postgres::Error> {
    let lims = "limit_5h_usd::float8, limit_daily_usd::float8, limit_weekly_usd::float8, \
                limit_monthly_usd::float8, limit_total_usd::float8";
    let user_lims = "limit_5h_usd::float8, daily_limit_usd::float8, limit_weekly_usd::float8, \
                     limit_monthly_usd::float8, limit_total_usd::float8";
    let mut out = Vec::new();
    let specs: [(&'static str, String); 3] = [
        ("key", format!("SELECT id::int8, name, key, coalesce(is_enabled, true), {lims}, daily_reset_mode::text, daily_reset_time::text, cost_reset_at FROM keys WHERE deleted_at IS NULL")),
        ("user", format!("SELECT id::int8, name, NULL::text, coalesce(is_enabled, true), {user_lims}, daily_reset_mode::text, daily_reset_time::text, cost_reset_at FROM users WHERE deleted_at IS NULL")),
        ("provider", format!("SELECT id::int8, name, NULL::text, coalesce(is_enabled, true), {lims}, daily_reset_mode::text, daily_reset_time::text, total_cost_reset_at FROM providers WHERE deleted_at IS NULL")),
    ];
    for (scope, q) in specs {
        for r in c.query(&q, &[]).await? {
            let limits = limits_of(&r, 4);
            if limits.is_empty() {
                continue;
            }
            out.push(Limited {
                scope,
                id: r.get(0),
                name: r.get(1),
                key: r.get(2),
                enabled: r.get(3),
                limits,
                daily: DailyReset::parse(r.get(9), r.get(10)),
                reset_at: r.get(11),
            });
        }
    }
    Ok(out)
}

/// The names of the users and keys that are not deleted.
pub async fn names(c: &Client) -> Result<super::figures::Names, tokio_postgres::Error> {
    let mut n = super::figures::Names::default();
    for (q, users) in [
        (
            "SELECT id::int8, name FROM users WHERE deleted_at IS NULL",
            true,
        ),
        (
            "SELECT id::int8, name FROM keys WHERE deleted_at IS NULL",
            false,
        ),
    ] {
        let map = if users { &mut n.users } else { &mut n.keys };
        for r in c.query(q, &[]).await? {
            map.insert(r.get(0), r.get(1));
        }
    }
    Ok(n)
}
