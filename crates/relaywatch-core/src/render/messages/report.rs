//! The dashboard report: headline facts, then tables of top keys, models, the daily trend, keys
//! near their limits, accounts by platform and the relay's warnings, with the charts attached.
//! Rule: tables carry at most `REPORT_ROWS` rows and an empty table is left out.

use super::parts::{clean_data, col, key_table, section, table, user_table};
use crate::config::Lang;
use crate::model::Snapshot;
use crate::render::clean;
use crate::render::format::{cost, count, percent, tokens};
use crate::render::i18n::{message_texts, with_n, MessageTexts};
use crate::render::message::{
    Align, ChartImage, Fact, Level, Message, MessageKind, Section, Table,
};
use crate::source::aggregate::limit_ratio;

/// Keys whose limit use is at least this share appear in the report's limits table.
pub const LIMIT_SHOWN_FROM: f64 = 0.5;
/// Rows a report table carries before channels trim it further.
pub const REPORT_ROWS: usize = 10;

/// The dashboard report.
pub fn report(s: &Snapshot, charts: Vec<ChartImage>, lang: Lang) -> Message {
    let t = message_texts(lang);
    let abnormal = s.accounts_total().abnormal > 0;
    Message {
        kind: MessageKind::Report,
        state: None,
        level: if abnormal {
            Level::Warning
        } else {
            Level::Info
        },
        title: t.report_title.to_string(),
        summary: Some(format!(
            "{} {} · {} · {}",
            t.source,
            s.source.as_str(),
            s.today,
            if s.source == crate::model::SourceKind::Cch {
                t.cost_note_relay
            } else {
                t.cost_note
            }
        )),
        facts: facts(t, s),
        sections: sections(t, s),
        charts,
        footer: Some(format!(
            "relaywatch · {}",
            s.generated_at.format("%Y-%m-%d %H:%M %:z")
        )),
        timestamp: s.generated_at,
        lang,
        data: clean_data(serde_json::to_value(s).unwrap_or(serde_json::Value::Null)),
    }
}

/// API keys, accounts by state, today's and all-time usage, the realtime rates.
fn facts(t: &MessageTexts, s: &Snapshot) -> Vec<Fact> {
    let acc = s.accounts_total();
    let mut facts = vec![
        Fact::new(
            t.api_keys,
            format!(
                "{} ({} {})",
                count(s.api_keys.total),
                count(s.api_keys.active),
                t.active
            ),
        ),
        Fact::new(
            t.accounts,
            format!(
                "{} · {} {} · {} {} · {} {} · {} {}",
                count(acc.total),
                count(acc.normal),
                t.normal,
                count(acc.rate_limited),
                t.rate_limited,
                count(acc.paused),
                t.paused,
                count(acc.abnormal),
                t.abnormal
            ),
        ),
        usage_fact(t, t.today, &s.usage_today),
        usage_fact(t, t.all_time, &s.usage_total),
        Fact::new(
            format!(
                "{} ({})",
                t.realtime,
                with_n(t.last_minutes, s.realtime.window_minutes)
            ),
            format!(
                "{:.2} RPM · {} TPM",
                s.realtime.rpm,
                tokens(s.realtime.tpm.round() as u64)
            ),
        ),
    ];
    if !s.providers.is_empty() {
        // Claude Code Hub: providers and their breakers take the accounts' place.
        let n = |st: &str| s.providers.iter().filter(|p| p.breaker.state == st).count() as u64;
        facts[1] = Fact::new(
            t.providers,
            format!(
                "{} · {} {} · {} {} · {} {}",
                count(s.providers.len() as u64),
                count(n("closed")),
                t.breaker_closed,
                count(n("half-open")),
                t.breaker_half_open,
                count(n("open")),
                t.breaker_open
            ),
        );
    }
    facts
}

/// "1,234 requests · 5.67M tokens · $8.90".
fn usage_fact(t: &MessageTexts, label: &str, u: &crate::model::Usage) -> Fact {
    Fact::new(
        label,
        format!(
            "{} {} · {} {} · {}",
            count(u.requests),
            t.requests_unit,
            tokens(u.all_tokens),
            t.tokens_unit,
            cost(u.cost_usd)
        ),
    )
}

