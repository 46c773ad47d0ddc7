//! The error-rate rule on an event clock, for events read in order by one reader (a relay's log
//! table tailed by id, a replay over history); rule: pure — events and `now` in, transitions
//! out, no I/O and no wall clock — and exact to the millisecond: at each error at time `t` the
//! errors in `[t − window, t]` are counted, a subject fires when that count reaches the
//! threshold (or the ratio is met) and its last firing is at least `cooldown` old, so with
//! EZ-API's settings it fires at exactly the records EZ-API's sliding rule fires at. A firing
//! subject whose condition holds again a cooldown after its last firing fires again (EZ-API
//! would); it resolves once the condition has been false for a full window, at that instant.
//!
//! Only errors can fire (EZ-API evaluates at error records). The small per-subject state
//! ([`SubjectMemo`]) is what a reader persists beside its position; the window's contents are
//! rebuilt from the events themselves after a restart ([`ExactWindow::warm`]).

use std::collections::{BTreeMap, HashMap, VecDeque};

use chrono::{TimeZone, Utc};
use serde::{Deserialize, Serialize};

use super::super::window::Counts;
use super::super::{Alert, AlertPayload, RuleKind};
use super::{breached, is_error, payload, sample_of, subject, top_offenders, TOP_OFFENDERS};
use crate::config::rules::{Dimension, ErrorRateSettings};
use crate::model::LogEvent;
use crate::render::message::AlertState;
use crate::render::messages::ErrorSample;

/// A subject's alert state between events: small, serialisable, persisted by the reader.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubjectMemo {
    pub firing: bool,
    /// The time (ms) of the firing that opened the current or last episode.
    pub first_seen_ms: Option<i64>,
    /// The time (ms) of the last firing (a repeat inside an episode included).
    pub last_fired_ms: Option<i64>,
    /// Since when (ms) the condition has been false while firing.
    pub below_since_ms: Option<i64>,
}

/// One state change of one subject, at an instant of the event clock.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub subject: String,
    pub state: AlertState,
    pub at_ms: i64,
    /// The firing that opened the episode (its ms): the episode's name.
    pub first_seen_ms: i64,
    /// Errors and requests in the window at that instant.
    pub counts: Counts,
    pub offenders: Vec<(String, Vec<(String, u64)>)>,
    pub sample: Option<ErrorSample>,
}

impl Transition {
    /// The alert it sends: the episode is the firing's instant (a repeat firing is a new
    /// message), a resolve names the episode it ends — the same transition always gives the
    /// same outbox key, whichever instance or restart computes it.
    pub fn alert(&self, cfg: &ErrorRateSettings) -> Alert {
        let at = |ms: i64| Utc.timestamp_millis_opt(ms).single().unwrap_or_default();
        let episode = match self.state {
            AlertState::Firing => format!("t{}", self.at_ms),
            AlertState::Resolved => format!("t{}", self.first_seen_ms),
        };
        Alert {
            rule: RuleKind::ErrorRate,
            subject: self.subject.clone(),
            state: self.state,
            episode,
            first_seen: at(self.first_seen_ms),
            at: at(self.at_ms),
            payload: AlertPayload::ErrorRate(payload(
                cfg,
                &self.subject,
                self.counts,
                self.offenders.clone(),
                self.sample.clone(),
            )),
        }
    }
}

/// An error kept in a window: its time and what the message shows of it.
#[derive(Debug, Clone)]
struct ErrorEntry {
    ms: i64,
    /// `dimension:value` pairs it counts for among the offenders.
    tags: Vec<String>,
    sample: ErrorSample,
}

#[derive(Debug, Default)]
struct SubjectWindow {
    /// Times of every event in the window, oldest first.
    requests: VecDeque<i64>,
    errors: VecDeque<ErrorEntry>,
    memo: SubjectMemo,
}

/// The error-rate rule over every subject, on the events' own clock.
#[derive(Debug)]
pub struct ExactWindow {
    cfg: ErrorRateSettings,
    subjects: HashMap<String, SubjectWindow>,
}

