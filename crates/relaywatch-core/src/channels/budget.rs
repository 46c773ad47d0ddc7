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
    let mut current = Message {
        sections: Vec::new(),
        ..m.clone()
    };
    for original in &m.sections {
        let s = trim_section(original, MIN_ROWS, m.lang);
        let mut candidate = current.clone();
        candidate.sections.push(s.clone());
        if measure(&render(&candidate), unit) <= max {
            current = candidate;
            continue;
        }
        if !current.sections.is_empty() {
            parts.push(current);
            current = Message {
                sections: Vec::new(),
                facts: Vec::new(),
                summary: None,
                charts: Vec::new(),
                ..m.clone()
            };
        }
        let fitted = fitting_section(&current, original, max, unit, render);
        current.sections.push(fitted);
    }
    parts.push(current);
    let n = parts.len();
    if n > 1 {
        for (i, p) in parts.iter_mut().enumerate() {
            p.title = format!("{} ({}/{n})", p.title, i + 1);
            if i > 0 {
                p.charts.clear();
            }
        }
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Lang;
    use crate::render::{markdown, samples};

    #[test]
    fn units_differ_for_cjk() {
        assert_eq!(measure("研发", SizeUnit::Bytes), 6);
        assert_eq!(measure("研发", SizeUnit::Chars), 2);
    }

    #[test]
    fn trims_then_drops_then_splits() {
        let (_, report) = samples::all(Lang::ZhCn).remove(0);
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
}
