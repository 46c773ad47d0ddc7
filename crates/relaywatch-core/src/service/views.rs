//! The facade's answers as they go over the wire (HTTP JSON and Tauri commands), one struct per
//! answer, each documented in `ui/API.md`. Rule: no field holds a secret value; secrets appear
//! only as masks (`••••a1b2`, `set`, `missing`).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::channels::ChannelSettings;
use crate::config::Settings;
/// History records as the outbox keeps them (plain data the faces print).
pub use crate::delivery::history::{AttemptResult, Record};
use crate::rules::alert_state::Silence;
use crate::rules::Alert;

/// Where the data comes from, credentials masked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceView {
    pub kind: String,
    pub url: Option<String>,
}

/// `status()`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Status {
    /// `ok`, `stale` (old data kept after a failed or late refresh) or `offline` (no data yet).
    pub health: String,
    pub source: SourceView,
    pub last_refresh: Option<DateTime<Utc>>,
    pub last_attempt: Option<DateTime<Utc>>,
    pub stale: bool,
    pub last_error: Option<String>,
    pub refresh_interval_secs: u64,
    pub config_path: String,
    /// The 0600 secrets folder used because no keychain works here; `None` with a keychain.
    pub secrets_fallback: Option<String>,
}

/// `config()`: the settings with references (never values) and the mask of each secret.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConfigView {
    pub settings: Settings,
    /// channel → field (`url`, `secret`, `bearer`, `app_secret`) → mask.
    pub secrets: BTreeMap<String, BTreeMap<String, String>>,
    pub path: String,
    /// Where the last typed secrets went: `keychain` or `file:<folder>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stored_in: Option<String>,
}

/// A channel as the UI sends it: settings plus the secrets typed in (values).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelInput {
    pub channel: ChannelSettings,
    /// `url`, `secret`, `bearer`, `app_secret` → value; omitted keeps what is stored.
    #[serde(default)]
    pub secrets: BTreeMap<String, String>,
}

/// One request of a test send.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttemptView {
    pub status: Option<u16>,
    pub reply: String,
    /// `delivered`, `retry` or `failed`.
    pub outcome: String,
    pub rule: String,
    pub latency_ms: u64,
}

impl From<&crate::delivery::channel_sender::Attempt> for AttemptView {
    fn from(a: &crate::delivery::channel_sender::Attempt) -> Self {
        use crate::channels::Outcome;
        AttemptView {
            status: a.status,
            reply: a.reply.clone(),
            outcome: match a.outcome {
                Outcome::Delivered { .. } => "delivered",
                Outcome::Retry { .. } => "retry",
                _ => "failed",
            }
            .into(),
            rule: a.rule.clone(),
            latency_ms: a.latency.as_millis() as u64,
        }
    }
}

/// `test_channel()`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestResult {
    pub channel: String,
    pub delivered: bool,
    pub attempts: Vec<AttemptView>,
}

/// One history row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryRow {
    pub channel: String,
    #[serde(flatten)]
    pub record: Record,
}

/// A dead-lettered item.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeadView {
    pub id: u64,
    /// When its last attempt failed (ms since the epoch), if that attempt is among the records.
    pub time_ms: Option<u64>,
    pub channel: String,
    pub kind: String,
    pub attempts: u32,
    pub reason: Option<String>,
}

/// `history()`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct History {
    pub records: Vec<HistoryRow>,
    pub dead: Vec<DeadView>,
}

/// `alerts()`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alerts {
    pub firing: Vec<Alert>,
    pub silenced: Vec<Silence>,
    /// Resolved within the last 24 hours.
    pub resolved: Vec<Alert>,
    pub paused_until: Option<DateTime<Utc>>,
}

/// One schedule with its reading and next fires.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScheduleView {
    pub name: String,
    pub kind: String,
    pub tz: String,
    pub reading: String,
    pub next: Vec<DateTime<Utc>>,
    pub enabled: bool,
    pub channels: Vec<String>,
}

/// `preview_schedule()`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Preview {
    pub reading: String,
    pub next: Vec<DateTime<Utc>>,
}

/// `test_source()`.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct SourceProbe {
    pub ok: bool,
    pub url: String,
    pub api_keys: u64,
    pub accounts: u64,
    pub usage_keys: u64,
    pub index_sets: bool,
    pub error: Option<String>,
    /// Claude Code Hub: its PostgreSQL (the Redis above is CCH's, for breakers, when set).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<DatabaseProbe>,
}

/// "Test connection" for a relay's PostgreSQL (Claude Code Hub).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DatabaseProbe {
    pub ok: bool,
    /// The URL with its password masked, or the secret reference's description.
    pub url: String,
    pub users: u64,
    pub keys: u64,
    pub providers: u64,
    pub ledger_rows: u64,
    pub timezone: Option<String>,
    pub error: Option<String>,
}

/// `dry_run()`: what a rule would report now; nothing is sent or stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DryRun {
    pub rule: String,
    pub alerts: Vec<Alert>,
    /// Keys compared (quota), or windows read (error_rate).
    pub evaluated: usize,
    /// error_rate: the sliding windows as they stand now (`global` first, then firing subjects).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub windows: Vec<WindowView>,
    /// quota: every limit at or above the lowest threshold (see `dry_runs::quota`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<super::dry_runs::QuotaDryItem>,
}

/// One subject's error-rate window as it stands (error_rate dry run; the dashboard's KPI).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WindowView {
    pub subject: String,
    /// Requests counted in the window.
    pub total: u64,
    pub errors: u64,
    pub window_seconds: u64,
    /// Whether these counts meet the rule's firing condition.
    pub breached: bool,
}
