//! DingTalk: success, its error families, 429 with retry_after where it has one, 5xx then
//! success, and a reply slower than the timeout.

use super::*;

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
