//! The leaderboard and quota dry runs (`relaywatch rules dry-run leaderboard|quota`, the HTTP
//! API, the Settings page), for Claude Code Hub and CRS alike; rule: read the relay as the rule
//! would at `at`, answer plain data, send nothing and record nothing.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Service, ServiceError};
use crate::config::{Settings, SourceKindSetting};
use crate::model::{KeyPeriod, LeaderboardWindow, QuotaInput};
use crate::source::{AnyRelay, Relay};
use crate::tz::RelayTz;

/// A window, as instants (`to` excluded).
#[derive(Debug, Clone, Serialize)]
pub struct Span {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// One ranked entry (for CRS, an API key: `user_id` is the key's id).
#[derive(Debug, Clone, Serialize)]
pub struct BoardEntry {
    pub rank: u32,
    pub user_id: String,
    pub name: String,
    pub requests: u64,
    pub all_tokens: u64,
    pub cost_usd: f64,
}

/// Totals over every ranked user (not only the top N).
#[derive(Debug, Clone, Serialize)]
pub struct BoardTotals {
    pub users: u64,
    pub requests: u64,
    pub cost_usd: f64,
}

/// What the daily leaderboard would send at `at`.
#[derive(Debug, Clone, Serialize)]
pub struct LeaderboardDryRun {
    pub window: Span,
    pub entries: Vec<BoardEntry>,
    pub totals: BoardTotals,
}

/// One limit at or above the lowest threshold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuotaDryItem {
    pub scope: String,
    pub id: String,
    pub name: String,
    pub period: String,
    pub used_usd: f64,
    pub limit_usd: f64,
    pub percent: f64,
}

/// Every limit the quota rule would see at or above its lowest threshold.
#[derive(Debug, Clone, Serialize)]
pub struct QuotaDryRun {
    pub items: Vec<QuotaDryItem>,
}

fn src(e: impl std::fmt::Display) -> ServiceError {
    ServiceError::Source(crate::secrets::redact(&e.to_string()))
}

fn board(window: Span, periods: &[KeyPeriod], top: u32) -> LeaderboardDryRun {
    let ranked = crate::rules::leaderboard::rank(periods, top, String::new());
    LeaderboardDryRun {
        window,
        entries: ranked
            .top
            .iter()
            .enumerate()
            .map(|(i, k)| BoardEntry {
                rank: i as u32 + 1,
                user_id: k.id.clone(),
                name: k.name.clone(),
                requests: k.requests,
                all_tokens: k.all_tokens,
                cost_usd: k.cost_usd,
            })
            .collect(),
        totals: BoardTotals {
            users: ranked.keys_with_usage,
            requests: ranked.total_requests,
            cost_usd: ranked.total_cost_usd,
        },
    }
}

/// The error for a dry run on the demo.
fn demo_refused() -> ServiceError {
    ServiceError::input(
        "source.kind",
        "demo",
        "a dry run reads a relay: set [source] kind = \"crs\" or \"cch\"",
    )
}

/// The relay `s` selects, refused when it is the demo.
pub(super) fn relay_of(s: &Settings) -> Result<AnyRelay<'_>, ServiceError> {
    match s.source.effective_kind() {
        SourceKindSetting::Demo => Err(demo_refused()),
        _ => Ok(crate::source::open(s)),
    }
}

/// The leaderboard dry run on `s`'s relay.
pub async fn leaderboard(
    s: &Settings,
    window: LeaderboardWindow,
    top: u32,
    at: DateTime<Utc>,
) -> Result<LeaderboardDryRun, ServiceError> {
    let input = relay_of(s)?.leaderboard(window, at).await.map_err(src)?;
    let span = Span {
        from: input.from,
        to: input.to,
    };
    Ok(board(span, &input.periods, top))
}

fn lowest(s: &Settings) -> f64 {
    s.rules.quota.thresholds.iter().copied().min().unwrap_or(80) as f64
}

/// The quota dry run on `s`'s relay: every limit at or above the lowest threshold at `at`.
pub async fn quota(s: &Settings, at: DateTime<Utc>) -> Result<QuotaDryRun, ServiceError> {
    let input = relay_of(s)?.quota(at).await.map_err(src)?;
    Ok(QuotaDryRun {
        items: quota_items(s, &input, at),
    })
}

/// The quota dry run's items from what the relay answered: at or above the lowest threshold,
/// fullest first.
pub fn quota_items(s: &Settings, input: &QuotaInput, at: DateTime<Utc>) -> Vec<QuotaDryItem> {
    let tz = RelayTz::from_config(s.source.timezone_offset_hours);
    let items = crate::rules::quota::measures(input, &s.rules.quota.limits, at, tz)
        .into_iter()
        .map(|m| {
            let (scope, id) = m.scope_and_id();
            QuotaDryItem {
                scope: scope.to_string(),
                id: id.to_string(),
                name: m.key_name.clone(),
                period: m.limit_name.clone(),
                used_usd: m.cost,
                limit_usd: m.limit_usd,
                percent: percent(m.cost, m.limit_usd),
            }
        })
        .collect();
    shortlist(lowest(s), items)
}

/// The items at or above `floor` percent, fullest first.
fn shortlist(floor: f64, mut items: Vec<QuotaDryItem>) -> Vec<QuotaDryItem> {
    items.retain(|i| i.percent >= floor);
    items.sort_by(|a, b| {
        b.percent
            .total_cmp(&a.percent)
            .then(a.scope.cmp(&b.scope))
            .then(a.id.cmp(&b.id))
            .then(a.period.cmp(&b.period))
    });
    items
}

fn percent(used: f64, limit: f64) -> f64 {
    if limit > 0.0 {
        (used / limit * 10_000.0).round() / 100.0
    } else {
        0.0
    }
}

impl Service {
    /// `rules dry-run leaderboard` (see [`leaderboard`]).
    pub async fn leaderboard_dry_run(
        &self,
        window: LeaderboardWindow,
        top: u32,
        at: DateTime<Utc>,
    ) -> Result<LeaderboardDryRun, ServiceError> {
        leaderboard(&self.settings(), window, top, at).await
    }

    /// `rules dry-run quota` (see [`quota`]).
    pub async fn quota_dry_run(&self, at: DateTime<Utc>) -> Result<QuotaDryRun, ServiceError> {
        quota(&self.settings(), at).await
    }
}
