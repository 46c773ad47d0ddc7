//! The Claude Code Hub snapshot: CCH's PostgreSQL figures (see `db`) and its providers with
//! their breakers as CCH would report them at that instant (an `open` breaker whose
//! `circuitOpenUntil` has passed reads `half-open`); rule: one round of aggregate queries, the
//! relay's zone for days, weeks and months, and nothing written anywhere.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Duration as Span, Utc};
use chrono_tz::Tz;
use tokio_postgres::Client;

use super::closed::{self, Closed};
use super::days::{Scope, Span as DaySpan};
use super::ledger::{self, Range};
use super::limits::{self, Kept};
use super::windows::{local_day, local_start, resolve_zone};
use super::{db, figures};
use super::{CchBreaker, CchScope, CchState};
use crate::config::Settings;
use crate::error::{Error, Result};
use crate::model::{
    ApiKeyCounts, BreakerView, CostBasis, LimitUse, ProviderState, Realtime, Snapshot, SourceKind,
    TrendDay,
};
use crate::source::ReadRequest;

/// CCH's own settings row, as far as relaywatch needs it.
#[derive(Debug, Clone, Default)]
pub struct SystemSettings {
    pub timezone: Option<String>,
    /// `billing_model_source = 'original'` (the default): models grouped by what was asked.
    pub by_original_model: bool,
}

/// `[source] database_url`, resolved (a plain URL, or a secret reference).
pub fn database_url(s: &Settings) -> Result<String> {
    let fail = |reason: String| Error::Database {
        url: "(source.database_url)".into(),
        reason,
    };
    match &s.source.database_url {
        None => Err(fail("`kind = \"cch\"` needs [source] database_url".into())),
        Some(r) => crate::secret_store::SecretStore::for_this_machine()
            .resolve_url(r)
            .map(|v| v.expose().to_string())
            .map_err(|e| fail(e.to_string())),
    }
}

/// Connects read-only to CCH's database.
pub async fn connect(s: &Settings) -> Result<Client> {
    connect_url(s, &database_url(s)?).await
}

async fn connect_url(s: &Settings, url: &str) -> Result<Client> {
    let timeout = Duration::from_millis(s.source.connect_timeout_ms);
    let c = super::super::pg::connect_read_only(url, timeout)
        .await
        .map_err(|reason| Error::Database {
            url: crate::secrets::mask_url(url),
            reason,
        })?;
    // A few aggregate queries over many rows: sorts in memory, no JIT compile per query.
    // (Best effort: a server that refuses a setting still answers the queries.)
    let _ = c.batch_execute("SET jit = off").await;
    let _ = c.batch_execute("SET work_mem = '32MB'").await;
    Ok(c)
}

/// A hub, connected: its settings, the zone its figures are cut in, and its identity here.
pub struct Hub {
    pub c: Client,
    pub sys: SystemSettings,
    pub tz: Tz,
    id: u64,
}

/// Connects to `s`'s hub and reads its settings.
pub async fn open(s: &Settings) -> Result<Hub> {
    let url = database_url(s)?;
    let c = connect_url(s, &url).await?;
    let sys = system_settings(&c).await;
    let tz = zone_of(s, &sys);
    let id = closed::hub_id(&url, tz, sys.by_original_model);
    Ok(Hub { c, sys, tz, id })
}

impl Hub {
    /// The closed days this process keeps for a read at `now` (none on a first read).
    pub async fn kept(&self, now: DateTime<Utc>) -> Result<Option<Arc<Closed>>> {
        closed::kept(&self.c, self.id, self.tz, self.sys.by_original_model, now)
            .await
            .map_err(db_err)
    }

    /// The use of every limit of `ents` in its current window at `now`.
    pub async fn limit_uses(
        &self,
        ents: &[db::Limited],
        now: DateTime<Utc>,
    ) -> Result<Vec<(usize, LimitUse)>> {
        let (c, tz) = (&self.c, self.tz);
        let Some(k) = self.kept(now).await? else {
            return limits::uses(c, tz, ents, now, None).await.map_err(db_err);
        };
        let live = closed::live(c, tz, None, k.end, after(now))
            .await
            .map_err(db_err)?;
        let kept = Kept {
            closed: &k,
            live: &live,
        };
        limits::uses(c, tz, ents, now, Some(kept))
            .await
            .map_err(db_err)
    }
}

