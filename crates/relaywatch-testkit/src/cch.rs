//! Claude Code Hub's (CCH) PostgreSQL tables and Redis breaker hashes as CCH v0.9.2 leaves them, and writers that fill them; rule: every row goes in the way CCH writes it (requests through `message_request`, so only CCH's ledger trigger fills `usage_ledger`), column names, types, defaults and NOT NULLs are CCH's, and nothing here computes a figure CCH's trigger computes.
//!
//! * [`CCH_DDL`] / [`create_cch_schema`]: `users`, `keys`, `providers`, `message_request`,
//!   `usage_ledger`, `system_settings`, the `daily_reset_mode` enum and the ledger trigger.
//! * [`CchUser`], [`CchKey`], [`CchProvider`] with [`insert_users`], [`insert_keys`],
//!   [`insert_providers`]; [`CchSettings`] with [`set_settings`] / [`set_timezone`].
//! * [`CchRequest`] with [`insert_requests`] (batched, ~25,000 rows in seconds),
//!   [`insert_started`] + [`finish_request`] (CCH's insert-then-update), [`soft_delete_requests`],
//!   [`purge_requests`] (in [`requests`]).
//! * [`write_breaker`]: CCH's `circuit_breaker:state:{id}` hashes (in [`breaker`]).
//! * [`seed_demo_hub`]: a small, realistic hub for tests (in [`seed`]).
//!
//! Only the columns relaywatch reads are created (CCH's tables have many more); the columns
//! kept have CCH's exact types. Checked against `src/drizzle/schema.ts` and the migrations
//! `drizzle/0000…0118` (the column types after every `ALTER`) and the trigger in
//! `drizzle/0116_gigantic_zombie.sql` / `src/lib/ledger-backfill/trigger.sql` (a one-off run of
//! CCH's own trigger over the demo hub and the tests' probes gave the identical ledger).

pub mod breaker;
pub mod requests;
pub mod seed;

use chrono::{DateTime, Utc};
use tokio_postgres::types::ToSql;
use tokio_postgres::Client;

pub use breaker::{breaker_key, reset_breaker, write_breaker, write_breaker_state, BreakerState};
pub use requests::{
    finish_request, insert_requests, insert_started, purge_requests, soft_delete_requests,
    CchRequest,
};
pub use seed::{seed_demo_hub, CchSeed, SeedCounts, SeedKey};

/// CCH's tables (relaywatch's columns only), the enum, the ledger's indexes and trigger.
///
/// Decisions, all from CCH's schema and migrations: ids are `serial`; limits are
/// `numeric(10,2)`, costs `numeric(21,15)` (default `0`), `cost_multiplier` `numeric(10,4)`;
/// reset modes are the enum `daily_reset_mode` (not text: read them as `::text`); reset times
/// `varchar(5)` default `'00:00'`; token columns `bigint`; timestamps `timestamptz`;
/// `keys.is_enabled` is nullable (users' and providers' are NOT NULL); the ledger has no
/// foreign key, so it outlives a purged request. The trigger fires on INSERT and on UPDATE of
/// the copied columns only, so a soft delete (`deleted_at`) never reaches the ledger.
pub const CCH_DDL: &str = r#"
CREATE TYPE daily_reset_mode AS ENUM ('fixed', 'rolling');

CREATE TABLE users (
  id serial PRIMARY KEY,
  name varchar NOT NULL,
  daily_limit_usd numeric(10, 2),
  tags jsonb DEFAULT '[]'::jsonb,
  limit_5h_usd numeric(10, 2),
  limit_5h_reset_mode daily_reset_mode NOT NULL DEFAULT 'rolling',
  limit_weekly_usd numeric(10, 2),
  limit_monthly_usd numeric(10, 2),
  limit_total_usd numeric(10, 2),
  cost_reset_at timestamptz,
  daily_reset_mode daily_reset_mode NOT NULL DEFAULT 'fixed',
  daily_reset_time varchar(5) NOT NULL DEFAULT '00:00',
  is_enabled boolean NOT NULL DEFAULT true,
  expires_at timestamptz,
  deleted_at timestamptz
);

