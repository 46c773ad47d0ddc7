//! The breaker rule in relaywatch's Redis, one breaker per provider across instances, and the
//! last seen states of the breakers and accounts the relays keep themselves. Rule: every state
//! change happens in one atomic Lua step, so each open and each close is emitted by exactly one
//! instance (the steps are those of `rules::breaker`'s module doc; a watched subject's step is
//! the pure `rules::breaker::plan_watch`, applied only if the stored value is still the one
//! planned from).
//!
//! Keys (prefix `p`): `{p}breaker:{subject}` (state, consec, open_until, ho_ok, episode, alerted,
//! last_alert, failures, last_error, seq), `{p}breaker:{subject}:f` (failure times, with a
//! window), `{p}breaker:active` (subjects not closed); for watched states
//! `{p}breaker:ext:{scope}` (subject → condition, `|quiet` when not reported),
//! `{p}breaker:ext:episode` and `{p}breaker:ext:last_open` (per subject).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use redis::aio::MultiplexedConnection;
use redis::{Script, Value};

use super::RuleError;
use crate::config::rules::BreakerSettings;
use crate::model::Alert;
use crate::model::AlertState;
use crate::model::LogEvent;
use crate::rules::breaker::{
    outcomes, plan_watch, watched_alert, BreakerChange, ExternalState, Outcomes,
};
use crate::source::redis_io::text;

