//! Claude Code Hub's PostgreSQL, read the way CCH's own statistics read it; rule: read-only
//! `SELECT`s in a read-only session, every figure over `usage_ledger` rows that pass CCH's
//! billing condition, each figure one aggregate query (never a row-by-row read), times bounded
//! by the snapshot's instant so `--at T` answers what CCH would have answered at T. Key strings
//! (`keys.key`) are joined on, never selected.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use tokio_postgres::types::ToSql;
use tokio_postgres::Client;

use super::windows::{window_start, DailyReset, Period};
use crate::model::{KeyUsage, LimitUse, ModelUsage, TrendDay, Usage, UserUsage};

/// CCH's billing condition over `usage_ledger` (`l`): not blocked, not a replay, not a
/// non-billing endpoint. (`rtrim(e, '/')` is CCH's `regexp_replace(e, '/+$', '')`, at a
/// fraction of the cost per row.)
pub const BILLING: &str = "l.blocked_by IS NULL AND l.is_replay = false AND (l.endpoint IS NULL \
     OR lower(rtrim(l.endpoint, '/')) NOT IN \
     ('/v1/messages/count_tokens', '/v1/responses/compact'))";

/// The token and cost sums of a selection, as columns 0..=5 (input, output, cache creation,
/// cache read, cost, requests), for `FILTER (WHERE …)` placed after each aggregate.
fn sums(filter: &str) -> String {
    let f = if filter.is_empty() {
        String::new()
    } else {
        format!(" FILTER (WHERE {filter})")
    };
    format!(
        "coalesce(sum(l.input_tokens){f}, 0)::int8, coalesce(sum(l.output_tokens){f}, 0)::int8, \
         coalesce(sum(l.cache_creation_input_tokens){f}, 0)::int8, \
         coalesce(sum(l.cache_read_input_tokens){f}, 0)::int8, \
         coalesce(sum(l.cost_usd){f}, 0)::float8, count(*){f}"
    )
}

fn u(v: i64) -> u64 {
    v.max(0) as u64
}

/// Six columns from `at` (see [`sums`]) as usage; `errors` when counted.
fn usage_at(row: &tokio_postgres::Row, at: usize, errors: Option<u64>) -> Usage {
    let (i, o, cc, cr) = (
        u(row.get(at)),
        u(row.get(at + 1)),
        u(row.get(at + 2)),
        u(row.get(at + 3)),
    );
    Usage {
        requests: u(row.get(at + 5)),
        input_tokens: i,
        output_tokens: o,
        cache_create_tokens: cc,
        cache_read_tokens: cr,
        all_tokens: i.saturating_add(o).saturating_add(cc).saturating_add(cr),
        cost_usd: row.get(at + 4),
        core_tokens: i.saturating_add(o),
        errors,
    }
}

/// Today's usage, the total, and the last `window` minutes' requests and tokens.
pub struct Totals {
    pub today: Usage,
    pub total: Usage,
    pub recent_requests: u64,
    pub recent_tokens: u64,
}

pub async fn totals(
    c: &Client,
    today_start: DateTime<Utc>,
    now: DateTime<Utc>,
    recent_from: DateTime<Utc>,
) -> Result<Totals, tokio_postgres::Error> {
    let q = format!(
        "SELECT {}, count(*) FILTER (WHERE l.created_at >= $1 AND NOT l.is_success), {}, \
         count(*) FILTER (WHERE NOT l.is_success), {} \
         FROM usage_ledger l WHERE {BILLING} AND l.created_at <= $2",
        sums("l.created_at >= $1"),
        sums(""),
        sums("l.created_at >= $3"),
    );
    let row = c.query_one(&q, &[&today_start, &now, &recent_from]).await?;
    let recent = usage_at(&row, 14, None);
    Ok(Totals {
        today: usage_at(&row, 0, Some(u(row.get(6)))),
        total: usage_at(&row, 7, Some(u(row.get(13)))),
        recent_requests: recent.requests,
        recent_tokens: recent.all_tokens,
    })
}

