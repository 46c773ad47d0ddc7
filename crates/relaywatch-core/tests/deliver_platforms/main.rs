//! Every platform against a loopback receiver that answers as the platform does: success, each
//! errcode family, 429 with retry_after, 5xx then success, and a reply slower than the timeout.
//! Each test asserts the exact outcome and how many requests the receiver saw.

#[path = "../common/receiver.rs"]
mod receiver;

use std::time::{Duration, Instant};

use chrono::Utc;
use receiver::{Receiver, Reply};
use relaywatch_core::channels::Outcome;
use relaywatch_core::config::channels::{ChannelSettings, ChannelType, NetworkSettings, SecretRef};
use relaywatch_core::config::{Lang, Settings};
use relaywatch_core::delivery::backoff::BackoffPolicy;
use relaywatch_core::delivery::channel_sender::{send_with_retries, ChannelSender, Sent};
use relaywatch_core::render::message::Message;
use relaywatch_core::render::messages;
use relaywatch_core::secret_store::SecretStore;
use relaywatch_core::secrets::assert_no_secret_in;
use relaywatch_testkit::samples;

/// The fake token in every URL; it must never show in results.
const TOKEN: &str = "fake-token-123";
/// Telegram's bot token (the channel's `url` secret).
const BOT_TOKEN: &str = "123456:fake-token-123";
const NAME: &str = "ch";

/// The URL secret for `kind`, shaped like the platform's own, pointing at `port`.
fn url_for(kind: ChannelType, port: u16) -> String {
    let base = format!("http://127.0.0.1:{port}");
    match kind {
        ChannelType::Slack => format!("{base}/services/T000/B000/{TOKEN}"),
        ChannelType::Discord => format!("{base}/api/webhooks/123/{TOKEN}"),
        ChannelType::Dingtalk => format!("{base}/robot/send?access_token={TOKEN}"),
        ChannelType::Wecom => format!("{base}/cgi-bin/webhook/send?key={TOKEN}"),
        ChannelType::Feishu => format!("{base}/open-apis/bot/v2/hook/{TOKEN}"),
        ChannelType::Telegram => BOT_TOKEN.to_string(),
        ChannelType::Generic => format!("{base}/hook/{TOKEN}"),
        other => panic!("no URL for {other:?}"),
    }
}

/// The path and query the receiver should see.
fn expected_target(kind: ChannelType) -> String {
    match kind {
        ChannelType::Slack => format!("/services/T000/B000/{TOKEN}"),
        ChannelType::Discord => format!("/api/webhooks/123/{TOKEN}?wait=true"),
        ChannelType::Dingtalk => format!("/robot/send?access_token={TOKEN}"),
        ChannelType::Wecom => format!("/cgi-bin/webhook/send?key={TOKEN}"),
        ChannelType::Feishu => format!("/open-apis/bot/v2/hook/{TOKEN}"),
        ChannelType::Telegram => format!("/bot{BOT_TOKEN}/sendMessage"),
        ChannelType::Generic => format!("/hook/{TOKEN}"),
        other => panic!("no target for {other:?}"),
    }
}

/// One channel of `kind` whose URL comes from env `URL` (Telegram: its Bot API on `port`).
fn channel(kind: ChannelType, port: u16) -> ChannelSettings {
    let telegram = kind == ChannelType::Telegram;
    ChannelSettings {
        url: Some(SecretRef::Env { env: "URL".into() }),
        chat_id: telegram.then(|| "-1001".into()),
        api_base: telegram.then(|| format!("http://127.0.0.1:{port}")),
        ..ChannelSettings::new(NAME, kind)
    }
}

/// Settings with that one channel, loopback allowed.
fn settings(channel: ChannelSettings, timeout_ms: u64) -> Settings {
    Settings {
        channels: vec![channel],
        network: NetworkSettings {
            allow: vec!["127.0.0.0/8".into()],
            timeout_ms,
            allow_http: true,
        },
        ..Default::default()
    }
}

fn sender(kind: ChannelType, port: u16, timeout_ms: u64) -> ChannelSender {
    let settings = settings(channel(kind, port), timeout_ms);
    let url = url_for(kind, port);
    let store = SecretStore::default().with_env(move |k| (k == "URL").then(|| url.clone()));
    ChannelSender::new(&settings, NAME, &store).expect("sender")
}

fn message() -> Message {
    messages::test_message(NAME, samples::sample_time(), Lang::En)
}

fn policy() -> BackoffPolicy {
    BackoffPolicy {
        base: Duration::from_millis(20),
        cap: Duration::from_millis(200),
        jitter: 0.0,
        max_attempts: 4,
        max_retry_after: Duration::from_millis(100),
    }
}

fn no_leak<T: std::fmt::Debug>(sent: &T) {
    let shown = format!("{sent:?}");
    assert_no_secret_in(&shown, TOKEN);
    assert_no_secret_in(&shown, BOT_TOKEN);
}

