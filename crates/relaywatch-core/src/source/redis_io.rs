//! The thin async edge to Redis: connect with a timeout, SCAN with a large COUNT, and run many
//! commands as chunked pipelines whose per-command errors (WRONGTYPE) come back as values.
//! Errors name the URL with its password masked.

use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{Cmd, Value};

use super::mask_url;
use crate::error::{Error, Result};

/// Commands per pipeline round trip: large enough to keep Redis busy, small enough that one
/// chunk of replies is all the memory a reading strand holds.
const CHUNK: usize = 2_000;
/// SCAN's COUNT hint.
const SCAN_COUNT: usize = 10_000;
/// How long one reply may take once connected.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(30);

/// A connection that knows its (masked) URL for error messages.
#[derive(Clone)]
pub struct Conn {
    con: MultiplexedConnection,
    url: String,
    secret: Option<String>,
}

fn password_of(url: &str) -> Option<String> {
    let info = redis::IntoConnectionInfo::into_connection_info(url).ok()?;
    info.redis_settings().password().map(|p| p.to_string())
}

fn scrub(reason: String, secret: &Option<String>) -> String {
    match secret {
        Some(s) if !s.is_empty() => reason.replace(s.as_str(), "***"),
        _ => reason,
    }
}

/// Connect and PING within `timeout`.
pub async fn connect(url: &str, timeout: Duration) -> Result<Conn> {
    let masked = mask_url(url);
    let secret = password_of(url);
    let fail = |reason: String| Error::RedisConnect {
        url: masked.clone(),
        reason: scrub(reason, &secret),
    };
    let mut con = crate::store::connect_pinged(url, timeout, timeout)
        .await
        .map_err(fail)?;
    con.set_response_timeout(RESPONSE_TIMEOUT);
    Ok(Conn {
        con,
        url: masked,
        secret,
    })
}

impl Conn {
    /// The masked URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The underlying multiplexed connection (for code that speaks redis directly, e.g. rules).
    pub fn multiplexed(&self) -> MultiplexedConnection {
        self.con.clone()
    }

    fn err(&self, e: redis::RedisError) -> Error {
        Error::Redis {
            url: self.url.clone(),
            reason: scrub(e.to_string(), &self.secret),
        }
    }

    /// Every key matching `pattern`, by SCAN (never KEYS). Names that are not UTF-8 (no relay
    /// writes them, and no key relaywatch reads has one) are left out rather than failing the read.
    pub async fn scan(&mut self, pattern: &str) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let mut cursor: u64 = 0;
        loop {
            let (next, keys): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(pattern)
                .arg("COUNT")
                .arg(SCAN_COUNT)
                .query_async(&mut self.con)
                .await
                .map_err(|e| self.err(e))?;
            out.extend(keys.into_iter().filter_map(|k| String::from_utf8(k).ok()));
            if next == 0 {
                break;
            }
            cursor = next;
        }
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    /// Run the commands as pipelines of `CHUNK`; one reply per command, errors as values.
    pub async fn batch(&mut self, cmds: Vec<Cmd>) -> Result<Vec<Value>> {
        let mut out = Vec::with_capacity(cmds.len());
        for chunk in cmds.chunks(CHUNK) {
            let mut pipe = redis::pipe();
            pipe.ignore_errors();
            for c in chunk {
                pipe.add_command(c.clone());
            }
            let replies: Vec<Value> = pipe
                .query_async(&mut self.con)
                .await
                .map_err(|e| self.err(e))?;
            out.extend(replies);
        }
        Ok(out)
    }

    /// Run the commands in pipelines of `CHUNK`, handing each reply to `f` with its index as
    /// the chunk arrives; replies are not kept, so memory stays flat however many keys there are.
    pub async fn each<I, F>(&mut self, cmds: I, mut f: F) -> Result<()>
    where
        I: IntoIterator<Item = Cmd>,
        F: FnMut(usize, Value),
    {
        let mut cmds = cmds.into_iter();
        let mut index = 0;
        loop {
            let mut pipe = redis::pipe();
            pipe.ignore_errors();
            let mut n = 0;
            for c in cmds.by_ref().take(CHUNK) {
                pipe.add_command(c);
                n += 1;
            }
            if n == 0 {
                return Ok(());
            }
            let replies: Vec<Value> = pipe
                .query_async(&mut self.con)
                .await
                .map_err(|e| self.err(e))?;
            for v in replies {
                f(index, v);
                index += 1;
            }
        }
    }

    /// One command.
    pub async fn one(&mut self, cmd: Cmd) -> Result<Value> {
        cmd.query_async(&mut self.con)
            .await
            .map_err(|e| self.err(e))
    }
}

/// Text of a bulk or simple string reply.
pub fn text(v: &Value) -> Option<String> {
    match v {
        Value::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::SimpleString(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        Value::Double(d) => Some(d.to_string()),
        _ => None,
    }
}

/// A reply that failed on the server (WRONGTYPE and the like).
pub fn is_error(v: &Value) -> bool {
    matches!(v, Value::ServerError(_))
}

/// The members of an array or set reply, as strings.
pub fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::Array(items) | Value::Set(items) => items.iter().filter_map(text).collect(),
        _ => Vec::new(),
    }
}

/// The (field, value) pairs of an HGETALL reply (RESP2 array or RESP3 map).
pub fn pairs(v: &Value) -> Vec<(String, String)> {
    match v {
        Value::Map(m) => m
            .iter()
            .filter_map(|(k, v)| Some((text(k)?, text(v)?)))
            .collect(),
        Value::Array(items) => items
            .chunks_exact(2)
            .filter_map(|kv| Some((text(&kv[0])?, text(&kv[1])?)))
            .collect(),
        _ => Vec::new(),
    }
}

/// An HMGET reply as optional strings, one per requested field.
pub fn optionals(v: &Value) -> Vec<Option<String>> {
    match v {
        Value::Array(items) => items.iter().map(text).collect(),
        _ => Vec::new(),
    }
}
