//! Reads CCH's `usage_ledger` into per-day sums ([`Span`]); rule: read-only aggregate
//! `SELECT`s (one `GROUP BY` per figure, never a row-by-row read) over the rows that pass CCH's
//! billing condition in `[from, to)`, days cut on the zone's clock by PostgreSQL, rows before
//! `horizon` summed into the base, costs read as exact decimal text, and key strings joined on
//! in the database, never returned.

use chrono::{DateTime, NaiveDate, Utc};
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Row};

use super::days::{Day, Scope, Span, Sums, Use};
use super::db::{u, BILLING};
use super::exact::Exact;

/// Which rows to read: `[from, to)` (`from: None`: since the first), days from `horizon` on.
#[derive(Debug, Clone, Copy)]
pub struct Range<'a> {
    pub zone: &'a str,
    pub horizon: DateTime<Utc>,
    pub from: Option<DateTime<Utc>>,
    pub to: DateTime<Utc>,
}

impl Range<'_> {
    /// `$1` zone, `$2` horizon, `$3` to, `$4` from (when bounded).
    fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        let mut p: Vec<&(dyn ToSql + Sync)> = vec![&self.zone, &self.horizon, &self.to];
        if let Some(f) = &self.from {
            p.push(f);
        }
        p
    }

    fn filter(&self) -> String {
        let from = if self.from.is_some() {
            " AND l.created_at >= $4"
        } else {
            ""
        };
        format!("{BILLING} AND l.created_at < $3{from}")
    }
}

/// The local day of a row from the horizon on, else NULL (the base).
const DAY: &str =
    "CASE WHEN l.created_at >= $2 THEN (l.created_at AT TIME ZONE $1::text)::date END";

/// All tokens of the rows: each token column's sum, added (as CCH's ranked figures add them).
const ALL_TOKENS: &str = "coalesce(sum(l.input_tokens), 0) + coalesce(sum(l.output_tokens), 0) \
     + coalesce(sum(l.cache_creation_input_tokens), 0) + coalesce(sum(l.cache_read_input_tokens), 0)";

/// Token columns' sums, each on its own (as CCH's figures add them).
const TOKENS: &str =
    "coalesce(sum(l.input_tokens), 0)::int8, coalesce(sum(l.output_tokens), 0)::int8, \
     coalesce(sum(l.cache_creation_input_tokens), 0)::int8, \
     coalesce(sum(l.cache_read_input_tokens), 0)::int8";

fn cost(r: &Row, i: usize) -> Exact {
    Exact::parse(r.get::<_, &str>(i)).unwrap_or_default()
}

/// Columns from `at`: requests, errors, four token sums, cost text.
fn sums_at(r: &Row, at: usize) -> Sums {
    Sums {
        requests: u(r.get(at)),
        errors: u(r.get(at + 1)),
        input: u(r.get(at + 2)),
        output: u(r.get(at + 3)),
        cache_create: u(r.get(at + 4)),
        cache_read: u(r.get(at + 5)),
        cost: cost(r, at + 6),
    }
}

fn day_of(span: &mut Span, d: Option<NaiveDate>) -> &mut Day {
    match d {
        Some(d) => span.days.entry(d).or_default(),
        None => &mut span.base,
    }
}

/// Totals per day (and the base).
pub async fn totals(
    c: &Client,
    r: Range<'_>,
    span: &mut Span,
) -> Result<(), tokio_postgres::Error> {
    let q = format!(
        "SELECT {DAY} AS d, count(*), count(*) FILTER (WHERE NOT l.is_success), {TOKENS}, \
         coalesce(sum(l.cost_usd), 0)::text FROM usage_ledger l WHERE {} GROUP BY 1",
        r.filter()
    );
    for row in c.query(&q, &r.params()).await? {
        day_of(span, row.get(0)).total.add(&sums_at(&row, 1));
    }
    Ok(())
}

