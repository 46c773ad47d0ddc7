//! The durable outbox in Redis and the sender loop that drains it; rule: an idempotency key is
//! queued at most once, an item is held by at most one worker at a time (an atomic Lua claim
//! with a lease and a fencing token, so a worker whose lease ran out can no longer complete it),
//! and every attempt ends in exactly one transition — delivered, retried with backoff, or
//! dead-lettered — recorded in the channel's history in the same atomic step.
//!
//! Keys (prefix `p`, default `relaywatch:`): `{p}outbox:item:{id}` hash (channel, kind, key,
//! payload, attempts, created_ms, next_at_ms, last_error, token, state), `{p}outbox:dedup:{key}`
//! (id, kept `dedup_ttl` after enqueue), `{p}outbox:seq` (id counter), `{p}outbox:fence`
//! (claim token counter), `{p}outbox:due` (zset id → next attempt ms), `{p}outbox:claims`
//! (zset id → lease expiry ms), `{p}outbox:dead` (list of ids, newest first). Scripts build item
//! and history keys from the prefix, so the outbox needs one Redis (not a cluster). Every change
//! that can make an item due sooner (enqueue, retry, defer, release) publishes on the pub/sub
//! channel `{p}outbox:wake`, so idle senders wait on it instead of polling.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Script, Value};
use tokio::task::JoinSet;

use super::backoff::{BackoffPolicy, Jitter};
use super::history::{self, AttemptResult, HistoryError, Record};
use super::ratelimit::{RateLimitError, RateLimiter, Take, Window};
use crate::metrics::Outcome;
use crate::source::mask_url;

/// Errors of the outbox and the sender.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error("cannot connect to the outbox Redis at {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error("outbox Redis error: {0}")]
    Redis(String),
    /// The claim's lease ran out and the item was taken over (or finished) by another worker.
    #[error("outbox item {id}: the claim was lost (lease expired and the item was taken over)")]
    LeaseLost { id: u64 },
    #[error("outbox item {id}: malformed field `{field}`")]
    Corrupt { id: u64, field: &'static str },
    #[error(transparent)]
    RateLimit(#[from] RateLimitError),
    #[error(transparent)]
    History(#[from] HistoryError),
}

fn redis_err(e: redis::RedisError) -> OutboxError {
    OutboxError::Redis(e.to_string())
}

/// Outbox settings.
#[derive(Debug, Clone)]
pub struct OutboxConfig {
    /// Prefix of every key (`relaywatch:`).
    pub prefix: String,
    /// How long a claim holds an item before another worker may take it over (30 s). Must be
    /// longer than one delivery attempt; the sender cuts attempts off at 80 % of it.
    pub lease: Duration,
    /// How long an idempotency key is remembered after enqueue (7 days).
    pub dedup_ttl: Duration,
    pub backoff: BackoffPolicy,
    /// Dead-letter ids kept (1,000); dead items expire after `dead_ttl` (7 days).
    pub dead_cap: usize,
    pub dead_ttl: Duration,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        OutboxConfig {
            prefix: "relaywatch:".into(),
            lease: Duration::from_secs(30),
            dedup_ttl: Duration::from_secs(7 * 86_400),
            backoff: BackoffPolicy::default(),
            dead_cap: 1000,
            dead_ttl: Duration::from_secs(7 * 86_400),
        }
    }
}

/// What to queue. `payload` is opaque to the outbox (the caller's serialized request).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewItem {
    pub channel: String,
    /// Message kind: `report`, `alert`, `test`…
    pub kind: String,
    /// Idempotency key, e.g. `alert:<rule>:<subject>:<state>:<episode>:<channel>`.
    pub key: String,
    pub payload: Vec<u8>,
}

/// The answer to an enqueue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueued {
    /// Queued as a new item with this id.
    Queued(u64),
    /// The key was queued before (as this id): nothing was done.
    Duplicate(u64),
}

impl Enqueued {
    pub fn id(self) -> u64 {
        match self {
            Enqueued::Queued(id) | Enqueued::Duplicate(id) => id,
        }
    }
}

/// A queued item as a worker sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub id: u64,
    pub channel: String,
    pub kind: String,
    pub key: String,
    pub payload: Vec<u8>,
    /// Attempts made before this one.
    pub attempts: u32,
    pub created_ms: u64,
}

/// An item held by this worker until `lease_until_ms`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub item: Item,
    /// Fencing token: only the holder of the current token can move the item on.
    pub token: u64,
    pub lease_until_ms: u64,
}

/// What a delivery attempt came to, as the sender reports it.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Delivered,
    /// Worth retrying; `after` is the platform's Retry-After / `retry_after`.
    Retry {
        after: Option<Duration>,
    },
    /// Permanent: not retried, dead-lettered at once.
    Fail,
}

