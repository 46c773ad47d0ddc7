//! The daily leaderboard message: the top keys by cost over one period, with totals over every
//! key. Rule: an empty board says so in its summary and carries no table.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use super::parts::{key_table, notice, section};
use crate::config::Lang;
use crate::model::KeyUsage;
use crate::render::clean;
use crate::render::format::{cost, count, tokens};
use crate::render::i18n::{message_texts, with_n};
use crate::render::message::{Fact, Level, Message, MessageKind};

/// The daily leaderboard: top keys by cost over one period, with totals over every key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Leaderboard {
    /// `2026-11-21`, or a rolling window's description.
    pub period: String,
    pub top: Vec<KeyUsage>,
    pub keys_with_usage: u64,
    pub total_requests: u64,
    pub total_tokens: u64,
    pub total_cost_usd: f64,
}

pub fn leaderboard(b: &Leaderboard, at: DateTime<FixedOffset>, lang: Lang) -> Message {
    let t = message_texts(lang);
    let empty = b.top.is_empty();
    Message {
        state: None,
        level: Level::Info,
        title: format!("{} · {}", t.leaderboard_title, clean::line(&b.period)),
        summary: Some(if empty {
            t.no_usage.to_string()
        } else {
            with_n(t.leaderboard_summary, b.top.len())
        }),
        facts: vec![
            Fact::new(t.keys_with_usage, count(b.keys_with_usage)),
            Fact::new(t.requests, count(b.total_requests)),
            Fact::new(t.tokens, tokens(b.total_tokens)),
            Fact::new(t.cost, cost(b.total_cost_usd)),
        ],
        sections: if empty {
            Vec::new()
        } else {
            vec![section(t.top_keys, key_table(t, &b.top), false)]
        },
        ..notice(
            MessageKind::Leaderboard,
            at,
            lang,
            serde_json::to_value(b).unwrap_or(serde_json::Value::Null),
        )
    }
}
