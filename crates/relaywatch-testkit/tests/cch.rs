//! Checks Claude Code Hub's tables, ledger trigger, writers, demo hub and breaker hashes against a real PostgreSQL and redis-server; rule: expected columns, types, defaults and ledger values are spelled out by hand from CCH's schema, migrations and trigger (v0.9.2), never computed by the code under test, and each test works in its own database.

use std::collections::BTreeMap;
use std::time::Instant;

use chrono::{DateTime, Duration, TimeZone, Utc};
use redis::Commands;
use relaywatch_testkit::cch::{
    breaker_key, finish_request, insert_keys, insert_providers, insert_requests, insert_started,
    insert_users, purge_requests, reset_breaker, seed_demo_hub, set_settings, set_timezone,
    soft_delete_requests, write_breaker, write_breaker_state, BreakerState, ResetMode,
};
use relaywatch_testkit::pg::connect;
use relaywatch_testkit::{
    create_cch_schema, fresh_database, fresh_db, CchKey, CchLimits, CchProvider, CchRequest,
    CchSettings, CchUser,
};
use tokio_postgres::Client;

fn at(minute: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 6, 2, 9, 0, 0).unwrap()
        + Duration::minutes(minute)
        + Duration::microseconds(654_321)
}

async fn cch_db() -> Client {
    let client = connect(&fresh_database().await).await;
    create_cch_schema(&client).await.unwrap();
    client
}

