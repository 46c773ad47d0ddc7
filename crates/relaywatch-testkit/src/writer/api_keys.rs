//! `ApiKeySpec` and the writer's `apikey:*` writes; rule: fields, index sets and TTLs as `apiKeyService.generateApiKey`, `deleteApiKey` and `recordUsage` write them.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::{CrsWriter, TTL_API_KEY};
use crate::crs_time::iso;
use crate::model::js_number_string;

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

impl CrsWriter {
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
    fn fake_hash_is_64_hex() {
        let h = fake_sha256_hex("abc");
        assert_eq!(h.len(), 64);
        assert!(h.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(h, fake_sha256_hex("abd"));
    }
}
