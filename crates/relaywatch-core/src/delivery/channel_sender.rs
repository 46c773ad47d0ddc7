//! One channel's sender, which the outbox drain, the service and the CLI's direct sends use:
//! resolve a channel's secrets, encode a Message for it, send through the SSRF-guarded client and
//! judge the answer. Thin: the logic lives in `channels`, `net` and `render`. Rule: every text
//! a send returns (reply, reason, rule) is scrubbed of the channel's secrets by value, and an
//! error names the channel and the host, never the URL.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::channels::{dispatch, feishu, file, EncodeContext, Outcome};
use crate::config::channels::{ChannelSettings, ChannelType};
use crate::config::{Lang, Settings};
use crate::delivery::net::{HttpClient, NetError, NetPolicy};
use crate::render::message::Message;
use crate::secret_store::SecretStore;
use crate::secrets::{redact, Secret};

/// Longest platform reply kept for display.
pub const REPLY_SHOWN: usize = 500;

/// One request's result.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// HTTP status, when there was an answer.
    pub status: Option<u16>,
    /// The platform's reply (scrubbed of the channel's secrets, shortened).
    pub reply: String,
    pub outcome: Outcome,
    /// The rule that judged it, in words.
    pub rule: String,
    pub latency: Duration,
}

/// The result of sending one message to one channel.
#[derive(Debug, Clone)]
pub struct Sent {
    pub channel: String,
    pub attempts: Vec<Attempt>,
}

impl Sent {
    /// Every request was accepted.
    pub fn delivered(&self) -> bool {
        !self.attempts.is_empty()
            && self
                .attempts
                .iter()
                .all(|a| matches!(a.outcome, Outcome::Delivered { .. }))
    }
}

/// Errors before anything is sent.
#[derive(Debug, thiserror::Error)]
pub enum SenderError {
    #[error("no channel named {0:?} in the config; `relaywatch check-config` lists them")]
    NoSuchChannel(String),
    #[error("channel {channel}: {reason}")]
    Channel { channel: String, reason: String },
    #[error(transparent)]
    Secret(#[from] crate::secret_store::SecretError),
    #[error(transparent)]
    Net(#[from] NetError),
}

/// A Feishu tenant token is reused until this long before it expires.
pub const FEISHU_TOKEN_MARGIN: Duration = Duration::from_secs(300);

/// How long a tenant token that lives `expire` may be reused: its lifetime less
/// [`FEISHU_TOKEN_MARGIN`] (zero for a token that lives less than that: not reused).
pub fn feishu_token_reuse(expire: Duration) -> Duration {
    expire.saturating_sub(FEISHU_TOKEN_MARGIN)
}

/// (open API base, app id) → tenant token and the moment it stops being reused. Shared by every
/// sender of the process, so a daemon fetches one token per app every ~2 hours.
type TokenCache = HashMap<(String, String), (Secret, Instant)>;

fn feishu_tokens() -> &'static Mutex<TokenCache> {
    static TOKENS: OnceLock<Mutex<TokenCache>> = OnceLock::new();
    TOKENS.get_or_init(Mutex::default)
}

fn cached_feishu_token(key: &(String, String), now: Instant) -> Option<Secret> {
    let tokens = feishu_tokens().lock().unwrap_or_else(|e| e.into_inner());
    tokens
        .get(key)
        .filter(|(_, until)| now < *until)
        .map(|(t, _)| t.clone())
}

fn keep_feishu_token(key: (String, String), token: &Secret, expire: Duration, now: Instant) {
    let reuse = feishu_token_reuse(expire);
    let mut tokens = feishu_tokens().lock().unwrap_or_else(|e| e.into_inner());
    if reuse.is_zero() {
        tokens.remove(&key);
    } else {
        tokens.insert(key, (token.clone(), now + reuse));
    }
}

fn forget_feishu_token(key: &(String, String)) {
    feishu_tokens()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(key);
}

/// A channel ready to send: its settings, resolved secrets and client.
pub struct ChannelSender {
    pub settings: ChannelSettings,
    url: Option<Secret>,
    secret: Option<Secret>,
    bearer: Option<Secret>,
    app_secret: Option<Secret>,
    client: HttpClient,
}

impl ChannelSender {
    /// Resolve the channel's secrets and build its client with the `[network]` policy.
    pub fn new(
        s: &Settings,
        name: &str,
        store: &SecretStore,
    ) -> Result<ChannelSender, SenderError> {
        let c = s
            .channels
            .iter()
            .find(|c| c.name == name)
            .ok_or_else(|| SenderError::NoSuchChannel(name.to_string()))?
            .clone();
        let resolve = |r: &Option<crate::config::channels::SecretRef>| {
            r.as_ref().map(|r| store.resolve(r)).transpose()
        };
        let url = resolve(&c.url)?;
        let secret = resolve(&c.secret)?;
        let bearer = resolve(&c.bearer)?;
        let app_secret = resolve(&c.app_secret)?;
        if let (Some(u), Some(r)) = (&url, &c.url) {
            check_url_value(&c, u, r)?;
        }
        let policy =
            NetPolicy::from_settings(&s.network.allow, s.network.allow_http, s.network.timeout_ms)?;
        let client = HttpClient::new(policy, c.proxy.as_deref())?;
        Ok(ChannelSender {
            settings: c,
            url,
            secret,
            bearer,
            app_secret,
            client,
        })
    }

