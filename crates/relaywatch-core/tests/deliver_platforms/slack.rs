//! Slack: success, its error families, 429 with retry_after where it has one, 5xx then
//! success, and a reply slower than the timeout.

use super::*;

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
