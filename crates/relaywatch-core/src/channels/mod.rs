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

/// The longest pause a platform may ask for: a longer `Retry-After` / `retry_after` (a date
/// next year, `1e30`, twenty digits) is taken as this. The delivery policy bounds the wait
/// further (`BackoffPolicy::max_retry_after`).
pub const RETRY_AFTER_MAX: Duration = Duration::from_secs(24 * 3600);

/// A pause given in seconds (a JSON `retry_after`, integer or float) as a duration, at most
/// [`RETRY_AFTER_MAX`]; `None` for NaN, infinities and negatives. Never panics.
pub fn pause_from_secs(secs: f64) -> Option<Duration> {
    if !secs.is_finite() || secs < 0.0 {
        return None;
    }
    let max = RETRY_AFTER_MAX.as_secs_f64();
    Some(Duration::try_from_secs_f64(secs.min(max)).unwrap_or(RETRY_AFTER_MAX))
}

/// A `Retry-After` value (RFC 9110 §10.2.3) as the wait from `now` (pure): delay-seconds
/// (a decimal fraction is taken too) or an HTTP date (IMF-fixdate, RFC 850 or asctime form).
/// A date in the past is no wait; anything longer than [`RETRY_AFTER_MAX`] is that; a value
/// that is neither (garbage, a negative number, NaN) is `None`. Never panics.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let v = value.trim();
    if v.is_empty() {
        return None;
    }
    if v.bytes().all(|b| b.is_ascii_digit()) {
        // Digits only: seconds; more than u64 holds is still "very long".
        let secs = v.parse::<u64>().unwrap_or(u64::MAX);
        return Some(Duration::from_secs(secs).min(RETRY_AFTER_MAX));
    }
    if let Ok(secs) = v.parse::<f64>() {
        // A number too large for f64 parses as infinity: very long, not garbage (the words
        // `inf` and `NaN` are).
        let number = v.starts_with(|c: char| c.is_ascii_digit() || c == '.');
        if number && secs == f64::INFINITY {
            return Some(RETRY_AFTER_MAX);
        }
        return pause_from_secs(secs);
    }
    let at: DateTime<Utc> = httpdate::parse_http_date(v).ok()?.into();
    let wait = at
        .signed_duration_since(now)
        .to_std()
        .unwrap_or(Duration::ZERO);
    Some(wait.min(RETRY_AFTER_MAX))
}

/// The `Retry-After` header of an answer received at `now`, as a wait (see
/// [`parse_retry_after`]).
pub fn retry_after(headers: &[(String, String)], now: DateTime<Utc>) -> Option<Duration> {
    header(headers, "retry-after").and_then(|v| parse_retry_after(v, now))
}

