//! `Platform`, `AccountSpec` and the writer's account records; rule: each platform's key prefix, index set and record encoding (a hash, or JSON for Bedrock) as CRS's account services write them, never a secret.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::CrsWriter;
use crate::crs_time::iso;

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

impl CrsWriter {
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
}
