//! The report text (Markdown) a chat message carries, from a Snapshot, in en or zh-CN. Pure.

use std::fmt::Write;

use super::format::{cost, count, percent, tokens};
use super::i18n::{report_texts, with_n};
use crate::config::Lang;
use crate::model::Snapshot;
use crate::source::aggregate::limit_ratio;

/// Rows shown per table before "+N more".
pub const MAX_ROWS: usize = 10;
/// Keys whose limit use is at least this share appear in the limits table.
pub const LIMIT_SHOWN_FROM: f64 = 0.5;

fn share(used: f64, limit: f64) -> String {
    if limit > 0.0 {
        format!(
            "{} / {} ({})",
            cost(used),
            cost(limit),
            percent(used / limit)
        )
    } else {
        "—".into()
    }
}

/// Escape a name for a Markdown table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// Render the report.
pub fn markdown(s: &Snapshot, lang: Lang) -> String {
    let t = report_texts(lang);
    let mut o = String::new();
    let acc = s.accounts_total();
    let _ = writeln!(
        o,
        "# 📊 {} — {}",
        t.title,
        s.generated_at.format("%Y-%m-%d %H:%M %:z")
    );
    let _ = writeln!(
        o,
        "\n{}: {} · {}: {} ({})",
        t.source,
        s.source.as_str(),
        t.prices,
        s.cost_basis.pricing,
        t.cost_note
    );

    let _ = writeln!(o, "\n## {}\n", t.overview);
    let _ = writeln!(
        o,
        "- **{}**: {} ({} {})",
        t.api_keys,
        count(s.api_keys.total),
        count(s.api_keys.active),
        t.active
    );
    let _ = writeln!(
        o,
        "- **{}**: {} — {} {} · {} {} · {} {} · {} {}",
        t.accounts,
        count(acc.total),
        count(acc.normal),
        t.normal,
        count(acc.rate_limited),
        t.rate_limited,
        count(acc.paused),
        t.paused,
        count(acc.abnormal),
        t.abnormal
    );
    for (label, u) in [(t.today, &s.usage_today), (t.all_time, &s.usage_total)] {
        let _ = writeln!(
            o,
            "- **{}**: {} {} · {} {} · {}",
            label,
            count(u.requests),
            t.requests.to_lowercase(),
            tokens(u.all_tokens),
            t.tokens.to_lowercase(),
            cost(u.cost_usd)
        );
    }
    let _ = writeln!(
        o,
        "- **{}** ({}): {:.2} RPM · {} TPM",
        t.realtime,
        with_n(t.last_minutes, s.realtime.window_minutes),
        s.realtime.rpm,
        tokens(s.realtime.tpm.round() as u64)
    );

    let _ = writeln!(o, "\n## {}\n", t.by_platform);
    let _ = writeln!(
        o,
        "| {} | {} | {} | {} | {} | {} |\n|---|---:|---:|---:|---:|---:|",
        t.platform, t.total, t.normal, t.rate_limited, t.paused, t.abnormal
    );
    for (p, c) in s.accounts.iter().filter(|(_, c)| c.total > 0) {
        let _ = writeln!(
            o,
            "| {p} | {} | {} | {} | {} | {} |",
            c.total, c.normal, c.rate_limited, c.paused, c.abnormal
        );
    }

    let range = with_n(t.last_days, s.trend_days);
    let _ = writeln!(o, "\n## {} ({range})\n", t.models);
    if s.models.is_empty() {
        let _ = writeln!(o, "{}", t.no_data);
    } else {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} |\n|---|---:|---:|---:|",
            t.model, t.requests, t.tokens, t.cost
        );
        for m in s.models.iter().take(MAX_ROWS) {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} |",
                cell(&m.model),
                count(m.requests),
                tokens(m.all_tokens),
                cost(m.cost_usd)
            );
        }
        if s.models.len() > MAX_ROWS {
            let _ = writeln!(o, "\n{}", with_n(t.more_rows, s.models.len() - MAX_ROWS));
        }
    }

    let _ = writeln!(o, "\n## {} ({range})\n", t.trend);
    let _ = writeln!(
        o,
        "| {} | {} | {} | {} |\n|---|---:|---:|---:|",
        t.date, t.requests, t.tokens, t.cost
    );
    for d in &s.trend {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} |",
            d.date,
            count(d.requests),
            tokens(d.all_tokens),
            cost(d.cost_usd)
        );
    }

    let _ = writeln!(o, "\n## {} ({range})\n", t.top_keys);
    if s.top_keys.is_empty() {
        let _ = writeln!(o, "{}", t.no_data);
    } else {
        let _ = writeln!(
            o,
            "| # | {} | {} | {} | {} |\n|---:|---|---:|---:|---:|",
            t.key, t.requests, t.tokens, t.cost
        );
        for (i, k) in s.top_keys.iter().enumerate() {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} |",
                i + 1,
                cell(&k.name),
                count(k.requests),
                tokens(k.all_tokens),
                cost(k.cost_usd)
            );
        }
    }

    let near: Vec<_> = s
        .key_limits
        .iter()
        .filter(|k| limit_ratio(k) >= LIMIT_SHOWN_FROM)
        .collect();
    if !near.is_empty() {
        let _ = writeln!(o, "\n## {}\n", t.limits);
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} |\n|---|---:|---:|---:|",
            t.key, t.daily, t.total, t.weekly_opus
        );
        for k in near.iter().take(MAX_ROWS) {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} |",
                cell(&k.name),
                share(k.daily_cost_usd, k.daily_limit_usd),
                share(k.total_cost_usd, k.total_limit_usd),
                share(k.weekly_opus_cost_usd, k.weekly_opus_limit_usd)
            );
        }
        if near.len() > MAX_ROWS {
            let _ = writeln!(o, "\n{}", with_n(t.more_rows, near.len() - MAX_ROWS));
        }
    }

    if !s.warnings.is_empty() {
        let _ = writeln!(o, "\n## {}\n", t.warnings);
        for w in &s.warnings {
            let _ = writeln!(o, "- {}", cell(w));
        }
    }
    o
}
