//! Slack incoming webhooks: a Message as Block Kit (header, mrkdwn sections, fact fields, a
//! context footer) with a top-level `text` fallback. Rule: every text taken from the Message is
//! mrkdwn-escaped (`&`, `<`, `>`) and sent `verbatim`, so data can never become a link, a
//! mention or a channel reference, and no block exceeds Slack's limits (`budget::fit` first,
//! clipping as the last resort). Also holds the helpers Discord and Telegram share: UTF-16
//! sizing, monospace tables aligned by display width, clipping and error-body redaction.
//!
//! Charts: an incoming webhook cannot upload files (images need a public URL or a bot token),
//! so the chart PNGs are not sent; the report already carries the same figures as its tables
//! (top keys, models, trend), which Slack shows as aligned monospace code blocks.

use std::time::Duration;

use serde_json::{json, Value};

use super::{budget, retry_after, Body, EncodeContext, Limits, Outcome, Request, SizeUnit};
use crate::render::message::{Align, Fact, Message, Section, Table};
use crate::secrets::redact;

/// Blocks in one message. <https://api.slack.com/reference/block-kit/blocks>
pub const MAX_BLOCKS: usize = 50;
/// Characters of a section block's `text`.
/// <https://api.slack.com/reference/block-kit/blocks#section>
pub const SECTION_TEXT_MAX: usize = 3000;
/// Fields in one section block. <https://api.slack.com/reference/block-kit/blocks#section>
pub const MAX_FIELDS: usize = 10;
/// Characters of one section field. <https://api.slack.com/reference/block-kit/blocks#section>
pub const FIELD_TEXT_MAX: usize = 2000;
/// Characters of a header block's plain text. <https://api.slack.com/reference/block-kit/blocks#header>
pub const HEADER_TEXT_MAX: usize = 150;
/// Characters of a context element's text (a text object's limit).
/// <https://api.slack.com/reference/block-kit/blocks#context>
pub const CONTEXT_TEXT_MAX: usize = 3000;
/// Characters of the top-level `text`; Slack truncates longer messages.
/// <https://api.slack.com/methods/chat.postMessage#truncating>
pub const FALLBACK_TEXT_MAX: usize = 40_000;
/// "Posting messages: 1 per second, short bursts allowed".
/// <https://api.slack.com/docs/rate-limits>
pub const RATE: u32 = 1;
/// The window of [`RATE`]. <https://api.slack.com/docs/rate-limits>
pub const RATE_PER: Duration = Duration::from_secs(1);

/// Error words of an incoming webhook after which the URL will not work until a person fixes
/// the channel (the webhook was removed, the channel deleted or archived, the workspace
/// disabled): the channel is disabled rather than failed message by message.
/// <https://api.slack.com/messaging/webhooks#handling_errors>
pub const GONE_ERRORS: [&str; 5] = [
    "channel_not_found",
    "channel_is_archived",
    "no_service",
    "no_team",
    "team_disabled",
];

pub fn limits() -> Limits {
    Limits {
        rate: RATE,
        per: RATE_PER,
        max_text: SECTION_TEXT_MAX,
        unit: SizeUnit::Chars,
        images: false,
    }
}

/// The Block Kit payloads for `msg`: one request per part `budget::fit` makes.
pub fn encode(msg: &Message, ctx: &EncodeContext) -> Vec<Request> {
    budget::fit(msg, SECTION_TEXT_MAX, SizeUnit::Chars, |m| {
        stand_in(fit_size(m))
    })
    .iter()
    .map(|m| Request {
        url: ctx.url.clone(),
        headers: Vec::new(),
        body: Body::Json { value: payload(m) },
    })
    .collect()
}

/// What Slack's answer means. `channel_not_found`, `channel_is_archived`, `no_service`,
/// `no_team`, `team_disabled` (and any 410) disable the channel; 408, 429 and 5xx are retried
/// (`Retry-After` honoured); other 4xx (`invalid_payload`, `invalid_token`, `action_prohibited`…)
/// fail; an error word containing `too_long` asks for a smaller message.
pub fn classify(status: u16, headers: &[(String, String)], body: &[u8]) -> Outcome {
    let text = reason_text(body);
    let word = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .find(|w| !w.is_empty())
        .unwrap_or("");
    let reason = format!("HTTP {status}: {text}");
    match status {
        200..=299 => Outcome::Delivered { code: None },
        408 | 429 | 500..=599 => Outcome::Retry {
            after: retry_after(headers),
            reason,
            code: None,
        },
        _ if status == 410 || GONE_ERRORS.contains(&word) => {
            Outcome::Disable { reason, code: None }
        }
        _ if word.contains("too_long") => Outcome::TooLong { reason, code: None },
        _ => Outcome::Fail { reason, code: None },
    }
}

/// Escape text for mrkdwn: only `&`, `<` and `>` (Slack's rule), which is what keeps data from
/// forming `<url|link>`, `<@U…>` or `<!channel>`.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            _ => out.push(c),
        }
    }
    out
}

/// One block before it becomes JSON; texts are final mrkdwn (or plain text for the header).
enum Block {
    Header(String),
    Section {
        text: Option<String>,
        fields: Vec<String>,
    },
    Context(String),
}

fn field(f: &Fact) -> String {
    format!("*{}*\n{}", escape(&f.label), escape(&f.value))
}

fn code_block(t: &Table) -> String {
    let lines: Vec<String> = text_table(t)
        .iter()
        .map(|l| escape(&l.replace('`', "ˋ")))
        .collect();
    format!("```\n{}\n```", lines.join("\n"))
}

