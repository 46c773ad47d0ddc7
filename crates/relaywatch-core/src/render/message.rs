//! The semantic Message: what a notification says (title, level, facts, tables, charts), never
//! how; each channel renders it in its own dialect and size budget. Builders here turn engine
//! data into Messages; their texts come from `i18n`. Pure.

use std::sync::Arc;

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use crate::config::Lang;
pub use crate::model::{AlertState, Level};

/// What a message is about (the generic webhook's `kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    Report,
    Leaderboard,
    Quota,
    ErrorRate,
    Breaker,
    DeliveryFailure,
    Test,
    /// Alerts held during a channel's quiet hours, sent as one message when they end.
    Digest,
}

impl MessageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Report => "report",
            MessageKind::Leaderboard => "leaderboard",
            MessageKind::Quota => "quota",
            MessageKind::ErrorRate => "error_rate",
            MessageKind::Breaker => "breaker",
            MessageKind::DeliveryFailure => "delivery_failure",
            MessageKind::Test => "test",
            MessageKind::Digest => "digest",
        }
    }
}

/// A label and its value, both already formatted for people.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fact {
    pub label: String,
    pub value: String,
}

impl Fact {
    pub fn new(label: impl Into<String>, value: impl Into<String>) -> Self {
        Fact {
            label: label.into(),
            value: value.into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Align {
    Left,
    Right,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Column {
    pub header: String,
    pub align: Align,
}

/// A table of formatted cells. Channels may show fewer rows than it has and say how many more
/// there are (`more_rows` text of i18n).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Table {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<String>>,
}

/// A titled part of a message. `optional` parts are the first dropped when a platform's size
/// budget is tight.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Section {
    pub title: String,
    pub facts: Vec<Fact>,
    pub table: Option<Table>,
    pub text: Option<String>,
    pub optional: bool,
}

/// A rendered chart: PNG for chat, SVG for pages. `table` is the same data as text, for
/// channels that cannot carry images.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChartImage {
    /// File stem: `overview`, `models`, `trend`, `top-keys`.
    pub stem: String,
    pub title: String,
    #[serde(skip)]
    pub png: Arc<Vec<u8>>,
    #[serde(skip)]
    pub svg: Option<Arc<String>>,
}

/// A notification, before any platform's dialect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub kind: MessageKind,
    pub state: Option<AlertState>,
    pub level: Level,
    pub title: String,
    pub summary: Option<String>,
    pub facts: Vec<Fact>,
    pub sections: Vec<Section>,
    pub charts: Vec<ChartImage>,
    pub footer: Option<String>,
    pub timestamp: DateTime<FixedOffset>,
    pub lang: Lang,
    /// Machine-readable payload for the generic webhook's `data` (a Snapshot, an alert…).
    pub data: serde_json::Value,
}
