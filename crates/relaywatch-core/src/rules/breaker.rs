//! The breaker rule: a circuit breaker per provider modelled from log events (counted in
//! relaywatch's Redis by `store::breaker`, so it is one breaker across instances), plus watching
//! the breakers and account states the relays keep themselves (Claude Code Hub's hashes, CRS
//! accounts), handed in as plain [`ExternalState`]s by subject; rule: pure — events, states and
//! `now` in, steps and alerts out — and at most one open message per subject goes out per
//! `cooldown_seconds` (flapping is damped: an open inside the cooldown is held and reported once
//! the cooldown is over if still open; its close is then silent when the open never was
//! reported).
//!
//! A failure is a status ≥ 500, a 429, or no status with an error message (a transport error);
//! other 4xx are the client's and count as successes for the provider. The breaker opens after
//! `failures` consecutive failures — or `failures` within `window_seconds` when set; after
//! `open_seconds` it is half-open (on the next event or tick); `half_open_successes` successes in
//! a row close it, a failure re-opens it (same episode, no new message). Times are the events'.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, FixedOffset, TimeZone, Utc};

use super::{Alert, AlertPayload, RuleKind};
use crate::model::LogEvent;
use crate::render::message::AlertState;
use crate::render::messages::{BreakerAlert, ERROR_TEXT_MAX};

/// Whether an event is a failure of its provider (see the module doc).
pub fn is_failure(ev: &LogEvent) -> bool {
    match ev.status_code {
        Some(c) if c >= 500 || c == 429 => true,
        None | Some(0) => ev.has_error_message(),
        Some(_) => false,
    }
}

/// The breaker subject of an event: `provider:<id or name>`.
pub fn subject(ev: &LogEvent) -> Option<String> {
    ev.provider()
        .filter(|p| !p.is_empty())
        .map(|p| format!("provider:{p}"))
}

fn truncate(s: &str) -> String {
    if s.chars().count() <= ERROR_TEXT_MAX {
        s.to_string()
    } else {
        s.chars().take(ERROR_TEXT_MAX).collect::<String>() + "…"
    }
}

/// One subject's outcomes in a batch, in time order, and its last error text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcomes {
    /// (event time ms, success).
    pub seq: Vec<(i64, bool)>,
    pub last_error: Option<String>,
}

/// Group a batch per subject, each in time order (stable for equal times).
pub fn outcomes<'a>(
    events: impl IntoIterator<Item = &'a LogEvent>,
    now: DateTime<Utc>,
) -> BTreeMap<String, Outcomes> {
    let mut out: BTreeMap<String, Outcomes> = BTreeMap::new();
    for ev in events {
        let Some(s) = subject(ev) else { continue };
        let o = out.entry(s).or_default();
        let failed = is_failure(ev);
        o.seq
            .push((ev.ts.unwrap_or(now).timestamp_millis(), !failed));
        if failed {
            if let Some(m) = ev.error_message.as_deref().filter(|m| !m.trim().is_empty()) {
                o.last_error = Some(truncate(m));
            } else if let Some(c) = ev.status_code {
                o.last_error = Some(format!("HTTP {c}"));
            }
        }
    }
    for o in out.values_mut() {
        o.seq.sort_by_key(|(t, _)| *t);
    }
    out
}

pub use crate::model::ExternalState;

/// One step for a watched subject: the stored value expected, the value to store (`None`:
/// remove) and what to report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchStep {
    pub subject: String,
    pub expected: Option<String>,
    pub store: Option<String>,
    pub report: Option<AlertState>,
}

const QUIET: &str = "|quiet";

