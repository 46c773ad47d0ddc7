//! The leaderboard read from a real redis-server seeded as CRS writes: yesterday as the relay's
//! calendar day (edges at relay midnight), a rolling 24 h, totals over every key, relays with
//! and without index sets, and "no usage" as an empty board.

use chrono::{DateTime, Duration, TimeZone, Utc};
use relaywatch_core::config::{Lang, Settings};
use relaywatch_core::daemon::leaderboard::read;
use relaywatch_core::render::messages;
use relaywatch_core::rules::leaderboard::LeaderboardWindow;
use relaywatch_testkit::{fresh_db, ApiKeySpec, CrsWriter, UsageEvent};

const SONNET: &str = "claude-sonnet-4-5-20250929";

/// 2026-11-22 at `h`:`m` on the relay's clock (+08:00); h may be negative.
fn at(h: i64, m: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 16, 0, 0).unwrap()
        + Duration::hours(h)
        + Duration::minutes(m)
}

fn spend(w: &mut CrsWriter, key: &str, when: DateTime<Utc>, usd: f64, requests: usize) {
    for _ in 0..requests {
        w.usage(
            &UsageEvent::new(key, SONNET, when)
                .tokens(100, 50, 10, 40)
                .cost(usd / requests as f64, usd / requests as f64),
        );
    }
}

fn seed(w: &mut CrsWriter) {
    for (id, name) in [
        ("k1", "alpha"),
        ("k2", "beta"),
        ("k3", "gamma"),
        ("k4", "delta"),
    ] {
        w.api_key(&ApiKeySpec::new(id, name, at(-100, 0)));
    }
    w.api_key(&ApiKeySpec::new("k5", "gone", at(-100, 0)).deleted_at(at(-1, 0)));
    // Yesterday (the 21st on the relay's clock), edges included.
    spend(w, "k1", at(-24, 0), 2.0, 2);
    spend(w, "k2", at(-1, 1) + Duration::minutes(58), 5.0, 1); // 23:59 on the 21st
    spend(w, "k3", at(-10, 0), 1.0, 3);
    spend(w, "k5", at(-5, 0), 50.0, 1);
    // Today: not yesterday.
    spend(w, "k4", at(0, 1), 100.0, 1);
    // The day before yesterday.
    spend(w, "k4", at(-24, 0) - Duration::minutes(1), 100.0, 1);
}

async fn board(
    url: &str,
    window: LeaderboardWindow,
    top: u32,
    now: DateTime<Utc>,
) -> messages::Leaderboard {
    let mut s = Settings::default();
    s.source.redis_url = Some(url.to_string());
    s.source.timezone_offset_hours = 8;
    read(&relaywatch_core::source::open(&s), window, top, now)
        .await
        .unwrap()
}

#[tokio::test]
async fn yesterday_on_the_relays_clock_with_totals() {
    for indexes in [true, false] {
        let url = fresh_db();
        let mut w = CrsWriter::connect(&url).with_indexes(indexes);
        seed(&mut w);
        // 09:00 on the 22nd.
        let b = board(&url, LeaderboardWindow::CalendarDay, 2, at(9, 0)).await;
        assert_eq!(b.period, "2026-11-21");
        let top: Vec<(&str, u64)> = b
            .top
            .iter()
            .map(|k| (k.name.as_str(), k.requests))
            .collect();
        assert_eq!(top, [("beta", 1), ("alpha", 2)], "indexes: {indexes}");
        assert!((b.top[0].cost_usd - 5.0).abs() < 1e-9);
        assert_eq!(b.top[0].all_tokens, 200);
        assert_eq!(b.keys_with_usage, 4, "the deleted key counts in the totals");
        assert_eq!(b.total_requests, 7);
        assert_eq!(b.total_tokens, 1_400);
        assert!((b.total_cost_usd - 58.0).abs() < 1e-9);
    }
}

#[tokio::test]
async fn rolling_24h_takes_the_last_24_hourly_buckets() {
    let url = fresh_db();
    let mut w = CrsWriter::connect(&url);
    seed(&mut w);
    // 00:30 on the 22nd: from 01:00 on the 21st.
    let b = board(&url, LeaderboardWindow::Rolling24h, 5, at(0, 30)).await;
    assert_eq!(b.period, "2026-11-21 01:00 – 2026-11-22 00:30");
    let top: Vec<&str> = b.top.iter().map(|k| k.name.as_str()).collect();
    assert_eq!(top, ["delta", "beta", "gamma"]);
    assert!((b.total_cost_usd - 156.0).abs() < 1e-9, "{b:?}");
}

#[tokio::test]
async fn no_usage_is_an_empty_board_and_a_message() {
    let url = fresh_db();
    let mut w = CrsWriter::connect(&url);
    w.api_key(&ApiKeySpec::new("k1", "idle", at(-100, 0)));
    let b = board(&url, LeaderboardWindow::CalendarDay, 5, at(9, 0)).await;
    assert!(b.top.is_empty());
    assert_eq!((b.keys_with_usage, b.total_requests), (0, 0));
    let m = messages::leaderboard(&b, at(9, 0).fixed_offset(), Lang::En);
    assert_eq!(
        m.summary.as_deref(),
        Some("No usage in this period: nothing to rank.")
    );
}
