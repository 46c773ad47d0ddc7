//! Telegram: success, its error families, 429 with retry_after where it has one, 5xx then
//! success, and a reply slower than the timeout.

use super::*;

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
