//! Slack incoming webhooks: a Message as Block Kit (header, mrkdwn sections, fact fields, a
//! context footer) with a top-level `text` fallback. Rule: every text taken from the Message is
//! mrkdwn-escaped (`&`, `<`, `>`) and sent `verbatim`, so data can never become a link, a
//! mention or a channel reference, and no block exceeds Slack's limits (`budget::fit` first,
//! clipping as the last resort).
//!
//! Charts: an incoming webhook cannot upload files (images need a public URL or a bot token),
//! so the chart PNGs are not sent; the report already carries the same figures as its tables
//! (top keys, models, trend), which Slack shows as aligned monospace code blocks.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::text::{clip, clip_block, reason_text, stand_in, text_table, utf16_len};
use super::{budget, retry_after, Body, EncodeContext, Limits, Outcome, Request, SizeUnit};
use crate::render::clean;
use crate::render::message::{Fact, Message, Section, Table};

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
pub fn classify(
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
    now: DateTime<Utc>,
) -> Outcome {
    let text = reason_text(body);
    let word = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .find(|w| !w.is_empty())
        .unwrap_or("");
    let reason = format!("HTTP {status}: {text}");
    match status {
        200..=299 => Outcome::Delivered { code: None },
        408 | 429 | 500..=599 => Outcome::Retry {
            after: retry_after(headers, now),
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

/// Escape text for mrkdwn: `&`, `<` and `>` (see [`crate::channels::text::escape_mrkdwn`]).
pub use super::text::escape_mrkdwn as escape;

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
    let mut out = vec![Block::Header(format!(
        "{} {}",
        m.level.emoji(),
        clean::line(&m.title)
    ))];
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::text::display_width;
    use crate::render::message::{Align, Column};

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
