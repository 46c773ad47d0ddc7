//! The quota rule's state in relaywatch's Redis: the levels announced so far and one claim per
//! announcement. Rule: one evaluation's claims are taken together in one Lua step (`SET NX EX`
//! each), so however many instances evaluate at once each item is sent by exactly one; which
//! items a won claim keeps is the pure `rules::quota::keep_won`.
//!
//! Keys (prefix `p`): `{p}quota:state` (the announced levels, JSON) and
//! `{p}quota:claim:<hash>` (one per announcement, kept [`CLAIM_TTL_SECONDS`]).

use crate::error::Result;
use crate::model::Alert;
use crate::rules::quota::{claims, keep_won, QuotaState};
use crate::source::redis_io::{self, Conn};

/// Claims each key at most once (`SET NX EX`) and answers 1 for a claim won, 0 for one another
/// instance already holds; one script, so one evaluation's claims are taken all together.
const CLAIM_SCRIPT: &str = r#"
local won = {}
for i, k in ipairs(KEYS) do
  if redis.call('SET', k, '1', 'NX', 'EX', ARGV[1]) then won[i] = 1 else won[i] = 0 end
end
return won
"#;

fn cmd(name: &str, key: &str) -> redis::Cmd {
    let mut c = redis::cmd(name);
    c.arg(key);
    c
}

/// How long an announcement's claim is kept: longer than any period that rolls over.
pub const CLAIM_TTL_SECONDS: u64 = 40 * 86_400;

/// The quota rule's state in Redis (see the module doc for its keys).
pub struct QuotaStore {
    conn: Conn,
    prefix: String,
}

impl QuotaStore {
    pub fn new(conn: Conn, prefix: impl Into<String>) -> Self {
        QuotaStore {
            conn,
            prefix: prefix.into(),
        }
    }

    fn state_key(&self) -> String {
        format!("{}quota:state", self.prefix)
    }

    /// The announced levels; empty when none are stored (or the stored value is unreadable).
    pub async fn load(&mut self) -> Result<QuotaState> {
        let v = self.conn.one(cmd("GET", &self.state_key())).await?;
        Ok(redis_io::text(&v)
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default())
    }

    /// Claim every item of `alerts`, keep only the items this instance won (dropping alerts
    /// left empty), then store `next`. Returns what to send.
    pub async fn commit(&mut self, next: &QuotaState, alerts: Vec<Alert>) -> Result<Vec<Alert>> {
        let keys: Vec<String> = claims(&alerts)
            .iter()
            .map(|h| format!("{}quota:claim:{h}", self.prefix))
            .collect();
        let won: Vec<bool> = if keys.is_empty() {
            Vec::new()
        } else {
            let mut c = redis::cmd("EVAL");
            c.arg(CLAIM_SCRIPT).arg(keys.len());
            for k in &keys {
                c.arg(k);
            }
            c.arg(CLAIM_TTL_SECONDS);
            match self.conn.one(c).await? {
                redis::Value::Array(v) => v
                    .iter()
                    .map(|x| matches!(x, redis::Value::Int(1)))
                    .collect(),
                _ => vec![false; keys.len()],
            }
        };
        let out = keep_won(alerts, &won);
        let json = serde_json::to_string(next).unwrap_or_else(|_| "{}".into());
        let mut c = cmd("SET", &self.state_key());
        c.arg(json);
        self.conn.one(c).await?;
        Ok(out)
    }
}
