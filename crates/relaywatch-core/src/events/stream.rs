//! The Redis Stream consumer (the async edge of event intake) and the pipelined producer; rule:
//! one consumer per instance in one group, entries acked only when the caller says so (after
//! evaluation), entries left pending by a dead consumer reclaimed with XAUTOCLAIM after
//! `claim_idle`, and unreadable entries acked at once, counted per kind and logged once per kind.
//!
//! The consumer needs a connection of its own: `XREADGROUP … BLOCK` holds the connection's
//! queue at the server while it waits, so commands of other parts would wait behind it.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;
use redis::Value;

use super::parse::{self, BadKind};
use super::EventsError;
use crate::model::LogEvent;
use crate::source::mask_url;

/// Entries per read at most (the batch bound).
pub const MAX_COUNT: usize = 1_000;
/// Longest single blocking wait; the connection's reply timeout is set well above it.
pub const MAX_BLOCK: Duration = Duration::from_secs(30);
const REPLY_TIMEOUT: Duration = Duration::from_secs(60);

/// Where and how to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamConfig {
    /// The stream key (`relaywatch:events`).
    pub stream: String,
    /// The consumer group (`relaywatch`), created at the stream's start if missing.
    pub group: String,
    /// This instance's consumer name (`<hostname>-<pid>`).
    pub consumer: String,
    /// Entries per read (1–1000).
    pub count: usize,
    /// How long an entry must sit unacked in another consumer's pending list before this one
    /// takes it over (30 s). Also how often pending lists are scanned.
    pub claim_idle: Duration,
}

impl Default for StreamConfig {
    fn default() -> Self {
        StreamConfig {
            stream: "relaywatch:events".into(),
            group: "relaywatch".into(),
            consumer: default_consumer_name(),
            count: MAX_COUNT,
            claim_idle: Duration::from_secs(30),
        }
    }
}

/// `<hostname>-<pid>`: unique per running instance on a host.
pub fn default_consumer_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "relaywatch".into());
    format!("{host}-{}", std::process::id())
}

/// One read: events to evaluate (ack their IDs afterwards) and what was unreadable.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    /// Stream ID and event, in stream order; every event has `ts` set.
    pub events: Vec<(String, LogEvent)>,
    /// Unreadable entries of this read, per kind; they are already acked.
    pub bad: BTreeMap<BadKind, u64>,
    /// How many entries (readable or not) came from a dead consumer's pending list.
    pub reclaimed: usize,
}

impl Batch {
    /// The IDs to ack once the events are evaluated.
    pub fn ids(&self) -> Vec<&str> {
        self.events.iter().map(|(id, _)| id.as_str()).collect()
    }

    /// Nothing read at all (no events, no bad entries).
    pub fn is_empty(&self) -> bool {
        self.events.is_empty() && self.bad.is_empty()
    }
}

/// A consumer in a group; see the module doc.
pub struct StreamConsumer {
    con: MultiplexedConnection,
    cfg: StreamConfig,
    /// Where re-reading this consumer's own pending list stands (`None` once done).
    own_cursor: Option<String>,
    claim_cursor: String,
    last_claim_pass: Option<Instant>,
    bad_total: BTreeMap<BadKind, u64>,
    logged: BTreeSet<BadKind>,
}

/// Connect (and PING) within `timeout`; the error names the URL with its password masked.
pub async fn connect(url: &str, timeout: Duration) -> Result<MultiplexedConnection, EventsError> {
    crate::store::connect_pinged(url, timeout, REPLY_TIMEOUT)
        .await
        .map_err(|reason| EventsError::Connect {
            url: mask_url(url),
            reason,
        })
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::SimpleString(s) => Some(s.clone()),
        Value::VerbatimString { text, .. } => Some(text.clone()),
        Value::Int(i) => Some(i.to_string()),
        _ => None,
    }
}

/// One raw entry: its ID and its field/value replies, flat (`None` when the entry was deleted
/// while pending). Kept as replies so parsing borrows their bytes instead of copying them.
type RawEntry = (String, Option<Vec<Value>>);

fn entries(v: Value) -> Option<Vec<RawEntry>> {
    let list = match v {
        Value::Array(a) | Value::Set(a) => a,
        Value::Nil => return Some(Vec::new()),
        _ => return None,
    };
    let mut out = Vec::with_capacity(list.len());
    for e in list {
        let Value::Array(pair) = e else { return None };
        let mut pair = pair.into_iter();
        let id = text(&pair.next()?)?;
        let fields = match pair.next() {
            None | Some(Value::Nil) => None,
            Some(Value::Array(kv)) => Some(kv),
            Some(Value::Map(kv)) => Some(kv.into_iter().flat_map(|(k, v)| [k, v]).collect()),
            Some(_) => return None,
        };
        out.push((id, fields));
    }
    Some(out)
}

