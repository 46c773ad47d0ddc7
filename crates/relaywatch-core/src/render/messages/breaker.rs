//! The circuit-breaker alert: a breaker opening (with its expected recovery and last error) or
//! closing again. Rule: the recovery time and the last error are shown only while it is open.

use chrono::{DateTime, FixedOffset};

use super::parts::{alert_level, notice, section, truncate_chars, ERROR_TEXT_MAX};
use crate::config::Lang;
pub use crate::model::BreakerAlert;
use crate::render::clean;
use crate::render::format::count;
use crate::render::i18n::message_texts;
use crate::render::message::{AlertState, Fact, Message, MessageKind, Section};

pub fn breaker(
    b: &BreakerAlert,
    state: AlertState,
    at: DateTime<FixedOffset>,
    lang: Lang,
) -> Message {
    let t = message_texts(lang);
    let mut facts = vec![Fact::new(t.failures, count(b.failures))];
    if let (AlertState::Firing, Some(r)) = (state, b.expected_recovery) {
        facts.push(Fact::new(
            t.expected_recovery,
            r.format("%Y-%m-%d %H:%M %:z").to_string(),
        ));
    }
    let sections = match (&b.last_error, state) {
        (Some(e), AlertState::Firing) => vec![Section {
            text: Some(truncate_chars(e, ERROR_TEXT_MAX)),
            ..section(t.last_error, None, true)
        }],
        _ => Vec::new(),
    };
    let who = clean::name(b.name.as_deref().unwrap_or(&b.subject));
    Message {
        state: Some(state),
        level: alert_level(state),
        title: match state {
            AlertState::Firing => format!("{} · {who}", t.breaker_open_title),
            AlertState::Resolved => format!("{} · {who}", t.breaker_closed_title),
        },
        summary: None,
        facts,
        sections,
        ..notice(
            MessageKind::Breaker,
            at,
            lang,
            serde_json::to_value(b).unwrap_or(serde_json::Value::Null),
        )
    }
}
