//! Fixed sample Messages of every kind, in a language: what golden files, previews and the
//! `relaywatch test` paths render. Deterministic: built from the demo relay at a fixed moment,
//! with a tiny fixed PNG standing in for each chart so golden files do not depend on fonts.

use std::sync::Arc;

use chrono::{DateTime, Duration, FixedOffset, TimeZone, Utc};

use super::message::{AlertState, ChartImage, Message, MessageKind};
use super::messages::{self, BreakerAlert, ErrorRateAlert, ErrorSample, Leaderboard, QuotaItem};
use crate::config::Lang;
use crate::pricing::Pricing;
use crate::source::aggregate::{aggregate, Scope};
use crate::source::{demo, ReadRequest};
use crate::tz::RelayTz;

/// The moment samples are taken at: 2026-11-22 09:00 at UTC+8.
pub fn sample_time() -> DateTime<FixedOffset> {
    Utc.with_ymd_and_hms(2026, 11, 22, 1, 0, 0)
        .unwrap()
        .with_timezone(&FixedOffset::east_opt(8 * 3600).unwrap())
}

/// A valid 2×2 PNG, the same bytes every time.
pub fn tiny_png() -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, 2, 2);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().expect("png header");
        w.write_image_data(&[59, 130, 246, 16, 185, 129, 245, 158, 11, 239, 68, 68])
            .expect("png data");
    }
    out
}

fn sample_charts() -> Vec<ChartImage> {
    let png = Arc::new(tiny_png());
    [
        ("overview", "System overview"),
        ("models", "Model distribution"),
        ("trend", "Usage trend"),
        ("top-keys", "Top API keys"),
    ]
    .iter()
    .map(|(stem, title)| ChartImage {
        stem: stem.to_string(),
        title: title.to_string(),
        png: png.clone(),
        svg: None,
    })
    .collect()
}

/// The demo relay's snapshot at `sample_time()`.
pub fn sample_snapshot() -> crate::Snapshot {
    let req = ReadRequest {
        now: sample_time().with_timezone(&Utc),
        tz: RelayTz::from_config(8),
        trend_days: 7,
        top_n: 10,
        window_minutes: 5,
    };
    let pricing = Pricing::bundled();
    aggregate(
        demo::generate(req, &pricing),
        &pricing,
        Scope {
            source: crate::model::SourceKind::Demo,
            trend_days: 7,
            top_n: 10,
        },
    )
}

