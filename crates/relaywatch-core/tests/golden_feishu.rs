//! Feishu / Lark channel: golden cards for every sample in both languages (and the report with
//! image keys), the body signature against an independently computed value, the code table, the
//! 20 000-byte budget, and the token / image-upload builders and parsers. Rule: no network.

#[path = "common/golden.rs"]
mod golden;

use std::time::Duration;

use chrono::Utc;
use relaywatch_core::channels::{feishu, Body, EncodeContext, Outcome, Request};
use relaywatch_core::config::Lang;
use relaywatch_core::render::message::{Section, Table};
use relaywatch_core::secrets::{assert_no_secret_in, Secret};
use relaywatch_testkit::samples;
use serde_json::{json, Value};

const URL: &str = "https://open.feishu.example/open-apis/bot/v2/hook/fake-hook";
const SECRET: &str = "SECfake-secret";
/// Computed once with Python's hmac/hashlib/base64 for ts 1795309200 (2026-11-22T01:00:00Z):
/// base64(HMAC-SHA256(key="1795309200\nSECfake-secret", msg="")).
const EXPECTED_SIGN: &str = "Fm27QwkXH1vjubFtvoXMeP7K+iL522osWtA3D8OHTlk=";

fn ctx(lang: Lang) -> EncodeContext {
    EncodeContext {
        url: Secret::new(URL),
        secret: Some(Secret::new(SECRET)),
        lang,
        format: None,
        keyword: None,
        mentions: Vec::new(),
        api_base: None,
        chat_id: None,
        message_id: "msg_fixed-0001".into(),
        now: samples::sample_time().with_timezone(&Utc),
    }
}

fn json_body(r: &Request) -> &Value {
    match &r.body {
        Body::Json { value } => value,
        Body::Multipart { .. } => panic!("the bot takes JSON"),
    }
}

fn image_keys() -> Vec<(String, String)> {
    ["overview", "models", "trend", "top-keys"]
        .iter()
        .map(|s| (s.to_string(), format!("img_v3_fake_{s}")))
        .collect()
}

#[test]
fn golden_requests_for_every_sample() {
    for lang in [Lang::En, Lang::ZhCn] {
        for (name, msg) in samples::all(lang) {
            let reqs = feishu::encode(&msg, &ctx(lang));
            golden::check_golden(
                &format!("feishu/{name}.{}.json", lang.as_str()),
                &golden::dump(&reqs),
            );
            if name == "report" {
                let reqs = feishu::encode_with_images(&msg, &ctx(lang), &image_keys());
                golden::check_golden(
                    &format!("feishu/{name}.{}.images.json", lang.as_str()),
                    &golden::dump(&reqs),
                );
            }
        }
    }
}

#[test]
fn signature_matches_an_independent_computation() {
    assert_eq!(
        feishu::sign(&Secret::new(SECRET), 1_795_309_200),
        EXPECTED_SIGN
    );
    let (_, m) = samples::all(Lang::En).remove(0);
    let reqs = feishu::encode(&m, &ctx(Lang::En));
    let b = json_body(&reqs[0]);
    assert_eq!(b["timestamp"], "1795309200", "seconds, as a string");
    assert_eq!(b["sign"], EXPECTED_SIGN);
    assert_eq!(
        reqs[0].url.expose(),
        URL,
        "signing is in the body, not the URL"
    );
    // No secret: no signature fields.
    let mut c = ctx(Lang::En);
    c.secret = None;
    let b = json_body(&feishu::encode(&m, &c)[0]).clone();
    assert!(b.get("sign").is_none() && b.get("timestamp").is_none());
}

#[test]
fn card_schema_2_with_tables_and_images() {
    let (_, m) = samples::all(Lang::ZhCn).remove(0);
    let reqs = feishu::encode(&m, &ctx(Lang::ZhCn));
    assert_eq!(reqs.len(), 1);
    let b = json_body(&reqs[0]);
    assert_eq!(b["msg_type"], "interactive");
    assert_eq!(b["card"]["schema"], "2.0");
    assert_eq!(b["card"]["header"]["template"], "orange");
    let elements = b["card"]["body"]["elements"].as_array().unwrap();
    let tags: Vec<&str> = elements
        .iter()
        .map(|e| e["tag"].as_str().unwrap())
        .collect();
    assert_eq!(tags.iter().filter(|t| **t == "table").count(), 5);
    assert!(!tags.contains(&"img"), "no keys, no images");
    let table = elements.iter().find(|e| e["tag"] == "table").unwrap();
    assert_eq!(table["rows"][0]["c1"], "研发部-主力");
    assert_eq!(table["columns"][2]["horizontal_align"], "right");

    let reqs = feishu::encode_with_images(&m, &ctx(Lang::ZhCn), &image_keys());
    let elements = json_body(&reqs[0])["card"]["body"]["elements"]
        .as_array()
        .unwrap()
        .clone();
    let imgs: Vec<&Value> = elements.iter().filter(|e| e["tag"] == "img").collect();
    assert_eq!(imgs.len(), 4);
    assert_eq!(imgs[0]["img_key"], "img_v3_fake_overview");
    // A key for only some charts: only those appear.
    let one = vec![("trend".to_string(), "img_k".to_string())];
    let reqs = feishu::encode_with_images(&m, &ctx(Lang::ZhCn), &one);
    let n = json_body(&reqs[0])["card"]["body"]["elements"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["tag"] == "img")
        .count();
    assert_eq!(n, 1);
}

