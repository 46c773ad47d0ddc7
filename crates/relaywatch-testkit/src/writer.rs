//! `CrsWriter` and its specs, which write Redis data as Claude Relay Service writes it; rule: key names, field names, string encodings, commands (HINCRBY / INCRBYFLOAT / SADD …), TTLs and index sets are CRS's own (upstream `src/models/redis.js`, `apiKeyService.js`, `apiKeyIndexService.js`, the account services), and every deliberate simplification is written down next to the code.
//!
//! Simplifications, all deliberate:
//! * `usage()` does not write `usage:records:{id}`, does not touch
//!   `apikey:{id}.lastUsedAt` (use [`CrsWriter::touch_last_used`]) and writes
//!   `account_usage:*` whenever the event names an account (CRS also checks
//!   that the API key exists).
//! * `api_key()` does not write `cost_rank:*` and stores a fake `apiKey` hash
//!   (CRS stores sha256(secret + ENCRYPTION_KEY), which no reader can check).
//! * TTLs are set relative to the real clock at write time, as CRS does, even
//!   when the event's `at` lies in the past.
//! * `account()` writes the status-relevant fields plus a few common ones
//!   (`id`, `name`, `priority`, `accountType`, `createdAt`, …), never secrets;
//!   anything else goes in [`AccountSpec::extra`].

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Duration, TimeZone, Utc};
use redis::{Connection, Pipeline};
use serde_json::{json, Value};

use crate::crs_time::{
    date_string, effective_tz_offset, epoch_minute, hour_string, iso, month_string, period_string,
    shifted, DEFAULT_TZ_OFFSET_HOURS,
};
use crate::model::{is_claude_family_model, js_number_string, normalize_model_name};

/// One day in seconds.
pub const DAY: i64 = 86_400;
/// TTL of `apikey:{id}` (refreshed on every `setApiKey`).
pub const TTL_API_KEY: i64 = 365 * DAY;
/// TTL of daily usage hashes and daily index sets.
pub const TTL_USAGE_DAILY: i64 = 32 * DAY;
/// TTL of monthly usage hashes and the monthly model index.
pub const TTL_USAGE_MONTHLY: i64 = 365 * DAY;
/// TTL of hourly usage hashes and hourly index sets.
pub const TTL_USAGE_HOURLY: i64 = 7 * DAY;
/// TTL of `usage:cost:daily:*` and `usage:cost:real:daily:*`.
pub const TTL_COST_DAILY: i64 = 30 * DAY;
/// TTL of `usage:cost:monthly:*`.
pub const TTL_COST_MONTHLY: i64 = 90 * DAY;
/// TTL of `usage:cost:hourly:*`.
pub const TTL_COST_HOURLY: i64 = 7 * DAY;
/// TTL of `usage:opus:weekly:*` and `usage:opus:real:weekly:*`.
pub const TTL_OPUS_WEEKLY: i64 = 14 * DAY;
/// CRS's default `METRICS_WINDOW` in minutes; minute keys live twice as long.
pub const DEFAULT_METRICS_WINDOW_MINUTES: u32 = 5;

/// Account types whose Claude-family cost also goes to the weekly Opus keys
/// (`apiKeyService.recordOpusCost`).
pub const OPUS_ACCOUNT_TYPES: [&str; 3] = ["claude-official", "claude-console", "ccr"];

/// How the weekly Opus key names its week.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpusWeek {
    /// `YYYY-MM-DDThh`, the start of the key's reset period (`getPeriodString`,
    /// CRS ≥ v1.1.281).
    ResetPeriod,
    /// `YYYY-Wxx` (`getWeekStringInTimezone`, older CRS; still what
    /// `batchGetApiKeyStats` reads).
    IsoWeek,
}

/// What the writer writes besides the always-present data keys.
#[derive(Clone, Debug)]
pub struct WriterOptions {
    /// Index sets (`usage:*:index:*`, `apikey:idx:*`, `<account prefix>index`…), CRS ≥ v1.1.263.
    pub indexes: bool,
    /// `usage:global:total|daily|monthly`, added 2026-01-19.
    pub global_aggregates: bool,
    /// `realCostMicro` / `ratedCostMicro` on per-key-per-model hashes, added 2026-01-22.
    pub cost_micros: bool,
    /// `usage:{id}:model:alltime:{model}`, added 2026-01-19.
    pub alltime_model_stats: bool,
    /// Configured `TIMEZONE_OFFSET` in hours (0 is turned into 8, as CRS does).
    pub tz_offset_hours: i32,
    /// `METRICS_WINDOW` in minutes; `system:metrics:minute:*` TTL is twice that.
    pub metrics_window_minutes: u32,
    /// Value written to `apikey:index:version` when indexes are on.
    pub index_version: String,
    /// Naming of `usage:opus:weekly:{id}:{week}`.
    pub opus_week: OpusWeek,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            indexes: true,
            global_aggregates: true,
            cost_micros: true,
            alltime_model_stats: true,
            tz_offset_hours: DEFAULT_TZ_OFFSET_HOURS,
            metrics_window_minutes: DEFAULT_METRICS_WINDOW_MINUTES,
            // CRS's redis.js treats a version >= 2 as "index ready"; the newest
            // apiKeyIndexService writes 4. Both readers accept 2 or more.
            index_version: "2".to_string(),
            opus_week: OpusWeek::ResetPeriod,
        }
    }
}

impl WriterOptions {
    /// The effective offset (CRS turns 0 into 8).
    pub fn offset(&self) -> i32 {
        effective_tz_offset(self.tz_offset_hours)
    }
}

/// An API key as `apiKeyService.generateApiKey` stores it.
#[derive(Clone, Debug)]
pub struct ApiKeySpec {
    /// The key id (a UUID v4 in CRS).
    pub id: String,
    pub name: String,
    pub description: String,
    /// The `apiKey` field (a hash of the secret). `None`: a fake 64-hex value derived from the id.
    pub hashed_key: Option<String>,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub token_limit: u64,
    pub concurrency_limit: u64,
    pub rate_limit_window: u64,
    pub rate_limit_requests: u64,
    pub rate_limit_cost: f64,
    pub daily_cost_limit: f64,
    pub total_cost_limit: f64,
    pub weekly_opus_cost_limit: f64,
    pub tags: Vec<String>,
    /// Empty means "all services", stored as `[]`.
    pub permissions: Vec<String>,
    /// Stored as compact JSON; `{}` by default.
    pub service_rates: Value,
    /// 1 (Monday) ..= 7 (Sunday).
    pub weekly_reset_day: u8,
    pub weekly_reset_hour: u8,
    /// Account bindings by CRS field name (`claudeAccountId`, `geminiAccountId`, …).
    pub account_bindings: Vec<(String, String)>,
    pub created_by: String,
    pub user_id: String,
    pub user_username: String,
    /// Soft delete: sets `isDeleted`, `deletedAt`, `deletedBy`, `deletedByType`, `isActive=false`
    /// and leaves the key out of `apikey:hash_map`.
    pub deleted_at: Option<DateTime<Utc>>,
    pub deleted_by: String,
    pub deleted_by_type: String,
    /// Written last, so they can override anything above.
    pub extra_fields: Vec<(String, String)>,
}

