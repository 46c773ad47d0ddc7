//! Size budgets: fit a Message into a platform's limit, measured in the platform's own unit,
//! by trimming table rows ("+N more"), then dropping optional sections, then splitting into
//! several messages — so a platform never answers "too long". Pure: the channel passes its own
//! renderer.

use super::SizeUnit;
use crate::render::i18n::{message_texts, with_n};
use crate::render::message::Message;

/// Rows a table keeps at the least when trimmed.
pub const MIN_ROWS: usize = 3;

/// The size of a rendered text in `unit`.
pub fn measure(text: &str, unit: SizeUnit) -> usize {
    match unit {
        SizeUnit::Bytes => text.len(),
        SizeUnit::Chars => text.chars().count(),
    }
}

/// Keep at most `keep` rows of every table, with a last row saying how many were left out.
pub fn trim_rows(m: &Message, keep: usize) -> Message {
    let t = message_texts(m.lang);
    let mut out = m.clone();
    for s in &mut out.sections {
        if let Some(table) = &mut s.table {
            if table.rows.len() > keep {
                let hidden = table.rows.len() - keep;
                table.rows.truncate(keep);
                let mut more = vec![String::new(); table.columns.len()];
                let first_text = table
                    .columns
                    .iter()
                    .position(|c| c.header != "#")
                    .unwrap_or(0);
                more[first_text] = with_n(t.more_rows, hidden);
                table.rows.push(more);
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

/// The message, or smaller versions of it, so that each rendered part fits in `max`.
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
    let small = without_optional(&trim_rows(m, MIN_ROWS.min(longest.max(1))));
    if fits(&small) {
        return vec![small];
    }
    split(
        &trim_rows(m, MIN_ROWS.min(longest.max(1))),
        max,
        unit,
        &render,
    )
}

/// Spread the sections over several messages, in order; the first keeps the facts and summary,
/// every part gets "(i/n)" after the title.
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
    for s in &m.sections {
        let mut candidate = current.clone();
        candidate.sections.push(s.clone());
        if measure(&render(&candidate), unit) <= max || current.sections.is_empty() {
            current = candidate;
        } else {
            parts.push(current);
            current = Message {
                sections: vec![s.clone()],
                facts: Vec::new(),
                summary: None,
                charts: Vec::new(),
                ..m.clone()
            };
        }
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
