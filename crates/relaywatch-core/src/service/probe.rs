//! "Test connection" for a relay Redis: one SCAN over the keyspace, counting API keys, accounts
//! and usage keys, and whether the index sets (`apikey:index:version`) exist. Rule: the
//! classification is pure; errors show the URL with its password masked.

use std::time::Duration;

use super::views::{DatabaseProbe, SourceProbe};
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

/// Claude Code Hub: counts in its PostgreSQL (users, keys, providers, ledger rows) and its
/// zone, then its Redis when one is configured; `ok` when every part answered.
pub async fn probe_cch(s: &crate::config::Settings) -> SourceProbe {
    let timeout = Duration::from_millis(s.source.connect_timeout_ms);
    let mut db = DatabaseProbe {
        url: match &s.source.database_url {
            Some(crate::config::channels::SecretRef::Plain(u)) => mask_url(u),
            Some(r) => r.describe(),
            None => String::new(),
        },
        ..DatabaseProbe::default()
    };
    let counted = async {
        let c = crate::source::cch::snapshot::connect(s).await?;
        let q = "SELECT (SELECT count(*) FROM users WHERE deleted_at IS NULL), \
                 (SELECT count(*) FROM keys WHERE deleted_at IS NULL), \
                 (SELECT count(*) FROM providers WHERE deleted_at IS NULL), \
                 (SELECT count(*) FROM usage_ledger)";
        let r = c
            .query_one(q, &[])
            .await
            .map_err(|e| crate::Error::Database {
                url: db.url.clone(),
                reason: crate::source::pg::reason(&e),
            })?;
        let zone = crate::source::cch::snapshot::zone_of(
            s,
            &crate::source::cch::snapshot::system_settings(&c).await,
        );
        Ok::<_, crate::Error>((r, zone))
    }
    .await;
    match counted {
        Ok((r, zone)) => {
            let n = |i: usize| r.get::<_, i64>(i).max(0) as u64;
            (db.users, db.keys, db.providers, db.ledger_rows) = (n(0), n(1), n(2), n(3));
            db.timezone = Some(zone.name().to_string());
            db.ok = true;
        }
        Err(e) => db.error = Some(crate::secrets::redact(&e.to_string())),
    }
    let mut p = match s.source.redis_url.as_deref() {
        Some(u) => probe(u, timeout).await,
        None => SourceProbe {
            ok: true,
            ..SourceProbe::default()
        },
    };
    p.ok = p.ok && db.ok;
    p.database = Some(db);
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
