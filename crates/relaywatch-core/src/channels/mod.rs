//! Chat platforms, one file each. Every channel has the same roles: `encode` a Message into the
//! HTTP requests the platform wants (pure, golden-tested), `classify` the platform's answer
//! into one outcome (pure), and its limits as named constants with a link to its docs.

pub mod budget;
pub mod dingtalk;
pub mod discord;
pub mod dispatch;
pub mod feishu;
pub mod file;
pub mod generic;
pub mod sign;
pub mod slack;
pub mod telegram;
pub mod text;
pub mod wecom;

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::config::Lang;
use crate::secrets::Secret;

/// An HTTP body as a channel builds it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Body {
    Json { value: serde_json::Value },
    Multipart { parts: Vec<Part> },
}

/// One part of a multipart body.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Part {
    pub name: String,
    pub filename: Option<String>,
    pub content_type: String,
    /// Text parts as text, binary parts (PNG) summarised in golden files by length and hash.
    #[serde(serialize_with = "part_bytes")]
    pub bytes: Vec<u8>,
}

fn part_bytes<S: serde::Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
    match std::str::from_utf8(b) {
        Ok(t) if !b.contains(&0) => s.serialize_str(t),
        _ => s.serialize_str(&format!("<{} bytes>", b.len())),
    }
}

/// A request ready for the sender. The URL carries the channel's token: it is a `Secret`;
/// `Debug` shows neither credential headers nor the body (a token request carries the app
/// secret), so a request can be logged by accident without leaking.
#[derive(Clone, PartialEq)]
pub struct Request {
    pub url: Secret,
    pub headers: Vec<(String, String)>,
    pub body: Body,
}

/// Header names whose values are credentials.
const CREDENTIAL_HEADERS: [&str; 4] = [
    "authorization",
    "proxy-authorization",
    "x-api-key",
    "cookie",
];

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let headers: Vec<(String, String)> = self
            .headers
            .iter()
            .map(|(k, v)| {
                let shown = if CREDENTIAL_HEADERS.contains(&k.to_ascii_lowercase().as_str()) {
                    "***".to_string()
                } else {
                    v.clone()
                };
                (k.clone(), shown)
            })
            .collect();
        let body = match &self.body {
            Body::Json { value } => format!("json ({} bytes)", value.to_string().len()),
            Body::Multipart { parts } => format!("multipart ({} parts)", parts.len()),
        };
        f.debug_struct("Request")
            .field("url", &self.url)
            .field("headers", &headers)
            .field("body", &body)
            .finish()
    }
}

/// What a platform's answer means.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Accepted. `code` is the platform's own code when it sends one (`errcode` 0…).
    Delivered { code: Option<i64> },
    /// Try again later; `after` from Retry-After / `retry_after` when the platform says.
    Retry {
        after: Option<Duration>,
        reason: String,
        code: Option<i64>,
    },
    /// Will not succeed by retrying: bad payload, bad signature, unknown webhook.
    Fail { reason: String, code: Option<i64> },
    /// The endpoint is gone for good (Discord 404, generic 410): stop using the channel.
    Disable { reason: String, code: Option<i64> },
    /// The message was too long for the platform: render it smaller and send again.
    TooLong { reason: String, code: Option<i64> },
}

/// How a platform measures a size budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SizeUnit {
    Bytes,
    Chars,
}

/// A platform's limits, preloaded into rate limiting and size budgets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Messages allowed per `per` window.
    pub rate: u32,
    pub per: Duration,
    /// The largest text the platform takes in one message, in `unit`.
    pub max_text: usize,
    pub unit: SizeUnit,
    /// Whether the channel can carry the chart PNGs itself.
    pub images: bool,
}

/// Everything `encode` needs besides the Message: the channel's resolved secrets and options,
/// and the moment (signatures carry timestamps).
#[derive(Debug, Clone)]
pub struct EncodeContext {
    pub url: Secret,
    /// Signing secret (DingTalk, Feishu, generic `whsec_…`).
    pub secret: Option<Secret>,
    pub lang: Lang,
    /// Platform-specific format choice (`markdown` / `markdown_v2` for WeCom, …).
    pub format: Option<String>,
    /// DingTalk security keyword every message must contain.
    pub keyword: Option<String>,
    /// People to mention (DingTalk mobiles, …).
    pub mentions: Vec<String>,
    /// Base URL of a platform API that is not the webhook itself (Telegram Bot API, Feishu open
    /// API), so tests can point it at a loopback stand-in.
    pub api_base: Option<String>,
    /// Telegram chat id.
    pub chat_id: Option<String>,
    /// Idempotency id for signed generic webhooks (`webhook-id`).
    pub message_id: String,
    pub now: DateTime<Utc>,
}

/// Case-insensitive header lookup.
pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// `Retry-After` in seconds (integer or float) as a duration.
pub fn retry_after(headers: &[(String, String)]) -> Option<Duration> {
    header(headers, "retry-after")
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
}

/// The one retry rule every channel starts from (Alertmanager's): 2xx delivered; 408, 429 and
/// 5xx retried (Retry-After honoured); other statuses fail for good.
pub fn classify_http(status: u16, headers: &[(String, String)], body: &[u8]) -> Outcome {
    let text = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
    match status {
        200..=299 => Outcome::Delivered { code: None },
        408 | 429 | 500..=599 => Outcome::Retry {
            after: retry_after(headers),
            reason: format!("HTTP {status}: {}", text.trim()),
            code: None,
        },
        _ => Outcome::Fail {
            reason: format!("HTTP {status}: {}", text.trim()),
            code: None,
        },
    }
}