    /// The same channel sending through `client` (tests inject one whose resolver is a table).
    pub fn with_client(mut self, client: HttpClient) -> ChannelSender {
        self.client = client;
        self
    }

    /// `text` without any form of this channel's secrets (resolving them through the
    /// `SecretStore` remembered them for [`redact`]), nor any other secret this process holds,
    /// nor a token-bearing URL.
    pub fn scrub(&self, text: &str) -> String {
        redact(text)
    }

    /// A platform's answer judged, with every text in it scrubbed before anything reads it (a
    /// reply that echoes the request carries the URL, the bearer or the token).
    fn judge(&self, resp: crate::delivery::net::HttpResponse) -> Attempt {
        let kind = self.settings.kind;
        let body = self
            .scrub(&String::from_utf8_lossy(&resp.body))
            .into_bytes();
        let headers: Vec<(String, String)> = resp
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), self.scrub(v)))
            .collect();
        // A Retry-After date counts from the moment the answer came. The outcome's texts come
        // from the scrubbed body and headers, so they need no second pass.
        let outcome = dispatch::classify(kind, resp.status, &headers, &body, Utc::now());
        let reply: String = String::from_utf8_lossy(&body)
            .chars()
            .take(REPLY_SHOWN)
            .collect();
        Attempt {
            status: Some(resp.status),
            reply,
            rule: dispatch::rule(kind, &outcome),
            outcome,
            latency: resp.latency,
        }
    }

    /// A request that got no answer: the reason names the channel and the host, never the URL.
    fn no_answer(&self, e: &NetError, latency: Duration) -> Attempt {
        let kind = self.settings.kind;
        let reason = format!(
            "channel {}: {}",
            self.settings.name,
            self.scrub(&e.to_string())
        );
        let outcome = match e {
            NetError::Timeout { .. } | NetError::Connect { .. } => Outcome::Retry {
                after: None,
                reason: reason.clone(),
                code: None,
            },
            _ => Outcome::Fail {
                reason: reason.clone(),
                code: None,
            },
        };
        Attempt {
            status: None,
            reply: reason,
            rule: dispatch::rule(kind, &outcome),
            outcome,
            latency,
        }
    }

    /// The context `encode` needs.
    pub fn context(
        &self,
        default_lang: Lang,
        message_id: &str,
        now: DateTime<Utc>,
    ) -> EncodeContext {
        let c = &self.settings;
        EncodeContext {
            url: self.url.clone().unwrap_or_else(|| Secret::new("")),
            secret: self.secret.clone(),
            lang: c.lang.unwrap_or(default_lang),
            format: c.format.clone(),
            keyword: c.keyword.clone(),
            mentions: c.mentions.clone(),
            api_base: c.api_base.clone(),
            chat_id: c.chat_id.clone(),
            message_id: message_id.to_string(),
            now,
        }
    }

    /// With Feishu app credentials, upload the charts through the open API (tenant token, then
    /// `im/v1/images`) and return their image keys; `None` (charts stay text tables) without
    /// credentials or charts, or when the API refuses (logged, redacted).
    async fn feishu_image_keys(
        &self,
        msg: &Message,
        ctx: &EncodeContext,
    ) -> Option<Vec<(String, String)>> {
        let c = &self.settings;
        if !matches!(c.kind, ChannelType::Feishu | ChannelType::Lark) || msg.charts.is_empty() {
            return None;
        }
        let (app_id, app_secret) = (c.app_id.as_deref()?, self.app_secret.as_ref()?);
        let base = feishu::api_base(ctx);
        let cache_key = (base.clone(), app_id.to_string());
        let result: Result<Vec<(String, String)>, String> = async {
            let token = match cached_feishu_token(&cache_key, Instant::now()) {
                Some(token) => token,
                None => {
                    let answer = self
                        .client
                        .send(&feishu::tenant_token_request(&base, app_id, app_secret))
                        .await
                        .map_err(|e| e.to_string())?;
                    let (token, expire) = feishu::parse_tenant_token(&answer.body)?;
                    crate::secrets::remember(token.expose());
                    keep_feishu_token(cache_key.clone(), &token, expire, Instant::now());
                    token
                }
            };
            let mut keys = Vec::with_capacity(msg.charts.len());
            for chart in &msg.charts {
                let req = feishu::image_upload_request(&base, &token, &chart.png, &chart.stem);
                let answer = self.client.send(&req).await.map_err(|e| e.to_string())?;
                keys.push((chart.stem.clone(), feishu::parse_image_key(&answer.body)?));
            }
            Ok(keys)
        }
        .await;
        match result {
            Ok(keys) => Some(keys),
            Err(e) => {
                // The token may have been revoked: fetch a fresh one next time.
                forget_feishu_token(&cache_key);
                tracing::warn!(channel = %c.name, reason = %self.scrub(&e), "feishu image upload failed; charts go as tables");
                None
            }
        }
    }

    /// Send `msg` once: every request it encodes to, stopping at the first that is not
    /// delivered. Retrying is the outbox's job.
    pub async fn send(&self, msg: &Message, message_id: &str, now: DateTime<Utc>) -> Sent {
        let kind = self.settings.kind;
        let name = self.settings.name.clone();
        if kind == ChannelType::File {
            let dir = self.settings.path.clone().unwrap_or_default();
            let started = std::time::Instant::now();
            let outcome = match file::write(std::path::Path::new(&dir), msg) {
                Ok(paths) => (
                    format!("wrote {} file(s) to {dir}", paths.len()),
                    Outcome::Delivered { code: None },
                ),
                Err(e) => (
                    self.scrub(&e.to_string()),
                    Outcome::Fail {
                        reason: self.scrub(&format!("cannot write to {dir}: {e}")),
                        code: None,
                    },
                ),
            };
            return Sent {
                channel: name,
                attempts: vec![Attempt {
                    status: None,
                    rule: dispatch::rule(kind, &outcome.1),
                    reply: outcome.0,
                    outcome: outcome.1,
                    latency: started.elapsed(),
                }],
            };
        }
        let ctx = self.context(msg.lang, message_id, now);
        let requests = match self.feishu_image_keys(msg, &ctx).await {
            Some(keys) => feishu::encode_with_images(msg, &ctx, &keys),
            None => dispatch::encode(kind, msg, &ctx, self.bearer.as_ref()),
        };
        let mut attempts = Vec::with_capacity(requests.len());
        for req in &requests {
            let started = std::time::Instant::now();
            let attempt = match self.client.send(req).await {
                Ok(resp) => self.judge(resp),
                Err(e) => self.no_answer(&e, started.elapsed()),
            };
            let ok = matches!(attempt.outcome, Outcome::Delivered { .. });
            attempts.push(attempt);
            if !ok {
                break;
            }
        }
        Sent {
            channel: name,
            attempts,
        }
    }
}

