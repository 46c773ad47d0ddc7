//! Discord webhooks: a Message as one embed (title, description, level colour, inline fact
//! fields, footer, RFC 3339 timestamp) plus one embed per chart whose PNG is uploaded in the same
//! multipart request and shown through `attachment://{stem}.png`. Rule: data is escaped for
//! Discord markdown and `allowed_mentions` parses nothing, so no text from the Message can ping
//! anyone or break the layout, and every request stays within Discord's embed limits
//! (`budget::fit` over the 6000-character total, clipping as the last resort).

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};

use super::text::{clip, clip_block, reason_text, stand_in, text_table, utf16_len};
use super::{budget, retry_after, Body, EncodeContext, Limits, Outcome, Part, Request, SizeUnit};
use crate::render::clean;
use crate::render::message::{ChartImage, Message};
use crate::secrets::Secret;

/// Embeds in one message. <https://discord.com/developers/docs/resources/message#embed-object-embed-limits>
pub const MAX_EMBEDS: usize = 10;
/// Characters of an embed title. <https://discord.com/developers/docs/resources/message#embed-object-embed-limits>
pub const TITLE_MAX: usize = 256;
/// Characters of an embed description. <https://discord.com/developers/docs/resources/message#embed-object-embed-limits>
pub const DESCRIPTION_MAX: usize = 4096;
/// Fields in one embed. <https://discord.com/developers/docs/resources/message#embed-object-embed-limits>
pub const MAX_FIELDS: usize = 25;
/// Characters of a field name. <https://discord.com/developers/docs/resources/message#embed-object-embed-limits>
pub const FIELD_NAME_MAX: usize = 256;
/// Characters of a field value. <https://discord.com/developers/docs/resources/message#embed-object-embed-limits>
pub const FIELD_VALUE_MAX: usize = 1024;
/// Characters of an embed footer. <https://discord.com/developers/docs/resources/message#embed-object-embed-limits>
pub const FOOTER_MAX: usize = 2048;
/// Characters across every title, description, field, footer and author of a message's embeds.
/// <https://discord.com/developers/docs/resources/message#embed-object-embed-limits>
pub const EMBEDS_TOTAL_MAX: usize = 6000;
/// Characters of an attachment's description (alt text).
/// <https://discord.com/developers/docs/resources/message#attachment-object>
pub const ATTACHMENT_DESCRIPTION_MAX: usize = 1024;
/// Requests per [`RATE_PER`] for one webhook (Discord's limits are dynamic; this is the
/// long-observed webhook bucket; a 429 carries the exact wait).
/// <https://discord.com/developers/docs/topics/rate-limits>
pub const RATE: u32 = 5;
/// The window of [`RATE`]. <https://discord.com/developers/docs/topics/rate-limits>
pub const RATE_PER: Duration = Duration::from_secs(2);
/// The "Unknown Webhook" error code. <https://discord.com/developers/docs/topics/opcodes-and-status-codes#json>
pub const UNKNOWN_WEBHOOK: i64 = 10015;
/// "Request entity too large" (an upload over the size limit).
/// <https://discord.com/developers/docs/topics/opcodes-and-status-codes#json>
pub const ENTITY_TOO_LARGE: i64 = 40005;

pub fn limits() -> Limits {
    Limits {
        rate: RATE,
        per: RATE_PER,
        max_text: EMBEDS_TOTAL_MAX,
        unit: SizeUnit::Chars,
        images: true,
    }
}