/// The pure diff of stored (previous) and current states: an opening is reported unless the
/// subject's last open report is within `cooldown_ms` (then it is stored `|quiet` and reported
/// when the cooldown is over, if still open); a recovery is reported when its opening was.
pub fn plan_watch(
    prev: &BTreeMap<String, String>,
    cur: &BTreeMap<String, ExternalState>,
    last_open_ms: &HashMap<String, i64>,
    now_ms: i64,
    cooldown_ms: i64,
) -> Vec<WatchStep> {
    let mut steps = Vec::new();
    let may_report = |s: &str| {
        last_open_ms
            .get(s)
            .is_none_or(|t| now_ms - *t >= cooldown_ms)
    };
    for (s, st) in cur {
        let old = prev.get(s);
        let quiet_old = old.map(|o| o.ends_with(QUIET));
        let base_old = old.map(|o| o.trim_end_matches(QUIET));
        let (store, report) = match (base_old, quiet_old) {
            (None, _) | (Some(_), Some(true)) if may_report(s) => {
                (st.condition.clone(), Some(AlertState::Firing))
            }
            (None, _) => (format!("{}{QUIET}", st.condition), None),
            (Some(b), Some(true)) if b != st.condition => {
                (format!("{}{QUIET}", st.condition), None)
            }
            (Some(b), Some(false)) if b != st.condition => (st.condition.clone(), None),
            _ => continue,
        };
        steps.push(WatchStep {
            subject: s.clone(),
            expected: old.cloned(),
            store: Some(store),
            report,
        });
    }
    for (s, old) in prev {
        if !cur.contains_key(s) {
            steps.push(WatchStep {
                subject: s.clone(),
                expected: Some(old.clone()),
                store: None,
                report: (!old.ends_with(QUIET)).then_some(AlertState::Resolved),
            });
        }
    }
    steps
}

/// One state change of a modelled breaker, as the store applied it: opened (else closed), its
/// episode, failures, the end of the open (ms) and the last error text (empty: none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakerChange {
    pub subject: String,
    pub opened: bool,
    pub episode: String,
    pub failures: u64,
    pub open_until_ms: i64,
    pub last_error: String,
}

fn utc(t: DateTime<Utc>) -> DateTime<FixedOffset> {
    t.with_timezone(&FixedOffset::east_opt(0).expect("zero offset"))
}

impl BreakerChange {
    /// Its alert at `now`: an open shows its expected recovery (when still ahead) and last
    /// error; a close shows neither.
    pub fn alert(&self, now: DateTime<Utc>) -> Alert {
        let firing = self.opened;
        Alert {
            rule: RuleKind::Breaker,
            subject: self.subject.clone(),
            state: if firing {
                AlertState::Firing
            } else {
                AlertState::Resolved
            },
            episode: self.episode.clone(),
            first_seen: now,
            at: now,
            payload: AlertPayload::Breaker(BreakerAlert {
                subject: self.subject.clone(),
                failures: self.failures,
                expected_recovery: (firing && self.open_until_ms > now.timestamp_millis())
                    .then(|| {
                        Utc.timestamp_millis_opt(self.open_until_ms)
                            .single()
                            .map(utc)
                    })
                    .flatten(),
                last_error: (firing && !self.last_error.is_empty())
                    .then(|| self.last_error.clone()),
                name: None,
            }),
        }
    }
}

