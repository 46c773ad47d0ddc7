//! Slack channel: golden files of every sample in en and zh-CN (`tests/golden/slack/`), the
//! classification table, Block Kit limits over every sample and an oversized message, and no
//! token in any outcome.

#[path = "common/golden.rs"]
mod golden;

use std::time::Duration;

use relaywatch_core::channels::{slack, Body, EncodeContext, Outcome, Request};
use relaywatch_core::config::Lang;
use relaywatch_core::secrets::{assert_no_secret_in, Secret};
use relaywatch_testkit::samples;

const URL: &str = "https://hooks.slack.example/services/TFAKE/BFAKE/fake-token";
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
        let reqs = slack::encode(&m, &ctx(lang));
        assert!(!reqs.is_empty(), "{name}");
        let text = golden::dump(&reqs);
        assert_no_secret_in(&text, TOKEN);
        golden::check_golden(&format!("slack/{name}.{}.json", lang.as_str()), &text);
    }
}

fn len(s: &str) -> usize {
    s.encode_utf16().count()
}

fn check_limits(name: &str, reqs: &[Request]) {
    for r in reqs {
        let Body::Json { value } = &r.body else {
            panic!("{name}: Slack webhooks take JSON only");
        };
        assert_eq!(r.url.expose(), URL);
        assert!(len(value["text"].as_str().unwrap()) <= slack::FALLBACK_TEXT_MAX);
        let blocks = value["blocks"].as_array().unwrap();
        assert!(
            blocks.len() <= slack::MAX_BLOCKS,
            "{name}: {} blocks",
            blocks.len()
        );
        let mut mrkdwn = Vec::new();
        for b in blocks {
            match b["type"].as_str().unwrap() {
                "header" => {
                    let t = b["text"]["text"].as_str().unwrap();
                    assert!(len(t) <= slack::HEADER_TEXT_MAX, "{name}: header {t}");
                }
                "section" => {
                    if !b["text"].is_null() {
                        let t = &b["text"];
                        assert!(len(t["text"].as_str().unwrap()) <= slack::SECTION_TEXT_MAX);
                        mrkdwn.push(t.clone());
                    }
                    if let Some(fields) = b["fields"].as_array() {
                        assert!(fields.len() <= slack::MAX_FIELDS, "{name}");
                        for f in fields {
                            assert!(len(f["text"].as_str().unwrap()) <= slack::FIELD_TEXT_MAX);
                            mrkdwn.push(f.clone());
                        }
                    }
                    assert!(!b["text"].is_null() || !b["fields"].is_null(), "{name}");
                }
                "context" => {
                    for e in b["elements"].as_array().unwrap() {
                        assert!(len(e["text"].as_str().unwrap()) <= slack::CONTEXT_TEXT_MAX);
                        mrkdwn.push(e.clone());
                    }
                }
                other => panic!("{name}: unexpected block {other}"),
            }
        }
        for t in mrkdwn {
            assert_eq!(t["type"], "mrkdwn");
            assert_eq!(t["verbatim"], true, "{name}: no auto-linking of data");
            let text = t["text"].as_str().unwrap();
            assert!(
                !text.contains('<'),
                "{name}: data formed a link or mention: {text}"
            );
            assert_eq!(
                text.matches("```").count() % 2,
                0,
                "{name}: open code block"
            );
        }
    }
}

#[test]
fn every_request_respects_block_kit_limits() {
    for (name, lang, m) in golden::both_langs() {
        check_limits(&name, &slack::encode(&m, &ctx(lang)));
    }
    let reqs = slack::encode(&golden::oversized(), &ctx(Lang::ZhCn));
    assert!(reqs.len() > 1, "the oversized message is split");
    check_limits("oversized", &reqs);
    assert_no_secret_in(&golden::dump(&reqs), TOKEN);
}

