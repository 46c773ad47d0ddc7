//! The demo hub holds what its documentation says.

use super::*;

pub(crate) async fn one_text(client: &Client, sql: &str, key: &str) -> String {
    client.query_one(sql, &[&key]).await.unwrap().get(0)
}

#[tokio::test]
async fn the_demo_hub_holds_what_it_says() {
    let client = cch_db().await;
    let now = Utc.with_ymd_and_hms(2025, 6, 2, 3, 30, 0).unwrap();
    let seed = seed_demo_hub(&client, now).await.unwrap();
    assert_eq!(seed.counts.requests, 1980 + 10 + 7 + 7);
    assert_eq!(seed.request_ids.len(), 2004);
    let names: Vec<&str> = seed.users.iter().map(|(_, n)| n.as_str()).collect();
    assert_eq!(names, ["alice", "bob", "carol", "dave", "erin", "张伟"]);
    let providers: Vec<&str> = seed.providers.iter().map(|(_, n)| n.as_str()).collect();
    assert_eq!(
        providers,
        ["Claude官方-A", "Claude中转-B", "Codex-C", "旧Gemini-D"]
    );
    assert_eq!(seed.keys.len(), 10);
    assert_eq!(
        one_i64(&client, "SELECT count(*) FROM message_request").await,
        2004
    );
    let ledger_rows = one_i64(&client, "SELECT count(*) FROM usage_ledger").await;
    assert_eq!(ledger_rows as usize, seed.counts.ledger_rows);
    assert_eq!(
        ledger_rows as usize,
        2004 - seed.counts.warmups - seed.counts.non_billing_endpoint
    );
    let c = &seed.counts;
    for (what, n) in [
        ("warm-ups", c.warmups),
        ("replays", c.replays),
        ("count_tokens/compact", c.non_billing_endpoint),
        ("blocked", c.blocked),
        ("soft-deleted", c.soft_deleted),
        ("failovers", c.failovers),
        ("NULL endpoints", c.null_endpoint),
        ("failed", c.failed),
    ] {
        assert!(n >= 5, "{what}: only {n}");
    }
    // CCH's billing condition over the ledger.
    let billed = one_i64(
        &client,
        "SELECT (sum(cost_usd) * 1000000)::bigint FROM usage_ledger WHERE blocked_by IS NULL \
         AND is_replay = false AND (endpoint IS NULL OR lower(regexp_replace(endpoint, '/+$', '')) \
         NOT IN ('/v1/messages/count_tokens', '/v1/responses/compact'))",
    )
    .await;
    assert_eq!(billed, seed.billed_cost_micros);
    let failed = one_i64(
        &client,
        "SELECT count(*) FROM usage_ledger WHERE NOT is_success",
    )
    .await;
    assert_eq!(failed as usize, c.failed);
    check_demo_limit_keys(&client, &seed).await;
}

pub(crate) async fn check_demo_limit_keys(client: &Client, seed: &relaywatch_testkit::CchSeed) {
    let spend = "SELECT coalesce(sum(cost_usd), 0)::numeric(12,2)::text FROM usage_ledger \
                 WHERE key = $1";
    let k80 = &seed.key_daily_80.key;
    let recent = format!("{spend} AND created_at >= '2025-06-02 00:30:00+00'");
    assert_eq!(one_text(client, &recent, k80).await, "40.00");
    assert_eq!(one_text(client, spend, k80).await, "50.00");
    let (reset_time, limit): (String, String) = client
        .query_one(
            "SELECT daily_reset_time::text, limit_daily_usd::text FROM keys WHERE key = $1",
            &[k80],
        )
        .await
        .map(|r| (r.get(0), r.get(1)))
        .unwrap();
    // now is 11:30 in Shanghai; the window starts 3 h earlier.
    assert_eq!((reset_time.as_str(), limit.as_str()), ("08:30", "50.00"));
    let over = &seed.key_daily_over.key;
    let last_day = format!("{spend} AND created_at >= '2025-06-01 03:30:00+00'");
    assert_eq!(one_text(client, &last_day, over).await, "23.50");
    assert_eq!(one_text(client, spend, over).await, "29.50");
    let reset = &seed.key_cost_reset.key;
    let since =
        format!("{spend} AND created_at >= (SELECT cost_reset_at FROM keys WHERE key = $1)");
    assert_eq!(one_text(client, &since, reset).await, "30.00");
    assert_eq!(one_text(client, spend, reset).await, "110.00");
    // The deleted user still has spend in the ledger; the deleted provider served before.
    let deleted_user_spend = one_text(
        client,
        "SELECT (sum(cost_usd) > 0)::text FROM usage_ledger l JOIN keys k ON k.key = l.key \
         JOIN users u ON u.id = k.user_id WHERE u.deleted_at IS NOT NULL AND u.name = $1",
        "erin",
    )
    .await;
    assert_eq!(deleted_user_spend, "true");
    let served: i64 = client
        .query_one(
            "SELECT count(*) FROM usage_ledger WHERE final_provider_id = $1",
            &[&seed.deleted_provider],
        )
        .await
        .unwrap()
        .get(0);
    assert!(served > 0);
    let tz: Option<String> = client
        .query_one("SELECT timezone::text FROM system_settings", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(tz.as_deref(), Some("Asia/Shanghai"));
}
