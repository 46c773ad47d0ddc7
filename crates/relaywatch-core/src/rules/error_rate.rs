//! The error-rate rule: errors per subject (global, provider, key, model) in a sliding window
//! kept in Redis, so every instance of a consumer group counts into the same window; rule: the
//! tally and the decision are pure (they take `now`), the window is updated and read with one
//! Lua call per batch, and a transition is taken by an atomic compare-and-set on the subject's
//! state — so however many instances evaluate at once, each firing and each resolve is emitted
//! exactly once.
//!
//! An event is an error when `status_code ≥ status_code_threshold` or its `error_message` is
//! not empty (EZ-API's rule). A subject fires when its errors in the last `window_seconds` reach
//! `threshold`, or when `ratio` is set and reached with at least `min_requests` requests; not
//! again within `cooldown_seconds` of its last firing; and it resolves once the condition has been
//! false for a full window (checked by [`ErrorRateRule::tick`] when no events arrive).
//!
//! Keys (prefix `p`): `{p}er:w:{subject}` the window ring (see `window.rs`),
//! `{p}er:o:{subject}:{n}` error offenders in fixed window-long buckets (the message shows the
//! current and the previous bucket: only what is *shown* is approximate, never what fires),
//! `{p}er:s:{subject}` the latest error sample, `{p}alert:error_rate:{subject}` the state hash
//! (`state`, `episode`, `first_seen`, `last_fired`, `below_since`, ms) and
//! `{p}alert:error_rate:firing` the set of firing subjects.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use redis::aio::MultiplexedConnection;
use redis::{Script, Value};

use super::window::{Counts, WindowShape};
use super::{Alert, AlertPayload, RuleKind};
use crate::config::rules::{Dimension, ErrorRateSettings};
use crate::model::LogEvent;
use crate::render::message::AlertState;
use crate::render::messages::{ErrorRateAlert, ErrorSample, ERROR_TEXT_MAX};

/// Offenders shown per dimension.
pub const TOP_OFFENDERS: usize = 3;

/// Errors of the Redis-backed rules.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error("{rule} rule: Redis error: {reason}")]
    Redis { rule: &'static str, reason: String },
    #[error("{rule} rule: unexpected reply from Redis ({what})")]
    Reply {
        rule: &'static str,
        what: &'static str,
    },
}

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