/// One attempt's result with what history records.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryResult {
    pub verdict: Verdict,
    pub status: Option<u16>,
    /// The platform's own code (`errcode`…).
    pub code: Option<i64>,
    pub latency: Duration,
    /// Why it failed, already scrubbed by the caller (never a URL or token) and passed through
    /// `secrets::redact` again here.
    pub reason: Option<String>,
}

impl DeliveryResult {
    pub fn delivered(status: Option<u16>, code: Option<i64>, latency: Duration) -> Self {
        DeliveryResult {
            verdict: Verdict::Delivered,
            status,
            code,
            latency,
            reason: None,
        }
    }

    pub fn retry(
        after: Option<Duration>,
        status: Option<u16>,
        code: Option<i64>,
        latency: Duration,
        reason: impl Into<String>,
    ) -> Self {
        DeliveryResult {
            verdict: Verdict::Retry { after },
            status,
            code,
            latency,
            reason: Some(crate::secrets::redact(&reason.into())),
        }
    }

    pub fn fail(
        status: Option<u16>,
        code: Option<i64>,
        latency: Duration,
        reason: impl Into<String>,
    ) -> Self {
        DeliveryResult {
            verdict: Verdict::Fail,
            status,
            code,
            latency,
            reason: Some(crate::secrets::redact(&reason.into())),
        }
    }
}

/// Where an item went after [`Outbox::complete`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Delivered,
    /// Back in the queue, due at this time (ms).
    Retrying {
        at_ms: u64,
    },
    Dead,
}

/// What [`plan`] decided, before it is applied in Redis.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub transition: Transition,
    pub record: Record,
}

/// Decides an attempt's transition and history record (pure): delivered; retried after the
/// backoff (or the platform's Retry-After when longer) while attempts remain; dead otherwise.
pub fn plan(
    policy: &BackoffPolicy,
    item: &Item,
    result: &DeliveryResult,
    now_ms: u64,
    jitter_unit: f64,
) -> Plan {
    let attempt = item.attempts.saturating_add(1);
    let (transition, res) = match &result.verdict {
        Verdict::Delivered => (Transition::Delivered, AttemptResult::Delivered),
        Verdict::Retry { after } if !policy.exhausted(attempt) => {
            let delay = policy.retry_delay(attempt, jitter_unit, *after);
            let at_ms = now_ms.saturating_add(delay.as_millis() as u64);
            (Transition::Retrying { at_ms }, AttemptResult::Retry)
        }
        Verdict::Retry { .. } | Verdict::Fail => (Transition::Dead, AttemptResult::Dead),
    };
    Plan {
        transition,
        record: Record {
            time_ms: now_ms,
            id: item.id,
            kind: item.kind.clone(),
            key: item.key.clone(),
            attempt,
            result: res,
            status: result.status,
            code: result.code,
            latency_ms: result.latency.as_millis() as u64,
            reason: result.reason.as_deref().map(history::clip_reason),
        },
    }
}

const ENQUEUE: &str = r#"
local existing = redis.call('GET', KEYS[1])
if existing then return {0, tonumber(existing)} end
local id = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], id, 'PX', ARGV[8])
local item = ARGV[1] .. 'outbox:item:' .. id
redis.call('HSET', item, 'channel', ARGV[2], 'kind', ARGV[3], 'key', ARGV[4], 'payload', ARGV[5],
  'attempts', 0, 'created_ms', ARGV[6], 'next_at_ms', ARGV[7], 'state', 'due')
redis.call('ZADD', KEYS[3], ARGV[7], id)
redis.call('PUBLISH', ARGV[1] .. 'outbox:wake', ARGV[7])
return {1, id}
"#;

/// KEYS: due, claims, dead, fence. ARGV: prefix, now, lease_ms, limit, max_attempts, dead_cap,
/// dead_ttl_ms, failed_cap. Takes back items whose lease ran out (that counts as an attempt;
/// the last one dead-letters), then claims up to `limit` due items.
const CLAIM: &str = r#"
local p = ARGV[1]
local now = tonumber(ARGV[2])
local lease = tonumber(ARGV[3])
local limit = tonumber(ARGV[4])
local maxa = tonumber(ARGV[5])
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 100)
for _, id in ipairs(expired) do
  redis.call('ZREM', KEYS[2], id)
  local item = p .. 'outbox:item:' .. id
  if redis.call('EXISTS', item) == 1 then
    local a = redis.call('HINCRBY', item, 'attempts', 1)
    local why = 'lease expired: the worker stopped during attempt ' .. a
    redis.call('HDEL', item, 'token')
    redis.call('HSET', item, 'last_error', why)
    if a >= maxa then
      local f = redis.call('HMGET', item, 'channel', 'kind', 'key')
      redis.call('HSET', item, 'state', 'dead')
      redis.call('LPUSH', KEYS[3], id)
      redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[6]) - 1)
      redis.call('PEXPIRE', item, ARGV[7])
      local hist = p .. 'history:' .. f[1] .. ':failed'
      redis.call('LPUSH', hist, cjson.encode({time_ms = now, id = tonumber(id), kind = f[2],
        key = f[3], attempt = a, result = 'dead', status = cjson.null, code = cjson.null,
        latency_ms = lease, reason = why}))
      redis.call('LTRIM', hist, 0, tonumber(ARGV[8]) - 1)
    else
      redis.call('HSET', item, 'next_at_ms', now, 'state', 'due')
      redis.call('ZADD', KEYS[1], now, id)
    end
  end