/// The alert of a watched subject's step the store reported as `state` in `episode`, built from
/// its current state (none once recovered) and its name as people know it.
pub fn watched_alert(
    step: &WatchStep,
    state: AlertState,
    episode: i64,
    cur: &BTreeMap<String, ExternalState>,
    names: &BTreeMap<String, String>,
    now: DateTime<Utc>,
) -> Alert {
    let st = cur.get(&step.subject);
    Alert {
        rule: RuleKind::Breaker,
        subject: step.subject.clone(),
        state,
        episode: episode.to_string(),
        first_seen: now,
        at: now,
        payload: AlertPayload::Breaker(BreakerAlert {
            subject: step.subject.clone(),
            failures: st.map(|x| x.failures).unwrap_or(0),
            expected_recovery: st.and_then(|x| x.expected_recovery).map(utc),
            last_error: st.and_then(|x| x.detail.clone()),
            name: names.get(&step.subject).cloned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(ms: i64, status: u16) -> LogEvent {
        LogEvent {
            ts: Utc.timestamp_millis_opt(ms).single(),
            provider_id: Some("3".into()),
            status_code: Some(status),
            ..Default::default()
        }
    }

    #[test]
    fn failure_classification() {
        assert!(is_failure(&ev(0, 502)));
        assert!(is_failure(&ev(0, 429)));
        assert!(
            !is_failure(&ev(0, 401)),
            "the client's key, not the provider"
        );
        assert!(!is_failure(&ev(0, 200)));
        let transport = LogEvent {
            error_message: Some("connect timeout".into()),
            ..Default::default()
        };
        assert!(is_failure(&transport));
        assert!(!is_failure(&LogEvent::default()));
    }

    #[test]
    fn outcomes_are_per_subject_in_time_order() {
        let mut late = ev(2_000, 500);
        late.error_message = Some("e".repeat(250));
        let batch = [late, ev(1_000, 200), ev(3_000, 404)];
        let o = outcomes(&batch, Utc::now());
        let p = &o["provider:3"];
        assert_eq!(p.seq, vec![(1_000, true), (2_000, false), (3_000, true)]);
        assert_eq!(
            p.last_error.as_ref().unwrap().chars().count(),
            ERROR_TEXT_MAX + 1
        );
    }

    fn state(cond: &str) -> ExternalState {
        ExternalState {
            condition: cond.into(),
            failures: 0,
            expected_recovery: None,
            detail: None,
        }
    }

    #[test]
    fn watch_diff_reports_open_and_recovery_once() {
        let none = BTreeMap::new();
        let last = HashMap::new();
        let cur: BTreeMap<String, ExternalState> =
            [("account:claude:a".to_string(), state("rate_limited"))].into();
        let steps = plan_watch(&none, &cur, &last, 1_000, 300_000);
        assert_eq!(steps.len(), 1);
        assert_eq!(steps[0].report, Some(AlertState::Firing));
        assert_eq!(steps[0].store.as_deref(), Some("rate_limited"));
        // Same again: nothing to do.
        let prev: BTreeMap<String, String> =
            [("account:claude:a".to_string(), "rate_limited".to_string())].into();
        assert!(plan_watch(&prev, &cur, &last, 2_000, 300_000).is_empty());
        // Another trouble while open: stored, not reported.
        let worse: BTreeMap<String, ExternalState> =
            [("account:claude:a".to_string(), state("unauthorized"))].into();
        let s = plan_watch(&prev, &worse, &last, 2_000, 300_000);
        assert_eq!(s[0].report, None);
        assert_eq!(s[0].store.as_deref(), Some("unauthorized"));
        // Gone: recovered.
        let s = plan_watch(&prev, &BTreeMap::new(), &last, 3_000, 300_000);
        assert_eq!(s[0].report, Some(AlertState::Resolved));
        assert_eq!(s[0].store, None);
    }

    #[test]
    fn watch_flapping_is_damped_by_the_cooldown() {
        let none = BTreeMap::new();
        let last: HashMap<String, i64> = [("cch:provider:7".to_string(), 0)].into();
        let cur: BTreeMap<String, ExternalState> =
            [("cch:provider:7".to_string(), state("open"))].into();
        let s = plan_watch(&none, &cur, &last, 60_000, 300_000);
        assert_eq!(s[0].report, None, "reopened within the cooldown");
        assert_eq!(s[0].store.as_deref(), Some("open|quiet"));
        let quiet: BTreeMap<String, String> =
            [("cch:provider:7".to_string(), "open|quiet".to_string())].into();
        assert!(plan_watch(&quiet, &cur, &last, 120_000, 300_000).is_empty());
        let s = plan_watch(&quiet, &cur, &last, 300_000, 300_000);
        assert_eq!(
            s[0].report,
            Some(AlertState::Firing),
            "still open after the cooldown"
        );
        let s = plan_watch(&quiet, &BTreeMap::new(), &last, 200_000, 300_000);
        assert_eq!(s[0].report, None, "an unreported open closes silently");
    }
}