/// Apply outcomes to breakers. ARGV: prefix, now_ms, failures, window_ms, open_ms, ho_needed,
/// cooldown_ms, ttl_s, n, then per subject: subject, count, (ts_ms, ok 1|0)…, last_error.
/// An empty subject list is a tick over `{p}breaker:active`. Returns 6-tuples: subject,
/// open|closed, episode, failures, open_until_ms, last_error.
const APPLY: &str = r#"
local p = ARGV[1]
local now = tonumber(ARGV[2])
local need = tonumber(ARGV[3])
local window = tonumber(ARGV[4])
local open_ms = tonumber(ARGV[5])
local ho_need = tonumber(ARGV[6])
local cooldown = tonumber(ARGV[7])
local ttl = tonumber(ARGV[8])
local n = tonumber(ARGV[9])
local active = p .. 'breaker:active'
local out = {}
local function emit(subj, kind, h)
  out[#out + 1] = subj
  out[#out + 1] = kind
  out[#out + 1] = tostring(h.episode)
  out[#out + 1] = tostring(h.failures)
  out[#out + 1] = tostring(h.open_until)
  out[#out + 1] = h.last_error or ''
end
local function load(key)
  local v = redis.call('HMGET', key, 'state', 'consec', 'open_until', 'ho_ok', 'episode',
    'alerted', 'last_alert', 'failures', 'last_error')
  return {
    state = v[1] or 'closed', consec = tonumber(v[2] or '0'), open_until = tonumber(v[3] or '0'),
    ho_ok = tonumber(v[4] or '0'), episode = tonumber(v[5] or '0'), alerted = tonumber(v[6] or '0'),
    last_alert = tonumber(v[7] or '-1'), failures = tonumber(v[8] or '0'), last_error = v[9]
  }
end
local function store(key, h)
  redis.call('HSET', key, 'state', h.state, 'consec', h.consec, 'open_until', h.open_until,
    'ho_ok', h.ho_ok, 'episode', h.episode, 'alerted', h.alerted, 'last_alert', h.last_alert,
    'failures', h.failures)
  if h.last_error then redis.call('HSET', key, 'last_error', h.last_error) end
  redis.call('EXPIRE', key, ttl)
end
-- An open breaker not yet reported is reported once the cooldown allows it.
local function maybe_report(subj, h)
  if h.state ~= 'closed' and h.alerted == 0 and (h.last_alert < 0 or now - h.last_alert >= cooldown) then
    h.episode = h.episode + 1
    h.alerted = 1
    h.last_alert = now
    emit(subj, 'open', h)
  end
end
local function step(subj, key, h, ts, ok)
  if h.state == 'open' and ts >= h.open_until then
    h.state = 'half_open'
    h.ho_ok = 0
  end
  if h.state == 'closed' then
    if ok then
      h.consec = 0
    else
      h.consec = h.consec + 1
      local wc = 0
      local fkey = key .. ':f'
      if window > 0 then
        local seq = redis.call('HINCRBY', key, 'seq', 1)
        redis.call('ZADD', fkey, ts, seq)
        redis.call('ZREMRANGEBYSCORE', fkey, '-inf', '(' .. tostring(ts - window))
        redis.call('EXPIRE', fkey, math.ceil(window / 1000) + 60)
        wc = redis.call('ZCARD', fkey)
      end
      if h.consec >= need or wc >= need then
        h.state = 'open'
        h.open_until = ts + open_ms
        h.failures = math.max(h.consec, wc)
        h.ho_ok = 0
        if window > 0 then redis.call('DEL', fkey) end
        redis.call('SADD', active, subj)
        maybe_report(subj, h)
      end
    end
  elseif h.state == 'half_open' then
    if ok then
      h.ho_ok = h.ho_ok + 1
      if h.ho_ok >= ho_need then
        h.state = 'closed'
        h.consec = 0
        h.ho_ok = 0
        redis.call('SREM', active, subj)
        if h.alerted == 1 then
          h.alerted = 0
          emit(subj, 'closed', h)
        end
      end
    else
      h.state = 'open'
      h.open_until = ts + open_ms
      h.ho_ok = 0
      h.failures = h.failures + 1
    end
  end
end
if n == 0 then
  for _, subj in ipairs(redis.call('SMEMBERS', active)) do
    local key = p .. 'breaker:' .. subj
    local h = load(key)
    if h.state == 'open' and now >= h.open_until then
      h.state = 'half_open'
      h.ho_ok = 0
    end
    if h.state == 'closed' then
      redis.call('SREM', active, subj)
    else
      maybe_report(subj, h)
      store(key, h)
    end
  end
  return out
end
local i = 10
for s = 1, n do
  local subj = ARGV[i]
  local cnt = tonumber(ARGV[i + 1])
  i = i + 2
  local key = p .. 'breaker:' .. subj
  local h = load(key)
  local last_error = ARGV[i + 2 * cnt]
  if last_error ~= '' then h.last_error = last_error end
  for k = 1, cnt do
    step(subj, key, h, tonumber(ARGV[i]), ARGV[i + 1] == '1')
    i = i + 2
  end
  i = i + 1
  store(key, h)
end
return out
"#;

/// Compare-and-set watched states. ARGV: prefix, scope, now_ms, then triples (subject,
/// expected stored value or '', new value or ''), each with a flag 'F' (report open), 'R'
/// (report recovery) or '-'. Returns one reply per item: the episode when reported, else false.
const WATCH: &str = r#"
local p = ARGV[1]
local stkey = p .. 'breaker:ext:' .. ARGV[2]
local epkey = p .. 'breaker:ext:episode'
local lastkey = p .. 'breaker:ext:last_open'
local now = ARGV[3]
local out = {}
local i = 4
while i <= #ARGV do
  local subj, expected, new, flag = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  i = i + 4
  local cur = redis.call('HGET', stkey, subj) or ''
  if cur ~= expected then
    out[#out + 1] = false
  else
    if new == '' then redis.call('HDEL', stkey, subj) else redis.call('HSET', stkey, subj, new) end
    if flag == 'F' then
      out[#out + 1] = redis.call('HINCRBY', epkey, subj, 1)
      redis.call('HSET', lastkey, subj, now)
    elseif flag == 'R' then
      out[#out + 1] = tonumber(redis.call('HGET', epkey, subj) or '0')
    else
      out[#out + 1] = false
    end
  end
end
return out
"#;

/// The rule bound to its Redis (cheap to clone).
#[derive(Clone)]
pub struct BreakerRule {
    con: MultiplexedConnection,
    cfg: Arc<BreakerSettings>,
    prefix: String,
    apply: Arc<Script>,
    watch: Arc<Script>,
}

impl BreakerRule {
    pub fn new(con: MultiplexedConnection, cfg: BreakerSettings, prefix: &str) -> Self {
        BreakerRule {
            con,
            cfg: Arc::new(cfg),
            prefix: prefix.into(),
            apply: Arc::new(Script::new(APPLY)),
            watch: Arc::new(Script::new(WATCH)),
        }
    }

    pub fn settings(&self) -> &BreakerSettings {
        &self.cfg
    }

    fn redis(e: redis::RedisError) -> RuleError {
        RuleError::Redis {
            rule: "breaker",
            reason: e.to_string(),
        }
    }

    /// Feed a batch of events; returns the opens and closes this instance won.
    pub async fn evaluate<'a>(
        &self,
        events: impl IntoIterator<Item = &'a LogEvent>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Alert>, RuleError> {
        let per = outcomes(events, now);
        if per.is_empty() {
            return Ok(Vec::new());
        }
        self.run(&per, now).await
    }

    /// Move breakers whose open time is over to half-open, and report opens held back by the
    /// cooldown; call every few seconds.
    pub async fn tick(&self, now: DateTime<Utc>) -> Result<Vec<Alert>, RuleError> {
        self.run(&BTreeMap::new(), now).await
    }

    async fn run(
        &self,
        per: &BTreeMap<String, Outcomes>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Alert>, RuleError> {
        let c = &self.cfg;
        let mut inv = self.apply.prepare_invoke();
        inv.arg(&self.prefix)
            .arg(now.timestamp_millis())
            .arg(c.failures)
            .arg(c.window_seconds * 1000)
            .arg(c.open_seconds * 1000)
            .arg(c.half_open_successes)
            .arg(c.cooldown_seconds * 1000)
            .arg(30 * 86_400)
            .arg(per.len());
        for (s, o) in per {
            inv.arg(s).arg(o.seq.len());
            for (t, ok) in &o.seq {
                inv.arg(*t).arg(if *ok { "1" } else { "0" });
            }
            inv.arg(o.last_error.as_deref().unwrap_or(""));
        }
        let mut con = self.con.clone();
        let v: Vec<Value> = inv.invoke_async(&mut con).await.map_err(Self::redis)?;
        if !v.len().is_multiple_of(6) {
            return Err(RuleError::Reply {
                rule: "breaker",
                what: "APPLY",
            });
        }
        Ok(v.chunks(6)
            .map(|t| {
                let f: Vec<String> = t.iter().map(|x| text(x).unwrap_or_default()).collect();
                BreakerChange {
                    subject: f[0].clone(),
                    opened: f[1] == "open",
                    episode: f[2].clone(),
                    failures: f[3].parse().unwrap_or(0),
                    open_until_ms: f[4].parse().unwrap_or(0),
                    last_error: f[5].clone(),
                }
                .alert(now)
            })
            .collect())
    }

    /// Compare watched states (`scope` names the source, e.g. `cch` or `accounts`; each scope
    /// keeps its own previous states) with the stored ones and report transitions.
    pub async fn watch(
        &self,
        scope: &str,
        cur: &BTreeMap<String, ExternalState>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Alert>, RuleError> {
        self.watch_named(scope, cur, &BTreeMap::new(), now).await
    }

    /// [`BreakerRule::watch`], with the subjects' names as people know them (subject → name).
    pub async fn watch_named(
        &self,
        scope: &str,
        cur: &BTreeMap<String, ExternalState>,
        names: &BTreeMap<String, String>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Alert>, RuleError> {
        let p = &self.prefix;
        let mut con = self.con.clone();
        let (prev, last): (BTreeMap<String, String>, HashMap<String, i64>) = redis::pipe()
            .cmd("HGETALL")
            .arg(format!("{p}breaker:ext:{scope}"))
            .cmd("HGETALL")
            .arg(format!("{p}breaker:ext:last_open"))
            .query_async(&mut con)
            .await
            .map_err(Self::redis)?;
        let now_ms = now.timestamp_millis();
        let steps = plan_watch(
            &prev,
            cur,
            &last,
            now_ms,
            self.cfg.cooldown_seconds as i64 * 1000,
        );
        if steps.is_empty() {
            return Ok(Vec::new());
        }
        let mut inv = self.watch.prepare_invoke();
        inv.arg(p).arg(scope).arg(now_ms);
        for s in &steps {
            inv.arg(&s.subject)
                .arg(s.expected.as_deref().unwrap_or(""))
                .arg(s.store.as_deref().unwrap_or(""))
                .arg(match s.report {
                    Some(AlertState::Firing) => "F",
                    Some(AlertState::Resolved) => "R",
                    None => "-",
                });
        }
        let won: Vec<Value> = inv.invoke_async(&mut con).await.map_err(Self::redis)?;
        Ok(steps
            .iter()
            .zip(won)
            .filter_map(|(s, w)| match (s.report, w) {
                (Some(state), Value::Int(ep)) => Some(watched_alert(s, state, ep, cur, names, now)),
                _ => None,
            })
            .collect())
    }
}
