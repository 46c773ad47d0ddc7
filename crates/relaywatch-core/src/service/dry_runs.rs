//! The leaderboard and quota dry runs (`relaywatch rules dry-run leaderboard|quota`, the HTTP
//! API, the Settings page), for Claude Code Hub and CRS alike; rule: read the relay as the rule
//! would at `at`, answer plain data, send nothing and record nothing.

use chrono::{DateTime, Duration, Timelike, Utc};
use serde::Serialize;

use super::{Service, ServiceError};
use crate::config::{Settings, SourceKindSetting};
use crate::model::{KeyPeriod, LeaderboardWindow};
use crate::source::cch::{db, snapshot as cch};
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

/// The window at `at`: yesterday on the relay's clock, or the last 24 h.
fn cch_window(tz: chrono_tz::Tz, window: LeaderboardWindow, at: DateTime<Utc>) -> Span {
    let (from, to, _) = crate::source::cch::leaderboard::window(tz, window, at);
    Span { from, to }
}

/// CRS's windows: yesterday, or the current hour and the 23 before it.
fn crs_window(tz: RelayTz, window: LeaderboardWindow, at: DateTime<Utc>) -> Span {
    let local = tz.local(at);
    match window {
        LeaderboardWindow::CalendarDay => {
            let midnight = local
                .with_hour(0)
                .and_then(|t| t.with_minute(0))
                .and_then(|t| t.with_second(0))
                .and_then(|t| t.with_nanosecond(0))
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or(at);
            Span {
                from: midnight - Duration::days(1),
                to: midnight,
            }
        }
        LeaderboardWindow::Rolling24h => {
            let hour = local
                .with_minute(0)
                .and_then(|t| t.with_second(0))
                .and_then(|t| t.with_nanosecond(0))
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or(at);
            Span {
                from: hour - Duration::hours(23),
                to: at + Duration::microseconds(1),
            }
        }
    }
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

/// The leaderboard dry run on `s`'s relay.
pub async fn leaderboard(
    s: &Settings,
    window: LeaderboardWindow,
    top: u32,
    at: DateTime<Utc>,
) -> Result<LeaderboardDryRun, ServiceError> {
    match s.source.effective_kind() {
        SourceKindSetting::Cch => {
            let c = cch::connect(s).await.map_err(src)?;
            let tz = cch::zone_of(s, &cch::system_settings(&c).await);
            let span = cch_window(tz, window, at);
            let users = db::user_periods(&c, span.from, span.to)
                .await
                .map_err(src)?;
            Ok(board(span, &users, top))
        }
        SourceKindSetting::Crs => {
            let url = s.source.redis_url.clone().unwrap_or_default();
            let timeout = std::time::Duration::from_millis(s.source.connect_timeout_ms);
            let mut conn = crate::source::redis_io::connect(&url, timeout)
                .await
                .map_err(src)?;
            let tz = RelayTz::from_config(s.source.timezone_offset_hours);
            let (keys, _) =
                crate::source::crs::leaderboard::read_key_periods(&mut conn, window, at, tz)
                    .await
                    .map_err(src)?;
            Ok(board(crs_window(tz, window, at), &keys, top))
        }
        SourceKindSetting::Demo => Err(ServiceError::input(
            "source.kind",
            "demo",
            "a dry run reads a relay: set [source] kind = \"crs\" or \"cch\"",
        )),
    }
}

fn lowest(s: &Settings) -> f64 {
    s.rules.quota.thresholds.iter().copied().min().unwrap_or(80) as f64
}

/// The quota dry run on `s`'s relay: every limit at or above the lowest threshold at `at`.
pub async fn quota(s: &Settings, at: DateTime<Utc>) -> Result<QuotaDryRun, ServiceError> {
    let floor = lowest(s);
    let items: Vec<QuotaDryItem> = match s.source.effective_kind() {
        SourceKindSetting::Cch => crate::source::cch::quota::enabled_uses(s, at)
            .await
            .map_err(src)?
            .2
            .into_iter()
            .map(|(_, l)| QuotaDryItem {
                percent: percent(l.used_usd, l.limit_usd),
                scope: l.scope,
                id: l.id,
                name: l.name,
                period: l.period,
                used_usd: l.used_usd,
                limit_usd: l.limit_usd,
            })
            .collect(),
        SourceKindSetting::Crs => crs_quota(s, at).await?,
        SourceKindSetting::Demo => {
            return Err(ServiceError::input(
                "source.kind",
                "demo",
                "a dry run reads a relay: set [source] kind = \"crs\" or \"cch\"",
            ))
        }
    };
    Ok(QuotaDryRun {
        items: shortlist(floor, items),
    })
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

/// CRS: each key's limits (the relay's and `[[rules.quota.limits]]`) as the quota rule sees them.
async fn crs_quota(s: &Settings, at: DateTime<Utc>) -> Result<Vec<QuotaDryItem>, ServiceError> {
    let url = s.source.redis_url.clone().unwrap_or_default();
    let timeout = std::time::Duration::from_millis(s.source.connect_timeout_ms);
    let mut conn = crate::source::redis_io::connect(&url, timeout)
        .await
        .map_err(src)?;
    let tz = RelayTz::from_config(s.source.timezone_offset_hours);
    let q = &s.rules.quota;
    let inputs = crate::source::crs::quota::read_key_costs(&mut conn, q, at, tz)
        .await
        .map_err(src)?;
    Ok(crs_items(s, &inputs, at, tz))
}

/// CRS keys' costs already read, as the dry run's items (every limit; not yet shortlisted).
fn crs_items(
    s: &Settings,
    inputs: &[crate::model::KeyCost],
    at: DateTime<Utc>,
    tz: RelayTz,
) -> Vec<QuotaDryItem> {
    crate::rules::quota::limit_items(inputs, &s.rules.quota.limits, at, tz)
        .into_iter()
        .map(|(k, limit, cost, limit_usd)| QuotaDryItem {
            scope: "key".into(),
            id: k.key_id.clone(),
            name: k.key_name.clone(),
            period: limit,
            used_usd: cost,
            limit_usd,
            percent: percent(cost, limit_usd),
        })
        .collect()
}

/// The CRS quota dry run's items from costs the caller already read: at or above the lowest
/// threshold, fullest first.
pub fn crs_shortlist(
    s: &Settings,
    inputs: &[crate::model::KeyCost],
    at: DateTime<Utc>,
    tz: RelayTz,
) -> Vec<QuotaDryItem> {
    shortlist(lowest(s), crs_items(s, inputs, at, tz))
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
