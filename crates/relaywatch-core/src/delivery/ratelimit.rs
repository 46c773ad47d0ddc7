//! Per-channel send limits shared by every relaywatch instance through Redis; rule: a channel
//! allowed `rate` messages per `per` is never granted more than `rate` sends in any window of
//! length `per` (a sliding-window log, decided atomically in one Lua script), and a channel the
//! platform told to wait (Retry-After) is paused for everyone.
//!
//! Why not a token bucket: a bucket of capacity N refilled at N per window lets a full bucket
//! burst N and then trickle more inside the same window (up to 2N−1 per window), which breaks
//! "never more than 20 requests in any 60 s window". The log keeps one timestamp per grant
//! (at most `rate` entries per channel), which is exact and still O(log N) per decision.

use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::Script;

use crate::channels::Limits;

/// Errors of the shared limiter.
#[derive(Debug, thiserror::Error)]
pub enum RateLimitError {
    #[error("rate limiter Redis error: {0}")]
    Redis(String),
    #[error("invalid rate limit for channel {channel}: {reason}")]
    Invalid { channel: String, reason: String },
}

/// `rate` sends per `per`, the part of a platform's [`Limits`] the limiter uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub rate: u32,
    pub per: Duration,
}

impl From<Limits> for Window {
    fn from(l: Limits) -> Self {
        Window {
            rate: l.rate,
            per: l.per,
        }
    }
}

/// The limiter's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Take {
    /// One send granted and recorded.
    Granted,
    /// Nothing granted; try again after this long.
    Wait(Duration),
}

const TAKE: &str = r#"
local now = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local per = tonumber(ARGV[3])
local paused = redis.call('PTTL', KEYS[3])
if paused > 0 then return paused end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - per)
if redis.call('ZCARD', KEYS[1]) < rate then
  local s = redis.call('INCR', KEYS[2])
  redis.call('ZADD', KEYS[1], now, s)
  redis.call('PEXPIRE', KEYS[1], per)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local wait = tonumber(oldest[2]) + per - now
if wait < 1 then wait = 1 end
return wait
"#;

const PAUSE: &str = r#"
local ms = tonumber(ARGV[1])
if redis.call('PTTL', KEYS[1]) < ms then
  redis.call('SET', KEYS[1], '1', 'PX', ms)
end
return 1
"#;

/// The shared limiter: keys `{prefix}ratelimit:{channel}` (grant log, a sorted set of grant
/// times in ms), `…:seq` (member counter) and `…:pause` (set while the platform asked to wait).
#[derive(Clone)]
pub struct RateLimiter {
    con: MultiplexedConnection,
    prefix: String,
    take: Script,
    pause: Script,
}

impl RateLimiter {
    pub fn new(con: MultiplexedConnection, prefix: &str) -> Self {
        RateLimiter {
            con,
            prefix: prefix.to_string(),
            take: Script::new(TAKE),
            pause: Script::new(PAUSE),
        }
    }

    /// The grant log key of a channel.
    pub fn key(&self, channel: &str) -> String {
        format!("{}ratelimit:{channel}", self.prefix)
    }

    /// Take one send for `channel` at `now_ms` (ms since the epoch), or learn how long to wait.
    pub async fn try_take(
        &self,
        channel: &str,
        window: Window,
        now_ms: u64,
    ) -> Result<Take, RateLimitError> {
        let per = window.per.as_millis();
        if window.rate == 0 || per == 0 {
            return Err(RateLimitError::Invalid {
                channel: channel.to_string(),
                reason: format!("rate {} per {per} ms", window.rate),
            });
        }
        let key = self.key(channel);
        let mut con = self.con.clone();
        let wait: i64 = self
            .take
            .key(&key)
            .key(format!("{key}:seq"))
            .key(format!("{key}:pause"))
            .arg(now_ms)
            .arg(window.rate)
            .arg(per as u64)
            .invoke_async(&mut con)
            .await
            .map_err(|e| RateLimitError::Redis(e.to_string()))?;
        Ok(if wait <= 0 {
            Take::Granted
        } else {
            Take::Wait(Duration::from_millis(wait as u64))
        })
    }

    /// Pause `channel` for every instance for `for_`, unless it is already paused for longer.
    pub async fn pause(&self, channel: &str, for_: Duration) -> Result<(), RateLimitError> {
        let ms = for_.as_millis().max(1) as u64;
        let mut con = self.con.clone();
        let _: i64 = self
            .pause
            .key(format!("{}:pause", self.key(channel)))
            .arg(ms)
            .invoke_async(&mut con)
            .await
            .map_err(|e| RateLimitError::Redis(e.to_string()))?;
        Ok(())
    }
}