/// The execute-webhook requests for `msg` (`?wait=true`, so success is a 200 with the message):
/// one per part `budget::fit` makes; the first carries the main embed and up to nine chart
/// embeds, further charts follow ten to a request.
/// <https://discord.com/developers/docs/resources/webhook#execute-webhook>
pub fn encode(msg: &Message, ctx: &EncodeContext) -> Vec<Request> {
    let url = Secret::new(with_wait(ctx.url.expose()));
    let mut out = Vec::new();
    for m in budget::fit(msg, EMBEDS_TOTAL_MAX, SizeUnit::Chars, |m| {
        stand_in(fit_size(m))
    }) {
        let files = files(&m.charts);
        let (first, rest) = files.split_at(files.len().min(MAX_EMBEDS - 1));
        let charts: Vec<Value> = first.iter().map(|f| chart_embed(&m, f)).collect();
        let mut main = main_embed(&m);
        let used: usize = charts.iter().map(embed_chars).sum();
        shrink(&mut main, EMBEDS_TOTAL_MAX.saturating_sub(used));
        let mut embeds = vec![main];
        embeds.extend(charts);
        out.push(request(&url, embeds, first));
        for chunk in rest.chunks(MAX_EMBEDS) {
            let embeds = chunk.iter().map(|f| chart_embed(&m, f)).collect();
            out.push(request(&url, embeds, chunk));
        }
    }
    out
}

/// What Discord's answer means: 2xx delivered; 429 retried after the body's `retry_after`
/// (float seconds) or `Retry-After`; 408 and 5xx retried; 404 disables the channel ("webhook
/// deleted": Discord asks callers never to use such a webhook again); 413 / 40005 and
/// `…_MAX_LENGTH` form errors are too long; other 4xx fail with Discord's `{code, message}`.
pub fn classify(
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
    now: DateTime<Utc>,
) -> Outcome {
    let json: Option<Value> = serde_json::from_slice(body).ok();
    let code = json.as_ref().and_then(|v| v["code"].as_i64());
    let text = match json.as_ref().and_then(|v| v["message"].as_str()) {
        Some(m) => reason_text(m.as_bytes()),
        None => reason_text(body),
    };
    let reason = match code {
        Some(c) => format!("HTTP {status}: {text} (code {c})"),
        None => format!("HTTP {status}: {text}"),
    };
    match status {
        200..=299 => Outcome::Delivered { code: None },
        429 => {
            let after = json
                .as_ref()
                .and_then(|v| v["retry_after"].as_f64())
                .and_then(super::pause_from_secs)
                .or_else(|| retry_after(headers, now));
            let global = json
                .as_ref()
                .and_then(|v| v["global"].as_bool())
                .unwrap_or(false);
            Outcome::Retry {
                after,
                reason: if global {
                    format!("{reason} (global)")
                } else {
                    reason
                },
                code,
            }
        }
        408 | 500..=599 => Outcome::Retry {
            after: retry_after(headers, now),
            reason,
            code,
        },
        404 => Outcome::Disable {
            reason: format!("webhook deleted: {reason}"),
            code,
        },
        _ if status == 413
            || code == Some(ENTITY_TOO_LARGE)
            || String::from_utf8_lossy(body).contains("MAX_LENGTH") =>
        {
            Outcome::TooLong { reason, code }
        }
        _ => Outcome::Fail { reason, code },
    }
}

/// Escape text for Discord markdown (see [`crate::channels::text::escape_discord`]).
pub use super::text::escape_discord as escape;

fn with_wait(url: &str) -> String {
    if url.contains("wait=") {
        url.to_string()
    } else if url.contains('?') {
        format!("{url}&wait=true")
    } else {
        format!("{url}?wait=true")
    }
}

/// A chart ready to upload: a file name `attachment://` can reference (ASCII letters, digits,
/// `-`, `_`; unique within the message).
struct File<'a> {
    chart: &'a ChartImage,
    filename: String,
}

fn files(charts: &[ChartImage]) -> Vec<File<'_>> {
    let mut used: Vec<String> = Vec::new();
    charts
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let mut stem: String = c
                .stem
                .chars()
                .map(|ch| {
                    if ch.is_ascii_alphanumeric() || ch == '-' || ch == '_' {
                        ch
                    } else {
                        '_'
                    }
                })
                .collect();
            if stem.is_empty() || used.contains(&stem) {
                stem = format!("{stem}-{}", i + 1);
            }
            used.push(stem.clone());
            File {
                chart: c,
                filename: format!("{stem}.png"),
            }
        })
        .collect()
}

