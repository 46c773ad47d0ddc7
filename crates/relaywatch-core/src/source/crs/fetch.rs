//! One strand of reads (`Fetch`: a handle on the multiplexed connection and whether the relay
//! keeps index sets), the index sets the read paths list their keys from, and the warning kinds
//! several paths share. Rule: an index set of the wrong type is skipped with a warning and its
//! keys are found by SCAN; every command here only reads.

use redis::{Cmd, Value};

use crate::error::Result;
use crate::source::raw::Warnings;
use crate::source::redis_io::{self, Conn};

/// Warning kinds shared by several read paths (one line each, however many paths meet a key).
pub(super) const WRONG_INDEX: &str =
    "index set(s) of the wrong type (their keys found by SCAN instead)";
pub(super) const WRONG_KEY_DAILY: &str = "key daily usage hash(es) of the wrong type";
pub(super) const WRONG_API_KEY: &str = "API key record(s) of the wrong type";
pub(super) const WRONG_COST: &str = "cost value(s) of the wrong type";

/// A command on one key.
pub(super) fn cmd(name: &str, key: &str) -> Cmd {
    let mut c = redis::cmd(name);
    c.arg(key);
    c
}

/// One strand of reads: a handle on the multiplexed connection and what the relay keeps.
#[derive(Clone)]
pub(super) struct Fetch {
    pub(super) conn: Conn,
    pub(super) indexed: bool,
}

impl Fetch {
    /// Members of an index set, or None when the relay keeps no index sets and this one is
    /// missing or empty without an `:empty` marker, or when it is not a set: "fall back to SCAN".
    pub(super) async fn index_members(
        &mut self,
        index: &str,
        w: &mut Warnings,
    ) -> Result<Option<Vec<String>>> {
        Ok(self
            .index_members_many(&[index.to_string()], w)
            .await?
            .pop()
            .flatten())
    }

    /// `index_members` for several sets in one round trip. An index of the wrong type is
    /// skipped with a warning and its keys are found by SCAN, as on a relay without indexes.
    pub(super) async fn index_members_many(
        &mut self,
        indexes: &[String],
        w: &mut Warnings,
    ) -> Result<Vec<Option<Vec<String>>>> {
        let indexed = self.indexed;
        let cmds = indexes
            .iter()
            .flat_map(|i| [cmd("SMEMBERS", i), cmd("EXISTS", &format!("{i}:empty"))])
            .collect();
        let replies = self.conn.batch(cmds).await?;
        Ok(replies
            .chunks(2)
            .zip(indexes)
            .map(|(r, index)| {
                if redis_io::is_error(&r[0]) {
                    w.add(WRONG_INDEX, || index.clone());
                    return None;
                }
                let members = redis_io::strings(&r[0]);
                let marked_empty = matches!(r[1], Value::Int(n) if n > 0);
                if !members.is_empty() {
                    Some(members)
                } else if marked_empty || indexed {
                    Some(Vec::new())
                } else {
                    None
                }
            })
            .collect())
    }
}