/// Refuses a channel URL secret that is not a URL (nor, for Telegram, a bot token) without
/// echoing it: a `{ file = … }` or `{ env = … }` reference could otherwise print any file or
/// variable through a test send.
pub fn check_url_value(
    c: &ChannelSettings,
    value: &Secret,
    r: &crate::config::channels::SecretRef,
) -> Result<(), SenderError> {
    let v = value.expose();
    let what = match c.kind {
        ChannelType::File => return Ok(()),
        ChannelType::Telegram => {
            let token = v.split_once(':').is_some_and(|(id, rest)| {
                !id.is_empty()
                    && id.bytes().all(|b| b.is_ascii_digit())
                    && !rest.is_empty()
                    && rest
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            });
            if token {
                return Ok(());
            }
            "a Telegram bot token (digits:letters, as @BotFather gives it)"
        }
        _ => {
            let clean = !v.chars().any(|ch| ch.is_whitespace() || ch.is_control());
            if clean && url::Url::parse(v).is_ok_and(|u| u.has_host()) {
                return Ok(());
            }
            "a URL; it must be the webhook's https:// address"
        }
    };
    Err(SenderError::Channel {
        channel: c.name.clone(),
        reason: format!(
            "the value of `channels.{}.url` (from {}) is not {what}",
            c.name,
            r.describe()
        ),
    })
}

