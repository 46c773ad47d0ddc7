//! Fixed sample Messages of every kind, in a language: what golden files, previews in tests and benches render; rule: deterministic, built from the demo relay at a fixed moment, with a tiny fixed PNG standing in for each chart so golden files do not depend on fonts.

use std::sync::Arc;

use chrono::{DateTime, Duration, FixedOffset, TimeZone, Utc};
use relaywatch_core::config::Lang;
use relaywatch_core::model::SourceKind;
use relaywatch_core::pricing::Pricing;
use relaywatch_core::render::message::{AlertState, ChartImage, Level, Message, MessageKind};
use relaywatch_core::render::messages::{
    self, BreakerAlert, ErrorRateAlert, ErrorSample, Leaderboard, QuotaItem,
};
use relaywatch_core::source::aggregate::{aggregate, Scope};
use relaywatch_core::source::{demo, ReadRequest};
use relaywatch_core::tz::RelayTz;
use relaywatch_core::Snapshot;

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
pub fn sample_snapshot() -> Snapshot {
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
            source: SourceKind::Demo,
            trend_days: 7,
            top_n: 10,
        },
    )
}

/// The sample leaderboard: yesterday's top five keys of the sample snapshot.
fn sample_leaderboard(snap: &Snapshot) -> Leaderboard {
    Leaderboard {
        period: "2026-11-21".into(),
        top: snap.top_keys.iter().take(5).cloned().collect(),
        keys_with_usage: 23,
        total_requests: snap.trend[5].requests,
        total_tokens: snap.trend[5].all_tokens,
        total_cost_usd: snap.trend[5].cost_usd,
    }
}

/// Two keys over their daily limit: one at 100 %, one at 80 %.
fn sample_quota_items() -> Vec<QuotaItem> {
    vec![
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
    ]
}

/// Errors on provider 3, with offenders and a sample holding markup to escape.
fn sample_error_alert() -> ErrorRateAlert {
    ErrorRateAlert {
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
    }
}

/// An open breaker on an account, expected to recover 30 minutes after `at`.
fn sample_breaker(at: DateTime<FixedOffset>) -> BreakerAlert {
    BreakerAlert {
        subject: "account:claude-a".into(),
        failures: 5,
        expected_recovery: Some(at + Duration::minutes(30)),
        last_error: Some("401 Unauthorized: token expired".into()),
        name: None,
    }
}

/// One sample of every kind and state, in `lang`: (a name for files, the message).
pub fn all(lang: Lang) -> Vec<(String, Message)> {
    let at = sample_time();
    let snap = sample_snapshot();
    let board = sample_leaderboard(&snap);
    let quota_items = sample_quota_items();
    let error_alert = sample_error_alert();
    let breaker = sample_breaker(at);
    let empty_board = Leaderboard {
        top: Vec::new(),
        keys_with_usage: 0,
        total_requests: 0,
        total_tokens: 0,
        total_cost_usd: 0.0,
        ..board.clone()
    };
    let mut out: Vec<(String, Message)> = vec![
        (
            "report".into(),
            messages::report(&snap, sample_charts(), lang),
        ),
        (
            "leaderboard".into(),
            messages::leaderboard(&board, at, lang),
        ),
        (
            "leaderboard-empty".into(),
            messages::leaderboard(&empty_board, at, lang),
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
    ];
    out.extend(notices(&breaker, &quota_items, at, lang));
    out
}

/// The delivery-failure notice, the test message and the digest.
fn notices(
    breaker: &BreakerAlert,
    quota_items: &[QuotaItem],
    at: DateTime<FixedOffset>,
    lang: Lang,
) -> Vec<(String, Message)> {
    vec![
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
            messages::digest(&digest_items(breaker, quota_items, at, lang), at, lang),
        ),
    ]
}

/// The digest's lines: a breaker opened, a quota warning, the breaker closed.
fn digest_items(
    breaker: &BreakerAlert,
    quota_items: &[QuotaItem],
    at: DateTime<FixedOffset>,
    lang: Lang,
) -> Vec<messages::DigestItem> {
    vec![
        messages::DigestItem {
            at: at - Duration::hours(9),
            level: Level::Critical,
            title: messages::breaker(breaker, AlertState::Firing, at, lang).title,
        },
        messages::DigestItem {
            at: at - Duration::hours(7),
            level: Level::Warning,
            title: messages::quota(&quota_items[1..], AlertState::Firing, at, lang).title,
        },
        messages::DigestItem {
            at: at - Duration::hours(2),
            level: Level::Resolved,
            title: messages::breaker(breaker, AlertState::Resolved, at, lang).title,
        },
    ]
}
