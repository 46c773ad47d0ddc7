//! Replaying a rule over recorded events: what it would have sent in a span; rule: pure — the
//! same evaluators the daemon runs on a table tail ([`ExactWindow`], [`BreakerMachine`]), a
//! clock driven by the events (each event at its own time, the span's end last), nothing sent
//! and nothing stored. Events before the span only fill the window (a window's worth, so the
//! first minutes count what a running daemon would have counted).

use chrono::{DateTime, TimeZone, Utc};
use serde::Serialize;

use super::breaker_machine::BreakerMachine;
use super::error_rate::{ExactWindow, Transition};
use crate::config::rules::{BreakerSettings, ErrorRateSettings};
use crate::model::LogEvent;
use crate::render::message::AlertState;

/// The rules a replay can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReplayRule {
    ErrorRate,
    Breaker,
}

impl ReplayRule {
    /// `error-rate` (or `error_rate`) and `breaker`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "error-rate" | "error_rate" => Some(ReplayRule::ErrorRate),
            "breaker" => Some(ReplayRule::Breaker),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ReplayRule::ErrorRate => "error-rate",
            ReplayRule::Breaker => "breaker",
        }
    }
}

/// One message the rule would have sent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReplayEvent {
    /// `firing` or `resolved` (for the breaker: `open` fires, `closed` resolves).
    pub state: &'static str,
    pub at: DateTime<Utc>,
    pub subject: String,
    /// Errors in the window (error rate) or failures counted (breaker) at that instant.
    pub count: u64,
    /// Requests in the window (error rate); for the breaker, the same as `count`.
    pub total: u64,
}

/// Totals of a replay.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ReplaySummary {
    pub firing: u64,
    pub resolved: u64,
}

/// What a replay found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReplayReport {
    pub rule: ReplayRule,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Where the events came from (`ezapi:log_records`, `stream:relaywatch:events`).
    pub source: String,
    /// Events read in the span (the window's warm-up not included).
    pub records: u64,
    pub events: Vec<ReplayEvent>,
    pub summary: ReplaySummary,
}

enum Machine {
    ErrorRate(ExactWindow),
    Breaker(BreakerMachine),
}

/// A replay in progress: feed it the events in time order, then [`Replay::finish`].
pub struct Replay {
    rule: ReplayRule,
    machine: Machine,
    from_ms: i64,
    records: u64,
    events: Vec<ReplayEvent>,
}

fn at(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

fn of_transition(t: Transition) -> ReplayEvent {
    ReplayEvent {
        state: match t.state {
            AlertState::Firing => "firing",
            AlertState::Resolved => "resolved",
        },
        at: at(t.at_ms),
        subject: t.subject,
        count: t.counts.errors,
        total: t.counts.requests,
    }
}

impl Replay {
    pub fn error_rate(cfg: &ErrorRateSettings, from: DateTime<Utc>) -> Self {
        Replay::new(
            ReplayRule::ErrorRate,
            Machine::ErrorRate(ExactWindow::new(cfg.clone())),
            from,
        )
    }

    pub fn breaker(cfg: &BreakerSettings, from: DateTime<Utc>) -> Self {
        Replay::new(
            ReplayRule::Breaker,
            Machine::Breaker(BreakerMachine::new(cfg.clone())),
            from,
        )
    }

    fn new(rule: ReplayRule, machine: Machine, from: DateTime<Utc>) -> Self {
        Replay {
            rule,
            machine,
            from_ms: from.timestamp_millis(),
            records: 0,
            events: Vec::new(),
        }
    }

    /// How far before the span events are read to fill the window.
    pub fn warm_up(cfg: &ErrorRateSettings) -> chrono::Duration {
        chrono::Duration::seconds(cfg.window_seconds as i64)
    }

    /// One event at `at_ms` (in time order); before the span it only warms the window.
    pub fn push(&mut self, ev: &LogEvent, at_ms: i64) {
        let before = at_ms < self.from_ms;
        if !before {
            self.records += 1;
        }
        match &mut self.machine {
            Machine::ErrorRate(w) if before => w.warm(ev, at_ms),
            Machine::ErrorRate(w) => {
                let out = w.push(ev, at_ms);
                self.events.extend(out.into_iter().map(of_transition));
            }
            Machine::Breaker(b) => {
                let out = b.push(ev, at_ms);
                if !before {
                    self.events.extend(out);
                }
            }
        }
    }

    /// The report, with time advanced to the span's end.
    pub fn finish(mut self, to: DateTime<Utc>, source: String) -> ReplayReport {
        let to_ms = to.timestamp_millis();
        match &mut self.machine {
            Machine::ErrorRate(w) => {
                let out = w.advance(to_ms);
                self.events.extend(out.into_iter().map(of_transition));
            }
            Machine::Breaker(b) => self.events.extend(b.advance(to_ms)),
        }
        self.events.retain(|e| e.at.timestamp_millis() <= to_ms);
        let summary = ReplaySummary {
            firing: self.events.iter().filter(|e| e.state == "firing").count() as u64,
            resolved: self.events.iter().filter(|e| e.state == "resolved").count() as u64,
        };
        ReplayReport {
            rule: self.rule,
            from: at(self.from_ms),
            to,
            source,
            records: self.records,
            events: self.events,
            summary,
        }
    }
}