/// Send with retries in this process (for one-shot commands that have no outbox): a
/// temporary failure is tried again after the policy's backoff (or the platform's
/// Retry-After, unless it asks for more than `max_retry_after`), a permanent one stops at once.
/// Returns every attempt's result, the last one last.
pub async fn send_with_retries(
    sender: &ChannelSender,
    msg: &Message,
    message_id: &str,
    policy: &crate::delivery::backoff::BackoffPolicy,
) -> Vec<Sent> {
    let mut jitter = crate::delivery::backoff::Jitter::new(
        message_id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
        }),
    );
    let mut results = Vec::new();
    let mut attempt = 1;
    loop {
        let sent = sender.send(msg, message_id, Utc::now()).await;
        let last = sent.attempts.last().map(|a| a.outcome.clone());
        results.push(sent);
        match last {
            // A platform that asks for a longer pause than the policy allows (DingTalk pauses a
            // robot for 10 minutes) ends a one-shot delivery instead of blocking it.
            Some(Outcome::Retry { after, .. })
                if !policy.exhausted(attempt)
                    && after.is_none_or(|a| a <= policy.max_retry_after) =>
            {
                let wait = policy.retry_delay(attempt, jitter.next_unit(), after);
                tracing::info!(
                    channel = %sender.settings.name,
                    attempt,
                    wait_ms = wait.as_millis() as u64,
                    "temporary failure, retrying"
                );
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
            _ => return results,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feishu_tokens_are_reused_until_five_minutes_before_they_expire() {
        assert_eq!(
            feishu_token_reuse(Duration::from_secs(7200)),
            Duration::from_secs(6900)
        );
        assert_eq!(feishu_token_reuse(Duration::from_secs(200)), Duration::ZERO);
        let key = ("http://127.0.0.1:1".to_string(), "cli_unit".to_string());
        let t0 = Instant::now();
        keep_feishu_token(
            key.clone(),
            &Secret::new("t-1"),
            Duration::from_secs(7200),
            t0,
        );
        let at = |s| t0 + Duration::from_secs(s);
        assert_eq!(
            cached_feishu_token(&key, at(6899)).map(|t| t.expose().to_string()),
            Some("t-1".into())
        );
        assert!(cached_feishu_token(&key, at(6900)).is_none());
        forget_feishu_token(&key);
        assert!(cached_feishu_token(&key, t0).is_none());
    }
}
