//! WeCom (企业微信) group robot: a Message as `markdown` (default) or `markdown_v2` messages, and
//! each chart as an `image` message (base64 + md5 of the PNG). Rule: every markdown content stays
//! within 4096 bytes, every image within 2 MB before base64 (halved until it fits); answers are
//! judged by `errcode` (WeCom answers 200 to failures).

use std::fmt::Write;
use std::io::Cursor;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::budget::fit;
use super::dingtalk::{errcode, escape, row_line, scrubbed};
use super::sign::{base64_encode, md5_hex, scrub};
use super::text::cut_lines;
use super::{classify_http, Body, EncodeContext, Limits, Outcome, Request, SizeUnit};
use crate::render::markdown;
use crate::render::message::{Level, Message};

/// `markdown` and `markdown_v2` content limit, in bytes (`40058 … exceed max length 4096`).
/// <https://developer.work.weixin.qq.com/document/path/99398>,
/// <https://github.com/binarywang/WxJava/pull/3727>
pub const MAX_MARKDOWN_BYTES: usize = 4096;
/// `text` content limit, in bytes (not used: reports go as markdown).
/// <https://developer.work.weixin.qq.com/document/path/99398>
pub const MAX_TEXT_BYTES: usize = 2048;
/// An `image` message's picture, before base64: 2 MB, JPG or PNG.
/// <https://developer.work.weixin.qq.com/document/path/99398>,
/// <https://hexdocs.pm/wechat_sdk/WeChat.Work.ChatRobot.html>
pub const MAX_IMAGE_BYTES: usize = 2 * 1024 * 1024;
/// Messages per minute per robot (`45009` above it).
/// <https://developer.work.weixin.qq.com/document/path/99398>
pub const RATE_PER_MINUTE: u32 = 20;
/// How many times a too-large chart is halved before it is left out.
pub const MAX_HALVINGS: u32 = 6;

/// `errcode` values with a meaning of their own.
/// <https://developer.work.weixin.qq.com/document/path/90313>
pub mod codes {
    /// API frequency limit: more than 20 a minute.
    pub const FREQ_LIMIT: i64 = 45_009;
    /// Invalid webhook URL / key.
    pub const INVALID_KEY: i64 = 93_000;
    /// Invalid parameter; for markdown, "content exceed max length 4096".
    pub const TOO_LONG: i64 = 40_058;
    /// System busy: transient.
    pub const BUSY: i64 = -1;
}

pub fn limits() -> Limits {
    Limits {
        rate: RATE_PER_MINUTE,
        per: Duration::from_secs(60),
        max_text: MAX_MARKDOWN_BYTES,
        unit: SizeUnit::Bytes,
        images: true,
    }
}

/// The two markdown dialects of the robot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `markdown` (v1): `<font color>` and `<@userid>`, no tables and no lists.
    Markdown,
    /// `markdown_v2`: tables, lists and `---`, but no colours and no mentions.
    MarkdownV2,
}

impl Format {
    /// `ctx.format`: `markdown_v2` (also `v2`), anything else or nothing is `markdown`.
    pub fn from_ctx(format: Option<&str>) -> Format {
        match format.map(|f| f.trim().to_ascii_lowercase()) {
            Some(f) if f == "markdown_v2" || f == "v2" => Format::MarkdownV2,
            _ => Format::Markdown,
        }
    }

    fn msgtype(self) -> &'static str {
        match self {
            Format::Markdown => "markdown",
            Format::MarkdownV2 => "markdown_v2",
        }
    }
}

/// WeCom v1 colour of a level: `warning` (orange-red), `info` (green); info messages uncoloured.
fn colour(level: Level) -> Option<&'static str> {
    match level {
        Level::Info => None,
        Level::Warning | Level::Critical => Some("warning"),
        Level::Resolved => Some("info"),
    }
}