#[test]
fn charts_are_not_uploaded_but_their_figures_are_tables() {
    let (_, report) = samples::all(Lang::En).remove(0);
    assert!(!report.charts.is_empty());
    let reqs = slack::encode(&report, &ctx(Lang::En));
    let text = golden::dump(&reqs);
    assert!(
        !text.contains(".png"),
        "no image references a webhook cannot serve"
    );
    assert!(text.contains("```"), "tables as monospace code blocks");
    assert!(!slack::limits().images);
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
            slack::classify(status, &headers, body.as_bytes(), at()),
            want,
            "{status} {body}"
        );
    }
}

/// Delivered, and retried (with or without Retry-After).
#[test]
fn classification_table_delivered_and_retry() {
    assert_classified(vec![
        (200, vec![], "ok", Outcome::Delivered { code: None }),
        (
            429,
            h(&[("Retry-After", "30")]),
            "rate_limited",
            Outcome::Retry {
                after: Some(Duration::from_secs(30)),
                reason: "HTTP 429: rate_limited".into(),
                code: None,
            },
        ),
        (
            429,
            vec![],
            "",
            Outcome::Retry {
                after: None,
                reason: "HTTP 429: ".into(),
                code: None,
            },
        ),
        (
            503,
            h(&[("retry-after", "1.5")]),
            "service unavailable",
            Outcome::Retry {
                after: Some(Duration::from_millis(1500)),
                reason: "HTTP 503: service unavailable".into(),
                code: None,
            },
        ),
        (
            500,
            vec![],
            "",
            Outcome::Retry {
                after: None,
                reason: "HTTP 500: ".into(),
                code: None,
            },
        ),
    ]);
}

/// Disabled: the destination is gone or turned off.
#[test]
fn classification_table_disable() {
    assert_classified(vec![
        (
            404,
            vec![],
            "channel_not_found",
            Outcome::Disable {
                reason: "HTTP 404: channel_not_found".into(),
                code: None,
            },
        ),
        (
            410,
            vec![],
            "channel_is_archived",
            Outcome::Disable {
                reason: "HTTP 410: channel_is_archived".into(),
                code: None,
            },
        ),
        (
            404,
            vec![],
            "no_service",
            Outcome::Disable {
                reason: "HTTP 404: no_service".into(),
                code: None,
            },
        ),
        (
            404,
            vec![],
            "team_disabled",
            Outcome::Disable {
                reason: "HTTP 404: team_disabled".into(),
                code: None,
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
            "invalid_payload",
            Outcome::Fail {
                reason: "HTTP 400: invalid_payload".into(),
                code: None,
            },
        ),
        (
            403,
            vec![],
            "invalid_token",
            Outcome::Fail {
                reason: "HTTP 403: invalid_token".into(),
                code: None,
            },
        ),
        (
            403,
            vec![],
            "action_prohibited",
            Outcome::Fail {
                reason: "HTTP 403: action_prohibited".into(),
                code: None,
            },
        ),
        (
            400,
            vec![],
            "invalid_blocks",
            Outcome::Fail {
                reason: "HTTP 400: invalid_blocks".into(),
                code: None,
            },
        ),
        (
            400,
            vec![],
            "msg_too_long",
            Outcome::TooLong {
                reason: "HTTP 400: msg_too_long".into(),
                code: None,
            },
        ),
    ]);
}

#[test]
fn outcomes_never_carry_the_token() {
    for (status, body) in [
        (403, format!("invalid_token for {URL}")),
        (404, format!("no_service: {URL}")),
        (500, format!("upstream error posting to {URL}?x=1")),
        (
            400,
            format!("invalid_payload {}", format!("{URL} ").repeat(20)),
        ),
    ] {
        let outcome = slack::classify(status, &[], body.as_bytes(), at());
        assert!(!matches!(outcome, Outcome::Delivered { .. }));
        assert_no_secret_in(&format!("{outcome:?}"), TOKEN);
    }
}

/// The moment the answers are judged at (a Retry-After date counts from it).
fn at() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(1_795_000_000, 0).expect("a valid time")
}
