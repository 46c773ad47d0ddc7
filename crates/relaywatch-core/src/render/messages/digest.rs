//! The quiet-hours digest: the alerts a channel held during its quiet hours, in one message when
//! they end. Rule: oldest first, and the digest's level is the most urgent of theirs.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use super::parts::{col, notice, section, table};
use crate::config::Lang;
use crate::render::clean;
use crate::render::i18n::{message_texts, with_n};
use crate::render::message::{Align, Level, Message, MessageKind};

/// One alert held during quiet hours, already titled in the digest's language.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DigestItem {
    pub at: DateTime<FixedOffset>,
    pub level: Level,
    pub title: String,
}

/// Alerts held during a channel's quiet hours, sent as one message when they end, oldest first;
/// its level is the most urgent of theirs.
pub fn digest(items: &[DigestItem], at: DateTime<FixedOffset>, lang: Lang) -> Message {
    let t = message_texts(lang);
    let rank = |l: Level| match l {
        Level::Critical => 3,
        Level::Warning => 2,
        Level::Info => 1,
        Level::Resolved => 0,
    };
    let level = items
        .iter()
        .map(|i| i.level)
        .max_by_key(|l| rank(*l))
        .unwrap_or(Level::Info);
    let mut sorted: Vec<&DigestItem> = items.iter().collect();
    sorted.sort_by_key(|i| i.at);
    let rows = sorted
        .iter()
        .map(|i| {
            vec![
                i.at.format("%m-%d %H:%M").to_string(),
                format!("{} {}", i.level.emoji(), clean::line(&i.title)),
            ]
        })
        .collect();
    Message {
        state: None,
        level,
        title: t.digest_title.to_string(),
        summary: Some(with_n(t.digest_summary, items.len())),
        facts: Vec::new(),
        sections: vec![section(
            "",
            table(
                vec![col(t.time, Align::Left), col(t.alert, Align::Left)],
                rows,
            ),
            false,
        )],
        ..notice(
            MessageKind::Digest,
            at,
            lang,
            serde_json::json!({ "items": items }),
        )
    }
}
