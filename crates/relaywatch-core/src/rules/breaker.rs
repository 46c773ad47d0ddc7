//! The breaker rule: a circuit breaker per provider modelled from log events, counted in Redis so
//! it is one breaker across instances, plus watching the breakers and account states the relays
//! keep themselves (Claude Code Hub's hashes, CRS accounts); rule: every state change happens in
//! one atomic Lua step, so each open and each close is emitted by exactly one instance, and at
//! most one open message per subject goes out per `cooldown_seconds` (flapping is damped: an
//! open inside the cooldown is held and reported once the cooldown is over if still open; its
//! close is then silent when the open never was reported).
//!
//! A failure is a status ≥ 500, a 429, or no status with an error message (a transport error);
//! other 4xx are the client's and count as successes for the provider. The breaker opens after
//! `failures` consecutive failures — or `failures` within `window_seconds` when set; after
//! `open_seconds` it is half-open (on the next event or tick); `half_open_successes` successes in
//! a row close it, a failure re-opens it (same episode, no new message). Times are the events'.
//!
//! Keys (prefix `p`): `{p}breaker:{subject}` (state, consec, open_until, ho_ok, episode, alerted,
//! last_alert, failures, last_error, seq), `{p}breaker:{subject}:f` (failure times, with a
//! window), `{p}breaker:active` (subjects not closed); for watched states
//! `{p}breaker:ext:{scope}` (subject → condition, `|quiet` when not reported),
//! `{p}breaker:ext:episode` and `{p}breaker:ext:last_open` (per subject).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use redis::aio::MultiplexedConnection;
use redis::{Script, Value};

use super::error_rate::RuleError;
use super::{Alert, AlertPayload, RuleKind};
use crate::config::rules::BreakerSettings;
use crate::model::{AccountState, LogEvent};
use crate::render::message::AlertState;
use crate::render::messages::{BreakerAlert, ERROR_TEXT_MAX};
use crate::source::accounts::{classify, Platform};
use crate::source::cch::{CchBreaker, CchState};
use crate::source::raw::AccountRecord;

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

/// A watched subject's current trouble.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalState {
    /// `open`, `rate_limited`, `error`, `unauthorized`, `blocked`, `unschedulable`.
    pub condition: String,
    pub failures: u64,
    pub expected_recovery: Option<DateTime<Utc>>,
    pub detail: Option<String>,
}

/// CCH breakers that are open or half-open, by subject (`cch:provider:<id>`,
/// `cch:endpoint:<id>`); half-open still counts as open until CCH closes it.
pub fn cch_states(breakers: &[CchBreaker]) -> BTreeMap<String, ExternalState> {
    breakers
        .iter()
        .filter(|b| b.state != CchState::Closed)
        .map(|b| {
            (
                format!("cch:{}:{}", b.scope.as_str(), b.id),
                ExternalState {
                    condition: "open".into(),
                    failures: b.failure_count,
                    expected_recovery: b.open_until,
                    detail: (b.state == CchState::HalfOpen).then(|| "half-open".to_string()),
                },
            )
        })
        .collect()
}

/// What is wrong with a CRS account, if anything: `unauthorized`, `blocked`, `error`,
/// `unschedulable` or `rate_limited` (first match). A deactivated account is the operator's
/// choice, not a fault.
pub fn account_condition(
    a: &AccountRecord,
    now: DateTime<Utc>,
) -> Option<(&'static str, Option<DateTime<Utc>>)> {
    if a.is_active == Some(false) {
        return None;
    }
    match a.status.as_deref().map(str::trim) {
        Some("unauthorized") => return Some(("unauthorized", None)),
        Some("blocked") => return Some(("blocked", None)),
        Some("error") => return Some(("error", None)),
        _ => {}
    }
    if a.schedulable == Some(false) {
        return Some(("unschedulable", None));
    }
    let platform = a.platform.unwrap_or(Platform::Claude);
    (classify(a, platform, now) == AccountState::RateLimited)
        .then_some(("rate_limited", a.rate_limit_end_at))
}

/// CRS accounts' names as people know them, by subject: `name (platform · id)`.
pub fn account_names(accounts: &[AccountRecord]) -> BTreeMap<String, String> {
    accounts
        .iter()
        .map(|a| {
            let platform = a.platform.map(|p| p.name()).unwrap_or("unknown");
            let short: String = a.id.chars().take(8).collect();
            let who = match a.name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
                Some(n) => format!("{n} ({platform} · {short})"),
                None => format!("{platform} · {short}"),
            };
            (format!("account:{platform}:{}", a.id), who)
        })
        .collect()
}

/// CCH providers' names as people know them, by subject: `name (#id)`.
pub fn provider_names(providers: &[(String, String)]) -> BTreeMap<String, String> {
    providers
        .iter()
        .map(|(id, name)| (format!("cch:provider:{id}"), format!("{name} (#{id})")))
        .collect()
}