/// XREADGROUP's reply: RESP2 `[[stream, entries]]`, RESP3 `{stream: entries}`, or nil.
fn read_reply(v: Value) -> Option<Vec<RawEntry>> {
    match v {
        Value::Nil => Some(Vec::new()),
        Value::Array(streams) => {
            let mut out = Vec::new();
            for s in streams {
                let Value::Array(pair) = s else { return None };
                out.extend(entries(pair.into_iter().nth(1)?)?);
            }
            Some(out)
        }
        Value::Map(streams) => {
            let mut out = Vec::new();
            for (_, e) in streams {
                out.extend(entries(e)?);
            }
            Some(out)
        }
        _ => None,
    }
}

/// A field name or value as text, borrowed when it is valid UTF-8.
fn cow(v: &Value) -> Option<Cow<'_, str>> {
    match v {
        Value::BulkString(b) => Some(String::from_utf8_lossy(b)),
        Value::SimpleString(s) => Some(Cow::Borrowed(s.as_str())),
        Value::VerbatimString { text, .. } => Some(Cow::Borrowed(text.as_str())),
        Value::Int(i) => Some(Cow::Owned(i.to_string())),
        _ => None,
    }
}

impl StreamConsumer {
    /// A consumer on `con` (which it should not share; see the module doc). Its reply timeout is
    /// raised above the longest blocking read.
    pub fn new(mut con: MultiplexedConnection, mut cfg: StreamConfig) -> Self {
        con.set_response_timeout(REPLY_TIMEOUT);
        cfg.count = cfg.count.clamp(1, MAX_COUNT);
        StreamConsumer {
            con,
            cfg,
            own_cursor: Some("0".into()),
            claim_cursor: "0-0".into(),
            last_claim_pass: None,
            bad_total: BTreeMap::new(),
            logged: BTreeSet::new(),
        }
    }

    pub fn config(&self) -> &StreamConfig {
        &self.cfg
    }

    fn err(&self, e: redis::RedisError) -> EventsError {
        EventsError::Redis {
            stream: self.cfg.stream.clone(),
            reason: e.to_string(),
        }
    }

    fn reply_err(&self, command: &'static str) -> EventsError {
        EventsError::Reply {
            stream: self.cfg.stream.clone(),
            command,
        }
    }

    /// Creates the group (and the stream, MKSTREAM) reading from the stream's start, so events
    /// pushed before the first instance started are read too; an existing group is kept.
    pub async fn ensure_group(&self) -> Result<(), EventsError> {
        let mut con = self.con.clone();
        let r: redis::RedisResult<Value> = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(&self.cfg.stream)
            .arg(&self.cfg.group)
            .arg("0")
            .arg("MKSTREAM")
            .query_async(&mut con)
            .await;
        match r {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("BUSYGROUP") => Ok(()),
            Err(e) => Err(self.err(e)),
        }
    }

    /// The next batch: first what this consumer name still holds from an earlier run, then —
    /// every `claim_idle` — entries idle that long in other consumers' pending lists, else new
    /// entries, waiting up to `block` (at most 30 s and no later than the next pending-list
    /// pass; zero means do not wait) for some.
    pub async fn next_batch(&mut self, block: Duration) -> Result<Batch, EventsError> {
        if let Some(cursor) = self.own_cursor.clone() {
            let raw = self.read_group(&cursor, None).await?;
            match raw.last() {
                Some((last, _)) => {
                    self.own_cursor = Some(last.clone());
                    return self.finish(raw, 0).await;
                }
                None => self.own_cursor = None,
            }
        }
        let due = match self.last_claim_pass {
            None => true,
            Some(t) => t.elapsed() >= self.cfg.claim_idle,
        };
        if due {
            let b = self.reclaim().await?;
            if !b.is_empty() {
                return Ok(b);
            }
        }
        let raw = self.read_group(">", Some(self.block_for(block))).await?;
        let newest = raw.last().map(|(id, _)| id.as_str());
        crate::metrics::stream_lag(crate::metrics::stream_lag_seconds(
            newest,
            chrono::Utc::now().timestamp_millis().max(0) as u64,
        ));
        self.finish(raw, 0).await
    }

    /// How long a read for new entries may block: `block`, at most [`MAX_BLOCK`], and no later
    /// than the next pass over other consumers' pending lists (at least 50 ms, so a pass that
    /// is not over yet does not spin; zero stays zero).
    fn block_for(&self, block: Duration) -> Duration {
        let until_pass = match self.last_claim_pass {
            Some(t) => self.cfg.claim_idle.saturating_sub(t.elapsed()),
            None => Duration::ZERO,
        };
        let b = block.min(MAX_BLOCK);
        if b.is_zero() {
            return b;
        }
        b.min(until_pass.max(Duration::from_millis(50)))
    }

