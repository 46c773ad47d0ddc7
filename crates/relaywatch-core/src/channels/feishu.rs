//! Feishu / Lark custom bot: a Message as an interactive card (schema 2.0: header coloured by
//! level, markdown, native tables, chart images by `img_key`), signed in the body when a secret is
//! set; plus the pure builders of the two open-API calls that turn a chart PNG into an
//! `image_key`. Rule: every request body stays within 20 000 bytes; answers are judged by the
//! body's `code` (Feishu answers 200 to failures).

use std::fmt::Write;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use super::budget::fit;
use super::sign::{base64_encode, hmac_sha256, scrub};
use super::{classify_http, Body, EncodeContext, Limits, Outcome, Part, Request, SizeUnit};
use crate::render::clean;
use crate::render::message::{Align, Level, Message, Table};
use crate::secrets::Secret;

/// Request body limit: "请求体大小不能超过 20K" (taken as 20 000 bytes, the smaller reading).
/// <https://open.feishu.cn/document/client-docs/bot-v3/add-custom-bot.md>
pub const MAX_BODY_BYTES: usize = 20_000;
/// Messages per minute per bot (and 5 per second; `11232` above it).
/// <https://open.feishu.cn/document/client-docs/bot-v3/add-custom-bot.md>
pub const RATE_PER_MINUTE: u32 = 100;
/// Rows a card table shows per page (the component takes 1–10).
/// <https://open.feishu.cn/document/uAjLw4CM/ukzMukzMukzM/feishu-cards/card-json-v2-components/content-components/table>
pub const TABLE_PAGE_SIZE: usize = 10;
/// Table components one card may hold; further tables are shown as lines (verify the number).
/// <https://open.feishu.cn/document/uAjLw4CM/ukzMukzMukzM/feishu-cards/card-json-v2-components/content-components/table>
pub const MAX_TABLES: usize = 5;
/// The open API of Feishu (China) and of Lark (elsewhere), for tokens and image upload.
/// <https://open.feishu.cn/document/server-docs/im-v1/image/create>
pub const FEISHU_API_BASE: &str = "https://open.feishu.cn";
pub const LARK_API_BASE: &str = "https://open.larksuite.com";

/// Body `code` values with a meaning of their own.
/// <https://open.feishu.cn/document/client-docs/bot-v3/add-custom-bot.md>,
/// <https://github.com/ghink/notifyutils-lark>
pub mod codes {
    /// Request too frequent (over 100/min or 5/s).
    pub const RATE_LIMITED: i64 = 11_232;
    /// Signature or timestamp mismatch.
    pub const SIGN: i64 = 19_021;
    /// IP not on the allow-list.
    pub const IP: i64 = 19_022;
    /// Keyword missing.
    pub const KEYWORD: i64 = 19_024;
    /// Bad request (malformed body, unknown webhook).
    pub const BAD_REQUEST: i64 = 9_499;
}

pub fn limits() -> Limits {
    Limits {
        rate: RATE_PER_MINUTE,
        per: Duration::from_secs(60),
        max_text: MAX_BODY_BYTES,
        unit: SizeUnit::Bytes,
        images: true,
    }
}

/// The body's `sign`: base64(HMAC-SHA256(key = `{timestamp_s}\n{secret}`, msg = empty)).
/// (DingTalk's recipe the other way round: the secret is in the key, the message is empty.)
pub fn sign(secret: &Secret, timestamp_s: i64) -> String {
    let key = format!("{timestamp_s}\n{}", secret.expose());
    base64_encode(&hmac_sha256(key.as_bytes(), b""))
}

/// The open-API base for this channel: `ctx.api_base`, else Lark's when the webhook is on
/// `larksuite.com`, else Feishu's. No trailing slash.
pub fn api_base(ctx: &EncodeContext) -> String {
    match &ctx.api_base {
        Some(b) if !b.trim().is_empty() => b.trim().trim_end_matches('/').to_string(),
        _ if ctx.url.expose().contains("larksuite.com") => LARK_API_BASE.to_string(),
        _ => FEISHU_API_BASE.to_string(),
    }
}