/// `name|type|NOT NULL or null|default` per column of `table`, in column order.
async fn columns(client: &Client, table: &str) -> Vec<String> {
    client
        .query(
            "SELECT concat_ws('|', a.attname, format_type(a.atttypid, a.atttypmod), \
             CASE WHEN a.attnotnull THEN 'NOT NULL' ELSE 'null' END, \
             coalesce(pg_get_expr(d.adbin, d.adrelid), '')) \
             FROM pg_attribute a LEFT JOIN pg_attrdef d \
               ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
             WHERE a.attrelid = $1::text::regclass AND a.attnum > 0 AND NOT a.attisdropped \
             ORDER BY a.attnum",
            &[&table],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

fn lines(spec: &str) -> Vec<String> {
    spec.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

const USERS: &str = "
id|integer|NOT NULL|nextval('users_id_seq'::regclass)
name|character varying|NOT NULL|
daily_limit_usd|numeric(10,2)|null|
tags|jsonb|null|'[]'::jsonb
limit_5h_usd|numeric(10,2)|null|
limit_5h_reset_mode|daily_reset_mode|NOT NULL|'rolling'::daily_reset_mode
limit_weekly_usd|numeric(10,2)|null|
limit_monthly_usd|numeric(10,2)|null|
limit_total_usd|numeric(10,2)|null|
cost_reset_at|timestamp with time zone|null|
daily_reset_mode|daily_reset_mode|NOT NULL|'fixed'::daily_reset_mode
daily_reset_time|character varying(5)|NOT NULL|'00:00'::character varying
is_enabled|boolean|NOT NULL|true
expires_at|timestamp with time zone|null|
deleted_at|timestamp with time zone|null|";

const KEYS: &str = "
id|integer|NOT NULL|nextval('keys_id_seq'::regclass)
user_id|integer|NOT NULL|
key|character varying|NOT NULL|
name|character varying|NOT NULL|
is_enabled|boolean|null|true
expires_at|timestamp with time zone|null|
limit_5h_usd|numeric(10,2)|null|
limit_5h_reset_mode|daily_reset_mode|NOT NULL|'rolling'::daily_reset_mode
limit_daily_usd|numeric(10,2)|null|
daily_reset_mode|daily_reset_mode|NOT NULL|'fixed'::daily_reset_mode
daily_reset_time|character varying(5)|NOT NULL|'00:00'::character varying
limit_weekly_usd|numeric(10,2)|null|
limit_monthly_usd|numeric(10,2)|null|
limit_total_usd|numeric(10,2)|null|
cost_reset_at|timestamp with time zone|null|
deleted_at|timestamp with time zone|null|";

const PROVIDERS: &str = "
id|integer|NOT NULL|nextval('providers_id_seq'::regclass)
name|character varying|NOT NULL|
url|character varying|NOT NULL|
key|character varying|NOT NULL|
is_enabled|boolean|NOT NULL|true
cost_multiplier|numeric(10,4)|null|1.0
provider_type|character varying(20)|NOT NULL|'claude'::character varying
limit_5h_usd|numeric(10,2)|null|
limit_5h_reset_mode|daily_reset_mode|NOT NULL|'rolling'::daily_reset_mode
limit_daily_usd|numeric(10,2)|null|
daily_reset_mode|daily_reset_mode|NOT NULL|'fixed'::daily_reset_mode
daily_reset_time|character varying(5)|NOT NULL|'00:00'::character varying
limit_weekly_usd|numeric(10,2)|null|
limit_monthly_usd|numeric(10,2)|null|
limit_total_usd|numeric(10,2)|null|
total_cost_reset_at|timestamp with time zone|null|
circuit_breaker_failure_threshold|integer|null|5
circuit_breaker_open_duration|integer|null|1800000
circuit_breaker_half_open_success_threshold|integer|null|2
deleted_at|timestamp with time zone|null|";

const SYSTEM_SETTINGS: &str = "
id|integer|NOT NULL|nextval('system_settings_id_seq'::regclass)
currency_display|character varying(10)|NOT NULL|'USD'::character varying
billing_model_source|character varying(20)|NOT NULL|'original'::character varying
timezone|character varying(64)|null|";

const MESSAGE_REQUEST: &str = "
id|integer|NOT NULL|nextval('message_request_id_seq'::regclass)
provider_id|integer|NOT NULL|
user_id|integer|NOT NULL|
key|character varying|NOT NULL|
model|character varying(128)|null|
duration_ms|integer|null|
cost_usd|numeric(21,15)|null|'0'::numeric
is_replay|boolean|NOT NULL|false
provider_chain|jsonb|null|
status_code|integer|null|
endpoint|character varying(256)|null|
original_model|character varying(128)|null|
input_tokens|bigint|null|
output_tokens|bigint|null|
cache_creation_input_tokens|bigint|null|
cache_read_input_tokens|bigint|null|
cache_creation_5m_input_tokens|bigint|null|
cache_creation_1h_input_tokens|bigint|null|
error_message|text|null|
blocked_by|character varying(50)|null|
created_at|timestamp with time zone|null|now()
updated_at|timestamp with time zone|null|now()
deleted_at|timestamp with time zone|null|";

const USAGE_LEDGER: &str = "
id|integer|NOT NULL|nextval('usage_ledger_id_seq'::regclass)
request_id|integer|NOT NULL|
user_id|integer|NOT NULL|
key|character varying|NOT NULL|
provider_id|integer|NOT NULL|
final_provider_id|integer|NOT NULL|
model|character varying(128)|null|
original_model|character varying(128)|null|
endpoint|character varying(256)|null|
is_replay|boolean|NOT NULL|false
status_code|integer|null|
is_success|boolean|NOT NULL|false
blocked_by|character varying(50)|null|
cost_usd|numeric(21,15)|null|'0'::numeric
input_tokens|bigint|null|
output_tokens|bigint|null|
cache_creation_input_tokens|bigint|null|
cache_read_input_tokens|bigint|null|
cache_creation_5m_input_tokens|bigint|null|
cache_creation_1h_input_tokens|bigint|null|
duration_ms|integer|null|
created_at|timestamp with time zone|NOT NULL|";

#[tokio::test]
async fn the_tables_have_cchs_columns_types_and_defaults() {
    let client = cch_db().await;
    for (table, spec) in [
        ("users", USERS),
        ("keys", KEYS),
        ("providers", PROVIDERS),
        ("system_settings", SYSTEM_SETTINGS),
        ("message_request", MESSAGE_REQUEST),
        ("usage_ledger", USAGE_LEDGER),
    ] {
        assert_eq!(columns(&client, table).await, lines(spec), "{table}");
    }
    let labels: Vec<String> = client
        .query(
            "SELECT unnest(enum_range(NULL::daily_reset_mode))::text",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(labels, ["fixed", "rolling"]);
}

#[tokio::test]
async fn the_ledger_has_cchs_unique_index_and_trigger() {
    let client = cch_db().await;
    let unique: String = client
        .query_one(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'idx_usage_ledger_request_id'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        unique,
        "CREATE UNIQUE INDEX idx_usage_ledger_request_id ON public.usage_ledger USING btree (request_id)"
    );
    let trigger: String = client
        .query_one(
            "SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgname = 'trg_upsert_usage_ledger'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        trigger,
        "CREATE TRIGGER trg_upsert_usage_ledger AFTER INSERT OR UPDATE OF blocked_by, \
         status_code, error_message, provider_chain, endpoint, provider_id, user_id, key, model, \
         original_model, is_replay, cost_usd, input_tokens, output_tokens, \
         cache_creation_input_tokens, cache_read_input_tokens, cache_creation_5m_input_tokens, \
         cache_creation_1h_input_tokens, duration_ms, created_at ON public.message_request \
         FOR EACH ROW EXECUTE FUNCTION fn_upsert_usage_ledger()"
    );
}

#[tokio::test]
async fn users_keys_providers_and_settings_read_back() {
    let client = cch_db().await;
    let reset = at(0);
    let users = [
        CchUser {
            tags: vec!["vip".to_string(), "中文".to_string()],
            limits: CchLimits {
                daily_usd: Some(12.5),
                daily_reset_mode: ResetMode::Rolling,
                limit_5h_usd: Some(3.0),
                limit_5h_reset_mode: ResetMode::Fixed,
                ..CchLimits::default()
            },
            cost_reset_at: Some(reset),
            ..CchUser::new("张伟")
        },
        CchUser {
            is_enabled: false,
            deleted_at: Some(reset),
            ..CchUser::new("old")
        },
    ];
    assert_eq!(insert_users(&client, &users).await.unwrap(), [1, 2]);
    let u = client
        .query_one(
            "SELECT name::text, tags::text, daily_limit_usd::text, daily_reset_mode::text, \
             limit_5h_usd::text, limit_5h_reset_mode::text, daily_reset_time::text, \
             limit_weekly_usd::text, is_enabled, cost_reset_at FROM users WHERE id = 1",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(u.get::<_, String>(0), "张伟");
    assert_eq!(u.get::<_, String>(1), r#"["vip", "中文"]"#);
    assert_eq!(u.get::<_, String>(2), "12.50");
    assert_eq!(u.get::<_, String>(3), "rolling");
    assert_eq!(u.get::<_, String>(4), "3.00");
    assert_eq!(u.get::<_, String>(5), "fixed");
    assert_eq!(u.get::<_, String>(6), "00:00");
    assert_eq!(u.get::<_, Option<String>>(7), None);
    assert!(u.get::<_, bool>(8));
    assert_eq!(u.get::<_, DateTime<Utc>>(9), reset);
    let key = CchKey {
        limits: CchLimits {
            daily_usd: Some(50.0),
            daily_reset_time: "18:30".to_string(),
            total_usd: Some(1000.0),
            ..CchLimits::default()
        },
        expires_at: Some(reset),
        ..CchKey::new(1, "sk-secret-1", "main")
    };
    assert_eq!(insert_keys(&client, &[key]).await.unwrap(), [1]);
    let k = client
        .query_one(
            "SELECT key::text, limit_daily_usd::text, daily_reset_time::text, \
             limit_total_usd::text, is_enabled, expires_at FROM keys",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(k.get::<_, String>(0), "sk-secret-1");
    assert_eq!(k.get::<_, String>(1), "50.00");
    assert_eq!(k.get::<_, String>(2), "18:30");
    assert_eq!(k.get::<_, String>(3), "1000.00");
    assert_eq!(k.get::<_, Option<bool>>(4), Some(true));
    assert_eq!(k.get::<_, Option<DateTime<Utc>>>(5), Some(reset));
    check_provider_and_settings(&client).await;
}

async fn check_provider_and_settings(client: &Client) {
    let provider = CchProvider {
        cost_multiplier: 1.25,
        total_cost_reset_at: Some(at(3)),
        circuit_breaker_failure_threshold: 3,
        limits: CchLimits {
            weekly_usd: Some(99.99),
            ..CchLimits::default()
        },
        ..CchProvider::new("Claude中转-B", "claude-auth")
    };
    assert_eq!(insert_providers(client, &[provider]).await.unwrap(), [1]);
    let p = client
        .query_one(
            "SELECT name::text, provider_type::text, cost_multiplier::text, \
             limit_weekly_usd::text, circuit_breaker_failure_threshold, \
             circuit_breaker_open_duration, circuit_breaker_half_open_success_threshold, \
             total_cost_reset_at, is_enabled FROM providers",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(p.get::<_, String>(0), "Claude中转-B");
    assert_eq!(p.get::<_, String>(1), "claude-auth");
    assert_eq!(p.get::<_, String>(2), "1.2500");
    assert_eq!(p.get::<_, String>(3), "99.99");
    assert_eq!(p.get::<_, Option<i32>>(4), Some(3));
    assert_eq!(p.get::<_, Option<i32>>(5), Some(1_800_000));
    assert_eq!(p.get::<_, Option<i32>>(6), Some(2));
    assert_eq!(p.get::<_, Option<DateTime<Utc>>>(7), Some(at(3)));
    assert!(p.get::<_, bool>(8));
    set_timezone(client, Some("Asia/Shanghai")).await.unwrap();
    let shanghai = (
        Some("Asia/Shanghai".to_string()),
        "original".to_string(),
        "USD".to_string(),
    );
    assert_eq!(settings(client).await, [shanghai]);
    let redirected = CchSettings {
        timezone: Some("Europe/Berlin".to_string()),
        billing_model_source: "redirected".to_string(),
        currency_display: "CNY".to_string(),
    };
    set_settings(client, &redirected).await.unwrap();
    set_timezone(client, None).await.unwrap();
    let expected = (None, "redirected".to_string(), "CNY".to_string());
    assert_eq!(settings(client).await, [expected], "still one row");
}

type SettingsRow = (Option<String>, String, String);

async fn settings(c: &Client) -> Vec<SettingsRow> {
    c.query(
        "SELECT timezone::text, billing_model_source::text, currency_display::text \
         FROM system_settings",
        &[],
    )
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1), r.get(2)))
    .collect()
}

/// Three providers (ids 1–3) so chains have names.
async fn cch_db_with_providers() -> Client {
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
struct Ledger {
    request_id: i32,
    provider_id: i32,
    final_provider_id: i32,
    status_code: Option<i32>,
    is_success: bool,
    cost_usd: Option<String>,
    blocked_by: Option<String>,
    is_replay: bool,
    created_at: DateTime<Utc>,
}

async fn ledger(client: &Client) -> BTreeMap<i32, Ledger> {
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

fn row(id: i32, provider: (i32, i32), status: Option<i32>, success: bool, cost: &str) -> Ledger {
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
fn trigger_probes() -> Vec<CchRequest> {
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
    client
        .batch_execute(
            "UPDATE message_request SET provider_chain = '[{\"id\": 3}, {\"id\": \"x\"}]' WHERE id = 1; \
             UPDATE message_request SET provider_chain = '[{\"id\": 3}, 7]' WHERE id = 10; \
             UPDATE message_request SET provider_chain = '{\"id\": 3}' WHERE id = 14; \
             UPDATE message_request SET provider_chain = '[{\"name\": \"n\"}, {\"id\": 3}]' WHERE id = 12",
        )
        .await
        .unwrap();
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

async fn one_i64(client: &Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).await.unwrap().get(0)
}

#[tokio::test]
async fn twenty_five_thousand_requests_go_in_within_seconds() {
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
    let began = Instant::now();
    let ids = insert_requests(&client, &rows).await.unwrap();
    let took = began.elapsed();
    eprintln!("inserted 25,000 requests through the trigger in {took:?}");
    assert_eq!(ids.len(), 25_000);
    assert_eq!(ids[24_999] - ids[0], 24_999);
    assert_eq!(
        one_i64(&client, "SELECT count(*) FROM usage_ledger").await,
        22_500
    );
    assert!(took.as_secs() < 30, "took {took:?}");
}

fn redis_con() -> redis::Connection {
    redis::Client::open(fresh_db().as_str())
        .unwrap()
        .get_connection()
        .unwrap()
}

#[test]
fn a_breaker_hash_round_trips_as_cch_writes_it() {
    let mut con = redis_con();
    write_breaker(
        &mut con,
        7,
        "open",
        5,
        Some(1_748_851_200_000),
        Some(1_748_849_400_123),
    )
    .unwrap();
    let hash: BTreeMap<String, String> = con.hgetall("circuit_breaker:state:7").unwrap();
    let expected: BTreeMap<String, String> = [
        ("failureCount", "5"),
        ("lastFailureTime", "1748849400123"),
        ("circuitState", "open"),
        ("circuitOpenUntil", "1748851200000"),
        ("halfOpenSuccessCount", "0"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(hash, expected);
    let ttl: i64 = con.ttl("circuit_breaker:state:7").unwrap();
    assert!((86_390..=86_400).contains(&ttl), "ttl {ttl}");
    write_breaker(&mut con, 7, "closed", 0, None, None).unwrap();
    let closed: BTreeMap<String, String> = con.hgetall(breaker_key(7)).unwrap();
    assert_eq!(closed["circuitOpenUntil"], "");
    assert_eq!(closed["lastFailureTime"], "");
    assert_eq!(closed["circuitState"], "closed");
    let half = BreakerState {
        circuit_state: "half-open".to_string(),
        failure_count: 5,
        last_failure_ms: Some(1),
        open_until_ms: Some(2),
        half_open_success_count: 1,
    };
    write_breaker_state(&mut con, 8, &half).unwrap();
    let h: BTreeMap<String, String> = con.hgetall("circuit_breaker:state:8").unwrap();
    assert_eq!(h["halfOpenSuccessCount"], "1");
    assert_eq!(h["circuitState"], "half-open");
    reset_breaker(&mut con, 7).unwrap();
    assert!(!con.exists::<_, bool>("circuit_breaker:state:7").unwrap());
}

#[test]
#[should_panic(expected = "CCH writes no breaker state \"OPEN\"")]
fn a_breaker_state_cch_never_writes_is_refused() {
    let mut con = redis_con();
    let _ = write_breaker(&mut con, 1, "OPEN", 1, None, None);
}

async fn one_text(client: &Client, sql: &str, key: &str) -> String {
    client.query_one(sql, &[&key]).await.unwrap().get(0)
}

#[tokio::test]
async fn the_demo_hub_holds_what_it_says() {
    let client = cch_db().await;
    let now = Utc.with_ymd_and_hms(2025, 6, 2, 3, 30, 0).unwrap();
    let began = Instant::now();
    let seed = seed_demo_hub(&client, now).await.unwrap();
    eprintln!("seed_demo_hub: {:?}, {:?}", began.elapsed(), seed.counts);
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

async fn check_demo_limit_keys(client: &Client, seed: &relaywatch_testkit::CchSeed) {
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