/// One sample of every kind and state, in `lang`: (a name for files, the message).
pub fn all(lang: Lang) -> Vec<(String, Message)> {
    let at = sample_time();
    let snap = sample_snapshot();
    let board = Leaderboard {
        period: "2026-11-21".into(),
        top: snap.top_keys.iter().take(5).cloned().collect(),
        keys_with_usage: 23,
        total_requests: snap.trend[5].requests,
        total_tokens: snap.trend[5].all_tokens,
        total_cost_usd: snap.trend[5].cost_usd,
    };
    let quota_items = vec![
        QuotaItem {
            key_id: "demo-key-1".into(),
            key_name: "市场部-文案".into(),
            limit: "daily".into(),
            period: "2026-11-22".into(),
            cost_usd: 61.5,
            limit_usd: 60.0,
            threshold_pct: 100,
        },
        QuotaItem {
            key_id: "demo-key-2".into(),
            key_name: "backend-prod".into(),
            limit: "daily".into(),
            period: "2026-11-22".into(),
            cost_usd: 330.0,
            limit_usd: 400.0,
            threshold_pct: 80,
        },
    ];
    let error_alert = ErrorRateAlert {
        subject: "provider:3".into(),
        window_seconds: 60,
        errors: 14,
        requests: 52,
        threshold: 10,
        offenders: vec![
            ("status".into(), vec![("529".into(), 9), ("500".into(), 5)]),
            (
                "model".into(),
                vec![("claude-opus-4-1-20250805".into(), 11)],
            ),
        ],
        sample: Some(ErrorSample {
            status_code: Some(529),
            model: Some("claude-opus-4-1-20250805".into()),
            provider: Some("anthropic-main".into()),
            key: Some("研发部-主力".into()),
            error: Some(
                "Overloaded: upstream returned 529 <overloaded_error> & retry later".into(),
            ),
        }),
    };
    let breaker = BreakerAlert {
        subject: "account:claude-a".into(),
        failures: 5,
        expected_recovery: Some(at + Duration::minutes(30)),
        last_error: Some("401 Unauthorized: token expired".into()),
        name: None,
    };
    vec![
        ("report".into(), messages::report(&snap, sample_charts(), lang)),
        ("leaderboard".into(), messages::leaderboard(&board, at, lang)),
        (
            "leaderboard-empty".into(),
            messages::leaderboard(
                &Leaderboard {
                    top: Vec::new(),
                    keys_with_usage: 0,
                    total_requests: 0,
                    total_tokens: 0,
                    total_cost_usd: 0.0,
                    ..board.clone()
                },
                at,
                lang,
            ),
        ),
        (
            "quota-firing".into(),
            messages::quota(&quota_items, AlertState::Firing, at, lang),
        ),
        (
            "quota-resolved".into(),
            messages::quota(&quota_items[..1], AlertState::Resolved, at, lang),
        ),
        (
            "error-rate-firing".into(),
            messages::error_rate(&error_alert, AlertState::Firing, at, lang),
        ),
        (
            "error-rate-resolved".into(),
            messages::error_rate(&error_alert, AlertState::Resolved, at, lang),
        ),
        (
            "breaker-open".into(),
            messages::breaker(&breaker, AlertState::Firing, at, lang),
        ),
        (
            "breaker-closed".into(),
            messages::breaker(&breaker, AlertState::Resolved, at, lang),
        ),
        (
            "delivery-failure".into(),
            messages::delivery_failure(
                "team-wecom",
                MessageKind::Report,
                6,
                "errcode 93000 from https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=00000000-fake",
                at,
                lang,
            ),
        ),
        ("test".into(), messages::test_message("team-wecom", at, lang)),
        (
            "digest".into(),
            messages::digest(
                &[
                    messages::DigestItem {
                        at: at - Duration::hours(9),
                        level: super::message::Level::Critical,
                        title: messages::breaker(&breaker, AlertState::Firing, at, lang).title,
                    },
                    messages::DigestItem {
                        at: at - Duration::hours(7),
                        level: super::message::Level::Warning,
                        title: messages::quota(&quota_items[1..], AlertState::Firing, at, lang)
                            .title,
                    },
                    messages::DigestItem {
                        at: at - Duration::hours(2),
                        level: super::message::Level::Resolved,
                        title: messages::breaker(&breaker, AlertState::Resolved, at, lang).title,
                    },
                ],
                at,
                lang,
            ),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_in_both_languages() {
        for lang in [Lang::En, Lang::ZhCn] {
            let all = all(lang);
            let kinds: std::collections::HashSet<_> = all.iter().map(|(_, m)| m.kind).collect();
            assert_eq!(kinds.len(), 8, "every MessageKind has a sample");
            for (name, m) in &all {
                assert!(!m.title.is_empty(), "{name}");
                assert_eq!(m.lang, lang);
            }
        }
        let zh = all(Lang::ZhCn);
        assert!(zh[0].1.title.contains("仪表盘"));
        let en = all(Lang::En);
        assert_eq!(en[0].1.charts.len(), 4);
        assert!(en[0].1.sections[0].table.as_ref().unwrap().rows[0][1] == "研发部-主力");
    }

    #[test]
    fn secrets_never_reach_a_delivery_failure_notice() {
        for (name, m) in all(Lang::En) {
            let json = serde_json::to_string(&m).unwrap();
            crate::secrets::assert_no_secret_in(&json, "00000000-fake");
            let md = super::super::markdown::render(&m);
            crate::secrets::assert_no_secret_in(&md, "00000000-fake");
            let _ = name;
        }
    }

    #[test]
    fn error_text_is_truncated_and_alert_states_set_levels() {
        let long = "x".repeat(500);
        let a = ErrorRateAlert {
            subject: "global".into(),
            window_seconds: 60,
            errors: 10,
            requests: 0,
            threshold: 10,
            offenders: Vec::new(),
            sample: Some(ErrorSample {
                status_code: None,
                model: None,
                provider: None,
                key: None,
                error: Some(long),
            }),
        };
        let m = messages::error_rate(&a, AlertState::Firing, sample_time(), Lang::En);
        let text = m.sections[0].text.as_ref().unwrap();
        assert_eq!(text.chars().count(), messages::ERROR_TEXT_MAX + 1);
        assert_eq!(m.level, super::super::message::Level::Critical);
        let r = messages::error_rate(&a, AlertState::Resolved, sample_time(), Lang::En);
        assert_eq!(r.level, super::super::message::Level::Resolved);
        assert_eq!(
            r.facts[2].value, "—",
            "no requests: no ratio, no division by zero"
        );
    }
}
