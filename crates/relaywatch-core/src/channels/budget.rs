//! Size budgets: fit a Message into a platform's limit, measured in the platform's own unit,
//! by capping over-long texts, trimming table rows ("+N more"), then dropping optional sections,
//! then splitting into several messages — so a platform never answers "too long". Rule: rows
//! are cut whole, never inside a cell or a markup pair, and a table that lost rows always says
//! "+N more". Pure: the channel passes its own renderer.

use super::SizeUnit;
use crate::config::Lang;
use crate::render::clean;
use crate::render::i18n::{message_texts, with_n};
use crate::render::message::{Fact, Message, Section};

/// Rows a table keeps at the least when trimmed, unless a section alone is over the budget.
pub const MIN_ROWS: usize = 3;
/// Columns a table cell keeps at most once a message is over its budget: the safety net under
/// the name cleaning (`clean::NAME_COLUMNS`), wide enough never to touch a cleaned name.
pub const CELL_COLUMNS: usize = 2 * clean::NAME_COLUMNS;
/// Columns any other text (title, summary, fact, section text line, footer) keeps at most once a
/// message is over its budget.
pub const TEXT_COLUMNS: usize = 512;

/// The size of a rendered text in `unit`.
pub fn measure(text: &str, unit: SizeUnit) -> usize {
    match unit {
        SizeUnit::Bytes => text.len(),
        SizeUnit::Chars => text.chars().count(),
    }
}

/// `s` as a section keeps it with at most `keep` table rows, a last row saying how many were
/// left out.
fn trim_section(s: &Section, keep: usize, lang: Lang) -> Section {
    let mut out = s.clone();
    if let Some(table) = &mut out.table {
        if table.rows.len() > keep {
            let hidden = table.rows.len() - keep;
            table.rows.truncate(keep);
            let mut more = vec![String::new(); table.columns.len()];
            let first_text = table
                .columns
                .iter()
                .position(|c| c.header != "#")
                .unwrap_or(0);
            if let Some(cell) = more.get_mut(first_text) {
                *cell = with_n(message_texts(lang).more_rows, hidden);
            }
            table.rows.push(more);
        }
    }
    out
}

/// Keep at most `keep` rows of every table, with a last row saying how many were left out.
pub fn trim_rows(m: &Message, keep: usize) -> Message {
    let mut out = m.clone();
    out.sections = m
        .sections
        .iter()
        .map(|s| trim_section(s, keep, m.lang))
        .collect();
    out
}

/// Every text of `m` cut to its display width ([`CELL_COLUMNS`] for table cells, [`TEXT_COLUMNS`]
/// for the rest, line by line): so that no single cell or fact can outgrow a budget, whatever
/// reached the Message. A cleaned Message is left as it is.
pub fn cap_texts(m: &Message) -> Message {
    let text = |s: &str| clean::cut(s, TEXT_COLUMNS);
    let lines = |s: &str| s.lines().map(text).collect::<Vec<_>>().join("\n");
    let mut out = m.clone();
    out.title = text(&m.title);
    out.summary = m.summary.as_deref().map(lines);
    out.footer = m.footer.as_deref().map(text);
    let facts = |facts: &mut Vec<Fact>| {
        for f in facts {
            f.label = text(&f.label);
            f.value = text(&f.value);
        }
    };
    facts(&mut out.facts);
    for s in &mut out.sections {
        s.title = text(&s.title);
        facts(&mut s.facts);
        s.text = s.text.as_deref().map(lines);
        if let Some(t) = &mut s.table {
            for c in &mut t.columns {
                c.header = clean::cut(&c.header, CELL_COLUMNS);
            }
            for cell in t.rows.iter_mut().flatten() {
                *cell = clean::cut(cell, CELL_COLUMNS);
            }
        }
    }
    out
}

fn without_optional(m: &Message) -> Message {
    let mut out = m.clone();
    out.sections.retain(|s| !s.optional);
    out
}