fn tags(ev: &LogEvent, own: Dimension) -> Vec<String> {
    let mut out = Vec::new();
    for (d, v) in [
        (
            Dimension::Provider,
            ev.provider_name.as_deref().or(ev.provider_id.as_deref()),
        ),
        (Dimension::Key, ev.key_id.as_deref()),
        (Dimension::Model, ev.model.as_deref()),
    ] {
        if d != own {
            if let Some(v) = v.filter(|v| !v.is_empty()) {
                out.push(format!("{}:{v}", d.as_str()));
            }
        }
    }
    if let Some(code) = ev.status_code {
        out.push(format!("status:{code}"));
    }
    out
}

impl SubjectWindow {
    fn counts(&self) -> Counts {
        Counts {
            requests: self.requests.len() as u64,
            errors: self.errors.len() as u64,
        }
    }

    /// Drops what left the window at `t` (times before `t − window`), tracking the instant the
    /// condition turned false while firing.
    fn evict(&mut self, cfg: &ErrorRateSettings, t: i64) {
        let w = cfg.window_seconds as i64 * 1000;
        let edge = t - w;
        let mut was = breached(cfg, self.counts());
        while let Some(&ms) = self.requests.front().filter(|&&ms| ms < edge) {
            self.requests.pop_front();
            if self.errors.front().is_some_and(|e| e.ms == ms) {
                self.errors.pop_front();
            }
            let now = breached(cfg, self.counts());
            if self.memo.firing && was && !now {
                // Still counted at ms + window; gone one millisecond later.
                self.memo.below_since_ms = Some(ms + w + 1);
            } else if self.memo.firing && !was && now {
                self.memo.below_since_ms = None;
            }
            was = now;
        }
    }

    /// A resolve, if the condition has been false for a full window by `t`.
    fn resolve_due(
        &mut self,
        cfg: &ErrorRateSettings,
        t: i64,
        subject: &str,
    ) -> Option<Transition> {
        let b = self.memo.below_since_ms?;
        let w = cfg.window_seconds as i64 * 1000;
        if !self.memo.firing || t < b + w {
            return None;
        }
        let at = b + w;
        self.memo.firing = false;
        self.memo.below_since_ms = None;
        // Counts as they stood at the resolve instant: the window ending then.
        let counts = Counts {
            requests: self.requests.iter().filter(|&&ms| ms >= at - w).count() as u64,
            errors: self.errors.iter().filter(|e| e.ms >= at - w).count() as u64,
        };
        Some(Transition {
            subject: subject.to_string(),
            state: AlertState::Resolved,
            at_ms: at,
            first_seen_ms: self.memo.first_seen_ms.unwrap_or(at),
            counts,
            offenders: Vec::new(),
            sample: None,
        })
    }

    fn offenders(&self) -> Vec<(String, Vec<(String, u64)>)> {
        let mut counts: HashMap<String, u64> = HashMap::new();
        for e in &self.errors {
            for t in &e.tags {
                *counts.entry(t.clone()).or_default() += 1;
            }
        }
        top_offenders(&counts, TOP_OFFENDERS)
    }

    /// Whether an error at `t` fires: condition met, and not within the cooldown.
    fn fires(&self, cfg: &ErrorRateSettings, t: i64) -> bool {
        let cooldown = cfg.cooldown_seconds as i64 * 1000;
        breached(cfg, self.counts()) && self.memo.last_fired_ms.is_none_or(|l| t - l >= cooldown)
    }
}

impl ExactWindow {
    pub fn new(cfg: ErrorRateSettings) -> Self {
        ExactWindow {
            cfg,
            subjects: HashMap::new(),
        }
    }

    /// Starts from persisted subject states (see [`ExactWindow::memos`]).
    pub fn with_memos(cfg: ErrorRateSettings, memos: BTreeMap<String, SubjectMemo>) -> Self {
        let mut w = ExactWindow::new(cfg);
        for (s, memo) in memos {
            w.subjects.entry(s).or_default().memo = memo;
        }
        w
    }

    pub fn settings(&self) -> &ErrorRateSettings {
        &self.cfg
    }