/// Escape data for card markdown (see [`crate::channels::text::escape_card_markdown`]). Table cells need none
/// of it: they are `text` columns, cleaned of hidden characters only.
pub use super::text::escape_card_markdown as escape;

/// The header colour of a level.
pub fn template(level: Level) -> &'static str {
    match level {
        Level::Info => "blue",
        Level::Warning => "orange",
        Level::Critical => "red",
        Level::Resolved => "green",
    }
}

fn markdown(content: String) -> Value {
    json!({ "tag": "markdown", "content": content })
}

fn table(t: &Table) -> Value {
    let columns: Vec<Value> = t
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            json!({
                "name": format!("c{i}"),
                "display_name": c.header,
                "data_type": "text",
                "horizontal_align": match c.align { Align::Left => "left", Align::Right => "right" },
                "width": "auto",
            })
        })
        .collect();
    let rows: Vec<Value> = t
        .rows
        .iter()
        .map(|r| {
            let mut row = Map::new();
            for (i, cell) in r.iter().enumerate() {
                row.insert(format!("c{i}"), Value::String(super::text::plain(cell)));
            }
            Value::Object(row)
        })
        .collect();
    json!({
        "tag": "table",
        "page_size": t.rows.len().clamp(1, TABLE_PAGE_SIZE),
        "row_height": "low",
        "header_style": { "background_style": "grey", "bold": true },
        "columns": columns,
        "rows": rows,
    })
}

fn facts_markdown(facts: &[crate::render::message::Fact]) -> String {
    facts
        .iter()
        .map(|f| format!("**{}**: {}", escape(&f.label), escape(&f.value)))
        .collect::<Vec<_>>()
        .join("\n")
}

fn mention(m: &str) -> String {
    if m.contains('@') {
        format!("<at email={m}></at>")
    } else {
        format!("<at id={m}></at>")
    }
}

/// The card of one message. Charts appear as `img` elements for the stems that have a key in
/// `image_keys`; without keys their data is in the message's tables.
pub fn card(m: &Message, image_keys: &[(String, String)], mentions: &[String]) -> Value {
    let mut elements: Vec<Value> = Vec::new();
    if let Some(s) = &m.summary {
        elements.push(markdown(escape(s)));
    }
    if !m.facts.is_empty() {
        elements.push(markdown(facts_markdown(&m.facts)));
    }
    let mut tables = 0;
    for s in &m.sections {
        if !s.title.is_empty() {
            elements.push(markdown(format!("**{}**", escape(&s.title))));
        }
        if !s.facts.is_empty() {
            elements.push(markdown(facts_markdown(&s.facts)));
        }
        if let Some(t) = &s.table {
            if tables < MAX_TABLES {
                elements.push(table(t));
                tables += 1;
            } else {
                let mut o = String::new();
                for row in &t.rows {
                    let _ = writeln!(o, "{}", super::dingtalk::row_line(&t.columns, row, escape));
                }
                elements.push(markdown(o.trim_end().to_string()));
            }
        }
        if let Some(text) = &s.text {
            elements.push(json!({
                "tag": "div",
                "text": { "tag": "plain_text", "content": clean::text(text), "text_color": "grey" },
            }));
        }
    }
    for c in &m.charts {
        if let Some((_, key)) = image_keys.iter().find(|(stem, _)| *stem == c.stem) {
            elements.push(json!({
                "tag": "img",
                "img_key": key,
                "alt": { "tag": "plain_text", "content": clean::line(&c.title) },
                "scale_type": "fit_horizontal",
            }));
        }
    }
    if !mentions.is_empty() {
        let at: Vec<String> = mentions.iter().map(|m| mention(m)).collect();
        elements.push(markdown(at.join(" ")));
    }
    if let Some(f) = &m.footer {
        elements.push(json!({ "tag": "hr" }));
        elements.push(json!({
            "tag": "markdown",
            "content": format!("<font color='grey'>{}</font>", escape(f)),
            "text_size": "notation",
        }));
    }
    json!({
        "schema": "2.0",
        "header": {
            "title": {
                "tag": "plain_text",
                "content": format!("{} {}", m.level.emoji(), clean::line(&m.title)),
            },
            "template": template(m.level),
        },
        "body": { "elements": elements },
    })
}

