//! Model names as CRS writes them into Redis key names. Rule kept: a model is read out of a key
//! by anchoring on the bucket suffix at the end (`:YYYY-MM-DD`, `:YYYY-MM`, `:YYYY-MM-DD:HH`),
//! never by `split(':')`, because model names may contain colons; `{keyId}:{model}` index
//! members split at the first colon.

/// CRS's `_normalizeModelName` (`src/models/redis.js`; the copies in `routes/admin/dashboard.js`
/// and `routes/admin/usageStats.js` are identical). CRS applies it before writing every
/// per-model key, so stored model names are already in this form.
///
/// - empty and `unknown` stay as they are;
/// - a name containing `.anthropic.` or `.claude` (Bedrock) loses a leading `region.` prefix
///   (`^[a-z0-9-]+\.`), then its first `anthropic.`, then a trailing `-vN:M`;
/// - any other name loses a trailing `-vN:M` or `:latest`.
pub fn normalize_model_name(name: &str) -> String {
    if name.is_empty() || name == "unknown" {
        return name.to_string();
    }
    if name.contains(".anthropic.") || name.contains(".claude") {
        let without_region = strip_leading_region(name);
        let without_vendor = without_region.replacen("anthropic.", "", 1);
        return strip_version_suffix(&without_vendor).to_string();
    }
    let stripped = strip_version_suffix(name);
    if stripped.len() != name.len() {
        return stripped.to_string();
    }
    name.strip_suffix(":latest").unwrap_or(name).to_string()
}

/// `s.replace(/^[a-z0-9-]+\./, '')`: everything up to the first `.` goes if it is non-empty and
/// made only of lower-case ASCII letters, digits and `-`.
fn strip_leading_region(s: &str) -> &str {
    match s.find('.') {
        Some(dot)
            if dot > 0
                && s[..dot]
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') =>
        {
            &s[dot + 1..]
        }
        _ => s,
    }
}

/// `s.replace(/-v\d+:\d+$/, '')`.
fn strip_version_suffix(s: &str) -> &str {
    let b = s.as_bytes();
    let minor_digits = b.iter().rev().take_while(|c| c.is_ascii_digit()).count();
    if minor_digits == 0 {
        return s;
    }
    let colon = b.len() - minor_digits;
    if colon == 0 || b[colon - 1] != b':' {
        return s;
    }
    let major_end = colon - 1;
    let major_digits = b[..major_end]
        .iter()
        .rev()
        .take_while(|c| c.is_ascii_digit())
        .count();
    if major_digits == 0 {
        return s;
    }
    let v = major_end - major_digits;
    if v >= 2 && b[v - 1] == b'v' && b[v - 2] == b'-' {
        &s[..v - 2]
    } else {
        s
    }
}

/// The time bucket a usage key ends with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BucketKind {
    /// `:YYYY-MM-DD` (daily keys).
    Day,
    /// `:YYYY-MM` (monthly keys).
    Month,
    /// `:YYYY-MM-DD:HH` (hourly keys; the hour joins the date with a colon).
    Hour,
}

impl BucketKind {
    /// The bucket's shape, `d` standing for an ASCII digit.
    fn shape(self) -> &'static [u8] {
        match self {
            BucketKind::Day => b"dddd-dd-dd",
            BucketKind::Month => b"dddd-dd",
            BucketKind::Hour => b"dddd-dd-dd:dd",
        }
    }
}

/// Split `{prefix}{model}:{bucket}` into `(model, bucket)`, anchoring on the bucket at the end,
/// like CRS's `/usage:model:daily:(.+):\d{4}-\d{2}-\d{2}$/`. The model must be non-empty and,
/// as JavaScript's `.` requires, hold no line terminator; it may hold colons.
pub fn model_from_bucket_key<'a>(
    key: &'a str,
    prefix: &str,
    kind: BucketKind,
) -> Option<(&'a str, &'a str)> {
    let rest = key.strip_prefix(prefix)?;
    let shape = kind.shape();
    // The bucket is ASCII, so a valid suffix starts on a char boundary.
    let split = rest.len().checked_sub(shape.len() + 1)?;
    let tail = rest.as_bytes();
    if tail[split] != b':' {
        return None;
    }
    let bucket_ok = tail[split + 1..].iter().zip(shape).all(|(&c, &s)| {
        if s == b'd' {
            c.is_ascii_digit()
        } else {
            c == s
        }
    });
    if !bucket_ok || !rest.is_char_boundary(split) {
        return None;
    }
    let model = &rest[..split];
    if model.is_empty() || model.contains(['\n', '\r', '\u{2028}', '\u{2029}']) {
        return None;
    }
    Some((model, &rest[split + 1..]))
}