    /// Every subject's state worth keeping (firing, or inside a cooldown at `now_ms`).
    pub fn memos(&self, now_ms: i64) -> BTreeMap<String, SubjectMemo> {
        let keep = (self.cfg.cooldown_seconds.max(self.cfg.window_seconds) as i64) * 1000;
        self.subjects
            .iter()
            .filter(|(_, s)| {
                s.memo.firing || s.memo.last_fired_ms.is_some_and(|l| now_ms - l < keep)
            })
            .map(|(k, s)| (k.clone(), s.memo.clone()))
            .collect()
    }

    /// Counts an event already judged before a restart: it fills the window, fires nothing.
    pub fn warm(&mut self, ev: &LogEvent, at_ms: i64) {
        self.add(ev, at_ms, false);
    }

    /// One event at its own time `at_ms`; the transitions it causes, in time order.
    pub fn push(&mut self, ev: &LogEvent, at_ms: i64) -> Vec<Transition> {
        let mut out = self.advance(at_ms);
        out.extend(self.add(ev, at_ms, true));
        out
    }

    /// Time alone moves to `now_ms`: the resolves that fall due, in time order.
    pub fn advance(&mut self, now_ms: i64) -> Vec<Transition> {
        let mut out = Vec::new();
        for (s, sw) in self.subjects.iter_mut() {
            sw.evict(&self.cfg, now_ms);
            out.extend(sw.resolve_due(&self.cfg, now_ms, s));
        }
        self.subjects
            .retain(|_, s| !s.requests.is_empty() || s.memo != SubjectMemo::default());
        out.sort_by(|a, b| {
            a.at_ms
                .cmp(&b.at_ms)
                .then_with(|| a.subject.cmp(&b.subject))
        });
        out
    }

    /// A subject's errors and requests in the window ending at the last event or advance.
    pub fn counts(&self, subject: &str) -> Counts {
        self.subjects
            .get(subject)
            .map(SubjectWindow::counts)
            .unwrap_or_default()
    }