/// The first instant after `now` (ranges are read as `[from, to)`; `now` is included).
fn after(now: DateTime<Utc>) -> DateTime<Utc> {
    now + Span::microseconds(1)
}

pub(crate) fn db_err(e: tokio_postgres::Error) -> Error {
    Error::Database {
        url: "Claude Code Hub".into(),
        reason: crate::secrets::redact(&super::super::pg::reason(&e)),
    }
}

/// `system_settings` (defaults when the row or a column is missing).
pub async fn system_settings(c: &Client) -> SystemSettings {
    let q = "SELECT timezone::text, billing_model_source::text FROM system_settings LIMIT 1";
    match c.query_opt(q, &[]).await {
        Ok(Some(r)) => SystemSettings {
            timezone: r.get(0),
            by_original_model: r
                .get::<_, Option<String>>(1)
                .is_none_or(|b| b.trim() != "redirected"),
        },
        _ => SystemSettings {
            timezone: None,
            by_original_model: true,
        },
    }
}

/// The zone figures are cut in: `[source] timezone`, else CCH's own rule.
pub fn zone_of(s: &Settings, sys: &SystemSettings) -> Tz {
    let host = std::env::var("TZ").ok();
    resolve_zone(
        s.source.timezone.as_deref(),
        sys.timezone.as_deref(),
        host.as_deref(),
    )
}

/// A breaker as CCH reports it at `now`.
pub fn breaker_view(b: Option<&CchBreaker>, now: DateTime<Utc>) -> BreakerView {
    let Some(b) = b else {
        return BreakerView {
            state: "closed".into(),
            ..BreakerView::default()
        };
    };
    let state = match b.state {
        CchState::Open if b.open_until.is_some_and(|t| t <= now) => "half-open",
        CchState::Open => "open",
        CchState::HalfOpen => "half-open",
        CchState::Closed => "closed",
    };
    BreakerView {
        state: state.into(),
        failure_count: b.failure_count,
        open_until: b.open_until.filter(|_| state == "open"),
    }
}

/// Provider breakers from CCH's Redis, by provider id (none when no Redis is configured or it
/// does not answer: every provider then reads closed, and a warning says why).
async fn breakers(s: &Settings, warnings: &mut Vec<String>) -> BTreeMap<String, CchBreaker> {
    let Some(url) = s.source.redis_url.as_deref() else {
        return BTreeMap::new();
    };
    let timeout = Duration::from_millis(s.source.connect_timeout_ms);
    let mut w = crate::source::raw::Warnings::default();
    let read = async {
        let mut conn = crate::source::redis_io::connect(url, timeout).await?;
        super::read_breakers(&mut conn, &mut w).await
    };
    match read.await {
        Ok(all) => {
            warnings.extend(w.lines());
            all.into_iter()
                .filter(|b| b.scope == CchScope::Provider)
                .map(|b| (b.id.clone(), b))
                .collect()
        }
        Err(e) => {
            warnings.push(format!(
                "provider breakers unknown: {}",
                crate::secrets::redact(&e.to_string())
            ));
            BTreeMap::new()
        }
    }
}

async fn providers(
    c: &Client,
    br: &BTreeMap<String, CchBreaker>,
    now: DateTime<Utc>,
) -> Result<Vec<ProviderState>> {
    let q = "SELECT id::int8, name, coalesce(provider_type::text, ''), coalesce(is_enabled, true) \
             FROM providers WHERE deleted_at IS NULL ORDER BY id";
    let rows = c.query(q, &[]).await.map_err(db_err)?;
    Ok(rows
        .iter()
        .map(|r| {
            let id = r.get::<_, i64>(0).to_string();
            ProviderState {
                breaker: breaker_view(br.get(&id), now),
                id,
                name: r.get(1),
                kind: r.get(2),
                enabled: r.get(3),
            }
        })
        .collect())
}

async fn key_counts(c: &Client) -> Result<ApiKeyCounts> {
    let q = "SELECT count(*) FILTER (WHERE deleted_at IS NULL), \
             count(*) FILTER (WHERE deleted_at IS NULL AND coalesce(is_enabled, true)), \
             count(*) FILTER (WHERE deleted_at IS NOT NULL) FROM keys";
    let r = c.query_one(q, &[]).await.map_err(db_err)?;
    let n = |i: usize| r.get::<_, i64>(i).max(0) as u64;
    Ok(ApiKeyCounts {
        total: n(0),
        active: n(1),
        deleted: n(2),
    })
}

