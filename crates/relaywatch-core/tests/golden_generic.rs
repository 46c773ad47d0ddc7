//! Generic webhook: golden documents for every sample in both languages, Standard Webhooks
//! signing checked against the specification's published test vector and an independently
//! computed literal, the status table, and the body bound. Rule: no network.

#[path = "common/golden.rs"]
mod golden;

use std::time::Duration;

use chrono::{TimeZone, Utc};
use relaywatch_core::channels::{generic, header, Body, EncodeContext, Outcome, Request};
use relaywatch_core::config::Lang;
use relaywatch_core::secrets::{assert_no_secret_in, Secret};
use relaywatch_testkit::samples;
use serde_json::Value;

const URL: &str = "https://receiver.example/hook";
/// `whsec_` + base64 of the 24 bytes 1, 2, …, 24.
const SECRET: &str = "whsec_AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcY";

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
        Body::Multipart { .. } => panic!("JSON"),
    }
}

#[test]
fn golden_requests_for_every_sample() {
    for lang in [Lang::En, Lang::ZhCn] {
        for (name, msg) in samples::all(lang) {
            let reqs = generic::encode(&msg, &ctx(lang));
            assert_eq!(reqs.len(), 1);
            golden::check_golden(
                &format!("generic/{name}.{}.json", lang.as_str()),
                &golden::dump(&reqs),
            );
        }
    }
}

#[test]
fn standard_webhooks_reference_vector() {
    // The test vector published with the Standard Webhooks reference libraries
    // (github.com/standard-webhooks/standard-webhooks, and svix-webhooks' TestWebhookSign).
    let key = generic::signing_key(&Secret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")).unwrap();
    assert_eq!(key.len(), 24);
    assert_eq!(
        generic::signature(
            &key,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#
        ),
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    );
}

#[test]
fn headers_sign_exactly_the_bytes_sent() {
    let (_, m) = samples::all(Lang::En)
        .into_iter()
        .find(|(n, _)| n == "test")
        .unwrap();
    let reqs = generic::encode(&m, &ctx(Lang::En));
    let r = &reqs[0];
    assert_eq!(header(&r.headers, "webhook-id"), Some("msg_fixed-0001"));
    assert_eq!(header(&r.headers, "webhook-timestamp"), Some("1795309200"));
    let sent = serde_json::to_vec(json_body(r)).unwrap();
    // Independent: computed once with Python's hmac over
    // b"msg_fixed-0001.1795309200." + the compact JSON body, key bytes(range(1, 25)).
    assert_eq!(
        header(&r.headers, "webhook-signature").unwrap(),
        "v1,+hOzumrTT3EzGx6DX8kWk/Ef24IHMeMUWADBW1VHgBE="
    );
    let key: Vec<u8> = (1..=24).collect();
    assert_eq!(
        header(&r.headers, "webhook-signature").unwrap(),
        generic::signature(&key, "msg_fixed-0001", 1795309200, &sent)
    );
    // Computed once with Python: base64(HMAC-SHA256(bytes(range(1,25)),
    // b'msg_fixed-0001.1795309200.{"a":1}')).
    assert_eq!(
        generic::signature(&key, "msg_fixed-0001", 1795309200, br#"{"a":1}"#),
        "v1,W33NUJaVgeHA/asXIdZ+cgwJvwhLT+qUzX05nWgWgOM="
    );
}

#[test]
fn secrets_without_prefix_bearer_and_problems() {
    let raw = Secret::new("plain-shared-secret");
    assert_eq!(
        generic::signing_key(&raw).unwrap(),
        b"plain-shared-secret".to_vec()
    );
    assert_eq!(generic::secret_problem(&raw), None);
    assert_eq!(generic::secret_problem(&Secret::new(SECRET)), None);
    assert!(generic::secret_problem(&Secret::new("whsec_%%%not-base64")).is_some());
    assert!(
        generic::secret_problem(&Secret::new("whsec_AQID")).is_some(),
        "3 bytes"
    );
    assert!(generic::secret_problem(&Secret::new("")).is_some());
    let problem = generic::secret_problem(&Secret::new("whsec_%%%not-base64")).unwrap();
    assert_no_secret_in(&problem, "whsec_%%%not-base64");

    let (_, m) = samples::all(Lang::En).remove(1);
    let mut c = ctx(Lang::En);
    c.secret = Some(Secret::new("whsec_%%%not-base64"));
    let r = &generic::encode(&m, &c)[0];
    assert_eq!(
        header(&r.headers, "webhook-signature"),
        None,
        "cannot sign: unsigned"
    );
    assert!(header(&r.headers, "webhook-id").is_some());

    c.secret = None;
    let token = Secret::new("ez-api-token");
    let r = &generic::encode_with_bearer(&m, &c, Some(&token))[0];
    assert_eq!(
        header(&r.headers, "authorization"),
        Some("Bearer ez-api-token")
    );
    assert_eq!(header(&r.headers, "webhook-signature"), None);
}

#[test]
fn document_shape() {
    let all = samples::all(Lang::ZhCn);
    let doc = |name: &str| {
        let m = &all.iter().find(|(n, _)| n == name).unwrap().1;
        json_body(&generic::encode(m, &ctx(Lang::ZhCn))[0]).clone()
    };
    let q = doc("quota-firing");
    assert_eq!(q["version"], "1");
    assert_eq!(q["kind"], "quota");
    assert_eq!(q["state"], "firing");
    assert_eq!(q["level"], "critical");
    assert_eq!(q["timestamp"], "2026-11-22T09:00:00+08:00");
    assert_eq!(q["data"]["items"][0]["key_name"], "市场部-文案");
    let r = doc("report");
    assert_eq!(r["state"], Value::Null);
    assert_eq!(r["kind"], "report");
    assert!(r["facts"][0]["label"].is_string());
    assert_eq!(doc("error-rate-resolved")["state"], "resolved");
    let keys: Vec<&str> = q.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "version",
            "kind",
            "state",
            "level",
            "title",
            "summary",
            "facts",
            "sections",
            "data",
            "timestamp"
        ]
    );
}

