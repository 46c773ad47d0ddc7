//! The ledger trigger: requests projected into `usage_ledger` as CCH's own trigger does.

use super::*;

/// Three providers (ids 1–3) so chains have names.
pub(crate) async fn cch_db_with_providers() -> Client {
    let client = cch_db().await;
    let ids = insert_providers(
        &client,
        &[
            CchProvider::new("Claude官方-A", "claude"),
            CchProvider::new("Claude中转-B", "claude-auth"),
            CchProvider::new("Codex-C", "codex"),
        ],
    )
    .await
    .unwrap();
    assert_eq!(ids, vec![1, 2, 3]);
    client
}

/// One ledger row, the columns the trigger computes or copies that tests look at.
#[derive(Debug, PartialEq)]
pub(crate) struct Ledger {
    pub(crate) request_id: i32,
    pub(crate) provider_id: i32,
    pub(crate) final_provider_id: i32,
    pub(crate) status_code: Option<i32>,
    pub(crate) is_success: bool,
    pub(crate) cost_usd: Option<String>,
    pub(crate) blocked_by: Option<String>,
    pub(crate) is_replay: bool,
    pub(crate) created_at: DateTime<Utc>,
}

pub(crate) async fn ledger(client: &Client) -> BTreeMap<i32, Ledger> {
    client
        .query(
            "SELECT request_id, provider_id, final_provider_id, status_code, is_success, \
             cost_usd::text, blocked_by::text, is_replay, created_at FROM usage_ledger",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| {
            let row = Ledger {
                request_id: r.get(0),
                provider_id: r.get(1),
                final_provider_id: r.get(2),
                status_code: r.get(3),
                is_success: r.get(4),
                cost_usd: r.get(5),
                blocked_by: r.get(6),
                is_replay: r.get(7),
                created_at: r.get(8),
            };
            (row.request_id, row)
        })
        .collect()
}

pub(crate) fn row(
    id: i32,
    provider: (i32, i32),
    status: Option<i32>,
    success: bool,
    cost: &str,
) -> Ledger {
    Ledger {
        request_id: id,
        provider_id: provider.0,
        final_provider_id: provider.1,
        status_code: status,
        is_success: success,
        cost_usd: Some(cost.to_string()),
        blocked_by: None,
        is_replay: false,
        created_at: at(id as i64),
    }
}

/// Requests 1–14, request `n` at `at(n)`, each probing one rule of CCH's trigger.
pub(crate) fn trigger_probes() -> Vec<CchRequest> {
    let ok = |n: i64, cost: &str| CchRequest::ok(at(n), 1, "sk-one", cost);
    let endpoint = |n: i64, e: &str| CchRequest {
        endpoint: Some(e.to_string()),
        ..ok(n, "0.5")
    };
    vec![
        ok(1, "0.012345678901234"),
        ok(2, "1.25").with_chain(&[1, 3, 2]),
        CchRequest::warmup(at(3), 1, "sk-one"),
        endpoint(4, "/v1/messages/count_tokens"),
        endpoint(5, "/V1/Messages/Count_Tokens//"),
        endpoint(6, "/v1/responses/compact"),
        CchRequest {
            is_replay: true,
            ..ok(7, "3.5")
        },
        CchRequest::error(at(8), 1, "sk-one", 502, "upstream 502").with_chain(&[2, 3]),
        CchRequest {
            error_message: Some("stream ended early".to_string()),
            ..ok(9, "0.75")
        },
        CchRequest {
            status_code: Some(399),
            ..ok(10, "1")
        },
        CchRequest {
            deleted_at: Some(at(60)),
            ..ok(11, "2").with_provider(3)
        },
        CchRequest {
            provider_chain: Some(Vec::new()),
            ..ok(12, "1").with_provider(2)
        },
        CchRequest {
            blocked_by: Some("sensitive_word".to_string()),
            ..CchRequest::error(at(13), 1, "sk-one", 400, "blocked")
        },
        CchRequest {
            endpoint: None,
            ..ok(14, "0.1")
        },
    ]
}