CREATE TABLE keys (
  id serial PRIMARY KEY,
  user_id integer NOT NULL,
  key varchar NOT NULL,
  name varchar NOT NULL,
  is_enabled boolean DEFAULT true,
  expires_at timestamptz,
  limit_5h_usd numeric(10, 2),
  limit_5h_reset_mode daily_reset_mode NOT NULL DEFAULT 'rolling',
  limit_daily_usd numeric(10, 2),
  daily_reset_mode daily_reset_mode NOT NULL DEFAULT 'fixed',
  daily_reset_time varchar(5) NOT NULL DEFAULT '00:00',
  limit_weekly_usd numeric(10, 2),
  limit_monthly_usd numeric(10, 2),
  limit_total_usd numeric(10, 2),
  cost_reset_at timestamptz,
  deleted_at timestamptz
);
CREATE INDEX idx_keys_user_id ON keys (user_id);
CREATE INDEX idx_keys_key ON keys (key);

CREATE TABLE providers (
  id serial PRIMARY KEY,
  name varchar NOT NULL,
  url varchar NOT NULL,
  key varchar NOT NULL,
  is_enabled boolean NOT NULL DEFAULT true,
  cost_multiplier numeric(10, 4) DEFAULT '1.0',
  provider_type varchar(20) NOT NULL DEFAULT 'claude',
  limit_5h_usd numeric(10, 2),
  limit_5h_reset_mode daily_reset_mode NOT NULL DEFAULT 'rolling',
  limit_daily_usd numeric(10, 2),
  daily_reset_mode daily_reset_mode NOT NULL DEFAULT 'fixed',
  daily_reset_time varchar(5) NOT NULL DEFAULT '00:00',
  limit_weekly_usd numeric(10, 2),
  limit_monthly_usd numeric(10, 2),
  limit_total_usd numeric(10, 2),
  total_cost_reset_at timestamptz,
  circuit_breaker_failure_threshold integer DEFAULT 5,
  circuit_breaker_open_duration integer DEFAULT 1800000,
  circuit_breaker_half_open_success_threshold integer DEFAULT 2,
  deleted_at timestamptz
);

CREATE TABLE message_request (
  id serial PRIMARY KEY,
  provider_id integer NOT NULL,
  user_id integer NOT NULL,
  key varchar NOT NULL,
  model varchar(128),
  duration_ms integer,
  cost_usd numeric(21, 15) DEFAULT '0',
  is_replay boolean NOT NULL DEFAULT false,
  provider_chain jsonb,
  status_code integer,
  endpoint varchar(256),
  original_model varchar(128),
  input_tokens bigint,
  output_tokens bigint,
  cache_creation_input_tokens bigint,
  cache_read_input_tokens bigint,
  cache_creation_5m_input_tokens bigint,
  cache_creation_1h_input_tokens bigint,
  error_message text,
  blocked_by varchar(50),
  created_at timestamptz DEFAULT now(),
  updated_at timestamptz DEFAULT now(),
  deleted_at timestamptz
);
CREATE INDEX idx_message_request_created_at ON message_request (created_at);

CREATE TABLE usage_ledger (
  id serial PRIMARY KEY,
  request_id integer NOT NULL,
  user_id integer NOT NULL,
  key varchar NOT NULL,
  provider_id integer NOT NULL,
  final_provider_id integer NOT NULL,
  model varchar(128),
  original_model varchar(128),
  endpoint varchar(256),
  is_replay boolean NOT NULL DEFAULT false,
  status_code integer,
  is_success boolean NOT NULL DEFAULT false,
  blocked_by varchar(50),
  cost_usd numeric(21, 15) DEFAULT '0',
  input_tokens bigint,
  output_tokens bigint,
  cache_creation_input_tokens bigint,
  cache_read_input_tokens bigint,
  cache_creation_5m_input_tokens bigint,
  cache_creation_1h_input_tokens bigint,
  duration_ms integer,
  created_at timestamptz NOT NULL
);
CREATE UNIQUE INDEX idx_usage_ledger_request_id ON usage_ledger (request_id);
CREATE INDEX idx_usage_ledger_user_created_at ON usage_ledger (user_id, created_at)
  WHERE blocked_by IS NULL AND is_replay = false;
CREATE INDEX idx_usage_ledger_key_created_at ON usage_ledger (key, created_at)
  WHERE blocked_by IS NULL AND is_replay = false;
CREATE INDEX idx_usage_ledger_provider_created_at ON usage_ledger (final_provider_id, created_at)
  WHERE blocked_by IS NULL AND is_replay = false;
CREATE INDEX idx_usage_ledger_created_at_desc_id ON usage_ledger (created_at DESC, id DESC);
CREATE INDEX idx_usage_ledger_key_cost ON usage_ledger (key, created_at, cost_usd, endpoint)
  WHERE blocked_by IS NULL AND is_replay = false;