end
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, limit)
local out = {}
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[1], id)
  local item = p .. 'outbox:item:' .. id
  local f = redis.call('HMGET', item, 'channel', 'kind', 'key', 'payload', 'attempts', 'created_ms')
  if f[1] then
    local token = redis.call('INCR', KEYS[4])
    redis.call('HSET', item, 'token', token, 'state', 'claimed')
    redis.call('ZADD', KEYS[2], now + lease, id)
    table.insert(out, {id, token, now + lease, f[1], f[2], f[3], f[4], f[5], f[6]})
  end
end
return out
"#;

/// KEYS: item, claims, due, dead, history ok, history failed. ARGV: id, token, action, at,
/// record, last_error, ok_cap, failed_cap, dead_cap, dead_ttl_ms, wake channel. Applies one transition if
/// and only if the caller still holds the claim (its token is the item's current token).
const TRANSITION: &str = r#"
if redis.call('HGET', KEYS[1], 'token') ~= ARGV[2] then return 0 end
if not redis.call('ZSCORE', KEYS[2], ARGV[1]) then return 0 end
local action = ARGV[3]
if action == 'extend' then
  redis.call('ZADD', KEYS[2], 'XX', ARGV[4], ARGV[1])
  return 1
end
redis.call('ZREM', KEYS[2], ARGV[1])
if action == 'ok' then
  redis.call('DEL', KEYS[1])
  redis.call('LPUSH', KEYS[5], ARGV[5])
  redis.call('LTRIM', KEYS[5], 0, tonumber(ARGV[7]) - 1)
  return 1
end
redis.call('HDEL', KEYS[1], 'token')
if action == 'defer' then
  redis.call('HSET', KEYS[1], 'next_at_ms', ARGV[4], 'state', 'due')
  redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
  redis.call('PUBLISH', ARGV[11], ARGV[4])
  return 1
end
redis.call('HINCRBY', KEYS[1], 'attempts', 1)
redis.call('HSET', KEYS[1], 'last_error', ARGV[6])
redis.call('LPUSH', KEYS[6], ARGV[5])
redis.call('LTRIM', KEYS[6], 0, tonumber(ARGV[8]) - 1)
if action == 'retry' then
  redis.call('HSET', KEYS[1], 'next_at_ms', ARGV[4], 'state', 'due')
  redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
  redis.call('PUBLISH', ARGV[11], ARGV[4])
else
  redis.call('HSET', KEYS[1], 'state', 'dead')
  redis.call('LPUSH', KEYS[4], ARGV[1])
  redis.call('LTRIM', KEYS[4], 0, tonumber(ARGV[9]) - 1)
  redis.call('PEXPIRE', KEYS[1], ARGV[10])
end
return 1
"#;

/// A dead-lettered item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadItem {
    pub id: u64,
    pub channel: String,
    pub kind: String,
    pub key: String,
    pub attempts: u32,
    pub last_error: Option<String>,
}

/// Queue sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutboxStats {
    pub due: u64,
    pub claimed: u64,
    pub dead: u64,
}

/// The outbox: cheap to clone (one multiplexed connection, shared).
#[derive(Clone)]
pub struct Outbox {
    con: MultiplexedConnection,
    /// Where a sender opens its wake-up subscription (`None`: built on a bare connection; the
    /// sender then waits on timers only).
    client: Option<redis::Client>,
    cfg: Arc<OutboxConfig>,
    enqueue: Arc<Script>,
    claim: Arc<Script>,
    transition: Arc<Script>,
}

/// Opens a multiplexed connection and PINGs it, all within `timeout`; each reply afterwards may
/// take `reply_timeout`. The error is the reason only (callers add the masked URL).
pub(crate) async fn connect_pinged(
    url: &str,
    timeout: Duration,
    reply_timeout: Duration,
) -> Result<MultiplexedConnection, String> {
    let client = redis::Client::open(url).map_err(|e| e.to_string())?;
    let ccfg = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(Some(reply_timeout));
    let attempt = async {
        let mut con = client
            .get_multiplexed_async_connection_with_config(&ccfg)
            .await?;
        redis::cmd("PING").query_async::<String>(&mut con).await?;
        Ok::<_, redis::RedisError>(con)
    };
    match tokio::time::timeout(timeout, attempt).await {
        Ok(Ok(con)) => Ok(con),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {} ms", timeout.as_millis())),
    }
}

