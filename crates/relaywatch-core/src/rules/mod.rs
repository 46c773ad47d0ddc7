//! Alert rules: one file per rule, each a pure evaluator that takes `now` and its data and reads
//! no clock, no Redis and no relay; their state lives in relaywatch's Redis behind `store/`. Every rule speaks the same
//! contract, [`Alert`]: a transition (firing or resolved) of one subject of one rule, carrying
//! the data its message is built from, so each channel can render it in its own language.

pub mod alert_state;
pub mod breaker;
pub mod breaker_machine;
pub mod error_rate;
pub mod leaderboard;
pub mod quota;
pub mod replay;
pub mod window;

use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};

use crate::config::Lang;
use crate::render::message::{AlertState, Message};
use crate::render::messages::{self, BreakerAlert, ErrorRateAlert, QuotaItem};

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

    /// The message for one language, its times shown in `tz`.
    pub fn message(&self, lang: Lang, tz: FixedOffset) -> Message {
        let at = self.at.with_timezone(&tz);
        match &self.payload {
            AlertPayload::ErrorRate(a) => messages::error_rate(a, self.state, at, lang),
            AlertPayload::Breaker(b) => messages::breaker(b, self.state, at, lang),
            AlertPayload::Quota { items } => messages::quota(items, self.state, at, lang),
        }
    }
}