impl ApiKeySpec {
    /// An active key with CRS's defaults.
    pub fn new(id: impl Into<String>, name: impl Into<String>, created_at: DateTime<Utc>) -> Self {
        ApiKeySpec {
            id: id.into(),
            name: name.into(),
            description: String::new(),
            hashed_key: None,
            is_active: true,
            created_at,
            last_used_at: None,
            expires_at: None,
            token_limit: 0,
            concurrency_limit: 0,
            rate_limit_window: 0,
            rate_limit_requests: 0,
            rate_limit_cost: 0.0,
            daily_cost_limit: 0.0,
            total_cost_limit: 0.0,
            weekly_opus_cost_limit: 0.0,
            tags: Vec::new(),
            permissions: Vec::new(),
            service_rates: json!({}),
            weekly_reset_day: 1,
            weekly_reset_hour: 0,
            account_bindings: Vec::new(),
            created_by: "admin".to_string(),
            user_id: String::new(),
            user_username: String::new(),
            deleted_at: None,
            deleted_by: "admin".to_string(),
            deleted_by_type: "admin".to_string(),
            extra_fields: Vec::new(),
        }
    }

    pub fn active(mut self, is_active: bool) -> Self {
        self.is_active = is_active;
        self
    }

    pub fn tags<S: AsRef<str>>(mut self, tags: &[S]) -> Self {
        self.tags = tags.iter().map(|t| t.as_ref().to_string()).collect();
        self
    }

    pub fn daily_cost_limit(mut self, usd: f64) -> Self {
        self.daily_cost_limit = usd;
        self
    }

    pub fn total_cost_limit(mut self, usd: f64) -> Self {
        self.total_cost_limit = usd;
        self
    }

    pub fn weekly_opus_cost_limit(mut self, usd: f64) -> Self {
        self.weekly_opus_cost_limit = usd;
        self
    }

    pub fn service_rates(mut self, rates: Value) -> Self {
        self.service_rates = rates;
        self
    }

    pub fn weekly_reset(mut self, day: u8, hour: u8) -> Self {
        self.weekly_reset_day = day;
        self.weekly_reset_hour = hour;
        self
    }

    pub fn last_used_at(mut self, at: DateTime<Utc>) -> Self {
        self.last_used_at = Some(at);
        self
    }

    pub fn expires_at(mut self, at: DateTime<Utc>) -> Self {
        self.expires_at = Some(at);
        self
    }

    pub fn deleted_at(mut self, at: DateTime<Utc>) -> Self {
        self.deleted_at = Some(at);
        self
    }

    pub fn bind_account(mut self, field: impl Into<String>, account_id: impl Into<String>) -> Self {
        self.account_bindings
            .push((field.into(), account_id.into()));
        self
    }

    pub fn field(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.extra_fields.push((name.into(), value.into()));
        self
    }

    /// True when soft-deleted.
    pub fn is_deleted(&self) -> bool {
        self.deleted_at.is_some()
    }

    /// The `apiKey` field value.
    pub fn hashed_key_value(&self) -> String {
        self.hashed_key
            .clone()
            .unwrap_or_else(|| fake_sha256_hex(&self.id))
    }

    /// The hash fields in CRS's order (`generateApiKey`, then the soft-delete fields).
    pub fn fields(&self) -> Vec<(String, String)> {
        let deleted = self.is_deleted();
        let created = iso(self.created_at);
        let mut f: Vec<(String, String)> = Vec::with_capacity(56);
        let mut put = |k: &str, v: String| f.push((k.to_string(), v));
        put("id", self.id.clone());
        put("name", self.name.clone());
        put("description", self.description.clone());
        put("apiKey", self.hashed_key_value());
        put("tokenLimit", self.token_limit.to_string());
        put("concurrencyLimit", self.concurrency_limit.to_string());
        put("rateLimitWindow", self.rate_limit_window.to_string());
        put("rateLimitRequests", self.rate_limit_requests.to_string());
        put("rateLimitCost", js_number_string(self.rate_limit_cost));
        put("isActive", (self.is_active && !deleted).to_string());
        for binding in [
            "claudeAccountId",
            "claudeConsoleAccountId",
            "geminiAccountId",
            "openaiAccountId",
            "azureOpenaiAccountId",
            "bedrockAccountId",
            "vertexAccountId",
            "droidAccountId",
        ] {
            let value = self
                .account_bindings
                .iter()
                .rev()
                .find(|(k, _)| k == binding)
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            put(binding, value);
        }
        put("permissions", json_string(&self.permissions));
        put("enableModelRestriction", "false".to_string());
        put("restrictedModels", "[]".to_string());
        put("enableClientRestriction", "false".to_string());
        put("allowedClients", "[]".to_string());
        put("dailyCostLimit", js_number_string(self.daily_cost_limit));
        put("totalCostLimit", js_number_string(self.total_cost_limit));
        put(
            "weeklyOpusCostLimit",
            js_number_string(self.weekly_opus_cost_limit),
        );
        put("tags", json_string(&self.tags));
        put("activationDays", "0".to_string());
        put("activationUnit", "days".to_string());
        put("expirationMode", "fixed".to_string());
        put("isActivated", "true".to_string());
        put("activatedAt", created.clone());
        put("createdAt", created);
        put("lastUsedAt", self.last_used_at.map(iso).unwrap_or_default());
        put("expiresAt", self.expires_at.map(iso).unwrap_or_default());
        put("createdBy", self.created_by.clone());
        put("userId", self.user_id.clone());
        put("userUsername", self.user_username.clone());
        put("icon", String::new());
        put(
            "serviceRates",
            serde_json::to_string(&self.service_rates).unwrap_or_else(|_| "{}".to_string()),
        );
        put("weeklyResetDay", self.weekly_reset_day.max(1).to_string());
        put("weeklyResetHour", self.weekly_reset_hour.to_string());
        put("enableOpenAIResponsesCodexAdaptation", "true".to_string());
        put("enableOpenAIResponsesPayloadRules", "false".to_string());
        put("openaiResponsesPayloadRules", "[]".to_string());
        if let Some(at) = self.deleted_at {
            put("isDeleted", "true".to_string());
            put("deletedAt", iso(at));
            put("deletedBy", self.deleted_by.clone());
            put("deletedByType", self.deleted_by_type.clone());
        }
        for (k, v) in &self.extra_fields {
            put(k, v.clone());
        }
        f
    }
}

/// One request as `apiKeyService.recordUsageWithDetails` records it.
#[derive(Clone, Debug, Default)]
pub struct UsageEvent {
    pub key_id: String,
    /// The model as sent; the writer normalises it as CRS does.
    pub model: String,
    /// When the request was recorded (CRS uses `new Date()` at that moment).
    pub at: DateTime<Utc>,
    pub input: u64,
    pub output: u64,
    pub cache_create: u64,
    pub cache_read: u64,
    pub ephemeral_5m: u64,
    pub ephemeral_1h: u64,
    /// Official-price cost in USD (`realCost`). Cost keys are written only when > 0.
    pub real_cost_usd: f64,
    /// Cost after `serviceRates` (`ratedCost`).
    pub rated_cost_usd: f64,
    /// The account that served the request; `account_usage:*` is written when set.
    pub account_id: Option<String>,
    /// `claude-official`, `claude-console`, `ccr`, `openai`, … (decides the Opus keys).
    pub account_type: Option<String>,
    /// A 1M-context request (`[1m]` model with more than 200k input tokens).
    pub is_long_context: bool,
}

