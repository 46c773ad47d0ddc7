//! Parsers of CRS's records as Redis hands them back: API keys, accounts (hashes, and Bedrock's
//! JSON strings) and cost strings. Rule: a missing field takes CRS's default, an unreadable one
//! is skipped with a warning, never guessed.

use crate::source::parse::{self, Fields};
use crate::source::raw::{AccountRecord, KeyRecord, Warnings};

/// The (field, value) pairs of an HMGET reply of `names`, fields without a value left out.
pub(super) fn present_fields(names: &[&str], vals: Vec<Option<String>>) -> Vec<(String, String)> {
    names
        .iter()
        .zip(vals)
        .filter_map(|(f, v)| Some((f.to_string(), v?)))
        .collect()
}

/// A cost string (INCRBYFLOAT); missing is 0, unreadable is 0 with a warning.
pub(super) fn cost_value(name: &str, v: &Option<String>, w: &mut Warnings) -> f64 {
    match v {
        None => 0.0,
        Some(s) => parse::parse_float(s).unwrap_or_else(|| {
            let kind = if s.trim().parse::<f64>().is_ok_and(f64::is_finite) {
                "cost value(s) negative or above 2^53 micro-USD"
            } else {
                "non-numeric cost value(s)"
            };
            let shown: String = s.chars().take(40).collect();
            w.add(kind, || format!("{name} = {shown:?}"));
            0.0
        }),
    }
}

pub(super) fn key_record(id: &str, f: &Fields, w: &mut Warnings) -> KeyRecord {
    KeyRecord {
        id: id.to_string(),
        name: id.to_string(),
        is_active: f.boolean("isActive").unwrap_or(false),
        is_deleted: f.boolean("isDeleted").unwrap_or(false),
        daily_cost_limit: f.float("dailyCostLimit", w).unwrap_or(0.0),
        total_cost_limit: f.float("totalCostLimit", w).unwrap_or(0.0),
        weekly_opus_cost_limit: f.float("weeklyOpusCostLimit", w).unwrap_or(0.0),
        tags: Vec::new(),
        weekly_reset_day: 1,
        weekly_reset_hour: 0,
    }
}

pub(super) fn apply_details(k: &mut KeyRecord, f: &Fields, _w: &mut Warnings) {
    if let Some(name) = f.get("name") {
        k.name = name.to_string();
    }
    k.tags = f
        .get("tags")
        .and_then(|t| serde_json::from_str::<Vec<String>>(t).ok())
        .unwrap_or_default();
    k.weekly_reset_day = f
        .get("weeklyResetDay")
        .and_then(|v| v.trim().parse().ok())
        .filter(|d| (1..=7).contains(d))
        .unwrap_or(1);
    k.weekly_reset_hour = f
        .get("weeklyResetHour")
        .and_then(|v| v.trim().parse().ok())
        .filter(|h| *h < 24)
        .unwrap_or(0);
}

/// Whether the key (not deleted) has any cost limit, so its costs and details are read.
pub(super) fn has_limit(k: &KeyRecord) -> bool {
    !k.is_deleted
        && (k.daily_cost_limit > 0.0 || k.total_cost_limit > 0.0 || k.weekly_opus_cost_limit > 0.0)
}

pub(super) fn hash_account(id: String, f: &Fields, w: &mut Warnings) -> AccountRecord {
    AccountRecord {
        platform: None,
        id,
        is_active: f.boolean("isActive"),
        status: f.get("status").map(str::to_string),
        schedulable: f.boolean("schedulable"),
        rate_limit_status: f.get("rateLimitStatus").map(str::to_string),
        rate_limited_at: f.time("rateLimitedAt", w),
        rate_limit_end_at: f.time("rateLimitEndAt", w),
        rate_limit_duration_minutes: f
            .get("rateLimitDuration")
            .and_then(|v| v.trim().parse().ok()),
        name: f.get("name").map(str::to_string),
    }
}

/// A Bedrock account: a JSON string whose booleans are real booleans.
pub(super) fn json_account(json: &str) -> Option<AccountRecord> {
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    let obj = v.as_object()?;
    let boolean = |k: &str| match obj.get(k)? {
        serde_json::Value::Bool(b) => Some(*b),
        serde_json::Value::String(s) => parse::parse_bool(s),
        _ => None,
    };
    Some(AccountRecord {
        platform: None,
        id: String::new(),
        is_active: boolean("isActive"),
        status: obj
            .get("status")
            .and_then(|s| s.as_str())
            .map(str::to_string),
        schedulable: boolean("schedulable"),
        rate_limit_status: None,
        rate_limited_at: None,
        rate_limit_end_at: None,
        rate_limit_duration_minutes: None,
        name: obj.get("name").and_then(|s| s.as_str()).map(str::to_string),
    })
}