    /// One page of XAUTOCLAIM: entries idle at least `claim_idle` in any consumer's pending list
    /// become this consumer's. A full pass over the pending list restarts the claim timer.
    pub async fn reclaim(&mut self) -> Result<Batch, EventsError> {
        let mut con = self.con.clone();
        let v: Value = redis::cmd("XAUTOCLAIM")
            .arg(&self.cfg.stream)
            .arg(&self.cfg.group)
            .arg(&self.cfg.consumer)
            .arg(self.cfg.claim_idle.as_millis() as u64)
            .arg(&self.claim_cursor)
            .arg("COUNT")
            .arg(self.cfg.count)
            .query_async(&mut con)
            .await
            .map_err(|e| self.err(e))?;
        let Value::Array(parts) = v else {
            return Err(self.reply_err("XAUTOCLAIM"));
        };
        let mut parts = parts.into_iter();
        let next = parts
            .next()
            .as_ref()
            .and_then(text)
            .ok_or_else(|| self.reply_err("XAUTOCLAIM"))?;
        let raw = parts
            .next()
            .and_then(entries)
            .ok_or_else(|| self.reply_err("XAUTOCLAIM"))?;
        if next == "0-0" {
            self.last_claim_pass = Some(Instant::now());
        }
        self.claim_cursor = next;
        let n = raw.len();
        if n > 0 {
            tracing::info!(
                stream = %self.cfg.stream,
                consumer = %self.cfg.consumer,
                entries = n,
                "took over entries left pending by another consumer"
            );
        }
        self.finish(raw, n).await
    }

    async fn read_group(
        &mut self,
        id: &str,
        block: Option<Duration>,
    ) -> Result<Vec<RawEntry>, EventsError> {
        let mut c = redis::cmd("XREADGROUP");
        c.arg("GROUP")
            .arg(&self.cfg.group)
            .arg(&self.cfg.consumer)
            .arg("COUNT")
            .arg(self.cfg.count);
        if let Some(b) = block.filter(|b| !b.is_zero()) {
            c.arg("BLOCK").arg(b.as_millis().max(1) as u64);
        }
        c.arg("STREAMS").arg(&self.cfg.stream).arg(id);
        let mut con = self.con.clone();
        let v: Value = c.query_async(&mut con).await.map_err(|e| self.err(e))?;
        read_reply(v).ok_or_else(|| self.reply_err("XREADGROUP"))
    }

    /// Parse the entries; ack the unreadable ones (and ones deleted while pending) at once.
    async fn finish(&mut self, raw: Vec<RawEntry>, reclaimed: usize) -> Result<Batch, EventsError> {
        let mut batch = Batch {
            events: Vec::with_capacity(raw.len()),
            reclaimed,
            ..Batch::default()
        };
        let mut drop_ids = Vec::new();
        for (id, fields) in raw {
            let Some(fields) = fields else {
                // Trimmed or deleted while pending: nothing to evaluate, nothing to count.
                drop_ids.push(id);
                continue;
            };
            let pairs: Vec<(Cow<str>, Cow<str>)> = fields
                .chunks_exact(2)
                .filter_map(|kv| Some((cow(&kv[0])?, cow(&kv[1])?)))
                .collect();
            match parse::from_stream_entry(&id, &pairs) {
                Ok(ev) => batch.events.push((id, ev)),
                Err(e) => {
                    *batch.bad.entry(e.kind).or_default() += 1;
                    *self.bad_total.entry(e.kind).or_default() += 1;
                    if self.logged.insert(e.kind) {
                        tracing::warn!(
                            stream = %self.cfg.stream,
                            entry = %id,
                            error = %e,
                            "unreadable event entry acked and skipped (further ones of this kind are only counted)"
                        );
                    }
                    drop_ids.push(id);
                }
            }
        }
        if !drop_ids.is_empty() {
            let ids: Vec<&str> = drop_ids.iter().map(String::as_str).collect();
            self.ack(&ids).await?;
        }
        crate::metrics::events_read(batch.events.len(), batch.bad.values().sum());
        Ok(batch)
    }

    /// Acknowledge evaluated entries; returns how many were still pending.
    pub async fn ack(&self, ids: &[&str]) -> Result<u64, EventsError> {
        self.acker().ack(ids).await
    }

    /// A handle that acks for this consumer while it reads on: the caller may evaluate batch N
    /// while batch N+1 is being read, and ack N once it is evaluated.
    pub fn acker(&self) -> Acker {
        Acker {
            con: self.con.clone(),
            stream: self.cfg.stream.clone(),
            group: self.cfg.group.clone(),
        }
    }

