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
//!
//! Layout: `scripts` (the Lua scripts), `queue` (enqueue, claim and the transitions that end a
//! claim), `plan` (the pure decision of what an attempt leads to), `inspect` (read-only views:
//! sizes, dead letters, item states, history), `sender` (the sender loop, its wake-up and rate
//! limits).

mod inspect;
mod plan;
mod queue;
mod scripts;
mod sender;

use std::sync::Arc;
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::Script;

use super::backoff::BackoffPolicy;
use super::history::HistoryError;
use super::ratelimit::RateLimitError;
use crate::source::mask_url;

pub use inspect::{DeadItem, OutboxStats};
pub use plan::{plan, DeliveryResult, Plan, Transition, Verdict};
pub use sender::{idle_nap, run, system_now_ms, SenderConfig, SenderStats, Wake, WindowFor};

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

impl Outbox {
    /// Connects (and PINGs) within `timeout`. Errors name the URL with its password masked.
    pub async fn connect(
        url: &str,
        timeout: Duration,
        cfg: OutboxConfig,
    ) -> Result<Self, OutboxError> {
        let con = crate::store::connect_pinged(url, timeout, timeout)
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
            enqueue: Arc::new(Script::new(scripts::ENQUEUE)),
            claim: Arc::new(Script::new(scripts::CLAIM)),
            transition: Arc::new(Script::new(scripts::TRANSITION)),
        }
    }

    pub fn config(&self) -> &OutboxConfig {
        &self.cfg
    }

    /// The connection, shared (e.g. for a [`RateLimiter`](super::ratelimit::RateLimiter) on the same Redis).
    pub fn connection(&self) -> &MultiplexedConnection {
        &self.con
    }

    fn key(&self, rest: &str) -> String {
        format!("{}outbox:{rest}", self.cfg.prefix)
    }

    fn item_key(&self, id: u64) -> String {
        self.key(&format!("item:{id}"))
    }
}
