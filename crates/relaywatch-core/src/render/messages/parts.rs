//! The building blocks every message builder shares: table columns, tables, sections, the
//! notice skeleton, alert levels, the key table and cleaned, cut error texts. Rule: a table with
//! no rows is no table (`None`), and every string in `data` is cleaned of hidden characters.

use chrono::{DateTime, FixedOffset};

use crate::config::Lang;
use crate::model::KeyUsage;
use crate::render::clean;
use crate::render::format::{cost, count, tokens};
use crate::render::i18n::MessageTexts;
use crate::render::message::{
    AlertState, Align, Column, Level, Message, MessageKind, Section, Table,
};

/// Longest error text carried in a message.
pub const ERROR_TEXT_MAX: usize = 200;

pub(super) fn col(header: &str, align: Align) -> Column {
    Column {
        header: header.to_string(),
        align,
    }
}

pub(super) fn table(columns: Vec<Column>, rows: Vec<Vec<String>>) -> Option<Table> {
    (!rows.is_empty()).then_some(Table { columns, rows })
}

pub(super) fn section(title: impl Into<String>, table: Option<Table>, optional: bool) -> Section {
    Section {
        title: title.into(),
        facts: Vec::new(),
        table,
        text: None,
        optional,
    }
}

/// The parts every notice shares: no charts, relaywatch's footer, the moment and language; the
/// builder sets the rest.
pub(super) fn notice(
    kind: MessageKind,
    at: DateTime<FixedOffset>,
    lang: Lang,
    mut data: serde_json::Value,
) -> Message {
    clean::json_strings(&mut data);
    Message {
        kind,
        state: None,
        level: Level::Info,
        title: String::new(),
        summary: None,
        facts: Vec::new(),
        sections: Vec::new(),
        charts: Vec::new(),
        footer: Some("relaywatch".into()),
        timestamp: at,
        lang,
        data,
    }
}

/// An alert's level: critical while firing, resolved after.
pub(super) fn alert_level(state: AlertState) -> Level {
    match state {
        AlertState::Firing => Level::Critical,
        AlertState::Resolved => Level::Resolved,
    }
}

/// `data` with every string cleaned of hidden characters (see `clean::json_strings`).
pub(super) fn clean_data(mut data: serde_json::Value) -> serde_json::Value {
    clean::json_strings(&mut data);
    data
}

/// `s` cleaned (`clean::text`) and cut to `max` characters with "…".
pub(super) fn truncate_chars(s: &str, max: usize) -> String {
    let s = clean::text(s);
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max).collect();
        t.push('…');
        t
    }
}

/// The ranked keys: #, name, requests, tokens, cost.
pub(super) fn key_table(t: &MessageTexts, keys: &[KeyUsage]) -> Option<Table> {
    ranked_table(t.key, t, keys)
}

/// The top users (Claude Code Hub), as the keys' table with a user column.
pub(super) fn user_table(t: &MessageTexts, users: &[crate::model::UserUsage]) -> Option<Table> {
    let rows: Vec<KeyUsage> = users
        .iter()
        .map(|u| KeyUsage {
            id: u.id.clone(),
            name: u.name.clone(),
            requests: u.requests,
            all_tokens: u.all_tokens,
            cost_usd: u.cost_usd,
        })
        .collect();
    ranked_table(t.user, t, &rows)
}

fn ranked_table(who: &str, t: &MessageTexts, keys: &[KeyUsage]) -> Option<Table> {
    table(
        vec![
            col("#", Align::Right),
            col(who, Align::Left),
            col(t.requests, Align::Right),
            col(t.tokens, Align::Right),
            col(t.cost, Align::Right),
        ],
        keys.iter()
            .enumerate()
            .map(|(i, k)| {
                vec![
                    (i + 1).to_string(),
                    clean::name(&k.name),
                    count(k.requests),
                    tokens(k.all_tokens),
                    cost(k.cost_usd),
                ]
            })
            .collect(),
    )
}