#[test]
fn every_body_within_the_bound() {
    for lang in [Lang::En, Lang::ZhCn] {
        for (name, msg) in samples::all(lang) {
            let r = &generic::encode(&msg, &ctx(lang))[0];
            let n = serde_json::to_vec(json_body(r)).unwrap().len();
            assert!(n <= generic::MAX_BODY_BYTES, "{name}: {n}");
            assert!(n <= 20 * 1024, "under the spec's 20 KB advice: {name} {n}");
        }
    }
}

#[test]
fn status_table() {
    let ra = vec![("Retry-After".to_string(), "120".to_string())];
    assert_eq!(
        generic::classify(200, &[], b"ok", at()),
        Outcome::Delivered { code: None }
    );
    assert_eq!(
        generic::classify(204, &[], b"", at()),
        Outcome::Delivered { code: None }
    );
    assert!(matches!(
        generic::classify(410, &[], b"gone", at()),
        Outcome::Disable { code: None, .. }
    ));
    assert!(matches!(
        generic::classify(429, &ra, b"", at()),
        Outcome::Retry { after: Some(d), .. } if d == Duration::from_secs(120)
    ));
    assert!(matches!(
        generic::classify(503, &[], b"", at()),
        Outcome::Retry { after: None, .. }
    ));
    assert!(matches!(
        generic::classify(500, &ra, b"", at()),
        Outcome::Retry { after: Some(_), .. }
    ));
    assert!(matches!(
        generic::classify(408, &[], b"", at()),
        Outcome::Retry { .. }
    ));
    for s in [400, 401, 403, 404, 413, 422] {
        assert!(
            matches!(generic::classify(s, &[], b"no", at()), Outcome::Fail { .. }),
            "{s}"
        );
    }
    assert!(matches!(
        generic::classify(301, &[], b"", at()),
        Outcome::Fail { .. }
    ));
    let leak = "https://receiver.example/hook?token=s3cr3t-t0ken-value";
    let o = generic::classify(401, &[], format!("bad token for {leak}").as_bytes(), at());
    assert_no_secret_in(&format!("{o:?}"), "s3cr3t-t0ken-value");
    let o = generic::classify(410, &[], format!("gone {leak}").as_bytes(), at());
    assert_no_secret_in(&format!("{o:?}"), "s3cr3t-t0ken-value");
    let l = generic::limits();
    assert_eq!(l.max_text, generic::MAX_BODY_BYTES);
}

#[test]
fn timestamp_header_follows_now() {
    let (_, m) = samples::all(Lang::En).remove(1);
    let mut c = ctx(Lang::En);
    c.now = Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap();
    let r = &generic::encode(&m, &c)[0];
    assert_eq!(header(&r.headers, "webhook-timestamp"), Some("1893456000"));
}

/// The moment the answers are judged at (a Retry-After date counts from it).
fn at() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(1_795_000_000, 0).expect("a valid time")
}