impl UsageEvent {
    pub fn new(key_id: impl Into<String>, model: impl Into<String>, at: DateTime<Utc>) -> Self {
        UsageEvent {
            key_id: key_id.into(),
            model: model.into(),
            at,
            ..Default::default()
        }
    }

    /// Sets input, output, cache-create and cache-read tokens.
    pub fn tokens(mut self, input: u64, output: u64, cache_create: u64, cache_read: u64) -> Self {
        self.input = input;
        self.output = output;
        self.cache_create = cache_create;
        self.cache_read = cache_read;
        self
    }

    pub fn ephemeral(mut self, five_minutes: u64, one_hour: u64) -> Self {
        self.ephemeral_5m = five_minutes;
        self.ephemeral_1h = one_hour;
        self
    }

    /// Sets real and rated cost in USD.
    pub fn cost(mut self, real_usd: f64, rated_usd: f64) -> Self {
        self.real_cost_usd = real_usd;
        self.rated_cost_usd = rated_usd;
        self
    }

    pub fn account(mut self, id: impl Into<String>, account_type: impl Into<String>) -> Self {
        self.account_id = Some(id.into());
        self.account_type = Some(account_type.into());
        self
    }

    pub fn long_context(mut self, yes: bool) -> Self {
        self.is_long_context = yes;
        self
    }

    /// The counters CRS derives in `incrementTokenUsage`.
    pub fn crs_counts(&self) -> UsageCounts {
        let total_passed = self.input + self.output + self.cache_create + self.cache_read;
        // `outputTokens || (inputTokens > 0 ? 0 : tokens)`: with no input and
        // no output, CRS books the whole total as output (cache tokens are
        // then counted twice in allTokens). Reproduced on purpose.
        let output = if self.output != 0 {
            self.output
        } else if self.input > 0 {
            0
        } else {
            total_passed
        };
        let all = self.input + output + self.cache_create + self.cache_read;
        UsageCounts {
            input: self.input as i64,
            output: output as i64,
            cache_create: self.cache_create as i64,
            cache_read: self.cache_read as i64,
            core: (self.input + output) as i64,
            all: all as i64,
            ephemeral_5m: self.ephemeral_5m as i64,
            ephemeral_1h: self.ephemeral_1h as i64,
        }
    }
}

/// Token counters as CRS books them for one event.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UsageCounts {
    pub input: i64,
    pub output: i64,
    pub cache_create: i64,
    pub cache_read: i64,
    /// input + output (`tokens`, `totalTokens` on `usage:{id}`).
    pub core: i64,
    /// all four kinds (`allTokens`).
    pub all: i64,
    pub ephemeral_5m: i64,
    pub ephemeral_1h: i64,
}

/// The account platforms CRS stores, with their key prefixes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Platform {
    Claude,
    ClaudeConsole,
    Gemini,
    GeminiApi,
    OpenAi,
    OpenAiResponses,
    AzureOpenAi,
    Bedrock,
    Ccr,
    Droid,
}

impl Platform {
    pub const ALL: [Platform; 10] = [
        Platform::Claude,
        Platform::ClaudeConsole,
        Platform::Gemini,
        Platform::GeminiApi,
        Platform::OpenAi,
        Platform::OpenAiResponses,
        Platform::AzureOpenAi,
        Platform::Bedrock,
        Platform::Ccr,
        Platform::Droid,
    ];

    /// The dashboard's platform name.
    pub fn name(self) -> &'static str {
        match self {
            Platform::Claude => "claude",
            Platform::ClaudeConsole => "claude-console",
            Platform::Gemini => "gemini",
            Platform::GeminiApi => "gemini-api",
            Platform::OpenAi => "openai",
            Platform::OpenAiResponses => "openai-responses",
            Platform::AzureOpenAi => "azure-openai",
            Platform::Bedrock => "bedrock",
            Platform::Ccr => "ccr",
            Platform::Droid => "droid",
        }
    }

    /// Key prefix; the record is `{prefix}{id}`.
    pub fn key_prefix(self) -> &'static str {
        match self {
            Platform::Claude => "claude:account:",
            Platform::ClaudeConsole => "claude_console_account:",
            Platform::Gemini => "gemini_account:",
            Platform::GeminiApi => "gemini_api_account:",
            Platform::OpenAi => "openai:account:",
            Platform::OpenAiResponses => "openai_responses_account:",
            Platform::AzureOpenAi => "azure_openai:account:",
            Platform::Bedrock => "bedrock_account:",
            Platform::Ccr => "ccr_account:",
            Platform::Droid => "droid:account:",
        }
    }

    /// `{prefix}{id}`.
    pub fn account_key(self, id: &str) -> String {
        format!("{}{id}", self.key_prefix())
    }

    /// The index set, `{prefix}index`.
    pub fn index_key(self) -> String {
        format!("{}index", self.key_prefix())
    }

    /// Bedrock is a STRING of JSON; every other platform is a hash.
    pub fn is_json_string(self) -> bool {
        self == Platform::Bedrock
    }
}

/// The status-relevant part of an account record.
#[derive(Clone, Debug)]
pub struct AccountSpec {
    pub name: String,
    pub is_active: bool,
    /// `active`, `created`, `error`, `blocked`, `unauthorized`, `temp_error`, …
    pub status: String,
    pub schedulable: bool,
    /// Written only when set (`limited`, `''`, `normal`, …).
    pub rate_limit_status: Option<String>,
    pub rate_limited_at: Option<DateTime<Utc>>,
    /// `rateLimitEndAt` (Bedrock: `rateLimitUntil`).
    pub rate_limit_end_at: Option<DateTime<Utc>>,
    /// `None`: the real clock at write time.
    pub created_at: Option<DateTime<Utc>>,
    /// Extra fields. In hashes a JSON string is stored as-is and any other
    /// value as its JSON text (`true`, `5`); in Bedrock's JSON they are values.
    pub extra: Vec<(String, Value)>,
}

impl Default for AccountSpec {
    fn default() -> Self {
        AccountSpec {
            name: "test account".to_string(),
            is_active: true,
            status: "active".to_string(),
            schedulable: true,
            rate_limit_status: None,
            rate_limited_at: None,
            rate_limit_end_at: None,
            created_at: None,
            extra: Vec::new(),
        }
    }
}

impl AccountSpec {
    pub fn new(name: impl Into<String>) -> Self {
        AccountSpec {
            name: name.into(),
            ..Default::default()
        }
    }

    pub fn active(mut self, is_active: bool) -> Self {
        self.is_active = is_active;
        self
    }

    pub fn status(mut self, status: impl Into<String>) -> Self {
        self.status = status.into();
        self
    }

    pub fn schedulable(mut self, schedulable: bool) -> Self {
        self.schedulable = schedulable;
        self
    }

    /// `rateLimitStatus='limited'` with `rateLimitedAt` and optional `rateLimitEndAt`.
    pub fn rate_limited(mut self, at: DateTime<Utc>, end_at: Option<DateTime<Utc>>) -> Self {
        self.rate_limit_status = Some("limited".to_string());
        self.rate_limited_at = Some(at);
        self.rate_limit_end_at = end_at;
        self
    }

    pub fn created_at(mut self, at: DateTime<Utc>) -> Self {
        self.created_at = Some(at);
        self
    }

    pub fn extra(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.extra.push((name.into(), value.into()));
        self
    }