#[test]
fn header_colour_follows_level_and_mentions() {
    let all = samples::all(Lang::En);
    let colour = |name: &str| {
        let m = &all.iter().find(|(n, _)| n == name).unwrap().1;
        json_body(&feishu::encode(m, &ctx(Lang::En))[0])["card"]["header"]["template"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(colour("leaderboard"), "blue");
    assert_eq!(colour("delivery-failure"), "orange");
    assert_eq!(colour("error-rate-firing"), "red");
    assert_eq!(colour("error-rate-resolved"), "green");
    let m = &all[0].1;
    let mut c = ctx(Lang::En);
    c.mentions = vec!["ou_123".into(), "ops@example.com".into()];
    let text = serde_json::to_string(json_body(&feishu::encode(m, &c)[0])).unwrap();
    assert!(text.contains("<at id=ou_123></at> <at email=ops@example.com></at>"));
}

#[test]
fn api_base_defaults() {
    let mut c = ctx(Lang::En);
    assert_eq!(feishu::api_base(&c), "https://open.feishu.cn");
    c.url = Secret::new("https://open.larksuite.com/open-apis/bot/v2/hook/x");
    assert_eq!(feishu::api_base(&c), "https://open.larksuite.com");
    c.api_base = Some("http://127.0.0.1:9000/".into());
    assert_eq!(feishu::api_base(&c), "http://127.0.0.1:9000");
}

#[test]
fn token_and_upload_requests() {
    let r = feishu::tenant_token_request(
        "https://open.feishu.cn",
        "cli_fake",
        &Secret::new("app-secret-x"),
    );
    assert_eq!(
        r.url.expose(),
        "https://open.feishu.cn/open-apis/auth/v3/tenant_access_token/internal"
    );
    assert_eq!(
        json_body(&r),
        &json!({"app_id": "cli_fake", "app_secret": "app-secret-x"})
    );

    let png = samples::tiny_png();
    let r = feishu::image_upload_request(
        "https://open.larksuite.com/",
        &Secret::new("t-fake-token"),
        &png,
        "trend",
    );
    assert_eq!(
        r.url.expose(),
        "https://open.larksuite.com/open-apis/im/v1/images"
    );
    assert_eq!(
        r.headers,
        vec![(
            "Authorization".to_string(),
            "Bearer t-fake-token".to_string()
        )]
    );
    golden::check_golden(
        "feishu/image-upload.json",
        &golden::dump(std::slice::from_ref(&r)),
    );
    let Body::Multipart { parts } = &r.body else {
        panic!("multipart")
    };
    assert_eq!(parts[0].name, "image_type");
    assert_eq!(parts[0].bytes, b"message");
    assert_eq!(parts[1].name, "image");
    assert_eq!(parts[1].filename.as_deref(), Some("trend.png"));
    assert_eq!(parts[1].content_type, "image/png");
    assert_eq!(parts[1].bytes, png);
}

#[test]
fn token_and_image_key_answers() {
    let (token, ttl) = feishu::parse_tenant_token(
        br#"{"code":0,"msg":"ok","tenant_access_token":"t-g104abcdef","expire":7200}"#,
    )
    .unwrap();
    assert_eq!(token.expose(), "t-g104abcdef");
    assert_eq!(ttl, Duration::from_secs(7200));
    let err = feishu::parse_tenant_token(br#"{"code":10003,"msg":"invalid param"}"#).unwrap_err();
    assert_eq!(err, "Feishu code 10003: invalid param");
    assert!(feishu::parse_tenant_token(br#"{"code":0}"#).is_err());
    assert!(feishu::parse_tenant_token(b"<html>").is_err());

    assert_eq!(
        feishu::parse_image_key(br#"{"code":0,"data":{"image_key":"img_v2_abc"},"msg":"success"}"#)
            .unwrap(),
        "img_v2_abc"
    );
    let err =
        feishu::parse_image_key(br#"{"code":234006,"msg":"The image size exceeds the limit."}"#)
            .unwrap_err();
    assert!(err.starts_with("Feishu code 234006"));
    let leak = "t-g1044ghJkLmNoPqRsTuVwXyZ0123456789";
    let err = feishu::parse_image_key(
        format!(r#"{{"code":99991663,"msg":"Invalid access token for authorization: {leak}"}}"#)
            .as_bytes(),
    )
    .unwrap_err();
    assert_no_secret_in(&err, leak);
}

fn huge_message(lang: Lang) -> relaywatch_core::render::message::Message {
    let (_, mut m) = samples::all(lang).remove(0);
    let table = m.sections[0].table.clone().unwrap();
    for s in 0..12 {
        m.sections.push(Section {
            title: format!("分组 {s}"),
            facts: Vec::new(),
            table: Some(Table {
                columns: table.columns.clone(),
                rows: table
                    .rows
                    .iter()
                    .map(|r| {
                        let mut r = r.clone();
                        r[1] = format!("{}-{}", r[1], "研发".repeat(30));
                        r
                    })
                    .collect(),
            }),
            text: None,
            optional: false,
        });
    }
    m.sections.push(Section {
        title: "错误".into(),
        facts: Vec::new(),
        table: None,
        text: Some("很长的错误信息\n".repeat(3000)),
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
            let reqs = feishu::encode_with_images(&msg, &ctx(lang), &image_keys());
            if name == "huge" {
                assert!(reqs.len() > 1);
            }
            for r in reqs {
                let n = serde_json::to_vec(json_body(&r)).unwrap().len();
                assert!(n <= feishu::MAX_BODY_BYTES, "{name}: {n} bytes");
            }
        }
    }
    let l = feishu::limits();
    assert_eq!((l.rate, l.per), (100, Duration::from_secs(60)));
    assert_eq!(l.max_text, 20_000);
}

fn body(v: Value) -> Vec<u8> {
    serde_json::to_vec(&v).unwrap()
}

#[test]
fn code_table() {
    let ok = |code: i64, msg: &str| {
        feishu::classify(200, &[], &body(json!({"code": code, "msg": msg})), at())
    };
    assert_eq!(ok(0, "success"), Outcome::Delivered { code: Some(0) });
    assert_eq!(
        feishu::classify(
            200,
            &[],
            br#"{"StatusCode":0,"StatusMessage":"success"}"#,
            at()
        ),
        Outcome::Delivered { code: Some(0) }
    );
    assert_eq!(
        ok(11232, "frequency limited psm"),
        Outcome::Retry {
            after: None,
            reason: "Feishu code 11232: frequency limited psm".into(),
            code: Some(11232),
        }
    );
    assert_eq!(
        ok(19021, "sign match fail or timestamp is not within one hour from current time"),
        Outcome::Fail {
            reason: "Feishu code 19021: sign match fail or timestamp is not within one hour from current time (signature or timestamp: check the secret and the clock)".into(),
            code: Some(19021),
        }
    );
    assert_eq!(
        ok(19022, "ip not allowed"),
        Outcome::Fail {
            reason: "Feishu code 19022: ip not allowed (IP not on the bot's allow-list)".into(),
            code: Some(19022),
        }
    );
    assert_eq!(
        ok(19024, "Key Words Not Found"),
        Outcome::Fail {
            reason: "Feishu code 19024: Key Words Not Found (keyword missing)".into(),
            code: Some(19024),
        }
    );
    assert_eq!(
        feishu::classify(
            400,
            &[],
            &body(json!({"code": 9499, "msg": "Bad Request"})),
            at()
        ),
        Outcome::Fail {
            reason: "Feishu code 9499: Bad Request".into(),
            code: Some(9499),
        }
    );
    assert!(matches!(
        ok(19002, "params error"),
        Outcome::Fail {
            code: Some(19002),
            ..
        }
    ));
    // HTTP-level: 429 / 5xx retried (Retry-After honoured), 404 fails.
    let h = vec![("Retry-After".to_string(), "2".to_string())];
    assert!(matches!(
        feishu::classify(429, &h, b"too many", at()),
        Outcome::Retry { after: Some(d), code: None, .. } if d == Duration::from_secs(2)
    ));
    assert!(matches!(
        feishu::classify(502, &[], b"bad gateway", at()),
        Outcome::Retry { code: None, .. }
    ));
    assert!(matches!(
        feishu::classify(404, &[], b"404 page not found", at()),
        Outcome::Fail { code: None, .. }
    ));
}

#[test]
fn outcomes_do_not_echo_the_hook() {
    let hook = "0c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f";
    let bodies = [
        json!({"code": 19001, "msg": format!("param invalid: incoming webhook access token invalid {hook}")}),
        json!({"code": 9499, "msg": format!("Bad Request https://open.feishu.cn/open-apis/bot/v2/hook/{hook}")}),
    ];
    for b in bodies {
        let o = feishu::classify(200, &[], &body(b), at());
        assert_no_secret_in(&format!("{o:?}"), hook);
    }
    let (_, m) = samples::all(Lang::En).remove(0);
    let debug = format!("{:?}", feishu::encode(&m, &ctx(Lang::En)));
    assert_no_secret_in(&debug, "fake-hook");
}

/// The moment the answers are judged at (a Retry-After date counts from it).
fn at() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(1_795_000_000, 0).expect("a valid time")
}