CREATE INDEX idx_usage_ledger_user_cost_cover ON usage_ledger (user_id, created_at, cost_usd, endpoint)
  WHERE blocked_by IS NULL AND is_replay = false;
CREATE INDEX idx_usage_ledger_provider_cost_cover ON usage_ledger (final_provider_id, created_at, cost_usd, endpoint)
  WHERE blocked_by IS NULL AND is_replay = false;

CREATE TABLE system_settings (
  id serial PRIMARY KEY,
  currency_display varchar(10) NOT NULL DEFAULT 'USD',
  billing_model_source varchar(20) NOT NULL DEFAULT 'original',
  timezone varchar(64)
);

-- The ledger projection: one row per billable-or-not request, keyed by request_id.
CREATE FUNCTION fn_upsert_usage_ledger() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
  last_hop jsonb;
  final_provider integer := NEW.provider_id;
BEGIN
  -- Warm-up answers never get a ledger row; a row that becomes one is marked, not removed.
  IF NEW.blocked_by = 'warmup' THEN
    UPDATE usage_ledger SET blocked_by = 'warmup' WHERE request_id = NEW.id;
    RETURN NEW;
  END IF;

  -- Non-billing endpoints stay out (and leave, when an update moves a row there).
  IF lower(regexp_replace(coalesce(NEW.endpoint, ''), '/+$', ''))
     IN ('/v1/messages/count_tokens', '/v1/responses/compact') THEN
    DELETE FROM usage_ledger WHERE request_id = NEW.id;
    RETURN NEW;
  END IF;

  -- The provider that served: the numeric id of the chain's last object, else provider_id.
  IF jsonb_typeof(NEW.provider_chain) = 'array' THEN
    last_hop := NEW.provider_chain -> -1;
    IF jsonb_typeof(last_hop) = 'object' AND (last_hop ->> 'id') ~ '^[0-9]+$' THEN
      final_provider := (last_hop ->> 'id')::integer;
    END IF;
  END IF;

  INSERT INTO usage_ledger AS l (
    request_id, user_id, key, provider_id, final_provider_id, model, original_model,
    endpoint, is_replay, status_code, is_success, blocked_by, cost_usd,
    input_tokens, output_tokens, cache_creation_input_tokens, cache_read_input_tokens,
    cache_creation_5m_input_tokens, cache_creation_1h_input_tokens, duration_ms, created_at
  ) VALUES (
    NEW.id, NEW.user_id, NEW.key, NEW.provider_id, final_provider, NEW.model,
    NEW.original_model, NEW.endpoint, NEW.is_replay, NEW.status_code,
    coalesce(NEW.error_message, '') = '' AND (NEW.status_code IS NULL OR NEW.status_code < 400),
    NEW.blocked_by,
    CASE WHEN NEW.is_replay THEN 0 ELSE NEW.cost_usd END,
    NEW.input_tokens, NEW.output_tokens, NEW.cache_creation_input_tokens,
    NEW.cache_read_input_tokens, NEW.cache_creation_5m_input_tokens,
    NEW.cache_creation_1h_input_tokens, NEW.duration_ms, NEW.created_at
  )
  ON CONFLICT (request_id) DO UPDATE SET
    -- every copied column but created_at, which keeps the first insert's value
    user_id = EXCLUDED.user_id, key = EXCLUDED.key, provider_id = EXCLUDED.provider_id,
    final_provider_id = EXCLUDED.final_provider_id, model = EXCLUDED.model,
    original_model = EXCLUDED.original_model, endpoint = EXCLUDED.endpoint,
    is_replay = EXCLUDED.is_replay, status_code = EXCLUDED.status_code,
    is_success = EXCLUDED.is_success, blocked_by = EXCLUDED.blocked_by,
    cost_usd = EXCLUDED.cost_usd, input_tokens = EXCLUDED.input_tokens,
    output_tokens = EXCLUDED.output_tokens,
    cache_creation_input_tokens = EXCLUDED.cache_creation_input_tokens,
    cache_read_input_tokens = EXCLUDED.cache_read_input_tokens,
    cache_creation_5m_input_tokens = EXCLUDED.cache_creation_5m_input_tokens,
    cache_creation_1h_input_tokens = EXCLUDED.cache_creation_1h_input_tokens,
    duration_ms = EXCLUDED.duration_ms;
  RETURN NEW;
