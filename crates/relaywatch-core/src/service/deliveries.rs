//! Delivery history and "Retry now": each channel's recent attempts and the dead letters from
//! the outbox, and re-queuing one dead item for immediate delivery. Rule: a re-queue is one Lua
//! script, so it happens only to an item that is still dead (never twice, never a live one).

use std::time::Duration;

use redis::Script;

use super::error::ServiceError;
use super::views::{DeadView, History, HistoryRow};
use crate::config::Settings;
use crate::delivery::drain::outbox_config;
use crate::delivery::history::newest_first;
use crate::delivery::outbox::Outbox;
use crate::store::state_redis_url;

/// KEYS: item, dead, due. ARGV: id, now_ms. Moves a dead item back to due with its attempts
/// reset and its expiry removed; 0 when the item is not dead (or gone).
const REQUEUE: &str = r#"
if redis.call('HGET', KEYS[1], 'state') ~= 'dead' then return 0 end
redis.call('LREM', KEYS[2], 0, ARGV[1])
redis.call('PERSIST', KEYS[1])
redis.call('HSET', KEYS[1], 'state', 'due', 'attempts', 0, 'next_at_ms', ARGV[2])
redis.call('HDEL', KEYS[1], 'token')
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
return 1
"#;

/// The outbox on the state Redis.
pub async fn outbox(s: &Settings) -> Result<Outbox, ServiceError> {
    let url = state_redis_url(s).ok_or_else(|| {
        ServiceError::State(
            "delivery history lives in the state Redis, and none is configured: set [state] redis_url (or [source] redis_url)".into(),
        )
    })?;
    Outbox::connect(
        url,
        Duration::from_millis(s.source.connect_timeout_ms),
        outbox_config(s),
    )
    .await
    .map_err(|e| ServiceError::State(crate::secrets::redact(&e.to_string())))
}

fn state_err(e: impl std::fmt::Display) -> ServiceError {
    ServiceError::State(crate::secrets::redact(&e.to_string()))
}

/// Attempts of `channel` (every configured channel when `None`), newest first, at most `limit`
/// per channel; plus the dead letters of those channels.
pub async fn history(
    s: &Settings,
    channel: Option<&str>,
    limit: usize,
) -> Result<History, ServiceError> {
    let ob = outbox(s).await?;
    let names: Vec<String> = match channel {
        Some(c) => vec![c.to_string()],
        None => s.channels.iter().map(|c| c.name.clone()).collect(),
    };
    let mut records = Vec::new();
    for name in &names {
        let ok = ob.history_ok(name).await.map_err(state_err)?;
        let failed = ob.history_failed(name).await.map_err(state_err)?;
        records.extend(
            newest_first(ok, failed)
                .into_iter()
                .take(limit)
                .map(|record| HistoryRow {
                    channel: name.clone(),
                    record,
                }),
        );
    }
    records.sort_by_key(|r| std::cmp::Reverse(r.record.time_ms));
    let dead = ob
        .dead()
        .await
        .map_err(state_err)?
        .into_iter()
        .filter(|d| names.contains(&d.channel))
        .map(|d| DeadView {
            time_ms: records
                .iter()
                .filter(|r| r.record.id == d.id && r.channel == d.channel)
                .map(|r| r.record.time_ms)
                .max(),
            id: d.id,
            channel: d.channel,
            kind: d.kind,
            attempts: d.attempts,
            reason: d.last_error.map(|e| crate::secrets::redact(&e)),
        })
        .collect();
    Ok(History { records, dead })
}

/// Re-queues dead item `id`, due at `now_ms`.
pub async fn retry_dead(s: &Settings, id: u64, now_ms: u64) -> Result<(), ServiceError> {
    let ob = outbox(s).await?;
    let p = format!("{}outbox:", ob.config().prefix);
    let mut con = ob.connection().clone();
    let n: i64 = Script::new(REQUEUE)
        .key(format!("{p}item:{id}"))
        .key(format!("{p}dead"))
        .key(format!("{p}due"))
        .arg(id)
        .arg(now_ms)
        .invoke_async(&mut con)
        .await
        .map_err(state_err)?;
    if n == 1 {
        Ok(())
    } else {
        Err(ServiceError::NotFound(format!(
            "no dead-lettered delivery with id {id}: it was delivered, re-queued already or expired; reload the history"
        )))
    }
}

/// How many delivered and failed attempts history keeps per channel.
pub const KEPT_PER_CHANNEL: (usize, usize) = (
    crate::delivery::history::OK_CAP,
    crate::delivery::history::FAILED_CAP,
);

/// One channel's kept history, for `relaywatch history`.
#[derive(Debug, Clone, PartialEq)]
pub struct KeptHistory {
    pub channel: String,
    /// Delivered attempts kept (0 when only failures were asked for).
    pub delivered_kept: usize,
    pub failed_kept: usize,
    /// The newest records, at most `limit`.
    pub records: Vec<super::views::Record>,
}

/// Each of `names`' kept attempts, newest first, at most `limit` a channel; failed ones only
/// when `failed_only`.
pub async fn kept(
    s: &Settings,
    names: &[String],
    failed_only: bool,
    limit: usize,
) -> Result<Vec<KeptHistory>, ServiceError> {
    let ob = outbox(s).await?;
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let failed = ob.history_failed(name).await.map_err(state_err)?;
        let delivered = if failed_only {
            Vec::new()
        } else {
            ob.history_ok(name).await.map_err(state_err)?
        };
        let (delivered_kept, failed_kept) = (delivered.len(), failed.len());
        let mut records = newest_first(delivered, failed);
        records.truncate(limit);
        out.push(KeptHistory {
            channel: name.clone(),
            delivered_kept,
            failed_kept,
            records,
        });
    }
    Ok(out)
}