/// One entry per local day that has usage in `[from, now]` (the caller fills empty days).
pub async fn trend(
    c: &Client,
    zone: &str,
    from: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<BTreeMap<String, TrendDay>, tokio_postgres::Error> {
    let q = format!(
        "SELECT to_char(l.created_at AT TIME ZONE $1, 'YYYY-MM-DD') AS d, {} \
         FROM usage_ledger l WHERE {BILLING} AND l.created_at >= $2 AND l.created_at <= $3 \
         GROUP BY d",
        sums("")
    );
    let rows = c.query(&q, &[&zone, &from, &now]).await?;
    Ok(rows
        .iter()
        .map(|r| {
            let x = usage_at(r, 1, None);
            let date: String = r.get(0);
            let day = TrendDay {
                date: date.clone(),
                requests: x.requests,
                input_tokens: x.input_tokens,
                output_tokens: x.output_tokens,
                cache_create_tokens: x.cache_create_tokens,
                cache_read_tokens: x.cache_read_tokens,
                all_tokens: x.all_tokens,
                cost_usd: x.cost_usd,
            };
            (date, day)
        })
        .collect())
}

/// Usage per model over `[from, now]`, grouped as CCH groups it: by the model the client asked
/// for (`original_model`, else `model`) unless billing follows the redirected model.
pub async fn models(
    c: &Client,
    by_original: bool,
    from: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Vec<ModelUsage>, tokio_postgres::Error> {
    let key = if by_original {
        "coalesce(l.original_model, l.model)"
    } else {
        "coalesce(l.model, l.original_model)"
    };
    let q = format!(
        "SELECT coalesce({key}, ''), {} FROM usage_ledger l \
         WHERE {BILLING} AND l.created_at >= $1 AND l.created_at <= $2 GROUP BY 1",
        sums("")
    );
    let rows = c.query(&q, &[&from, &now]).await?;
    let mut out: Vec<ModelUsage> = rows
        .iter()
        .map(|r| {
            let x = usage_at(r, 1, None);
            ModelUsage {
                model: r.get(0),
                requests: x.requests,
                input_tokens: x.input_tokens,
                output_tokens: x.output_tokens,
                cache_create_tokens: x.cache_create_tokens,
                cache_read_tokens: x.cache_read_tokens,
                all_tokens: x.all_tokens,
                cost_usd: x.cost_usd,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.cost_usd
            .total_cmp(&a.cost_usd)
            .then(b.all_tokens.cmp(&a.all_tokens))
            .then(a.model.cmp(&b.model))
    });
    Ok(out)
}

/// The top `n` of an entity (`u`: users, `k`: keys) by cost over `[from, now]`, joined with
/// `join` (deleted ones left out, as in CCH).
async fn ranked(
    c: &Client,
    join: &str,
    from: DateTime<Utc>,
    now: DateTime<Utc>,
    n: i64,
) -> Result<Vec<KeyUsage>, tokio_postgres::Error> {
    let q = format!(
        "SELECT e.id::int8, e.name, {} FROM usage_ledger l JOIN {join} AND e.deleted_at IS NULL \
         WHERE {BILLING} AND l.created_at >= $1 AND l.created_at <= $2 \
         GROUP BY e.id, e.name ORDER BY 7 DESC, e.id LIMIT $3",
        sums("")
    );
    let rows = c.query(&q, &[&from, &now, &n]).await?;
    Ok(rows
        .iter()
        .map(|r| {
            let x = usage_at(r, 2, None);
            KeyUsage {
                id: r.get::<_, i64>(0).to_string(),
                name: r.get(1),
                requests: x.requests,
                all_tokens: x.all_tokens,
                cost_usd: x.cost_usd,
            }
        })
        .collect())
}

/// Users by cost over `[from, now]` (deleted users left out, as in CCH), top `n`.
pub async fn users(
    c: &Client,
    from: DateTime<Utc>,
    now: DateTime<Utc>,
    n: i64,
) -> Result<Vec<UserUsage>, tokio_postgres::Error> {
    let top = ranked(c, "users e ON e.id = l.user_id", from, now, n).await?;
    Ok(top
        .into_iter()
        .map(|k| UserUsage {
            id: k.id,
            name: k.name,
            requests: k.requests,
            all_tokens: k.all_tokens,
            cost_usd: k.cost_usd,
        })
        .collect())
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

/// Keys by cost over `[from, now]` (deleted keys left out), top `n`.
pub async fn keys(
    c: &Client,
    from: DateTime<Utc>,
    now: DateTime<Utc>,
    n: i64,
) -> Result<Vec<KeyUsage>, tokio_postgres::Error> {
    ranked(c, "keys e ON e.key = l.key", from, now, n).await
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

/// The use of every limit of `ents` in its current window at `now`, in one query per scope.
pub async fn limit_uses(
    c: &Client,
    tz: chrono_tz::Tz,
    ents: &[Limited],
    now: DateTime<Utc>,
) -> Result<Vec<(usize, LimitUse)>, tokio_postgres::Error> {
    let mut out = Vec::new();
    for (scope, join) in [
        ("key", "l.key = w.k"),
        ("user", "l.user_id = w.i"),
        ("provider", "l.final_provider_id = w.i"),
    ] {
        let mut idx: Vec<i64> = Vec::new();
        let mut ids: Vec<i64> = Vec::new();
        let mut ks: Vec<String> = Vec::new();
        let mut starts: Vec<DateTime<Utc>> = Vec::new();
        let mut uses = Vec::new();
        for (e_i, e) in ents.iter().enumerate().filter(|(_, e)| e.scope == scope) {
            // Totals without a reset (a provider's resets only its total) run from the start.
            let reset = if scope == "provider" {
                None
            } else {
                e.reset_at
            };
            for (p, limit) in &e.limits {
                let reset = if scope == "provider" && *p == Period::Total {
                    e.reset_at
                } else {
                    reset
                };
                let start = window_start(*p, tz, now, &e.daily, reset);
                idx.push(uses.len() as i64);
                ids.push(e.id);
                ks.push(e.key.clone().unwrap_or_default());
                starts.push(start.unwrap_or(DateTime::<Utc>::UNIX_EPOCH));
                uses.push((
                    e_i,
                    LimitUse {
                        scope: scope.into(),
                        id: e.id.to_string(),
                        name: e.name.clone(),
                        period: p.as_str().into(),
                        used_usd: 0.0,
                        limit_usd: *limit,
                        window_start: start,
                    },
                ));
            }
        }
        if uses.is_empty() {
            continue;
        }
        // One index range scan per window (CCH indexes the ledger by key, user and provider
        // with `created_at`), rather than a join over the whole ledger.
        let q = format!(
            "SELECT w.n, x.used \
             FROM unnest($1::int8[], $2::int8[], $3::text[], $4::timestamptz[]) AS w(n, i, k, s) \
             CROSS JOIN LATERAL (SELECT coalesce(sum(l.cost_usd), 0)::float8 AS used \
               FROM usage_ledger l WHERE {join} AND l.created_at >= w.s \
               AND l.created_at <= $5 AND {BILLING}) x"
        );
        let params: [&(dyn ToSql + Sync); 5] = [&idx, &ids, &ks, &starts, &now];
        for r in c.query(&q, &params).await? {
            let n: i64 = r.get(0);
            if let Some(u) = uses.get_mut(n as usize) {
                u.1.used_usd = r.get(1);
            }
        }
        out.extend(uses);
    }
    Ok(out)
}