/// A Section as blocks, in the Message's order: title (with the first ten facts as fields when
/// it has facts), further facts, then table and text.
fn section_blocks(s: &Section, out: &mut Vec<Block>) {
    let mut lines = Vec::new();
    if !s.title.is_empty() {
        lines.push(format!("*{}*", escape(&s.title)));
    }
    for (i, chunk) in s.facts.chunks(MAX_FIELDS).enumerate() {
        out.push(Block::Section {
            text: (i == 0 && !lines.is_empty()).then(|| lines.remove(0)),
            fields: chunk.iter().map(field).collect(),
        });
    }
    if let Some(t) = &s.table {
        lines.push(code_block(t));
    }
    if let Some(text) = &s.text {
        for line in text.lines() {
            lines.push(format!("> {}", escape(line)));
        }
    }
    if !lines.is_empty() {
        out.push(Block::Section {
            text: Some(lines.join("\n")),
            fields: Vec::new(),
        });
    }
}

fn blocks(m: &Message) -> Vec<Block> {
    let mut out = vec![Block::Header(format!("{} {}", m.level.emoji(), m.title))];
    if let Some(s) = &m.summary {
        out.push(Block::Section {
            text: Some(escape(s)),
            fields: Vec::new(),
        });
    }
    for chunk in m.facts.chunks(MAX_FIELDS) {
        out.push(Block::Section {
            text: None,
            fields: chunk.iter().map(field).collect(),
        });
    }
    for s in &m.sections {
        section_blocks(s, &mut out);
    }
    if let Some(f) = &m.footer {
        out.push(Block::Context(escape(f)));
    }
    out
}

/// The size `budget::fit` compares with [`SECTION_TEXT_MAX`]: the longest section text, or more
/// than the budget when the message needs more than [`MAX_BLOCKS`] blocks.
fn fit_size(m: &Message) -> usize {
    let b = blocks(m);
    if b.len() > MAX_BLOCKS {
        return SECTION_TEXT_MAX + 1;
    }
    b.iter()
        .map(|b| match b {
            Block::Section { text: Some(t), .. } => utf16_len(t),
            _ => 0,
        })
        .max()
        .unwrap_or(0)
}

fn mrkdwn(text: &str) -> Value {
    json!({ "type": "mrkdwn", "text": text, "verbatim": true })
}

fn payload(m: &Message) -> Value {
    let mut fallback = escape(&format!("{} {}", m.level.emoji(), m.title));
    if let Some(s) = &m.summary {
        fallback.push('\n');
        fallback.push_str(&escape(s));
    }
    let blocks: Vec<Value> = blocks(m)
        .into_iter()
        .take(MAX_BLOCKS)
        .map(|b| match b {
            Block::Header(t) => json!({
                "type": "header",
                "text": { "type": "plain_text", "text": clip(&t, HEADER_TEXT_MAX), "emoji": true },
            }),
            Block::Section { text, fields } => {
                let mut v = json!({ "type": "section" });
                if let Some(t) = text {
                    v["text"] = mrkdwn(&clip_block(&t, SECTION_TEXT_MAX, "```"));
                }
                if !fields.is_empty() {
                    v["fields"] = fields
                        .iter()
                        .map(|f| mrkdwn(&clip_block(f, FIELD_TEXT_MAX, "```")))
                        .collect();
                }
                v
            }
            Block::Context(t) => json!({
                "type": "context",
                "elements": [mrkdwn(&clip_block(&t, CONTEXT_TEXT_MAX, "```"))],
            }),
        })
        .collect();
    json!({
        "text": clip_block(&fallback, FALLBACK_TEXT_MAX, "```"),
        "blocks": blocks,
        "unfurl_links": false,
        "unfurl_media": false,
    })
}

// ---- helpers shared with the Discord and Telegram channels ----

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::message::Column;

    #[test]
    fn escapes_only_what_slack_parses() {
        assert_eq!(
            escape("a & <!channel> <@U1|x>"),
            "a &amp; &lt;!channel&gt; &lt;@U1|x&gt;"
        );
        assert_eq!(escape("研发部-主力 *x*"), "研发部-主力 *x*");
    }

    #[test]
    fn tables_align_by_display_width() {
        let t = Table {
            columns: vec![
                Column {
                    header: "Key".into(),
                    align: Align::Left,
                },
                Column {
                    header: "Cost".into(),
                    align: Align::Right,
                },
            ],
            rows: vec![
                vec!["研发部-主力".into(), "$1.00".into()],
                vec!["ops".into(), "$10.00".into()],
            ],
        };
        let lines = text_table(&t);
        assert_eq!(
            lines,
            vec![
                "Key            Cost",
                "-----------  ------",
                "研发部-主力   $1.00",
                "ops          $10.00",
            ]
        );
        let widths: Vec<usize> = lines.iter().map(|l| display_width(l)).collect();
        assert_eq!(widths, vec![19, 19, 19, 19]);
    }

    #[test]
    fn clipping_keeps_markup_whole() {
        let text = format!("*t*\n```\n{}\n```", "a &amp; b\n".repeat(50));
        let c = clip_block(&text, 100, "```");
        assert!(utf16_len(&c) <= 100, "{c}");
        assert!(c.ends_with("…\n```"), "{c}");
        assert_eq!(c.matches("```").count(), 2);
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("abc", 4), "abc");
    }
}
