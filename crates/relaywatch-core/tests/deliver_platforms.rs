//! Every platform against a loopback receiver that answers as the platform does: success, each
//! errcode family, 429 with retry_after, 5xx then success, and a reply slower than the timeout.
//! Each test asserts the exact outcome and how many requests the receiver saw.

#[path = "common/receiver.rs"]
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
use relaywatch_core::render::{messages, samples};
use relaywatch_core::secret_store::SecretStore;
use relaywatch_core::secrets::assert_no_secret_in;

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

// ---------------------------------------------------------------------------------- Slack

fn slack_ok() -> Reply {
    Reply::new(200, "ok")
}

#[tokio::test]
async fn slack_success() {
    check_success(ChannelType::Slack, slack_ok(), None).await;
}

#[tokio::test]
async fn slack_errors() {
    let k = ChannelType::Slack;
    let (o, _) = outcome_of(k, Reply::new(404, "channel_not_found")).await;
    assert_disable(&o, None);
    let (o, _) = outcome_of(k, Reply::new(410, "channel_is_archived")).await;
    assert_disable(&o, None);
    let (o, _) = outcome_of(k, Reply::new(400, "invalid_payload")).await;
    assert_fail(&o, None);
    let (o, _) = outcome_of(k, Reply::new(400, "invalid_blocks_too_long")).await;
    assert_too_long(&o, None);
    let (o, _) = outcome_of(k, Reply::new(403, "invalid_token")).await;
    assert_fail(&o, None);
}

#[tokio::test]
async fn slack_429_retry_after() {
    let (o, sent) = outcome_of(
        ChannelType::Slack,
        Reply::new(429, "rate_limited").header("Retry-After", "1"),
    )
    .await;
    assert_retry(&o, Some(Duration::from_secs(1)), None);
    assert_eq!(sent.attempts[0].status, Some(429));
}

#[tokio::test]
async fn slack_5xx_then_success() {
    check_5xx_then_success(ChannelType::Slack, slack_ok()).await;
}

#[tokio::test]
async fn slack_timeout() {
    check_timeout(ChannelType::Slack, slack_ok()).await;
}

// -------------------------------------------------------------------------------- Discord

fn discord_ok() -> Reply {
    Reply::json(
        200,
        r#"{"id":"1100000000000000000","type":0,"content":"","channel_id":"1000","webhook_id":"123"}"#,
    )
}

#[tokio::test]
async fn discord_success() {
    check_success(ChannelType::Discord, discord_ok(), None).await;
}