    /// Hash fields for a non-Bedrock platform.
    pub fn hash_fields(
        &self,
        platform: Platform,
        id: &str,
        now: DateTime<Utc>,
    ) -> Vec<(String, String)> {
        let created = iso(self.created_at.unwrap_or(now));
        let mut f: Vec<(String, String)> = Vec::with_capacity(24);
        let mut put = |k: &str, v: String| f.push((k.to_string(), v));
        put("id", id.to_string());
        put("name", self.name.clone());
        put("description", String::new());
        put("isActive", self.is_active.to_string());
        put("accountType", "shared".to_string());
        put("priority", "50".to_string());
        put("createdAt", created);
        put("lastUsedAt", String::new());
        put("status", self.status.clone());
        put("errorMessage", String::new());
        put("schedulable", self.schedulable.to_string());
        match platform {
            Platform::Claude => put("platform", "claude".to_string()),
            Platform::ClaudeConsole => {
                put("platform", "claude-console".to_string());
                put("rateLimitDuration", "60".to_string());
                put("dailyQuota", "0".to_string());
                put("dailyUsage", "0".to_string());
                put("lastResetDate", String::new());
                put("quotaStoppedAt", String::new());
                put("maxConcurrentTasks", "0".to_string());
            }
            Platform::OpenAiResponses => {
                put("dailyQuota", "0".to_string());
                put("dailyUsage", "0".to_string());
                put("quotaStoppedAt", String::new());
            }
            _ => {}
        }
        if let Some(s) = &self.rate_limit_status {
            put("rateLimitStatus", s.clone());
        }
        if let Some(at) = self.rate_limited_at {
            put("rateLimitedAt", iso(at));
        }
        if let Some(at) = self.rate_limit_end_at {
            put("rateLimitEndAt", iso(at));
        }
        for (k, v) in &self.extra {
            let text = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            put(k, text);
        }
        f
    }

    /// Bedrock's JSON document (`bedrockAccountService.createAccount`), with
    /// real booleans and numbers. `status` is included only when it is not
    /// `active` (current CRS has no status in new Bedrock records).
    pub fn bedrock_json(&self, id: &str, now: DateTime<Utc>) -> Value {
        let created = iso(self.created_at.unwrap_or(now));
        let mut doc = json!({
            "id": id,
            "name": self.name,
            "description": "",
            "region": "us-east-1",
            "defaultModel": "us.anthropic.claude-sonnet-4-20250514-v1:0",
            "isActive": self.is_active,
            "accountType": "shared",
            "priority": 50,
            "schedulable": self.schedulable,
            "credentialType": "access_key",
            "subscriptionExpiresAt": null,
            "createdAt": created,
            "updatedAt": created,
            "type": "bedrock",
            "disableAutoProtection": false,
        });
        let obj = doc.as_object_mut().expect("bedrock doc is an object");
        if self.status != "active" {
            obj.insert("status".into(), Value::String(self.status.clone()));
        }
        if let Some(s) = &self.rate_limit_status {
            obj.insert("rateLimitStatus".into(), Value::String(s.clone()));
        }
        if let Some(at) = self.rate_limited_at {
            obj.insert("rateLimitedAt".into(), Value::String(iso(at)));
        }
        if let Some(at) = self.rate_limit_end_at {
            obj.insert("rateLimitUntil".into(), Value::String(iso(at)));
        }
        for (k, v) in &self.extra {
            obj.insert(k.clone(), v.clone());
        }
        doc
    }
}

/// A pipeline plus a command count.
pub(crate) struct Batch {
    pub(crate) pipe: Pipeline,
    pub(crate) count: usize,
}

impl Batch {
    pub(crate) fn new() -> Self {
        Batch {
            pipe: redis::pipe(),
            count: 0,
        }
    }

    pub(crate) fn cmd(&mut self, name: &str) -> &mut Pipeline {
        self.count += 1;
        self.pipe.cmd(name)
    }

    pub(crate) fn hincrby(&mut self, key: &str, field: &str, by: i64) {
        self.cmd("HINCRBY").arg(key).arg(field).arg(by).ignore();
    }

    pub(crate) fn incrbyfloat(&mut self, key: &str, by: f64) {
        self.cmd("INCRBYFLOAT").arg(key).arg(by).ignore();
    }

    pub(crate) fn expire(&mut self, key: &str, secs: i64) {
        self.cmd("EXPIRE").arg(key).arg(secs).ignore();
    }

    pub(crate) fn sadd(&mut self, key: &str, member: &str) {
        self.cmd("SADD").arg(key).arg(member).ignore();
    }

    pub(crate) fn del(&mut self, key: &str) {
        self.cmd("DEL").arg(key).ignore();
    }

    pub(crate) fn hset_all(&mut self, key: &str, fields: &[(String, String)]) {
        let c = self.cmd("HSET").arg(key);
        for (k, v) in fields {
            c.arg(k).arg(v);
        }
        c.ignore();
    }
}

/// Writes CRS-shaped data into one Redis database over a sync connection.
///
/// By default every writer call runs at once (one round trip). With
/// [`CrsWriter::buffered`] calls are queued and sent in big pipelines; call
/// [`CrsWriter::flush`] (or drop the writer) to send the rest.
pub struct CrsWriter {
    con: Connection,
    url: String,
    opts: WriterOptions,
    batch: Batch,
    buffered: bool,
    flush_every: usize,
    weekly_reset: HashMap<String, (i64, i64)>,
}

impl CrsWriter {
    /// Connects to `url` (e.g. from [`crate::fresh_db`]). Panics when it cannot.
    pub fn connect(url: &str) -> CrsWriter {
        let client = redis::Client::open(url)
            .unwrap_or_else(|e| panic!("CrsWriter: bad redis url {url}: {e}"));
        let con = client
            .get_connection()
            .unwrap_or_else(|e| panic!("CrsWriter: cannot connect to {url}: {e}"));
        CrsWriter {
            con,
            url: url.to_string(),
            opts: WriterOptions::default(),
            batch: Batch::new(),
            buffered: false,
            flush_every: 20_000,
            weekly_reset: HashMap::new(),
        }
    }

    /// The URL this writer writes to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The options in force.
    pub fn options(&self) -> &WriterOptions {
        &self.opts
    }

    /// Replaces all options at once.
    pub fn with_options(mut self, opts: WriterOptions) -> Self {
        self.opts = opts;
        self
    }

    /// Index sets on or off (default on).
    pub fn with_indexes(mut self, on: bool) -> Self {
        self.opts.indexes = on;
        self
    }

    /// `usage:global:*` on or off (default on; older deployments lack them).
    pub fn with_global_aggregates(mut self, on: bool) -> Self {
        self.opts.global_aggregates = on;
        self
    }

    /// `realCostMicro` / `ratedCostMicro` on or off (default on).
    pub fn with_cost_micros(mut self, on: bool) -> Self {
        self.opts.cost_micros = on;
        self
    }

    /// `usage:{id}:model:alltime:{model}` on or off (default on).
    pub fn with_alltime_model_stats(mut self, on: bool) -> Self {
        self.opts.alltime_model_stats = on;
        self
    }

    /// Configured `TIMEZONE_OFFSET` in hours (default 8; 0 behaves as 8, like CRS).
    pub fn tz_offset_hours(mut self, hours: i32) -> Self {
        self.opts.tz_offset_hours = hours;
        self
    }

    /// `METRICS_WINDOW` in minutes (default 5).
    pub fn metrics_window_minutes(mut self, minutes: u32) -> Self {
        self.opts.metrics_window_minutes = minutes;
        self
    }

