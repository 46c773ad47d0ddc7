//! Claude Code Hub as a relay, against a real PostgreSQL holding CCH's tables written through
//! CCH's ledger trigger (the testkit's demo hub) and a real redis-server holding its breaker
//! hashes: the snapshot's figures equal what CCH's own SQL answers on the same rows (the
//! reference queries below are written from CCH's repositories, not from our code), deleted
//! users and providers are left out, breakers read as CCH reports them, limits use CCH's windows,
//! and the leaderboard and quota dry runs agree.

use chrono::{DateTime, Duration, Utc};
use relaywatch_core::config::channels::SecretRef;
use relaywatch_core::config::{Settings, SourceKindSetting};
use relaywatch_core::model::LeaderboardWindow;
use relaywatch_core::pricing::Pricing;
use relaywatch_core::service::dry_runs;
use relaywatch_core::source::{take_snapshot, ReadRequest};
use relaywatch_core::tz::RelayTz;
use relaywatch_testkit::cch::{create_cch_schema, seed_demo_hub, write_breaker, CchSeed};
use relaywatch_testkit::pg::{connect, PgServer};
use relaywatch_testkit::RedisServer;

const BILLING: &str = "blocked_by IS NULL AND is_replay = false AND (endpoint IS NULL OR \
    lower(regexp_replace(endpoint, '/+$', '')) NOT IN ('/v1/messages/count_tokens', '/v1/responses/compact'))";

struct Hub {
    settings: Settings,
    client: tokio_postgres::Client,
    seed: CchSeed,
    now: DateTime<Utc>,
}

async fn hub() -> Hub {
    let url = PgServer::shared().fresh_database().await;
    let client = connect(&url).await;
    create_cch_schema(&client).await.unwrap();
    let now = Utc::now();
    let seed = seed_demo_hub(&client, now).await.unwrap();
    let redis = RedisServer::shared().fresh_db();
    let mut con = redis::Client::open(redis.as_str())
        .unwrap()
        .get_connection()
        .unwrap();
    let p = |i: usize| seed.providers[i].0;
    let ms = |d: Duration| (now + d).timestamp_millis();
    write_breaker(
        &mut con,
        p(0),
        "open",
        7,
        Some(ms(Duration::minutes(20))),
        Some(ms(-Duration::minutes(1))),
    )
    .unwrap();
    write_breaker(
        &mut con,
        p(1),
        "open",
        5,
        Some(ms(-Duration::minutes(2))),
        Some(ms(-Duration::minutes(40))),
    )
    .unwrap();
    write_breaker(&mut con, p(2), "half-open", 3, None, None).unwrap();
    let mut settings = Settings::default();
    settings.source.kind = Some(SourceKindSetting::Cch);
    settings.source.database_url = Some(SecretRef::Plain(url));
    settings.source.redis_url = Some(redis);
    Hub {
        settings,
        client,
        seed,
        now,
    }
}

fn req(now: DateTime<Utc>) -> ReadRequest {
    ReadRequest {
        now,
        tz: RelayTz::from_config(8),
        trend_days: 7,
        top_n: 10,
        window_minutes: 5,
    }
}

/// CCH's overview for today, as its repository computes it (`overview.ts`).
async fn cch_today(c: &tokio_postgres::Client, tz: &str) -> (i64, f64, i64, i64) {
    let q = format!(
        "SELECT count(*), coalesce(sum(cost_usd), 0)::float8, count(*) FILTER (WHERE NOT is_success), \
         count(*) FILTER (WHERE created_at >= CURRENT_TIMESTAMP - INTERVAL '1 minute') \
         FROM usage_ledger WHERE {BILLING} \
         AND created_at >= (DATE_TRUNC('day', CURRENT_TIMESTAMP AT TIME ZONE $1) AT TIME ZONE $1) \
         AND created_at < ((DATE_TRUNC('day', CURRENT_TIMESTAMP AT TIME ZONE $1) + INTERVAL '1 day') AT TIME ZONE $1)"
    );
    let r = c.query_one(&q, &[&tz]).await.unwrap();
    (r.get(0), r.get(1), r.get(2), r.get(3))
}

