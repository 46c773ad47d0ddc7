//! The alert vocabulary every layer shares: which rule ([`RuleKind`]), a transition of one
//! subject ([`Alert`], [`AlertState`]), what its message is built from ([`AlertPayload`] and
//! the payloads), and how urgent a message is ([`Level`]). Plain data; rule: the idempotency
//! key of an alert is built here and nowhere else. Its message is `render`'s (`Alert::message`).

use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};

/// How urgent a message is; `Resolved` is the all-clear of an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Info,
    Warning,
    Critical,
    Resolved,
}
impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warning => "warning",
            Level::Critical => "critical",
            Level::Resolved => "resolved",
        }
    }

    /// A short marker for text dialects.
    pub fn emoji(self) -> &'static str {
        match self {
            Level::Info => "📊",
            Level::Warning => "⚠️",
            Level::Critical => "🚨",
            Level::Resolved => "✅",
        }
    }

    /// An RGB colour for dialects that colour a message (embeds, cards).
    pub fn color(self) -> u32 {
        match self {
            Level::Info => 0x3B82F6,
            Level::Warning => 0xF59E0B,
            Level::Critical => 0xEF4444,
            Level::Resolved => 0x10B981,
        }
    }
}
/// An alert's state (the generic webhook's `state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    Firing,
    Resolved,
}
/// Which rule raised an alert; its name is part of idempotency keys and silences.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    ErrorRate,
    Breaker,
    Quota,
}

impl RuleKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RuleKind::ErrorRate => "error_rate",
            RuleKind::Breaker => "breaker",
            RuleKind::Quota => "quota",
        }
    }
}

/// What an alert's message is built from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AlertPayload {
    ErrorRate(ErrorRateAlert),
    Breaker(BreakerAlert),
    /// Every key over a threshold at once: one grouped message.
    Quota {
        items: Vec<QuotaItem>,
    },
}

/// One transition of one subject of one rule. A rule emits `Firing` once when the condition
/// starts (or escalates, for quota levels) and `Resolved` once when it ends; the same
/// `(rule, subject, episode)` names both, and repeats of a still-firing alert reuse it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub rule: RuleKind,
    /// `global`, `provider:3`, `key:abc`, `model:gpt-5`, `account:claude-a`, or for a grouped
    /// quota alert the level and period, e.g. `100:2026-11-22`.
    pub subject: String,
    pub state: AlertState,
    /// Distinguishes successive firings of one subject (a counter or a period name); part of the
    /// outbox idempotency key `alert:<rule>:<subject>:<state>:<episode>:<channel>`.
    pub episode: String,
    pub first_seen: DateTime<Utc>,
    pub at: DateTime<Utc>,
    pub payload: AlertPayload,
}

impl Alert {
    /// The outbox idempotency key for this alert on one channel.
    pub fn idempotency_key(&self, channel: &str) -> String {
        let state = match self.state {
            AlertState::Firing => "firing",
            AlertState::Resolved => "resolved",
        };
        format!(
            "alert:{}:{}:{}:{}:{}",
            self.rule.as_str(),
            self.subject,
            state,
            self.episode,
            channel
        )
    }
}
/// One error record shown as an example.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorSample {
    pub status_code: Option<u16>,
    pub model: Option<String>,
    pub provider: Option<String>,
    pub key: Option<String>,
    pub error: Option<String>,
}
/// An error-rate alert over a sliding window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorRateAlert {
    /// `global`, `provider:3`, `key:abc`, `model:gpt-5`.
    pub subject: String,
    pub window_seconds: u64,
    pub errors: u64,
    pub requests: u64,
    /// The count that fires it.
    pub threshold: u64,
    /// Top offenders per dimension: (dimension label, [(value, count)]).
    pub offenders: Vec<(String, Vec<(String, u64)>)>,
    pub sample: Option<ErrorSample>,
}
/// A circuit breaker's transition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BreakerAlert {
    /// `provider:3`, `account:claude-a`…
    pub subject: String,
    pub failures: u64,
    pub expected_recovery: Option<DateTime<FixedOffset>>,
    pub last_error: Option<String>,
    /// The subject as people know it, e.g. `Claude中转-B (#3)`; the subject when unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}
/// One key over one threshold of one limit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuotaItem {
    pub key_id: String,
    pub key_name: String,
    /// `daily`, `total`, `weekly_opus`, `5h`, `weekly`, `monthly`.
    pub limit: String,
    /// The period the limit counts over, e.g. `2026-11-22`.
    pub period: String,
    pub cost_usd: f64,
    pub limit_usd: f64,
    /// The threshold crossed, in percent (80, 100…).
    pub threshold_pct: u32,
}
