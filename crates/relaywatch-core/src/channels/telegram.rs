//! Telegram Bot API: a Message as `sendMessage` texts in HTML parse mode and each chart as a
//! `sendDocument` upload. Rule: every text from the Message is HTML-escaped (`<`, `>`, `&`), so
//! data can never become a tag, a link or a mention, and no text exceeds 4096 characters nor a
//! caption 1024 (`budget::fit`, then a split at line boundaries that closes and reopens tags).
//!
//! The channel's `url` secret holds the bot token alone and `chat_id` the chat; requests go to
//! `{api_base}/bot{token}/{method}` (`api_base` defaults to <https://api.telegram.org>). Charts go
//! through `sendDocument`, not `sendPhoto`: photos are recompressed to JPEG, which blurs the thin
//! lines and small labels of a chart; a document keeps the PNG as rendered.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::text::{clip, reason_text, stand_in, text_table};
use super::{budget, retry_after, Body, EncodeContext, Limits, Outcome, Part, Request, SizeUnit};
use crate::render::message::{ChartImage, Message};
use crate::secrets::Secret;

/// The public Bot API server. <https://core.telegram.org/bots/api#making-requests>
pub const DEFAULT_API_BASE: &str = "https://api.telegram.org";
/// Characters of a message text after entity parsing. <https://core.telegram.org/bots/api#sendmessage>
pub const TEXT_MAX: usize = 4096;
/// Characters of a document caption after entity parsing. <https://core.telegram.org/bots/api#senddocument>
pub const CAPTION_MAX: usize = 1024;
/// Messages per [`RATE_PER`] to one group ("no more than 20 messages per minute to the same
/// group"; a private chat takes about one a second).
/// <https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this>
pub const RATE: u32 = 20;
/// The window of [`RATE`]. <https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this>
pub const RATE_PER: Duration = Duration::from_secs(60);

pub fn limits() -> Limits {
    Limits {
        rate: RATE,
        per: RATE_PER,
        max_text: TEXT_MAX,
        unit: SizeUnit::Chars,
        images: true,
    }
}

/// The `sendMessage` requests for `msg` (every part `budget::fit` makes, each split further at
/// line boundaries if still too long), then one `sendDocument` per chart.
pub fn encode(msg: &Message, ctx: &EncodeContext) -> Vec<Request> {
    let base = ctx
        .api_base
        .as_deref()
        .unwrap_or(DEFAULT_API_BASE)
        .trim_end_matches('/');
    let url = |method: &str| Secret::new(format!("{base}/bot{}/{method}", ctx.url.expose()));
    let chat_id = ctx.chat_id.clone().unwrap_or_default();
    let parts = budget::fit(msg, TEXT_MAX, SizeUnit::Chars, |m| {
        stand_in(visible_len(&render(m)))
    });
    let mut out = Vec::new();
    for p in &parts {
        for text in split_html(&render(p), TEXT_MAX) {
            out.push(Request {
                url: url("sendMessage"),
                headers: Vec::new(),
                body: Body::Json {
                    value: json!({
                        "chat_id": chat_id,
                        "text": text,
                        "parse_mode": "HTML",
                        "disable_web_page_preview": true,
                    }),
                },
            });
        }
    }
    for chart in parts.iter().flat_map(|p| &p.charts) {
        out.push(Request {
            url: url("sendDocument"),
            headers: Vec::new(),
            body: Body::Multipart {
                parts: document_parts(&chat_id, chart),
            },
        });
    }
    out
}

/// What the Bot API's answer means: `{"ok":true}` delivered; 429 retried after
/// `parameters.retry_after` (or `Retry-After`); 5xx retried; "message is too long" and the like
/// too long; every other error (400 "chat not found", 401, 403 "bot was blocked by the user",
/// a group upgraded to a supergroup…) fails for good, with Telegram's `description`.
pub fn classify(
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
    now: DateTime<Utc>,
) -> Outcome {
    let json: Option<Value> = serde_json::from_slice(body).ok();
    let ok = json.as_ref().and_then(|v| v["ok"].as_bool());
    let code = json.as_ref().and_then(|v| v["error_code"].as_i64());
    let status = match (status, code) {
        // The HTTP status mirrors `error_code`; trust the body when a proxy says 200.
        (200..=299, Some(c)) if ok == Some(false) => u16::try_from(c).unwrap_or(status),
        _ => status,
    };
    let description = json
        .as_ref()
        .and_then(|v| v["description"].as_str())
        .map(|d| mask_bot_tokens(&reason_text(d.as_bytes())))
        .unwrap_or_else(|| mask_bot_tokens(&reason_text(body)));
    let mut reason = format!("HTTP {status}: {description}");
    if let Some(to) = json
        .as_ref()
        .and_then(|v| v["parameters"]["migrate_to_chat_id"].as_i64())
    {
        reason.push_str(&format!(" (migrate_to_chat_id {to})"));
    }
    let lower = description.to_ascii_lowercase();
    match status {
        200..=299 if ok != Some(false) => Outcome::Delivered { code: None },
        429 => Outcome::Retry {
            after: json
                .as_ref()
                .and_then(|v| v["parameters"]["retry_after"].as_f64())
                .and_then(super::pause_from_secs)
                .or_else(|| retry_after(headers, now)),
            reason,
            code,
        },
        408 | 500..=599 => Outcome::Retry {
            after: retry_after(headers, now),
            reason,
            code,
        },
        _ if lower.contains("too long") => Outcome::TooLong { reason, code },
        _ => Outcome::Fail { reason, code },
    }
}