/// Usage per model per day, grouped as CCH groups it: by the model the client asked for
/// (`original_model`, else `model`) unless billing follows the redirected model.
pub async fn models(
    c: &Client,
    r: Range<'_>,
    by_original: bool,
    span: &mut Span,
) -> Result<(), tokio_postgres::Error> {
    let key = if by_original {
        "coalesce(l.original_model, l.model, '')"
    } else {
        "coalesce(l.model, l.original_model, '')"
    };
    let q = format!(
        "SELECT {DAY} AS d, {key} AS m, count(*), count(*) FILTER (WHERE NOT l.is_success), \
         {TOKENS}, coalesce(sum(l.cost_usd), 0)::text FROM usage_ledger l WHERE {} GROUP BY 1, 2",
        r.filter()
    );
    for row in c.query(&q, &r.params()).await? {
        let day = day_of(span, row.get(0));
        let m: String = row.get(1);
        day.models.entry(m).or_default().add(&sums_at(&row, 2));
    }
    Ok(())
}

/// What each entity of `scope` used per day (and in the base).
pub async fn entities(
    c: &Client,
    r: Range<'_>,
    scope: Scope,
    span: &mut Span,
) -> Result<(), tokio_postgres::Error> {
    let inner = |who: &str| {
        format!(
            "SELECT {DAY} AS d, {who} AS who, count(*) AS n, ({ALL_TOKENS}) AS t, \
             coalesce(sum(l.cost_usd), 0)::text AS c FROM usage_ledger l WHERE {} GROUP BY 1, 2",
            r.filter()
        )
    };
    let q = match scope {
        Scope::User => format!(
            "SELECT d, who::int8, n, t::int8, c FROM ({}) g",
            inner("l.user_id")
        ),
        Scope::Provider => format!(
            "SELECT d, who::int8, n, t::int8, c FROM ({}) g",
            inner("l.final_provider_id")
        ),
        // The key string stays in the database: joined to the (not deleted) key row's id.
        Scope::Key => format!(
            "SELECT g.d, k.id::int8, g.n, g.t::int8, g.c FROM ({}) g \
             JOIN (SELECT DISTINCT ON (key) key, id FROM keys WHERE deleted_at IS NULL \
             ORDER BY key, id) k ON k.key = g.who",
            inner("l.key")
        ),
    };
    for row in c.query(&q, &r.params()).await? {
        let Some(id) = row.get::<_, Option<i64>>(1) else {
            continue;
        };
        let used = Use {
            requests: u(row.get(2)),
            tokens: u(row.get(3)),
            cost: cost(&row, 4),
        };
        day_of(span, row.get(0))
            .of_mut(scope)
            .entry(id)
            .or_default()
            .add(&used);
    }
    Ok(())
}

/// A grouping set of [`grouped`]: the GROUPING() bits of its row (1: not grouped by that of
/// model, user, key, provider).
const BY_DAY: i32 = 0b1111;
const BY_MODEL: i32 = 0b0111;
const BY_USER: i32 = 0b1011;
const BY_KEY: i32 = 0b1101;
const BY_PROVIDER: i32 = 0b1110;

/// Totals (with `models`) and what each entity of `scopes` used, per day, in one pass over the
/// rows (`GROUPING SETS`): for short ranges (the rows after the kept days), where one scan
/// instead of five is most of the time saved.
pub async fn grouped(
    c: &Client,
    r: Range<'_>,
    models: Option<bool>,
    scopes: &[Scope],
    span: &mut Span,
) -> Result<(), tokio_postgres::Error> {
    let model = match models {
        Some(true) => "coalesce(l.original_model, l.model, '')",
        Some(false) => "coalesce(l.model, l.original_model, '')",
        None => "''",
    };
    let mut sets = vec!["(d)"];
    // GROUPING() may name only what some set groups by: the others are constant 1 bits.
    let (mut bits, mut cols) = (Vec::new(), Vec::new());
    let mut set = |on: bool, col: &'static str, null: &'static str, weight: u8| {
        let name = &col[4..5];
        if on {
            sets.push(col);
            bits.push(format!("GROUPING({name}) * {weight}"));
            cols.push(name.to_string());
        } else {
            bits.push(weight.to_string());
            cols.push(format!("NULL::{null} AS {name}"));
        }
    };
    set(models.is_some(), "(d, m)", "text", 8);
    set(scopes.contains(&Scope::User), "(d, u)", "int4", 4);
    set(scopes.contains(&Scope::Key), "(d, k)", "text", 2);
    set(scopes.contains(&Scope::Provider), "(d, p)", "int4", 1);
    let q = format!(
        "SELECT g.gs, g.d, g.m, g.u::int8, g.p::int8, k.id::int8, g.n, g.e, g.i, g.o, g.cc, g.cr, g.c \
         FROM (SELECT ({}) AS gs, d, {}, count(*) AS n, \
           count(*) FILTER (WHERE NOT l.is_success) AS e, {TOKENS_AS}, \
           coalesce(sum(l.cost_usd), 0)::text AS c \
           FROM (SELECT {DAY} AS d, {model} AS m, l.user_id AS u, l.key AS k, \
             l.final_provider_id AS p, l.* FROM usage_ledger l WHERE {}) l \
           GROUP BY GROUPING SETS ({})) g \
         LEFT JOIN (SELECT DISTINCT ON (key) key, id FROM keys WHERE deleted_at IS NULL \
           ORDER BY key, id) k ON k.key = g.k",
        bits.join(" + "),
        cols.join(", "),
        r.filter(),
        sets.join(", ")
    );
    for row in c.query(&q, &r.params()).await? {
        add_grouped(span, &row);
    }
    Ok(())
}