impl Outbox {
    /// Connects (and PINGs) within `timeout`. Errors name the URL with its password masked.
    pub async fn connect(
        url: &str,
        timeout: Duration,
        cfg: OutboxConfig,
    ) -> Result<Self, OutboxError> {
        let con = connect_pinged(url, timeout, timeout)
            .await
            .map_err(|reason| OutboxError::Connect {
                url: mask_url(url),
                reason,
            })?;
        let mut outbox = Outbox::new(con, cfg);
        outbox.client = redis::Client::open(url).ok();
        Ok(outbox)
    }

    pub fn new(con: MultiplexedConnection, cfg: OutboxConfig) -> Self {
        Outbox {
            con,
            client: None,
            cfg: Arc::new(cfg),
            enqueue: Arc::new(Script::new(ENQUEUE)),
            claim: Arc::new(Script::new(CLAIM)),
            transition: Arc::new(Script::new(TRANSITION)),
        }
    }

    pub fn config(&self) -> &OutboxConfig {
        &self.cfg
    }

    /// The connection, shared (e.g. for a [`RateLimiter`] on the same Redis).
    pub fn connection(&self) -> &MultiplexedConnection {
        &self.con
    }

    fn key(&self, rest: &str) -> String {
        format!("{}outbox:{rest}", self.cfg.prefix)
    }

    fn item_key(&self, id: u64) -> String {
        self.key(&format!("item:{id}"))
    }

    /// Queues `item`, due now; a key queued before is a no-op.
    pub async fn enqueue(&self, item: &NewItem, now_ms: u64) -> Result<Enqueued, OutboxError> {
        self.enqueue_at(item, now_ms, now_ms).await
    }

    /// Queues `item`, due at `not_before_ms`; a key queued before is a no-op.
    pub async fn enqueue_at(
        &self,
        item: &NewItem,
        now_ms: u64,
        not_before_ms: u64,
    ) -> Result<Enqueued, OutboxError> {
        let mut con = self.con.clone();
        let (fresh, id): (i64, u64) = self
            .enqueue
            .key(self.key(&format!("dedup:{}", item.key)))
            .key(self.key("seq"))
            .key(self.key("due"))
            .arg(&self.cfg.prefix)
            .arg(&item.channel)
            .arg(&item.kind)
            .arg(&item.key)
            .arg(&item.payload[..])
            .arg(now_ms)
            .arg(not_before_ms)
            .arg(self.cfg.dedup_ttl.as_millis().max(1) as u64)
            .invoke_async(&mut con)
            .await
            .map_err(redis_err)?;
        Ok(if fresh == 1 {
            Enqueued::Queued(id)
        } else {
            Enqueued::Duplicate(id)
        })
    }

    /// Takes over items whose lease ran out, then claims up to `max` items due at `now_ms`.
    pub async fn claim(&self, now_ms: u64, max: usize) -> Result<Vec<Claim>, OutboxError> {
        let mut con = self.con.clone();
        let rows: Vec<Value> = self
            .claim
            .key(self.key("due"))
            .key(self.key("claims"))
            .key(self.key("dead"))
            .key(self.key("fence"))
            .arg(&self.cfg.prefix)
            .arg(now_ms)
            .arg(self.cfg.lease.as_millis().max(1) as u64)
            .arg(max.max(1))
            .arg(self.cfg.backoff.max_attempts.max(1))
            .arg(self.cfg.dead_cap.max(1))
            .arg(self.cfg.dead_ttl.as_millis().max(1) as u64)
            .arg(history::FAILED_CAP)
            .invoke_async(&mut con)
            .await
            .map_err(redis_err)?;
        rows.iter().map(parse_claim).collect()
    }

    async fn apply(
        &self,
        claim: &Claim,
        action: &str,
        at_ms: u64,
        record: &str,
        last_error: &str,
    ) -> Result<(), OutboxError> {
        let id = claim.item.id;
        let ch = &claim.item.channel;
        let mut con = self.con.clone();
        let ok: i64 = self
            .transition
            .key(self.item_key(id))
            .key(self.key("claims"))
            .key(self.key("due"))
            .key(self.key("dead"))
            .key(history::ok_key(&self.cfg.prefix, ch))
            .key(history::failed_key(&self.cfg.prefix, ch))
            .arg(id)
            .arg(claim.token)
            .arg(action)
            .arg(at_ms)
            .arg(record)
            .arg(last_error)
            .arg(history::OK_CAP)
            .arg(history::FAILED_CAP)
            .arg(self.cfg.dead_cap.max(1))
            .arg(self.cfg.dead_ttl.as_millis().max(1) as u64)
            .arg(self.key("wake"))
            .invoke_async(&mut con)
            .await
            .map_err(redis_err)?;
        if ok == 1 {
            Ok(())
        } else {
            Err(OutboxError::LeaseLost { id })
        }
    }