    /// Value of `apikey:index:version` (default "2").
    pub fn index_version(mut self, version: impl Into<String>) -> Self {
        self.opts.index_version = version.into();
        self
    }

    /// Naming of the weekly Opus keys (default [`OpusWeek::ResetPeriod`]).
    pub fn opus_week(mut self, style: OpusWeek) -> Self {
        self.opts.opus_week = style;
        self
    }

    /// What a v1.1.128-era deployment wrote: no index sets, no global
    /// aggregates, no cost micros, no all-time model stats, ISO-week Opus keys.
    pub fn legacy(self) -> Self {
        self.with_indexes(false)
            .with_global_aggregates(false)
            .with_cost_micros(false)
            .with_alltime_model_stats(false)
            .opus_week(OpusWeek::IsoWeek)
    }

    /// Queue writes and send them in pipelines of about `flush_every` commands.
    pub fn buffered(mut self, on: bool) -> Self {
        self.buffered = on;
        self
    }

    /// Commands per pipeline in buffered mode (default 20 000).
    pub fn flush_every(mut self, commands: usize) -> Self {
        self.flush_every = commands.max(1);
        self
    }

    /// Sends every queued command. Panics on a Redis error.
    pub fn flush(&mut self) {
        if self.batch.count == 0 {
            return;
        }
        let batch = std::mem::replace(&mut self.batch, Batch::new());
        batch.pipe.exec(&mut self.con).unwrap_or_else(|e| {
            panic!(
                "CrsWriter: pipeline of {} commands to {} failed: {e}",
                batch.count, self.url
            )
        });
    }

    fn done(&mut self) {
        if !self.buffered || self.batch.count >= self.flush_every {
            self.flush();
        }
    }

    /// The raw connection (queued commands are flushed first).
    pub fn connection(&mut self) -> &mut Connection {
        self.flush();
        &mut self.con
    }

    /// `apiKeyService.generateApiKey` (and `deleteApiKey` for soft-deleted
    /// specs): HSET `apikey:{id}` + EXPIRE 365 d, HSET `apikey:hash_map`
    /// (not for deleted keys), and with indexes the `apikey:idx:*`,
    /// `apikey:set:*`, `apikey:tag:*`, `apikey:tags:all` and
    /// `apikey:index:version` structures.
    pub fn api_key(&mut self, spec: &ApiKeySpec) -> &mut Self {
        let key = format!("apikey:{}", spec.id);
        let fields = spec.fields();
        self.weekly_reset.insert(
            spec.id.clone(),
            (
                i64::from(spec.weekly_reset_day.max(1)),
                i64::from(spec.weekly_reset_hour),
            ),
        );
        let deleted = spec.is_deleted();
        let b = &mut self.batch;
        if !deleted {
            b.cmd("HSET")
                .arg("apikey:hash_map")
                .arg(spec.hashed_key_value())
                .arg(&spec.id)
                .ignore();
        }
        b.hset_all(&key, &fields);
        b.expire(&key, TTL_API_KEY);
        if self.opts.indexes {
            let id = spec.id.as_str();
            let created_ms = spec.created_at.timestamp_millis();
            let last_used_ms = spec.last_used_at.map(|t| t.timestamp_millis()).unwrap_or(0);
            b.cmd("ZADD")
                .arg("apikey:idx:createdAt")
                .arg(created_ms)
                .arg(id)
                .ignore();
            b.cmd("ZADD")
                .arg("apikey:idx:lastUsedAt")
                .arg(last_used_ms)
                .arg(id)
                .ignore();
            b.cmd("ZADD")
                .arg("apikey:idx:name")
                .arg(0)
                .arg(format!("{}\u{0}{id}", spec.name.to_lowercase()))
                .ignore();
            b.sadd("apikey:idx:all", id);
            if let Some(at) = spec.deleted_at {
                b.sadd("apikey:set:deleted", id);
                b.cmd("SREM").arg("apikey:set:active").arg(id).ignore();
                // Newest CRS also keeps a recycle-bin zset scored by deletion time.
                b.cmd("ZADD")
                    .arg("apikey:idx:deletedAt")
                    .arg(at.timestamp_millis())
                    .arg(id)
                    .ignore();
            } else if spec.is_active {
                b.sadd("apikey:set:active", id);
                b.cmd("SREM").arg("apikey:set:deleted").arg(id).ignore();
            } else {
                b.cmd("SREM").arg("apikey:set:active").arg(id).ignore();
                b.cmd("SREM").arg("apikey:set:deleted").arg(id).ignore();
            }
            // Tag sets hold only keys that are not deleted (rebuildIndexes rule).
            if !deleted {
                for tag in spec.tags.iter().filter(|t| !t.is_empty()) {
                    b.sadd(&format!("apikey:tag:{tag}"), id);
                    b.sadd("apikey:tags:all", tag);
                }
            }
            b.cmd("SET")
                .arg("apikey:index:version")
                .arg(&self.opts.index_version)
                .ignore();
        }
        self.done();
        self
    }

    /// `recordUsage`'s `lastUsedAt` update: HSET `apikey:{id}.lastUsedAt`,
    /// EXPIRE 365 d and, with indexes, ZADD `apikey:idx:lastUsedAt`.
    /// (Unlike CRS it does not check that the key exists.)
    pub fn touch_last_used(&mut self, key_id: &str, at: DateTime<Utc>) -> &mut Self {
        let key = format!("apikey:{key_id}");
        let b = &mut self.batch;
        b.cmd("HSET")
            .arg(&key)
            .arg("lastUsedAt")
            .arg(iso(at))
            .ignore();
        b.expire(&key, TTL_API_KEY);
        if self.opts.indexes {
            b.cmd("ZADD")
                .arg("apikey:idx:lastUsedAt")
                .arg(at.timestamp_millis())
                .arg(key_id)
                .ignore();
        }
        self.done();
        self
    }

    /// One request: what `incrementTokenUsage`, then (when the real cost is
    /// above 0) `incrementDailyCost` and `recordOpusCost` /
    /// `incrementWeeklyOpusCost`, then (when an account is named)
    /// `incrementAccountUsage` write. Index sets, global aggregates, cost
    /// micros and all-time stats follow the options.
    pub fn usage(&mut self, ev: &UsageEvent) -> &mut Self {
        self.queue_usage(ev);
        self.done();
        self
    }

    /// [`CrsWriter::usage`] for many events, sent in big pipelines.
    pub fn usage_many(&mut self, events: &[UsageEvent]) -> &mut Self {
        for ev in events {
            self.queue_usage(ev);
            if self.batch.count >= self.flush_every {
                self.flush();
            }
        }
        self.done();
        self
    }

