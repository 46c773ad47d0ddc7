//! Event intake: log events (EZ-API `LogRecord` names) from a Redis Stream read through a
//! consumer group, and from NDJSON; rule: an entry is acked only after the caller evaluated it,
//! and an unreadable one is acked, counted and logged once per kind — never retried forever.

pub mod parse;
pub mod stream;
pub mod table;
mod wire;

pub use parse::{BadKind, ParseError};
pub use stream::{push, push_as, Batch, Encoding, StreamConfig, StreamConsumer};

/// Errors of the event intake.
#[derive(Debug, thiserror::Error)]
pub enum EventsError {
    #[error("cannot connect to the events Redis at {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error("events stream `{stream}`: Redis error: {reason}")]
    Redis { stream: String, reason: String },
    #[error("events stream `{stream}`: unexpected reply to {command}")]
    Reply {
        stream: String,
        command: &'static str,
    },
}
