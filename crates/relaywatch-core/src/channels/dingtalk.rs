//! DingTalk custom robot: a Message as one or more `markdown` messages, signed in the query
//! string when a secret is set, carrying the security keyword when one is set. Rule: every
//! request body stays within 20 000 bytes and contains the keyword; answers are judged by
//! `errcode`, never by the HTTP status alone (DingTalk answers 200 to failures).

use std::fmt::Write;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::budget::fit;
use super::sign::{append_query, base64_encode, hmac_sha256, scrub};
use super::text::cut_lines;
use super::{classify_http, Body, EncodeContext, Limits, Outcome, Request, SizeUnit};
use crate::render::clean;
use crate::render::message::{Column, Message, Section, Table};
use crate::secrets::Secret;

/// Request body limit in bytes (`460101 message too long, exceed 20000 bytes`).
/// <https://open.dingtalk.com/document/orgapp/custom-robot-access>,
/// <https://github.com/timonwong/prometheus-webhook-dingtalk/issues/30>
pub const MAX_BODY_BYTES: usize = 20_000;
/// Messages per minute per robot; above it the robot is throttled for 10 minutes (`130101`).
/// <https://open.dingtalk.com/document/orgapp/custom-robot-access>,
/// <https://github.com/ccfos/nightingale/issues/369>
pub const RATE_PER_MINUTE: u32 = 20;
/// How long DingTalk pauses a robot that sent too fast.
pub const THROTTLE_PAUSE: Duration = Duration::from_secs(10 * 60);
/// The longest security keyword `keyword_problem` accepts (DingTalk allows up to 10 keywords; a
/// keyword is a short word, not a sentence).
pub const KEYWORD_MAX_CHARS: usize = 100;

/// `errcode` values with a meaning of their own.
/// <https://open.dingtalk.com/document/orgapp/custom-robot-access>
pub mod codes {
    /// Sent too fast: more than 20 a minute; the robot is paused for 10 minutes.
    pub const SEND_TOO_FAST: i64 = 130_101;
    /// Keyword missing, signature mismatch, timestamp out of range or IP not allowed.
    pub const SECURITY: i64 = 310_000;
    /// Body over 20 000 bytes.
    pub const TOO_LONG: i64 = 460_101;
    /// "系统繁忙" (system busy): transient.
    pub const BUSY: i64 = -1;
}

pub fn limits() -> Limits {
    Limits {
        rate: RATE_PER_MINUTE,
        per: Duration::from_secs(60),
        max_text: MAX_BODY_BYTES,
        unit: SizeUnit::Bytes,
        images: false,
    }
}

/// The `sign` query value before URL encoding:
/// base64(HMAC-SHA256(key = secret, msg = `{timestamp_ms}\n{secret}`)).
pub fn sign(secret: &Secret, timestamp_ms: i64) -> String {
    let msg = format!("{timestamp_ms}\n{}", secret.expose());
    base64_encode(&hmac_sha256(secret.expose().as_bytes(), msg.as_bytes()))
}

/// The webhook URL with `timestamp` (ms) and `sign` appended when the channel has a secret.
pub fn signed_url(ctx: &EncodeContext) -> Secret {
    match &ctx.secret {
        Some(secret) if !secret.is_empty() => {
            let ts = ctx.now.timestamp_millis();
            let url = append_query(
                ctx.url.expose(),
                &[("timestamp", &ts.to_string()), ("sign", &sign(secret, ts))],
            );
            Secret::new(url)
        }
        _ => ctx.url.clone(),
    }
}

/// Escape data for DingTalk (and WeCom) markdown (see [`crate::channels::text::escape_robot_markdown`]).
pub use super::text::escape_robot_markdown as escape;

/// One table row as one line of text, for dialects without tables (DingTalk, WeCom markdown):
/// `1. **name** · Requests 1,234 · Cost $5.00`. The `#` column becomes the list number; the first
/// text column is the row's name; the others are `header value`. A row with a single non-empty
/// cell (budget's "+N more") is shown as it is.
pub fn row_line(columns: &[Column], row: &[String], esc: fn(&str) -> String) -> String {
    let number = columns.iter().position(|c| c.header == "#");
    let name = columns
        .iter()
        .position(|c| c.header != "#")
        .unwrap_or(0)
        .min(row.len().saturating_sub(1));
    let filled: Vec<&String> = row.iter().filter(|c| !c.trim().is_empty()).collect();
    if filled.len() == 1 {
        return format!("- *{}*", esc(filled[0]));
    }
    let mut line = match number.and_then(|i| row.get(i)) {
        Some(n) if !n.is_empty() => format!("{}. ", esc(n)),
        _ => "- ".to_string(),
    };
    let _ = write!(
        line,
        "**{}**",
        esc(row.get(name).map_or("", |s| s.as_str()))
    );
    for (i, (col, cell)) in columns.iter().zip(row).enumerate() {
        if Some(i) == number || i == name || cell.trim().is_empty() {
            continue;
        }
        let _ = write!(line, " · {} {}", esc(&col.header), esc(cell));
    }
    line
}