    /// Ends an attempt: delivered, retried after backoff (Retry-After honoured), or
    /// dead-lettered; recorded in the channel's history. Fails with `LeaseLost` when the claim
    /// is no longer this worker's.
    pub async fn complete(
        &self,
        claim: &Claim,
        result: &DeliveryResult,
        now_ms: u64,
        jitter_unit: f64,
    ) -> Result<Transition, OutboxError> {
        let p = plan(&self.cfg.backoff, &claim.item, result, now_ms, jitter_unit);
        let record = serde_json::to_string(&p.record).unwrap_or_default();
        let last_error = p.record.reason.clone().unwrap_or_default();
        let (action, at) = match p.transition {
            Transition::Delivered => ("ok", now_ms),
            Transition::Retrying { at_ms } => ("retry", at_ms),
            Transition::Dead => ("dead", now_ms),
        };
        self.apply(claim, action, at, &record, &last_error).await?;
        Ok(p.transition)
    }

    /// Gives the item back without counting an attempt, due at `until_ms` (rate limited).
    pub async fn defer(&self, claim: &Claim, until_ms: u64) -> Result<(), OutboxError> {
        self.apply(claim, "defer", until_ms, "", "").await
    }

    /// Gives the item back, due now, without counting an attempt (shutdown).
    pub async fn release(&self, claim: &Claim, now_ms: u64) -> Result<(), OutboxError> {
        self.defer(claim, now_ms).await
    }

    /// Renews the lease to `now_ms + lease`.
    pub async fn extend(&self, claim: &mut Claim, now_ms: u64) -> Result<(), OutboxError> {
        let until = now_ms + self.cfg.lease.as_millis() as u64;
        self.apply(claim, "extend", until, "", "").await?;
        claim.lease_until_ms = until;
        Ok(())
    }

    /// The earliest due time, if anything is queued.
    pub async fn next_due_ms(&self) -> Result<Option<u64>, OutboxError> {
        let mut con = self.con.clone();
        let v: Vec<(String, f64)> = redis::cmd("ZRANGE")
            .arg(self.key("due"))
            .arg(0)
            .arg(0)
            .arg("WITHSCORES")
            .query_async(&mut con)
            .await
            .map_err(redis_err)?;
        Ok(v.first().map(|(_, s)| *s as u64))
    }

    /// When the outbox next needs a sender (ms): the earliest due item or claim lease expiry
    /// (a lease that runs out is taken over), if any.
    pub async fn next_wake_ms(&self) -> Result<Option<u64>, OutboxError> {
        let mut con = self.con.clone();
        type Heads = (Vec<(String, f64)>, Vec<(String, f64)>);
        let (due, claims): Heads = redis::pipe()
            .cmd("ZRANGE")
            .arg(self.key("due"))
            .arg(0)
            .arg(0)
            .arg("WITHSCORES")
            .cmd("ZRANGE")
            .arg(self.key("claims"))
            .arg(0)
            .arg(0)
            .arg("WITHSCORES")
            .query_async(&mut con)
            .await
            .map_err(redis_err)?;
        Ok(due.iter().chain(&claims).map(|(_, s)| *s as u64).min())
    }

    /// Subscribes to the outbox's wake-up channel on a connection of its own (`None` when the
    /// outbox has no URL to connect with, or the subscription fails within `timeout`).
    pub async fn subscribe_wake(&self, timeout: Duration) -> Option<Wake> {
        let client = self.client.as_ref()?;
        let channel = self.key("wake");
        let attempt = async {
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.subscribe(&channel).await?;
            Ok::<_, redis::RedisError>(pubsub)
        };
        match tokio::time::timeout(timeout, attempt).await {
            Ok(Ok(pubsub)) => Some(Wake { pubsub }),
            Ok(Err(e)) => {
                tracing::debug!("outbox wake-up: {}", crate::secrets::redact(&e.to_string()));
                None
            }
            Err(_) => None,
        }
    }

    pub async fn stats(&self) -> Result<OutboxStats, OutboxError> {
        let mut con = self.con.clone();
        let (due, claimed, dead): (u64, u64, u64) = redis::pipe()
            .cmd("ZCARD")
            .arg(self.key("due"))
            .cmd("ZCARD")
            .arg(self.key("claims"))
            .cmd("LLEN")
            .arg(self.key("dead"))
            .query_async(&mut con)
            .await
            .map_err(redis_err)?;
        Ok(OutboxStats { due, claimed, dead })
    }