    fn queue_usage(&mut self, ev: &UsageEvent) {
        let offset = self.opts.offset();
        let id = ev.key_id.as_str();
        let today = date_string(ev.at, offset);
        let month = month_string(ev.at, offset);
        let hour = hour_string(ev.at, offset);
        let model = normalize_model_name(&ev.model);
        let c = ev.crs_counts();
        let minute_key = format!("system:metrics:minute:{}", epoch_minute(ev.at));

        let key_total = format!("usage:{id}");
        let daily = format!("usage:daily:{id}:{today}");
        let monthly = format!("usage:monthly:{id}:{month}");
        let hourly = format!("usage:hourly:{id}:{hour}");
        let model_daily = format!("usage:model:daily:{model}:{today}");
        let model_monthly = format!("usage:model:monthly:{model}:{month}");
        let model_hourly = format!("usage:model:hourly:{model}:{hour}");
        let key_model_daily = format!("usage:{id}:model:daily:{model}:{today}");
        let key_model_monthly = format!("usage:{id}:model:monthly:{model}:{month}");
        let key_model_hourly = format!("usage:{id}:model:hourly:{model}:{hour}");
        let key_model_alltime = format!("usage:{id}:model:alltime:{model}");

        let real_micro = micro(ev.real_cost_usd);
        let rated_micro = micro(ev.rated_cost_usd);
        let opts = self.opts.clone();
        let b = &mut self.batch;

        // usage:{id}
        b.hincrby(&key_total, "totalTokens", c.core);
        b.hincrby(&key_total, "totalInputTokens", c.input);
        b.hincrby(&key_total, "totalOutputTokens", c.output);
        b.hincrby(&key_total, "totalCacheCreateTokens", c.cache_create);
        b.hincrby(&key_total, "totalCacheReadTokens", c.cache_read);
        b.hincrby(&key_total, "totalAllTokens", c.all);
        b.hincrby(&key_total, "totalEphemeral5mTokens", c.ephemeral_5m);
        b.hincrby(&key_total, "totalEphemeral1hTokens", c.ephemeral_1h);
        if ev.is_long_context {
            b.hincrby(&key_total, "totalLongContextInputTokens", c.input);
            b.hincrby(&key_total, "totalLongContextOutputTokens", c.output);
            b.hincrby(&key_total, "totalLongContextRequests", 1);
        }
        b.hincrby(&key_total, "totalRequests", 1);

        // usage:daily / usage:monthly / usage:hourly
        push_key_period(b, &daily, &c, ev.is_long_context);
        push_key_period(b, &monthly, &c, false);
        push_key_period(b, &hourly, &c, false);

        // usage:model:* (global per model, no cost)
        push_model_counts(b, &model_daily, &c, true);
        push_model_counts(b, &model_monthly, &c, true);
        push_model_counts(b, &model_hourly, &c, true);

        // usage:{id}:model:*
        for k in [&key_model_daily, &key_model_monthly, &key_model_hourly] {
            push_model_counts(b, k, &c, true);
            if opts.cost_micros {
                push_micros(b, k, real_micro, rated_micro);
            }
        }
        if opts.alltime_model_stats {
            push_model_counts(b, &key_model_alltime, &c, false);
            if opts.cost_micros {
                push_micros(b, &key_model_alltime, real_micro, rated_micro);
            }
        }

        // system:metrics:minute:{m}
        push_minute(b, &minute_key, 1, &c);
        b.expire(&minute_key, i64::from(opts.metrics_window_minutes) * 60 * 2);

        for (k, ttl) in [
            (&daily, TTL_USAGE_DAILY),
            (&monthly, TTL_USAGE_MONTHLY),
            (&hourly, TTL_USAGE_HOURLY),
            (&model_daily, TTL_USAGE_DAILY),
            (&model_monthly, TTL_USAGE_MONTHLY),
            (&model_hourly, TTL_USAGE_HOURLY),
            (&key_model_daily, TTL_USAGE_DAILY),
            (&key_model_monthly, TTL_USAGE_MONTHLY),
            (&key_model_hourly, TTL_USAGE_HOURLY),
        ] {
            b.expire(k, ttl);
        }

        if opts.indexes {
            let key_model = format!("{id}:{model}");
            let sets = [
                (format!("usage:daily:index:{today}"), id, TTL_USAGE_DAILY),
                (format!("usage:hourly:index:{hour}"), id, TTL_USAGE_HOURLY),
                (
                    format!("usage:model:daily:index:{today}"),
                    model.as_str(),
                    TTL_USAGE_DAILY,
                ),
                (
                    format!("usage:model:hourly:index:{hour}"),
                    model.as_str(),
                    TTL_USAGE_HOURLY,
                ),
                (
                    format!("usage:model:monthly:index:{month}"),
                    model.as_str(),
                    TTL_USAGE_MONTHLY,
                ),
                (
                    format!("usage:keymodel:daily:index:{today}"),
                    key_model.as_str(),
                    TTL_USAGE_DAILY,
                ),
                (
                    format!("usage:keymodel:hourly:index:{hour}"),
                    key_model.as_str(),
                    TTL_USAGE_HOURLY,
                ),
            ];
            for (set, member, _) in &sets {
                b.sadd(set, member);
            }
            b.sadd("usage:model:monthly:months", &month);
            for (set, _, _) in &sets {
                b.del(&format!("{set}:empty"));
            }
            for (set, _, ttl) in &sets {
                b.expire(set, *ttl);
            }
        }

        if opts.global_aggregates {
            let g_daily = format!("usage:global:daily:{today}");
            let g_monthly = format!("usage:global:monthly:{month}");
            for k in ["usage:global:total", g_daily.as_str(), g_monthly.as_str()] {
                b.hincrby(k, "requests", 1);
                b.hincrby(k, "inputTokens", c.input);
                b.hincrby(k, "outputTokens", c.output);
                b.hincrby(k, "cacheCreateTokens", c.cache_create);
                b.hincrby(k, "cacheReadTokens", c.cache_read);
                b.hincrby(k, "allTokens", c.all);
                b.hincrby(k, "ephemeral5mTokens", c.ephemeral_5m);
                b.hincrby(k, "ephemeral1hTokens", c.ephemeral_1h);
            }
            b.expire(&g_daily, TTL_USAGE_DAILY);
            b.expire(&g_monthly, TTL_USAGE_MONTHLY);
        }

        // incrementDailyCost (only when the real cost is above 0).
        if ev.real_cost_usd > 0.0 {
            let rated = ev.rated_cost_usd;
            let real = ev.real_cost_usd;
            let cost_daily = format!("usage:cost:daily:{id}:{today}");
            let cost_monthly = format!("usage:cost:monthly:{id}:{month}");
            let cost_hourly = format!("usage:cost:hourly:{id}:{hour}");
            let cost_total = format!("usage:cost:total:{id}");
            let real_total = format!("usage:cost:real:total:{id}");
            let real_daily = format!("usage:cost:real:daily:{id}:{today}");
            b.incrbyfloat(&cost_daily, rated);
            b.incrbyfloat(&cost_monthly, rated);
            b.incrbyfloat(&cost_hourly, rated);
            b.incrbyfloat(&cost_total, rated);
            b.incrbyfloat(&real_total, real);
            b.incrbyfloat(&real_daily, real);
            b.expire(&cost_daily, TTL_COST_DAILY);
            b.expire(&cost_monthly, TTL_COST_MONTHLY);
            b.expire(&cost_hourly, TTL_COST_HOURLY);
            b.expire(&real_daily, TTL_COST_DAILY);

            // recordOpusCost -> incrementWeeklyOpusCost
            let opus_account = ev
                .account_type
                .as_deref()
                .is_some_and(|t| OPUS_ACCOUNT_TYPES.contains(&t));
            if opus_account && is_claude_family_model(&ev.model) {
                let (day, hour_of_day) = self.weekly_reset.get(id).copied().unwrap_or((1, 0));
                let period = match opts.opus_week {
                    OpusWeek::ResetPeriod => period_string(ev.at, offset, day, hour_of_day),
                    OpusWeek::IsoWeek => iso_week_string(ev.at, offset),
                };
                let weekly = format!("usage:opus:weekly:{id}:{period}");
                let real_weekly = format!("usage:opus:real:weekly:{id}:{period}");
                b.incrbyfloat(&weekly, rated);
                b.incrbyfloat(&format!("usage:opus:total:{id}"), rated);
                b.incrbyfloat(&real_weekly, real);
                b.incrbyfloat(&format!("usage:opus:real:total:{id}"), real);
                b.expire(&weekly, TTL_OPUS_WEEKLY);
                b.expire(&real_weekly, TTL_OPUS_WEEKLY);
            }
        }

        if let Some(account) = ev.account_id.as_deref() {
            push_account_usage(b, account, &model, &today, &month, &hour, ev, opts.indexes);
        }
    }

