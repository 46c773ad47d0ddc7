//! DingTalk channel: golden requests for every sample in both languages, the signature against
//! an independently computed value, the errcode table, the 20 000-byte budget and the keyword.
//! Rule: no network; every expected signature is a literal computed outside this code.

#[path = "common/golden.rs"]
mod golden;

use std::time::Duration;

use chrono::Utc;
use relaywatch_core::channels::{dingtalk, Body, EncodeContext, Outcome, Request};
use relaywatch_core::config::Lang;
use relaywatch_core::render::message::{Align, Column, Message, Section, Table};
use relaywatch_core::secrets::{assert_no_secret_in, Secret};
use relaywatch_testkit::samples;
use serde_json::{json, Value};

const URL: &str = "https://oapi.dingtalk.example/robot/send?access_token=fake-token";
const SECRET: &str = "SECfake-secret";
/// Computed once with Python's hmac/hashlib/base64/urllib for ts 1795309200000
/// (2026-11-22T01:00:00Z, `samples::sample_time()`):
/// base64(HMAC-SHA256(key="SECfake-secret", msg="1795309200000\nSECfake-secret")).
const EXPECTED_SIGN: &str = "mSCdIzNE1S9ssSdLIyhuPmPZo1es+rjNvMEX2dnzF3M=";
const EXPECTED_SIGN_ENCODED: &str = "mSCdIzNE1S9ssSdLIyhuPmPZo1es%2BrjNvMEX2dnzF3M%3D";

fn ctx(lang: Lang) -> EncodeContext {
    EncodeContext {
        url: Secret::new(URL),
        secret: Some(Secret::new(SECRET)),
        lang,
        format: None,
        keyword: Some("监控".into()),
        mentions: vec!["13800000000".into()],
        api_base: None,
        chat_id: None,
        message_id: "msg_fixed-0001".into(),
        now: samples::sample_time().with_timezone(&Utc),
    }
}

fn json_body(r: &Request) -> &Value {
    match &r.body {
        Body::Json { value } => value,
        Body::Multipart { .. } => panic!("DingTalk sends JSON"),
    }
}

fn body_bytes(r: &Request) -> usize {
    serde_json::to_vec(json_body(r)).unwrap().len()
}

#[test]
fn golden_requests_for_every_sample() {
    for lang in [Lang::En, Lang::ZhCn] {
        for (name, msg) in samples::all(lang) {
            let reqs = dingtalk::encode(&msg, &ctx(lang));
            assert!(!reqs.is_empty(), "{name}");
            golden::check_golden(
                &format!("dingtalk/{name}.{}.json", lang.as_str()),
                &golden::dump(&reqs),
            );
        }
    }
}

#[test]
fn signature_matches_an_independent_computation() {
    let secret = Secret::new(SECRET);
    assert_eq!(dingtalk::sign(&secret, 1_795_309_200_000), EXPECTED_SIGN);
    let url = dingtalk::signed_url(&ctx(Lang::En));
    assert_eq!(
        url.expose(),
        format!("{URL}&timestamp=1795309200000&sign={EXPECTED_SIGN_ENCODED}")
    );
    // Without a secret the URL is left alone.
    let mut plain = ctx(Lang::En);
    plain.secret = None;
    assert_eq!(dingtalk::signed_url(&plain).expose(), URL);
    // Every request of a message carries the same signed URL.
    let (_, report) = samples::all(Lang::ZhCn).remove(0);
    for r in dingtalk::encode(&report, &ctx(Lang::ZhCn)) {
        assert!(r.url.expose().ends_with(EXPECTED_SIGN_ENCODED));
    }
}