/// Markdown v1: no tables and no lists, so each row is one quoted line.
pub fn render_markdown(m: &Message, mentions: &[String]) -> String {
    let mut o = String::new();
    let title = escape(&m.title);
    match colour(m.level) {
        Some(c) => {
            let _ = writeln!(
                o,
                "### {} <font color=\"{c}\">{title}</font>",
                m.level.emoji()
            );
        }
        None => {
            let _ = writeln!(o, "### {} {title}", m.level.emoji());
        }
    }
    if let Some(s) = &m.summary {
        let _ = writeln!(o, "<font color=\"comment\">{}</font>", escape(s));
    }
    if !m.facts.is_empty() {
        o.push('\n');
        for f in &m.facts {
            let _ = writeln!(o, "**{}**: {}", escape(&f.label), escape(&f.value));
        }
    }
    for s in &m.sections {
        o.push('\n');
        if !s.title.is_empty() {
            let _ = writeln!(o, "**{}**", escape(&s.title));
        }
        for f in &s.facts {
            let _ = writeln!(o, "> {}: {}", escape(&f.label), escape(&f.value));
        }
        if let Some(t) = &s.table {
            for row in &t.rows {
                // v1 has no lists: a bare "- " would show as a dash.
                let line = row_line(&t.columns, row, escape);
                let line = line.strip_prefix("- ").unwrap_or(&line);
                let _ = writeln!(o, "> {line}");
            }
        }
        if let Some(text) = &s.text {
            for line in text.lines() {
                let _ = writeln!(o, "> {}", escape(line));
            }
        }
    }
    if let Some(f) = &m.footer {
        let _ = writeln!(o, "\n<font color=\"comment\">{}</font>", escape(f));
    }
    if !mentions.is_empty() {
        let at: Vec<String> = mentions.iter().map(|m| format!("<@{m}>")).collect();
        let _ = writeln!(o, "{}", at.join(" "));
    }
    o.trim_end().to_string()
}

/// Cells of a v2 table: escaped, with `|` escaped too.
fn escape_v2(s: &str) -> String {
    escape(s).replace('|', "\\|")
}

/// WeCom markdown_v2: real tables, no colours, no mentions.
const V2: markdown::Dialect = markdown::Dialect {
    title_heading: "##",
    section_heading: "###",
    escape: escape_v2,
    link_charts: false,
    left_rule: ":---",
};

/// Markdown v2: tables as tables, facts as a list; no colours, no mentions.
pub fn render_markdown_v2(m: &Message) -> String {
    markdown::render_with(m, &V2).trim_end().to_string()
}

fn render(m: &Message, format: Format, mentions: &[String]) -> String {
    match format {
        Format::Markdown => render_markdown(m, mentions),
        Format::MarkdownV2 => render_markdown_v2(m),
    }
}

fn markdown_body(format: Format, content: &str) -> Value {
    let mut v = json!({ "msgtype": format.msgtype() });
    v[format.msgtype()] = json!({ "content": content });
    v
}

/// The `image` body of one PNG: base64 and md5 of the raw bytes; `None` when the PNG is over
/// 2 MB and cannot be halved below it.
pub fn image_body(png: &[u8]) -> Option<Value> {
    let bytes = fit_image(png, MAX_IMAGE_BYTES)?;
    Some(json!({
        "msgtype": "image",
        "image": { "base64": base64_encode(&bytes), "md5": md5_hex(&bytes) },
    }))
}

/// `png` itself when it is at most `max` bytes, else halved (2×2 box filter) until it is, at most
/// `MAX_HALVINGS` times; `None` when it cannot be decoded or made small enough.
pub fn fit_image(png: &[u8], max: usize) -> Option<Vec<u8>> {
    if png.len() <= max {
        return Some(png.to_vec());
    }
    let mut current = png.to_vec();
    for _ in 0..MAX_HALVINGS {
        current = halve_png(&current).ok()?;
        if current.len() <= max {
            return Some(current);
        }
    }
    None
}

