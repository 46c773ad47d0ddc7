//! Discord: success, its error families, 429 with retry_after where it has one, 5xx then
//! success, and a reply slower than the timeout.

use super::*;

pub(crate) fn discord_ok() -> Reply {
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