/// CRS accounts in trouble, by subject (`account:<platform>:<id>`).
pub fn account_states(
    accounts: &[AccountRecord],
    now: DateTime<Utc>,
) -> BTreeMap<String, ExternalState> {
    accounts
        .iter()
        .filter_map(|a| {
            let (cond, until) = account_condition(a, now)?;
            let platform = a.platform.map(|p| p.name()).unwrap_or("unknown");
            Some((
                format!("account:{platform}:{}", a.id),
                ExternalState {
                    condition: cond.into(),
                    failures: 0,
                    expected_recovery: until,
                    detail: Some(format!("status: {cond}")),
                },
            ))
        })
        .collect()
}

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

/// The rule bound to its Redis (cheap to clone).
#[derive(Clone)]
pub struct BreakerRule {
    con: MultiplexedConnection,
    cfg: Arc<BreakerSettings>,
    prefix: String,
    apply: Arc<Script>,
    watch: Arc<Script>,
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::SimpleString(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        _ => None,
    }
}

fn utc(t: DateTime<Utc>) -> DateTime<FixedOffset> {
    t.with_timezone(&FixedOffset::east_opt(0).expect("zero offset"))
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
        let mut alerts = Vec::new();
        for t in v.chunks(6) {
            let f: Vec<String> = t.iter().map(|x| text(x).unwrap_or_default()).collect();
            let open_until: i64 = f[4].parse().unwrap_or(0);
            let firing = f[1] == "open";
            alerts.push(Alert {
                rule: RuleKind::Breaker,
                subject: f[0].clone(),
                state: if firing {
                    AlertState::Firing
                } else {
                    AlertState::Resolved
                },
                episode: f[2].clone(),
                first_seen: now,
                at: now,
                payload: AlertPayload::Breaker(BreakerAlert {
                    subject: f[0].clone(),
                    failures: f[3].parse().unwrap_or(0),
                    expected_recovery: (firing && open_until > now.timestamp_millis())
                        .then(|| Utc.timestamp_millis_opt(open_until).single().map(utc))
                        .flatten(),
                    last_error: (firing && !f[5].is_empty()).then(|| f[5].clone()),
                    name: None,
                }),
            });
        }
        Ok(alerts)
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
        let mut alerts = Vec::new();
        for (s, w) in steps.iter().zip(won) {
            let (Some(state), Value::Int(ep)) = (s.report, w) else {
                continue;
            };
            let st = cur.get(&s.subject);
            alerts.push(Alert {
                rule: RuleKind::Breaker,
                subject: s.subject.clone(),
                state,
                episode: ep.to_string(),
                first_seen: now,
                at: now,
                payload: AlertPayload::Breaker(BreakerAlert {
                    subject: s.subject.clone(),
                    failures: st.map(|x| x.failures).unwrap_or(0),
                    expected_recovery: st.and_then(|x| x.expected_recovery).map(utc),
                    last_error: st.and_then(|x| x.detail.clone()),
                    name: names.get(&s.subject).cloned(),
                }),
            });
        }
        Ok(alerts)
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

    #[test]
    fn account_conditions() {
        let now = Utc.with_ymd_and_hms(2026, 11, 22, 4, 0, 0).unwrap();
        let base = AccountRecord {
            platform: Some(Platform::Claude),
            id: "a".into(),
            is_active: Some(true),
            status: Some("active".into()),
            schedulable: Some(true),
            ..Default::default()
        };
        assert_eq!(account_condition(&base, now), None);
        let with = |f: &dyn Fn(&mut AccountRecord)| {
            let mut a = base.clone();
            f(&mut a);
            account_condition(&a, now).map(|c| c.0)
        };
        assert_eq!(
            with(&|a| a.status = Some("unauthorized".into())),
            Some("unauthorized")
        );
        assert_eq!(
            with(&|a| a.status = Some("blocked".into())),
            Some("blocked")
        );
        assert_eq!(with(&|a| a.status = Some("error".into())), Some("error"));
        assert_eq!(
            with(&|a| a.schedulable = Some(false)),
            Some("unschedulable")
        );
        assert_eq!(with(&|a| a.is_active = Some(false)), None);
        let end = now + chrono::Duration::minutes(10);
        let limited = {
            let mut a = base.clone();
            a.rate_limit_status = Some("limited".into());
            a.rate_limited_at = Some(now - chrono::Duration::minutes(50));
            a.rate_limit_end_at = Some(end);
            a
        };
        assert_eq!(
            account_condition(&limited, now),
            Some(("rate_limited", Some(end)))
        );
        let states = account_states(&[limited], now);
        assert!(states.contains_key("account:claude:a"));
    }
}
