//! The use of every limit of CCH's keys, users and providers in its current window; rule: a
//! window is summed from kept closed days where they lie whole inside it, and read from the
//! ledger (one index range scan per piece, CCH indexes the ledger by key, user and provider
//! with `created_at`) only for the part of a day it cuts and the rows after the kept days —
//! the same number a read of the whole window gives.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use tokio_postgres::types::ToSql;
use tokio_postgres::Client;

use super::closed::Closed;
use super::days::{self, Scope, Span};
use super::db::{Limited, BILLING};
use super::exact::Exact;
use super::windows::{local_day, local_start, window_start, Period};
use crate::model::LimitUse;

/// Kept closed days and the rows after them, summed per entity.
#[derive(Clone, Copy)]
pub struct Kept<'a> {
    pub closed: &'a Closed,
    pub live: &'a Span,
}

/// How a window `[start, now]` is summed: kept days from `from_day` (and the base), plus the
/// rows of `read` from the ledger.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub kept: Option<(NaiveDate, bool)>,
    pub read: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

/// The plan for a window from `start` (`None`: since the beginning) read at `now`.
pub fn plan(
    tz: Tz,
    start: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    kept: Option<&Closed>,
) -> Plan {
    let to = now + Duration::microseconds(1);
    let whole = |s: DateTime<Utc>| Plan {
        kept: None,
        read: Some((s, to)),
    };
    let Some(k) = kept else {
        return whole(start.unwrap_or(DateTime::<Utc>::UNIX_EPOCH));
    };
    let horizon_day = k.horizon_day(tz);
    match start {
        // From the kept days' end: the rows after them, all summed already.
        Some(s) if s == k.end => Plan {
            kept: Some((local_day(tz, s), false)),
            read: None,
        },
        Some(s) if s > k.end => whole(s),
        None => Plan {
            kept: Some((horizon_day, true)),
            read: None,
        },
        Some(s) if s < k.horizon => {
            let all = k.first.is_none_or(|f| s <= f);
            Plan {
                kept: Some((horizon_day, all)),
                read: (!all).then_some((s, k.horizon)),
            }
        }
        Some(s) => {
            let d0 = local_day(tz, s);
            if local_start(tz, d0) == s {
                return Plan {
                    kept: Some((d0, false)),
                    read: None,
                };
            }
            let next = d0 + Duration::days(1);
            Plan {
                kept: Some((next, false)),
                read: Some((s, local_start(tz, next).min(k.end))),
            }
        }
    }
}

fn scope_of(scope: &str) -> Scope {
    match scope {
        "user" => Scope::User,
        "provider" => Scope::Provider,
        _ => Scope::Key,
    }
}

/// The kept part of entity `id`'s window under `p` (kept days and the rows after them).
fn kept_part(kept: Option<Kept<'_>>, p: &Plan, scope: Scope, id: i64) -> Exact {
    match (kept, p.kept) {
        (Some(k), Some((from, base))) => {
            let mut c = days::cost_of(&k.closed.span, scope, id, from, base);
            c += days::cost_of(k.live, scope, id, NaiveDate::MIN, true);
            c
        }
        _ => Exact::default(),
    }
}

/// Every window of `ents` at `now`: (entity index, its use), summed as planned.
pub async fn uses(
    c: &Client,
    tz: Tz,
    ents: &[Limited],
    now: DateTime<Utc>,
    kept: Option<Kept<'_>>,
) -> Result<Vec<(usize, LimitUse)>, tokio_postgres::Error> {
    let mut out = Vec::new();
    for (scope, join) in [
        ("key", "l.key = w.k"),
        ("user", "l.user_id = w.i"),
        ("provider", "l.final_provider_id = w.i"),
    ] {
        let mut reads = Reads::default();
        let mut uses: Vec<(usize, LimitUse, Exact)> = Vec::new();
        for (e_i, e) in ents.iter().enumerate().filter(|(_, e)| e.scope == scope) {
            for (p, limit) in &e.limits {
                let start = window_start(*p, tz, now, &e.daily, reset_of(e, *p));
                let plan = plan(tz, start, now, kept.map(|k| k.closed));
                if let Some((from, to)) = plan.read {
                    reads.push(uses.len(), e, from, to);
                }
                let part = kept_part(kept, &plan, scope_of(scope), e.id);
                uses.push((e_i, limit_use(e, *p, *limit, start), part));
            }
        }
        if !reads.idx.is_empty() {
            for (n, used) in reads.run(c, join).await? {
                if let Some(u) = uses.get_mut(n) {
                    u.2 += used;
                }
            }
        }
        out.extend(uses.into_iter().map(|(i, mut l, used)| {
            l.used_usd = used.to_f64();
            (i, l)
        }));
    }
    Ok(out)
}

/// The cost reset a window honours: a key's and a user's for every period, a provider's for
/// its total only.
fn reset_of(e: &Limited, p: Period) -> Option<DateTime<Utc>> {
    if e.scope != "provider" || p == Period::Total {
        e.reset_at
    } else {
        None
    }
}

