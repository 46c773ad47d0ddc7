//! The error-rate rule: errors per subject (global, provider, key, model) in a sliding window;
//! rule: what is an error, a subject, a tally and a decision are pure and shared by both forms
//! of the rule — [`ExactWindow`] on the events' own clock for one ordered reader (a relay's log
//! table, a replay) and `store::error_rate` in relaywatch's Redis for the event stream read by
//! several instances at once.
//!
//! An event is an error when `status_code ≥ status_code_threshold` or its `error_message` is
//! not empty (EZ-API's rule). A subject fires when its errors in the last `window_seconds` reach
//! `threshold`, or when `ratio` is set and reached with at least `min_requests` requests; not
//! again within `cooldown_seconds` of its last firing; and it resolves once the condition has been
//! false for a full window.

mod exact;

pub use exact::SubjectMemo;
pub use exact::{ExactWindow, Transition};

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::window::{Counts, WindowShape};
use crate::config::rules::{Dimension, ErrorRateSettings};
use crate::model::LogEvent;
use crate::render::messages::{ErrorRateAlert, ErrorSample, ERROR_TEXT_MAX};

/// Offenders shown per dimension.
pub const TOP_OFFENDERS: usize = 3;

/// Whether an event counts as an error.
pub fn is_error(ev: &LogEvent, status_code_threshold: u16) -> bool {
    ev.status_code.is_some_and(|c| c >= status_code_threshold) || ev.has_error_message()
}

/// The subject of an event in one dimension, if it has one.
pub fn subject(ev: &LogEvent, d: Dimension) -> Option<String> {
    let v = match d {
        Dimension::Global => return Some("global".into()),
        Dimension::Provider => ev.provider()?,
        Dimension::Key => ev.key_id.as_deref()?,
        Dimension::Model => ev.model.as_deref()?,
    };
    (!v.is_empty()).then(|| format!("{}:{v}", d.as_str()))
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        s.chars().take(max).collect::<String>() + "…"
    }
}

/// The sample an error record gives (error text already cut to 200 characters).
pub fn sample_of(ev: &LogEvent) -> ErrorSample {
    ErrorSample {
        status_code: ev.status_code,
        model: ev.model.clone(),
        provider: ev.provider_name.clone().or_else(|| ev.provider_id.clone()),
        key: ev.key_id.clone(),
        error: ev
            .error_message
            .as_deref()
            .filter(|m| !m.trim().is_empty())
            .map(|m| truncate(m, ERROR_TEXT_MAX)),
    }
}

/// What one batch adds to one subject.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SubjectTally {
    /// Slot number → counts.
    pub slots: HashMap<i64, Counts>,
    /// `dimension:value` → errors (the subject's own dimension left out).
    pub offenders: HashMap<String, u64>,
    /// The latest error of the batch, and its time (ms).
    pub sample: Option<(i64, ErrorSample)>,
}

/// What one batch adds, per subject.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    pub subjects: HashMap<String, SubjectTally>,
    /// Events older than the window at `now` (not counted).
    pub late: u64,
}

/// Tally a batch as of `now`: an event's time is its `ts` (else `now`); one later than `now`
/// counts as `now`, one older than the window is only counted in `late`.
pub fn tally<'a>(
    events: impl IntoIterator<Item = &'a LogEvent>,
    cfg: &ErrorRateSettings,
    now: DateTime<Utc>,
) -> Tally {
    let shape = WindowShape::for_window(cfg.window_seconds);
    let now_slot = shape.slot_of(now.timestamp());
    let mut t = Tally::default();
    for ev in events {
        let at = ev.ts.unwrap_or(now).min(now);
        let slot = shape.slot_of(at.timestamp());
        if !shape.covers(slot, now_slot) {
            t.late += 1;
            continue;
        }
        let err = is_error(ev, cfg.status_code_threshold);
        let c = Counts {
            requests: 1,
            errors: err as u64,
        };
        for d in &cfg.dimensions {
            let Some(s) = subject(ev, *d) else { continue };
            let st = t.subjects.entry(s).or_default();
            st.slots.entry(slot).or_default().add(c);
            if !err {
                continue;
            }
            for (od, v) in [
                (
                    Dimension::Provider,
                    ev.provider_name.as_deref().or(ev.provider_id.as_deref()),
                ),
                (Dimension::Key, ev.key_id.as_deref()),
                (Dimension::Model, ev.model.as_deref()),
            ] {
                if od != *d {
                    if let Some(v) = v.filter(|v| !v.is_empty()) {
                        *st.offenders
                            .entry(format!("{}:{v}", od.as_str()))
                            .or_default() += 1;
                    }
                }
            }
            if let Some(code) = ev.status_code {
                *st.offenders.entry(format!("status:{code}")).or_default() += 1;
            }
            let ms = at.timestamp_millis();
            if st.sample.as_ref().is_none_or(|(t0, _)| ms >= *t0) {
                st.sample = Some((ms, sample_of(ev)));
            }
        }
    }
    t
}

