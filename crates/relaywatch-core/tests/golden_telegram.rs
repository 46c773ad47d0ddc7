//! Telegram channel: golden files of every sample in en and zh-CN (`tests/golden/telegram/`),
//! the classification table, text and caption limits over every sample and an oversized message
//! (split at line boundaries with tags closed and reopened), and no bot token in any outcome.

#[path = "common/golden.rs"]
mod golden;

use std::time::Duration;

use relaywatch_core::channels::{telegram, Body, EncodeContext, Outcome, Request};
use relaywatch_core::config::Lang;
use relaywatch_core::secrets::{assert_no_secret_in, redact_url, Secret};
use relaywatch_testkit::samples;

const TOKEN: &str = "123456:fake-token";

fn ctx(lang: Lang) -> EncodeContext {
    EncodeContext {
        url: Secret::new(TOKEN),
        secret: None,
        lang,
        format: None,
        keyword: None,
        mentions: Vec::new(),
        api_base: None,
        chat_id: Some("-1001".into()),
        message_id: "msg-1".into(),
        now: samples::sample_time().with_timezone(&chrono::Utc),
    }
}

#[test]
fn golden_requests_for_every_sample() {
    for (name, lang, m) in golden::both_langs() {
        let reqs = telegram::encode(&m, &ctx(lang));
        assert!(!reqs.is_empty(), "{name}");
        let text = golden::dump(&reqs);
        assert_no_secret_in(&text, TOKEN);
        golden::check_golden(&format!("telegram/{name}.{}.json", lang.as_str()), &text);
    }
}

const SEND_MESSAGE: &str = "https://api.telegram.org/bot123456:fake-token/sendMessage";
const SEND_DOCUMENT: &str = "https://api.telegram.org/bot123456:fake-token/sendDocument";

/// The tags in a text, in order: only what the renderer writes, and balanced.
fn check_tags(name: &str, html: &str) {
    let mut stack: Vec<String> = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find('<') {
        let end = rest[i..].find('>').expect("closed tag") + i;
        let tag = &rest[i + 1..end];
        if let Some(closing) = tag.strip_prefix('/') {
            assert_eq!(stack.pop().as_deref(), Some(closing), "{name}: {html}");
        } else {
            assert!(
                ["b", "i", "pre", "blockquote"].contains(&tag),
                "{name}: data became a tag <{tag}>"
            );
            stack.push(tag.to_string());
        }
        rest = &rest[end + 1..];
    }
    assert!(stack.is_empty(), "{name}: unclosed {stack:?}");
}

fn check_limits(name: &str, reqs: &[Request]) {
    let mut documents = false;
    for r in reqs {
        match &r.body {
            Body::Json { value } => {
                assert!(!documents, "{name}: texts come before the charts");
                assert_eq!(r.url.expose(), SEND_MESSAGE);
                assert_eq!(value["chat_id"], "-1001");
                assert_eq!(value["parse_mode"], "HTML");
                assert_eq!(value["disable_web_page_preview"], true);
                let text = value["text"].as_str().unwrap();
                let n = telegram::visible_len(text);
                assert!(
                    (1..=telegram::TEXT_MAX).contains(&n),
                    "{name}: {n} characters"
                );
                check_tags(name, text);
            }
            Body::Multipart { parts } => {
                documents = true;
                assert_eq!(r.url.expose(), SEND_DOCUMENT);
                let names: Vec<&str> = parts.iter().map(|p| p.name.as_str()).collect();
                assert_eq!(names, ["chat_id", "document", "caption", "parse_mode"]);
                assert_eq!(parts[0].bytes, b"-1001");
                assert_eq!(parts[1].content_type, "image/png");
                assert!(parts[1].filename.as_deref().unwrap().ends_with(".png"));
                assert!(parts[1].bytes.starts_with(b"\x89PNG"));
                let caption = std::str::from_utf8(&parts[2].bytes).unwrap();
                assert!(
                    telegram::visible_len(caption) <= telegram::CAPTION_MAX,
                    "{name}"
                );
                check_tags(name, caption);
                assert_eq!(parts[3].bytes, b"HTML");
            }
        }
    }
}

#[test]
fn every_request_respects_text_and_caption_limits() {
    for (name, lang, m) in golden::both_langs() {
        check_limits(&name, &telegram::encode(&m, &ctx(lang)));
    }
    let m = golden::oversized();
    let reqs = telegram::encode(&m, &ctx(Lang::ZhCn));
    check_limits("oversized", &reqs);
    let texts: Vec<&str> = reqs
        .iter()
        .filter_map(|r| match &r.body {
            Body::Json { value } => value["text"].as_str(),
            Body::Multipart { .. } => None,
        })
        .collect();
    assert!(texts.len() > 4, "split into several messages");
    // The 400-line text is one section over the limit on its own: split at line boundaries,
    // inside its blockquote, losing nothing.
    let lines: usize = texts
        .iter()
        .map(|t| t.matches("一行很长的文字").count())
        .sum();
    assert_eq!(lines, 400);
    assert!(texts
        .iter()
        .any(|t| t.starts_with("<blockquote>一行很长的文字")));
    assert_eq!(
        reqs.len() - texts.len(),
        m.charts.len(),
        "one document per chart"
    );
    let text = golden::dump(&reqs);
    assert_no_secret_in(&text, TOKEN);
    assert_no_secret_in(&text, "fake-token");
    assert!(text.contains("&lt;@U123&gt; &amp; more"));
}

