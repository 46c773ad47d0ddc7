//! Plain data every layer may import: the dashboard Snapshot and its parts (a stable JSON
//! contract read by the CLI, the UI and other tools), `Lang`, the alert vocabulary (`alert`),
//! what a relay answers to the rules (`inputs`) and the daemon's health (`health`). Rule: no
//! I/O and no import from any other layer; fields may be added, names are never renamed.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

mod alert;
pub use alert::{
    Alert, AlertPayload, AlertState, BreakerAlert, ErrorRateAlert, ErrorSample, Level, QuotaItem,
    RuleKind,
};
mod health;
pub use health::{Health, LastDelivery, NextFire, RedisState, TailHealth};
mod inputs;
pub use inputs::{
    BoardInput, ExternalState, KeyCost, KeyPeriod, LeaderboardWindow, Measure, QuotaInput,
    WatchSet, Watched,
};

/// Where a snapshot's numbers came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    Crs,
    Demo,
    /// Claude Code Hub (its PostgreSQL, and its Redis for breakers).
    Cch,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Crs => "crs",
            SourceKind::Demo => "demo",
            SourceKind::Cch => "cch",
        }
    }
}

/// Token and request totals with their cost. `all_tokens` is all four kinds together.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    pub requests: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_create_tokens: u64,
    pub cache_read_tokens: u64,
    pub all_tokens: u64,
    pub cost_usd: f64,
    /// Input plus output: what CRS's today card calls "tokens".
    #[serde(default)]
    pub core_tokens: u64,
    /// Requests that did not succeed, where the relay records it (Claude Code Hub).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<u64>,
}

/// API key counts. Soft-deleted keys are counted in neither `total` nor `active`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ApiKeyCounts {
    pub total: u64,
    pub active: u64,
    /// Soft-deleted keys, which CRS's own overview still counts in its total.
    pub deleted: u64,
}

/// Accounts of one platform by state; each account is in exactly one state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountCounts {
    pub total: u64,
    pub normal: u64,
    pub abnormal: u64,
    pub paused: u64,
    pub rate_limited: u64,
}

impl AccountCounts {
    pub fn add(&mut self, state: AccountState) {
        self.total += 1;
        match state {
            AccountState::Normal => self.normal += 1,
            AccountState::Abnormal => self.abnormal += 1,
            AccountState::Paused => self.paused += 1,
            AccountState::RateLimited => self.rate_limited += 1,
        }
    }

    pub fn merge(&mut self, other: &AccountCounts) {
        self.total += other.total;
        self.normal += other.normal;
        self.abnormal += other.abnormal;
        self.paused += other.paused;
        self.rate_limited += other.rate_limited;
    }
}

/// The state an account is classified into (CRS's four-rule cascade, first match wins).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountState {
    Normal,
    Abnormal,
    Paused,
    RateLimited,
}

/// Requests and tokens per minute over the last `window_minutes`, current partial minute included.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Realtime {
    pub rpm: f64,
    pub tpm: f64,
    pub window_minutes: u32,
}

/// One model's usage over the trend range; `cost_usd` is list-price cost.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelUsage {
    pub model: String,
    pub requests: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_create_tokens: u64,
    pub cache_read_tokens: u64,
    pub all_tokens: u64,
    pub cost_usd: f64,
}

/// One day of the trend; `cost_usd` is list-price cost.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrendDay {
    pub date: String,
    pub requests: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_create_tokens: u64,
    pub cache_read_tokens: u64,
    pub all_tokens: u64,
    pub cost_usd: f64,
}

/// One API key's usage over the trend range; `cost_usd` is rated cost (after service rates).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KeyUsage {
    pub id: String,
    pub name: String,
    pub requests: u64,
    pub all_tokens: u64,
    pub cost_usd: f64,
}

/// One API key's rated cost against its CRS limits; a limit of 0 means "no limit".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KeyLimit {
    pub id: String,
    pub name: String,
    pub daily_cost_usd: f64,
    pub daily_limit_usd: f64,
    pub total_cost_usd: f64,
    pub total_limit_usd: f64,
    pub weekly_opus_cost_usd: f64,
    pub weekly_opus_limit_usd: f64,
    /// Tags of the key (CRS `tags` JSON), for limits set per tag.
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub is_active: bool,
}