    /// `system:metrics:minute:{epochMinute}` alone: HINCRBY `requests`,
    /// `totalTokens` (all four kinds), `inputTokens`, `outputTokens`,
    /// `cacheCreateTokens`, `cacheReadTokens`, then EXPIRE window×2 minutes.
    pub fn minute_metrics(
        &mut self,
        at: DateTime<Utc>,
        requests: u64,
        input: u64,
        output: u64,
        cache_create: u64,
        cache_read: u64,
    ) -> &mut Self {
        let key = format!("system:metrics:minute:{}", epoch_minute(at));
        let c = UsageCounts {
            input: input as i64,
            output: output as i64,
            cache_create: cache_create as i64,
            cache_read: cache_read as i64,
            core: (input + output) as i64,
            all: (input + output + cache_create + cache_read) as i64,
            ephemeral_5m: 0,
            ephemeral_1h: 0,
        };
        let ttl = i64::from(self.opts.metrics_window_minutes) * 60 * 2;
        push_minute(&mut self.batch, &key, requests as i64, &c);
        self.batch.expire(&key, ttl);
        self.done();
        self
    }

    /// An account record: a hash at `{prefix}{id}` (Bedrock: a STRING holding
    /// JSON) and, with indexes, SADD `{prefix}index` + DEL `{prefix}index:empty`
    /// (`redis.addToIndex`).
    pub fn account(&mut self, platform: Platform, id: &str, spec: &AccountSpec) -> &mut Self {
        let now = Utc::now();
        let key = platform.account_key(id);
        if platform.is_json_string() {
            let doc = spec.bedrock_json(id, now);
            self.batch
                .cmd("SET")
                .arg(&key)
                .arg(doc.to_string())
                .ignore();
        } else {
            let fields = spec.hash_fields(platform, id, now);
            self.batch.hset_all(&key, &fields);
        }
        if self.opts.indexes {
            let index = platform.index_key();
            self.batch.sadd(&index, id);
            self.batch.del(&format!("{index}:empty"));
        }
        self.done();
        self
    }

    /// HSET key field value, nothing else.
    pub fn raw_hset(&mut self, key: &str, field: &str, value: &str) -> &mut Self {
        self.batch
            .cmd("HSET")
            .arg(key)
            .arg(field)
            .arg(value)
            .ignore();
        self.done();
        self
    }

    /// SET key value, nothing else.
    pub fn raw_set(&mut self, key: &str, value: &str) -> &mut Self {
        self.batch.cmd("SET").arg(key).arg(value).ignore();
        self.done();
        self
    }

    /// SADD key member, nothing else.
    pub fn raw_sadd(&mut self, key: &str, member: &str) -> &mut Self {
        self.batch.sadd(key, member);
        self.done();
        self
    }

    /// ZADD key score member, nothing else.
    pub fn raw_zadd(&mut self, key: &str, score: f64, member: &str) -> &mut Self {
        self.batch
            .cmd("ZADD")
            .arg(key)
            .arg(score)
            .arg(member)
            .ignore();
        self.done();
        self
    }

    /// EXPIRE key seconds, nothing else.
    pub fn raw_expire(&mut self, key: &str, seconds: i64) -> &mut Self {
        self.batch.expire(key, seconds);
        self.done();
        self
    }

    /// DEL key, nothing else.
    pub fn raw_del(&mut self, key: &str) -> &mut Self {
        self.batch.del(key);
        self.done();
        self
    }
}

impl Drop for CrsWriter {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            self.flush();
        }
    }
}

/// `Math.round(usd * 1_000_000)`; only positive costs are written.
pub fn micro(usd: f64) -> i64 {
    // For positive values Rust's round (half away from zero) is JavaScript's
    // Math.round (half toward +infinity).
    (usd * 1_000_000.0).round() as i64
}

fn push_key_period(b: &mut Batch, key: &str, c: &UsageCounts, long_context: bool) {
    b.hincrby(key, "tokens", c.core);
    b.hincrby(key, "inputTokens", c.input);
    b.hincrby(key, "outputTokens", c.output);
    b.hincrby(key, "cacheCreateTokens", c.cache_create);
    b.hincrby(key, "cacheReadTokens", c.cache_read);
    b.hincrby(key, "allTokens", c.all);
    b.hincrby(key, "requests", 1);
    b.hincrby(key, "ephemeral5mTokens", c.ephemeral_5m);
    b.hincrby(key, "ephemeral1hTokens", c.ephemeral_1h);
    if long_context {
        b.hincrby(key, "longContextInputTokens", c.input);
        b.hincrby(key, "longContextOutputTokens", c.output);
        b.hincrby(key, "longContextRequests", 1);
    }
}

fn push_model_counts(b: &mut Batch, key: &str, c: &UsageCounts, with_all_tokens: bool) {
    b.hincrby(key, "inputTokens", c.input);
    b.hincrby(key, "outputTokens", c.output);
    b.hincrby(key, "cacheCreateTokens", c.cache_create);
    b.hincrby(key, "cacheReadTokens", c.cache_read);
    if with_all_tokens {
        b.hincrby(key, "allTokens", c.all);
    }
    b.hincrby(key, "requests", 1);
    b.hincrby(key, "ephemeral5mTokens", c.ephemeral_5m);
    b.hincrby(key, "ephemeral1hTokens", c.ephemeral_1h);
}

fn push_micros(b: &mut Batch, key: &str, real_micro: i64, rated_micro: i64) {
    if real_micro > 0 {
        b.hincrby(key, "realCostMicro", real_micro);
    }
    if rated_micro > 0 {
        b.hincrby(key, "ratedCostMicro", rated_micro);
    }
}

fn push_minute(b: &mut Batch, key: &str, requests: i64, c: &UsageCounts) {
    b.hincrby(key, "requests", requests);
    b.hincrby(key, "totalTokens", c.all);
    b.hincrby(key, "inputTokens", c.input);
    b.hincrby(key, "outputTokens", c.output);
    b.hincrby(key, "cacheCreateTokens", c.cache_create);
    b.hincrby(key, "cacheReadTokens", c.cache_read);
}

