//! What the faces show of an alert or a snapshot without rendering it themselves: an alert's
//! message in a language and the relay's zone (the tray's menu and native notifications), and
//! the short figures of the tray's menu. Rule: the texts and numbers are `render`'s, so every
//! face says the same as the chat message.

use crate::config::Settings;
use crate::model::{Alert, Lang};
use crate::tz::RelayTz;

pub use crate::render::message::Message;

/// `alert`'s message in `lang`, its times on the relay's clock.
pub fn alert_message(s: &Settings, alert: &Alert, lang: Lang) -> Message {
    let tz = RelayTz::from_config(s.source.timezone_offset_hours).offset();
    alert.message(lang, tz)
}

/// A cost as the messages show it (as CRS formats it).
pub fn cost(usd: f64) -> String {
    crate::render::format::cost(usd)
}

/// A token count as the messages show it (`1.23M`).
pub fn tokens(n: u64) -> String {
    crate::render::format::tokens(n)
}

/// A count as the messages show it (`12,345`).
pub fn count(n: u64) -> String {
    crate::render::format::count(n)
}