fn limit_use(e: &Limited, p: Period, limit: f64, start: Option<DateTime<Utc>>) -> LimitUse {
    LimitUse {
        scope: e.scope.into(),
        id: e.id.to_string(),
        name: e.name.clone(),
        period: p.as_str().into(),
        used_usd: 0.0,
        limit_usd: limit,
        window_start: start,
    }
}

/// The pieces read from the ledger, as parallel arrays for one `unnest`.
#[derive(Default)]
struct Reads {
    idx: Vec<i64>,
    ids: Vec<i64>,
    keys: Vec<String>,
    from: Vec<DateTime<Utc>>,
    to: Vec<DateTime<Utc>>,
}

impl Reads {
    fn push(&mut self, n: usize, e: &Limited, from: DateTime<Utc>, to: DateTime<Utc>) {
        self.idx.push(n as i64);
        self.ids.push(e.id);
        self.keys.push(e.key.clone().unwrap_or_default());
        self.from.push(from);
        self.to.push(to);
    }

    /// One index range scan per piece, rather than a join over the whole ledger.
    async fn run(
        &self,
        c: &Client,
        join: &str,
    ) -> Result<Vec<(usize, Exact)>, tokio_postgres::Error> {
        let q = format!(
            "SELECT w.n, x.used \
             FROM unnest($1::int8[], $2::int8[], $3::text[], $4::timestamptz[], \
               $5::timestamptz[]) AS w(n, i, k, s, e) \
             CROSS JOIN LATERAL (SELECT coalesce(sum(l.cost_usd), 0)::text AS used \
               FROM usage_ledger l WHERE {join} AND l.created_at >= w.s \
               AND l.created_at < w.e AND {BILLING}) x"
        );
        let params: [&(dyn ToSql + Sync); 5] =
            [&self.idx, &self.ids, &self.keys, &self.from, &self.to];
        Ok(c.query(&q, &params)
            .await?
            .iter()
            .map(|r| {
                let n: i64 = r.get(0);
                let used = Exact::parse(r.get::<_, &str>(1)).unwrap_or_default();
                (n as usize, used)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn closed(horizon: &str, end: &str, first: Option<&str>) -> Closed {
        Closed::for_tests(at(horizon), at(end), first.map(at))
    }

    #[test]
    fn windows_are_split_into_kept_days_and_reads() {
        let tz = chrono_tz::Asia::Shanghai;
        let now = at("2026-12-03T02:30:00Z");
        let to = now + Duration::microseconds(1);
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        // Kept: 2026-10-24 .. 2026-12-02 (Shanghai), ending at 2026-12-03 00:00 local.
        let k = closed(
            "2026-10-23T16:00:00Z",
            "2026-12-02T16:00:00Z",
            Some("2026-01-01T00:00:00Z"),
        );
        let p = |s: Option<&str>| plan(tz, s.map(at), now, Some(&k));
        // Nothing kept: the whole window is read.
        assert_eq!(
            plan(tz, Some(at("2026-12-01T00:00:00Z")), now, None).read,
            Some((at("2026-12-01T00:00:00Z"), to))
        );
        // Since the beginning: the base and every kept day.
        assert_eq!(
            p(None),
            Plan {
                kept: Some((d("2026-10-24"), true)),
                read: None
            }
        );
        // A month from local midnight: kept days from the 1st, nothing read.
        assert_eq!(
            p(Some("2026-11-30T16:00:00Z")),
            Plan {
                kept: Some((d("2026-12-01"), false)),
                read: None
            }
        );
        // A day from local midnight, where the kept days end: the rows after them.
        assert_eq!(
            p(Some("2026-12-02T16:00:00Z")),
            Plan {
                kept: Some((d("2026-12-03"), false)),
                read: None
            }
        );
        // 5 h within today (after the kept days): read whole.
        let five = "2026-12-02T21:30:00Z";
        assert_eq!(p(Some(five)).read, Some((at(five), to)));
        assert_eq!(p(Some(five)).kept, None);
        // A rolling day cuts yesterday: its part read, no whole kept day.
        assert_eq!(
            p(Some("2026-12-02T02:30:00Z")),
            Plan {
                kept: Some((d("2026-12-03"), false)),
                read: Some((at("2026-12-02T02:30:00Z"), at("2026-12-02T16:00:00Z")))
            }
        );
        // A reset before the kept days but after the first row: read up to them, no base.
        let reset = "2026-03-01T05:00:00Z";
        assert_eq!(
            p(Some(reset)),
            Plan {
                kept: Some((d("2026-10-24"), false)),
                read: Some((at(reset), at("2026-10-23T16:00:00Z")))
            }
        );
        // One at or before the first row: the whole base.
        assert_eq!(
            p(Some("2025-06-01T00:00:00Z")),
            Plan {
                kept: Some((d("2026-10-24"), true)),
                read: None
            }
        );
    }
}
