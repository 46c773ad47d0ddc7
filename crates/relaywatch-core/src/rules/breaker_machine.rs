//! The breaker rule's state machine in memory, on the events' own clock: the same steps as the
//! Redis script in `breaker.rs` (opens after `failures` consecutive failures or `failures`
//! within `window_seconds`, half-open after `open_seconds`, closes after `half_open_successes`
//! successes in a row, a failure while half-open re-opens it, one open message per
//! `cooldown_seconds`); rule: pure — events and `now` in, what would be sent out — for replays
//! over history.

use std::collections::{BTreeMap, VecDeque};

use chrono::{TimeZone, Utc};

use super::breaker::{is_failure, subject};
use super::replay::ReplayEvent;
use crate::config::rules::BreakerSettings;
use crate::model::LogEvent;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum State {
    #[default]
    Closed,
    Open,
    HalfOpen,
}

#[derive(Debug, Default)]
struct Breaker {
    state: State,
    consec: u64,
    window: VecDeque<i64>,
    open_until: i64,
    ho_ok: u64,
    /// The open was reported (a close is reported only then).
    alerted: bool,
    last_alert: Option<i64>,
    failures: u64,
}

/// Every provider's breaker.
#[derive(Debug)]
pub struct BreakerMachine {
    cfg: BreakerSettings,
    breakers: BTreeMap<String, Breaker>,
}

fn event(state: &'static str, at_ms: i64, subject: &str, failures: u64) -> ReplayEvent {
    ReplayEvent {
        state,
        at: Utc.timestamp_millis_opt(at_ms).single().unwrap_or_default(),
        subject: subject.to_string(),
        count: failures,
        total: failures,
    }
}

impl Breaker {
    /// Reports an open not yet reported, once the cooldown allows.
    fn maybe_report(&mut self, cfg: &BreakerSettings, now: i64, s: &str) -> Option<ReplayEvent> {
        let cooldown = cfg.cooldown_seconds as i64 * 1000;
        let free = self.last_alert.is_none_or(|l| now - l >= cooldown);
        if self.state != State::Closed && !self.alerted && free {
            self.alerted = true;
            self.last_alert = Some(now);
            return Some(event("firing", now, s, self.failures));
        }
        None
    }

    fn step(&mut self, cfg: &BreakerSettings, ts: i64, ok: bool, s: &str) -> Option<ReplayEvent> {
        if self.state == State::Open && ts >= self.open_until {
            self.state = State::HalfOpen;
            self.ho_ok = 0;
        }
        let open_ms = cfg.open_seconds as i64 * 1000;
        match (self.state, ok) {
            (State::Closed, true) => self.consec = 0,
            (State::Closed, false) => {
                self.consec += 1;
                let w = cfg.window_seconds as i64 * 1000;
                let mut wc = 0;
                if w > 0 {
                    self.window.push_back(ts);
                    while self.window.front().is_some_and(|&t| t < ts - w) {
                        self.window.pop_front();
                    }
                    wc = self.window.len() as u64;
                }
                if self.consec >= cfg.failures || wc >= cfg.failures {
                    self.state = State::Open;
                    self.open_until = ts + open_ms;
                    self.failures = self.consec.max(wc);
                    self.ho_ok = 0;
                    self.window.clear();
                    return self.maybe_report(cfg, ts, s);
                }
            }
            (State::HalfOpen, true) => {
                self.ho_ok += 1;
                if self.ho_ok >= cfg.half_open_successes {
                    self.state = State::Closed;
                    self.consec = 0;
                    self.ho_ok = 0;
                    if self.alerted {
                        self.alerted = false;
                        return Some(event("resolved", ts, s, self.failures));
                    }
                }
            }
            (State::HalfOpen, false) => {
                self.state = State::Open;
                self.open_until = ts + open_ms;
                self.ho_ok = 0;
                self.failures += 1;
            }
            (State::Open, _) => {}
        }
        None
    }
}

impl BreakerMachine {
    pub fn new(cfg: BreakerSettings) -> Self {
        BreakerMachine {
            cfg,
            breakers: BTreeMap::new(),
        }
    }

    /// One event at its time: time first moves to it, then the event counts.
    pub fn push(&mut self, ev: &LogEvent, at_ms: i64) -> Vec<ReplayEvent> {
        let mut out = self.advance(at_ms);
        let Some(s) = subject(ev) else { return out };
        let b = self.breakers.entry(s.clone()).or_default();
        out.extend(b.step(&self.cfg, at_ms, !is_failure(ev), &s));
        out
    }

    /// Time alone moves to `now_ms`: open breakers turn half-open, held opens are reported.
    pub fn advance(&mut self, now_ms: i64) -> Vec<ReplayEvent> {
        let mut out = Vec::new();
        for (s, b) in self.breakers.iter_mut() {
            if b.state == State::Open && now_ms >= b.open_until {
                b.state = State::HalfOpen;
                b.ho_ok = 0;
            }
            out.extend(b.maybe_report(&self.cfg, now_ms, s));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(code: u16) -> LogEvent {
        LogEvent {
            provider_id: Some("3".into()),
            status_code: Some(code),
            ..Default::default()
        }
    }

    #[test]
    fn opens_after_consecutive_failures_and_closes_after_half_open_successes() {
        let cfg = BreakerSettings {
            failures: 3,
            window_seconds: 0,
            open_seconds: 60,
            half_open_successes: 2,
            cooldown_seconds: 0,
            ..Default::default()
        };
        let mut m = BreakerMachine::new(cfg);
        let mut out = Vec::new();
        for (t, code) in [(0, 502), (1, 502), (2, 200), (3, 502), (4, 502), (5, 503)] {
            out.extend(m.push(&ev(code), t * 1000));
        }
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].state, "firing");
        assert_eq!(out[0].at.timestamp_millis(), 5_000);
        // Half-open from 65 s: two successes close it.
        out = m.push(&ev(200), 70_000);
        assert!(out.is_empty());
        out = m.push(&ev(200), 71_000);
        assert_eq!(out[0].state, "resolved");
    }
}