fn body(card: Value, ctx: &EncodeContext) -> Value {
    let mut v = Map::new();
    if let Some(secret) = ctx.secret.as_ref().filter(|s| !s.is_empty()) {
        let ts = ctx.now.timestamp();
        v.insert("timestamp".into(), Value::String(ts.to_string()));
        v.insert("sign".into(), Value::String(sign(secret, ts)));
    }
    v.insert("msg_type".into(), Value::String("interactive".into()));
    v.insert("card".into(), card);
    Value::Object(v)
}

fn body_len(v: &Value) -> usize {
    serde_json::to_vec(v).map_or(usize::MAX, |b| b.len())
}

/// The body for one part; if even a split part is over the limit, its last elements are dropped
/// for a "…".
fn part_body(m: &Message, ctx: &EncodeContext, keys: &[(String, String)], who: &[String]) -> Value {
    let mut v = body(card(m, keys, who), ctx);
    while body_len(&v) > MAX_BODY_BYTES {
        let Some(elements) = v["card"]["body"]["elements"].as_array_mut() else {
            break;
        };
        if elements.len() <= 1 {
            break;
        }
        elements.truncate(elements.len() - 2);
        elements.push(markdown("…".into()));
    }
    v
}

/// The requests for one message with charts as images: `image_keys` are (chart stem,
/// `image_key`) pairs from `image_upload_request` / `parse_image_key`.
pub fn encode_with_images(
    msg: &Message,
    ctx: &EncodeContext,
    image_keys: &[(String, String)],
) -> Vec<Request> {
    let mentions = &ctx.mentions;
    let parts = fit(msg, MAX_BODY_BYTES, SizeUnit::Bytes, |m| {
        serde_json::to_string(&body(card(m, image_keys, mentions), ctx)).unwrap_or_default()
    });
    parts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let who: &[String] = if i == 0 { mentions } else { &[] };
            Request {
                url: ctx.url.clone(),
                headers: Vec::new(),
                body: Body::Json {
                    value: part_body(p, ctx, image_keys, who),
                },
            }
        })
        .collect()
}

/// The requests for one message without images (a plain custom bot): chart data as tables.
pub fn encode(msg: &Message, ctx: &EncodeContext) -> Vec<Request> {
    encode_with_images(msg, ctx, &[])
}

/// `POST {api_base}/open-apis/auth/v3/tenant_access_token/internal` with the app's credentials.
/// <https://open.feishu.cn/document/server-docs/authentication-management/access-token/tenant_access_token_internal>
pub fn tenant_token_request(api_base: &str, app_id: &str, app_secret: &Secret) -> Request {
    Request {
        url: Secret::new(format!(
            "{}/open-apis/auth/v3/tenant_access_token/internal",
            api_base.trim_end_matches('/')
        )),
        headers: Vec::new(),
        body: Body::Json {
            value: json!({ "app_id": app_id, "app_secret": app_secret.expose() }),
        },
    }
}

