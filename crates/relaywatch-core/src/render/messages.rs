//! Builders from engine data to Messages: the dashboard report, the daily leaderboard, quota,
//! error-rate and circuit-breaker alerts, delivery-failure notices and the test message. Texts
//! come from `i18n::message_texts`; numbers are formatted as the relay formats them. Rule: every
//! name or text from the relay enters a Message through `clean` (names one line of at most
//! `clean::NAME_COLUMNS`, texts without control or bidi characters), `data` included. Pure.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use super::clean;
use super::format::{cost, count, percent, tokens};
use super::i18n::{message_texts, with_n, MessageTexts};
use super::message::{
    AlertState, Align, ChartImage, Column, Fact, Level, Message, MessageKind, Section, Table,
};
use crate::config::Lang;
use crate::model::{KeyUsage, Snapshot};
use crate::source::aggregate::limit_ratio;

fn col(header: &str, align: Align) -> Column {
    Column {
        header: header.to_string(),
        align,
    }
}

fn table(columns: Vec<Column>, rows: Vec<Vec<String>>) -> Option<Table> {
    (!rows.is_empty()).then_some(Table { columns, rows })
}

fn section(title: impl Into<String>, table: Option<Table>, optional: bool) -> Section {
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
fn notice(
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
fn alert_level(state: AlertState) -> Level {
    match state {
        AlertState::Firing => Level::Critical,
        AlertState::Resolved => Level::Resolved,
    }
}

/// Keys whose limit use is at least this share appear in the report's limits table.
pub const LIMIT_SHOWN_FROM: f64 = 0.5;
/// Rows a report table carries before channels trim it further.
pub const REPORT_ROWS: usize = 10;

/// The dashboard report.
pub fn report(s: &Snapshot, charts: Vec<ChartImage>, lang: Lang) -> Message {
    let t = message_texts(lang);
    let acc = s.accounts_total();
    let range = with_n(t.last_days, s.trend_days);
    let facts = vec![
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

    let models = table(
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
    );
    let keys = key_table(t, &s.top_keys);
    let trend = table(
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
    );
    let share = |used: f64, limit: f64| {
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
    };
    let limits = table(
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
    );
    let platforms = table(
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
    );

    let mut sections = vec![
        section(format!("{} ({range})", t.top_keys), keys, false),
        section(format!("{} ({range})", t.models), models, false),
        section(format!("{} ({range})", t.trend), trend, true),
    ];
    if limits.is_some() {
        sections.push(section(t.limits, limits, false));
    }
    sections.push(section(t.by_platform, platforms, true));
    if !s.warnings.is_empty() {
        sections.push(Section {
            text: Some(clean::text(&s.warnings.join("\n"))),
            ..section(t.warnings, None, true)
        });
    }
    let abnormal = acc.abnormal > 0;
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
            t.cost_note
        )),
        facts,
        sections,
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

/// `data` with every string cleaned of hidden characters (see `clean::json_strings`).
fn clean_data(mut data: serde_json::Value) -> serde_json::Value {
    clean::json_strings(&mut data);
    data
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

fn key_table(t: &MessageTexts, keys: &[KeyUsage]) -> Option<Table> {
    table(
        vec![
            col("#", Align::Right),
            col(t.key, Align::Left),
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

/// One key over one threshold of one limit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuotaItem {
    pub key_id: String,
    pub key_name: String,
    /// `daily`, `total`, `weekly_opus`, `5h`, `weekly`, `monthly`.
    pub limit: String,
    /// The period the limit counts over, e.g. `2026-11-22`.
    pub period: String,
    pub cost_usd: f64,
    pub limit_usd: f64,
    /// The threshold crossed, in percent (80, 100…).
    pub threshold_pct: u32,
}

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

/// One error record shown as an example.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorSample {
    pub status_code: Option<u16>,
    pub model: Option<String>,
    pub provider: Option<String>,
    pub key: Option<String>,
    pub error: Option<String>,
}

/// An error-rate alert over a sliding window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorRateAlert {
    /// `global`, `provider:3`, `key:abc`, `model:gpt-5`.
    pub subject: String,
    pub window_seconds: u64,
    pub errors: u64,
    pub requests: u64,
    /// The count that fires it.
    pub threshold: u64,
    /// Top offenders per dimension: (dimension label, [(value, count)]).
    pub offenders: Vec<(String, Vec<(String, u64)>)>,
    pub sample: Option<ErrorSample>,
}

/// Longest error text carried in a message.
pub const ERROR_TEXT_MAX: usize = 200;

/// `s` cleaned (`clean::text`) and cut to `max` characters with "…".
fn truncate_chars(s: &str, max: usize) -> String {
    let s = clean::text(s);
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max).collect();
        t.push('…');
        t
    }
}

pub fn error_rate(
    a: &ErrorRateAlert,
    state: AlertState,
    at: DateTime<FixedOffset>,
    lang: Lang,
) -> Message {
    let t = message_texts(lang);
    let ratio = if a.requests > 0 {
        percent(a.errors as f64 / a.requests as f64)
    } else {
        "—".into()
    };
    let mut sections = Vec::new();
    for (dim, top) in &a.offenders {
        sections.push(Section {
            facts: top
                .iter()
                .map(|(v, n)| Fact::new(clean::name(v), count(*n)))
                .collect(),
            ..section(
                format!("{} · {}", t.top_offenders, clean::name(dim)),
                None,
                true,
            )
        });
    }
    if let Some(s) = &a.sample {
        let mut facts = Vec::new();
        if let Some(c) = s.status_code {
            facts.push(Fact::new(t.status, c.to_string()));
        }
        for (label, v) in [
            (t.model, &s.model),
            (t.provider, &s.provider),
            (t.key, &s.key),
        ] {
            if let Some(v) = v {
                facts.push(Fact::new(label, clean::name(v)));
            }
        }
        sections.push(Section {
            facts,
            text: s
                .error
                .as_deref()
                .map(|e| truncate_chars(e, ERROR_TEXT_MAX)),
            ..section(t.sample, None, true)
        });
    }
    Message {
        state: Some(state),
        level: alert_level(state),
        title: match state {
            AlertState::Firing => {
                format!(
                    "{} · {}",
                    t.error_rate_firing_title,
                    clean::name(&a.subject)
                )
            }
            AlertState::Resolved => format!(
                "{} · {}",
                t.error_rate_resolved_title,
                clean::name(&a.subject)
            ),
        },
        summary: Some(
            with_n(t.error_rate_summary, a.errors)
                .replace("{window}", &a.window_seconds.to_string()),
        ),
        facts: vec![
            Fact::new(t.errors, count(a.errors)),
            Fact::new(t.requests, count(a.requests)),
            Fact::new(t.error_ratio, ratio),
            Fact::new(t.threshold, count(a.threshold)),
        ],
        sections,
        ..notice(
            MessageKind::ErrorRate,
            at,
            lang,
            serde_json::to_value(a).unwrap_or(serde_json::Value::Null),
        )
    }
}

/// A circuit breaker's transition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BreakerAlert {
    /// `provider:3`, `account:claude-a`…
    pub subject: String,
    pub failures: u64,
    pub expected_recovery: Option<DateTime<FixedOffset>>,
    pub last_error: Option<String>,
}

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
    Message {
        state: Some(state),
        level: alert_level(state),
        title: match state {
            AlertState::Firing => format!("{} · {}", t.breaker_open_title, clean::name(&b.subject)),
            AlertState::Resolved => {
                format!("{} · {}", t.breaker_closed_title, clean::name(&b.subject))
            }
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