EXCEPTION WHEN OTHERS THEN
  -- Like CCH: a failed projection never fails the request's own write.
  RAISE WARNING 'usage_ledger upsert for message_request % failed: %', NEW.id, SQLERRM;
  RETURN NEW;
END
$fn$;

CREATE TRIGGER trg_upsert_usage_ledger
AFTER INSERT OR UPDATE OF
  blocked_by, status_code, error_message, provider_chain, endpoint, provider_id, user_id,
  "key", model, original_model, is_replay, cost_usd, input_tokens, output_tokens,
  cache_creation_input_tokens, cache_read_input_tokens, cache_creation_5m_input_tokens,
  cache_creation_1h_input_tokens, duration_ms, created_at
ON message_request
FOR EACH ROW EXECUTE FUNCTION fn_upsert_usage_ledger();
"#;

/// Runs [`CCH_DDL`] in the connected (empty) database.
pub async fn create_cch_schema(client: &Client) -> Result<(), tokio_postgres::Error> {
    client.batch_execute(CCH_DDL).await
}

/// CCH's `daily_reset_mode` enum: `fixed` (at `daily_reset_time` in the system zone; for 5 h
/// limits, a 5 h window from the first billed request) or `rolling` (a sliding window).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResetMode {
    Fixed,
    Rolling,
}

impl ResetMode {
    /// The enum label CCH stores.
    pub fn as_str(self) -> &'static str {
        match self {
            ResetMode::Fixed => "fixed",
            ResetMode::Rolling => "rolling",
        }
    }
}

/// The spending limits users, keys and providers share (USD; `None` = no limit), with CCH's
/// defaults: 5 h rolling, daily fixed at `00:00`.
#[derive(Clone, Debug, PartialEq)]
pub struct CchLimits {
    pub limit_5h_usd: Option<f64>,
    pub limit_5h_reset_mode: ResetMode,
    /// `users.daily_limit_usd`, `keys.limit_daily_usd`, `providers.limit_daily_usd`.
    pub daily_usd: Option<f64>,
    pub daily_reset_mode: ResetMode,
    /// `HH:mm` in the system zone (used in `fixed` mode).
    pub daily_reset_time: String,
    pub weekly_usd: Option<f64>,
    pub monthly_usd: Option<f64>,
    pub total_usd: Option<f64>,
}

impl Default for CchLimits {
    fn default() -> Self {
        CchLimits {
            limit_5h_usd: None,
            limit_5h_reset_mode: ResetMode::Rolling,
            daily_usd: None,
            daily_reset_mode: ResetMode::Fixed,
            daily_reset_time: "00:00".to_string(),
            weekly_usd: None,
            monthly_usd: None,
            total_usd: None,
        }
    }
}

/// A `users` row. Build with [`CchUser::new`] and struct update syntax.
#[derive(Clone, Debug, PartialEq)]
pub struct CchUser {
    pub name: String,
    pub is_enabled: bool,
    pub expires_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub limits: CchLimits,
    pub cost_reset_at: Option<DateTime<Utc>>,
    pub tags: Vec<String>,
}

impl CchUser {
    /// An enabled user without limits, expiry or tags.
    pub fn new(name: &str) -> CchUser {
        CchUser {
            name: name.to_string(),
            is_enabled: true,
            expires_at: None,
            deleted_at: None,
            limits: CchLimits::default(),
            cost_reset_at: None,
            tags: Vec::new(),
        }
    }
}

/// A `keys` row; `key` is the secret key string the ledger stores. Build with [`CchKey::new`].
#[derive(Clone, Debug, PartialEq)]
pub struct CchKey {
    pub user_id: i32,
    pub key: String,
    pub name: String,
    pub is_enabled: bool,
    pub expires_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub limits: CchLimits,
    pub cost_reset_at: Option<DateTime<Utc>>,
}

impl CchKey {
    /// An enabled key of `user_id` without limits or expiry.
    pub fn new(user_id: i32, key: &str, name: &str) -> CchKey {
        CchKey {
            user_id,
            key: key.to_string(),
            name: name.to_string(),
            is_enabled: true,
            expires_at: None,
            deleted_at: None,
            limits: CchLimits::default(),
            cost_reset_at: None,
        }
    }
}

/// The upstream secret every [`CchProvider::new`] gets: tests can assert it never leaks.
pub const PROVIDER_SECRET: &str = "sk-ant-api03-TESTKIT-UPSTREAM-SECRET-do-not-show";