#[test]
fn report_sends_text_then_each_chart_as_a_document() {
    let (_, report) = samples::all(Lang::En).remove(0);
    let reqs = telegram::encode(&report, &ctx(Lang::En));
    assert_eq!(reqs.len(), 1 + report.charts.len());
    let Body::Multipart { parts } = &reqs[1].body else {
        panic!("a document upload");
    };
    assert_eq!(parts[1].filename.as_deref(), Some("overview.png"));
    assert_eq!(parts[2].bytes, b"<b>System overview</b>");
}

#[test]
fn api_base_is_configurable() {
    let (_, m) = samples::all(Lang::En).pop().unwrap();
    let mut c = ctx(Lang::En);
    c.api_base = Some("http://127.0.0.1:8081/".into());
    let reqs = telegram::encode(&m, &c);
    assert_eq!(
        reqs[0].url.expose(),
        "http://127.0.0.1:8081/bot123456:fake-token/sendMessage"
    );
    assert_eq!(
        redact_url(reqs[0].url.expose()),
        "http://127.0.0.1:8081/bot***/sendMessage"
    );
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
            telegram::classify(status, &headers, body.as_bytes(), at()),
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
            r#"{"ok":true,"result":{"message_id":7}}"#,
            Outcome::Delivered { code: None },
        ),
        (
            429,
            vec![],
            r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 35","parameters":{"retry_after":35}}"#,
            Outcome::Retry {
                after: Some(Duration::from_secs(35)),
                reason: "HTTP 429: Too Many Requests: retry after 35".into(),
                code: Some(429),
            },
        ),
        (
            429,
            h(&[("Retry-After", "4")]),
            "Too Many Requests",
            Outcome::Retry {
                after: Some(Duration::from_secs(4)),
                reason: "HTTP 429: Too Many Requests".into(),
                code: None,
            },
        ),
        (
            200,
            vec![],
            r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 3","parameters":{"retry_after":3}}"#,
            Outcome::Retry {
                after: Some(Duration::from_secs(3)),
                reason: "HTTP 429: Too Many Requests: retry after 3".into(),
                code: Some(429),
            },
        ),
        (
            502,
            vec![],
            "<html>502 Bad Gateway</html>",
            Outcome::Retry {
                after: None,
                reason: "HTTP 502: <html>502 Bad Gateway</html>".into(),
                code: None,
            },
        ),
        (
            500,
            h(&[("Retry-After", "2")]),
            r#"{"ok":false,"error_code":500,"description":"Internal Server Error"}"#,
            Outcome::Retry {
                after: Some(Duration::from_secs(2)),
                reason: "HTTP 500: Internal Server Error".into(),
                code: Some(500),
            },
        ),
    ]);
}

/// Failed for good, and refused as too long.
#[test]
fn classification_table_fail_and_too_long() {
    assert_classified(vec![
        (
            400,
            vec![],
            r#"{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}"#,
            Outcome::Fail {
                reason: "HTTP 400: Bad Request: chat not found".into(),
                code: Some(400),
            },
        ),
        (
            403,
            vec![],
            r#"{"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"}"#,
            Outcome::Fail {
                reason: "HTTP 403: Forbidden: bot was blocked by the user".into(),
                code: Some(403),
            },
        ),
        (
            401,
            vec![],
            r#"{"ok":false,"error_code":401,"description":"Unauthorized"}"#,
            Outcome::Fail {
                reason: "HTTP 401: Unauthorized".into(),
                code: Some(401),
            },
        ),
        (
            400,
            vec![],
            r#"{"ok":false,"error_code":400,"description":"Bad Request: group chat was upgraded to a supergroup chat","parameters":{"migrate_to_chat_id":-1009876}}"#,
            Outcome::Fail {
                reason: "HTTP 400: Bad Request: group chat was upgraded to a supergroup chat (migrate_to_chat_id -1009876)".into(),
                code: Some(400),
            },
        ),
        (
            400,
            vec![],
            r#"{"ok":false,"error_code":400,"description":"Bad Request: message is too long"}"#,
            Outcome::TooLong {
                reason: "HTTP 400: Bad Request: message is too long".into(),
                code: Some(400),
            },
        ),
    ]);
}

#[test]
fn outcomes_never_carry_the_token() {
    for (status, body) in [
        (
            401,
            format!(
                r#"{{"ok":false,"error_code":401,"description":"Unauthorized: {SEND_MESSAGE}"}}"#
            ),
        ),
        (
            404,
            format!(r#"{{"ok":false,"error_code":404,"description":"Not Found: bot{TOKEN}"}}"#),
        ),
        (502, format!("upstream {SEND_DOCUMENT} unreachable")),
        (400, format!("bad token {TOKEN} given")),
    ] {
        let outcome = telegram::classify(status, &[], body.as_bytes(), at());
        assert!(!matches!(outcome, Outcome::Delivered { .. }));
        assert_no_secret_in(&format!("{outcome:?}"), TOKEN);
        assert_no_secret_in(&format!("{outcome:?}"), "fake-token");
    }
}

/// The moment the answers are judged at (a Retry-After date counts from it).
fn at() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(1_795_000_000, 0).expect("a valid time")
}
