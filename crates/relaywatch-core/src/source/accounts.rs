//! Account platforms (their key prefixes and index sets) and the classification cascade of CRS's
//! dashboard, applied to the raw fields without upstream's counting quirks. Pure.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::raw::AccountRecord;
use crate::model::AccountState;

/// How a platform stores its account records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    Hash,
    /// Bedrock: a STRING holding JSON.
    Json,
}

/// An account platform, named as CRS's dashboard names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Platform {
    #[serde(rename = "claude")]
    Claude,
    #[serde(rename = "claude-console")]
    ClaudeConsole,
    #[serde(rename = "gemini")]
    Gemini,
    #[serde(rename = "gemini-api")]
    GeminiApi,
    #[serde(rename = "openai")]
    OpenAi,
    #[serde(rename = "openai-responses")]
    OpenAiResponses,
    #[serde(rename = "azure-openai")]
    AzureOpenAi,
    #[serde(rename = "bedrock")]
    Bedrock,
    #[serde(rename = "ccr")]
    Ccr,
    #[serde(rename = "droid")]
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

    /// The record key prefix: the record is `{prefix}{id}`.
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

    /// The index set of ids (CRS v1.1.263+): `{prefix}index`.
    pub fn index_key(self) -> String {
        format!("{}index", self.key_prefix())
    }

    pub fn storage(self) -> Storage {
        match self {
            Platform::Bedrock => Storage::Json,
            _ => Storage::Hash,
        }
    }

    /// OpenAI services treat a missing `isActive` as active.
    fn active_by_default(self) -> bool {
        matches!(self, Platform::OpenAi | Platform::OpenAiResponses)
    }

    /// The id of a record key found by SCAN, or None for index sets, markers and side keys.
    pub fn id_from_key(self, key: &str) -> Option<&str> {
        let id = key.strip_prefix(self.key_prefix())?;
        (!id.is_empty() && !id.contains(':') && id != "index").then_some(id)
    }
}

/// CRS's fallback when only `rateLimitedAt` is known: one hour.
const DEFAULT_RATE_LIMIT: Duration = Duration::hours(1);

fn rate_limited(a: &AccountRecord, now: DateTime<Utc>) -> bool {
    let status = match a.rate_limit_status.as_deref().map(str::trim) {
        Some(s) if !s.is_empty() => s,
        _ => return false,
    };
    let limited = status == "limited"
        || serde_json::from_str::<serde_json::Value>(status)
            .ok()
            .and_then(|v| v.get("isRateLimited").and_then(|b| b.as_bool()))
            .unwrap_or(false);
    if !limited {
        return false;
    }
    if let Some(end) = a.rate_limit_end_at {
        return now < end;
    }
    if let Some(at) = a.rate_limited_at {
        let d = a
            .rate_limit_duration_minutes
            .filter(|m| *m > 0)
            .map(Duration::minutes)
            .unwrap_or(DEFAULT_RATE_LIMIT);
        return now < at + d;
    }
    // Marked limited with no time recorded: nothing says it has ended.
    true
}

/// CRS's cascade, first match wins: abnormal (inactive, blocked, unauthorized), paused
/// (`schedulable` false), rate-limited (marked limited and not yet expired), normal.
pub fn classify(a: &AccountRecord, platform: Platform, now: DateTime<Utc>) -> AccountState {
    let active = a.is_active.unwrap_or(platform.active_by_default());
    let status = a.status.as_deref().unwrap_or("");
    if !active || status == "blocked" || status == "unauthorized" {
        AccountState::Abnormal
    } else if a.schedulable == Some(false) {
        AccountState::Paused
    } else if rate_limited(a, now) {
        AccountState::RateLimited
    } else {
        AccountState::Normal
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 4, 0, 0).unwrap()
    }

    fn acct(f: impl FnOnce(&mut AccountRecord)) -> AccountRecord {
        let mut a = AccountRecord {
            is_active: Some(true),
            status: Some("active".into()),
            schedulable: Some(true),
            ..Default::default()
        };
        f(&mut a);
        a
    }

    #[test]
    fn cascade_first_match_wins() {
        let n = now();
        let c = Platform::Claude;
        assert_eq!(classify(&acct(|_| {}), c, n), AccountState::Normal);
        assert_eq!(
            classify(&acct(|a| a.is_active = Some(false)), c, n),
            AccountState::Abnormal
        );
        assert_eq!(
            classify(&acct(|a| a.status = Some("unauthorized".into())), c, n),
            AccountState::Abnormal
        );
        assert_eq!(
            classify(
                &acct(|a| {
                    a.status = Some("blocked".into());
                    a.schedulable = Some(false)
                }),
                c,
                n
            ),
            AccountState::Abnormal
        );
        assert_eq!(
            classify(
                &acct(|a| {
                    a.schedulable = Some(false);
                    a.rate_limit_status = Some("limited".into())
                }),
                c,
                n
            ),
            AccountState::Paused
        );
    }

    #[test]
    fn rate_limit_expiry() {
        let n = now();
        let c = Platform::ClaudeConsole;
        let limited_until = |end: DateTime<Utc>| {
            acct(|a| {
                a.rate_limit_status = Some("limited".into());
                a.rate_limited_at = Some(end - Duration::hours(1));
                a.rate_limit_end_at = Some(end)
            })
        };
        assert_eq!(
            classify(&limited_until(n + Duration::minutes(5)), c, n),
            AccountState::RateLimited
        );
        assert_eq!(
            classify(&limited_until(n - Duration::minutes(5)), c, n),
            AccountState::Normal
        );
        let no_end = acct(|a| {
            a.rate_limit_status = Some("limited".into());
            a.rate_limited_at = Some(n - Duration::minutes(30))
        });
        assert_eq!(classify(&no_end, c, n), AccountState::RateLimited);
        let old = acct(|a| {
            a.rate_limit_status = Some("limited".into());
            a.rate_limited_at = Some(n - Duration::minutes(90))
        });
        assert_eq!(classify(&old, c, n), AccountState::Normal);
        let console_long = acct(|a| {
            a.rate_limit_status = Some("limited".into());
            a.rate_limited_at = Some(n - Duration::minutes(90));
            a.rate_limit_duration_minutes = Some(120)
        });
        assert_eq!(classify(&console_long, c, n), AccountState::RateLimited);
    }

    #[test]
    fn openai_missing_is_active_means_active() {
        let a = AccountRecord::default();
        assert_eq!(classify(&a, Platform::OpenAi, now()), AccountState::Normal);
        assert_eq!(
            classify(&a, Platform::Gemini, now()),
            AccountState::Abnormal
        );
    }

    #[test]
    fn scan_keys_exclude_index_and_side_keys() {
        let p = Platform::Claude;
        assert_eq!(p.id_from_key("claude:account:abc"), Some("abc"));
        assert_eq!(p.id_from_key("claude:account:index"), None);
        assert_eq!(p.id_from_key("claude:account:index:empty"), None);
        assert_eq!(Platform::Bedrock.index_key(), "bedrock_account:index");
    }
}