fn description(m: &Message, extra_facts: &[crate::render::message::Fact]) -> String {
    let mut paragraphs = Vec::new();
    if let Some(s) = &m.summary {
        paragraphs.push(escape(s));
    }
    if !extra_facts.is_empty() {
        let lines: Vec<String> = extra_facts
            .iter()
            .map(|f| format!("**{}**: {}", escape(&f.label), escape(&f.value)))
            .collect();
        paragraphs.push(lines.join("\n"));
    }
    for s in &m.sections {
        let mut lines = Vec::new();
        if !s.title.is_empty() {
            lines.push(format!("**{}**", escape(&s.title)));
        }
        for f in &s.facts {
            lines.push(format!("**{}**: {}", escape(&f.label), escape(&f.value)));
        }
        if let Some(t) = &s.table {
            let rows: Vec<String> = text_table(t).iter().map(|l| l.replace('`', "ˋ")).collect();
            lines.push(format!("```\n{}\n```", rows.join("\n")));
        }
        if let Some(text) = &s.text {
            for line in text.lines() {
                lines.push(format!("> {}", escape(line)));
            }
        }
        if !lines.is_empty() {
            paragraphs.push(lines.join("\n"));
        }
    }
    paragraphs.join("\n\n")
}

/// Non-empty text for a field (Discord rejects empty names and values).
fn non_empty(s: String) -> String {
    if s.is_empty() {
        "\u{200B}".to_string()
    } else {
        s
    }
}

fn main_embed(m: &Message) -> Value {
    let (fields, extra) = m.facts.split_at(m.facts.len().min(MAX_FIELDS));
    let mut e = json!({
        "title": clip(&escape(&format!("{} {}", m.level.emoji(), m.title)), TITLE_MAX),
        "color": m.level.color(),
        "timestamp": m.timestamp.to_rfc3339_opts(SecondsFormat::Secs, true),
    });
    let d = description(m, extra);
    if !d.is_empty() {
        e["description"] = json!(clip_block(&d, DESCRIPTION_MAX, "```"));
    }
    if !fields.is_empty() {
        e["fields"] = fields
            .iter()
            .map(|f| {
                json!({
                    "name": clip_escaped(&escape(&f.label), FIELD_NAME_MAX),
                    "value": clip_escaped(&escape(&f.value), FIELD_VALUE_MAX),
                    "inline": true,
                })
            })
            .collect();
    }
    if let Some(f) = &m.footer {
        // Footers show plain text: no markdown to escape, and mentions never resolve there.
        e["footer"] = json!({ "text": clip(&clean::line(f), FOOTER_MAX) });
    }
    e
}

fn chart_embed(m: &Message, f: &File) -> Value {
    json!({
        "title": clip(&escape(&f.chart.title), TITLE_MAX),
        "color": m.level.color(),
        "image": { "url": format!("attachment://{}", f.filename) },
    })
}

/// Characters Discord counts towards [`EMBEDS_TOTAL_MAX`] in one embed.
fn embed_chars(e: &Value) -> usize {
    let s = |v: &Value| v.as_str().map(utf16_len).unwrap_or(0);
    let fields: usize = e["fields"]
        .as_array()
        .map(|fs| fs.iter().map(|f| s(&f["name"]) + s(&f["value"])).sum())
        .unwrap_or(0);
    s(&e["title"]) + s(&e["description"]) + s(&e["footer"]["text"]) + fields
}

