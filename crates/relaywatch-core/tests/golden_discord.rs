//! Discord channel: golden files of every sample in en and zh-CN (`tests/golden/discord/`), the
//! classification table, embed limits over every sample and an oversized message, chart
//! uploads referenced from embeds, and no token in any outcome.

#[path = "common/golden.rs"]
mod golden;

use std::time::Duration;

use relaywatch_core::channels::{discord, Body, EncodeContext, Outcome, Request};
use relaywatch_core::config::Lang;
use relaywatch_core::secrets::{assert_no_secret_in, Secret};
use relaywatch_testkit::samples;
use serde_json::{json, Value};

const URL: &str = "https://discord.example/api/webhooks/123/fake-token";
const TOKEN: &str = "fake-token";

fn ctx(lang: Lang) -> EncodeContext {
    EncodeContext {
        url: Secret::new(URL),
        secret: None,
        lang,
        format: None,
        keyword: None,
        mentions: Vec::new(),
        api_base: None,
        chat_id: None,
        message_id: "msg-1".into(),
        now: samples::sample_time().with_timezone(&chrono::Utc),
    }
}

#[test]
fn golden_requests_for_every_sample() {
    for (name, lang, m) in golden::both_langs() {
        let reqs = discord::encode(&m, &ctx(lang));
        assert!(!reqs.is_empty(), "{name}");
        let text = golden::dump(&reqs);
        assert_no_secret_in(&text, TOKEN);
        golden::check_golden(&format!("discord/{name}.{}.json", lang.as_str()), &text);
    }
}

fn len(v: &Value) -> usize {
    v.as_str().map(|s| s.encode_utf16().count()).unwrap_or(0)
}

/// The payload of a request, JSON or multipart, and the files it uploads (name, filename).
fn payload(name: &str, r: &Request) -> (Value, Vec<(String, String)>) {
    match &r.body {
        Body::Json { value } => (value.clone(), Vec::new()),
        Body::Multipart { parts } => {
            assert_eq!(parts[0].name, "payload_json", "{name}");
            assert_eq!(parts[0].content_type, "application/json");
            let v = serde_json::from_slice(&parts[0].bytes).unwrap();
            let files = parts[1..]
                .iter()
                .map(|p| {
                    assert_eq!(p.content_type, "image/png", "{name}");
                    assert!(p.bytes.starts_with(b"\x89PNG"), "{name}");
                    (p.name.clone(), p.filename.clone().unwrap())
                })
                .collect();
            (v, files)
        }
    }
}

fn check_limits(name: &str, reqs: &[Request]) {
    for r in reqs {
        assert!(r
            .url
            .expose()
            .ends_with("/api/webhooks/123/fake-token?wait=true"));
        let (v, files) = payload(name, r);
        assert_eq!(v["allowed_mentions"], json!({ "parse": [] }), "{name}");
        let embeds = v["embeds"].as_array().unwrap();
        assert!(
            !embeds.is_empty() && embeds.len() <= discord::MAX_EMBEDS,
            "{name}"
        );
        let mut total = 0;
        for e in embeds {
            assert!(len(&e["title"]) <= discord::TITLE_MAX, "{name}");
            assert!(len(&e["description"]) <= discord::DESCRIPTION_MAX, "{name}");
            assert!(len(&e["footer"]["text"]) <= discord::FOOTER_MAX, "{name}");
            let d = e["description"].as_str().unwrap_or("");
            assert_eq!(d.matches("```").count() % 2, 0, "{name}: open code block");
            total += len(&e["title"]) + len(&e["description"]) + len(&e["footer"]["text"]);
            let fields = e["fields"].as_array().cloned().unwrap_or_default();
            assert!(fields.len() <= discord::MAX_FIELDS, "{name}");
            for f in &fields {
                assert!(
                    (1..=discord::FIELD_NAME_MAX).contains(&len(&f["name"])),
                    "{name}"
                );
                assert!(
                    (1..=discord::FIELD_VALUE_MAX).contains(&len(&f["value"])),
                    "{name}"
                );
                assert_eq!(f["inline"], true);
                total += len(&f["name"]) + len(&f["value"]);
            }
            if let Some(url) = e["image"]["url"].as_str() {
                let file = url.strip_prefix("attachment://").expect("uploaded image");
                assert!(
                    files.iter().any(|(_, f)| f == file),
                    "{name}: {file} not uploaded"
                );
            }
        }
        assert!(
            total <= discord::EMBEDS_TOTAL_MAX,
            "{name}: {total} characters"
        );
        // Every upload is announced in `attachments` and shown by exactly one embed.
        for (i, (part, filename)) in files.iter().enumerate() {
            assert_eq!(part, &format!("files[{i}]"));
            assert_eq!(v["attachments"][i]["id"], i);
            assert_eq!(&v["attachments"][i]["filename"], filename);
            let shown = embeds
                .iter()
                .filter(|e| e["image"]["url"] == format!("attachment://{filename}"))
                .count();
            assert_eq!(shown, 1, "{name}: {filename}");
        }
    }
}

#[test]
fn every_request_respects_embed_limits() {
    for (name, lang, m) in golden::both_langs() {
        check_limits(&name, &discord::encode(&m, &ctx(lang)));
    }
    let m = golden::oversized();
    let reqs = discord::encode(&m, &ctx(Lang::ZhCn));
    assert!(reqs.len() > 1, "the oversized message is split");
    check_limits("oversized", &reqs);
    let uploaded: usize = reqs
        .iter()
        .map(|r| match &r.body {
            Body::Multipart { parts } => parts.len() - 1,
            Body::Json { .. } => 0,
        })
        .sum();
    assert_eq!(uploaded, m.charts.len(), "every chart is uploaded once");
    let text = golden::dump(&reqs);
    assert_no_secret_in(&text, TOKEN);
    assert!(
        !text.contains("<@U123>") && !text.contains("@everyone"),
        "{text}"
    );
}