#[test]
fn markdown_body_shape_and_mentions() {
    let (_, msg) = samples::all(Lang::ZhCn)
        .into_iter()
        .find(|(n, _)| n == "quota-firing")
        .unwrap();
    let reqs = dingtalk::encode(&msg, &ctx(Lang::ZhCn));
    assert_eq!(reqs.len(), 1);
    let b = json_body(&reqs[0]);
    assert_eq!(b["msgtype"], "markdown");
    assert_eq!(b["at"]["atMobiles"], json!(["13800000000"]));
    assert_eq!(b["at"]["isAtAll"], false);
    let text = b["markdown"]["text"].as_str().unwrap();
    assert!(
        text.contains("@13800000000"),
        "DingTalk needs @mobile in the text"
    );
    assert!(text.contains("市场部-文案"));
    let title = b["markdown"]["title"].as_str().unwrap();
    assert!(
        title.contains("监控"),
        "keyword leads the title when missing: {title}"
    );
}

#[test]
fn keyword_already_present_is_not_added() {
    let (_, msg) = samples::all(Lang::En).remove(0);
    let mut c = ctx(Lang::En);
    c.keyword = Some("relaywatch".into()); // the footer says it
    let b = json_body(&dingtalk::encode(&msg, &c)[0]).clone();
    assert!(!b["markdown"]["title"].as_str().unwrap().contains('【'));
    assert!(b["markdown"]["text"]
        .as_str()
        .unwrap()
        .contains("relaywatch"));
}

#[test]
fn keyword_problems() {
    let (_, msg) = samples::all(Lang::En).remove(0);
    assert_eq!(dingtalk::keyword_problem("监控", &msg), None);
    assert_eq!(dingtalk::keyword_problem("relaywatch", &msg), None);
    assert!(dingtalk::keyword_problem("  ", &msg).is_some());
    assert!(dingtalk::keyword_problem("a\nb", &msg).is_some());
    assert!(dingtalk::keyword_problem(&"k".repeat(200), &msg).is_some());
    // Every part of a split message carries it.
    let big = huge_message(Lang::ZhCn);
    assert_eq!(dingtalk::keyword_problem("告警", &big), None);
    let mut c = ctx(Lang::ZhCn);
    c.keyword = Some("告警".into());
    let reqs = dingtalk::encode(&big, &c);
    assert!(reqs.len() > 1);
    for r in &reqs {
        let b = json_body(r);
        assert!(b["markdown"]["text"].as_str().unwrap().contains("告警"));
        assert!(b["markdown"]["title"].as_str().unwrap().contains("告警"));
    }
}

/// A message far over every budget: many long tables with CJK cells, and one section whose
/// text alone is over the limit.
fn huge_message(lang: Lang) -> Message {
    let (_, mut m) = samples::all(lang).remove(0);
    for s in 0..12 {
        m.sections.push(Section {
            title: format!("分组 {s}"),
            facts: Vec::new(),
            table: Some(Table {
                columns: vec![
                    Column {
                        header: "#".into(),
                        align: Align::Right,
                    },
                    Column {
                        header: "密钥".into(),
                        align: Align::Left,
                    },
                    Column {
                        header: "费用".into(),
                        align: Align::Right,
                    },
                ],
                rows: (0..10)
                    .map(|i| {
                        vec![
                            (i + 1).to_string(),
                            format!("研发部-很长的密钥名称-{s}-{i}-{}", "甲".repeat(60)),
                            format!("${i}.00"),
                        ]
                    })
                    .collect(),
            }),
            text: None,
            optional: false,
        });
    }
    m.sections.push(Section {
        title: "原始错误".into(),
        facts: Vec::new(),
        table: None,
        text: Some("错误内容很长\n".repeat(2500)),
        optional: false,
    });
    m
}

#[test]
fn every_body_fits_in_20000_bytes() {
    for lang in [Lang::En, Lang::ZhCn] {
        let mut all = samples::all(lang);
        all.push(("huge".into(), huge_message(lang)));
        for (name, msg) in all {
            for r in dingtalk::encode(&msg, &ctx(lang)) {
                let n = body_bytes(&r);
                assert!(n <= dingtalk::MAX_BODY_BYTES, "{name}: {n} bytes");
            }
        }
    }
    let l = dingtalk::limits();
    assert_eq!((l.rate, l.per), (20, Duration::from_secs(60)));
    assert_eq!(l.max_text, 20_000);
    assert!(!l.images);
}

