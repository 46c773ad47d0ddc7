//! The states the relays keep of their own breakers and accounts (Claude Code Hub's breaker
//! hashes, CRS accounts), read from the source and turned into the breaker rule's plain input:
//! [`ExternalState`] and a name as people know it, by subject (`cch:<scope>:<id>`,
//! `account:<platform>:<id>`). Rule: a failed read returns its error before anything is
//! compared, so it neither opens nor recovers a subject.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::jobs::{off_thread, JobError};
use super::Context;
use crate::config::SourceKindSetting;
use crate::metrics;
use crate::model::AccountState;
use crate::rules::breaker::ExternalState;
use crate::rules::Alert;
use crate::source::accounts::{classify, Platform};
use crate::source::cch::{self, CchBreaker, CchState};
use crate::source::crs::CrsReader;
use crate::source::raw::{AccountRecord, Warnings};
use crate::source::redis_io;
use crate::store::breaker::BreakerRule;

/// CCH breakers that are open or half-open, by subject (`cch:provider:<id>`,
/// `cch:endpoint:<id>`); half-open still counts as open until CCH closes it.
pub fn cch_states(breakers: &[CchBreaker]) -> BTreeMap<String, ExternalState> {
    breakers
        .iter()
        .filter(|b| b.state != CchState::Closed)
        .map(|b| {
            (
                format!("cch:{}:{}", b.scope.as_str(), b.id),
                ExternalState {
                    condition: "open".into(),
                    failures: b.failure_count,
                    expected_recovery: b.open_until,
                    detail: (b.state == CchState::HalfOpen).then(|| "half-open".to_string()),
                },
            )
        })
        .collect()
}

/// What is wrong with a CRS account, if anything: `unauthorized`, `blocked`, `error`,
/// `unschedulable` or `rate_limited` (first match). A deactivated account is the operator's
/// choice, not a fault.
pub fn account_condition(
    a: &AccountRecord,
    now: DateTime<Utc>,
) -> Option<(&'static str, Option<DateTime<Utc>>)> {
    if a.is_active == Some(false) {
        return None;
    }
    match a.status.as_deref().map(str::trim) {
        Some("unauthorized") => return Some(("unauthorized", None)),
        Some("blocked") => return Some(("blocked", None)),
        Some("error") => return Some(("error", None)),
        _ => {}
    }
    if a.schedulable == Some(false) {
        return Some(("unschedulable", None));
    }
    let platform = a.platform.unwrap_or(Platform::Claude);
    (classify(a, platform, now) == AccountState::RateLimited)
        .then_some(("rate_limited", a.rate_limit_end_at))
}

/// CRS accounts' names as people know them, by subject: `name (platform · id)`.
pub fn account_names(accounts: &[AccountRecord]) -> BTreeMap<String, String> {
    accounts
        .iter()
        .map(|a| {
            let platform = a.platform.map(|p| p.name()).unwrap_or("unknown");
            let short: String = a.id.chars().take(8).collect();
            let who = match a.name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
                Some(n) => format!("{n} ({platform} · {short})"),
                None => format!("{platform} · {short}"),
            };
            (format!("account:{platform}:{}", a.id), who)
        })
        .collect()
}

/// CCH providers' names as people know them, by subject: `name (#id)`.
pub fn provider_names(providers: &[(String, String)]) -> BTreeMap<String, String> {
    providers
        .iter()
        .map(|(id, name)| (format!("cch:provider:{id}"), format!("{name} (#{id})")))
        .collect()
}

/// CRS accounts in trouble, by subject (`account:<platform>:<id>`).
pub fn account_states(
    accounts: &[AccountRecord],
    now: DateTime<Utc>,
) -> BTreeMap<String, ExternalState> {
    accounts
        .iter()
        .filter_map(|a| {
            let (cond, until) = account_condition(a, now)?;
            let platform = a.platform.map(|p| p.name()).unwrap_or("unknown");
            Some((
                format!("account:{platform}:{}", a.id),
                ExternalState {
                    condition: cond.into(),
                    failures: 0,
                    expected_recovery: until,
                    detail: Some(format!("status: {cond}")),
                },
            ))
        })
        .collect()
}