/// The report's sections in order; the limits and warnings only when there is something in
/// them.
fn sections(t: &MessageTexts, s: &Snapshot) -> Vec<Section> {
    let range = with_n(t.last_days, s.trend_days);
    let limits = limits_table(t, s);
    let mut sections = vec![
        section(
            format!("{} ({range})", t.top_keys),
            key_table(t, &s.top_keys),
            false,
        ),
        section(format!("{} ({range})", t.models), models_table(t, s), false),
        section(format!("{} ({range})", t.trend), trend_table(t, s), true),
    ];
    if !s.top_users.is_empty() {
        let users = section(
            format!("{} ({range})", t.top_users),
            user_table(t, &s.top_users),
            false,
        );
        sections.insert(1, users);
    }
    if limits.is_some() {
        sections.push(section(t.limits, limits, false));
    }
    if !s.accounts.is_empty() || s.providers.is_empty() {
        sections.push(section(t.by_platform, platforms_table(t, s), true));
    }
    if !s.warnings.is_empty() {
        sections.push(Section {
            text: Some(clean::text(&s.warnings.join("\n"))),
            ..section(t.warnings, None, true)
        });
    }
    sections
}

/// The first `REPORT_ROWS` models: requests, tokens, cost.
fn models_table(t: &MessageTexts, s: &Snapshot) -> Option<Table> {
    table(
        vec![
            col(t.model, Align::Left),
            col(t.requests, Align::Right),
            col(t.tokens, Align::Right),
            col(t.cost, Align::Right),
        ],
        s.models
            .iter()
            .take(REPORT_ROWS)
            .map(|m| {
                vec![
                    clean::name(&m.model),
                    count(m.requests),
                    tokens(m.all_tokens),
                    cost(m.cost_usd),
                ]
            })
            .collect(),
    )
}

/// Requests, tokens and cost per day.
fn trend_table(t: &MessageTexts, s: &Snapshot) -> Option<Table> {
    table(
        vec![
            col(t.date, Align::Left),
            col(t.requests, Align::Right),
            col(t.tokens, Align::Right),
            col(t.cost, Align::Right),
        ],
        s.trend
            .iter()
            .map(|d| {
                vec![
                    d.date.clone(),
                    count(d.requests),
                    tokens(d.all_tokens),
                    cost(d.cost_usd),
                ]
            })
            .collect(),
    )
}

/// "$used / $limit (pct)", or "—" without a limit.
fn share(used: f64, limit: f64) -> String {
    if limit > 0.0 {
        format!(
            "{} / {} ({})",
            cost(used),
            cost(limit),
            percent(used / limit)
        )
    } else {
        "—".to_string()
    }
}

/// Keys at `LIMIT_SHOWN_FROM` or more of a limit: their daily, total and weekly Opus use.
fn limits_table(t: &MessageTexts, s: &Snapshot) -> Option<Table> {
    table(
        vec![
            col(t.key, Align::Left),
            col(t.daily, Align::Right),
            col(t.total, Align::Right),
            col(t.weekly_opus, Align::Right),
        ],
        s.key_limits
            .iter()
            .filter(|k| limit_ratio(k) >= LIMIT_SHOWN_FROM)
            .take(REPORT_ROWS)
            .map(|k| {
                vec![
                    clean::name(&k.name),
                    share(k.daily_cost_usd, k.daily_limit_usd),
                    share(k.total_cost_usd, k.total_limit_usd),
                    share(k.weekly_opus_cost_usd, k.weekly_opus_limit_usd),
                ]
            })
            .collect(),
    )
}

/// Accounts by state on each platform that has any.
fn platforms_table(t: &MessageTexts, s: &Snapshot) -> Option<Table> {
    table(
        vec![
            col(t.platform, Align::Left),
            col(t.total, Align::Right),
            col(t.normal, Align::Right),
            col(t.rate_limited, Align::Right),
            col(t.paused, Align::Right),
            col(t.abnormal, Align::Right),
        ],
        s.accounts
            .iter()
            .filter(|(_, c)| c.total > 0)
            .map(|(p, c)| {
                vec![
                    clean::name(p),
                    c.total.to_string(),
                    c.normal.to_string(),
                    c.rate_limited.to_string(),
                    c.paused.to_string(),
                    c.abnormal.to_string(),
                ]
            })
            .collect(),
    )
}
