//! What the readers take out of a relay before any arithmetic: key records, account fields,
//! usage counters per bucket. The CRS reader fills it from Redis, the demo from its generator,
//! and `aggregate` turns it into a Snapshot, so both share one set of rules.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};

use super::accounts::Platform;
use crate::tz::RelayTz;

/// One API key's record (`apikey:{id}`), the fields relaywatch needs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KeyRecord {
    pub id: String,
    pub name: String,
    pub is_active: bool,
    pub is_deleted: bool,
    pub daily_cost_limit: f64,
    pub total_cost_limit: f64,
    pub weekly_opus_cost_limit: f64,
    pub tags: Vec<String>,
    /// 1 (Monday) … 7 (Sunday), CRS's `weeklyResetDay`.
    pub weekly_reset_day: u32,
    pub weekly_reset_hour: u32,
}

/// The status fields of one account record, as stored (strings parsed, nothing inferred).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AccountRecord {
    pub platform: Option<Platform>,
    pub id: String,
    pub is_active: Option<bool>,
    pub status: Option<String>,
    pub schedulable: Option<bool>,
    pub rate_limit_status: Option<String>,
    pub rate_limited_at: Option<DateTime<Utc>>,
    pub rate_limit_end_at: Option<DateTime<Utc>>,
    /// Minutes (Claude Console's `rateLimitDuration`).
    pub rate_limit_duration_minutes: Option<i64>,
    /// The account's `name`, as the operator knows it.
    pub name: Option<String>,
}

/// Counters of one usage hash (per key, per model or global) after CRS's read rules.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RawUsage {
    pub requests: u64,
    pub input: u64,
    pub output: u64,
    pub cache_create: u64,
    pub cache_read: u64,
    pub all_tokens: u64,
    pub ephemeral_5m: u64,
    pub ephemeral_1h: u64,
}

/// The largest count relaywatch reads or adds up to: 2^53, the largest integer a JSON number (and
/// CRS's JavaScript) holds exactly. A stored counter above it is skipped; a sum reaching it stops
/// there (with a warning) instead of wrapping.
pub const MAX_COUNT: u64 = 1 << 53;

/// `a + b`, stopping at `MAX_COUNT`; the flag says whether it stopped.
pub fn capped_add(a: u64, b: u64) -> (u64, bool) {
    match a.checked_add(b) {
        Some(s) if s <= MAX_COUNT => (s, false),
        _ => (MAX_COUNT, true),
    }
}

/// `*a += b` stopping at `MAX_COUNT`; true when it stopped.
pub fn add_capped(a: &mut u64, b: u64) -> bool {
    let (s, capped) = capped_add(*a, b);
    *a = s;
    capped
}

impl RawUsage {
    /// Add `o` field by field, each sum stopping at `MAX_COUNT`; true when any stopped there.
    pub fn add(&mut self, o: &RawUsage) -> bool {
        let mut capped = false;
        for (a, b) in [
            (&mut self.requests, o.requests),
            (&mut self.input, o.input),
            (&mut self.output, o.output),
            (&mut self.cache_create, o.cache_create),
            (&mut self.cache_read, o.cache_read),
            (&mut self.all_tokens, o.all_tokens),
            (&mut self.ephemeral_5m, o.ephemeral_5m),
            (&mut self.ephemeral_1h, o.ephemeral_1h),
        ] {
            capped |= add_capped(a, b);
        }
        capped
    }

    /// `add`, recording a warning naming `what` was summed when a sum stopped at `MAX_COUNT`.
    pub fn add_or_warn(&mut self, o: &RawUsage, w: &mut Warnings, what: impl FnOnce() -> String) {
        if self.add(o) {
            w.capped(what);
        }
    }

    /// The four token kinds added up (stopping at `MAX_COUNT`).
    pub fn four_kinds(&self) -> u64 {
        [self.output, self.cache_create, self.cache_read]
            .into_iter()
            .fold(self.input.min(MAX_COUNT), |s, v| capped_add(s, v).0)
    }

    pub fn token_counts(&self) -> crate::pricing::TokenCounts {
        crate::pricing::TokenCounts {
            input: self.input,
            output: self.output,
            cache_create: self.cache_create,
            cache_read: self.cache_read,
            ephemeral_5m: self.ephemeral_5m,
            ephemeral_1h: self.ephemeral_1h,
        }
    }
}

/// One model's usage in one bucket (a day or a month), as stored: one per Redis key, the model
/// name as it appears in the key.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelBucket {
    pub model: String,
    pub usage: RawUsage,
}

/// One day of the trend range.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DayData {
    pub date: String,
    /// `usage:model:daily:{model}:{date}` hashes, one per key.
    pub models: Vec<ModelBucket>,
    /// Sum of `usage:daily:{key}:{date}`: only read when the day has no model data (CRS then
    /// prices it as model `unknown`).
    pub keys_fallback: Option<RawUsage>,
}

/// Rated costs of one key (`usage:cost:*`), in USD.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct KeyCosts {
    /// Σ `usage:cost:daily:{id}:{D}` over the trend range (CRS's cost ranking).
    pub range: f64,
    pub today: f64,
    pub total: f64,
    pub weekly_opus: f64,
}

/// Requests and tokens of one key over the trend range.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyRangeUsage {
    pub requests: u64,
    pub all_tokens: u64,
}

/// One key's day (`usage:daily:{id}:{D}`) with its per-model hashes
/// (`usage:{id}:model:daily:{model}:{D}`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KeyDay {
    pub usage: RawUsage,
    pub models: Vec<KeyModelDay>,
}