/// CRS account states and CCH breaker hashes, diffed against what was seen before.
pub(super) async fn watch_external(
    ctx: &Context,
    br: &BreakerRule,
) -> Result<Vec<Alert>, JobError> {
    let kind = ctx.settings.source.effective_kind();
    let url = match kind {
        SourceKindSetting::Crs | SourceKindSetting::Cch => ctx.settings.source.redis_url.clone(),
        SourceKindSetting::Demo => None,
    };
    let Some(url) = url else {
        return Ok(Vec::new());
    };
    let cfg = &ctx.settings.rules.breaker;
    let t = std::time::Duration::from_millis(ctx.settings.source.connect_timeout_ms);
    let now = Utc::now();
    let mut out = Vec::new();
    if cfg.watch_accounts && kind == SourceKindSetting::Crs {
        let u = url.clone();
        let accounts = off_thread("a reader task", move || async move {
            let mut reader = CrsReader::connect(&u, t).await?;
            let mut w = Warnings::default();
            Ok(reader.accounts(&mut w).await?)
        })
        .await;
        metrics::source_redis(accounts.is_ok());
        let accounts = accounts?;
        let states = account_states(&accounts, now);
        let names = account_names(&accounts);
        out.extend(
            br.watch_named("accounts", &states, &names, now)
                .await
                .map_err(|e| JobError::Other(e.to_string()))?,
        );
    }
    if cfg.watch_cch {
        let u = url.clone();
        let breakers = off_thread("a reader task", move || async move {
            let mut conn = redis_io::connect(&u, t).await?;
            let mut w = Warnings::default();
            Ok(cch::read_breakers(&mut conn, &mut w).await?)
        })
        .await;
        metrics::source_redis(breakers.is_ok());
        let breakers = breakers?;
        let states = cch_states(&breakers);
        let names = if kind == SourceKindSetting::Cch {
            read_provider_names(ctx).await
        } else {
            Default::default()
        };
        out.extend(
            br.watch_named("cch", &states, &names, now)
                .await
                .map_err(|e| JobError::Other(e.to_string()))?,
        );
    }
    Ok(out)
}

/// CCH providers' names (best effort: a failed read leaves the subjects as they are).
async fn read_provider_names(ctx: &Context) -> BTreeMap<String, String> {
    let read = async {
        let c = crate::source::cch::snapshot::connect(&ctx.settings).await?;
        crate::source::cch::db::provider_list(&c)
            .await
            .map_err(|e| crate::Error::Database {
                url: "Claude Code Hub".into(),
                reason: crate::source::pg::reason(&e),
            })
    };
    match read.await {
        Ok(list) => provider_names(&list),
        Err(e) => {
            tracing::debug!("provider names: {}", crate::secrets::redact(&e.to_string()));
            Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn account_conditions() {
        let now = Utc.with_ymd_and_hms(2026, 11, 22, 4, 0, 0).unwrap();
        let base = AccountRecord {
            platform: Some(Platform::Claude),
            id: "a".into(),
            is_active: Some(true),
            status: Some("active".into()),
            schedulable: Some(true),
            ..Default::default()
        };
        assert_eq!(account_condition(&base, now), None);
        let with = |f: &dyn Fn(&mut AccountRecord)| {
            let mut a = base.clone();
            f(&mut a);
            account_condition(&a, now).map(|c| c.0)
        };
        assert_eq!(
            with(&|a| a.status = Some("unauthorized".into())),
            Some("unauthorized")
        );
        assert_eq!(
            with(&|a| a.status = Some("blocked".into())),
            Some("blocked")
        );
        assert_eq!(with(&|a| a.status = Some("error".into())), Some("error"));
        assert_eq!(
            with(&|a| a.schedulable = Some(false)),
            Some("unschedulable")
        );
        assert_eq!(with(&|a| a.is_active = Some(false)), None);
        let end = now + chrono::Duration::minutes(10);
        let limited = {
            let mut a = base.clone();
            a.rate_limit_status = Some("limited".into());
            a.rate_limited_at = Some(now - chrono::Duration::minutes(50));
            a.rate_limit_end_at = Some(end);
            a
        };
        assert_eq!(
            account_condition(&limited, now),
            Some(("rate_limited", Some(end)))
        );
        let states = account_states(&[limited], now);
        assert!(states.contains_key("account:claude:a"));
    }
}