    /// The dead-letter list, newest first (ids whose item has expired are skipped).
    pub async fn dead(&self) -> Result<Vec<DeadItem>, OutboxError> {
        let mut con = self.con.clone();
        let ids: Vec<u64> = redis::cmd("LRANGE")
            .arg(self.key("dead"))
            .arg(0)
            .arg(-1)
            .query_async(&mut con)
            .await
            .map_err(redis_err)?;
        if ids.is_empty() {
            // An empty pipeline is an "empty command" error in redis-rs.
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for id in &ids {
            pipe.cmd("HMGET").arg(self.item_key(*id)).arg(&[
                "channel",
                "kind",
                "key",
                "attempts",
                "last_error",
            ]);
        }
        let rows: Vec<Vec<Option<String>>> = pipe.query_async(&mut con).await.map_err(redis_err)?;
        Ok(ids
            .into_iter()
            .zip(rows)
            .filter_map(|(id, r)| {
                let mut r = r.into_iter();
                Some(DeadItem {
                    id,
                    channel: r.next().flatten()?,
                    kind: r.next().flatten().unwrap_or_default(),
                    key: r.next().flatten().unwrap_or_default(),
                    attempts: r.next().flatten().and_then(|a| a.parse().ok()).unwrap_or(0),
                    last_error: r.next().flatten(),
                })
            })
            .collect())
    }

    /// Each item's `state` (`due`, `claimed`, `dead`) and `next_at_ms`, in the order of `ids`;
    /// `None` when the item is gone (delivered, or dead and expired).
    pub async fn item_states(
        &self,
        ids: &[u64],
    ) -> Result<Vec<Option<(String, u64)>>, OutboxError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut con = self.con.clone();
        let mut pipe = redis::pipe();
        for id in ids {
            pipe.cmd("HMGET")
                .arg(self.item_key(*id))
                .arg(&["state", "next_at_ms"]);
        }
        let rows: Vec<(Option<String>, Option<u64>)> =
            pipe.query_async(&mut con).await.map_err(redis_err)?;
        Ok(rows
            .into_iter()
            .map(|(state, at)| state.map(|s| (s, at.unwrap_or(0))))
            .collect())
    }

    /// The channel's recent deliveries, newest first.
    pub async fn history_ok(&self, channel: &str) -> Result<Vec<Record>, OutboxError> {
        Ok(history::delivered(&self.con, &self.cfg.prefix, channel).await?)
    }

    /// The channel's recent failed attempts, newest first.
    pub async fn history_failed(&self, channel: &str) -> Result<Vec<Record>, OutboxError> {
        Ok(history::failed(&self.con, &self.cfg.prefix, channel).await?)
    }
}

fn bytes(v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::BulkString(b) => Some(b.clone()),
        Value::SimpleString(s) => Some(s.clone().into_bytes()),
        Value::Int(i) => Some(i.to_string().into_bytes()),
        _ => None,
    }
}

fn parse_claim(row: &Value) -> Result<Claim, OutboxError> {
    let Value::Array(f) = row else {
        return Err(OutboxError::Corrupt {
            id: 0,
            field: "row",
        });
    };
    let text = |i: usize| {
        f.get(i)
            .and_then(bytes)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
    };
    let num = |i: usize| text(i).and_then(|s| s.parse::<u64>().ok());
    let id = num(0).ok_or(OutboxError::Corrupt { id: 0, field: "id" })?;
    let bad = |field| OutboxError::Corrupt { id, field };
    Ok(Claim {
        token: num(1).ok_or(bad("token"))?,
        lease_until_ms: num(2).ok_or(bad("lease"))?,
        item: Item {
            id,
            channel: text(3).ok_or(bad("channel"))?,
            kind: text(4).unwrap_or_default(),
            key: text(5).unwrap_or_default(),
            payload: f.get(6).and_then(bytes).unwrap_or_default(),
            attempts: num(7).unwrap_or(0) as u32,
            created_ms: num(8).unwrap_or(0),
        },
    })
}

/// Milliseconds since the epoch from the system clock (the sender's default clock).
pub fn system_now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A channel's send window, if it has one.
pub type WindowFor = Arc<dyn Fn(&str) -> Option<Window> + Send + Sync>;

/// Sender settings.
#[derive(Clone)]
pub struct SenderConfig {
    /// Items claimed per round trip (64).
    pub batch: usize,
    /// Attempts in flight at once (64).
    pub concurrency: usize,
    /// The longest an idle sender waits (30 s). It wakes sooner on the outbox's wake-up
    /// channel (an enqueue, retry or deferral anywhere) and when the earliest due item or claim
    /// lease falls due; this bound catches a missed message or a wall-clock jump.
    pub idle_poll: Duration,
    /// Each channel's send window (`None`: unlimited).
    pub windows: WindowFor,
    /// The clock, ms since the epoch.
    pub clock: fn() -> u64,
}

