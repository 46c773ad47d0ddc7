//! Builders from engine data to Messages: the dashboard report, the daily leaderboard, quota,
//! error-rate and circuit-breaker alerts, delivery-failure notices, the quiet-hours digest and the
//! test message, one module per kind over the shared building blocks in `parts`. Texts come from
//! `i18n::message_texts`; numbers are formatted as the relay formats them. Rule: every name or
//! text from the relay enters a Message through `clean` (names one line of at most
//! `clean::NAME_COLUMNS`, texts without control or bidi characters), `data` included. Pure.

use chrono::FixedOffset;

use crate::config::Lang;
use crate::model::AlertPayload;
use crate::render::message::Message;

mod breaker;
mod digest;
mod error_rate;
mod leaderboard;
mod notices;
mod parts;
mod quota;
mod report;

pub use breaker::{breaker, BreakerAlert};
pub use digest::{digest, DigestItem};
pub use error_rate::{error_rate, ErrorRateAlert, ErrorSample};
pub use leaderboard::{leaderboard, Leaderboard};
pub use notices::{delivery_failure, test_message};
pub use parts::ERROR_TEXT_MAX;
pub use quota::{quota, QuotaItem};
pub use report::{report, LIMIT_SHOWN_FROM, REPORT_ROWS};

impl crate::model::Alert {
    /// The message for one language, its times shown in `tz`.
    pub fn message(&self, lang: Lang, tz: FixedOffset) -> Message {
        let at = self.at.with_timezone(&tz);
        match &self.payload {
            AlertPayload::ErrorRate(a) => error_rate(a, self.state, at, lang),
            AlertPayload::Breaker(b) => breaker(b, self.state, at, lang),
            AlertPayload::Quota { items } => quota(items, self.state, at, lang),
        }
    }
}