/// `incrementAccountUsage`. CRS does not apply the output-token quirk here.
#[allow(clippy::too_many_arguments)]
fn push_account_usage(
    b: &mut Batch,
    account: &str,
    model: &str,
    today: &str,
    month: &str,
    hour: &str,
    ev: &UsageEvent,
    indexes: bool,
) {
    let input = ev.input as i64;
    let output = ev.output as i64;
    let cc = ev.cache_create as i64;
    let cr = ev.cache_read as i64;
    let e5 = ev.ephemeral_5m as i64;
    let e1 = ev.ephemeral_1h as i64;
    let all = input + output + cc + cr;
    let core = input + output;

    let total = format!("account_usage:{account}");
    let daily = format!("account_usage:daily:{account}:{today}");
    let monthly = format!("account_usage:monthly:{account}:{month}");
    let hourly = format!("account_usage:hourly:{account}:{hour}");
    let model_daily = format!("account_usage:model:daily:{account}:{model}:{today}");
    let model_monthly = format!("account_usage:model:monthly:{account}:{model}:{month}");
    let model_hourly = format!("account_usage:model:hourly:{account}:{model}:{hour}");

    b.hincrby(&total, "totalTokens", core);
    b.hincrby(&total, "totalInputTokens", input);
    b.hincrby(&total, "totalOutputTokens", output);
    b.hincrby(&total, "totalCacheCreateTokens", cc);
    b.hincrby(&total, "totalCacheReadTokens", cr);
    b.hincrby(&total, "totalEphemeral5mTokens", e5);
    b.hincrby(&total, "totalEphemeral1hTokens", e1);
    b.hincrby(&total, "totalAllTokens", all);
    b.hincrby(&total, "totalRequests", 1);
    for k in [&daily, &monthly, &hourly] {
        b.hincrby(k, "tokens", core);
        b.hincrby(k, "inputTokens", input);
        b.hincrby(k, "outputTokens", output);
        b.hincrby(k, "cacheCreateTokens", cc);
        b.hincrby(k, "cacheReadTokens", cr);
        b.hincrby(k, "ephemeral5mTokens", e5);
        b.hincrby(k, "ephemeral1hTokens", e1);
        b.hincrby(k, "allTokens", all);
        b.hincrby(k, "requests", 1);
    }
    for (metric, v) in [
        ("inputTokens", input),
        ("outputTokens", output),
        ("cacheCreateTokens", cc),
        ("cacheReadTokens", cr),
        ("ephemeral5mTokens", e5),
        ("ephemeral1hTokens", e1),
        ("allTokens", all),
        ("requests", 1),
    ] {
        b.hincrby(&hourly, &format!("model:{model}:{metric}"), v);
    }
    for k in [&model_daily, &model_monthly, &model_hourly] {
        b.hincrby(k, "inputTokens", input);
        b.hincrby(k, "outputTokens", output);
        b.hincrby(k, "cacheCreateTokens", cc);
        b.hincrby(k, "cacheReadTokens", cr);
        b.hincrby(k, "ephemeral5mTokens", e5);
        b.hincrby(k, "ephemeral1hTokens", e1);
        b.hincrby(k, "allTokens", all);
        b.hincrby(k, "requests", 1);
    }
    b.expire(&daily, TTL_USAGE_DAILY);
    b.expire(&monthly, TTL_USAGE_MONTHLY);
    b.expire(&hourly, TTL_USAGE_HOURLY);
    b.expire(&model_daily, TTL_USAGE_DAILY);
    b.expire(&model_monthly, TTL_USAGE_MONTHLY);
    b.expire(&model_hourly, TTL_USAGE_HOURLY);
    if indexes {
        let account_model = format!("{account}:{model}");
        let sets = [
            (
                format!("account_usage:hourly:index:{hour}"),
                account,
                TTL_USAGE_HOURLY,
            ),
            (
                format!("account_usage:model:hourly:index:{hour}"),
                account_model.as_str(),
                TTL_USAGE_HOURLY,
            ),
            (
                format!("account_usage:daily:index:{today}"),
                account,
                TTL_USAGE_DAILY,
            ),
            (
                format!("account_usage:model:daily:index:{today}"),
                account_model.as_str(),
                TTL_USAGE_DAILY,
            ),
        ];
        for (set, member, ttl) in &sets {
            b.sadd(set, member);
            b.expire(set, *ttl);
        }
        for (set, _, _) in &sets {
            b.del(&format!("{set}:empty"));
        }
    }
    if ev.is_long_context {
        b.hincrby(&total, "totalLongContextInputTokens", input);
        b.hincrby(&total, "totalLongContextOutputTokens", output);
        b.hincrby(&total, "totalLongContextRequests", 1);
        b.hincrby(&daily, "longContextInputTokens", input);
        b.hincrby(&daily, "longContextOutputTokens", output);
        b.hincrby(&daily, "longContextRequests", 1);
    }
}

/// `getWeekStringInTimezone(at)` (older CRS), quirks included: the year is the
/// shifted calendar year (not the ISO year), and the week number is
/// `ceil(((firstThursday - Jan 1) / day + 1) / 7)` with `firstThursday`
/// keeping the time of day. `new Date(y, 0, 1)` is local time in Node; this
/// assumes the process ran in UTC, as CRS's Docker image does.
pub fn iso_week_string(at: DateTime<Utc>, offset_hours: i32) -> String {
    let tz = shifted(at, offset_hours);
    let year = tz.year();
    let day_of_week = i64::from(tz.weekday().number_from_sunday() - 1);
    let day_of_week = if day_of_week == 0 { 7 } else { day_of_week };
    let first_thursday = tz + Duration::days(4 - day_of_week);
    let year_start = Utc
        .with_ymd_and_hms(first_thursday.year(), 1, 1, 0, 0, 0)
        .single()
        .expect("January 1st exists");
    let diff_ms = (first_thursday - year_start).num_milliseconds() as f64;
    let week = ((diff_ms / 86_400_000.0 + 1.0) / 7.0).ceil() as i64;
    format!("{year}-W{week:02}")
}

fn json_string(items: &[String]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".to_string())
}

/// A stable 64-hex stand-in for sha256(secret + ENCRYPTION_KEY).
pub fn fake_sha256_hex(seed: &str) -> String {
    let mut out = String::with_capacity(64);
    for lane in 0u64..4 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ lane.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        for byte in seed.bytes() {
            h ^= u64::from(byte);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        out.push_str(&format!("{h:016x}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_quirk_when_no_input_and_no_output() {
        let ev = UsageEvent::new("k", "m", Utc::now()).tokens(0, 0, 100, 50);
        let c = ev.crs_counts();
        assert_eq!(c.output, 150);
        assert_eq!(c.all, 300);
        assert_eq!(c.core, 150);
        let ev = UsageEvent::new("k", "m", Utc::now()).tokens(10, 0, 100, 50);
        assert_eq!(ev.crs_counts().output, 0);
    }

    #[test]
    fn micro_rounds_half_up() {
        assert_eq!(micro(0.0000025), 3);
        assert_eq!(micro(1.234567), 1_234_567);
        assert_eq!(micro(0.0), 0);
    }

    #[test]
    fn iso_week_quirks() {
        // 2025-01-06 (Monday) 12:00 at UTC+8 = 04:00 UTC.
        let at = Utc.with_ymd_and_hms(2025, 1, 6, 4, 0, 0).unwrap();
        assert_eq!(iso_week_string(at, 8), "2025-W02");
        // Monday 2025-12-29 04:00 UTC+8 -> first Thursday is 2026-01-01.
        let at = Utc.with_ymd_and_hms(2025, 12, 28, 20, 0, 0).unwrap();
        assert_eq!(iso_week_string(at, 8), "2025-W01");
    }

    #[test]
    fn fake_hash_is_64_hex() {
        let h = fake_sha256_hex("abc");
        assert_eq!(h.len(), 64);
        assert!(h.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(h, fake_sha256_hex("abd"));
    }
}