/// A `providers` row. Build with [`CchProvider::new`].
#[derive(Clone, Debug, PartialEq)]
pub struct CchProvider {
    pub name: String,
    /// `claude`, `claude-auth`, `codex`, `gemini`, `gemini-cli`, `openai-compatible`.
    pub provider_type: String,
    pub url: String,
    pub key: String,
    pub is_enabled: bool,
    pub deleted_at: Option<DateTime<Utc>>,
    pub cost_multiplier: f64,
    pub limits: CchLimits,
    pub total_cost_reset_at: Option<DateTime<Utc>>,
    pub circuit_breaker_failure_threshold: i32,
    /// Milliseconds.
    pub circuit_breaker_open_duration: i32,
    pub circuit_breaker_half_open_success_threshold: i32,
}

impl CchProvider {
    /// An enabled provider with CCH's defaults (multiplier 1.0, breaker 5 / 1,800,000 ms / 2),
    /// url `https://upstream.example.invalid/v1` and key [`PROVIDER_SECRET`].
    pub fn new(name: &str, provider_type: &str) -> CchProvider {
        CchProvider {
            name: name.to_string(),
            provider_type: provider_type.to_string(),
            url: "https://upstream.example.invalid/v1".to_string(),
            key: PROVIDER_SECRET.to_string(),
            is_enabled: true,
            deleted_at: None,
            cost_multiplier: 1.0,
            limits: CchLimits::default(),
            total_cost_reset_at: None,
            circuit_breaker_failure_threshold: 5,
            circuit_breaker_open_duration: 1_800_000,
            circuit_breaker_half_open_success_threshold: 2,
        }
    }
}

/// A USD amount as the decimal text PostgreSQL casts to `numeric` (`None` stays NULL).
fn usd(v: Option<f64>) -> Option<String> {
    v.map(|v| v.to_string())
}

