//! The quota alert: every key over a threshold of one of its limits, grouped in one message.
//! Rule: critical once any key reaches 100%, a warning below; `Resolved` is "back under".

use chrono::{DateTime, FixedOffset};

use super::parts::{col, notice, section, table};
use crate::config::Lang;
pub use crate::model::QuotaItem;
use crate::render::clean;
use crate::render::format::{cost, percent};
use crate::render::i18n::{message_texts, with_n, MessageTexts};
use crate::render::message::{AlertState, Align, Level, Message, MessageKind};

/// A quota alert: every key over a threshold, grouped in one message; `Resolved` is "back under".
pub fn quota(
    items: &[QuotaItem],
    state: AlertState,
    at: DateTime<FixedOffset>,
    lang: Lang,
) -> Message {
    let t = message_texts(lang);
    let top = items.iter().map(|i| i.threshold_pct).max().unwrap_or(0);
    let level = match state {
        AlertState::Resolved => Level::Resolved,
        AlertState::Firing if top >= 100 => Level::Critical,
        AlertState::Firing => Level::Warning,
    };
    let rows = items
        .iter()
        .map(|i| {
            vec![
                clean::name(&i.key_name),
                limit_name(t, &i.limit).to_string(),
                clean::line(&i.period),
                format!("{} / {}", cost(i.cost_usd), cost(i.limit_usd)),
                if i.limit_usd > 0.0 {
                    percent(i.cost_usd / i.limit_usd)
                } else {
                    "—".into()
                },
            ]
        })
        .collect();
    Message {
        state: Some(state),
        level,
        title: match state {
            AlertState::Firing => with_n(t.quota_firing_title, top),
            AlertState::Resolved => t.quota_resolved_title.to_string(),
        },
        summary: Some(with_n(t.quota_summary, items.len())),
        facts: Vec::new(),
        sections: vec![section(
            "",
            table(
                vec![
                    col(t.key, Align::Left),
                    col(t.limit, Align::Left),
                    col(t.period, Align::Left),
                    col(t.cost, Align::Right),
                    col(t.used, Align::Right),
                ],
                rows,
            ),
            false,
        )],
        ..notice(
            MessageKind::Quota,
            at,
            lang,
            serde_json::json!({ "items": items }),
        )
    }
}

fn limit_name(t: &MessageTexts, limit: &str) -> &'static str {
    match limit {
        "daily" => t.daily,
        "total" => t.total,
        "weekly_opus" => t.weekly_opus,
        "5h" => t.five_hours,
        "weekly" => t.weekly,
        "monthly" => t.monthly,
        _ => t.limit,
    }
}