/// `POST {api_base}/open-apis/im/v1/images` (multipart `image_type=message`, `image=<png>`) with
/// the tenant token as a bearer. Images up to 10 MB.
/// <https://open.feishu.cn/document/server-docs/im-v1/image/create>
pub fn image_upload_request(
    api_base: &str,
    tenant_token: &Secret,
    png: &[u8],
    stem: &str,
) -> Request {
    Request {
        url: Secret::new(format!(
            "{}/open-apis/im/v1/images",
            api_base.trim_end_matches('/')
        )),
        headers: vec![(
            "Authorization".into(),
            format!("Bearer {}", tenant_token.expose()),
        )],
        body: Body::Multipart {
            parts: vec![
                Part {
                    name: "image_type".into(),
                    filename: None,
                    content_type: "text/plain".into(),
                    bytes: b"message".to_vec(),
                },
                Part {
                    name: "image".into(),
                    filename: Some(format!("{stem}.png")),
                    content_type: "image/png".into(),
                    bytes: png.to_vec(),
                },
            ],
        },
    }
}

fn api_answer(body: &[u8]) -> Result<Value, String> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|_| format!("not JSON: {}", scrub(&String::from_utf8_lossy(body))))?;
    match v.get("code").and_then(Value::as_i64) {
        Some(0) => Ok(v),
        Some(code) => Err(format!(
            "Feishu code {code}: {}",
            scrub(v.get("msg").and_then(Value::as_str).unwrap_or(""))
        )),
        None => Err("no code in the answer".into()),
    }
}

/// The tenant token and how long it lives, from the token call's answer
/// (`{"code":0,"tenant_access_token":"t-…","expire":7200}`).
pub fn parse_tenant_token(body: &[u8]) -> Result<(Secret, Duration), String> {
    let v = api_answer(body)?;
    let token = v
        .get("tenant_access_token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or("no tenant_access_token in the answer")?;
    let expire = v.get("expire").and_then(Value::as_u64).unwrap_or(0);
    Ok((Secret::new(token), Duration::from_secs(expire)))
}

/// The `image_key` from the upload's answer (`{"code":0,"data":{"image_key":"img_v2_…"}}`).
pub fn parse_image_key(body: &[u8]) -> Result<String, String> {
    let v = api_answer(body)?;
    v.pointer("/data/image_key")
        .and_then(Value::as_str)
        .filter(|k| !k.is_empty())
        .map(str::to_string)
        .ok_or_else(|| "no data.image_key in the answer".into())
}

/// `code` and `msg` of a bot answer (`StatusCode`/`StatusMessage` in older answers).
fn code(body: &[u8]) -> Option<(i64, String)> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let code = v.get("code").or_else(|| v.get("StatusCode"))?.as_i64()?;
    let msg = v
        .get("msg")
        .or_else(|| v.get("StatusMessage"))
        .and_then(Value::as_str)
        .unwrap_or("");
    Some((code, msg.to_string()))
}

/// What the bot's answer means: a nonzero body `code` first (Feishu sends some with HTTP 4xx),
/// then the HTTP status by the shared rule.
pub fn classify(
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
    now: DateTime<Utc>,
) -> Outcome {
    let ok = (200..300).contains(&status);
    let (code, msg) = match code(body) {
        Some((c, msg)) if c != 0 => (c, msg),
        found if ok => {
            return Outcome::Delivered {
                code: found.map(|(c, _)| c),
            }
        }
        _ => return super::dingtalk::scrubbed(classify_http(status, headers, body, now)),
    };
    let reason = format!("Feishu code {code}: {}", scrub(&msg));
    match code {
        codes::RATE_LIMITED => Outcome::Retry {
            after: super::retry_after(headers, now),
            reason,
            code: Some(code),
        },
        codes::SIGN => Outcome::Fail {
            reason: format!("{reason} (signature or timestamp: check the secret and the clock)"),
            code: Some(code),
        },
        codes::IP => Outcome::Fail {
            reason: format!("{reason} (IP not on the bot's allow-list)"),
            code: Some(code),
        },
        codes::KEYWORD => Outcome::Fail {
            reason: format!("{reason} (keyword missing)"),
            code: Some(code),
        },
        _ if !ok && (status == 429 || status >= 500) => Outcome::Retry {
            after: super::retry_after(headers, now),
            reason,
            code: Some(code),
        },
        _ => Outcome::Fail {
            reason,
            code: Some(code),
        },
    }
}
