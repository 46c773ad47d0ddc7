//! What is read of CRS's records: the fields of an API key and of an account hash, and which
//! keys found by SCAN `apikey:*` are API key records. Rule: only fields CRS writes are named,
//! and only what the snapshot uses is read.

/// Read for every key: what counts and which limits it has.
pub(super) const KEY_FIELDS: [&str; 6] = [
    "id",
    "isActive",
    "isDeleted",
    "dailyCostLimit",
    "totalCostLimit",
    "weeklyOpusCostLimit",
];

/// Read only for keys that are shown (top keys, keys with limits).
pub(super) const KEY_DETAIL_FIELDS: [&str; 4] =
    ["name", "tags", "weeklyResetDay", "weeklyResetHour"];

/// Read for every account kept as a hash.
pub(super) const ACCOUNT_FIELDS: [&str; 8] = [
    "isActive",
    "status",
    "schedulable",
    "rateLimitStatus",
    "rateLimitedAt",
    "rateLimitEndAt",
    "rateLimitDuration",
    "name",
];

/// The key id of a real API key record found by SCAN `apikey:*`: exactly two colon parts, not
/// `apikey:hash_map` (CRS's `scanApiKeyIds`).
pub fn api_key_id(key: &str) -> Option<&str> {
    let id = key.strip_prefix("apikey:")?;
    (!id.is_empty() && !id.contains(':') && id != "hash_map").then_some(id)
}

#[cfg(test)]
mod tests {
    use super::api_key_id;

    #[test]
    fn api_key_scan_filter() {
        assert_eq!(api_key_id("apikey:7f0c"), Some("7f0c"));
        assert_eq!(api_key_id("apikey:hash_map"), None);
        assert_eq!(api_key_id("apikey:idx:all"), None);
        assert_eq!(api_key_id("apikey:set:active"), None);
        assert_eq!(api_key_id("apikey_hash:abc"), None);
    }
}
