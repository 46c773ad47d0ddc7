//! The snapshot's figures from per-day sums: today, the total, the trend, models, top users and
//! top keys; rule: pure — spans, the local days and the names of the users and keys that are
//! not deleted in, figures out — ordered as CCH's queries order them (cost, then tokens or id),
//! so kept days and a fresh read give the same snapshot.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;

use super::days::{self, Scope, Span, Use};
use crate::model::{KeyUsage, ModelUsage, TrendDay, Usage, UserUsage};

/// The names of the users and keys that are not deleted, by id.
#[derive(Debug, Clone, Default)]
pub struct Names {
    pub users: HashMap<i64, String>,
    pub keys: HashMap<i64, String>,
}

/// What the snapshot shows from the ledger.
#[derive(Debug, Clone)]
pub struct Figures {
    pub today: Usage,
    pub total: Usage,
    /// Days with usage from the trend's first day on (the caller fills empty ones).
    pub trend: BTreeMap<String, TrendDay>,
    pub models: Vec<ModelUsage>,
    pub top_users: Vec<UserUsage>,
    pub top_keys: Vec<KeyUsage>,
}

/// The figures of `parts` for `today`, with the trend, models and tops from `trend_from` on.
pub fn figures(
    parts: &[&Span],
    today: NaiveDate,
    trend_from: NaiveDate,
    top_n: usize,
    names: &Names,
) -> Figures {
    Figures {
        today: days::day_total(parts, today).usage(true),
        total: days::total(parts).usage(true),
        trend: trend(parts, trend_from, today),
        models: models(parts, trend_from),
        top_users: top(parts, Scope::User, trend_from, &names.users, top_n)
            .into_iter()
            .map(|k| UserUsage {
                id: k.id,
                name: k.name,
                requests: k.requests,
                all_tokens: k.all_tokens,
                cost_usd: k.cost_usd,
            })
            .collect(),
        top_keys: top(parts, Scope::Key, trend_from, &names.keys, top_n),
    }
}

fn trend(parts: &[&Span], from: NaiveDate, to: NaiveDate) -> BTreeMap<String, TrendDay> {
    let mut dates: Vec<NaiveDate> = parts
        .iter()
        .flat_map(|p| p.days.range(from..=to).map(|(d, _)| *d))
        .collect();
    dates.sort();
    dates.dedup();
    dates
        .into_iter()
        .map(|d| {
            let x = days::day_total(parts, d).usage(false);
            let date = d.format("%Y-%m-%d").to_string();
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
        .collect()
}

fn models(parts: &[&Span], from: NaiveDate) -> Vec<ModelUsage> {
    let mut out: Vec<ModelUsage> = days::models(parts, from)
        .into_iter()
        .map(|(model, s)| {
            let x = s.usage(false);
            ModelUsage {
                model,
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
    out
}

/// The top `n` of `scope` by cost (then id), only those `named` (not deleted).
fn top(
    parts: &[&Span],
    scope: Scope,
    from: NaiveDate,
    named: &HashMap<i64, String>,
    n: usize,
) -> Vec<KeyUsage> {
    let mut used: Vec<(i64, Use)> = days::entities(parts, scope, from)
        .into_iter()
        .filter(|(id, _)| named.contains_key(id))
        .collect();
    let cost = |u: &Use| u.cost.to_f64();
    used.sort_by(|a, b| cost(&b.1).total_cmp(&cost(&a.1)).then(a.0.cmp(&b.0)));
    used.into_iter()
        .take(n)
        .map(|(id, u)| KeyUsage {
            id: id.to_string(),
            name: named.get(&id).cloned().unwrap_or_default(),
            requests: u.requests,
            all_tokens: u.tokens,
            cost_usd: u.cost.to_f64(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::days::{Day, Sums};
    use super::super::exact::Exact;
    use super::*;

    fn used(cost: &str) -> Use {
        Use {
            requests: 1,
            tokens: 5,
            cost: Exact::parse(cost).unwrap(),
        }
    }

    #[test]
    fn tops_skip_deleted_and_break_ties_by_id() {
        let d: NaiveDate = "2026-12-01".parse().unwrap();
        let mut day = Day {
            total: Sums {
                requests: 4,
                ..Sums::default()
            },
            ..Day::default()
        };
        for (id, c) in [(3, "1.0"), (2, "1.0"), (9, "5"), (4, "0.5")] {
            day.keys.insert(id, used(c));
        }
        let mut span = Span::default();
        span.days.insert(d, day);
        let names = Names {
            users: HashMap::new(),
            keys: [(2, "b"), (3, "c"), (4, "d")]
                .into_iter()
                .map(|(i, n)| (i, n.to_string()))
                .collect(),
        };
        let f = figures(&[&span], d, d, 2, &names);
        let ids: Vec<&str> = f.top_keys.iter().map(|k| k.id.as_str()).collect();
        assert_eq!(ids, ["2", "3"], "9 is deleted; 2 and 3 tie on cost");
        assert_eq!(f.today.requests, 4);
        assert_eq!(f.trend.len(), 1);
    }
}