    /// Unreadable entries seen by this consumer since it started, per kind.
    pub fn bad_counts(&self) -> &BTreeMap<BadKind, u64> {
        &self.bad_total
    }

    /// Entries delivered to the group's consumers and not yet acked (XPENDING's count).
    pub async fn pending(&self) -> Result<u64, EventsError> {
        let mut con = self.con.clone();
        let v: Value = redis::cmd("XPENDING")
            .arg(&self.cfg.stream)
            .arg(&self.cfg.group)
            .query_async(&mut con)
            .await
            .map_err(|e| self.err(e))?;
        match &v {
            Value::Array(parts) => match parts.first() {
                Some(Value::Int(n)) => Ok((*n).max(0) as u64),
                _ => Err(self.reply_err("XPENDING")),
            },
            _ => Err(self.reply_err("XPENDING")),
        }
    }
}

/// Acks for a [`StreamConsumer`] (see [`StreamConsumer::acker`]); cheap to clone.
#[derive(Clone)]
pub struct Acker {
    con: MultiplexedConnection,
    stream: String,
    group: String,
}

impl Acker {
    /// Acknowledge evaluated entries; returns how many were still pending.
    pub async fn ack(&self, ids: &[&str]) -> Result<u64, EventsError> {
        if ids.is_empty() {
            return Ok(0);
        }
        let mut c = redis::cmd("XACK");
        c.arg(&self.stream).arg(&self.group).arg(ids);
        let mut con = self.con.clone();
        c.query_async(&mut con)
            .await
            .map_err(|e| EventsError::Redis {
                stream: self.stream.clone(),
                reason: e.to_string(),
            })
    }
}

/// How [`push`] writes an event into an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// One field, `json`, holding the record (2 reply elements per entry instead of up to 26:
    /// several times cheaper to read back). The default.
    Json,
    /// One field per known LogRecord name, as other producers may write.
    Fields,
}

/// Append events with pipelined XADD (chunks of 1,000), each as one `json` field; with
/// `max_len`, each XADD trims the stream to about that many entries (`MAXLEN ~`). Returns the
/// new entries' IDs.
pub async fn push(
    con: &mut MultiplexedConnection,
    stream: &str,
    events: &[LogEvent],
    max_len: Option<u64>,
) -> Result<Vec<String>, EventsError> {
    push_as(con, stream, events, max_len, Encoding::Json).await
}

/// [`push`] with a choice of encoding.
pub async fn push_as(
    con: &mut MultiplexedConnection,
    stream: &str,
    events: &[LogEvent],
    max_len: Option<u64>,
    encoding: Encoding,
) -> Result<Vec<String>, EventsError> {
    let mut ids = Vec::with_capacity(events.len());
    for chunk in events.chunks(MAX_COUNT) {
        let mut pipe = redis::pipe();
        for ev in chunk {
            let c = pipe.cmd("XADD").arg(stream);
            if let Some(n) = max_len {
                c.arg("MAXLEN").arg("~").arg(n);
            }
            c.arg("*");
            match encoding {
                Encoding::Json => {
                    c.arg("json").arg(parse::to_json_line(ev));
                }
                Encoding::Fields => {
                    for (k, v) in parse::to_stream_fields(ev) {
                        c.arg(k).arg(v);
                    }
                }
            }
        }
        let got: Vec<String> = pipe
            .query_async(con)
            .await
            .map_err(|e| EventsError::Redis {
                stream: stream.into(),
                reason: e.to_string(),
            })?;
        ids.extend(got);
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    #[test]
    fn reads_resp2_and_resp3_replies() {
        let entry = Value::Array(vec![
            bulk("5-0"),
            Value::Array(vec![bulk("status_code"), bulk("500")]),
        ]);
        let deleted = Value::Array(vec![bulk("6-0"), Value::Nil]);
        let resp2 = Value::Array(vec![Value::Array(vec![
            bulk("s"),
            Value::Array(vec![entry.clone(), deleted]),
        ])]);
        let got = read_reply(resp2).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0, "5-0");
        assert_eq!(
            got[0].1.as_deref(),
            Some(&[bulk("status_code"), bulk("500")][..])
        );
        assert_eq!(got[1].1, None);
        let resp3 = Value::Map(vec![(bulk("s"), Value::Array(vec![entry]))]);
        assert_eq!(read_reply(resp3).unwrap().len(), 1);
        assert_eq!(read_reply(Value::Nil).unwrap().len(), 0);
        assert!(read_reply(Value::Int(3)).is_none());
    }

    #[test]
    fn consumer_name_is_host_and_pid() {
        let n = default_consumer_name();
        assert!(n.ends_with(&format!("-{}", std::process::id())), "{n}");
    }
}
