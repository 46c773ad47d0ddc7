//! Generic JSON webhook: a Message as a versioned JSON document (`version` "1"), with Standard
//! Webhooks headers (`webhook-id`, `webhook-timestamp`, and `webhook-signature` when a secret is
//! set) and an optional bearer token. Rule: the signature is computed over exactly the bytes the
//! sender puts on the wire (`serde_json::to_vec` of the body, as `reqwest`'s `.json()` sends).

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::sign::{base64_decode, base64_encode, hmac_sha256, scrub};
use super::{classify_http, Body, EncodeContext, Limits, Outcome, Request, SizeUnit};
use crate::render::clean;
use crate::render::message::Message;
use crate::secrets::Secret;

/// The document's `version`: bumped only on a breaking change of its shape.
pub const VERSION: &str = "1";
/// The largest body we send. Standard Webhooks recommends payloads under 20 KB, but `data` is the
/// whole machine-readable snapshot, which receivers want intact; this bound only keeps a runaway
/// message from being posted (no sample comes near it).
/// <https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md>
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// A self-imposed pace: a generic receiver states no limit.
pub const RATE_PER_MINUTE: u32 = 60;
/// The prefix of a Standard Webhooks secret whose rest is base64.
/// <https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md>
pub const SECRET_PREFIX: &str = "whsec_";
/// A `whsec_` key's size range in bytes, per the spec.
pub const KEY_MIN_BYTES: usize = 24;
pub const KEY_MAX_BYTES: usize = 64;

pub fn limits() -> Limits {
    Limits {
        rate: RATE_PER_MINUTE,
        per: Duration::from_secs(60),
        max_text: MAX_BODY_BYTES,
        unit: SizeUnit::Bytes,
        images: false,
    }
}

/// The HMAC key of a secret: `whsec_<base64>` is base64-decoded (the Standard Webhooks form); a
/// secret without the prefix is used as its raw UTF-8 bytes (what most hand-written receivers do
/// with a shared secret).
pub fn signing_key(secret: &Secret) -> Result<Vec<u8>, String> {
    let s = secret.expose().trim();
    if s.is_empty() {
        return Err("the signing secret is empty".into());
    }
    match s.strip_prefix(SECRET_PREFIX) {
        Some(b64) => base64_decode(b64).map_err(|_| {
            "the whsec_ secret is not valid base64 after its prefix: copy it again".to_string()
        }),
        None => Ok(s.as_bytes().to_vec()),
    }
}

/// What is wrong with a signing secret, for the settings check: not decodable, or a `whsec_` key
/// outside 24–64 bytes. `None` when it is usable.
pub fn secret_problem(secret: &Secret) -> Option<String> {
    match signing_key(secret) {
        Err(e) => Some(e),
        Ok(key) if secret.expose().trim().starts_with(SECRET_PREFIX) => {
            (!(KEY_MIN_BYTES..=KEY_MAX_BYTES).contains(&key.len())).then(|| {
                format!(
                    "the whsec_ key is {} bytes; Standard Webhooks expects {KEY_MIN_BYTES} to {KEY_MAX_BYTES}",
                    key.len()
                )
            })
        }
        Ok(_) => None,
    }
}

/// `v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`.
pub fn signature(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut msg = Vec::with_capacity(body.len() + id.len() + 24);
    msg.extend_from_slice(id.as_bytes());
    msg.push(b'.');
    msg.extend_from_slice(timestamp.to_string().as_bytes());
    msg.push(b'.');
    msg.extend_from_slice(body);
    format!("v1,{}", base64_encode(&hmac_sha256(key, &msg)))
}

/// The JSON document of a message.
/// Every string is cleaned of control, bidi and invisible characters (`clean::json_strings`),
/// `data` included; nothing is cut.
pub fn document(m: &Message) -> Value {
    let mut doc = json!({
        "version": VERSION,
        "kind": m.kind,
        "state": m.state,
        "level": m.level,
        "title": m.title,
        "summary": m.summary,
        "facts": m.facts,
        "sections": m.sections,
        "data": m.data,
        "timestamp": m.timestamp.to_rfc3339(),
    });
    clean::json_strings(&mut doc);
    doc
}

/// One request, unsigned unless the channel has a usable secret (an undecodable `whsec_` secret
/// sends no signature, so the receiver refuses it visibly; `secret_problem` says why up front).
/// `webhook-id` and `webhook-timestamp` are always sent, so receivers can drop duplicates.
pub fn encode_with_bearer(
    msg: &Message,
    ctx: &EncodeContext,
    bearer: Option<&Secret>,
) -> Vec<Request> {
    let value = document(msg);
    let ts = ctx.now.timestamp();
    let mut headers = vec![
        ("webhook-id".to_string(), ctx.message_id.clone()),
        ("webhook-timestamp".to_string(), ts.to_string()),
    ];
    if let Some(key) = ctx.secret.as_ref().and_then(|s| signing_key(s).ok()) {
        let bytes = serde_json::to_vec(&value).unwrap_or_default();
        headers.push((
            "webhook-signature".to_string(),
            signature(&key, &ctx.message_id, ts, &bytes),
        ));
    }
    if let Some(token) = bearer.filter(|t| !t.is_empty()) {
        headers.push((
            "Authorization".to_string(),
            format!("Bearer {}", token.expose()),
        ));
    }
    vec![Request {
        url: ctx.url.clone(),
        headers,
        body: Body::Json { value },
    }]
}

/// `encode_with_bearer` without a bearer token.
pub fn encode(msg: &Message, ctx: &EncodeContext) -> Vec<Request> {
    encode_with_bearer(msg, ctx, None)
}

/// 2xx delivered; 410 Gone disables the channel; 3xx fails (redirects are not followed);
/// 408, 429 and 5xx retry (Retry-After honoured); other 4xx fail.
pub fn classify(
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
    now: DateTime<Utc>,
) -> Outcome {
    let text = scrub(&String::from_utf8_lossy(&body[..body.len().min(300)]));
    match status {
        410 => Outcome::Disable {
            reason: format!("HTTP 410 Gone: the receiver retired this endpoint. {text}")
                .trim()
                .to_string(),
            code: None,
        },
        300..=399 => Outcome::Fail {
            reason: format!("HTTP {status}: redirects are not followed. {text}")
                .trim()
                .to_string(),
            code: None,
        },
        _ => super::dingtalk::scrubbed(classify_http(status, headers, body, now)),
    }
}