/// The last resort when facts alone are over the total (`budget::fit` never trims facts): clip
/// field texts ever shorter, then the description, then the footer, until the embed has at most
/// `budget` characters.
fn shrink(e: &mut Value, budget: usize) {
    for cap in [FIELD_VALUE_MAX, 256, 64, 16] {
        if embed_chars(e) <= budget {
            return;
        }
        if let Some(fields) = e["fields"].as_array_mut() {
            for f in fields {
                for key in ["name", "value"] {
                    let t = f[key].as_str().unwrap_or("").to_string();
                    f[key] = json!(clip_escaped(&t, cap));
                }
            }
        }
    }
    for (key, fence) in [("description", "```"), ("footer", "")] {
        let over = embed_chars(e).saturating_sub(budget);
        let slot = if key == "footer" {
            &mut e["footer"]["text"]
        } else {
            &mut e[key]
        };
        if over == 0 {
            return;
        }
        if let Some(t) = slot.as_str().map(str::to_string) {
            let keep = utf16_len(&t).saturating_sub(over);
            *slot = json!(clip_block(&t, keep.max(1), fence));
        }
    }
}

/// `clip` for escaped text: never ends on half an escape (`\`).
fn clip_escaped(s: &str, max: usize) -> String {
    let mut c = clip(s, max);
    if c.ends_with('…') {
        c.pop();
        let trailing = c.len() - c.trim_end_matches('\\').len();
        if trailing % 2 == 1 {
            c.pop();
        }
        c.push('…');
    }
    non_empty(c)
}

/// The size `budget::fit` compares with [`EMBEDS_TOTAL_MAX`]: the characters of the first
/// request's embeds, or more than the budget when the description alone is over
/// [`DESCRIPTION_MAX`].
fn fit_size(m: &Message) -> usize {
    let extra = &m.facts[m.facts.len().min(MAX_FIELDS)..];
    if utf16_len(&description(m, extra)) > DESCRIPTION_MAX {
        return EMBEDS_TOTAL_MAX + 1;
    }
    let files = files(&m.charts);
    let charts: usize = files
        .iter()
        .take(MAX_EMBEDS - 1)
        .map(|f| embed_chars(&chart_embed(m, f)))
        .sum();
    embed_chars(&main_embed(m)) + charts
}

fn request(url: &Secret, embeds: Vec<Value>, files: &[File]) -> Request {
    let mut payload = json!({
        "allowed_mentions": { "parse": [] },
        "embeds": embeds,
    });
    if files.is_empty() {
        return Request {
            url: url.clone(),
            headers: Vec::new(),
            body: Body::Json { value: payload },
        };
    }
    payload["attachments"] = files
        .iter()
        .enumerate()
        .map(|(i, f)| {
            json!({
                "id": i,
                "filename": f.filename,
                "description": clip(&f.chart.title, ATTACHMENT_DESCRIPTION_MAX),
            })
        })
        .collect();
    let mut parts = vec![Part {
        name: "payload_json".into(),
        filename: None,
        content_type: "application/json".into(),
        bytes: payload.to_string().into_bytes(),
    }];
    parts.extend(files.iter().enumerate().map(|(i, f)| Part {
        name: format!("files[{i}]"),
        filename: Some(f.filename.clone()),
        content_type: "image/png".into(),
        bytes: f.chart.png.as_ref().clone(),
    }));
    Request {
        url: url.clone(),
        headers: Vec::new(),
        body: Body::Multipart { parts },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_cannot_format_or_mention() {
        assert_eq!(
            escape("@everyone <@123> **b** a_b ~~s~~ `c` ||x|| > q [l](u) # h"),
            "@\u{200B}everyone \\<@\u{200B}123\\> \\*\\*b\\*\\* a\\_b \\~\\~s\\~\\~ \\`c\\` \\|\\|x\\|\\| \\> q \\[l\\]\u{200B}(u) \\# h"
        );
        assert_eq!(escape("研发部-主力"), "研发部-主力");
    }

    #[test]
    fn wait_is_appended_once() {
        assert_eq!(
            with_wait("https://d/api/webhooks/1/t"),
            "https://d/api/webhooks/1/t?wait=true"
        );
        assert_eq!(
            with_wait("https://d/api/webhooks/1/t?thread_id=9"),
            "https://d/api/webhooks/1/t?thread_id=9&wait=true"
        );
        assert_eq!(
            with_wait("https://d/x?wait=false"),
            "https://d/x?wait=false"
        );
    }
}