#[tokio::test]
async fn discord_errors() {
    let k = ChannelType::Discord;
    let (o, _) = outcome_of(
        k,
        Reply::json(404, r#"{"code":10015,"message":"Unknown Webhook"}"#),
    )
    .await;
    assert_disable(&o, Some(10015));
    let (o, _) = outcome_of(
        k,
        Reply::json(
            400,
            r#"{"code":50006,"message":"Cannot send an empty message"}"#,
        ),
    )
    .await;
    assert_fail(&o, Some(50006));
    let (o, _) = outcome_of(
        k,
        Reply::json(413, r#"{"message":"Request entity too large"}"#),
    )
    .await;
    assert_too_long(&o, None);
}

#[tokio::test]
async fn discord_429_retry_after() {
    let (o, _) = outcome_of(
        ChannelType::Discord,
        Reply::json(
            429,
            r#"{"message":"You are being rate limited.","retry_after":0.05,"global":false}"#,
        ),
    )
    .await;
    assert_retry(&o, Some(Duration::from_millis(50)), None);
    let Outcome::Retry { reason, .. } = &o else {
        unreachable!()
    };
    assert!(!reason.contains("(global)"), "{reason}");
}

#[tokio::test]
async fn discord_5xx_then_success() {
    check_5xx_then_success(ChannelType::Discord, discord_ok()).await;
}

#[tokio::test]
async fn discord_timeout() {
    check_timeout(ChannelType::Discord, discord_ok()).await;
}

// ------------------------------------------------------------------------------- DingTalk

fn errcode_ok() -> Reply {
    Reply::json(200, r#"{"errcode":0,"errmsg":"ok"}"#)
}

fn errcode(code: i64, msg: &str) -> Reply {
    Reply::json(200, &format!(r#"{{"errcode":{code},"errmsg":"{msg}"}}"#))
}

#[tokio::test]
async fn dingtalk_success() {
    check_success(ChannelType::Dingtalk, errcode_ok(), Some(0)).await;
}

#[tokio::test]
async fn dingtalk_errcodes() {
    let k = ChannelType::Dingtalk;
    let (o, sent) = outcome_of(k, errcode(310000, "keywords not in content")).await;
    assert_fail(&o, Some(310000));
    assert_eq!(sent.attempts[0].status, Some(200));
    let (o, _) = outcome_of(k, errcode(130101, "send too fast")).await;
    assert_retry(&o, Some(Duration::from_secs(600)), Some(130101));
    let (o, _) = outcome_of(k, errcode(460101, "message too long")).await;
    assert_too_long(&o, Some(460101));
    let (o, _) = outcome_of(k, errcode(-1, "system busy")).await;
    assert_retry(&o, None, Some(-1));
    let (o, _) = outcome_of(k, errcode(300001, "token is not exist")).await;
    assert_fail(&o, Some(300001));
}

#[tokio::test]
async fn dingtalk_5xx_then_success() {
    check_5xx_then_success(ChannelType::Dingtalk, errcode_ok()).await;
}

#[tokio::test]
async fn dingtalk_timeout() {
    check_timeout(ChannelType::Dingtalk, errcode_ok()).await;
}

// ---------------------------------------------------------------------------------- WeCom

#[tokio::test]
async fn wecom_success() {
    check_success(ChannelType::Wecom, errcode_ok(), Some(0)).await;
}

#[tokio::test]
async fn wecom_errcodes() {
    let k = ChannelType::Wecom;
    let (o, _) = outcome_of(k, errcode(93000, "invalid webhook url")).await;
    assert_fail(&o, Some(93000));
    let (o, _) = outcome_of(k, errcode(45009, "api freq out of limit")).await;
    assert_retry(&o, None, Some(45009));
    let (o, _) = outcome_of(k, errcode(40058, "content exceed max length 4096")).await;
    assert_too_long(&o, Some(40058));
    let (o, _) = outcome_of(k, errcode(-1, "system busy")).await;
    assert_retry(&o, None, Some(-1));
}

#[tokio::test]
async fn wecom_5xx_then_success() {
    check_5xx_then_success(ChannelType::Wecom, errcode_ok()).await;
}

#[tokio::test]
async fn wecom_timeout() {
    check_timeout(ChannelType::Wecom, errcode_ok()).await;
}

// --------------------------------------------------------------------------------- Feishu

fn feishu_ok() -> Reply {
    Reply::json(200, r#"{"code":0,"data":{},"msg":"success"}"#)
}

fn feishu_code(status: u16, code: i64, msg: &str) -> Reply {
    Reply::json(
        status,
        &format!(r#"{{"code":{code},"data":{{}},"msg":"{msg}"}}"#),
    )
}

#[tokio::test]
async fn feishu_success() {
    check_success(ChannelType::Feishu, feishu_ok(), Some(0)).await;
}

#[tokio::test]
async fn feishu_codes() {
    let k = ChannelType::Feishu;
    let (o, _) = outcome_of(k, feishu_code(200, 19021, "sign match fail")).await;
    assert_fail(&o, Some(19021));
    let (o, _) = outcome_of(k, feishu_code(200, 11232, "frequency limited")).await;
    assert_retry(&o, None, Some(11232));
    let (o, _) = outcome_of(k, feishu_code(200, 19024, "Key Words Not Found")).await;
    assert_fail(&o, Some(19024));
    let (o, _) = outcome_of(k, feishu_code(400, 9499, "Bad Request")).await;
    assert_fail(&o, Some(9499));
}

#[tokio::test]
async fn feishu_429_retry_after() {
    let (o, _) = outcome_of(
        ChannelType::Feishu,
        feishu_code(429, 11232, "frequency limited").header("Retry-After", "1"),
    )
    .await;
    assert_retry(&o, Some(Duration::from_secs(1)), Some(11232));
}

#[tokio::test]
async fn feishu_5xx_then_success() {
    check_5xx_then_success(ChannelType::Feishu, feishu_ok()).await;
}

#[tokio::test]
async fn feishu_timeout() {
    check_timeout(ChannelType::Feishu, feishu_ok()).await;
}

// ------------------------------------------------------------------------------- Telegram

fn telegram_ok() -> Reply {
    Reply::json(200, r#"{"ok":true,"result":{}}"#)
}

#[tokio::test]
async fn telegram_success() {
    check_success(ChannelType::Telegram, telegram_ok(), None).await;
}

#[tokio::test]
async fn telegram_errors() {
    let k = ChannelType::Telegram;
    let chat_not_found =
        r#"{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}"#;
    let (o, _) = outcome_of(k, Reply::json(400, chat_not_found)).await;
    assert_fail(&o, Some(400));
    // The same body behind a proxy that answers 200: the body wins.
    let (o, _) = outcome_of(k, Reply::json(200, chat_not_found)).await;
    assert_fail(&o, Some(400));
    let (o, _) = outcome_of(
        k,
        Reply::json(
            400,
            r#"{"ok":false,"error_code":400,"description":"Bad Request: message is too long"}"#,
        ),
    )
    .await;
    assert_too_long(&o, Some(400));
}

#[tokio::test]
async fn telegram_429_retry_after() {
    let (o, _) = outcome_of(
        ChannelType::Telegram,
        Reply::json(
            429,
            r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 1","parameters":{"retry_after":1}}"#,
        ),
    )
    .await;
    assert_retry(&o, Some(Duration::from_secs(1)), Some(429));
}

#[tokio::test]
async fn telegram_5xx_then_success() {
    check_5xx_then_success(ChannelType::Telegram, telegram_ok()).await;
}

#[tokio::test]
async fn telegram_timeout() {
    check_timeout(ChannelType::Telegram, telegram_ok()).await;
}

// -------------------------------------------------------------------------------- Generic

fn generic_ok() -> Reply {
    Reply::new(204, "")
}

#[tokio::test]
async fn generic_success() {
    check_success(ChannelType::Generic, generic_ok(), None).await;
}

#[tokio::test]
async fn generic_errors() {
    let k = ChannelType::Generic;
    let (o, _) = outcome_of(k, Reply::new(410, "gone")).await;
    assert_disable(&o, None);
    let (o, _) = outcome_of(k, Reply::new(400, "bad payload")).await;
    assert_fail(&o, None);
    let (o, _) = outcome_of(
        k,
        Reply::new(302, "").header("Location", "http://127.0.0.1:1/elsewhere"),
    )
    .await;
    assert_fail(&o, None);
}

#[tokio::test]
async fn generic_429_retry_after() {
    let (o, _) = outcome_of(
        ChannelType::Generic,
        Reply::new(429, "slow down").header("Retry-After", "1"),
    )
    .await;
    assert_retry(&o, Some(Duration::from_secs(1)), None);
}

#[tokio::test]
async fn generic_5xx_then_success() {
    check_5xx_then_success(ChannelType::Generic, generic_ok()).await;
}

#[tokio::test]
async fn generic_timeout() {
    check_timeout(ChannelType::Generic, generic_ok()).await;
}

// ------------------------------------------------------------------------ Retry behaviour

/// A 429 whose retry_after is small is honoured by `send_with_retries` (bounded by the
/// policy), then the success ends the loop: two requests.
#[tokio::test]
async fn discord_429_then_success_retries_once() {
    let rx = Receiver::start(vec![
        Reply::json(429, r#"{"retry_after":0.05,"global":false}"#),
        discord_ok(),
    ])
    .await;
    let s = sender(ChannelType::Discord, rx.port(), 2_000);
    let started = Instant::now();
    let all = send_with_retries(&s, &message(), "msg-429", &policy()).await;
    no_leak(&all);
    assert_eq!(all.len(), 2);
    assert_retry(
        &all[0].attempts[0].outcome,
        Some(Duration::from_millis(50)),
        None,
    );
    assert!(all[1].delivered());
    assert_eq!(rx.count(), 2);
    assert!(started.elapsed() >= Duration::from_millis(50));
}

/// A permanent failure stops at once; persistent 5xx stops after `max_attempts`.
#[tokio::test]
async fn retries_stop_on_fail_and_after_max_attempts() {
    let rx = Receiver::start(vec![errcode(93000, "invalid webhook url")]).await;
    let s = sender(ChannelType::Wecom, rx.port(), 2_000);
    let all = send_with_retries(&s, &message(), "msg-fail", &policy()).await;
    no_leak(&all);
    assert_eq!(all.len(), 1);
    assert_fail(&all[0].attempts[0].outcome, Some(93000));
    assert_eq!(rx.count(), 1);

    let rx = Receiver::start(vec![Reply::new(503, "down")]).await;
    let s = sender(ChannelType::Generic, rx.port(), 2_000);
    let all = send_with_retries(&s, &message(), "msg-down", &policy()).await;
    no_leak(&all);
    assert_eq!(all.len(), 4);
    assert!(all.iter().all(|s| !s.delivered()));
    assert_eq!(rx.count(), 4);
}

/// A platform that asks for a longer pause than the policy allows (DingTalk's 10-minute robot
/// pause) ends a one-shot delivery at once instead of blocking it.
#[tokio::test]
async fn a_pause_longer_than_the_policy_allows_ends_the_retries() {
    let rx = Receiver::start(vec![Reply::json(
        200,
        r#"{"errcode":130101,"errmsg":"send too fast, exceed 20 times per minute"}"#,
    )])
    .await;
    let s = sender(ChannelType::Dingtalk, rx.port(), 2_000);
    let started = Instant::now();
    let tries = send_with_retries(&s, &message(), "msg-1", &policy()).await;
    assert_eq!(tries.len(), 1, "no second attempt: {tries:?}");
    assert_eq!(rx.count(), 1);
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_retry(
        &tries[0].attempts[0].outcome,
        Some(Duration::from_secs(600)),
        Some(130101),
    );
    no_leak(&tries);
}

/// Feishu with app credentials: a tenant token, one image upload per chart, then the card
/// showing them by `image_key` — all against a loopback stand-in for the open API.
#[tokio::test]
async fn feishu_with_app_credentials_sends_charts_as_images() {
    const APP_SECRET: &str = "fake-app-secret-123";
    let rx = Receiver::start(vec![
        Reply::json(
            200,
            r#"{"code":0,"msg":"ok","tenant_access_token":"t-fake-tenant","expire":7200}"#,
        ),
        Reply::json(200, r#"{"code":0,"data":{"image_key":"img_v2_overview"}}"#),
        Reply::json(200, r#"{"code":0,"data":{"image_key":"img_v2_models"}}"#),
        Reply::json(200, r#"{"code":0,"data":{"image_key":"img_v2_trend"}}"#),
        Reply::json(200, r#"{"code":0,"data":{"image_key":"img_v2_top_keys"}}"#),
        Reply::json(200, r#"{"code":0,"msg":"success"}"#),
    ])
    .await;
    let port = rx.port();
    let settings = settings(
        ChannelSettings {
            api_base: Some(format!("http://127.0.0.1:{port}")),
            app_id: Some("cli_fake".into()),
            app_secret: Some(SecretRef::Env {
                env: "APP_SECRET".into(),
            }),
            ..channel(ChannelType::Feishu, port)
        },
        2_000,
    );
    let url = url_for(ChannelType::Feishu, port);
    let store = SecretStore::default().with_env(move |k| match k {
        "URL" => Some(url.clone()),
        "APP_SECRET" => Some(APP_SECRET.to_string()),
        _ => None,
    });
    let s = ChannelSender::new(&settings, NAME, &store).expect("sender");
    let (_, report) = samples::all(Lang::ZhCn).remove(0);
    assert_eq!(report.charts.len(), 4);
    let sent = s.send(&report, "msg-1", Utc::now()).await;
    assert!(sent.delivered(), "{sent:?}");
    let seen = rx.seen();
    let targets: Vec<&str> = seen.iter().map(|r| r.target.as_str()).collect();
    assert_eq!(
        targets[0],
        "/open-apis/auth/v3/tenant_access_token/internal"
    );
    assert!(
        targets[1..5]
            .iter()
            .all(|t| *t == "/open-apis/im/v1/images"),
        "{targets:?}"
    );
    assert_eq!(targets[5], expected_target(ChannelType::Feishu));
    assert!(
        String::from_utf8_lossy(&seen[0].body).contains(APP_SECRET),
        "the token call carries the app secret"
    );
    let card = String::from_utf8_lossy(&seen[5].body);
    for key in [
        "img_v2_overview",
        "img_v2_models",
        "img_v2_trend",
        "img_v2_top_keys",
    ] {
        assert!(card.contains(key), "{key} in the card");
    }
    let shown = format!("{sent:?}");
    assert_no_secret_in(&shown, APP_SECRET);
    assert_no_secret_in(&shown, "t-fake-tenant");
    no_leak(&sent);
}

/// The dashboard report with its four charts reaches Discord as multipart attachments shown in
/// embeds, and Telegram as a text message plus one PNG document per chart.
#[tokio::test]
async fn report_charts_reach_discord_and_telegram_as_images() {
    let (_, report) = samples::all(Lang::En).remove(0);
    assert_eq!(report.charts.len(), 4);
    let png = samples::tiny_png();

    let rx = Receiver::start(vec![discord_ok()]).await;
    let sent = sender(ChannelType::Discord, rx.port(), 2_000)
        .send(&report, "msg-1", Utc::now())
        .await;
    assert!(sent.delivered(), "{sent:?}");
    let seen = rx.seen();
    assert_eq!(
        seen.len(),
        1,
        "one multipart request carries text and charts"
    );
    let body = &seen[0].body;
    let text = String::from_utf8_lossy(body);
    for stem in ["overview", "models", "trend", "top-keys"] {
        assert!(
            text.contains(&format!("attachment://{stem}.png")),
            "{stem} shown in an embed"
        );
        assert!(
            text.contains(&format!("filename=\"{stem}.png\"")),
            "{stem} attached"
        );
    }
    let png_copies = body
        .windows(png.len())
        .filter(|w| *w == png.as_slice())
        .count();
    assert_eq!(png_copies, 4, "the four PNGs travel as they are");
    no_leak(&sent);

    let rx = Receiver::start(vec![Reply::json(200, r#"{"ok":true,"result":{}}"#)]).await;
    let sent = sender(ChannelType::Telegram, rx.port(), 2_000)
        .send(&report, "msg-1", Utc::now())
        .await;
    assert!(sent.delivered(), "{sent:?}");
    let targets: Vec<String> = rx.seen().iter().map(|r| r.target.clone()).collect();
    let messages = targets
        .iter()
        .filter(|t| t.ends_with("/sendMessage"))
        .count();
    let documents = targets
        .iter()
        .filter(|t| t.ends_with("/sendDocument"))
        .count();
    assert!(messages >= 1, "{targets:?}");
    assert_eq!(documents, 4, "{targets:?}");
    for r in rx
        .seen()
        .iter()
        .filter(|r| r.target.ends_with("/sendDocument"))
    {
        assert_eq!(
            r.body
                .windows(png.len())
                .filter(|w| *w == png.as_slice())
                .count(),
            1
        );
    }
    no_leak(&sent);
}