/// Which cost each figure carries: CRS prices global figures at list price and per-key figures
/// at the rated cost (after `serviceRates`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostBasis {
    /// `usage_today`, `usage_total`, `models`, `trend`.
    pub global: String,
    /// `top_keys`, `key_limits`.
    pub per_key: String,
    /// Where prices came from: a file path, or "bundled".
    pub pricing: String,
}

impl Default for CostBasis {
    fn default() -> Self {
        CostBasis {
            global: "list_price".into(),
            per_key: "rated".into(),
            pricing: "bundled".into(),
        }
    }
}

/// The dashboard snapshot: what relaywatch shows and reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub generated_at: DateTime<FixedOffset>,
    pub source: SourceKind,
    pub timezone_offset_hours: i32,
    pub today: String,
    pub api_keys: ApiKeyCounts,
    pub accounts: BTreeMap<String, AccountCounts>,
    pub usage_today: Usage,
    pub usage_total: Usage,
    pub realtime: Realtime,
    pub models: Vec<ModelUsage>,
    pub trend: Vec<TrendDay>,
    pub top_keys: Vec<KeyUsage>,
    pub key_limits: Vec<KeyLimit>,
    pub trend_days: u32,
    pub top_n: u32,
    pub cost_basis: CostBasis,
    /// Bad data skipped while reading: one line per kind, with a count.
    pub warnings: Vec<String>,
    /// The relay's IANA time zone, when it has one (Claude Code Hub).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// Top users over the trend range by cost (Claude Code Hub).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub top_users: Vec<UserUsage>,
    /// Providers that are not deleted, with their breaker as the relay reports it (CCH).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub providers: Vec<ProviderState>,
    /// Every limit that is set, with its use in its current window.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub limits: Vec<LimitUse>,
}

/// One user's usage over the trend range.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UserUsage {
    pub id: String,
    pub name: String,
    pub requests: u64,
    pub all_tokens: u64,
    pub cost_usd: f64,
}

/// A provider's circuit breaker as the relay itself would report it at that instant.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BreakerView {
    /// `closed`, `open` or `half-open`.
    pub state: String,
    pub failure_count: u64,
    pub open_until: Option<DateTime<chrono::Utc>>,
}

/// A relay provider (an upstream account pool) and its breaker.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProviderState {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub enabled: bool,
    pub breaker: BreakerView,
}

/// One spending limit and its use in the current window.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LimitUse {
    /// `key`, `user` or `provider`.
    pub scope: String,
    pub id: String,
    pub name: String,
    /// `5h`, `daily`, `weekly`, `monthly` or `total`.
    pub period: String,
    pub used_usd: f64,
    pub limit_usd: f64,
    /// Where the window starts (none for an all-time total).
    pub window_start: Option<DateTime<chrono::Utc>>,
}

impl Snapshot {
    /// All accounts over every platform.
    pub fn accounts_total(&self) -> AccountCounts {
        let mut all = AccountCounts::default();
        for c in self.accounts.values() {
            all.merge(c);
        }
        all
    }
}

/// One request record from a gateway's log (EZ-API `LogRecord` JSON names), the input of the
/// streaming rules (error rate, breaker). Every field is optional: a record says what it knows.
/// `ts` is always set once an entry is read from the stream (its ID gives the time when the
/// producer gave none).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEvent {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ts: Option<DateTime<chrono::Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_in: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_out: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_ip: Option<String>,
}

impl LogEvent {
    /// The provider as a subject name: its id when known, else its name.
    pub fn provider(&self) -> Option<&str> {
        self.provider_id
            .as_deref()
            .or(self.provider_name.as_deref())
    }

    /// Whether the record carries a non-empty error message.
    pub fn has_error_message(&self) -> bool {
        self.error_message
            .as_deref()
            .is_some_and(|m| !m.trim().is_empty())
    }
}

/// Language of reports and chart labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Lang {
    #[serde(rename = "en")]
    En,
    #[serde(rename = "zh-CN")]
    ZhCn,
}

impl Lang {
    pub fn parse(s: &str) -> Option<Lang> {
        match s.trim().to_ascii_lowercase().as_str() {
            "en" | "en-us" | "en-gb" | "english" => Some(Lang::En),
            "zh-cn" | "zh" | "zh-hans" | "zh_cn" | "cn" => Some(Lang::ZhCn),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::ZhCn => "zh-CN",
        }
    }
}
