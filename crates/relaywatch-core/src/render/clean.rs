//! Data made safe to show: control, bidi and invisible characters removed, line breaks in names
//! flattened, names cut to a display width with "…", widths counted as a monospace font draws
//! them (East Asian wide = 2 columns, `unicode-width`). Rule: every name or text from the relay
//! (key names, model ids, account and user names, error texts) passes through here where a
//! Message or chart is built, so every platform, `report.md` and the charts see one cleaned
//! value. Pure.

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Columns a name (key, model, account, user) takes at most in any message or chart.
pub const NAME_COLUMNS: usize = 64;
/// The mark a cut text ends with.
pub const ELLIPSIS: char = '…';

/// Bidirectional formatting characters: embeddings and overrides (U+202A–202E), isolates
/// (U+2066–2069), marks (U+200E, U+200F, U+061C). A right-to-left override in a name would
/// reverse whatever follows it in a chat line or a table.
fn is_bidi(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Invisible characters that only hide or disguise text: zero-width space, word joiner and
/// invisible operators, the byte order mark, soft hyphen, Mongolian vowel separator, deprecated
/// format characters and interlinear annotations. Zero-width joiners (ZWJ, ZWNJ) stay: emoji and
/// several scripts need them.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{180E}'
            | '\u{200B}'
            | '\u{2060}'..='\u{2064}'
            | '\u{206A}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
    )
}

/// Characters that break a line (or pretend to): they become one space in a name.
fn is_break(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{0B}' | '\u{0C}' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}'
    )
}

/// What a character of data becomes on one line: `None` when it is dropped (C0/C1 controls such
/// as NUL, BEL, ESC and DEL, bidi controls, invisible characters), a space for a line break or
/// tab, itself otherwise.
pub fn line_char(c: char) -> Option<char> {
    if is_break(c) {
        Some(' ')
    } else if c.is_control() || is_bidi(c) || is_invisible(c) {
        None
    } else {
        Some(c)
    }
}

/// Whether `c` never reaches a message: a control other than a line break, a bidi control or an
/// invisible character.
pub fn is_hidden(c: char) -> bool {
    !is_break(c) && line_char(c).is_none()
}

/// `s` on one line: hidden characters dropped, line breaks and tabs as spaces, ends trimmed.
pub fn line(s: &str) -> String {
    s.chars()
        .filter_map(line_char)
        .collect::<String>()
        .trim()
        .to_string()
}

/// `s` with its lines kept (`\r\n` and `\r` as `\n`), everything else as in [`line`].
pub fn text(s: &str) -> String {
    s.replace("\r\n", "\n")
        .replace('\r', "\n")
        .split('\n')
        .map(|l| l.chars().filter_map(line_char).collect::<String>())
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_string()
}

/// Columns a character takes in a monospace font: two for East Asian wide and fullwidth
/// characters, none for combining marks and controls, one otherwise.
pub fn char_width(c: char) -> usize {
    c.width().unwrap_or(0)
}

/// Columns a text takes in a monospace font (emoji presentation sequences count two).
pub fn width(s: &str) -> usize {
    s.width()
}

/// `s` cut to at most `columns` display columns, ending in "…" when cut; never splits a
/// character.
pub fn cut(s: &str, columns: usize) -> String {
    if width(s) <= columns {
        return s.to_string();
    }
    let room = columns.saturating_sub(1);
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = char_width(c);
        if used + w > room {
            break;
        }
        used += w;
        out.push(c);
    }
    let mut out = out.trim_end().to_string();
    out.push(ELLIPSIS);
    out
}

/// A name as every message and chart shows it: one clean line of at most [`NAME_COLUMNS`].
pub fn name(s: &str) -> String {
    cut(&line(s), NAME_COLUMNS)
}

/// `s` with bare URLs defused for clients that turn them into links on their own: a zero-width
/// space after `:` in `://` and after `www` in `www.` (any case). The text reads the same; it is
/// just no longer a link.
pub fn defuse_autolinks(s: &str) -> String {
    let lower = s.to_ascii_lowercase();
    let mut cuts: Vec<usize> = lower.match_indices("://").map(|(i, _)| i + 1).collect();
    cuts.extend(lower.match_indices("www.").map(|(i, _)| i + 3));
    if cuts.is_empty() {
        return s.to_string();
    }
    cuts.sort_unstable();
    let mut out = String::with_capacity(s.len() + 3 * cuts.len());
    let mut from = 0;
    for at in cuts {
        out.push_str(&s[from..at]);
        out.push('\u{200B}');
        from = at;
    }
    out.push_str(&s[from..]);
    out
}

/// Every string of a JSON value (the generic webhook's `data`) with hidden characters dropped;
/// line breaks kept, nothing cut: machine-readable data stays whole.
pub fn json_strings(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::String(s) if s.chars().any(is_hidden) => {
            *s = s.chars().filter(|c| !is_hidden(*c)).collect();
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(json_strings),
        serde_json::Value::Object(map) => map.values_mut().for_each(json_strings),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_bidi_are_removed() {
        assert_eq!(line("a\u{0}b\u{7}c\u{1b}[31md"), "abc[31md");
        assert_eq!(line("evil\u{202E}gnp.exe"), "evilgnp.exe");
        assert_eq!(line("x\u{2066}y\u{2069}\u{200F}z\u{061C}"), "xyz");
        assert_eq!(line("zero\u{200B}width\u{FEFF}"), "zerowidth");
        assert_eq!(line("two\nlines\tand\r\ntabs"), "two lines and  tabs");
        assert_eq!(line("del\u{7f}c1\u{9b}"), "delc1");
        // Joiners stay: emoji sequences and scripts need them.
        assert_eq!(line("👩\u{200D}💻"), "👩\u{200D}💻");
        assert_eq!(text("a\u{1b}\r\nb\u{202E}\rc"), "a\nb\nc");
    }

    #[test]
    fn bare_urls_are_defused() {
        assert_eq!(
            defuse_autolinks("see http://evil.example and WWW.x.y"),
            "see http:\u{200B}//evil.example and WWW\u{200B}.x.y"
        );
        assert_eq!(defuse_autolinks("研发 plain"), "研发 plain");
    }

    #[test]
    fn names_are_cut_by_display_width() {
        assert_eq!(name(&"a".repeat(10_000)).chars().count(), NAME_COLUMNS);
        assert!(name(&"a".repeat(10_000)).ends_with('…'));
        let cjk = name(&"研".repeat(100));
        assert!(width(&cjk) <= NAME_COLUMNS, "{cjk}");
        assert_eq!(cjk, format!("{}…", "研".repeat(31)));
        assert_eq!(name("  short  "), "short");
        assert_eq!(cut("研发部", 5), "研发…");
        assert_eq!(cut("研发部", 6), "研发部");
        assert_eq!(width("研发-ab"), 7);
        assert_eq!(char_width('\u{0301}'), 0);
    }

    #[test]
    fn json_strings_are_cleaned_not_cut() {
        let mut v = serde_json::json!({"k": ["a\u{202E}b", {"n": "x\u{0}y\nz"}], "n": 1});
        json_strings(&mut v);
        assert_eq!(v, serde_json::json!({"k": ["ab", {"n": "xy\nz"}], "n": 1}));
    }
}
