//! The one relay interface (`source::Relay`) as the daemon and the dry runs use it: `open`
//! picks the relay `[source]` selects, each answer is the relay's own reading (CRS on a real
//! redis-server seeded as CRS writes), the demo reads no store, and a read that needs an unset
//! setting names it.

use chrono::{DateTime, Duration, TimeZone, Utc};
use relaywatch_core::config::{Settings, SourceKindSetting};
use relaywatch_core::model::{LeaderboardWindow, QuotaInput, SourceKind, WatchSet};
use relaywatch_core::pricing::Pricing;
use relaywatch_core::source::{open, ReadRequest, Relay};
use relaywatch_testkit::{fresh_db, AccountSpec, ApiKeySpec, CrsWriter, Platform, UsageEvent};

const SONNET: &str = "claude-sonnet-4-5-20250929";

/// 2026-11-22 09:00 on the relay's clock (+08:00).
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 1, 0, 0).unwrap()
}

fn crs(url: &str) -> Settings {
    let mut s = Settings::default();
    s.source.kind = Some(SourceKindSetting::Crs);
    s.source.redis_url = Some(url.to_string());
    s.source.timezone_offset_hours = 8;
    s
}

/// Two keys, one with a $10 daily limit at $9 today; usage yesterday; an account in trouble.
fn seed(url: &str) {
    let mut w = CrsWriter::connect(url);
    let made = now() - Duration::days(30);
    w.api_key(&ApiKeySpec::new("k1", "alpha", made).daily_cost_limit(10.0));
    w.api_key(&ApiKeySpec::new("k2", "beta", made));
    let yesterday = now() - Duration::hours(20);
    for (key, usd) in [("k1", 3.0), ("k2", 5.0)] {
        w.usage(
            &UsageEvent::new(key, SONNET, yesterday)
                .tokens(100, 50, 0, 0)
                .cost(usd, usd),
        );
    }
    w.usage(
        &UsageEvent::new("k1", SONNET, now() - Duration::minutes(30))
            .tokens(100, 50, 0, 0)
            .cost(9.0, 9.0),
    );
    w.account(
        Platform::Claude,
        "acc1",
        &AccountSpec::new("main").status("unauthorized"),
    );
}

#[tokio::test]
async fn crs_answers_quota_leaderboard_and_watched_states_from_its_redis() {
    let url = fresh_db();
    seed(&url);
    let s = crs(&url);
    let relay = open(&s);
    assert_eq!(relay.kind(), SourceKind::Crs);
    assert!(relay.reads_store());

    let QuotaInput::Keys(keys) = relay.quota(now()).await.unwrap() else {
        panic!("CRS answers each key's costs")
    };
    let k1 = keys
        .iter()
        .find(|k| k.key_id == "k1")
        .expect("k1 has a limit");
    assert_eq!(k1.relay_daily_limit_usd, 10.0);
    assert!((k1.daily_usd - 9.0).abs() < 1e-9, "{k1:?}");

    let board = relay
        .leaderboard(LeaderboardWindow::CalendarDay, now())
        .await
        .unwrap();
    assert_eq!(board.label, "2026-11-21");
    assert_eq!(board.to - board.from, Duration::days(1));
    assert_eq!(
        board.to,
        Utc.with_ymd_and_hms(2026, 11, 21, 16, 0, 0).unwrap()
    );
    let mut spent: Vec<(String, f64)> = board
        .periods
        .iter()
        .map(|p| (p.usage.id.clone(), p.usage.cost_usd))
        .collect();
    spent.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(spent, [("k1".to_string(), 3.0), ("k2".to_string(), 5.0)]);

    let what = WatchSet {
        accounts: true,
        cch: false,
    };
    let groups = relay.watched(what, now()).await.unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].group, "accounts");
    let state = &groups[0].states["account:claude:acc1"];
    assert_eq!(state.condition, "unauthorized");
    assert!(groups[0].names["account:claude:acc1"].starts_with("main ("));
}

#[tokio::test]
async fn the_demo_reads_no_store_and_ranks_its_own_keys() {
    let defaults = Settings::default();
    let relay = open(&defaults);
    assert_eq!(relay.kind(), SourceKind::Demo);
    assert!(!relay.reads_store());
    assert_eq!(
        relay.quota(now()).await.unwrap(),
        QuotaInput::Keys(Vec::new())
    );
    let what = WatchSet {
        accounts: true,
        cch: true,
    };
    assert!(relay.watched(what, now()).await.unwrap().is_empty());
    let board = relay
        .leaderboard(LeaderboardWindow::Rolling24h, now())
        .await
        .unwrap();
    assert!(!board.periods.is_empty());
    assert_eq!(board.to - now(), Duration::microseconds(1));
    let req = ReadRequest::from_settings(&Settings::default(), now());
    let snap = relay.snapshot(&Pricing::bundled(), req).await.unwrap();
    assert_eq!(snap.source, SourceKind::Demo);
}

#[tokio::test]
async fn crs_without_a_url_reads_nothing_and_names_the_setting() {
    let mut s = Settings::default();
    s.source.kind = Some(SourceKindSetting::Crs);
    let relay = open(&s);
    assert!(!relay.reads_store(), "the daemon leaves it alone");
    let e = relay.quota(now()).await.unwrap_err().to_string();
    assert!(e.contains("source.redis_url"), "{e}");
    assert!(e.contains("set [source] redis_url"), "{e}");
}

#[test]
fn where_a_relay_reads_is_shown_without_its_password() {
    let s = crs("redis://:hunter2-secret@127.0.0.1:6379/0");
    let shown = open(&s).location().expect("CRS reads a Redis");
    assert!(!shown.contains("hunter2-secret"), "{shown}");
    assert!(shown.contains("127.0.0.1:6379"), "{shown}");
    let mut c = Settings::default();
    c.source.kind = Some(SourceKindSetting::Cch);
    c.source.database_url = Some(relaywatch_core::config::channels::SecretRef::Plain(
        "postgres://cch:pg-secret-pw@127.0.0.1:5432/cch".into(),
    ));
    let shown = open(&c).location().expect("CCH reads a database");
    assert!(!shown.contains("pg-secret-pw"), "{shown}");
    assert_eq!(open(&Settings::default()).location(), None);
}
