//! WeCom: success, its error families, 429 with retry_after where it has one, 5xx then
//! success, and a reply slower than the timeout.

use super::*;

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
