//! "Test connection" for a relay Redis: one SCAN over the keyspace, counting API keys, accounts
//! and usage keys, and whether the index sets (`apikey:index:version`) exist. Rule: the
//! classification is pure; errors show the URL with its password masked.

use std::time::Duration;

use super::views::SourceProbe;
use crate::source::{mask_url, redis_io};

/// Account hash prefixes of the CRS platforms.
const ACCOUNT_PREFIXES: [&str; 9] = [
    "claude_account:",
    "claude_console_account:",
    "gemini_account:",
    "openai_account:",
    "openai_responses_account:",
    "bedrock_account:",
    "azure_openai_account:",
    "droid_account:",
    "ccr_account:",
];

/// Counts of one key name into `p` (pure).
pub fn classify(key: &str, p: &mut SourceProbe) {
    if let Some(rest) = key.strip_prefix("apikey:") {
        // API key records are `apikey:<uuid>`; hash_map, idx:*, set:*, tag:*, index:* are not.
        if !rest.contains(':') && rest != "hash_map" && !rest.is_empty() {
            p.api_keys += 1;
        }
        if rest == "index:version" {
            p.index_sets = true;
        }
    } else if ACCOUNT_PREFIXES.iter().any(|a| {
        key.strip_prefix(a)
            .is_some_and(|r| !r.is_empty() && !r.contains(':'))
    }) {
        p.accounts += 1;
    } else if key.starts_with("usage:") {
        p.usage_keys += 1;
    }
}

/// Connects within `timeout` and counts; a failure answers `ok: false` with the masked reason.
pub async fn probe(url: &str, timeout: Duration) -> SourceProbe {
    let mut p = SourceProbe {
        url: mask_url(url),
        ..SourceProbe::default()
    };
    let result = async {
        let mut conn = redis_io::connect(url, timeout).await?;
        let keys = conn.scan("*").await?;
        Ok::<_, crate::Error>(keys)
    }
    .await;
    match result {
        Ok(keys) => {
            for k in &keys {
                classify(k, &mut p);
            }
            p.ok = true;
        }
        Err(e) => p.error = Some(crate::secrets::redact(&e.to_string())),
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_crs_key_names() {
        let mut p = SourceProbe::default();
        for k in [
            "apikey:0b5c-uuid",
            "apikey:hash_map",
            "apikey:idx:all",
            "apikey:index:version",
            "claude_account:a1",
            "claude:account:index",
            "gemini_account:g",
            "usage:daily:k:2026-11-22",
            "usage:model:daily:index:2026-11-22",
            "other",
        ] {
            classify(k, &mut p);
        }
        assert_eq!((p.api_keys, p.accounts, p.usage_keys), (1, 2, 2));
        assert!(p.index_sets);
    }
}
