//! CRS accounts as the breaker watch sees them: what is wrong with an account (if anything), as
//! an [`ExternalState`] by subject (`account:<platform>:<id>`), and its name as people know it.
//! Rule: pure; a deactivated account is the operator's choice, not a fault.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::model::{AccountState, ExternalState};
use crate::source::accounts::{classify, Platform};
use crate::source::raw::AccountRecord;

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