/// A subject's alert state, as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubjectState {
    pub firing: bool,
    pub episode: u64,
    pub first_seen_ms: Option<i64>,
    pub last_fired_ms: Option<i64>,
    /// Since when the condition has been false while firing.
    pub below_since_ms: Option<i64>,
}

/// What to do with a subject after a count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Keep,
    Fire,
    /// Firing, and the condition just turned false: start the resolve clock.
    MarkBelow,
    /// Firing, and the condition is true again: stop the resolve clock.
    ClearBelow,
    Resolve,
}

/// Whether the counts meet the firing condition.
pub fn breached(cfg: &ErrorRateSettings, c: Counts) -> bool {
    let by_count = cfg.threshold > 0 && c.errors >= cfg.threshold;
    let by_ratio = cfg.ratio.is_some_and(|r| {
        c.requests > 0 && c.requests >= cfg.min_requests && c.errors as f64 / c.requests as f64 >= r
    });
    by_count || by_ratio
}

/// The pure decision for one subject, given its window counts and state at `now_ms`.
pub fn decide(cfg: &ErrorRateSettings, st: &SubjectState, c: Counts, now_ms: i64) -> Decision {
    let b = breached(cfg, c);
    let window_ms = cfg.window_seconds as i64 * 1000;
    let cooldown_ms = cfg.cooldown_seconds as i64 * 1000;
    match (st.firing, b, st.below_since_ms) {
        (false, true, _) => match st.last_fired_ms {
            Some(t) if now_ms - t < cooldown_ms => Decision::Keep,
            _ => Decision::Fire,
        },
        (false, false, _) => Decision::Keep,
        (true, true, Some(_)) => Decision::ClearBelow,
        (true, true, None) => Decision::Keep,
        (true, false, None) => Decision::MarkBelow,
        (true, false, Some(t)) if now_ms - t >= window_ms => Decision::Resolve,
        (true, false, Some(_)) => Decision::Keep,
    }
}

/// What the message of `subject`'s alert shows: its window counts against the settings, the
/// top offenders and the latest error sample.
pub fn payload(
    cfg: &ErrorRateSettings,
    subject: &str,
    c: Counts,
    offenders: Vec<(String, Vec<(String, u64)>)>,
    sample: Option<ErrorSample>,
) -> ErrorRateAlert {
    ErrorRateAlert {
        subject: subject.into(),
        window_seconds: cfg.window_seconds,
        errors: c.errors,
        requests: c.requests,
        threshold: cfg.threshold,
        offenders,
        sample,
    }
}