/// `(model, date)` from a daily key such as `usage:model:daily:{model}:{YYYY-MM-DD}` with
/// `prefix` = `"usage:model:daily:"`.
pub fn model_from_dated_key<'a>(key: &'a str, prefix: &str) -> Option<(&'a str, &'a str)> {
    model_from_bucket_key(key, prefix, BucketKind::Day)
}

/// `(model, month)` from a monthly key such as `usage:model:monthly:{model}:{YYYY-MM}`.
pub fn model_from_monthly_key<'a>(key: &'a str, prefix: &str) -> Option<(&'a str, &'a str)> {
    model_from_bucket_key(key, prefix, BucketKind::Month)
}

/// `(model, hour)` from an hourly key such as `usage:model:hourly:{model}:{YYYY-MM-DD:HH}`; the
/// hour comes back as `YYYY-MM-DD:HH`.
pub fn model_from_hourly_key<'a>(key: &'a str, prefix: &str) -> Option<(&'a str, &'a str)> {
    model_from_bucket_key(key, prefix, BucketKind::Hour)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bedrock_names_lose_region_vendor_and_version() {
        assert_eq!(
            normalize_model_name("us.anthropic.claude-3-5-sonnet-20241022-v2:0"),
            "claude-3-5-sonnet-20241022"
        );
        assert_eq!(
            normalize_model_name("us-east-1.anthropic.claude-sonnet-4-20250514-v1:0"),
            "claude-sonnet-4-20250514"
        );
        assert_eq!(
            normalize_model_name("anthropic.claude-3-haiku-20240307-v1:0"),
            "claude-3-haiku-20240307"
        );
        // An upper-case region is not matched by ^[a-z0-9-]+\. ; only "anthropic." goes.
        assert_eq!(
            normalize_model_name("US.anthropic.claude-x-v1:0"),
            "US.claude-x"
        );
    }

    #[test]
    fn other_names_lose_version_or_latest() {
        assert_eq!(
            normalize_model_name("claude-sonnet-4-20250514"),
            "claude-sonnet-4-20250514"
        );
        assert_eq!(normalize_model_name("llama3:latest"), "llama3");
        assert_eq!(normalize_model_name("foo-v12:3"), "foo");
        assert_eq!(normalize_model_name("foo-v:3"), "foo-v:3");
        assert_eq!(normalize_model_name("foo-v1:"), "foo-v1:");
        assert_eq!(
            normalize_model_name("claude-opus-4-6[1m]"),
            "claude-opus-4-6[1m]"
        );
        assert_eq!(normalize_model_name("unknown"), "unknown");
        assert_eq!(normalize_model_name(""), "");
    }

    #[test]
    fn dated_keys_anchor_on_the_suffix() {
        assert_eq!(
            model_from_dated_key(
                "usage:model:daily:us.anthropic.claude-x-v2:0:2025-07-30",
                "usage:model:daily:"
            ),
            Some(("us.anthropic.claude-x-v2:0", "2025-07-30"))
        );
        assert_eq!(
            model_from_dated_key(
                "usage:model:daily:claude-opus-4-6[1m]:2026-01-02",
                "usage:model:daily:"
            ),
            Some(("claude-opus-4-6[1m]", "2026-01-02"))
        );
        // The index set shares the pattern: its "model" is "index", callers filter it.
        assert_eq!(
            model_from_dated_key("usage:model:daily:index:2026-01-02", "usage:model:daily:"),
            Some(("index", "2026-01-02"))
        );
        assert_eq!(
            model_from_dated_key("usage:model:daily::2026-01-02", "usage:model:daily:"),
            None
        );
        assert_eq!(
            model_from_dated_key("usage:model:daily:m:2026-1-02", "usage:model:daily:"),
            None
        );
        assert_eq!(
            model_from_dated_key("usage:model:monthly:m:2026-01-02", "usage:model:daily:"),
            None
        );
        assert_eq!(
            model_from_dated_key("usage:model:daily:m:2026-01-02:13", "usage:model:daily:"),
            None
        );
    }

    #[test]
    fn monthly_and_hourly_keys() {
        assert_eq!(
            model_from_monthly_key("usage:model:monthly:gpt-5:2026-07", "usage:model:monthly:"),
            Some(("gpt-5", "2026-07"))
        );
        assert_eq!(
            model_from_monthly_key(
                "usage:model:monthly:gpt-5:2026-07-01",
                "usage:model:monthly:"
            ),
            None
        );
        assert_eq!(
            model_from_hourly_key(
                "usage:k1:model:hourly:a:b:2026-07-01:09",
                "usage:k1:model:hourly:"
            ),
            Some(("a:b", "2026-07-01:09"))
        );
        assert_eq!(
            model_from_bucket_key(
                "usage:model:hourly:m:2026-07-01",
                "usage:model:hourly:",
                BucketKind::Hour
            ),
            None
        );
    }
}