fn table_lines(o: &mut String, t: &Table) {
    for row in &t.rows {
        let _ = writeln!(o, "{}", row_line(&t.columns, row, escape));
    }
}

fn section_text(o: &mut String, s: &Section) {
    if !s.title.is_empty() {
        let _ = writeln!(o, "\n#### {}\n", escape(&s.title));
    } else {
        o.push('\n');
    }
    for f in &s.facts {
        let _ = writeln!(o, "- **{}**: {}", escape(&f.label), escape(&f.value));
    }
    if let Some(t) = &s.table {
        table_lines(o, t);
    }
    if let Some(text) = &s.text {
        if !s.facts.is_empty() || s.table.is_some() {
            o.push('\n');
        }
        for line in text.lines() {
            let _ = writeln!(o, "> {}", escape(line));
        }
    }
}

/// The `title` (shown in the chat list and notifications) and markdown `text` of one message.
/// The keyword, when the text would not contain it otherwise, leads the title as `【keyword】`.
pub fn render(m: &Message, keyword: Option<&str>, mentions: &[String]) -> (String, String) {
    let mut o = String::new();
    let heading = escape(&m.title);
    let _ = writeln!(o, "### {} {}", m.level.emoji(), heading);
    if let Some(s) = &m.summary {
        let _ = writeln!(o, "\n{}", escape(s));
    }
    if !m.facts.is_empty() {
        o.push('\n');
        for f in &m.facts {
            let _ = writeln!(o, "- **{}**: {}", escape(&f.label), escape(&f.value));
        }
    }
    for s in &m.sections {
        section_text(&mut o, s);
    }
    if let Some(f) = &m.footer {
        let _ = writeln!(o, "\n---\n\n###### {}", escape(f));
    }
    if !mentions.is_empty() {
        let at: Vec<String> = mentions.iter().map(|m| format!("@{m}")).collect();
        let _ = writeln!(o, "\n{}", at.join(" "));
    }
    let mut title = format!("{} {}", m.level.emoji(), clean::line(&m.title));
    match keyword.map(str::trim).filter(|k| !k.is_empty()) {
        Some(k) if !o.contains(k) => {
            title = format!("{} 【{k}】{}", m.level.emoji(), clean::line(&m.title));
            o = o.replacen(
                &format!("### {} ", m.level.emoji()),
                &format!("### {} 【{k}】", m.level.emoji()),
                1,
            );
        }
        _ => {}
    }
    (title, o.trim_end().to_string())
}

fn is_mobile(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_digit() || c == '+' || c == '-')
}

fn body(title: &str, text: &str, mentions: &[String]) -> Value {
    let mobiles: Vec<&String> = mentions.iter().filter(|m| is_mobile(m)).collect();
    let users: Vec<&String> = mentions.iter().filter(|m| !is_mobile(m)).collect();
    let mut at = json!({ "atMobiles": mobiles, "isAtAll": false });
    if !users.is_empty() {
        at["atUserIds"] = json!(users);
    }
    json!({
        "msgtype": "markdown",
        "markdown": { "title": title, "text": text },
        "at": at,
    })
}

fn body_len(v: &Value) -> usize {
    serde_json::to_vec(v).map_or(usize::MAX, |b| b.len())
}

/// The body for one part, cut (text shortened, "…") if even a split part is over the limit.
fn part_body(m: &Message, keyword: Option<&str>, mentions: &[String]) -> Value {
    let (title, text) = render(m, keyword, mentions);
    let mut v = body(&title, &text, mentions);
    let over = body_len(&v).saturating_sub(MAX_BODY_BYTES);
    if over > 0 {
        // JSON escaping can only make the text longer than its byte count: cut a margin more.
        // Whole lines only: never inside a cell or a `**` pair.
        let keep = text.len().saturating_sub(over + 64);
        let cut = cut_lines(&text, keep, str::len);
        v = body(&title, &cut, mentions);
    }
    v
}

