//! Read-only views of the outbox: queue sizes, the earliest time a sender is needed, dead
//! letters, item states and the channels' history; rule: nothing here changes an item.

use super::{redis_err, Outbox, OutboxError};
use crate::delivery::history::{self, Record};

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

impl Outbox {
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
