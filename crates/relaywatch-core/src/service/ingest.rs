//! Intake of NDJSON LogEvents (EZ-API LogRecord field names) for `POST /ingest` and `relaywatch
//! ingest`: parse each line, push the good ones to the events stream in pipelined batches, and
//! name every bad line. Rule: parsing is pure; a bad line is reported, never pushed.

use std::time::Duration;

use serde::Serialize;

use super::error::ServiceError;
use crate::config::Settings;
use crate::events::{parse, stream};
use crate::model::LogEvent;

/// A line that could not be read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BadLine {
    /// 1-based.
    pub line: usize,
    pub reason: String,
}

/// What an ingest did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ingested {
    pub pushed: usize,
    pub bad: Vec<BadLine>,
    pub stream: String,
}

/// Bad lines listed one by one; the rest only counted in `bad_total`.
pub const SHOW_BAD: usize = 50;

/// The events of `body` and its bad lines (pure; blank lines skipped).
pub fn parse_ndjson(body: &str) -> (Vec<LogEvent>, Vec<BadLine>) {
    let mut good = Vec::new();
    let mut bad = Vec::new();
    for (i, line) in body.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match parse::from_json_line(line) {
            Ok(ev) => good.push(ev),
            Err(e) => bad.push(BadLine {
                line: i + 1,
                reason: crate::secrets::redact(&e.to_string()),
            }),
        }
    }
    (good, bad)
}

/// The Redis events go to: `[events]`, else `[state]`, else `[source]` redis_url.
pub fn events_redis_url(s: &Settings) -> Option<String> {
    s.events
        .redis_url
        .clone()
        .or_else(|| s.state.redis_url.clone())
        .or_else(|| s.source.redis_url.clone())
}

/// One NDJSON line as an event (pure), or why it is not one.
pub fn parse_line(line: &str) -> Result<LogEvent, String> {
    parse::from_json_line(line).map_err(|e| e.to_string())
}

/// A connection that pushes batches of events onto one stream (capped at `[events] max_len`).
pub struct EventPusher {
    con: redis::aio::MultiplexedConnection,
    stream: String,
    max_len: Option<u64>,
}

impl EventPusher {
    /// Connects to `url` for `stream`.
    pub async fn connect(
        s: &Settings,
        url: &str,
        stream: &str,
    ) -> Result<EventPusher, crate::events::EventsError> {
        let timeout = Duration::from_millis(s.source.connect_timeout_ms.max(100));
        Ok(EventPusher {
            con: stream::connect(url, timeout).await?,
            stream: stream.to_string(),
            max_len: s.events.max_len,
        })
    }

    /// Pushes `events`; returns how many were added.
    pub async fn push(&mut self, events: &[LogEvent]) -> Result<usize, crate::events::EventsError> {
        Ok(
            stream::push(&mut self.con, &self.stream, events, self.max_len)
                .await?
                .len(),
        )
    }
}

/// Parses `body` and pushes its events to `[events] stream` on the events Redis (`[events]`,
/// else `[state]`, else `[source]` redis_url).
pub async fn ingest(s: &Settings, body: &str) -> Result<Ingested, ServiceError> {
    let (events, mut bad) = parse_ndjson(body);
    let url = events_redis_url(s).ok_or_else(|| {
        ServiceError::State(
            "no Redis to push events to: set [events] redis_url (or [state] / [source] redis_url)"
                .into(),
        )
    })?;
    let pushed = if events.is_empty() {
        0
    } else {
        let mut con = stream::connect(
            &url,
            Duration::from_millis(s.source.connect_timeout_ms.max(100)),
        )
        .await
        .map_err(|e| ServiceError::State(crate::secrets::redact(&e.to_string())))?;
        stream::push(&mut con, &s.events.stream, &events, s.events.max_len)
            .await
            .map_err(|e| ServiceError::State(crate::secrets::redact(&e.to_string())))?
            .len()
    };
    bad.truncate(SHOW_BAD);
    Ok(Ingested {
        pushed,
        bad,
        stream: s.events.stream.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_lines_parse_and_bad_ones_are_numbered() {
        let body = "{\"provider_id\":3,\"status_code\":500,\"ts\":1763794800000}\n\nnot json\n";
        let (good, bad) = parse_ndjson(body);
        assert_eq!(good.len(), 1);
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].line, 3);
    }
}
