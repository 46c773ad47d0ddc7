//! Notices about relaywatch itself: a message that could not be delivered, and the test message.
//! Rule: the channel name is cleaned and the failure reason redacted of secrets.

use chrono::{DateTime, FixedOffset};

use super::parts::notice;
use crate::config::Lang;
use crate::render::clean;
use crate::render::i18n::{message_texts, with_n};
use crate::render::message::{Fact, Level, Message, MessageKind};

/// A notice that a message could not be delivered to a channel (the reason already redacted).
pub fn delivery_failure(
    channel: &str,
    kind: MessageKind,
    attempts: u32,
    reason: &str,
    at: DateTime<FixedOffset>,
    lang: Lang,
) -> Message {
    let t = message_texts(lang);
    let channel = &clean::name(channel);
    Message {
        state: None,
        level: Level::Warning,
        title: format!("{} · {channel}", t.delivery_failure_title),
        summary: Some(clean::text(&crate::secrets::redact(reason))),
        facts: vec![
            Fact::new(t.channel, channel),
            Fact::new(t.message_kind, kind.as_str()),
            Fact::new(t.attempts, attempts.to_string()),
        ],
        sections: Vec::new(),
        ..notice(
            MessageKind::DeliveryFailure,
            at,
            lang,
            serde_json::json!({ "channel": channel, "message_kind": kind.as_str(), "attempts": attempts }),
        )
    }
}

/// The test message a user sends from settings or `relaywatch test`.
pub fn test_message(channel: &str, at: DateTime<FixedOffset>, lang: Lang) -> Message {
    let t = message_texts(lang);
    let channel = &clean::name(channel);
    Message {
        state: None,
        level: Level::Info,
        title: t.test_title.to_string(),
        summary: Some(with_n(t.test_summary, channel)),
        facts: vec![Fact::new(t.channel, channel)],
        sections: Vec::new(),
        ..notice(
            MessageKind::Test,
            at,
            lang,
            serde_json::json!({ "channel": channel }),
        )
    }
}
