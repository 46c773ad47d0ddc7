//! Distributed fire locks and last-fire times in Redis (the async edge of `schedule`); rule: one
//! lock per (job, fire time), taken with `SET key instance NX PX ttl`, so of several instances
//! sharing a Redis exactly one sends each scheduled message; the last fire only moves forward.
//!
//! Keys (prefix `p`, default `relaywatch:`): `{p}schedule:fire:{job}:{fire as RFC 3339 UTC}`
//! (value: the instance that won; expires after [`FIRE_LOCK_TTL`]) and `{p}schedule:last:{job}`
//! (the newest settled fire, epoch milliseconds).

use std::sync::OnceLock;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use redis::aio::ConnectionLike;
use redis::Script;

/// How long a fire lock is kept: longer than any grace window (at most 7 days), so a fire can
/// never be taken twice.
pub const FIRE_LOCK_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// Errors of the schedule's Redis edge.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("schedule Redis error: {0}")]
    Redis(String),
    #[error("schedule `{job}`: key {key} holds {value:?}, not epoch milliseconds; delete the key to reset it")]
    Corrupt {
        job: String,
        key: String,
        value: String,
    },
}

fn redis_err(e: redis::RedisError) -> LockError {
    LockError::Redis(e.to_string())
}

/// The fire lock's key.
pub fn fire_key(prefix: &str, job: &str, fire: DateTime<Utc>) -> String {
    format!(
        "{prefix}schedule:fire:{job}:{}",
        fire.to_rfc3339_opts(SecondsFormat::Secs, true)
    )
}

/// The last-fire key.
pub fn last_key(prefix: &str, job: &str) -> String {
    format!("{prefix}schedule:last:{job}")
}

/// This process's name in lock values: `host:pid:start-nanos` (for people reading Redis).
pub fn instance_id() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        let host = std::env::var("HOSTNAME")
            .ok()
            .filter(|h| !h.is_empty())
            .or_else(|| {
                std::fs::read_to_string("/etc/hostname")
                    .ok()
                    .map(|h| h.trim().to_string())
            })
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "host".into());
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        format!("{host}:{}:{nanos}", std::process::id())
    })
}

/// Takes the lock for (job, fire) as this process; `true` means this instance sends the fire.
pub async fn try_fire<C: ConnectionLike + Send>(
    con: &mut C,
    prefix: &str,
    job: &str,
    fire: DateTime<Utc>,
) -> Result<bool, LockError> {
    try_fire_as(con, prefix, job, fire, instance_id(), FIRE_LOCK_TTL).await
}

/// [`try_fire`] with an explicit instance name and lock lifetime.
pub async fn try_fire_as<C: ConnectionLike + Send>(
    con: &mut C,
    prefix: &str,
    job: &str,
    fire: DateTime<Utc>,
    instance: &str,
    ttl: Duration,
) -> Result<bool, LockError> {
    let set: Option<String> = redis::cmd("SET")
        .arg(fire_key(prefix, job, fire))
        .arg(instance)
        .arg("NX")
        .arg("PX")
        .arg(ttl.as_millis().max(1) as u64)
        .query_async(con)
        .await
        .map_err(redis_err)?;
    Ok(set.is_some())
}

/// Who holds the lock for (job, fire), if anyone.
pub async fn fire_owner<C: ConnectionLike + Send>(
    con: &mut C,
    prefix: &str,
    job: &str,
    fire: DateTime<Utc>,
) -> Result<Option<String>, LockError> {
    redis::cmd("GET")
        .arg(fire_key(prefix, job, fire))
        .query_async(con)
        .await
        .map_err(redis_err)
}

const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";

/// Gives a won lock back (only if `instance` still holds it), e.g. when building the message
/// failed, so another instance (or a later tick) can take the fire. `true` if released.
pub async fn release_fire<C: ConnectionLike + Send>(
    con: &mut C,
    prefix: &str,
    job: &str,
    fire: DateTime<Utc>,
    instance: &str,
) -> Result<bool, LockError> {
    let n: i64 = Script::new(RELEASE)
        .key(fire_key(prefix, job, fire))
        .arg(instance)
        .invoke_async(con)
        .await
        .map_err(redis_err)?;
    Ok(n == 1)
}

/// The newest fire settled for `job` (sent or skipped), if any.
pub async fn last_fire<C: ConnectionLike + Send>(
    con: &mut C,
    prefix: &str,
    job: &str,
) -> Result<Option<DateTime<Utc>>, LockError> {
    let key = last_key(prefix, job);
    let raw: Option<String> = redis::cmd("GET")
        .arg(&key)
        .query_async(con)
        .await
        .map_err(redis_err)?;
    let Some(raw) = raw else { return Ok(None) };
    raw.parse::<i64>()
        .ok()
        .and_then(DateTime::from_timestamp_millis)
        .map(Some)
        .ok_or(LockError::Corrupt {
            job: job.into(),
            key,
            value: raw,
        })
}

const SET_LAST: &str = r"
local cur = tonumber(redis.call('GET', KEYS[1]) or '')
if cur == nil or tonumber(ARGV[1]) > cur then
  redis.call('SET', KEYS[1], ARGV[1])
  return 1
end
return 0
";

/// Records `at` as the job's last fire unless a later one is already stored (instances may
/// race); `true` when stored.
pub async fn set_last_fire<C: ConnectionLike + Send>(
    con: &mut C,
    prefix: &str,
    job: &str,
    at: DateTime<Utc>,
) -> Result<bool, LockError> {
    let n: i64 = Script::new(SET_LAST)
        .key(last_key(prefix, job))
        .arg(at.timestamp_millis())
        .invoke_async(con)
        .await
        .map_err(redis_err)?;
    Ok(n == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_readable_and_under_the_prefix() {
        let fire = DateTime::parse_from_rfc3339("2026-11-22T09:00:00+08:00")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            fire_key("relaywatch:", "morning", fire),
            "relaywatch:schedule:fire:morning:2026-11-22T01:00:00Z"
        );
        assert_eq!(last_key("rw:", "report"), "rw:schedule:last:report");
        assert!(instance_id().contains(':'));
    }
}