const TOKENS_AS: &str = "coalesce(sum(l.input_tokens), 0)::int8 AS i, \
     coalesce(sum(l.output_tokens), 0)::int8 AS o, \
     coalesce(sum(l.cache_creation_input_tokens), 0)::int8 AS cc, \
     coalesce(sum(l.cache_read_input_tokens), 0)::int8 AS cr";

/// One row of [`grouped`] into `span`.
fn add_grouped(span: &mut Span, row: &Row) {
    let sums = sums_at(row, 6);
    let used = Use {
        requests: sums.requests,
        tokens: sums.all_tokens(),
        cost: sums.cost,
    };
    let day = day_of(span, row.get(1));
    let mut to = |scope: Scope, id: Option<i64>| {
        if let Some(id) = id {
            day.of_mut(scope).entry(id).or_default().add(&used);
        }
    };
    match row.get::<_, i32>(0) {
        BY_DAY => day.total.add(&sums),
        BY_MODEL => {
            let m: String = row.get(2);
            day.models.entry(m).or_default().add(&sums);
        }
        BY_USER => to(Scope::User, row.get(3)),
        BY_PROVIDER => to(Scope::Provider, row.get(4)),
        BY_KEY => to(Scope::Key, row.get(5)),
        _ => {}
    }
}

/// Requests and all tokens in `[from, to)` (the real-time window).
pub async fn recent(
    c: &Client,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<(u64, u64), tokio_postgres::Error> {
    let q = format!(
        "SELECT count(*), {TOKENS} FROM usage_ledger l \
         WHERE {BILLING} AND l.created_at >= $1 AND l.created_at < $2"
    );
    let r = c.query_one(&q, &[&from, &to]).await?;
    let tokens = (1..=4).fold(0u64, |t, i| t.saturating_add(u(r.get(i))));
    Ok((u(r.get(0)), tokens))
}

/// The earliest billed row's time (`None` on an empty ledger).
pub async fn first(c: &Client) -> Result<Option<DateTime<Utc>>, tokio_postgres::Error> {
    let q = format!("SELECT min(l.created_at) FROM usage_ledger l WHERE {BILLING}");
    Ok(c.query_one(&q, &[]).await?.get(0))
}

/// The highest ledger id (0 on an empty ledger).
pub async fn max_id(c: &Client) -> Result<i64, tokio_postgres::Error> {
    let r = c
        .query_one("SELECT coalesce(max(id), 0)::int8 FROM usage_ledger", &[])
        .await?;
    Ok(r.get(0))
}

/// Whether a row after id `max_id` is dated before `end` (written into days already summed).
pub async fn written_into(
    c: &Client,
    max_id: i64,
    end: DateTime<Utc>,
) -> Result<bool, tokio_postgres::Error> {
    let q = "SELECT EXISTS (SELECT 1 FROM usage_ledger WHERE id > $1 AND created_at < $2)";
    let r = c
        .query_one(q, &[&(max_id.clamp(0, i32::MAX as i64) as i32), &end])
        .await?;
    Ok(r.get(0))
}
