//! A table tail's place in relaywatch's Redis: its lease, its position and the error-rate rule's
//! small per-subject state; rule: one instance holds the lease at a time (renewed while it
//! reads, taken over when it lapses), and the position and state are saved together in one
//! atomic step that only succeeds when the position is still the one this instance read — so
//! two instances never both move one tail, and a restart resumes exactly where the last save
//! left off.
//!
//! Keys (prefix `p`, tail name `n`, e.g. `ezapi:log_records`): `{p}tail:{n}:lease` (instance,
//! with a TTL), `{p}tail:{n}:pos` (JSON `{id, at_ms}`), `{p}tail:{n}:memo` (JSON, subject →
//! state).

use std::collections::BTreeMap;
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::Script;

use crate::events::table::Position;
use crate::rules::error_rate::SubjectMemo;

/// Errors of the tail's state.
#[derive(Debug, thiserror::Error)]
pub enum TailStoreError {
    #[error("tail state: Redis error: {0}")]
    Redis(String),
    #[error("tail state: unreadable {0} (delete the key to start the tail at the table's end)")]
    Corrupt(&'static str),
}

fn redis_err(e: redis::RedisError) -> TailStoreError {
    TailStoreError::Redis(crate::secrets::redact(&e.to_string()))
}

/// Takes or renews the lease. ARGV: instance, ttl ms. 1 when held by `instance` now.
const LEASE: &str = r#"
local cur = redis.call('GET', KEYS[1])
if cur == false or cur == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"#;

/// Saves position and memo if the position is still `expected` ('' for none). KEYS: pos,
/// memo. ARGV: expected, new pos, memo JSON.
const SAVE: &str = r#"
local cur = redis.call('GET', KEYS[1]) or ''
if cur ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('SET', KEYS[2], ARGV[3])
return 1
"#;

/// One tail's lease, position and rule state.
#[derive(Clone)]
pub struct TailStore {
    con: MultiplexedConnection,
    keys: [String; 3],
    instance: String,
}

/// What a tail resumes from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TailState {
    pub position: Option<Position>,
    pub memos: BTreeMap<String, SubjectMemo>,
}

impl TailStore {
    pub fn new(con: MultiplexedConnection, prefix: &str, name: &str, instance: &str) -> Self {
        let k = |s: &str| format!("{prefix}tail:{name}:{s}");
        TailStore {
            con,
            keys: [k("lease"), k("pos"), k("memo")],
            instance: instance.to_string(),
        }
    }

    /// Takes or renews the lease for `ttl`; false while another instance holds it.
    pub async fn lease(&self, ttl: Duration) -> Result<bool, TailStoreError> {
        let mut con = self.con.clone();
        let held: i64 = Script::new(LEASE)
            .key(&self.keys[0])
            .arg(&self.instance)
            .arg(ttl.as_millis() as u64)
            .invoke_async(&mut con)
            .await
            .map_err(redis_err)?;
        Ok(held == 1)
    }

    /// Lets the lease go (on a clean stop), if this instance holds it.
    pub async fn release(&self) {
        let mut con = self.con.clone();
        let _: Result<i64, _> = Script::new(
            "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
        )
        .key(&self.keys[0])
        .arg(&self.instance)
        .invoke_async(&mut con)
        .await;
    }

    /// The saved position and rule state (both absent before the first save).
    pub async fn load(&self) -> Result<TailState, TailStoreError> {
        let mut con = self.con.clone();
        let (pos, memo): (Option<String>, Option<String>) = redis::cmd("MGET")
            .arg(&self.keys[1])
            .arg(&self.keys[2])
            .query_async(&mut con)
            .await
            .map_err(redis_err)?;
        let position = match pos {
            Some(p) => {
                Some(serde_json::from_str(&p).map_err(|_| TailStoreError::Corrupt("position"))?)
            }
            None => None,
        };
        let memos = match memo {
            Some(m) => {
                serde_json::from_str(&m).map_err(|_| TailStoreError::Corrupt("rule state"))?
            }
            None => BTreeMap::new(),
        };
        Ok(TailState { position, memos })
    }

    /// Saves `next` and `memos` if the position is still `expected`; false when another
    /// instance moved the tail meanwhile (the caller reloads).
    pub async fn save(
        &self,
        expected: Option<Position>,
        next: Position,
        memos: &BTreeMap<String, SubjectMemo>,
    ) -> Result<bool, TailStoreError> {
        let enc = |p: &Position| serde_json::to_string(p).unwrap_or_default();
        let mut con = self.con.clone();
        let done: i64 = Script::new(SAVE)
            .key(&self.keys[1])
            .key(&self.keys[2])
            .arg(expected.as_ref().map(enc).unwrap_or_default())
            .arg(enc(&next))
            .arg(serde_json::to_string(memos).unwrap_or_else(|_| "{}".into()))
            .invoke_async(&mut con)
            .await
            .map_err(redis_err)?;
        Ok(done == 1)
    }
}