/// The message, or smaller versions of it, so that each rendered part fits in `max`: texts
/// capped ([`cap_texts`]), then table rows trimmed to [`MIN_ROWS`] ("+N more"), then optional
/// sections dropped, then the sections spread over several messages, a section alone over the
/// budget trimmed further (down to its "+N more" row). Rows are only ever cut whole, and never
/// without a "+N more" row.
pub fn fit<F: Fn(&Message) -> String>(
    m: &Message,
    max: usize,
    unit: SizeUnit,
    render: F,
) -> Vec<Message> {
    let fits = |m: &Message| measure(&render(m), unit) <= max;
    if fits(m) {
        return vec![m.clone()];
    }
    let m = &cap_texts(m);
    if fits(m) {
        return vec![m.clone()];
    }
    let longest = m
        .sections
        .iter()
        .filter_map(|s| s.table.as_ref().map(|t| t.rows.len()))
        .max()
        .unwrap_or(0);
    for keep in (MIN_ROWS..longest).rev() {
        let trimmed = trim_rows(m, keep);
        if fits(&trimmed) {
            return vec![trimmed];
        }
    }
    let small = without_optional(&trim_rows(m, MIN_ROWS));
    if fits(&small) {
        return vec![small];
    }
    split(m, max, unit, &render)
}

/// The section `s` with as many rows (at most [`MIN_ROWS`]) as let `part` plus it fit; with its
/// "+N more" row alone when none does.
fn fitting_section<F: Fn(&Message) -> String>(
    part: &Message,
    s: &Section,
    max: usize,
    unit: SizeUnit,
    render: &F,
) -> Section {
    let rows = s.table.as_ref().map_or(0, |t| t.rows.len());
    for keep in (1..=MIN_ROWS.min(rows)).rev() {
        let trimmed = trim_section(s, keep, part.lang);
        let mut candidate = part.clone();
        candidate.sections.push(trimmed.clone());
        if measure(&render(&candidate), unit) <= max {
            return trimmed;
        }
    }
    trim_section(s, 0, part.lang)
}

