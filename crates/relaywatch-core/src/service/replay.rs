//! Replaying a rule over recorded events (`relaywatch rules replay`, `POST
//! /api/rules/{rule}/replay`, the Settings page's "What would have fired?"); rule: the events
//! come from wherever `[events]` says (EZ-API's log table, or relaywatch's event stream), read
//! page by page in time order into the pure replay of `rules::replay`; nothing is sent, nothing
//! is written — not to the relay, not to relaywatch's state.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{Service, ServiceError};
use crate::config::rules::EventSourceKind;
use crate::config::Settings;
use crate::events::table::LogTable;
use crate::model::LogEvent;
use crate::rules::replay::{Replay, ReplayReport, ReplayRule};
use crate::secret_store::SecretStore;

/// The longest span a replay reads.
pub const MAX_SPAN_DAYS: i64 = 31;
/// Stream entries per `XRANGE` page.
const STREAM_PAGE: usize = 10_000;

impl Service {
    /// What `rule` would have sent between `from` and `to` (see [`replay`]).
    pub async fn replay(
        &self,
        rule: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<ReplayReport, ServiceError> {
        replay(&self.settings(), &self.store, rule, from, to).await
    }

    /// The same with the span as people type it (RFC 3339, a duration ago, `now`); defaults:
    /// the last 24 hours. Every face (HTTP, desktop) reads the bounds through this.
    pub async fn replay_span(
        &self,
        rule: &str,
        from: Option<&str>,
        to: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<ReplayReport, ServiceError> {
        let bound = |field: &str, v: Option<&str>, default: &str| {
            let v = v.filter(|v| !v.trim().is_empty()).unwrap_or(default);
            parse_bound(v, now).ok_or_else(|| ServiceError::input(field, v, BOUND_HINT))
        };
        let from = bound("from", from, "24h")?;
        let to = bound("to", to, "now")?;
        self.replay(rule, from, to).await
    }
}

/// How a replay bound is written.
pub const BOUND_HINT: &str =
    "give RFC 3339 (2026-12-04T22:00:00+08:00), a duration ago (24h, 90m) or now";

/// What `rule` (`error-rate` or `breaker`) would have sent between `from` and `to`, evaluated
/// with `settings`' rule over the events `[events]` names.
pub async fn replay(
    settings: &Settings,
    secrets: &SecretStore,
    rule: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<ReplayReport, ServiceError> {
    let kind = ReplayRule::parse(rule).ok_or_else(|| {
        ServiceError::input(
            "rule",
            rule,
            "a replay is available for error-rate and breaker",
        )
    })?;
    check_span(from, to)?;
    let r = &settings.rules;
    let mut replay = match kind {
        ReplayRule::ErrorRate => Replay::error_rate(&r.error_rate, from),
        ReplayRule::Breaker => Replay::breaker(&r.breaker, from),
    };
    let read_from = from - Replay::warm_up(&r.error_rate);
    let source = match settings.events.source {
        EventSourceKind::Ezapi | EventSourceKind::Cch => {
            let url = database_url(settings, secrets)?;
            let (_, name, shape, source) = crate::events::table::table_of(settings)
                .ok_or_else(|| ServiceError::Source("[events] names no table".into()))?;
            let timeout = Duration::from_millis(settings.source.connect_timeout_ms);
            let table = LogTable::connect(&url, &name, shape, timeout)
                .await
                .map_err(|e| ServiceError::Source(e.to_string()))?;
            table
                .span(read_from, to, |row| replay.push(&row.event, row.at_ms()))
                .await
                .map_err(|e| ServiceError::Source(e.to_string()))?;
            source
        }
        EventSourceKind::Stream => {
            let mut events = read_stream(settings, read_from, to).await?;
            events.sort_by_key(|(ms, _)| *ms);
            for (ms, ev) in &events {
                replay.push(ev, *ms);
            }
            format!("stream:{}", settings.events.stream)
        }
    };
    Ok(replay.finish(to, source))
}

fn check_span(from: DateTime<Utc>, to: DateTime<Utc>) -> Result<(), ServiceError> {
    if from >= to {
        return Err(ServiceError::input(
            "from",
            from.to_rfc3339(),
            "must be before --to / to",
        ));
    }
    if to - from > chrono::Duration::days(MAX_SPAN_DAYS) {
        return Err(ServiceError::input(
            "to",
            to.to_rfc3339(),
            format!("a replay covers at most {MAX_SPAN_DAYS} days: shorten the span"),
        ));
    }
    Ok(())
}

/// The request table `[events]` reads, for people: its tail name (`ezapi:log_records`), the
/// table, and where its URL comes from (a secret reference's description, never the value).
pub fn events_table(settings: &Settings) -> Option<(String, String, String)> {
    crate::events::table::table_of(settings)
        .map(|(url, table, _, name)| (name, table, url.map(|r| r.describe()).unwrap_or_default()))
}

/// The request table's database URL (`[events] database_url` for EZ-API, `[source]
/// database_url` for Claude Code Hub), resolved (a plain URL or a secret reference).
pub fn database_url(settings: &Settings, secrets: &SecretStore) -> Result<String, ServiceError> {
    let field = match settings.events.source {
        EventSourceKind::Cch => "source.database_url",
        _ => "events.database_url",
    };
    let url = crate::events::table::table_of(settings).and_then(|(u, ..)| u);
    match url {
        None => Err(ServiceError::input(
            field,
            "(unset)",
            "the events are read from the relay's request table: set its database_url",
        )),
        Some(r) => secrets
            .resolve_url(r)
            .map(|s| s.expose().to_string())
            .map_err(|e| ServiceError::Secret(format!("{field}: {e}"))),
    }
}

/// The stream's events with times in `[from, to)` (by entry id, then by the event's own time).
async fn read_stream(
    s: &Settings,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<(i64, LogEvent)>, ServiceError> {
    let url = s
        .events
        .redis_url
        .as_deref()
        .or(crate::store::state_redis_url(s))
        .ok_or_else(|| {
            ServiceError::State(
                "the event stream lives in the state Redis, and none is configured: set [events] redis_url or [state] redis_url".into(),
            )
        })?;
    let timeout = Duration::from_millis(s.source.connect_timeout_ms);
    let mut con = crate::events::stream::connect(url, timeout)
        .await
        .map_err(|e| ServiceError::State(e.to_string()))?;
    let (from_ms, to_ms) = (from.timestamp_millis(), to.timestamp_millis());
    let mut start = format!("{}-0", from_ms.max(0));
    let mut out = Vec::new();
    loop {
        let page: Vec<(String, Vec<(String, String)>)> = redis::cmd("XRANGE")
            .arg(&s.events.stream)
            .arg(&start)
            .arg(format!("{}", (to_ms - 1).max(0)))
            .arg("COUNT")
            .arg(STREAM_PAGE)
            .query_async(&mut con)
            .await
            .map_err(|e| ServiceError::State(crate::secrets::redact(&e.to_string())))?;
        for (id, fields) in &page {
            let Ok(ev) = crate::events::parse::from_stream_entry(id, fields) else {
                continue;
            };
            let ms = ev.ts.map(|t| t.timestamp_millis()).unwrap_or(from_ms);
            if (from_ms..to_ms).contains(&ms) {
                out.push((ms, ev));
            }
        }
        match page.last() {
            Some((id, _)) if page.len() == STREAM_PAGE => start = format!("({id}"),
            _ => return Ok(out),
        }
    }
}

/// Parses a replay bound: RFC 3339, or a duration ago (`24h` → 24 hours before `now`).
pub fn parse_bound(s: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s.trim()) {
        return Some(t.with_timezone(&Utc));
    }
    if s.trim() == "now" {
        return Some(now);
    }
    let back = crate::config::parse_duration(s.trim().trim_end_matches(" ago"))?;
    Some(now - back)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn bounds_are_rfc3339_or_durations_ago() {
        let now = Utc.with_ymd_and_hms(2026, 12, 5, 12, 0, 0).unwrap();
        assert_eq!(
            parse_bound("2026-12-05T08:00:00+08:00", now),
            Some(Utc.with_ymd_and_hms(2026, 12, 5, 0, 0, 0).unwrap())
        );
        assert_eq!(
            parse_bound("24h", now),
            Some(Utc.with_ymd_and_hms(2026, 12, 4, 12, 0, 0).unwrap())
        );
        assert_eq!(parse_bound("now", now), Some(now));
        assert_eq!(parse_bound("yesterday", now), None);
    }

    #[test]
    fn spans_must_run_forward_and_stay_bounded() {
        let t = Utc.with_ymd_and_hms(2026, 12, 5, 0, 0, 0).unwrap();
        assert!(check_span(t, t).is_err());
        assert!(check_span(t, t + chrono::Duration::days(32)).is_err());
        assert!(check_span(t, t + chrono::Duration::hours(2)).is_ok());
    }
}