#[test]
fn report_uploads_its_charts_with_the_embeds() {
    let (_, report) = samples::all(Lang::En).remove(0);
    let reqs = discord::encode(&report, &ctx(Lang::En));
    assert_eq!(reqs.len(), 1);
    let (v, files) = payload("report", &reqs[0]);
    let names: Vec<&str> = files.iter().map(|(_, f)| f.as_str()).collect();
    assert_eq!(
        names,
        ["overview.png", "models.png", "trend.png", "top-keys.png"]
    );
    assert_eq!(v["embeds"].as_array().unwrap().len(), 5);
    assert_eq!(v["embeds"][0]["timestamp"], "2026-11-22T09:00:00+08:00");
    assert_eq!(v["embeds"][0]["color"], report.level.color());
}

/// (status, headers, body, expected outcome).
type Case = (u16, Vec<(String, String)>, &'static str, Outcome);

fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Each case's status, headers and body classify as its outcome.
fn assert_classified(cases: Vec<Case>) {
    for (status, headers, body, want) in cases {
        assert_eq!(
            discord::classify(status, &headers, body.as_bytes(), at()),
            want,
            "{status} {body}"
        );
    }
}

/// Delivered, and retried (with or without Retry-After).
#[test]
fn classification_table_delivered_and_retry() {
    assert_classified(vec![
        (
            200,
            vec![],
            r#"{"id":"1","type":0}"#,
            Outcome::Delivered { code: None },
        ),
        (204, vec![], "", Outcome::Delivered { code: None }),
        (
            429,
            h(&[("Retry-After", "3")]),
            r#"{"message":"You are being rate limited.","retry_after":0.642,"global":false}"#,
            Outcome::Retry {
                after: Some(Duration::from_millis(642)),
                reason: "HTTP 429: You are being rate limited.".into(),
                code: None,
            },
        ),
        (
            429,
            vec![],
            r#"{"message":"You are being rate limited.","retry_after":12.5,"global":true,"code":0}"#,
            Outcome::Retry {
                after: Some(Duration::from_millis(12_500)),
                reason: "HTTP 429: You are being rate limited. (code 0) (global)".into(),
                code: Some(0),
            },
        ),
        (
            429,
            h(&[("retry-after", "7")]),
            "error code: 1015",
            Outcome::Retry {
                after: Some(Duration::from_secs(7)),
                reason: "HTTP 429: error code: 1015".into(),
                code: None,
            },
        ),
        (
            502,
            vec![],
            "<html>Bad Gateway</html>",
            Outcome::Retry {
                after: None,
                reason: "HTTP 502: <html>Bad Gateway</html>".into(),
                code: None,
            },
        ),
    ]);
}

/// Disabled: the destination is gone or turned off.
#[test]
fn classification_table_disable() {
    assert_classified(vec![(
        404,
        vec![],
        r#"{"message":"Unknown Webhook","code":10015}"#,
        Outcome::Disable {
            reason: "webhook deleted: HTTP 404: Unknown Webhook (code 10015)".into(),
            code: Some(10015),
        },
    )]);
}

/// Failed for good, and refused as too long.
#[test]
fn classification_table_fail_and_too_long() {
    assert_classified(vec![
        (
            401,
            vec![],
            r#"{"message":"Invalid Webhook Token","code":50027}"#,
            Outcome::Fail {
                reason: "HTTP 401: Invalid Webhook Token (code 50027)".into(),
                code: Some(50027),
            },
        ),
        (
            400,
            vec![],
            r#"{"message":"Cannot send an empty message","code":50006}"#,
            Outcome::Fail {
                reason: "HTTP 400: Cannot send an empty message (code 50006)".into(),
                code: Some(50006),
            },
        ),
        (
            400,
            vec![],
            r#"{"code":50035,"errors":{"embeds":{"0":{"description":{"_errors":[{"code":"BASE_TYPE_MAX_LENGTH","message":"Must be 4096 or fewer in length."}]}}}},"message":"Invalid Form Body"}"#,
            Outcome::TooLong {
                reason: "HTTP 400: Invalid Form Body (code 50035)".into(),
                code: Some(50035),
            },
        ),
        (
            413,
            vec![],
            r#"{"message":"Request entity too large","code":40005}"#,
            Outcome::TooLong {
                reason: "HTTP 413: Request entity too large (code 40005)".into(),
                code: Some(40005),
            },
        ),
        (
            403,
            vec![],
            "forbidden",
            Outcome::Fail {
                reason: "HTTP 403: forbidden".into(),
                code: None,
            },
        ),
    ]);
}

#[test]
fn outcomes_never_carry_the_token() {
    for (status, body) in [
        (
            401,
            format!(r#"{{"message":"Invalid Webhook Token for {URL}","code":50027}}"#),
        ),
        (
            404,
            format!(r#"{{"message":"Unknown Webhook {URL}?wait=true","code":10015}}"#),
        ),
        (500, format!("proxy error forwarding to {URL}")),
        (
            429,
            format!(r#"{{"message":"slow down {URL}","retry_after":1}}"#),
        ),
    ] {
        let outcome = discord::classify(status, &[], body.as_bytes(), at());
        assert!(!matches!(outcome, Outcome::Delivered { .. }));
        assert_no_secret_in(&format!("{outcome:?}"), TOKEN);
    }
}

/// The moment the answers are judged at (a Retry-After date counts from it).
fn at() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(1_795_000_000, 0).expect("a valid time")
}