#[tokio::test]
async fn the_trigger_projects_requests_into_the_ledger_like_cchs() {
    let client = cch_db_with_providers().await;
    let ids = insert_requests(&client, &trigger_probes()).await.unwrap();
    assert_eq!(ids, (1..=14).collect::<Vec<i32>>());
    let mut expected = BTreeMap::new();
    for r in [
        row(1, (1, 1), Some(200), true, "0.012345678901234"),
        row(2, (1, 2), Some(200), true, "1.25"),
        Ledger {
            is_replay: true,
            ..row(7, (1, 1), Some(200), true, "0")
        },
        row(8, (2, 3), Some(502), false, "0"),
        row(9, (1, 1), Some(200), false, "0.75"),
        row(10, (1, 1), Some(399), true, "1"),
        row(11, (3, 3), Some(200), true, "2"),
        row(12, (2, 2), Some(200), true, "1"),
        Ledger {
            blocked_by: Some("sensitive_word".to_string()),
            ..row(13, (1, 1), Some(400), false, "0")
        },
        row(14, (1, 1), Some(200), true, "0.1"),
    ] {
        expected.insert(r.request_id, r);
    }
    // numeric(21,15) prints all 15 decimals.
    for r in expected.values_mut() {
        let cost = r.cost_usd.take().unwrap();
        let (whole, frac) = cost.split_once('.').unwrap_or((&cost, ""));
        r.cost_usd = Some(format!("{whole}.{frac:0<15}"));
    }
    assert_eq!(ledger(&client).await, expected);
    // The request table keeps what was written: the replay's cost, the chain CCH-style.
    let (cost, chain): (String, serde_json::Value) = client
        .query_one(
            "SELECT (SELECT cost_usd::text FROM message_request WHERE id = 7), \
             (SELECT provider_chain FROM message_request WHERE id = 2)::text",
            &[],
        )
        .await
        .map(|r| (r.get(0), serde_json::from_str(r.get::<_, &str>(1)).unwrap()))
        .unwrap();
    assert_eq!(cost, "3.500000000000000");
    let hops: Vec<(i64, &str, &str)> = chain
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["id"].as_i64().unwrap(),
                h["name"].as_str().unwrap(),
                h["reason"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        hops,
        [
            (1, "Claude官方-A", "retry_failed"),
            (3, "Codex-C", "retry_failed"),
            (2, "Claude中转-B", "retry_success")
        ]
    );
    assert_eq!(chain[2]["statusCode"], 200);
}

/// Provider chains whose last hop has no numeric id: a string id, a bare number, an object
/// instead of an array, a hop without an id before a good one.
const ODD_CHAINS: &str =
    "UPDATE message_request SET provider_chain = '[{\"id\": 3}, {\"id\": \"x\"}]' WHERE id = 1; \
     UPDATE message_request SET provider_chain = '[{\"id\": 3}, 7]' WHERE id = 10; \
     UPDATE message_request SET provider_chain = '{\"id\": 3}' WHERE id = 14; \
     UPDATE message_request SET provider_chain = '[{\"name\": \"n\"}, {\"id\": 3}]' WHERE id = 12";