#[test]
fn charts_are_not_uploaded_but_their_tables_are_shown() {
    let (_, report) = samples::all(Lang::En).remove(0);
    assert_eq!(report.charts.len(), 4);
    let reqs = dingtalk::encode(&report, &ctx(Lang::En));
    let text: String = reqs
        .iter()
        .map(|r| {
            json_body(r)["markdown"]["text"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(!text.contains(".png"));
    assert!(text.contains("1. **研发部-主力**"), "{text}");
}

fn body(v: Value) -> Vec<u8> {
    serde_json::to_vec(&v).unwrap()
}

#[test]
fn errcode_table() {
    let ok = |code: i64, msg: &str| {
        dingtalk::classify(
            200,
            &[],
            &body(json!({"errcode": code, "errmsg": msg})),
            at(),
        )
    };
    assert_eq!(ok(0, "ok"), Outcome::Delivered { code: Some(0) });
    assert_eq!(
        ok(130101, "send too fast, exceed 20 times per minute"),
        Outcome::Retry {
            after: Some(Duration::from_secs(600)),
            reason: "DingTalk errcode 130101: send too fast, exceed 20 times per minute".into(),
            code: Some(130101),
        }
    );
    assert_eq!(
        ok(310000, "keywords not in content"),
        Outcome::Fail {
            reason: "DingTalk errcode 310000: keywords not in content (keyword, signature, timestamp or IP allow-list)".into(),
            code: Some(310000),
        }
    );
    assert_eq!(
        ok(460101, "message too long, exceed 20000 bytes"),
        Outcome::TooLong {
            reason: "DingTalk errcode 460101: message too long, exceed 20000 bytes".into(),
            code: Some(460101),
        }
    );
    assert_eq!(
        ok(300001, "token is not exist"),
        Outcome::Fail {
            reason: "DingTalk errcode 300001: token is not exist".into(),
            code: Some(300001),
        }
    );
    assert!(matches!(
        ok(-1, "系统繁忙"),
        Outcome::Retry {
            after: None,
            code: Some(-1),
            ..
        }
    ));
    // HTTP failures by the shared rule, Retry-After honoured.
    let h = vec![("Retry-After".to_string(), "7".to_string())];
    assert!(matches!(
        dingtalk::classify(503, &h, b"busy", at()),
        Outcome::Retry { after: Some(d), code: None, .. } if d == Duration::from_secs(7)
    ));
    assert!(matches!(
        dingtalk::classify(404, &[], b"not found", at()),
        Outcome::Fail { code: None, .. }
    ));
    // A 200 without an errcode: nothing says it failed.
    assert_eq!(
        dingtalk::classify(200, &[], b"", at()),
        Outcome::Delivered { code: None }
    );
}

#[test]
fn outcomes_do_not_echo_the_token() {
    let token = "1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b";
    let bodies = [
        json!({"errcode": 300001, "errmsg": format!("token is not exist: {token}")}),
        json!({"errcode": 310000, "errmsg": format!("sign not match, more: https://oapi.dingtalk.com/robot/send?access_token={token}&sign=abc")}),
    ];
    for b in bodies {
        let o = dingtalk::classify(200, &[], &body(b), at());
        assert_no_secret_in(&format!("{o:?}"), token);
    }
    let o = dingtalk::classify(
        400,
        &[],
        format!("bad https://oapi.dingtalk.com/robot/send?access_token={token}").as_bytes(),
        at(),
    );
    assert_no_secret_in(&format!("{o:?}"), token);
    // The request's Debug never shows the URL token or the secret.
    let (_, m) = samples::all(Lang::En).remove(0);
    let reqs = dingtalk::encode(&m, &ctx(Lang::En));
    let debug = format!("{reqs:?}");
    assert_no_secret_in(&debug, "fake-token");
    assert_no_secret_in(&debug, SECRET);
}

/// The moment the answers are judged at (a Retry-After date counts from it).
fn at() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(1_795_000_000, 0).expect("a valid time")
}
