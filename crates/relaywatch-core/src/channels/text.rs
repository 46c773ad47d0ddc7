//! Text helpers the chat dialects share (Slack, Discord, Telegram): UTF-16 sizing, display
//! width with CJK counted double, monospace tables aligned by display width, clipping that
//! keeps markup whole, and error bodies as redacted reasons. Pure.

use crate::render::message::{Align, Table};
use crate::secrets::redact;

/// A text's size in UTF-16 code units: how Slack, Discord and Telegram count "characters"
/// (an emoji outside the BMP counts two), never less than its `char` count.
pub fn utf16_len(s: &str) -> usize {
    s.encode_utf16().count()
}

/// A stand-in text of `n` characters for `budget::fit`, which only measures what its renderer
/// returns: lets a channel measure in its own way (UTF-16, several limits at once).
pub(crate) fn stand_in(n: usize) -> String {
    " ".repeat(n)
}

/// Columns a character takes in a monospace font: East Asian wide and fullwidth characters
/// (CJK, Hangul, kana, fullwidth forms, most emoji) take two, zero-width joiners and variation
/// selectors none, everything else one.
pub fn char_width(c: char) -> usize {
    match c as u32 {
        0x200B..=0x200F | 0xFE00..=0xFE0F | 0x0300..=0x036F => 0,
        0x1100..=0x115F
        | 0x2E80..=0x303E
        | 0x3041..=0x33FF
        | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF
        | 0xA000..=0xA4CF
        | 0xAC00..=0xD7A3
        | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F
        | 0xFF00..=0xFF60
        | 0xFFE0..=0xFFE6
        | 0x1F300..=0x1F64F
        | 0x1F900..=0x1F9FF
        | 0x20000..=0x3FFFD => 2,
        _ => 1,
    }
}

/// Columns a text takes in a monospace font (see [`char_width`]).
pub fn display_width(s: &str) -> usize {
    s.chars().map(char_width).sum()
}

/// A table as plain monospace lines: header, a rule of `-`, then the rows, every column padded
/// to its widest cell by display width (CJK counts double) and aligned as the column says.
/// Cells are single-line; the caller escapes the lines for its dialect.
pub fn text_table(t: &Table) -> Vec<String> {
    let cell = |s: &str| s.replace(['\n', '\r'], " ");
    let header: Vec<String> = t.columns.iter().map(|c| cell(&c.header)).collect();
    let rows: Vec<Vec<String>> = t
        .rows
        .iter()
        .map(|r| {
            (0..t.columns.len())
                .map(|i| r.get(i).map(|s| cell(s)).unwrap_or_default())
                .collect()
        })
        .collect();
    let widths: Vec<usize> = (0..t.columns.len())
        .map(|i| {
            rows.iter()
                .map(|r| display_width(&r[i]))
                .chain(std::iter::once(display_width(&header[i])))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[String]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&t.columns)
            .zip(&widths)
            .map(|((c, col), w)| {
                let pad = " ".repeat(w.saturating_sub(display_width(c)));
                match col.align {
                    Align::Left => format!("{c}{pad}"),
                    Align::Right => format!("{pad}{c}"),
                }
            })
            .collect();
        padded.join("  ").trim_end().to_string()
    };
    let mut out = vec![line(&header)];
    out.push(
        widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .join("  "),
    );
    out.extend(rows.iter().map(|r| line(r)));
    out
}

/// `s` cut to at most `max` UTF-16 units, ending in `…` when cut.
pub fn clip(s: &str, max: usize) -> String {
    if utf16_len(s) <= max {
        return s.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        if used + c.len_utf16() + 1 > max {
            break;
        }
        used += c.len_utf16();
        out.push(c);
    }
    out.push('…');
    out
}

/// A markup text cut to at most `max` UTF-16 units: at the last line break that fits when there
/// is one, without leaving half an entity (`&amp;`) or a dangling escape (`\`), with `…` on a
/// line of its own and an open `fence` (code block) closed again.
pub fn clip_block(s: &str, max: usize, fence: &str) -> String {
    if utf16_len(s) <= max {
        return s.to_string();
    }
    // Room for "\n…" and "\n" + fence.
    let room = max.saturating_sub(3 + utf16_len(fence));
    let mut cut = String::new();
    let mut used = 0;
    for c in s.chars() {
        if used + c.len_utf16() > room {
            break;
        }
        used += c.len_utf16();
        cut.push(c);
    }
    if let Some(i) = cut.rfind('\n') {
        if i > 0 {
            cut.truncate(i);
        }
    }
    if let Some(i) = cut.rfind('&') {
        if !cut[i..].contains(';') {
            cut.truncate(i);
        }
    }
    let trailing = cut.len() - cut.trim_end_matches('\\').len();
    if trailing % 2 == 1 {
        cut.pop();
    }
    let open = !fence.is_empty() && cut.matches(fence).count() % 2 == 1;
    let mut out = format!("{cut}\n…");
    if open {
        out.push('\n');
        out.push_str(fence);
    }
    out
}

/// A platform's error body as text for an outcome's reason: lossy UTF-8, token-bearing URLs
/// masked (`secrets::redact`), at most 300 characters.
pub(crate) fn reason_text(body: &[u8]) -> String {
    let text = redact(String::from_utf8_lossy(body).trim());
    let mut out: String = text.chars().take(300).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}