#[tokio::test]
async fn soft_deletes_purges_and_odd_chains_leave_the_ledger_as_cch_does() {
    let client = cch_db_with_providers().await;
    let ids = insert_requests(&client, &trigger_probes()).await.unwrap();
    let before = ledger(&client).await;
    // CCH's soft delete and log cleanup do not touch the ledger.
    assert_eq!(
        soft_delete_requests(&client, &ids[..2], at(90))
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        soft_delete_requests(&client, &ids[..2], at(95))
            .await
            .unwrap(),
        0
    );
    assert_eq!(purge_requests(&client, &ids[7..9]).await.unwrap(), 2);
    assert_eq!(ledger(&client).await, before);
    let live: i64 = client
        .query_one(
            "SELECT count(*) FROM message_request WHERE deleted_at IS NULL",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        live,
        14 - 2 - 2 - 1,
        "two soft-deleted now, two purged, one written deleted"
    );
    // A last hop without a numeric id falls back to provider_id.
    client.batch_execute(ODD_CHAINS).await.unwrap();
    let finals: Vec<(i32, i32)> = client
        .query(
            "SELECT request_id, final_provider_id FROM usage_ledger \
             WHERE request_id IN (1, 10, 12, 14) ORDER BY request_id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(finals, [(1, 1), (10, 1), (12, 3), (14, 1)]);
}

#[tokio::test]
async fn a_request_started_then_finished_keeps_its_ledger_created_at() {
    let client = cch_db_with_providers().await;
    let start = CchRequest::ok(at(5), 4, "sk-four", "9");
    let ids = insert_started(&client, &[start.clone(), start.clone()])
        .await
        .unwrap();
    assert_eq!(ids, [1, 2]);
    let started = ledger(&client).await;
    assert_eq!(
        started[&1],
        Ledger {
            request_id: 1,
            status_code: None,
            created_at: at(5),
            ..row(1, (1, 1), None, true, "0.000000000000000")
        },
        "an unfinished request: no status, no error, cost 0, counted as a success"
    );
    let ok = CchRequest {
        cost_usd: Some("0.987654321".to_string()),
        ..start.clone().with_chain(&[1, 2])
    };
    assert_eq!(finish_request(&client, 1, &ok).await.unwrap(), 1);
    let failed = CchRequest::error(at(5), 4, "sk-four", 529, "overloaded");
    assert_eq!(finish_request(&client, 2, &failed).await.unwrap(), 1);
    assert_eq!(finish_request(&client, 99, &failed).await.unwrap(), 0);
    // Moving the request's created_at (it is a trigger column) leaves the ledger's alone.
    client
        .execute(
            "UPDATE message_request SET created_at = created_at + interval '1 hour'",
            &[],
        )
        .await
        .unwrap();
    let done = ledger(&client).await;
    assert_eq!(
        done[&1],
        row(1, (1, 2), Some(200), true, "0.987654321000000").with_at(at(5))
    );
    assert_eq!(
        done[&2],
        row(2, (1, 1), Some(529), false, "0.000000000000000").with_at(at(5))
    );
    let (tokens, updated): (Option<i64>, DateTime<Utc>) = client
        .query_one(
            "SELECT output_tokens, updated_at FROM message_request WHERE id = 1",
            &[],
        )
        .await
        .map(|r| (r.get(0), r.get(1)))
        .unwrap();
    assert_eq!(tokens, Some(350));
    assert_eq!(updated, at(5) + Duration::milliseconds(2400));
}

impl Ledger {
    fn with_at(self, created_at: DateTime<Utc>) -> Ledger {
        Ledger { created_at, ..self }
    }
}

#[tokio::test]
async fn a_request_turned_warmup_is_marked_not_removed() {
    let client = cch_db_with_providers().await;
    let ids = insert_started(&client, &[CchRequest::ok(at(1), 1, "sk", "1")])
        .await
        .unwrap();
    let warm = CchRequest::warmup(at(1), 1, "sk");
    finish_request(&client, ids[0], &warm).await.unwrap();
    let rows = ledger(&client).await;
    assert_eq!(rows[&1].blocked_by.as_deref(), Some("warmup"));
    assert_eq!(rows[&1].status_code, None, "only blocked_by changes");
}

pub(crate) async fn one_i64(client: &Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).await.unwrap().get(0)
}

#[tokio::test]
async fn twenty_five_thousand_requests_go_in_through_the_trigger() {
    let client = cch_db_with_providers().await;
    let rows: Vec<CchRequest> = (0..25_000i64)
        .map(|i| {
            let r = CchRequest::ok(
                at(0) + Duration::seconds(i * 7),
                (i % 40) as i32,
                "sk-x",
                "0.01",
            );
            match i % 10 {
                0 => CchRequest::warmup(r.created_at, r.user_id, "sk-x"),
                1 => r.with_chain(&[1, 2]),
                _ => r,
            }
        })
        .collect();
    let ids = insert_requests(&client, &rows).await.unwrap();
    assert_eq!(ids.len(), 25_000);
    assert_eq!(ids[24_999] - ids[0], 24_999);
    assert_eq!(
        one_i64(&client, "SELECT count(*) FROM usage_ledger").await,
        22_500
    );
}