/// Top offenders per dimension from `dimension:value` counts, in a fixed dimension order.
pub fn top_offenders(counts: &HashMap<String, u64>, n: usize) -> Vec<(String, Vec<(String, u64)>)> {
    let mut out = Vec::new();
    for dim in ["provider", "key", "model", "status"] {
        let mut list: Vec<(String, u64)> = counts
            .iter()
            .filter_map(|(k, v)| {
                let (d, val) = k.split_once(':')?;
                (d == dim).then(|| (val.to_string(), *v))
            })
            .collect();
        if list.is_empty() {
            continue;
        }
        list.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        list.truncate(n);
        out.push((dim.to_string(), list));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::window::Ring;
    use super::*;
    use chrono::TimeZone;

    fn t(h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, h, m, s).unwrap()
    }

    fn err_at(ts: DateTime<Utc>, provider: &str) -> LogEvent {
        LogEvent {
            ts: Some(ts),
            provider_id: Some(provider.into()),
            status_code: Some(502),
            error_message: Some("upstream reset".into()),
            ..Default::default()
        }
    }

    fn ok_at(ts: DateTime<Utc>) -> LogEvent {
        LogEvent {
            ts: Some(ts),
            provider_id: Some("3".into()),
            status_code: Some(200),
            ..Default::default()
        }
    }

    /// The pure pipeline in memory: tally → ring → decide, applying transitions to `st`.
    struct Mem {
        cfg: ErrorRateSettings,
        ring: HashMap<String, Ring>,
        st: HashMap<String, SubjectState>,
    }

    impl Mem {
        fn new(cfg: ErrorRateSettings) -> Self {
            Mem {
                cfg,
                ring: HashMap::new(),
                st: HashMap::new(),
            }
        }

        fn run(&mut self, events: &[LogEvent], now: DateTime<Utc>) -> Vec<(String, Decision)> {
            let shape = WindowShape::for_window(self.cfg.window_seconds);
            let now_slot = shape.slot_of(now.timestamp());
            let tl = tally(events, &self.cfg, now);
            let mut subjects: Vec<String> = tl.subjects.keys().cloned().collect();
            for (s, st) in &self.st {
                if st.firing && !subjects.contains(s) {
                    subjects.push(s.clone());
                }
            }
            subjects.sort();
            let mut out = Vec::new();
            for s in subjects {
                let ring = self
                    .ring
                    .entry(s.clone())
                    .or_insert_with(|| Ring::new(shape));
                if let Some(st) = tl.subjects.get(&s) {
                    for (slot, c) in &st.slots {
                        ring.add(*slot, *c, now_slot);
                    }
                }
                let counts = ring.sum(now_slot);
                let st = self.st.entry(s.clone()).or_default();
                let now_ms = now.timestamp_millis();
                let d = decide(&self.cfg, st, counts, now_ms);
                match d {
                    Decision::Fire => {
                        st.firing = true;
                        st.episode += 1;
                        st.last_fired_ms = Some(now_ms);
                        st.below_since_ms = None;
                    }
                    Decision::MarkBelow => st.below_since_ms = Some(now_ms),
                    Decision::ClearBelow => st.below_since_ms = None,
                    Decision::Resolve => {
                        st.firing = false;
                        st.below_since_ms = None;
                    }
                    Decision::Keep => {}
                }
                if d != Decision::Keep {
                    out.push((s, d));
                }
            }
            out
        }
    }

    fn global_only() -> ErrorRateSettings {
        ErrorRateSettings {
            dimensions: vec![Dimension::Global],
            ..Default::default()
        }
    }

    #[test]
    fn error_classification() {
        let mut e = ok_at(t(10, 0, 0));
        assert!(!is_error(&e, 500));
        e.status_code = Some(500);
        assert!(is_error(&e, 500));
        e.status_code = Some(429);
        assert!(!is_error(&e, 500));
        e.error_message = Some("rate limited".into());
        assert!(is_error(&e, 500), "a non-empty message counts (EZ-API)");
        e.error_message = Some("  ".into());
        assert!(!is_error(&e, 500));
    }

    #[test]
    fn burst_straddling_a_minute_boundary_fires_where_fixed_buckets_would_not() {
        let cfg = global_only();
        let mut events: Vec<LogEvent> = (0..6).map(|_| err_at(t(10, 0, 55), "3")).collect();
        events.extend((0..6).map(|_| err_at(t(10, 1, 5), "3")));
        // Fixed minute buckets (EZ-API): 6 in 10:00, 6 in 10:01 — neither reaches 10.
        let mut fixed: HashMap<i64, u64> = HashMap::new();
        for e in &events {
            *fixed.entry(e.ts.unwrap().timestamp() / 60).or_default() += 1;
        }
        assert!(fixed.values().all(|n| *n < cfg.threshold));
        // The sliding window sees all 12 in the minute before 10:01:05.
        let mut m = Mem::new(cfg);
        let first = m.run(&events[..6], t(10, 0, 55));
        assert!(first.is_empty(), "6 < 10: {first:?}");
        let fired = m.run(&events[6..], t(10, 1, 5));
        assert_eq!(fired, vec![("global".to_string(), Decision::Fire)]);
    }

    #[test]
    fn ratio_needs_min_requests() {
        let cfg = ErrorRateSettings {
            threshold: 0,
            ratio: Some(0.2),
            min_requests: 20,
            ..global_only()
        };
        let at = t(10, 0, 0);
        let mut m = Mem::new(cfg.clone());
        // 3 errors of 5 requests: 60 %, but under min_requests.
        let mut few: Vec<LogEvent> = (0..3).map(|_| err_at(at, "3")).collect();
        few.extend((0..2).map(|_| ok_at(at)));
        assert!(m.run(&few, at).is_empty());
        // 15 more successes: 3 of 20 = 15 % < 20 %.
        let oks: Vec<LogEvent> = (0..15).map(|_| ok_at(at)).collect();
        assert!(m.run(&oks, at).is_empty());
        // One more error: 4 of 21 = 19 %; another: 5 of 22 = 22.7 % → fires.
        assert!(m.run(&[err_at(at, "3")], at).is_empty());
        assert_eq!(m.run(&[err_at(at, "3")], at).len(), 1);
        assert!(breached(
            &cfg,
            Counts {
                requests: 20,
                errors: 4
            }
        ));
        assert!(!breached(
            &cfg,
            Counts {
                requests: 19,
                errors: 19
            }
        ));
    }

    #[test]
    fn cooldown_holds_back_a_second_firing() {
        let cfg = ErrorRateSettings {
            cooldown_seconds: 300,
            ..global_only()
        };
        let mut m = Mem::new(cfg);
        let burst = |at| (0..10).map(|_| err_at(at, "3")).collect::<Vec<_>>();
        assert_eq!(m.run(&burst(t(10, 0, 0)), t(10, 0, 0)).len(), 1);
        // Quiet: below from 10:01:00, resolved a full window later.
        assert_eq!(
            m.run(&[], t(10, 1, 0)),
            vec![("global".into(), Decision::MarkBelow)]
        );
        assert_eq!(
            m.run(&[], t(10, 2, 0)),
            vec![("global".into(), Decision::Resolve)]
        );
        // A new burst at 10:03 is inside the 300 s cooldown of the 10:00 firing.
        assert!(m.run(&burst(t(10, 3, 0)), t(10, 3, 0)).is_empty());
        // Still breached when the cooldown ends at 10:05:00 → fires then.
        let late: Vec<LogEvent> = burst(t(10, 5, 0));
        assert_eq!(
            m.run(&late, t(10, 5, 0)),
            vec![("global".into(), Decision::Fire)]
        );
        assert_eq!(m.st["global"].episode, 2);
    }

    #[test]
    fn resolves_only_after_a_full_window_below() {
        let mut m = Mem::new(global_only());
        let burst: Vec<LogEvent> = (0..10).map(|_| err_at(t(10, 0, 0), "3")).collect();
        assert_eq!(m.run(&burst, t(10, 0, 0)).len(), 1);
        assert!(
            m.run(&[], t(10, 0, 59)).is_empty(),
            "still 10 in the window"
        );
        assert_eq!(
            m.run(&[], t(10, 1, 0)),
            vec![("global".into(), Decision::MarkBelow)]
        );
        assert!(m.run(&[], t(10, 1, 59)).is_empty(), "not a full window yet");
        // Errors come back before the window is over: the clock restarts.
        let again: Vec<LogEvent> = (0..10).map(|_| err_at(t(10, 1, 30), "3")).collect();
        assert_eq!(
            m.run(&again, t(10, 1, 30)),
            vec![("global".into(), Decision::ClearBelow)]
        );
        assert_eq!(
            m.run(&[], t(10, 2, 30)),
            vec![("global".into(), Decision::MarkBelow)]
        );
        assert_eq!(
            m.run(&[], t(10, 3, 30)),
            vec![("global".into(), Decision::Resolve)]
        );
    }

    #[test]
    fn tally_per_dimension_with_offenders_and_late_events() {
        let cfg = ErrorRateSettings {
            dimensions: vec![Dimension::Global, Dimension::Provider, Dimension::Model],
            ..Default::default()
        };
        let now = t(10, 0, 0);
        let mut a = err_at(now, "3");
        a.model = Some("m1".into());
        let mut b = err_at(now, "4");
        b.error_message = Some("x".repeat(300));
        let old = err_at(t(9, 58, 0), "3");
        let future = ok_at(t(10, 5, 0));
        let tl = tally([&a, &b, &old, &future], &cfg, now);
        assert_eq!(tl.late, 1);
        let g = &tl.subjects["global"];
        let now_slot = now.timestamp();
        assert_eq!(
            g.slots[&now_slot],
            Counts {
                requests: 3,
                errors: 2
            },
            "the future event counts at now"
        );
        assert_eq!(g.offenders["provider:3"], 1);
        assert_eq!(g.offenders["status:502"], 2);
        assert_eq!(g.offenders["model:m1"], 1);
        assert!(!tl.subjects["provider:3"]
            .offenders
            .contains_key("provider:3"));
        assert!(tl.subjects.contains_key("model:m1"));
        let sample = &tl.subjects["provider:4"].sample.as_ref().unwrap().1;
        assert_eq!(
            sample.error.as_ref().unwrap().chars().count(),
            ERROR_TEXT_MAX + 1
        );
        let top = top_offenders(&g.offenders, 3);
        assert_eq!(top[0].0, "provider");
        assert_eq!(top.last().unwrap().0, "status");
    }
}