#[tokio::test]
async fn the_snapshot_counts_what_cch_counts() {
    let h = hub().await;
    let s = take_snapshot(&h.settings, &Pricing::bundled(), req(h.now))
        .await
        .unwrap();
    assert_eq!(s.source.as_str(), "cch");
    assert_eq!(s.timezone.as_deref(), Some(h.seed.timezone.as_str()));
    let (n, cost, errors, _) = cch_today(&h.client, &h.seed.timezone).await;
    assert_eq!(s.usage_today.requests, n as u64);
    assert!(
        (s.usage_today.cost_usd - cost).abs() < 1e-9,
        "{} vs {cost}",
        s.usage_today.cost_usd
    );
    assert_eq!(s.usage_today.errors, Some(errors as u64));
    assert_eq!(s.usage_total.requests, h.seed.counts.billable as u64);
    let billed = h.seed.billed_cost_micros as f64 / 1e6;
    assert!(
        (s.usage_total.cost_usd - billed).abs() < 1e-6,
        "{} vs {billed}",
        s.usage_total.cost_usd
    );
    let u = &s.usage_total;
    assert_eq!(
        u.all_tokens,
        u.input_tokens + u.output_tokens + u.cache_create_tokens + u.cache_read_tokens
    );
    assert_eq!(s.realtime.window_minutes, 1);
    // The trend: one entry per local day, today last, summing to the range's total.
    assert_eq!(s.trend.len(), 7);
    assert_eq!(s.trend.last().unwrap().date, s.today);
    assert_eq!(s.trend.last().unwrap().requests, s.usage_today.requests);
    let model_requests: u64 = s.models.iter().map(|m| m.requests).sum();
    let trend_requests: u64 = s.trend.iter().map(|d| d.requests).sum();
    assert_eq!(model_requests, trend_requests);
    // Deleted users and providers are left out; the provider key never shows.
    assert!(s
        .top_users
        .iter()
        .all(|x| x.id != h.seed.deleted_user.to_string()));
    assert!(!s.top_users.is_empty());
    assert!(
        s.top_users
            .windows(2)
            .all(|p| p[0].cost_usd >= p[1].cost_usd),
        "{:?}",
        s.top_users
    );
    assert!(
        s.top_keys
            .windows(2)
            .all(|p| p[0].cost_usd >= p[1].cost_usd),
        "{:?}",
        s.top_keys
    );
    assert!(s
        .providers
        .iter()
        .all(|p| p.id != h.seed.deleted_provider.to_string()));
    let json = serde_json::to_string(&s).unwrap();
    assert!(!json.contains("PROVIDER_SECRET"));
    for k in &h.seed.keys {
        assert!(!json.contains(&k.key), "a key string leaked");
    }
}

#[tokio::test]
async fn breakers_read_as_cch_reports_them() {
    let h = hub().await;
    let s = take_snapshot(&h.settings, &Pricing::bundled(), req(h.now))
        .await
        .unwrap();
    let state = |i: usize| {
        let id = h.seed.providers[i].0.to_string();
        let p = s.providers.iter().find(|p| p.id == id).unwrap();
        (p.breaker.state.clone(), p.breaker.failure_count)
    };
    assert_eq!(state(0), ("open".into(), 7));
    // Open, but its circuitOpenUntil has passed: CCH reports half-open.
    assert_eq!(state(1), ("half-open".into(), 5));
    assert_eq!(state(2), ("half-open".into(), 3));
    let named = s
        .providers
        .iter()
        .find(|p| p.id == h.seed.providers[1].0.to_string())
        .unwrap();
    assert_eq!(named.name, h.seed.providers[1].1);
}

#[tokio::test]
async fn limits_use_cch_windows_and_cost_resets() {
    let h = hub().await;
    let s = take_snapshot(&h.settings, &Pricing::bundled(), req(h.now))
        .await
        .unwrap();
    let find = |id: i32, period: &str| {
        s.limits
            .iter()
            .find(|l| l.scope == "key" && l.id == id.to_string() && l.period == period)
            .unwrap_or_else(|| panic!("no {period} limit for key {id}: {:?}", s.limits))
            .clone()
    };
    let at80 = find(h.seed.key_daily_80.id, "daily");
    assert!(
        (at80.used_usd - 40.0).abs() < 1e-9 && (at80.limit_usd - 50.0).abs() < 1e-9,
        "{at80:?}"
    );
    let over = find(h.seed.key_daily_over.id, "daily");
    assert!((over.used_usd - 23.5).abs() < 1e-9, "{over:?}");
    let reset = find(h.seed.key_cost_reset.id, "total");
    assert!((reset.used_usd - 30.0).abs() < 1e-9, "{reset:?}");
    assert!(reset.window_start.is_some());
    assert!(s
        .limits
        .iter()
        .all(|l| l.id != h.seed.deleted_key.id.to_string() || l.scope != "key"));

    let q = dry_runs::quota(&h.settings, h.now).await.unwrap();
    let pct = |id: i32| {
        q.items
            .iter()
            .find(|i| i.scope == "key" && i.id == id.to_string())
            .map(|i| i.percent)
    };
    assert_eq!(pct(h.seed.key_daily_80.id), Some(80.0));
    assert_eq!(pct(h.seed.key_daily_over.id), Some(117.5));
    assert!(q.items.iter().all(|i| i.percent >= 80.0));
}