/// Escape text for HTML parse mode (see [`crate::channels::text::escape_html`]).
pub use super::text::escape_html as escape;

/// The whole message as Bot API HTML: bold title and labels, tables in `<pre>`, section text in
/// `<blockquote>`, the footer in italics.
pub fn render(m: &Message) -> String {
    let mut blocks = Vec::new();
    let mut head = format!(
        "<b>{}</b>",
        escape(&format!("{} {}", m.level.emoji(), m.title))
    );
    if let Some(s) = &m.summary {
        head.push('\n');
        head.push_str(&escape(s));
    }
    blocks.push(head);
    if !m.facts.is_empty() {
        let lines: Vec<String> = m
            .facts
            .iter()
            .map(|f| format!("<b>{}</b>: {}", escape(&f.label), escape(&f.value)))
            .collect();
        blocks.push(lines.join("\n"));
    }
    for s in &m.sections {
        let mut lines = Vec::new();
        if !s.title.is_empty() {
            lines.push(format!("<b>{}</b>", escape(&s.title)));
        }
        for f in &s.facts {
            lines.push(format!("<b>{}</b>: {}", escape(&f.label), escape(&f.value)));
        }
        if let Some(t) = &s.table {
            let rows: Vec<String> = text_table(t).iter().map(|l| escape(l)).collect();
            lines.push(format!("<pre>{}</pre>", rows.join("\n")));
        }
        if let Some(text) = &s.text {
            let quoted: Vec<String> = text.lines().map(escape).collect();
            lines.push(format!("<blockquote>{}</blockquote>", quoted.join("\n")));
        }
        if !lines.is_empty() {
            blocks.push(lines.join("\n"));
        }
    }
    if let Some(f) = &m.footer {
        blocks.push(format!("<i>{}</i>", escape(f)));
    }
    blocks.join("\n\n")
}

fn document_parts(chat_id: &str, chart: &ChartImage) -> Vec<Part> {
    let text = |name: &str, value: String| Part {
        name: name.into(),
        filename: None,
        content_type: "text/plain; charset=utf-8".into(),
        bytes: value.into_bytes(),
    };
    vec![
        text("chat_id", chat_id.to_string()),
        Part {
            name: "document".into(),
            filename: Some(format!("{}.png", chart.stem)),
            content_type: "image/png".into(),
            bytes: chart.png.as_ref().clone(),
        },
        text(
            "caption",
            format!("<b>{}</b>", escape(&clip(&chart.title, CAPTION_MAX))),
        ),
        text("parse_mode", "HTML".into()),
    ]
}

/// One piece of Bot API HTML as generated here: a tag, an entity, or a character.
enum Token<'a> {
    Open { name: &'a str, text: &'a str },
    Close,
    Visible { text: &'a str, units: usize },
}

fn tokens(html: &str) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < html.len() {
        let rest = &html[i..];
        let len = if rest.starts_with('<') {
            let end = rest.find('>').map_or(rest.len(), |e| e + 1);
            let tag = &rest[..end];
            if tag.starts_with("</") {
                out.push(Token::Close);
            } else {
                let name = tag[1..].split([' ', '>']).next().unwrap_or("");
                out.push(Token::Open { name, text: tag });
            }
            end
        } else if rest.starts_with('&') && rest.find(';').is_some_and(|e| e <= 8) {
            let end = rest.find(';').unwrap_or(0) + 1;
            out.push(Token::Visible {
                text: &rest[..end],
                units: 1,
            });
            end
        } else {
            let c = rest.chars().next().unwrap_or(' ');
            let n = c.len_utf8();
            out.push(Token::Visible {
                text: &rest[..n],
                units: c.len_utf16(),
            });
            n
        };
        i += len;
    }
    out
}

