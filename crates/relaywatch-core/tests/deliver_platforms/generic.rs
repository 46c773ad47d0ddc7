//! the generic webhook: success, its error families, 429 with retry_after where it has one, 5xx then
//! success, and a reply slower than the timeout.

use super::*;

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