/// The limit columns' SQL placeholders from `$first`, in [`limit_params`] order.
fn limit_placeholders(first: usize) -> String {
    let casts = [
        "::text::numeric",
        "::text::daily_reset_mode",
        "::text::numeric",
        "::text::daily_reset_mode",
        "::text",
        "::text::numeric",
        "::text::numeric",
        "::text::numeric",
    ];
    casts
        .iter()
        .enumerate()
        .map(|(i, cast)| format!("${}{cast}", first + i))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The owned values behind [`limit_placeholders`].
fn limit_values(l: &CchLimits) -> [Option<String>; 8] {
    [
        usd(l.limit_5h_usd),
        Some(l.limit_5h_reset_mode.as_str().to_string()),
        usd(l.daily_usd),
        Some(l.daily_reset_mode.as_str().to_string()),
        Some(l.daily_reset_time.clone()),
        usd(l.weekly_usd),
        usd(l.monthly_usd),
        usd(l.total_usd),
    ]
}

/// Inserts `users` one row each (ids from CCH's serial) and returns their ids in order.
pub async fn insert_users(
    client: &Client,
    users: &[CchUser],
) -> Result<Vec<i32>, tokio_postgres::Error> {
    let sql = format!(
        "INSERT INTO users (name, is_enabled, expires_at, deleted_at, cost_reset_at, tags, \
         limit_5h_usd, limit_5h_reset_mode, daily_limit_usd, daily_reset_mode, daily_reset_time, \
         limit_weekly_usd, limit_monthly_usd, limit_total_usd) \
         VALUES ($1, $2, $3, $4, $5, $6::text::jsonb, {}) RETURNING id",
        limit_placeholders(7)
    );
    let statement = client.prepare(&sql).await?;
    let mut ids = Vec::with_capacity(users.len());
    for u in users {
        let tags = serde_json::to_string(&u.tags).expect("tags serialize");
        let limits = limit_values(&u.limits);
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![
            &u.name,
            &u.is_enabled,
            &u.expires_at,
            &u.deleted_at,
            &u.cost_reset_at,
            &tags,
        ];
        params.extend(limits.iter().map(|v| v as &(dyn ToSql + Sync)));
        ids.push(client.query_one(&statement, &params).await?.get(0));
    }
    Ok(ids)
}

/// Inserts `keys` one row each and returns their ids in order.
pub async fn insert_keys(
    client: &Client,
    keys: &[CchKey],
) -> Result<Vec<i32>, tokio_postgres::Error> {
    let sql = format!(
        "INSERT INTO keys (user_id, key, name, is_enabled, expires_at, deleted_at, cost_reset_at, \
         limit_5h_usd, limit_5h_reset_mode, limit_daily_usd, daily_reset_mode, daily_reset_time, \
         limit_weekly_usd, limit_monthly_usd, limit_total_usd) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, {}) RETURNING id",
        limit_placeholders(8)
    );
    let statement = client.prepare(&sql).await?;
    let mut ids = Vec::with_capacity(keys.len());
    for k in keys {
        let limits = limit_values(&k.limits);
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![
            &k.user_id,
            &k.key,
            &k.name,
            &k.is_enabled,
            &k.expires_at,
            &k.deleted_at,
            &k.cost_reset_at,
        ];
        params.extend(limits.iter().map(|v| v as &(dyn ToSql + Sync)));
        ids.push(client.query_one(&statement, &params).await?.get(0));
    }
    Ok(ids)
}

/// Inserts `providers` one row each and returns their ids in order.
pub async fn insert_providers(
    client: &Client,
    providers: &[CchProvider],
) -> Result<Vec<i32>, tokio_postgres::Error> {
    let sql = format!(
        "INSERT INTO providers (name, provider_type, url, key, is_enabled, deleted_at, \
         cost_multiplier, total_cost_reset_at, circuit_breaker_failure_threshold, \
         circuit_breaker_open_duration, circuit_breaker_half_open_success_threshold, \
         limit_5h_usd, limit_5h_reset_mode, limit_daily_usd, daily_reset_mode, daily_reset_time, \
         limit_weekly_usd, limit_monthly_usd, limit_total_usd) \
         VALUES ($1, $2, $3, $4, $5, $6, $7::text::numeric, $8, $9, $10, $11, {}) RETURNING id",
        limit_placeholders(12)
    );
    let statement = client.prepare(&sql).await?;
    let mut ids = Vec::with_capacity(providers.len());
    for p in providers {
        let limits = limit_values(&p.limits);
        let multiplier = p.cost_multiplier.to_string();
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![
            &p.name,
            &p.provider_type,
            &p.url,
            &p.key,
            &p.is_enabled,
            &p.deleted_at,
            &multiplier,
            &p.total_cost_reset_at,
            &p.circuit_breaker_failure_threshold,
            &p.circuit_breaker_open_duration,
            &p.circuit_breaker_half_open_success_threshold,
        ];
        params.extend(limits.iter().map(|v| v as &(dyn ToSql + Sync)));
        ids.push(client.query_one(&statement, &params).await?.get(0));
    }
    Ok(ids)
}

/// CCH's single `system_settings` row (relaywatch's columns).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CchSettings {
    /// IANA zone; `None` = CCH falls back to its `TZ` (default `Asia/Shanghai`), else UTC.
    pub timezone: Option<String>,
    /// `original` (CCH's default: models grouped by `original_model`) or `redirected`.
    pub billing_model_source: String,
    pub currency_display: String,
}

impl Default for CchSettings {
    /// CCH's column defaults: no zone, `original`, `USD`.
    fn default() -> Self {
        CchSettings {
            timezone: None,
            billing_model_source: "original".to_string(),
            currency_display: "USD".to_string(),
        }
    }
}

/// Writes `settings` into the one `system_settings` row (made when missing, as CCH does on
/// first read).
pub async fn set_settings(
    client: &Client,
    settings: &CchSettings,
) -> Result<(), tokio_postgres::Error> {
    client
        .execute(
            "WITH updated AS (UPDATE system_settings SET timezone = $1, \
             billing_model_source = $2, currency_display = $3 RETURNING id) \
             INSERT INTO system_settings (timezone, billing_model_source, currency_display) \
             SELECT $1, $2, $3 WHERE NOT EXISTS (SELECT 1 FROM updated)",
            &[
                &settings.timezone,
                &settings.billing_model_source,
                &settings.currency_display,
            ],
        )
        .await?;
    Ok(())
}

/// Sets `system_settings.timezone` (`None` = NULL), keeping the row's other columns (or CCH's
/// defaults when there is no row yet).
pub async fn set_timezone(
    client: &Client,
    timezone: Option<&str>,
) -> Result<(), tokio_postgres::Error> {
    client
        .execute(
            "WITH updated AS (UPDATE system_settings SET timezone = $1 RETURNING id) \
             INSERT INTO system_settings (timezone) \
             SELECT $1 WHERE NOT EXISTS (SELECT 1 FROM updated)",
            &[&timezone],
        )
        .await?;
    Ok(())
}
