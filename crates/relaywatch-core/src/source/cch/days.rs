//! CCH's ledger summed per local day — totals, models, and what each user, key and provider
//! used — with everything before a first kept day summed into one base; rule: plain data and
//! pure arithmetic: the sums of two disjoint spans added are the sums of their union, and a
//! figure read from several spans is the same figure one query over all of them answers.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;

use super::exact::Exact;
use crate::model::Usage;

/// Requests, errors, tokens by kind and cost of a selection of ledger rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sums {
    pub requests: u64,
    pub errors: u64,
    pub input: u64,
    pub output: u64,
    pub cache_create: u64,
    pub cache_read: u64,
    pub cost: Exact,
}

impl Sums {
    pub fn add(&mut self, o: &Sums) {
        self.requests = self.requests.saturating_add(o.requests);
        self.errors = self.errors.saturating_add(o.errors);
        self.input = self.input.saturating_add(o.input);
        self.output = self.output.saturating_add(o.output);
        self.cache_create = self.cache_create.saturating_add(o.cache_create);
        self.cache_read = self.cache_read.saturating_add(o.cache_read);
        self.cost += o.cost;
    }

    pub fn all_tokens(&self) -> u64 {
        self.input
            .saturating_add(self.output)
            .saturating_add(self.cache_create)
            .saturating_add(self.cache_read)
    }

    /// As the snapshot's usage; `errors` counted when `with_errors`.
    pub fn usage(&self, with_errors: bool) -> Usage {
        Usage {
            requests: self.requests,
            input_tokens: self.input,
            output_tokens: self.output,
            cache_create_tokens: self.cache_create,
            cache_read_tokens: self.cache_read,
            all_tokens: self.all_tokens(),
            cost_usd: self.cost.to_f64(),
            core_tokens: self.input.saturating_add(self.output),
            errors: with_errors.then_some(self.errors),
        }
    }
}

/// What one user, key or provider used: requests, all tokens, cost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Use {
    pub requests: u64,
    pub tokens: u64,
    pub cost: Exact,
}

impl Use {
    pub fn add(&mut self, o: &Use) {
        self.requests = self.requests.saturating_add(o.requests);
        self.tokens = self.tokens.saturating_add(o.tokens);
        self.cost += o.cost;
    }
}

/// Who used the ledger: users by `user_id`, keys by the id of the (not deleted) key row whose
/// string the ledger names, providers by `final_provider_id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    User,
    Key,
    Provider,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::User, Scope::Key, Scope::Provider];
}

/// One day's sums (or a base's).
#[derive(Debug, Clone, Default)]
pub struct Day {
    pub total: Sums,
    pub models: HashMap<String, Sums>,
    pub users: HashMap<i64, Use>,
    pub keys: HashMap<i64, Use>,
    pub providers: HashMap<i64, Use>,
}

impl Day {
    pub fn of(&self, scope: Scope) -> &HashMap<i64, Use> {
        match scope {
            Scope::User => &self.users,
            Scope::Key => &self.keys,
            Scope::Provider => &self.providers,
        }
    }

    pub fn of_mut(&mut self, scope: Scope) -> &mut HashMap<i64, Use> {
        match scope {
            Scope::User => &mut self.users,
            Scope::Key => &mut self.keys,
            Scope::Provider => &mut self.providers,
        }
    }

    pub fn add(&mut self, o: &Day) {
        self.total.add(&o.total);
        for (m, s) in &o.models {
            self.models.entry(m.clone()).or_default().add(s);
        }
        for scope in Scope::ALL {
            let mine = self.of_mut(scope);
            for (id, u) in o.of(scope) {
                mine.entry(*id).or_default().add(u);
            }
        }
    }
}

/// A span of the ledger: whole local days, and a base for everything before the first.
#[derive(Debug, Clone, Default)]
pub struct Span {
    /// Everything before the first kept day (its entities only where the reader summed them).
    pub base: Day,
    pub days: BTreeMap<NaiveDate, Day>,
}

impl Span {
    /// Adds `o`'s sums (a later or overlapping span) into this one.
    pub fn absorb(&mut self, o: Span) {
        self.base.add(&o.base);
        for (d, day) in o.days {
            self.days.entry(d).or_default().add(&day);
        }
    }
}

/// Everything in `parts`, bases included.
pub fn total(parts: &[&Span]) -> Sums {
    let mut t = Sums::default();
    for p in parts {
        t.add(&p.base.total);
        p.days.values().for_each(|d| t.add(&d.total));
    }
    t
}

/// Day `d`'s totals in `parts`.
pub fn day_total(parts: &[&Span], d: NaiveDate) -> Sums {
    let mut t = Sums::default();
    for day in parts.iter().filter_map(|p| p.days.get(&d)) {
        t.add(&day.total);
    }
    t
}

/// Usage per model over the days from `from` on.
pub fn models(parts: &[&Span], from: NaiveDate) -> HashMap<String, Sums> {
    let mut out: HashMap<String, Sums> = HashMap::new();
    for p in parts {
        for day in p.days.range(from..).map(|(_, d)| d) {
            for (m, s) in &day.models {
                out.entry(m.clone()).or_default().add(s);
            }
        }
    }
    out
}

/// What each entity of `scope` used over the days from `from` on.
pub fn entities(parts: &[&Span], scope: Scope, from: NaiveDate) -> HashMap<i64, Use> {
    let mut out: HashMap<i64, Use> = HashMap::new();
    for p in parts {
        for day in p.days.range(from..).map(|(_, d)| d) {
            for (id, u) in day.of(scope) {
                out.entry(*id).or_default().add(u);
            }
        }
    }
    out
}

/// One entity's cost over the days from `from` on (and the base too when `with_base`).
pub fn cost_of(span: &Span, scope: Scope, id: i64, from: NaiveDate, with_base: bool) -> Exact {
    let base = if with_base {
        span.base.of(scope).get(&id).map(|u| u.cost)
    } else {
        None
    };
    let days = span
        .days
        .range(from..)
        .filter_map(|(_, d)| d.of(scope).get(&id).map(|u| u.cost));
    base.into_iter().chain(days).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(cost: &str, requests: u64, user: i64) -> Day {
        let c = Exact::parse(cost).unwrap();
        let mut d = Day {
            total: Sums {
                requests,
                cost: c,
                input: 10 * requests,
                ..Sums::default()
            },
            ..Day::default()
        };
        d.users.insert(
            user,
            Use {
                requests,
                tokens: 10 * requests,
                cost: c,
            },
        );
        d
    }

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn spans_add_up() {
        let mut old = Span {
            base: day("1.1", 3, 7),
            ..Span::default()
        };
        old.days.insert(date("2026-12-01"), day("0.2", 2, 7));
        let mut live = Span::default();
        live.days.insert(date("2026-12-02"), day("0.3", 1, 8));
        let parts = [&old, &live];
        let t = total(&parts);
        assert_eq!((t.requests, t.cost.to_f64(), t.input), (6, 1.6, 60));
        assert_eq!(day_total(&parts, date("2026-12-02")).requests, 1);
        let users = entities(&parts, Scope::User, date("2026-12-01"));
        assert_eq!(users[&7].requests, 2);
        assert_eq!(users[&8].cost.to_f64(), 0.3);
        let from = date("2026-12-01");
        assert_eq!(cost_of(&old, Scope::User, 7, from, true).to_f64(), 1.3);
        assert_eq!(cost_of(&old, Scope::User, 7, from, false).to_f64(), 0.2);
        old.absorb(live);
        assert_eq!(total(&[&old]), t);
    }
}
