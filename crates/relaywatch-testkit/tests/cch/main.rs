//! Checks Claude Code Hub's tables, ledger trigger, writers, demo hub and breaker hashes against a real PostgreSQL and redis-server; rule: expected columns, types, defaults and ledger values are spelled out by hand from CCH's schema, migrations and trigger (v0.9.2), never computed by the code under test, and each test works in its own database.

use std::collections::BTreeMap;

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

pub(crate) fn at(minute: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 6, 2, 9, 0, 0).unwrap()
        + Duration::minutes(minute)
        + Duration::microseconds(654_321)
}

pub(crate) async fn cch_db() -> Client {
    let client = connect(&fresh_database().await).await;
    create_cch_schema(&client).await.unwrap();
    client
}

/// `name|type|NOT NULL or null|default` per column of `table`, in column order.
pub(crate) async fn columns(client: &Client, table: &str) -> Vec<String> {
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

pub(crate) fn lines(spec: &str) -> Vec<String> {
    spec.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

pub(crate) const USERS: &str = "
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

pub(crate) const KEYS: &str = "
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

pub(crate) const PROVIDERS: &str = "
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

pub(crate) const SYSTEM_SETTINGS: &str = "
id|integer|NOT NULL|nextval('system_settings_id_seq'::regclass)
currency_display|character varying(10)|NOT NULL|'USD'::character varying
billing_model_source|character varying(20)|NOT NULL|'original'::character varying
timezone|character varying(64)|null|";

pub(crate) const MESSAGE_REQUEST: &str = "
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

pub(crate) const USAGE_LEDGER: &str = "
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

mod breaker;
mod schema;
mod seed;
mod trigger;

pub(crate) use trigger::*;