/// Decode a PNG, halve its width and height with a 2×2 box filter, encode it again (8-bit, same
/// colour type).
pub fn halve_png(png: &[u8]) -> Result<Vec<u8>, String> {
    let mut dec = png::Decoder::new(Cursor::new(png));
    dec.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = dec.read_info().map_err(|e| format!("png: {e}"))?;
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| "png: image too large".to_string())?;
    let mut buf = vec![0u8; size];
    let info = reader
        .next_frame(&mut buf)
        .map_err(|e| format!("png: {e}"))?;
    let (color, _) = reader.output_color_type();
    let ch = color.samples();
    let (w, h) = (info.width as usize, info.height as usize);
    let stride = info.line_size;
    let (nw, nh) = ((w / 2).max(1), (h / 2).max(1));
    let mut out = vec![0u8; nw * nh * ch];
    for y in 0..nh {
        for x in 0..nw {
            for c in 0..ch {
                let mut sum = 0u32;
                let mut n = 0u32;
                for dy in 0..2 {
                    for dx in 0..2 {
                        let (sx, sy) = (x * 2 + dx, y * 2 + dy);
                        if sx < w && sy < h {
                            sum += u32::from(buf[sy * stride + sx * ch + c]);
                            n += 1;
                        }
                    }
                }
                out[(y * nw + x) * ch + c] = ((sum + n / 2) / n) as u8;
            }
        }
    }
    let mut encoded = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut encoded, nw as u32, nh as u32);
        enc.set_color(color);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(png::Compression::High);
        let mut w = enc.write_header().map_err(|e| format!("png: {e}"))?;
        w.write_image_data(&out).map_err(|e| format!("png: {e}"))?;
    }
    Ok(encoded)
}

/// The requests for one message: the markdown part(s) (split "(i/n)" when over 4096 bytes even
/// after trimming), then one `image` message per chart.
pub fn encode(msg: &Message, ctx: &EncodeContext) -> Vec<Request> {
    let format = Format::from_ctx(ctx.format.as_deref());
    let mentions = &ctx.mentions;
    let parts = fit(msg, MAX_MARKDOWN_BYTES, SizeUnit::Bytes, |m| {
        render(m, format, mentions)
    });
    let request = |value: Value| Request {
        url: ctx.url.clone(),
        headers: Vec::new(),
        body: Body::Json { value },
    };
    let mut out = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        let who: &[String] = if i == 0 { mentions } else { &[] };
        let mut content = render(p, format, who);
        if content.len() > MAX_MARKDOWN_BYTES {
            // Whole lines only: never inside a cell, a `**` pair or a character.
            content = cut_lines(&content, MAX_MARKDOWN_BYTES, str::len);
        }
        out.push(request(markdown_body(format, &content)));
    }
    for chart in parts.iter().flat_map(|p| &p.charts) {
        if let Some(value) = image_body(&chart.png) {
            out.push(request(value));
        }
    }
    out
}

/// What WeCom's answer means: HTTP failures by the shared rule, then `errcode`.
pub fn classify(
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
    now: DateTime<Utc>,
) -> Outcome {
    if !(200..300).contains(&status) {
        return scrubbed(classify_http(status, headers, body, now));
    }
    let Some((code, msg)) = errcode(body) else {
        return Outcome::Delivered { code: None };
    };
    let reason = format!("WeCom errcode {code}: {}", scrub(&msg));
    match code {
        0 => Outcome::Delivered { code: Some(0) },
        codes::FREQ_LIMIT | codes::BUSY => Outcome::Retry {
            after: None,
            reason,
            code: Some(code),
        },
        codes::TOO_LONG => Outcome::TooLong {
            reason,
            code: Some(code),
        },
        codes::INVALID_KEY => Outcome::Fail {
            reason: format!("{reason} (the webhook key is invalid)"),
            code: Some(code),
        },
        _ => Outcome::Fail {
            reason,
            code: Some(code),
        },
    }
}
