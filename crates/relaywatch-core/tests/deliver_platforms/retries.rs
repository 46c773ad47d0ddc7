//! Retry behaviour across platforms: one retry after a 429, stops on a permanent failure and
//! after the last attempt, and a pause longer than the policy allows.

use super::discord::discord_ok;
use super::*;

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