impl Default for SenderConfig {
    fn default() -> Self {
        SenderConfig {
            batch: 64,
            concurrency: 64,
            idle_poll: Duration::from_secs(30),
            windows: Arc::new(|_| None),
            clock: system_now_ms,
        }
    }
}

/// A sender's wake-up: the `{p}outbox:wake` subscription, on a connection of its own.
pub struct Wake {
    pubsub: redis::aio::PubSub,
}

impl Wake {
    /// Resolves at the next message (`true`), or `false` once the subscription has ended.
    pub async fn next(&mut self) -> bool {
        use futures_core::Stream;
        let mut messages = std::pin::pin!(self.pubsub.on_message());
        std::future::poll_fn(|cx| messages.as_mut().poll_next(cx))
            .await
            .is_some()
    }
}

/// How long an idle sender sleeps (pure): until `next_ms` (the earliest due item or lease
/// expiry) but at most `cap`; `cap` when nothing is queued.
pub fn idle_nap(next_ms: Option<u64>, now_ms: u64, cap: Duration) -> Duration {
    match next_ms {
        Some(at) => Duration::from_millis(at.saturating_sub(now_ms)).min(cap),
        None => cap,
    }
}

/// What a sender did before it stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SenderStats {
    pub delivered: u64,
    pub retried: u64,
    pub dead: u64,
    /// Put back because the channel's window was full (no attempt counted).
    pub deferred: u64,
    /// Attempts whose claim had been taken over before they completed.
    pub lost: u64,
    /// Redis errors survived.
    pub errors: u64,
}

enum Step {
    Done(Transition),
    Deferred,
}

/// Drains the outbox: claim → rate limit → deliver → complete, with up to `concurrency`
/// attempts in flight. Each attempt is cut off at 80 % of the lease (a Retry), so a live worker
/// never loses its claim. When `shutdown` resolves, no more items are claimed and the attempts
/// in flight are finished before returning.
pub async fn run<F, Fut>(
    outbox: Outbox,
    cfg: SenderConfig,
    deliver: F,
    shutdown: impl Future<Output = ()>,
) -> SenderStats
where
    F: Fn(Item) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = DeliveryResult> + Send + 'static,
{
    let deliver = Arc::new(deliver);
    let limiter = RateLimiter::new(outbox.connection().clone(), &outbox.config().prefix);
    let attempt_timeout = outbox.config().lease.mul_f64(0.8);
    let mut jitter = Jitter::new((cfg.clock)() ^ ((std::process::id() as u64) << 32));
    let mut stats = SenderStats::default();
    let mut tasks: JoinSet<Result<Step, OutboxError>> = JoinSet::new();
    let record = |stats: &mut SenderStats,
                  r: Result<Result<Step, OutboxError>, tokio::task::JoinError>| {
        match r {
            Ok(Ok(Step::Done(Transition::Delivered))) => stats.delivered += 1,
            Ok(Ok(Step::Done(Transition::Retrying { .. }))) => stats.retried += 1,
            Ok(Ok(Step::Done(Transition::Dead))) => stats.dead += 1,
            Ok(Ok(Step::Deferred)) => stats.deferred += 1,
            Ok(Err(OutboxError::LeaseLost { .. })) => stats.lost += 1,
            Ok(Err(e)) => {
                tracing::warn!("outbox attempt: {}", crate::secrets::redact(&e.to_string()));
                stats.errors += 1;
            }
            Err(e) => {
                tracing::warn!(
                    "outbox attempt task: {}",
                    crate::secrets::redact(&e.to_string())
                );
                stats.errors += 1;
            }
        }
    };
    tokio::pin!(shutdown);
    // Subscribed before the first claim: an item queued after a claim found nothing is heard.
    let mut wake = outbox.subscribe_wake(WAKE_CONNECT).await;
    let mut wake_tried = Instant::now();
    loop {
        tokio::select! {
            biased;
            _ = &mut shutdown => break,
            _ = std::future::ready(()) => {}
        }
        while let Some(r) = tasks.try_join_next() {
            record(&mut stats, r);
        }
        let free = cfg.concurrency.max(1).saturating_sub(tasks.len());
        let mut claimed = 0;
        let mut failed = false;
        if free > 0 {
            match outbox
                .claim((cfg.clock)(), free.min(cfg.batch.max(1)))
                .await
            {
                Ok(claims) => {
                    claimed = claims.len();
                    for claim in claims {
                        let task = attempt(
                            outbox.clone(),
                            limiter.clone(),
                            (cfg.windows)(&claim.item.channel),
                            deliver.clone(),
                            claim,
                            cfg.clock,
                            jitter.next_unit(),
                            attempt_timeout,
                        );
                        tasks.spawn(task);
                    }
                }
                Err(e) => {
                    tracing::warn!("outbox claim: {}", crate::secrets::redact(&e.to_string()));
                    stats.errors += 1;
                    failed = true;
                }
            }
        }
        if claimed > 0 && claimed == free.min(cfg.batch.max(1)) {
            continue;
        }
        let nap = if claimed > 0 {
            Duration::ZERO
        } else {
            if wake.is_none() && wake_tried.elapsed() >= cfg.idle_poll {
                wake = outbox.subscribe_wake(WAKE_CONNECT).await;
                wake_tried = Instant::now();
            }
            idle_wait(&outbox, &cfg, free, failed).await
        };
        tokio::select! {
            _ = &mut shutdown => break,
            Some(r) = tasks.join_next(), if !tasks.is_empty() => record(&mut stats, r),
            _ = tokio::time::sleep(nap), if claimed == 0 => {}
            alive = next_wake(&mut wake), if claimed == 0 => {
                if !alive {
                    tracing::debug!("outbox wake-up subscription ended; waiting on timers");
                    wake = None;
                }
            }
            _ = std::future::ready(()), if claimed > 0 => {}
        }
    }
    while let Some(r) = tasks.join_next().await {
        record(&mut stats, r);
    }
    stats
}

