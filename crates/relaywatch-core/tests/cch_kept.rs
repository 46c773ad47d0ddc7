//! Claude Code Hub's kept closed days — what a long-running process (daemon, `serve`, tray)
//! reads from memory on its second and later reads of a hub — against a real PostgreSQL
//! holding CCH's tables written through CCH's trigger: the snapshot, every limit and the quota
//! dry run read through kept days equal a first, fresh read of the same rows, with history
//! before the days kept one by one, a cost reset between the first row and them, a row written
//! into a closed day after they were kept, and a read about an instant before their end.

use chrono::{DateTime, Duration, Utc};
use relaywatch_core::config::channels::SecretRef;
use relaywatch_core::config::{Settings, SourceKindSetting};
use relaywatch_core::model::Snapshot;
use relaywatch_core::pricing::Pricing;
use relaywatch_core::service::dry_runs;
use relaywatch_core::source::{take_snapshot, ReadRequest};
use relaywatch_core::tz::RelayTz;
use relaywatch_testkit::cch::{create_cch_schema, insert_requests, seed_demo_hub, CchRequest};
use relaywatch_testkit::pg::{connect, PgServer};

struct Hub {
    url: String,
    client: tokio_postgres::Client,
    now: DateTime<Utc>,
    /// Billable rows the demo hub and the old history add up to.
    billable: u64,
    /// A key with a total limit and a cost reset 55 days ago.
    reset_key: (i32, i32, String),
}

/// The demo hub, plus two months of history for its first key: rows 60, 50 and 20 days ago,
/// a total limit of 500.00 and a cost reset 55 days ago (between the first row and the days
/// kept one by one).
async fn hub() -> Hub {
    let url = PgServer::shared().fresh_database().await;
    let client = connect(&url).await;
    create_cch_schema(&client).await.unwrap();
    let now = Utc::now();
    let seed = seed_demo_hub(&client, now).await.unwrap();
    let k = seed.keys[0].clone();
    let old: Vec<CchRequest> = [(60, "100.5"), (50, "33.25"), (20, "12.125")]
        .into_iter()
        .map(|(d, c)| CchRequest::ok(now - Duration::days(d), k.user_id, &k.key, c))
        .collect();
    insert_requests(&client, &old).await.unwrap();
    client
        .execute(
            "UPDATE keys SET limit_total_usd = 500, cost_reset_at = $2 WHERE id = $1",
            &[&k.id, &(now - Duration::days(55))],
        )
        .await
        .unwrap();
    Hub {
        url,
        client,
        now,
        billable: seed.counts.billable as u64 + old.len() as u64,
        reset_key: (k.id, k.user_id, k.key),
    }
}

/// Settings for the hub; each `tag` is a distinct hub to this process (a first read).
fn settings(url: &str, tag: &str) -> Settings {
    let mut s = Settings::default();
    s.source.kind = Some(SourceKindSetting::Cch);
    s.source.database_url = Some(SecretRef::Plain(format!("{url}?application_name={tag}")));
    s
}

async fn snapshot(s: &Settings, now: DateTime<Utc>) -> Snapshot {
    let req = ReadRequest {
        now,
        tz: RelayTz::from_config(8),
        trend_days: 7,
        top_n: 10,
        window_minutes: 5,
    };
    take_snapshot(s, &Pricing::bundled(), req).await.unwrap()
}

fn json<T: serde::Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).unwrap()
}

#[tokio::test]
async fn kept_days_answer_what_a_fresh_read_answers() {
    let h = hub().await;
    let s = settings(&h.url, "kept");
    let fresh = snapshot(&s, h.now).await;
    assert_eq!(fresh.usage_total.requests, h.billable);
    let reset = fresh
        .limits
        .iter()
        .find(|l| l.id == h.reset_key.0.to_string() && l.period == "total")
        .expect("the reset key's total limit");
    // 33.25 and 12.125 after the reset; 100.5 before it is not counted (plus the demo's spend).
    assert!(reset.used_usd >= 45.375, "{reset:?}");
    // The second read keeps the closed days; the third reads them from memory.
    for _ in 0..2 {
        let kept = snapshot(&s, h.now).await;
        assert_eq!(json(&kept), json(&fresh));
    }
    let q = dry_runs::quota(&s, h.now).await.unwrap();
    for _ in 0..2 {
        assert_eq!(json(&dry_runs::quota(&s, h.now).await.unwrap()), json(&q));
    }
    assert_eq!(
        json(&q),
        json(
            &dry_runs::quota(&settings(&h.url, "q"), h.now)
                .await
                .unwrap()
        )
    );
}

#[tokio::test]
async fn a_row_written_into_a_kept_day_and_an_earlier_instant_read_fresh() {
    let h = hub().await;
    let s = settings(&h.url, "kept");
    for _ in 0..3 {
        snapshot(&s, h.now).await;
    }
    // A row dated two days ago, written after those days were kept.
    let (_, user, key) = &h.reset_key;
    let late = CchRequest::ok(h.now - Duration::days(2), *user, key, "7.000001");
    insert_requests(&h.client, &[late]).await.unwrap();
    let kept = snapshot(&s, h.now).await;
    assert_eq!(kept.usage_total.requests, h.billable + 1);
    assert_eq!(
        json(&kept),
        json(&snapshot(&settings(&h.url, "a"), h.now).await)
    );
    // An instant before the kept days' end is read fresh.
    let earlier = h.now - Duration::days(3);
    assert_eq!(
        json(&snapshot(&s, earlier).await),
        json(&snapshot(&settings(&h.url, "b"), earlier).await)
    );
    // The read after it still uses the kept days: a cost changed in place in a closed day (as
    // only an in-flight request's row is, within the hour's grace) is not seen by it, while a
    // fresh read sees it — the proof the days come from memory.
    h.client
        .execute(
            "UPDATE usage_ledger SET cost_usd = cost_usd + 1 WHERE id = \
             (SELECT min(id) FROM usage_ledger WHERE created_at < $1)",
            &[&(h.now - Duration::days(59))],
        )
        .await
        .unwrap();
    let from_memory = snapshot(&s, h.now).await;
    let reread = snapshot(&settings(&h.url, "c"), h.now).await;
    assert!(
        (reread.usage_total.cost_usd - from_memory.usage_total.cost_usd - 1.0).abs() < 1e-9,
        "{} vs {}",
        reread.usage_total.cost_usd,
        from_memory.usage_total.cost_usd
    );
}