/// The length Telegram counts: the text after entity parsing (tags gone, entities one
/// character), in UTF-16 units.
pub fn visible_len(html: &str) -> usize {
    tokens(html)
        .iter()
        .map(|t| match t {
            Token::Visible { units, .. } => *units,
            _ => 0,
        })
        .sum()
}

/// Split generated HTML into pieces of at most `max` visible units, at line breaks where
/// possible (anywhere between characters otherwise); tags open at a cut are closed at the end of
/// one piece and opened again at the start of the next.
pub fn split_html(html: &str, max: usize) -> Vec<String> {
    let toks = tokens(html);
    let mut pieces = Vec::new();
    let mut open: Vec<(&str, &str)> = Vec::new();
    let mut start = 0;
    while start < toks.len() {
        let mut used = 0;
        let mut end = start;
        let mut last_break = None;
        while end < toks.len() {
            if let Token::Visible { text, units } = &toks[end] {
                if used + units > max {
                    break;
                }
                used += units;
                if *text == "\n" && end > start {
                    last_break = Some(end);
                }
            }
            end += 1;
        }
        let (stop, next) = match last_break {
            _ if end == toks.len() => (end, end),
            Some(b) => (b, b + 1),
            None => (end.max(start + 1), end.max(start + 1)),
        };
        let mut piece: String = open.iter().map(|(_, text)| *text).collect();
        for t in &toks[start..stop] {
            match t {
                Token::Open { name, text } => {
                    open.push((name, text));
                    piece.push_str(text);
                }
                Token::Close => {
                    if let Some((name, _)) = open.pop() {
                        piece.push_str(&format!("</{name}>"));
                    }
                }
                Token::Visible { text, .. } => piece.push_str(text),
            }
        }
        for (name, _) in open.iter().rev() {
            piece.push_str(&format!("</{name}>"));
        }
        if visible_len(&piece) > 0 && !piece.trim().is_empty() {
            pieces.push(piece);
        }
        start = next;
        // A piece never starts with the blank line that separated two blocks.
        while matches!(toks.get(start), Some(Token::Visible { text: "\n", .. })) {
            start += 1;
        }
    }
    pieces
}

/// Mask anything shaped like a bot token (`123456:AA…`) in an error text: the Bot API puts the
/// token in the path, and a proxy in front of it may echo the path back.
fn mask_bot_tokens(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let digits_start = i;
        let mut j = i;
        while j < chars.len() && chars[j].is_ascii_digit() {
            j += 1;
        }
        if j - digits_start >= 5 && chars.get(j) == Some(&':') {
            let mut k = j + 1;
            while k < chars.len()
                && (chars[k].is_ascii_alphanumeric() || chars[k] == '-' || chars[k] == '_')
            {
                k += 1;
            }
            if k - (j + 1) >= 5 {
                out.push_str("***");
                i = k;
                continue;
            }
        }
        if j > i {
            out.extend(&chars[i..j]);
            i = j;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escapes_data() {
        assert_eq!(escape("<b>&</b>"), "&lt;b&gt;&amp;&lt;/b&gt;");
        assert_eq!(visible_len("<b>a&amp;b</b>\n<pre>研发</pre>"), 6);
        assert_eq!(visible_len("📊"), 2);
    }

    #[test]
    fn split_closes_and_reopens_tags() {
        let html = format!(
            "<b>T</b>\n<pre>{}</pre>",
            "row &amp; x\n".repeat(10).trim_end()
        );
        let pieces = split_html(&html, 40);
        assert!(pieces.len() > 1);
        for p in &pieces {
            assert!(visible_len(p) <= 40, "{p}");
            assert_eq!(
                p.matches("<pre>").count(),
                p.matches("</pre>").count(),
                "{p}"
            );
        }
        assert!(pieces[1].starts_with("<pre>row"), "{}", pieces[1]);
        let long = "x".repeat(100);
        let pieces = split_html(&format!("<i>{long}</i>"), 30);
        assert_eq!(pieces.len(), 4);
        assert!(pieces
            .iter()
            .all(|p| p.starts_with("<i>") && p.ends_with("</i>")));
    }

    #[test]
    fn bot_tokens_are_masked() {
        assert_eq!(
            mask_bot_tokens("Unauthorized: /bot123456:ABC-def_ghi/sendMessage at 12:30"),
            "Unauthorized: /bot***/sendMessage at 12:30"
        );
    }
}