/// How long subscribing to the wake-up channel may take.
const WAKE_CONNECT: Duration = Duration::from_secs(2);
/// The longest wait after a Redis error before the sender looks again.
const ERROR_NAP: Duration = Duration::from_secs(1);

/// How long an idle sender may sleep: until the outbox next needs it (bounded by `idle_poll`),
/// the bound alone while every slot is busy (a finished attempt wakes it), briefly after an
/// error.
async fn idle_wait(outbox: &Outbox, cfg: &SenderConfig, free: usize, failed: bool) -> Duration {
    if failed {
        return cfg.idle_poll.min(ERROR_NAP);
    }
    if free == 0 {
        return cfg.idle_poll;
    }
    match outbox.next_wake_ms().await {
        Ok(next) => idle_nap(next, (cfg.clock)(), cfg.idle_poll),
        Err(_) => cfg.idle_poll.min(ERROR_NAP),
    }
}

/// The next wake-up message (`true`), `false` when the subscription ended; never resolves
/// without a subscription.
async fn next_wake(wake: &mut Option<Wake>) -> bool {
    match wake {
        Some(w) => w.next().await,
        None => std::future::pending().await,
    }
}

#[allow(clippy::too_many_arguments)]
async fn attempt<F, Fut>(
    outbox: Outbox,
    limiter: RateLimiter,
    window: Option<Window>,
    deliver: Arc<F>,
    claim: Claim,
    clock: fn() -> u64,
    unit: f64,
    timeout: Duration,
) -> Result<Step, OutboxError>
where
    F: Fn(Item) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = DeliveryResult> + Send + 'static,
{
    let channel = claim.item.channel.clone();
    if let Some(w) = window {
        let now = clock();
        if let Take::Wait(d) = limiter.try_take(&channel, w, now).await? {
            outbox.defer(&claim, now + d.as_millis() as u64).await?;
            return Ok(Step::Deferred);
        }
    }
    let started = Instant::now();
    let result = match tokio::time::timeout(timeout, deliver(claim.item.clone())).await {
        Ok(r) => r,
        Err(_) => DeliveryResult::retry(
            None,
            None,
            None,
            started.elapsed(),
            format!("no answer within {} ms", timeout.as_millis()),
        ),
    };
    if let (Verdict::Retry { after: Some(after) }, Some(_)) = (&result.verdict, window) {
        // The channel waits as long as its items do: no longer than the policy honours.
        let pause = (*after).min(outbox.config().backoff.max_retry_after);
        limiter.pause(&channel, pause).await?;
    }
    let t = outbox.complete(&claim, &result, clock(), unit).await?;
    crate::metrics::delivery(&channel, Outcome::of(&result.verdict, t), result.latency);
    Ok(Step::Done(t))
}

#[cfg(test)]
mod wait_tests {
    use super::*;

    #[test]
    fn an_idle_sender_sleeps_until_the_next_due_item_at_most_its_bound() {
        let cap = Duration::from_secs(30);
        assert_eq!(idle_nap(None, 1_000, cap), cap);
        assert_eq!(
            idle_nap(Some(3_500), 1_000, cap),
            Duration::from_millis(2_500)
        );
        assert_eq!(idle_nap(Some(500), 1_000, cap), Duration::ZERO);
        assert_eq!(idle_nap(Some(1_000_000), 1_000, cap), cap);
    }
}