/// One `send` against a receiver answering `script`: the single attempt's outcome, the whole
/// Sent, and the receiver (to count and inspect requests).
async fn send_once(kind: ChannelType, script: Vec<Reply>) -> (Outcome, Sent, Receiver) {
    let rx = Receiver::start(script).await;
    let s = sender(kind, rx.port(), 2_000);
    let sent = s.send(&message(), "msg-1", Utc::now()).await;
    no_leak(&sent);
    assert_eq!(sent.channel, NAME);
    assert_eq!(sent.attempts.len(), 1, "{kind:?}: {sent:?}");
    for seen in rx.seen() {
        assert_eq!(seen.target, expected_target(kind), "{kind:?}");
        assert!(!seen.body.is_empty(), "{kind:?}: empty body");
    }
    (sent.attempts[0].outcome.clone(), sent, rx)
}

/// `send` once and expect exactly one request.
async fn outcome_of(kind: ChannelType, reply: Reply) -> (Outcome, Sent) {
    let (o, sent, rx) = send_once(kind, vec![reply]).await;
    assert_eq!(rx.count(), 1, "{kind:?}: requests");
    (o, sent)
}

async fn check_success(kind: ChannelType, reply: Reply, code: Option<i64>) {
    let (o, sent) = outcome_of(kind, reply.clone()).await;
    assert_eq!(o, Outcome::Delivered { code }, "{kind:?}");
    assert!(sent.delivered());
    let a = &sent.attempts[0];
    assert_eq!(a.status, Some(reply.status));
    assert!(!a.rule.is_empty());
}

async fn check_5xx_then_success(kind: ChannelType, success: Reply) {
    let rx = Receiver::start(vec![Reply::new(503, "Service Unavailable"), success]).await;
    let s = sender(kind, rx.port(), 2_000);
    let all = send_with_retries(&s, &message(), "msg-5xx", &policy()).await;
    no_leak(&all);
    assert_eq!(all.len(), 2, "{kind:?}: {all:?}");
    assert_eq!(all[0].attempts.len(), 1);
    assert_eq!(all[0].attempts[0].status, Some(503));
    assert!(
        matches!(
            all[0].attempts[0].outcome,
            Outcome::Retry { after: None, .. }
        ),
        "{kind:?}: {:?}",
        all[0].attempts[0].outcome
    );
    assert!(!all[0].delivered());
    assert!(all[1].delivered(), "{kind:?}: {:?}", all[1]);
    assert_eq!(rx.count(), 2, "{kind:?}: requests");
    for seen in rx.seen() {
        assert_eq!(seen.target, expected_target(kind));
    }
}

async fn check_timeout(kind: ChannelType, success: Reply) {
    let rx = Receiver::start(vec![success.delayed(Duration::from_millis(1_500))]).await;
    let s = sender(kind, rx.port(), 500);
    let started = Instant::now();
    let sent = s.send(&message(), "msg-slow", Utc::now()).await;
    let took = started.elapsed();
    no_leak(&sent);
    assert!(
        took < Duration::from_millis(1_200),
        "{kind:?}: took {took:?}"
    );
    assert_eq!(sent.attempts.len(), 1);
    let a = &sent.attempts[0];
    assert_eq!(a.status, None);
    match &a.outcome {
        Outcome::Retry {
            after: None,
            reason,
            code: None,
        } => assert!(reason.contains("timed out"), "{kind:?}: {reason}"),
        other => panic!("{kind:?}: expected a timeout Retry, got {other:?}"),
    }
    assert_eq!(rx.count(), 1, "{kind:?}: requests");
}

fn assert_retry(o: &Outcome, want_after: Option<Duration>, want_code: Option<i64>) {
    match o {
        Outcome::Retry { after, code, .. } => {
            assert_eq!(*after, want_after, "{o:?}");
            assert_eq!(*code, want_code, "{o:?}");
        }
        other => panic!("expected Retry, got {other:?}"),
    }
}

fn assert_fail(o: &Outcome, want_code: Option<i64>) {
    match o {
        Outcome::Fail { code, .. } => assert_eq!(*code, want_code, "{o:?}"),
        other => panic!("expected Fail, got {other:?}"),
    }
}

fn assert_too_long(o: &Outcome, want_code: Option<i64>) {
    match o {
        Outcome::TooLong { code, .. } => assert_eq!(*code, want_code, "{o:?}"),
        other => panic!("expected TooLong, got {other:?}"),
    }
}

fn assert_disable(o: &Outcome, want_code: Option<i64>) {
    match o {
        Outcome::Disable { code, .. } => assert_eq!(*code, want_code, "{o:?}"),
        other => panic!("expected Disable, got {other:?}"),
    }
}

fn errcode_ok() -> Reply {
    Reply::json(200, r#"{"errcode":0,"errmsg":"ok"}"#)
}

fn errcode(code: i64, msg: &str) -> Reply {
    Reply::json(200, &format!(r#"{{"errcode":{code},"errmsg":"{msg}"}}"#))
}

mod dingtalk;
mod discord;
mod feishu;
mod generic;
mod images;
mod retries;
mod slack;
mod telegram;
mod wecom;
