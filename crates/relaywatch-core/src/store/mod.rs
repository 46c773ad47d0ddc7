//! relaywatch's own Redis, the state store: which URL it is (`[state] redis_url`, else the
//! source's) and the one connect-and-PING that every Redis user (state, outbox, event stream,
//! relay reader) goes through; and the rules' state: `alert_state` (records, silences, pause,
//! digests), `quota` (announced levels and claims), `error_rate` and `breaker` (the shared
//! windows and breakers, decided and applied atomically in Lua), `pending` (what changes with
//! time alone), `tail` (a table tail's place). Rule: a connect either answers PING within its
//! timeout or fails with the reason only; callers add the URL with its password masked. The
//! rules' decisions stay pure in `rules/`; a module here reads and writes keys, and where many
//! instances race it applies a decision in one Lua step only if the state is still the one
//! decided on.

pub mod alert_state;
pub mod breaker;
pub mod error_rate;
pub mod pending;
pub mod quota;
pub mod tail;

use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::AsyncConnectionConfig;

use crate::config::Settings;

/// Errors of the rules' state kept in Redis (the error-rate and breaker forms shared by several
/// instances).
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

/// The Redis relaywatch keeps its own state in: `[state] redis_url`, else the source's
/// `redis_url`; `None` in demo mode (no Redis configured), where no history is kept.
pub fn state_redis_url(s: &Settings) -> Option<&str> {
    s.state
        .redis_url
        .as_deref()
        .or(s.source.redis_url.as_deref())
        .filter(|u| !u.trim().is_empty())
}

/// Opens a multiplexed connection and PINGs it, all within `timeout`; each reply afterwards may
/// take `reply_timeout`. The error is the reason only (callers add the masked URL).
pub async fn connect_pinged(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_redis_defaults_to_the_source() {
        let mut s = Settings::default();
        assert_eq!(state_redis_url(&s), None);
        s.source.redis_url = Some("redis://127.0.0.1:1/0".into());
        assert_eq!(state_redis_url(&s), Some("redis://127.0.0.1:1/0"));
        s.state.redis_url = Some("redis://127.0.0.1:2/1".into());
        assert_eq!(state_redis_url(&s), Some("redis://127.0.0.1:2/1"));
        s.state.redis_url = Some("  ".into());
        s.source.redis_url = None;
        assert_eq!(state_redis_url(&s), None);
    }
}
