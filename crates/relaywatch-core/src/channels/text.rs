//! Text helpers the chat dialects share: one escape per dialect (Slack mrkdwn, Discord markdown,
//! DingTalk/WeCom markdown, Feishu card markdown, Telegram HTML), UTF-16 sizing, display width
//! with CJK counted double, monospace tables aligned by display width, clipping that keeps markup
//! whole, and error bodies as redacted reasons. Rule: data escaped here can never become markup,
//! a link, an entity, a mention or a second line, and carries no control or bidi character. Pure.

use crate::render::clean;
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

/// Columns a character takes in a monospace font (see [`clean::char_width`]).
pub fn char_width(c: char) -> usize {
    clean::char_width(c)
}

/// Columns a text takes in a monospace font: East Asian wide = 2 (see [`clean::width`]).
pub fn display_width(s: &str) -> usize {
    clean::width(s)
}

/// A table as plain monospace lines: header, a rule of `-`, then the rows, every column padded
/// to its widest cell by display width (CJK counts double) and aligned as the column says.
/// Cells are single-line; the caller escapes the lines for its dialect.
pub fn text_table(t: &Table) -> Vec<String> {
    let cell = |s: &str| plain(s);
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

/// Data as one line of plain text that no client turns into a link: hidden characters
/// (controls, bidi, invisible) dropped, line breaks as spaces, bare URLs defused
/// ([`clean::defuse_autolinks`]), `[x](url)` broken by a zero-width space between `]` and `(`.
/// What table cells in code blocks and plain-text fields get; every dialect escape starts here.
pub fn plain(s: &str) -> String {
    let line: String = s.chars().filter_map(clean::line_char).collect();
    let line = clean::defuse_autolinks(&line);
    if line.contains("](") {
        line.replace("](", "]\u{200B}(")
    } else {
        line
    }
}

fn one_line(s: &str) -> String {
    plain(s)
}

/// `&`, `<`, `>` as entities: all that Slack mrkdwn and Telegram HTML parse in text.
fn entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in one_line(s).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            _ => out.push(c),
        }
    }
    out
}

/// Slack mrkdwn: only `&`, `<` and `>` (Slack's rule), which keeps data from forming
/// `<url|link>`, `<@U…>` or `<!channel>`, and shows `&amp;` as typed.
/// <https://api.slack.com/reference/surfaces/formatting#escaping>
pub fn escape_mrkdwn(s: &str) -> String {
    entities(s)
}

/// Telegram HTML parse mode: `&`, `<`, `>` (all Telegram needs outside tags).
/// <https://core.telegram.org/bots/api#html-style>
pub fn escape_html(s: &str) -> String {
    entities(s)
}

/// Discord markdown: `\`, `*`, `_`, `~`, `` ` ``, `|`, `>`, `<`, `[`, `]`, `#` get a backslash
/// (no bold, spoiler, quote, heading, masked link, `<@id>` mention), `@` a zero-width space after
/// it (no `@everyone`). Discord shows entities as typed.
pub fn escape_discord(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in one_line(s).chars() {
        match c {
            '\\' | '*' | '_' | '~' | '`' | '|' | '>' | '<' | '[' | ']' | '#' => {
                out.push('\\');
                out.push(c);
            }
            '@' => out.push_str("@\u{200B}"),
            _ => out.push(c),
        }
    }
    out
}

/// Markdown of the Chinese robots (DingTalk, WeCom `markdown` and `markdown_v2`), as little as
/// keeps data from turning into markup (a stray backslash shows in clients that do not take
/// escapes): `\\`, `*` and `` ` `` with a backslash, `&`, `<` and `>` as entities (the robots
/// render HTML: `<overloaded_error>` is no tag and `&amp;` shows as typed), `[x](url)` broken
/// between `]` and `(` ([`plain`]). `_` is left alone (inside a word it is no emphasis).
pub fn escape_robot_markdown(s: &str) -> String {
    markdown_with(s, &['\\', '*', '`'])
}

/// Feishu card markdown: as [`escape_robot_markdown`], and `~` too (strikethrough); `<` `>`
/// matter doubly here, the card takes `<font>` and `<at>` tags.
pub fn escape_card_markdown(s: &str) -> String {
    markdown_with(s, &['\\', '*', '~', '`'])
}

fn markdown_with(s: &str, backslashed: &[char]) -> String {
    let mut out = String::with_capacity(s.len());
    for c in one_line(s).chars() {
        match c {
            c if backslashed.contains(&c) => {
                out.push('\\');
                out.push(c);
            }
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            _ => out.push(c),
        }
    }
    out
}

/// The longest run of whole leading lines of `s` that, with a last line "…", measures at most
/// `max`: the last resort when a rendered text is over a platform's limit, so a cut never falls
/// inside a cell, a `**` pair or a character. `s` itself when it fits.
pub fn cut_lines(s: &str, max: usize, measure: impl Fn(&str) -> usize) -> String {
    if measure(s) <= max {
        return s.to_string();
    }
    let mut out = String::new();
    for line in s.lines() {
        let candidate = if out.is_empty() {
            line.to_string()
        } else {
            format!("{out}\n{line}")
        };
        if measure(&format!("{candidate}\n…")) > max {
            break;
        }
        out = candidate;
    }
    if out.is_empty() {
        "…".to_string()
    } else {
        format!("{out}\n…")
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_dialect_defuses_links_entities_and_controls() {
        let data = "[x](http://evil.example) &amp; <b>\u{0}\u{7}\u{1b}\u{202E}\n**b**";
        assert_eq!(
            escape_mrkdwn(data),
            "[x]\u{200B}(http:\u{200B}//evil.example) &amp;amp; &lt;b&gt; **b**"
        );
        assert_eq!(escape_html(data), escape_mrkdwn(data));
        assert_eq!(
            escape_robot_markdown(data),
            "[x]\u{200B}(http:\u{200B}//evil.example) &amp;amp; &lt;b&gt; \\*\\*b\\*\\*"
        );
        assert_eq!(escape_card_markdown("~~s~~ &lt;"), "\\~\\~s\\~\\~ &amp;lt;");
        assert_eq!(
            escape_discord(data),
            "\\[x\\]\u{200B}(http:\u{200B}//evil.example) &amp; \\<b\\> \\*\\*b\\*\\*"
        );
        assert_eq!(plain("a\tb\u{2066}c"), "a bc");
    }

    #[test]
    fn cuts_fall_between_lines() {
        let text = "**a**\n**bb**\n**ccc**";
        assert_eq!(cut_lines(text, 100, str::len), text);
        assert_eq!(cut_lines(text, 16, str::len), "**a**\n**bb**\n…");
        assert_eq!(cut_lines(text, 9, str::len), "**a**\n…");
        assert_eq!(cut_lines("研发部研发部", 4, str::len), "…");
        let table = text_table(&Table {
            columns: vec![crate::render::message::Column {
                header: "Key".into(),
                align: Align::Left,
            }],
            rows: vec![vec!["a\u{0}\nb\u{202E}".into()]],
        });
        assert_eq!(table, vec!["Key", "---", "a b"]);
    }
}
