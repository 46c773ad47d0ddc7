//! Silences and the pause-all switch, for every face (the CLI's `silence`, `pause` and `resume`,
//! the HTTP API, the desktop): the one reading of a silence's rule, subject and duration
//! (`config::duration`'s grammar), and the one way to the state Redis that keeps them. Rule:
//! `check` is pure; only `Switches` touches the store, and only as `rules::alert_state` does.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};

use super::ServiceError;
use crate::config::{parse_duration, Settings, DURATION_HINT};
use crate::error::Error;
use crate::rules::alert_state::parse_rule;
use crate::rules::RuleKind;
use crate::store::alert_state::AlertStateStore;

pub use crate::rules::alert_state::Silence;

/// A silence as asked for, checked: which alerts and for how long.
#[derive(Debug, Clone, PartialEq)]
pub struct SilenceSpec {
    pub rule: Option<RuleKind>,
    pub subject: Option<String>,
    pub duration: Duration,
}

/// Reads a silence's inputs (pure). `rule`: `error_rate`, `breaker` or `quota`, any when empty
/// or `*`; `subject`: any when blank; `duration`: `90s`, `30m`, `1h30m`, `2d`. A rule or a
/// subject is needed (a silence of everything is a pause). The error names the field: `rule`,
/// `subject` or `duration`.
pub fn check(
    rule: Option<&str>,
    subject: Option<&str>,
    duration: &str,
) -> Result<SilenceSpec, ServiceError> {
    let rule = match rule.filter(|r| !r.is_empty() && *r != "*") {
        None => None,
        Some(r) => Some(parse_rule(r).ok_or_else(|| {
            ServiceError::input(
                "rule",
                r,
                "must be error_rate, breaker or quota (or empty for any)",
            )
        })?),
    };
    let subject = subject.filter(|s| !s.trim().is_empty()).map(str::to_string);
    if rule.is_none() && subject.is_none() {
        return Err(ServiceError::input(
            "subject",
            "(empty)",
            "give a rule or a subject (e.g. provider:3); to silence everything use pause",
        ));
    }
    let duration = parse_duration(duration)
        .ok_or_else(|| ServiceError::input("duration", duration, DURATION_HINT))?;
    Ok(SilenceSpec {
        rule,
        subject,
        duration,
    })
}

/// Why the switches cannot be reached.
#[derive(Debug, thiserror::Error)]
pub enum SwitchError {
    /// Neither `[state] redis_url` nor `[source] redis_url` is set.
    #[error("silences and pauses live in the state Redis, and none is configured: set [state] redis_url (or [source] redis_url)")]
    NoStateRedis,
    #[error(transparent)]
    Engine(#[from] Error),
}

impl From<SwitchError> for ServiceError {
    fn from(e: SwitchError) -> Self {
        ServiceError::State(e.to_string())
    }
}

/// Silences and the pause in the state Redis (shared by every instance).
pub struct Switches {
    store: AlertStateStore,
}

impl Switches {
    /// Connects to the state Redis of `s`.
    pub async fn connect(s: &Settings) -> Result<Switches, SwitchError> {
        let url = crate::store::state_redis_url(s).ok_or(SwitchError::NoStateRedis)?;
        let timeout = StdDuration::from_millis(s.source.connect_timeout_ms);
        let conn = crate::source::redis_io::connect(url, timeout).await?;
        Ok(Switches {
            store: AlertStateStore::new(conn, s.state.prefix.clone()),
        })
    }

    /// Adds the silence `spec` from `now`.
    pub async fn add_silence(
        &mut self,
        spec: SilenceSpec,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Silence, Error> {
        let ends_at = now + spec.duration;
        self.store
            .add_silence(spec.rule, spec.subject, ends_at, reason, now)
            .await
    }

    /// The silences in force at `now`, oldest first.
    pub async fn silences(&mut self, now: DateTime<Utc>) -> Result<Vec<Silence>, Error> {
        self.store.silences(now).await
    }

    /// Ends silence `id` now; false when there is none with that id.
    pub async fn end_silence(&mut self, id: &str, now: DateTime<Utc>) -> Result<bool, Error> {
        self.store.expire_silence(id, now).await
    }

    /// Pauses every alert until `until`.
    pub async fn pause(&mut self, until: DateTime<Utc>) -> Result<(), Error> {
        self.store.pause(until).await
    }

    /// Ends the pause.
    pub async fn resume(&mut self) -> Result<(), Error> {
        self.store.resume().await
    }

    /// The pause in force at `now`, if any.
    pub async fn paused_until(
        &mut self,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, Error> {
        self.store.paused_until(now).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_grammar_for_every_face() {
        let s = check(Some("breaker"), None, "1h30m").unwrap();
        assert_eq!(s.duration, Duration::minutes(90));
        assert_eq!(s.rule, Some(RuleKind::Breaker));
        let s = check(Some("*"), Some("provider:3"), "2d").unwrap();
        assert_eq!((s.rule, s.subject.as_deref()), (None, Some("provider:3")));
        let field = |e: ServiceError| e.fields()[0].field.clone();
        assert_eq!(field(check(Some("nope"), None, "1h").unwrap_err()), "rule");
        assert_eq!(field(check(None, Some(" "), "1h").unwrap_err()), "subject");
        assert_eq!(field(check(None, Some("x"), "30").unwrap_err()), "duration");
    }
}