/// Every local day of the trend, oldest first, days without usage as zeros.
fn fill_trend(
    tz: Tz,
    now: DateTime<Utc>,
    days: u32,
    got: BTreeMap<String, TrendDay>,
) -> Vec<TrendDay> {
    let today = local_day(tz, now);
    (0..days.max(1) as i64)
        .rev()
        .map(|back| {
            let d = (today - Span::days(back)).format("%Y-%m-%d").to_string();
            got.get(&d).cloned().unwrap_or(TrendDay {
                date: d,
                ..TrendDay::default()
            })
        })
        .collect()
}

/// Every figure from the trend's first day, read fresh: totals by day (earlier days in one
/// base), models, users and keys.
async fn read_fresh(
    hub: &Hub,
    trend_from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> std::result::Result<DaySpan, tokio_postgres::Error> {
    let mut span = DaySpan::default();
    let all = Range {
        zone: hub.tz.name(),
        horizon: trend_from,
        from: None,
        to,
    };
    ledger::totals(&hub.c, all, &mut span).await?;
    let recent = Range {
        from: Some(trend_from),
        ..all
    };
    ledger::models(&hub.c, recent, hub.sys.by_original_model, &mut span).await?;
    for scope in [Scope::User, Scope::Key] {
        ledger::entities(&hub.c, recent, scope, &mut span).await?;
    }
    Ok(span)
}

/// The snapshot of a Claude Code Hub relay at `req.now`.
pub async fn read(s: &Settings, req: &ReadRequest) -> Result<Snapshot> {
    let hub = open(s).await?;
    let (tz, now, to) = (hub.tz, req.now, after(req.now));
    let today = local_day(tz, now);
    let days = req.trend_days.max(1);
    let trend_day = today - Span::days(days as i64 - 1);
    let trend_from = local_start(tz, trend_day);
    // Kept days serve only when they reach back to the trend's first day.
    let kept = hub.kept(now).await?.filter(|k| k.horizon <= trend_from);
    let live = match &kept {
        Some(k) => closed::live(&hub.c, tz, Some(hub.sys.by_original_model), k.end, to).await,
        None => read_fresh(&hub, trend_from, to).await,
    }
    .map_err(db_err)?;
    let parts: Vec<&DaySpan> = kept.iter().map(|k| &k.span).chain([&live]).collect();
    let names = db::names(&hub.c).await.map_err(db_err)?;
    let f = figures::figures(&parts, today, trend_day, req.top_n.max(1) as usize, &names);
    // CCH's "requests in the last minute".
    let minutes = 1u32;
    let recent_from = now - Span::minutes(minutes as i64);
    let (recent_requests, recent_tokens) = ledger::recent(&hub.c, recent_from, to)
        .await
        .map_err(db_err)?;
    let limited = db::limited(&hub.c).await.map_err(db_err)?;
    let kept_limits = kept.as_deref().map(|k| Kept {
        closed: k,
        live: &live,
    });
    let limits = limits::uses(&hub.c, tz, &limited, now, kept_limits)
        .await
        .map_err(db_err)?;
    let mut warnings = Vec::new();
    let br = breakers(s, &mut warnings).await;
    let providers = providers(&hub.c, &br, now).await?;
    let api_keys = key_counts(&hub.c).await?;
    let local = now.with_timezone(&tz);
    let offset = chrono::Offset::fix(local.offset());
    Ok(Snapshot {
        generated_at: now.with_timezone(&offset),
        source: SourceKind::Cch,
        timezone_offset_hours: offset.local_minus_utc() / 3600,
        today: today.format("%Y-%m-%d").to_string(),
        api_keys,
        accounts: BTreeMap::new(),
        usage_today: f.today,
        usage_total: f.total,
        realtime: Realtime {
            rpm: recent_requests as f64 / minutes as f64,
            tpm: recent_tokens as f64 / minutes as f64,
            window_minutes: minutes,
        },
        models: f.models,
        trend: fill_trend(tz, now, days, f.trend),
        top_keys: f.top_keys,
        key_limits: Vec::new(),
        trend_days: days,
        top_n: req.top_n,
        cost_basis: CostBasis {
            global: "relay".into(),
            per_key: "relay".into(),
            pricing: "cch".into(),
        },
        warnings,
        timezone: Some(tz.name().to_string()),
        top_users: f.top_users,
        providers,
        limits: limits.into_iter().map(|(_, l)| l).collect(),
    })
}