/// Apply tallies to the rings, and return each subject's window sums and state.
/// ARGV: prefix, now_slot, slots, ring_ttl, offender_bucket, offender_ttl, sample_ttl, n, then
/// per subject: subject, nslots, (slot, requests, errors)…, noff, (field, count)…, sample,
/// need (1: sum the window; 0: only when the subject is firing — a subject that is not firing
/// and got no new error cannot start firing on a count, so its window is not read: sums -1).
const APPLY: &str = r#"
local p = ARGV[1]
local now = tonumber(ARGV[2])
local slots = tonumber(ARGV[3])
local ttl = tonumber(ARGV[4])
local ob = ARGV[5]
local ottl = tonumber(ARGV[6])
local sttl = tonumber(ARGV[7])
local n = tonumber(ARGV[8])
local i = 9
local out = {}
for s = 1, n do
  local subj = ARGV[i]
  local nslot = tonumber(ARGV[i + 1])
  i = i + 2
  local key = p .. 'er:w:' .. subj
  for k = 1, nslot do
    local slot = tonumber(ARGV[i])
    local r = tonumber(ARGV[i + 1])
    local e = tonumber(ARGV[i + 2])
    i = i + 3
    if slot > now - slots and slot <= now then
      local idx = tostring(slot % slots)
      local st = tonumber(redis.call('HGET', key, 't' .. idx) or '-1')
      if st == slot then
        redis.call('HINCRBY', key, 'r' .. idx, r)
        redis.call('HINCRBY', key, 'e' .. idx, e)
      elseif st < slot then
        redis.call('HSET', key, 't' .. idx, ARGV[i - 3], 'r' .. idx, r, 'e' .. idx, e)
      end
    end
  end
  if nslot > 0 then redis.call('EXPIRE', key, ttl) end
  local noff = tonumber(ARGV[i])
  i = i + 1
  if noff > 0 then
    local okey = p .. 'er:o:' .. subj .. ':' .. ob
    for k = 1, noff do
      redis.call('HINCRBY', okey, ARGV[i], ARGV[i + 1])
      i = i + 2
    end
    redis.call('EXPIRE', okey, ottl)
  end
  if ARGV[i] ~= '' then
    redis.call('SET', p .. 'er:s:' .. subj, ARGV[i], 'EX', sttl)
  end
  local need = ARGV[i + 1] == '1'
  i = i + 2
  local state = redis.call('HMGET', p .. 'alert:error_rate:' .. subj,
    'state', 'episode', 'first_seen', 'last_fired', 'below_since')
  local R, E = -1, -1
  if need or state[1] == 'firing' then
  R, E = 0, 0
  local all = redis.call('HGETALL', key)
  local st, rr, ee = {}, {}, {}
  for j = 1, #all, 2 do
    local f = all[j]
    local c = string.sub(f, 1, 1)
    local idx = string.sub(f, 2)
    local v = tonumber(all[j + 1])
    if c == 't' then st[idx] = v elseif c == 'r' then rr[idx] = v else ee[idx] = v end
  end
  for idx, sl in pairs(st) do
    if sl > now - slots and sl <= now then
      R = R + (rr[idx] or 0)
      E = E + (ee[idx] or 0)
    end
  end
  end
  out[#out + 1] = R
  out[#out + 1] = E
  for j = 1, 5 do out[#out + 1] = state[j] end
end
return out
"#;

/// Compare-and-set a subject's state. ARGV: prefix, subject, op (fire|below|clear|resolve),
/// expected episode, now_ms, cooldown_ms, window_ms. Returns the episode (fire), first_seen
/// (resolve), 1 (below, clear), or nil when the state was not as expected.
const TRANSITION: &str = r#"
local p = ARGV[1]
local subj = ARGV[2]
local op = ARGV[3]
local ep = ARGV[4]
local now = tonumber(ARGV[5])
local key = p .. 'alert:error_rate:' .. subj
local h = redis.call('HMGET', key, 'state', 'episode', 'first_seen', 'last_fired', 'below_since')
local firing = h[1] == 'firing'
if op == 'fire' then
  if firing then return false end
  if h[4] and now - tonumber(h[4]) < tonumber(ARGV[6]) then return false end
  local e = redis.call('HINCRBY', key, 'episode', 1)
  redis.call('HSET', key, 'state', 'firing', 'first_seen', now, 'last_fired', now)
  redis.call('HDEL', key, 'below_since')
  redis.call('SADD', p .. 'alert:error_rate:firing', subj)
  return e
end
if not firing or h[2] ~= ep then return false end
if op == 'below' then
  redis.call('HSETNX', key, 'below_since', now)
  return 1
elseif op == 'clear' then
  redis.call('HDEL', key, 'below_since')
  return 1
elseif op == 'resolve' then
  if not h[5] or now - tonumber(h[5]) < tonumber(ARGV[7]) then return false end
  redis.call('HSET', key, 'state', 'ok')
  redis.call('HDEL', key, 'below_since')
  redis.call('SREM', p .. 'alert:error_rate:firing', subj)
  return h[3] or tostring(now)
end
return false
"#;

/// The outcome of evaluating one batch.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Evaluation {
    /// Transitions this instance won (each emitted by exactly one instance).
    pub alerts: Vec<Alert>,
    /// Events older than the window (not counted).
    pub late: u64,
}

/// The rule bound to its Redis (cheap to clone; one multiplexed connection).
#[derive(Clone)]
pub struct ErrorRateRule {
    con: MultiplexedConnection,
    cfg: Arc<ErrorRateSettings>,
    prefix: String,
    shape: WindowShape,
    apply: Arc<Script>,
    transition: Arc<Script>,
}

fn int(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        Value::BulkString(b) => std::str::from_utf8(b).ok()?.trim().parse().ok(),
        Value::SimpleString(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::SimpleString(s) => Some(s.clone()),
        _ => None,
    }
}

fn at_ms(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

impl ErrorRateRule {
    /// `prefix` is relaywatch's key prefix (`[state] prefix`, e.g. `relaywatch:`).
    pub fn new(con: MultiplexedConnection, cfg: ErrorRateSettings, prefix: &str) -> Self {
        ErrorRateRule {
            con,
            shape: WindowShape::for_window(cfg.window_seconds),
            cfg: Arc::new(cfg),
            prefix: prefix.into(),
            apply: Arc::new(Script::new(APPLY)),
            transition: Arc::new(Script::new(TRANSITION)),
        }
    }

    pub fn settings(&self) -> &ErrorRateSettings {
        &self.cfg
    }

    fn redis(e: redis::RedisError) -> RuleError {
        RuleError::Redis {
            rule: "error_rate",
            reason: e.to_string(),
        }
    }

    fn reply(what: &'static str) -> RuleError {
        RuleError::Reply {
            rule: "error_rate",
            what,
        }
    }

    /// Count a batch into the shared window and evaluate every subject it touched.
    pub async fn evaluate<'a>(
        &self,
        events: impl IntoIterator<Item = &'a LogEvent>,
        now: DateTime<Utc>,
    ) -> Result<Evaluation, RuleError> {
        let t = tally(events, &self.cfg, now);
        let subjects: Vec<(String, SubjectTally)> = t.subjects.into_iter().collect();
        let alerts = self.apply_and_decide(&subjects, now).await?;
        Ok(Evaluation {
            alerts,
            late: t.late,
        })
    }

    /// Evaluate the subjects currently firing without new events (their errors age out of the
    /// window with time alone); call every few seconds.
    pub async fn tick(&self, now: DateTime<Utc>) -> Result<Vec<Alert>, RuleError> {
        let mut con = self.con.clone();
        let firing: Vec<String> = redis::cmd("SMEMBERS")
            .arg(format!("{}alert:error_rate:firing", self.prefix))
            .query_async(&mut con)
            .await
            .map_err(Self::redis)?;
        let subjects: Vec<(String, SubjectTally)> = firing
            .into_iter()
            .map(|s| (s, SubjectTally::default()))
            .collect();
        self.apply_and_decide(&subjects, now).await
    }

    /// A subject's counts in the window ending at `now` (nothing is added).
    pub async fn window(&self, subject: &str, now: DateTime<Utc>) -> Result<Counts, RuleError> {
        let (c, _) = self
            .apply(&[(subject.to_string(), SubjectTally::default())], now, true)
            .await?
            .pop()
            .ok_or_else(|| Self::reply("APPLY"))?;
        c.ok_or_else(|| Self::reply("APPLY"))
    }

    /// Add the tallies; each subject's window counts (`None` when not read: not firing, no new
    /// error, and `need_all` false) and state.
    async fn apply(
        &self,
        subjects: &[(String, SubjectTally)],
        now: DateTime<Utc>,
        need_all: bool,
    ) -> Result<Vec<(Option<Counts>, SubjectState)>, RuleError> {
        if subjects.is_empty() {
            return Ok(Vec::new());
        }
        let w = self.cfg.window_seconds.max(1);
        let now_slot = self.shape.slot_of(now.timestamp());
        let bucket = now.timestamp().div_euclid(w as i64);
        let mut inv = self.apply.prepare_invoke();
        inv.arg(&self.prefix)
            .arg(now_slot)
            .arg(self.shape.slots)
            .arg(w + self.shape.slot_seconds + 5)
            .arg(bucket)
            .arg(2 * w + 5)
            .arg(2 * w + 5)
            .arg(subjects.len());
        for (s, st) in subjects {
            inv.arg(s).arg(st.slots.len());
            for (slot, c) in &st.slots {
                inv.arg(*slot).arg(c.requests).arg(c.errors);
            }
            inv.arg(st.offenders.len());
            for (f, n) in &st.offenders {
                inv.arg(f).arg(*n);
            }
            let sample = st
                .sample
                .as_ref()
                .and_then(|(_, s)| serde_json::to_string(s).ok())
                .unwrap_or_default();
            let has_errors = st.slots.values().any(|c| c.errors > 0);
            inv.arg(sample)
                .arg(if need_all || has_errors { "1" } else { "0" });
        }
        let mut con = self.con.clone();
        let v: Vec<Value> = inv.invoke_async(&mut con).await.map_err(Self::redis)?;
        if v.len() != subjects.len() * 7 {
            return Err(Self::reply("APPLY"));
        }
        Ok(v.chunks(7)
            .map(|c| {
                let counts = match (int(&c[0]), int(&c[1])) {
                    (Some(r), Some(e)) if r >= 0 && e >= 0 => Some(Counts {
                        requests: r as u64,
                        errors: e as u64,
                    }),
                    _ => None,
                };
                let state = SubjectState {
                    firing: text(&c[2]).as_deref() == Some("firing"),
                    episode: int(&c[3]).unwrap_or(0).max(0) as u64,
                    first_seen_ms: int(&c[4]),
                    last_fired_ms: int(&c[5]),
                    below_since_ms: int(&c[6]),
                };
                (counts, state)
            })
            .collect())
    }

    async fn apply_and_decide(
        &self,
        subjects: &[(String, SubjectTally)],
        now: DateTime<Utc>,
    ) -> Result<Vec<Alert>, RuleError> {
        // A ratio can be reached by successes leaving the window: then every window is read.
        let results = self.apply(subjects, now, self.cfg.ratio.is_some()).await?;
        let now_ms = now.timestamp_millis();
        let mut alerts = Vec::new();
        for ((subject, _), (counts, st)) in subjects.iter().zip(results) {
            let Some(counts) = counts else { continue };
            let op = match decide(&self.cfg, &st, counts, now_ms) {
                Decision::Keep => continue,
                Decision::Fire => "fire",
                Decision::MarkBelow => "below",
                Decision::ClearBelow => "clear",
                Decision::Resolve => "resolve",
            };
            let mut con = self.con.clone();
            let won: Value = self
                .transition
                .prepare_invoke()
                .arg(&self.prefix)
                .arg(subject)
                .arg(op)
                .arg(st.episode)
                .arg(now_ms)
                .arg(self.cfg.cooldown_seconds * 1000)
                .arg(self.cfg.window_seconds * 1000)
                .invoke_async(&mut con)
                .await
                .map_err(Self::redis)?;
            let Some(n) = int(&won) else { continue };
            match op {
                "fire" => {
                    let (offenders, sample) = self.details(subject, now).await?;
                    alerts.push(Alert {
                        rule: RuleKind::ErrorRate,
                        subject: subject.clone(),
                        state: AlertState::Firing,
                        episode: n.to_string(),
                        first_seen: now,
                        at: now,
                        payload: AlertPayload::ErrorRate(
                            self.payload(subject, counts, offenders, sample),
                        ),
                    });
                }
                "resolve" => alerts.push(Alert {
                    rule: RuleKind::ErrorRate,
                    subject: subject.clone(),
                    state: AlertState::Resolved,
                    episode: st.episode.to_string(),
                    first_seen: at_ms(n),
                    at: now,
                    payload: AlertPayload::ErrorRate(self.payload(
                        subject,
                        counts,
                        Vec::new(),
                        None,
                    )),
                }),
                _ => {}
            }
        }
        Ok(alerts)
    }

    fn payload(
        &self,
        subject: &str,
        c: Counts,
        offenders: Vec<(String, Vec<(String, u64)>)>,
        sample: Option<ErrorSample>,
    ) -> ErrorRateAlert {
        ErrorRateAlert {
            subject: subject.into(),
            window_seconds: self.cfg.window_seconds,
            errors: c.errors,
            requests: c.requests,
            threshold: self.cfg.threshold,
            offenders,
            sample,
        }
    }

    /// Top offenders (current and previous offender bucket) and the latest sample.
    async fn details(
        &self,
        subject: &str,
        now: DateTime<Utc>,
    ) -> Result<(Vec<(String, Vec<(String, u64)>)>, Option<ErrorSample>), RuleError> {
        let w = self.cfg.window_seconds.max(1) as i64;
        let bucket = now.timestamp().div_euclid(w);
        let p = &self.prefix;
        let mut pipe = redis::pipe();
        pipe.cmd("HGETALL")
            .arg(format!("{p}er:o:{subject}:{bucket}"))
            .cmd("HGETALL")
            .arg(format!("{p}er:o:{subject}:{}", bucket - 1))
            .cmd("GET")
            .arg(format!("{p}er:s:{subject}"));
        let mut con = self.con.clone();
        let (a, b, s): (HashMap<String, u64>, HashMap<String, u64>, Option<String>) =
            pipe.query_async(&mut con).await.map_err(Self::redis)?;
        let mut all = a;
        for (k, v) in b {
            *all.entry(k).or_default() += v;
        }
        let sample = s.and_then(|s| serde_json::from_str(&s).ok());
        Ok((top_offenders(&all, TOP_OFFENDERS), sample))
    }
}

#[cfg(test)]
mod tests {
    use super::super::window::Ring;
    use super::*;

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
