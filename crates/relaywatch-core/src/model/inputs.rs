//! What a relay answers to the rules, whatever the relay: each key's costs or each limit's
//! measure (quota), each key's or user's usage over a window (leaderboard), and the states of
//! the accounts and breakers it keeps (breaker watch). Plain data; rule: a relay fills these
//! from its own store, and the rules never learn which relay it was.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::KeyUsage;

/// One key's rated costs over every period relaywatch may compare, and its relay limits
/// (0 = none). Costs of periods the key has no limit for may be 0.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KeyCost {
    pub key_id: String,
    pub key_name: String,
    pub tags: Vec<String>,
    pub relay_daily_limit_usd: f64,
    pub relay_total_limit_usd: f64,
    pub relay_weekly_opus_limit_usd: f64,
    /// The current hour and the four before it.
    pub five_hours_usd: f64,
    pub daily_usd: f64,
    pub weekly_usd: f64,
    pub monthly_usd: f64,
    pub total_usd: f64,
    pub weekly_opus_usd: f64,
    /// The key's current weekly Opus period as CRS names it (`YYYY-MM-DDTHH`).
    pub weekly_opus_period: String,
}

/// The period ranked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeaderboardWindow {
    /// Yesterday, as a calendar day on the relay's clock.
    #[default]
    CalendarDay,
    /// The current hour and the 23 before it (CRS's hourly buckets).
    Rolling24h,
}

/// One key's usage over the period, and whether it is soft-deleted (deleted keys count in the
/// totals but are not ranked, as in CRS's cost ranking).
#[derive(Debug, Clone, PartialEq)]
pub struct KeyPeriod {
    pub usage: KeyUsage,
    pub deleted: bool,
}

/// One limit's use as the rule compares it, whatever the relay: who (`key_id` is a key id, or
/// for Claude Code Hub `key:3`, `user:7`, `provider:2`), which limit, its use and its period
/// (`None` for a rolling window: the period is kept from the first crossing).
#[derive(Debug, Clone, PartialEq)]
pub struct Measure {
    pub key_id: String,
    pub key_name: String,
    pub limit_id: String,
    pub limit_name: String,
    pub limit_usd: f64,
    pub cost: f64,
    pub period: Option<String>,
    pub rolling: bool,
}

impl Measure {
    /// Who the limit belongs to, as (scope, id): `key:3` → (`key`, `3`) for the scoped
    /// subjects Claude Code Hub has, a bare key id (CRS) → (`key`, id).
    pub fn scope_and_id(&self) -> (&str, &str) {
        match self.key_id.split_once(':') {
            Some((scope @ ("key" | "user" | "provider"), id)) => (scope, id),
            _ => ("key", &self.key_id),
        }
    }
}

/// The quota rule's input, in the shape the relay keeps its limits.
#[derive(Debug, Clone, PartialEq)]
pub enum QuotaInput {
    /// Each key's costs per period and the relay's own limits (CRS); the rule adds the
    /// limits of `[[rules.quota.limits]]`. A key present without any limit left resolves.
    Keys(Vec<KeyCost>),
    /// Every live limit already measured in the relay's own windows (Claude Code Hub); a
    /// subject with no measure left is forgotten.
    Measures(Vec<Measure>),
}

impl QuotaInput {
    /// How many subjects (keys, users, providers) were read.
    pub fn subjects(&self) -> usize {
        match self {
            QuotaInput::Keys(k) => k.len(),
            QuotaInput::Measures(m) => {
                let ids: std::collections::HashSet<&str> =
                    m.iter().map(|m| m.key_id.as_str()).collect();
                ids.len()
            }
        }
    }
}

/// The leaderboard's input: the window `[from, to)`, its label as the message shows it, and
/// the usage of every key (CRS) or user (Claude Code Hub) in it.
#[derive(Debug, Clone, PartialEq)]
pub struct BoardInput {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub label: String,
    pub periods: Vec<KeyPeriod>,
}

/// A watched subject's current trouble (an account, a provider's breaker).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalState {
    /// `open`, `rate_limited`, `error`, `unauthorized`, `blocked`, `unschedulable`.
    pub condition: String,
    pub failures: u64,
    pub expected_recovery: Option<DateTime<Utc>>,
    pub detail: Option<String>,
}

/// Which of the relay's own states to watch (`[rules.breaker] watch_accounts`, `watch_cch`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WatchSet {
    pub accounts: bool,
    pub cch: bool,
}

/// One group of watched states (`accounts`, `cch`): the subjects in trouble now, and the
/// names people know the subjects by (best effort; a subject without one shows its id).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Watched {
    pub group: &'static str,
    pub states: BTreeMap<String, ExternalState>,
    pub names: BTreeMap<String, String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measure(key_id: &str) -> Measure {
        Measure {
            key_id: key_id.into(),
            key_name: "n".into(),
            limit_id: "l".into(),
            limit_name: "daily".into(),
            limit_usd: 1.0,
            cost: 0.5,
            period: None,
            rolling: false,
        }
    }

    #[test]
    fn scopes_are_read_from_scoped_subjects_only() {
        assert_eq!(measure("user:7").scope_and_id(), ("user", "7"));
        assert_eq!(measure("provider:2").scope_and_id(), ("provider", "2"));
        assert_eq!(measure("key:3").scope_and_id(), ("key", "3"));
        // A CRS key id is a key, whatever it holds.
        assert_eq!(measure("abc-123").scope_and_id(), ("key", "abc-123"));
        assert_eq!(measure("team:x").scope_and_id(), ("key", "team:x"));
    }

    #[test]
    fn subjects_count_each_key_once() {
        let m = QuotaInput::Measures(vec![measure("user:7"), measure("user:7"), measure("key:1")]);
        assert_eq!(m.subjects(), 2);
        assert_eq!(QuotaInput::Keys(vec![KeyCost::default()]).subjects(), 1);
    }
}
