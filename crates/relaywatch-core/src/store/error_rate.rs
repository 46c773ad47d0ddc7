//! The error-rate rule in relaywatch's Redis, for events that reach several instances at once
//! (the event stream's consumer group): the window ring and the subject's state are kept in
//! Redis, updated with one Lua call per batch, and each transition is taken by an atomic
//! compare-and-set — so however many instances evaluate at once, each firing and each resolve is
//! emitted exactly once. Rule: the tally and the decision are the pure ones of
//! `rules::error_rate`; the Lua applies a decision only if the state is still the one decided on.
//!
//! Keys (prefix `p`): `{p}er:w:{subject}` the window ring (see `rules/window.rs`),
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

use super::RuleError;
use crate::config::rules::ErrorRateSettings;
use crate::model::AlertState;
use crate::model::ErrorSample;
use crate::model::LogEvent;
use crate::model::{Alert, AlertPayload, RuleKind};
use crate::rules::error_rate::{
    decide, payload, tally, top_offenders, Decision, SubjectState, SubjectTally, TOP_OFFENDERS,
};
use crate::rules::window::{Counts, WindowShape};
use crate::source::redis_io::text;

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
        let subjects: Vec<(String, SubjectTally)> = self
            .firing()
            .await?
            .into_iter()
            .map(|s| (s, SubjectTally::default()))
            .collect();
        self.apply_and_decide(&subjects, now).await
    }

    /// The subjects firing now.
    pub async fn firing(&self) -> Result<Vec<String>, RuleError> {
        let mut con = self.con.clone();
        redis::cmd("SMEMBERS")
            .arg(format!("{}alert:error_rate:firing", self.prefix))
            .query_async(&mut con)
            .await
            .map_err(Self::redis)
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
                        payload: AlertPayload::ErrorRate(payload(
                            &self.cfg, subject, counts, offenders, sample,
                        )),
                    });
                }
                "resolve" => alerts.push(Alert {
                    rule: RuleKind::ErrorRate,
                    subject: subject.clone(),
                    state: AlertState::Resolved,
                    episode: st.episode.to_string(),
                    first_seen: at_ms(n),
                    at: now,
                    payload: AlertPayload::ErrorRate(payload(
                        &self.cfg,
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