/// One key's usage of one model on one day.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KeyModelDay {
    pub model: String,
    /// `Some(ratedCostMicro or 0)` when the hash carries cost micros (CRS v1.1.263+ data).
    pub rated_micro: Option<u64>,
    pub usage: RawUsage,
}

/// Where the lifetime totals came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LifetimeSource {
    /// `usage:global:total` (CRS v1.1.263+).
    #[default]
    Global,
    /// Σ `usage:{id}` over non-deleted keys (older deployments).
    PerKey,
}

/// Everything a snapshot is computed from.
#[derive(Debug, Clone)]
pub struct RelayData {
    pub now: DateTime<Utc>,
    pub tz: RelayTz,
    pub keys: Vec<KeyRecord>,
    pub accounts: Vec<AccountRecord>,
    /// Σ `usage:daily:{key}:{today}` (CRS's getTodayStats).
    pub today_keys: RawUsage,
    /// `usage:model:daily:{model}:{today}`, for today's list-price cost.
    pub today_models: Vec<ModelBucket>,
    pub lifetime: RawUsage,
    pub lifetime_source: LifetimeSource,
    /// `usage:model:monthly:{model}:{month}` for every month in `usage:model:monthly:months`,
    /// for the all-time cost.
    pub lifetime_models: Vec<ModelBucket>,
    /// Σ `usage:{id}` over keys not deleted: CRS prices this as Claude 3.5 Haiku when there is
    /// no monthly model data at all. Only read in that case.
    pub lifetime_cost_fallback: Option<RawUsage>,
    /// `system:metrics:minute:{m}` for the window, newest first: (requests, totalTokens).
    pub minutes: Vec<(u64, u64)>,
    pub window_minutes: u32,
    pub days: Vec<DayData>,
    pub key_costs: HashMap<String, KeyCosts>,
    /// Filled for the top keys at least.
    pub key_range_usage: HashMap<String, KeyRangeUsage>,
    /// The top keys' days over the range, for their cost as CRS's key trend computes it;
    /// ranking uses `key_costs.range`. A key missing here shows `key_costs.range`.
    pub top_key_days: HashMap<String, Vec<KeyDay>>,
    pub warnings: Warnings,
}

/// Bad data skipped while reading, counted per kind with one example each. Each item (a key, or
/// a key's field) counts once however many read paths meet it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Warnings {
    kinds: BTreeMap<String, Kind>,
}

/// One kind of bad data: the first example and a fingerprint of every item seen.
#[derive(Debug, Clone, Default, PartialEq)]
struct Kind {
    example: String,
    seen: HashSet<u64>,
}

/// The kind of a sum that stopped at `MAX_COUNT`.
pub const CAPPED_SUMS: &str = "sum(s) stopped at 2^53 instead of overflowing";

fn fingerprint(item: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    item.hash(&mut h);
    h.finish()
}

impl Warnings {
    /// Record one skipped item (its text is the example shown when it is the first of its kind);
    /// an item already recorded under this kind is not counted again. Logs the first of each kind.
    pub fn add(&mut self, kind: &str, item: impl FnOnce() -> String) {
        let item = item();
        let entry = self.kinds.entry(kind.to_string()).or_insert_with(|| {
            tracing::warn!(kind, example = %item, "skipping bad relay data");
            Kind {
                example: item.clone(),
                seen: HashSet::new(),
            }
        });
        entry.seen.insert(fingerprint(&item));
    }

    /// A sum of `what` stopped at `MAX_COUNT`.
    pub fn capped(&mut self, what: impl FnOnce() -> String) {
        self.add(CAPPED_SUMS, what);
    }

    pub fn merge(&mut self, other: Warnings) {
        for (k, kind) in other.kinds {
            match self.kinds.get_mut(&k) {
                Some(mine) => mine.seen.extend(kind.seen),
                None => {
                    self.kinds.insert(k, kind);
                }
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.kinds.is_empty()
    }

    pub fn count(&self, kind: &str) -> u64 {
        self.kinds
            .get(kind)
            .map(|e| e.seen.len() as u64)
            .unwrap_or(0)
    }

    /// One line per kind: "skipped 3 non-numeric counter(s), e.g. …".
    pub fn lines(&self) -> Vec<String> {
        self.kinds
            .iter()
            .map(|(k, e)| format!("skipped {} {k}, e.g. {}", e.seen.len(), e.example))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_stop_at_two_to_the_53() {
        let mut w = Warnings::default();
        let big = RawUsage {
            requests: MAX_COUNT - 1,
            input: 5,
            ..RawUsage::default()
        };
        let mut sum = RawUsage::default();
        sum.add_or_warn(&big, &mut w, || "today".into());
        assert!(w.is_empty());
        sum.add_or_warn(&big, &mut w, || "today".into());
        assert_eq!((sum.requests, sum.input), (MAX_COUNT, 10));
        assert_eq!(w.count(CAPPED_SUMS), 1);
        let four = RawUsage {
            input: MAX_COUNT,
            output: MAX_COUNT,
            ..RawUsage::default()
        };
        assert_eq!(four.four_kinds(), MAX_COUNT);
        assert_eq!(capped_add(u64::MAX, 1), (MAX_COUNT, true));
    }

    #[test]
    fn the_same_item_is_counted_once_across_merges() {
        let mut a = Warnings::default();
        a.add("bad", || "k1 field x".into());
        a.add("bad", || "k1 field x".into());
        let mut b = Warnings::default();
        b.add("bad", || "k1 field x".into());
        b.add("bad", || "k2 field x".into());
        b.add("other", || "k3".into());
        a.merge(b);
        assert_eq!(a.count("bad"), 2);
        assert_eq!(
            a.lines(),
            ["skipped 2 bad, e.g. k1 field x", "skipped 1 other, e.g. k3"]
        );
    }
}