/// The requests for one message: one markdown message, or several "(i/n)" parts when it is over
/// 20 000 bytes even after trimming. Charts are not sent (a custom robot cannot upload images);
/// their data is in the message's tables, shown as lines.
pub fn encode(msg: &Message, ctx: &EncodeContext) -> Vec<Request> {
    let keyword = ctx.keyword.as_deref();
    let mentions = &ctx.mentions;
    let parts = fit(msg, MAX_BODY_BYTES, SizeUnit::Bytes, |m| {
        serde_json::to_string(&body_of(m, keyword, mentions)).unwrap_or_default()
    });
    let url = signed_url(ctx);
    parts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let who: &[String] = if i == 0 { mentions } else { &[] };
            Request {
                url: url.clone(),
                headers: Vec::new(),
                body: Body::Json {
                    value: part_body(p, keyword, who),
                },
            }
        })
        .collect()
}

fn body_of(m: &Message, keyword: Option<&str>, mentions: &[String]) -> Value {
    let (title, text) = render(m, keyword, mentions);
    body(&title, &text, mentions)
}

/// Why `msg` cannot carry the security keyword, if it cannot: a blank keyword, one with a line
/// break or over `KEYWORD_MAX_CHARS`, or one that some encoded part would still lack (e.g. a
/// keyword the markdown escaping changes). `None` when every part will contain it.
pub fn keyword_problem(keyword: &str, msg: &Message) -> Option<String> {
    let k = keyword.trim();
    if k.is_empty() {
        return Some("the DingTalk keyword is empty: DingTalk would reject every message".into());
    }
    if k.contains(['\n', '\r']) {
        return Some("the DingTalk keyword has a line break: use one word or phrase".into());
    }
    if k.chars().count() > KEYWORD_MAX_CHARS {
        return Some(format!(
            "the DingTalk keyword is longer than {KEYWORD_MAX_CHARS} characters"
        ));
    }
    let parts = fit(msg, MAX_BODY_BYTES, SizeUnit::Bytes, |m| {
        serde_json::to_string(&body_of(m, Some(k), &[])).unwrap_or_default()
    });
    for (i, p) in parts.iter().enumerate() {
        let v = part_body(p, Some(k), &[]);
        let title = v["markdown"]["title"].as_str().unwrap_or("");
        let text = v["markdown"]["text"].as_str().unwrap_or("");
        if !title.contains(k) && !text.contains(k) {
            return Some(format!(
                "part {} of this message would not contain the DingTalk keyword {k:?}",
                i + 1
            ));
        }
    }
    None
}

/// `errcode` and `errmsg` of a DingTalk or WeCom answer.
pub fn errcode(body: &[u8]) -> Option<(i64, String)> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let code = v.get("errcode")?.as_i64()?;
    let msg = v.get("errmsg").and_then(Value::as_str).unwrap_or("");
    Some((code, msg.to_string()))
}

/// What DingTalk's answer means: HTTP failures by the shared rule, then `errcode`.
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
    let reason = format!("DingTalk errcode {code}: {}", scrub(&msg));
    match code {
        0 => Outcome::Delivered { code: Some(0) },
        codes::SEND_TOO_FAST => Outcome::Retry {
            after: Some(THROTTLE_PAUSE),
            reason,
            code: Some(code),
        },
        codes::BUSY => Outcome::Retry {
            after: None,
            reason,
            code: Some(code),
        },
        codes::TOO_LONG => Outcome::TooLong {
            reason,
            code: Some(code),
        },
        codes::SECURITY => Outcome::Fail {
            reason: format!("{reason} (keyword, signature, timestamp or IP allow-list)"),
            code: Some(code),
        },
        _ => Outcome::Fail {
            reason,
            code: Some(code),
        },
    }
}

/// The shared HTTP rule's outcome with the echoed body scrubbed.
pub(crate) fn scrubbed(o: Outcome) -> Outcome {
    match o {
        Outcome::Retry {
            after,
            reason,
            code,
        } => Outcome::Retry {
            after,
            reason: scrub(&reason),
            code,
        },
        Outcome::Fail { reason, code } => Outcome::Fail {
            reason: scrub(&reason),
            code,
        },
        Outcome::Disable { reason, code } => Outcome::Disable {
            reason: scrub(&reason),
            code,
        },
        Outcome::TooLong { reason, code } => Outcome::TooLong {
            reason: scrub(&reason),
            code,
        },
        d @ Outcome::Delivered { .. } => d,
    }
}