/// The one retry rule every channel starts from (Alertmanager's): 2xx delivered; 408, 429 and
/// 5xx retried (Retry-After honoured, measured from `now`, when the answer came); other
/// statuses fail for good.
pub fn classify_http(
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
    now: DateTime<Utc>,
) -> Outcome {
    let text = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
    match status {
        200..=299 => Outcome::Delivered { code: None },
        408 | 429 | 500..=599 => Outcome::Retry {
            after: retry_after(headers, now),
            reason: format!("HTTP {status}: {}", text.trim()),
            code: None,
        },
        _ => Outcome::Fail {
            reason: format!("HTTP {status}: {}", text.trim()),
            code: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        // Tue, 01 Dec 2026 12:00:00 GMT
        DateTime::from_timestamp(1_796_126_400, 0).expect("a valid time")
    }

    fn parse(v: &str) -> Option<Duration> {
        parse_retry_after(v, now())
    }

    #[test]
    fn retry_after_takes_seconds() {
        assert_eq!(parse("0"), Some(Duration::ZERO));
        assert_eq!(parse("120"), Some(Duration::from_secs(120)));
        assert_eq!(parse(" 7 "), Some(Duration::from_secs(7)));
        assert_eq!(parse("1.5"), Some(Duration::from_millis(1500)));
    }

    #[test]
    fn retry_after_takes_http_dates_in_every_form() {
        assert_eq!(
            httpdate::fmt_http_date(now().into()),
            "Tue, 01 Dec 2026 12:00:00 GMT"
        );
        let four = Some(Duration::from_secs(4));
        assert_eq!(parse("Tue, 01 Dec 2026 12:00:04 GMT"), four);
        assert_eq!(parse("Tuesday, 01-Dec-26 12:00:04 GMT"), four);
        assert_eq!(parse("Tue Dec  1 12:00:04 2026"), four);
        assert_eq!(
            parse("Tue, 01 Dec 2026 13:00:00 GMT"),
            Some(Duration::from_secs(3600))
        );
        // In the past, or now: no wait.
        assert_eq!(parse("Tue, 01 Dec 2026 11:59:00 GMT"), Some(Duration::ZERO));
        assert_eq!(parse("Thu, 01 Jan 1970 00:00:00 GMT"), Some(Duration::ZERO));
        // Far ahead: the ceiling.
        assert_eq!(
            parse("Fri, 31 Dec 9999 23:59:59 GMT"),
            Some(RETRY_AFTER_MAX)
        );
    }

    #[test]
    fn retry_after_never_panics_and_is_clamped() {
        assert_eq!(parse("1e30"), Some(RETRY_AFTER_MAX));
        assert_eq!(parse("86401"), Some(RETRY_AFTER_MAX));
        assert_eq!(parse("18446744073709551615"), Some(RETRY_AFTER_MAX));
        assert_eq!(parse(&"9".repeat(400)), Some(RETRY_AFTER_MAX));
        assert_eq!(
            parse(&format!("{}.5", "9".repeat(400))),
            Some(RETRY_AFTER_MAX)
        );
        assert_eq!(parse("1e400"), Some(RETRY_AFTER_MAX));
        assert_eq!(parse("1e308"), Some(RETRY_AFTER_MAX));
        for bad in [
            "-5",
            "-0.5",
            "NaN",
            "nan",
            "inf",
            "-inf",
            "",
            "  ",
            "soon",
            "5s",
            "0x10",
            "Tue, 32 Dec 2026 12:00:00 GMT",
            "2026-12-01T12:00:04Z",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn pauses_in_seconds_are_checked() {
        assert_eq!(pause_from_secs(0.25), Some(Duration::from_millis(250)));
        assert_eq!(pause_from_secs(1e30), Some(RETRY_AFTER_MAX));
        assert_eq!(pause_from_secs(f64::MAX), Some(RETRY_AFTER_MAX));
        assert_eq!(pause_from_secs(-5.0), None);
        assert_eq!(pause_from_secs(f64::NAN), None);
        assert_eq!(pause_from_secs(f64::INFINITY), None);
    }

    #[test]
    fn the_header_is_found_whatever_its_case() {
        let h = vec![(
            "retry-after".to_string(),
            "Tue, 01 Dec 2026 12:00:04 GMT".to_string(),
        )];
        assert_eq!(retry_after(&h, now()), Some(Duration::from_secs(4)));
        let h = vec![("Retry-After".to_string(), "1e30".to_string())];
        assert!(matches!(
            classify_http(429, &h, b"slow down", now()),
            Outcome::Retry { after: Some(a), .. } if a == RETRY_AFTER_MAX
        ));
    }

    #[test]
    fn json_retry_after_fields_are_clamped_too() {
        let discord = |body: &str| match discord::classify(429, &[], body.as_bytes(), now()) {
            Outcome::Retry { after, .. } => after,
            other => panic!("{other:?}"),
        };
        assert_eq!(discord(r#"{"retry_after":1e30}"#), Some(RETRY_AFTER_MAX));
        assert_eq!(discord(r#"{"retry_after":-5}"#), None);
        assert_eq!(
            discord(r#"{"retry_after":0.5}"#),
            Some(Duration::from_millis(500))
        );
        let telegram = |body: &str| match telegram::classify(429, &[], body.as_bytes(), now()) {
            Outcome::Retry { after, .. } => after,
            other => panic!("{other:?}"),
        };
        let body = r#"{"ok":false,"error_code":429,"description":"Too Many Requests","parameters":{"retry_after":1e30}}"#;
        assert_eq!(telegram(body), Some(RETRY_AFTER_MAX));
        let body = r#"{"ok":false,"error_code":429,"description":"Too Many Requests","parameters":{"retry_after":18446744073709551615}}"#;
        assert_eq!(telegram(body), Some(RETRY_AFTER_MAX));
        // A bad body value falls back to the header.
        let h = vec![("Retry-After".to_string(), "3".to_string())];
        assert!(matches!(
            discord::classify(429, &h, br#"{"retry_after":-1}"#, now()),
            Outcome::Retry { after: Some(a), .. } if a == Duration::from_secs(3)
        ));
    }
}