    fn add(&mut self, ev: &LogEvent, t: i64, judge: bool) -> Vec<Transition> {
        let err = is_error(ev, self.cfg.status_code_threshold);
        let mut out = Vec::new();
        for d in self.cfg.dimensions.clone() {
            let Some(s) = subject(ev, d) else { continue };
            let sw = self.subjects.entry(s.clone()).or_default();
            sw.evict(&self.cfg, t);
            // A late event (older than the newest) goes to its place: the deques stay sorted.
            let at = sw.requests.partition_point(|&ms| ms <= t);
            sw.requests.insert(at, t);
            if err {
                let at = sw.errors.partition_point(|e| e.ms <= t);
                let entry = ErrorEntry {
                    ms: t,
                    tags: tags(ev, d),
                    sample: sample_of(ev),
                };
                sw.errors.insert(at, entry);
            }
            if sw.memo.firing && breached(&self.cfg, sw.counts()) {
                sw.memo.below_since_ms = None;
            }
            if !(judge && err && sw.fires(&self.cfg, t)) {
                continue;
            }
            if !sw.memo.firing {
                sw.memo.first_seen_ms = Some(t);
            }
            sw.memo.firing = true;
            sw.memo.last_fired_ms = Some(t);
            sw.memo.below_since_ms = None;
            out.push(Transition {
                subject: s,
                state: AlertState::Firing,
                at_ms: t,
                first_seen_ms: sw.memo.first_seen_ms.unwrap_or(t),
                counts: sw.counts(),
                offenders: sw.offenders(),
                sample: sw.errors.back().map(|e| e.sample.clone()),
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_790_000_000_000;

    fn seed() -> ErrorRateSettings {
        ErrorRateSettings {
            threshold: 10,
            window_seconds: 60,
            cooldown_seconds: 300,
            status_code_threshold: 500,
            min_requests: 1,
            ratio: None,
            dimensions: vec![Dimension::Global],
            ..Default::default()
        }
    }

    fn err() -> LogEvent {
        LogEvent {
            status_code: Some(502),
            provider_id: Some("3".into()),
            ..Default::default()
        }
    }

    fn msg_only() -> LogEvent {
        LogEvent {
            status_code: Some(200),
            error_message: Some("stream cut".into()),
            ..Default::default()
        }
    }

    fn fire_times(w: &mut ExactWindow, times: &[i64]) -> Vec<i64> {
        times
            .iter()
            .flat_map(|&t| w.push(&err(), T0 + t))
            .filter(|t| t.state == AlertState::Firing)
            .map(|t| t.at_ms - T0)
            .collect()
    }

    #[test]
    fn fires_at_the_tenth_error_inside_a_closed_window() {
        let mut w = ExactWindow::new(seed());
        // Ten errors spanning exactly 60 000 ms: the first is still inside [t − 60 s, t].
        let times: Vec<i64> = (0..10).map(|i| i * 60_000 / 9).collect();
        assert_eq!(fire_times(&mut w, &times), vec![60_000]);
    }

    #[test]
    fn one_millisecond_more_and_it_does_not_fire() {
        let mut w = ExactWindow::new(seed());
        let mut times: Vec<i64> = (0..9).map(|i| i * 1_000).collect();
        times.push(60_001);
        assert!(fire_times(&mut w, &times).is_empty());
    }

    #[test]
    fn a_burst_straddling_a_minute_boundary_fires() {
        let mut w = ExactWindow::new(seed());
        let times: Vec<i64> = (0..9)
            .map(|i| 59_000 + i * 100)
            .chain((0..9).map(|i| 61_000 + i * 100))
            .collect();
        assert_eq!(fire_times(&mut w, &times), vec![61_000]);
    }

    #[test]
    fn cooldown_holds_then_a_still_burning_subject_fires_again() {
        let mut w = ExactWindow::new(seed());
        // One error every 500 ms for 400 s: fires at the 10th, then again 300 s later.
        let times: Vec<i64> = (0..800).map(|i| i * 500).collect();
        assert_eq!(fire_times(&mut w, &times), vec![4_500, 304_500]);
    }

    #[test]
    fn exactly_the_cooldown_later_is_allowed() {
        let mut w = ExactWindow::new(seed());
        let mut times: Vec<i64> = (0..10).collect();
        // The tenth of the second burst lands exactly 300 000 ms after the first firing.
        times.extend((0..10).map(|i| 300_000 + i));
        assert_eq!(fire_times(&mut w, &times), vec![9, 300_009]);
    }

    #[test]
    fn message_only_errors_count_and_successes_never_fire() {
        let mut w = ExactWindow::new(seed());
        let mut fired = Vec::new();
        for i in 0..10 {
            fired.extend(w.push(&msg_only(), T0 + i));
        }
        assert_eq!(fired.len(), 1);
        let ok = LogEvent {
            status_code: Some(200),
            ..Default::default()
        };
        let mut w = ExactWindow::new(seed());
        for i in 0..9 {
            w.push(&err(), T0 + i);
        }
        // The tenth record is a success: nothing fires (EZ-API judges at error records).
        assert!(w.push(&ok, T0 + 10).is_empty());
    }

    #[test]
    fn resolves_a_full_window_after_the_condition_ends() {
        let mut w = ExactWindow::new(seed());
        let fired = fire_times(&mut w, &(0..10).collect::<Vec<_>>());
        assert_eq!(fired, vec![9]);
        // The first error leaves at 60 001 ms: the condition is false from then on.
        assert!(w.advance(T0 + 120_000).is_empty());
        let r = w.advance(T0 + 120_001);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].state, AlertState::Resolved);
        assert_eq!(r[0].at_ms, T0 + 120_001);
        assert_eq!(r[0].first_seen_ms, T0 + 9);
    }

    #[test]
    fn memos_restore_the_cooldown_after_a_restart() {
        let mut w = ExactWindow::new(seed());
        fire_times(&mut w, &(0..10).collect::<Vec<_>>());
        let memos = w.memos(T0 + 10);
        let mut back = ExactWindow::with_memos(seed(), memos);
        for t in 0..10 {
            back.warm(&err(), T0 + t);
        }
        // The eleventh error is inside the cooldown: no second firing after the restart.
        assert!(fire_times(&mut back, &[10]).is_empty());
        assert_eq!(back.counts("global").errors, 11);
    }
}