#[tokio::test]
async fn leaderboard_dry_runs_rank_users_by_cost() {
    let h = hub().await;
    for w in [
        LeaderboardWindow::Rolling24h,
        LeaderboardWindow::CalendarDay,
    ] {
        let b = dry_runs::leaderboard(&h.settings, w, 3, h.now)
            .await
            .unwrap();
        assert!(b.entries.len() <= 3);
        assert!(b.entries.windows(2).all(|p| p[0].cost_usd >= p[1].cost_usd));
        assert!(b
            .entries
            .iter()
            .all(|e| e.user_id != h.seed.deleted_user.to_string()));
        let total: f64 = b.entries.iter().map(|e| e.cost_usd).sum();
        assert!(b.totals.cost_usd + 1e-9 >= total);
        // CCH's rolling window: every billable row of a live user in the last 24 h.
        if w == LeaderboardWindow::Rolling24h {
            let q = format!(
                "SELECT count(*), coalesce(sum(l.cost_usd), 0)::float8 FROM usage_ledger l \
                 JOIN users u ON u.id = l.user_id AND u.deleted_at IS NULL \
                 WHERE {} AND l.created_at >= $1::timestamptz - INTERVAL '24 hours' AND l.created_at <= $1",
                BILLING.replace("blocked_by", "l.blocked_by").replace("is_replay", "l.is_replay").replace("endpoint", "l.endpoint")
            );
            let r = h.client.query_one(&q, &[&h.now]).await.unwrap();
            assert_eq!(b.totals.requests, r.get::<_, i64>(0) as u64);
            assert!((b.totals.cost_usd - r.get::<_, f64>(1)).abs() < 1e-9);
        }
    }
}

#[tokio::test]
async fn quota_alerts_fire_once_per_level_and_period_for_live_limits_only() {
    use relaywatch_core::daemon::quota::run_once;
    use relaywatch_core::rules::AlertPayload;
    use relaywatch_core::store::quota::QuotaStore;
    let h = hub().await;
    let state = RedisServer::shared().fresh_db();
    let conn =
        relaywatch_core::source::redis_io::connect(&state, std::time::Duration::from_secs(5))
            .await
            .unwrap();
    let mut store = QuotaStore::new(conn, "rw:");
    let relay = relaywatch_core::source::open(&h.settings);
    let alerts = run_once(&relay, &mut store, &h.settings, h.now)
        .await
        .unwrap();
    let items: Vec<(String, u32)> = alerts
        .iter()
        .flat_map(|a| match &a.payload {
            AlertPayload::Quota { items } => items
                .iter()
                .map(|i| (i.key_id.clone(), i.threshold_pct))
                .collect(),
            _ => Vec::new(),
        })
        .collect();
    let key = |id: i32| format!("key:{id}");
    assert!(
        items.contains(&(key(h.seed.key_daily_80.id), 80)),
        "{items:?}"
    );
    assert!(
        items.contains(&(key(h.seed.key_daily_over.id), 100)),
        "{items:?}"
    );
    assert!(
        items.iter().all(|(k, _)| *k != key(h.seed.deleted_key.id)),
        "{items:?}"
    );
    // The same instant again: nothing new (once per level per period).
    let again = run_once(&relay, &mut store, &h.settings, h.now)
        .await
        .unwrap();
    assert!(again.is_empty(), "{again:?}");
}

#[tokio::test]
async fn test_connection_counts_the_hub_without_its_password() {
    let h = hub().await;
    let p = relaywatch_core::service::probe::probe_cch(&h.settings).await;
    assert!(p.ok, "{p:?}");
    let db = p.database.clone().unwrap();
    assert_eq!(
        db.providers as usize,
        h.seed.providers.len() - 1,
        "the deleted provider"
    );
    assert_eq!(db.timezone.as_deref(), Some(h.seed.timezone.as_str()));
    let mut bad = h.settings.clone();
    bad.source.database_url = Some(SecretRef::Plain(
        "postgres://cch:Sup3rSecretPw@127.0.0.1:1/cch".into(),
    ));
    let p = relaywatch_core::service::probe::probe_cch(&bad).await;
    assert!(!p.ok);
    let shown = serde_json::to_string(&p).unwrap();
    assert!(!shown.contains("Sup3rSecretPw"), "{shown}");
    assert!(p.database.unwrap().error.is_some());
}
