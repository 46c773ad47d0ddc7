//! Enqueue, claim and the transitions that end a claim (complete, defer, release, extend), run
//! as the Lua scripts of `scripts`; rule: a transition applies only while the caller still holds
//! the claim's fencing token, otherwise it fails with `LeaseLost`.

use redis::Value;

use super::{
    plan, redis_err, Claim, DeliveryResult, Enqueued, Item, NewItem, Outbox, OutboxError,
    Transition,
};
use crate::delivery::history;

impl Outbox {
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
