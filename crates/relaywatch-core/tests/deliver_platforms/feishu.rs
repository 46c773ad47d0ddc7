//! Feishu: success, its error families, 429 with retry_after where it has one, 5xx then
//! success, and a reply slower than the timeout.

use super::*;

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
