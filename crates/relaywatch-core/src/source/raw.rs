//! What the readers take out of a relay before any arithmetic: key records, account fields,
//! usage counters per bucket. The CRS reader fills it from Redis, the demo from its generator,
//! and `aggregate` turns it into a Snapshot, so both share one set of rules.

use std::collections::{BTreeMap, HashMap};

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

impl RawUsage {
    pub fn add(&mut self, o: &RawUsage) {
        self.requests += o.requests;
        self.input += o.input;
        self.output += o.output;
        self.cache_create += o.cache_create;
        self.cache_read += o.cache_read;
        self.all_tokens += o.all_tokens;
        self.ephemeral_5m += o.ephemeral_5m;
        self.ephemeral_1h += o.ephemeral_1h;
    }

    /// The four token kinds added up.
    pub fn four_kinds(&self) -> u64 {
        self.input + self.output + self.cache_create + self.cache_read
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

/// Bad data skipped while reading, counted per kind with one example each.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Warnings {
    kinds: BTreeMap<String, (u64, String)>,
}

impl Warnings {
    /// Record one skipped item; logs the first of each kind.
    pub fn add(&mut self, kind: &str, example: impl FnOnce() -> String) {
        let entry = self.kinds.entry(kind.to_string()).or_insert_with(|| {
            let ex = example();
            tracing::warn!(kind, example = %ex, "skipping bad relay data");
            (0, ex)
        });
        entry.0 += 1;
    }

    pub fn merge(&mut self, other: Warnings) {
        for (k, (n, ex)) in other.kinds {
            let e = self.kinds.entry(k).or_insert((0, ex));
            e.0 += n;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.kinds.is_empty()
    }

    pub fn count(&self, kind: &str) -> u64 {
        self.kinds.get(kind).map(|e| e.0).unwrap_or(0)
    }

    /// One line per kind: "skipped 3 non-numeric counter(s), e.g. …".
    pub fn lines(&self) -> Vec<String> {
        self.kinds
            .iter()
            .map(|(k, (n, ex))| format!("skipped {n} {k}, e.g. {ex}"))
            .collect()
    }
}