/// Spread the sections over several messages, in order; the first keeps the facts and summary,
/// every part gets "(i/n)" after the title. A section that fits in no part, even alone, keeps
/// fewer rows.
fn split<F: Fn(&Message) -> String>(
    m: &Message,
    max: usize,
    unit: SizeUnit,
    render: &F,
) -> Vec<Message> {
    let mut parts: Vec<Message> = Vec::new();
    // Parts are measured with the longest "(i/n)" they may get, so the suffix never overflows.
    let probe = Message {
        title: format!("{} (99/99)", m.title),
        ..m.clone()
    };
    let mut current = Message {
        sections: Vec::new(),
        ..probe.clone()
    };
    let bare = || Message {
        sections: Vec::new(),
        facts: Vec::new(),
        summary: None,
        charts: Vec::new(),
        ..probe.clone()
    };
    let fits_with = |part: &Message, s: &Section| {
        let mut candidate = part.clone();
        candidate.sections.push(s.clone());
        measure(&render(&candidate), unit) <= max
    };
    for original in &m.sections {
        let s = trim_section(original, MIN_ROWS, m.lang);
        if fits_with(&current, &s) {
            current.sections.push(s);
            continue;
        }
        // A part that has something (sections, or the facts of the first) is closed first.
        if !(current.sections.is_empty() && current.facts.is_empty() && current.summary.is_none()) {
            parts.push(std::mem::replace(&mut current, bare()));
            if fits_with(&current, &s) {
                current.sections.push(s);
                continue;
            }
        }
        let fitted = fitting_section(&current, original, max, unit, render);
        current.sections.push(fitted);
    }
    parts.push(current);
    let n = parts.len();
    for (i, p) in parts.iter_mut().enumerate() {
        p.title = if n > 1 {
            format!("{} ({}/{n})", m.title, i + 1)
        } else {
            m.title.clone()
        };
        if i > 0 {
            p.charts.clear();
        }
    }
    parts
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::config::Lang;
    use crate::model::SourceKind;
    use crate::pricing::Pricing;
    use crate::render::markdown;
    use crate::render::message::ChartImage;
    use crate::render::messages;
    use crate::source::aggregate::{aggregate, Scope};
    use crate::source::{demo, ReadRequest};
    use crate::tz::RelayTz;

    /// The demo relay's report at 2026-11-22 09:00 (UTC+8) with the four charts linked (their
    /// bytes are never measured): the testkit's sample report, built here because the core's
    /// unit tests cannot use the testkit.
    fn sample_report(lang: Lang) -> Message {
        let req = ReadRequest {
            now: Utc.with_ymd_and_hms(2026, 11, 22, 1, 0, 0).unwrap(),
            tz: RelayTz::from_config(8),
            trend_days: 7,
            top_n: 10,
            window_minutes: 5,
        };
        let pricing = Pricing::bundled();
        let scope = Scope {
            source: SourceKind::Demo,
            trend_days: 7,
            top_n: 10,
        };
        let snap = aggregate(demo::generate(req, &pricing), &pricing, scope);
        let charts = [
            ("overview", "System overview"),
            ("models", "Model distribution"),
            ("trend", "Usage trend"),
            ("top-keys", "Top API keys"),
        ]
        .iter()
        .map(|(stem, title)| ChartImage {
            stem: stem.to_string(),
            title: title.to_string(),
            png: Arc::new(Vec::new()),
            svg: None,
        })
        .collect();
        messages::report(&snap, charts, lang)
    }

    #[test]
    fn units_differ_for_cjk() {
        assert_eq!(measure("研发", SizeUnit::Bytes), 6);
        assert_eq!(measure("研发", SizeUnit::Chars), 2);
    }

    #[test]
    fn trims_then_drops_then_splits() {
        let report = sample_report(Lang::ZhCn);
        let full = measure(&markdown::render(&report), SizeUnit::Bytes);
        // A little smaller than the whole: trimmed rows, one message.
        let parts = fit(&report, full - 200, SizeUnit::Bytes, markdown::render);
        assert_eq!(parts.len(), 1);
        let text = markdown::render(&parts[0]);
        assert!(measure(&text, SizeUnit::Bytes) <= full - 200);
        assert!(text.contains("另有"), "says how many rows were left out");
        // Very small: several parts, each within the budget.
        let parts = fit(&report, 900, SizeUnit::Bytes, markdown::render);
        assert!(parts.len() > 1);
        for p in &parts {
            assert!(markdown::render(p).len() <= 900, "{}", markdown::render(p));
        }
        assert!(parts[0].title.ends_with(&format!("(1/{})", parts.len())));
    }

    #[test]
    fn a_huge_cell_is_capped_and_rows_are_never_lost_silently() {
        let mut report = sample_report(Lang::En);
        let table = report.sections[0].table.as_mut().unwrap();
        let rows = table.rows.len();
        table.rows[0][1] = format!("K **{}", "y".repeat(10_000));
        for max in [4096, 2500, 1200] {
            for p in fit(&report, max, SizeUnit::Bytes, markdown::render) {
                let text = markdown::render(&p);
                assert!(text.len() <= max, "{max}: {} bytes", text.len());
                assert!(!text.contains(&"y".repeat(CELL_COLUMNS)));
                if let Some(t) = p.sections.iter().find_map(|s| s.table.as_ref()) {
                    let shown = t.rows.iter().filter(|r| !r[0].is_empty()).count();
                    if shown < rows {
                        assert!(text.contains("more"), "{max}: rows lost silently\n{text}");
                    }
                }
            }
        }
    }

    #[test]
    fn a_section_alone_over_the_budget_keeps_its_more_row() {
        let report = sample_report(Lang::En);
        let s = &report.sections[0];
        let rows = s.table.as_ref().unwrap().rows.len();
        let trimmed = trim_section(s, 0, Lang::En);
        let t = trimmed.table.unwrap();
        assert_eq!(t.rows.len(), 1);
        assert!(t.rows[0].contains(&format!("+{rows} more")), "{:?}", t.rows);
        // A budget so small that the message is split: every table that shows fewer rows than
        // it has ends in its "+N more" row.
        let parts = fit(&report, 600, SizeUnit::Bytes, markdown::render);
        assert!(parts.len() > 1);
        let mut checked = 0;
        for p in &parts {
            assert!(markdown::render(p).len() <= 600 || p.sections.len() <= 1);
            for s in &p.sections {
                let (Some(t), Some(orig)) = (
                    s.table.as_ref(),
                    report.sections.iter().find(|o| o.title == s.title),
                ) else {
                    continue;
                };
                let full = orig.table.as_ref().unwrap().rows.len();
                if t.rows.len() <= full && t.rows != orig.table.as_ref().unwrap().rows {
                    let last = t.rows.last().unwrap();
                    assert!(last.iter().any(|c| c.ends_with(" more")), "{:?}", t.rows);
                    checked += 1;
                }
            }
        }
        assert!(checked > 0);
    }

    #[test]
    fn cleaned_messages_are_not_capped() {
        let report = sample_report(Lang::ZhCn);
        assert_eq!(cap_texts(&report), report);
    }
}
