//! CRS's model-name helpers, ported locally; rule: behave exactly like `redis.js` `_normalizeModelName` and `utils/modelHelper.js` `isClaudeFamilyModel`, regex for regex, without depending on the engine.

/// `_normalizeModelName(model)` from `src/models/redis.js`.
///
/// * empty or `unknown`: unchanged;
/// * a name containing `.anthropic.` or `.claude` (Bedrock style): strip a
///   leading `^[a-z0-9-]+\.` region prefix, then the first `anthropic.`, then a
///   trailing `-v\d+:\d+`;
/// * anything else: strip a trailing `-v\d+:\d+` or `:latest`.
///
/// `[1m]` suffixes and other colons are kept.
pub fn normalize_model_name(model: &str) -> String {
    if model.is_empty() || model == "unknown" {
        return model.to_string();
    }
    if model.contains(".anthropic.") || model.contains(".claude") {
        let mut normalized = strip_region_prefix(model).to_string();
        if let Some(pos) = normalized.find("anthropic.") {
            normalized.replace_range(pos..pos + "anthropic.".len(), "");
        }
        return strip_version_suffix(&normalized).to_string();
    }
    if let Some(stripped) = model.strip_suffix(":latest") {
        return stripped.to_string();
    }
    strip_version_suffix(model).to_string()
}

/// `/^[a-z0-9-]+\./`: a non-empty run of lowercase ASCII letters, digits and
/// hyphens at the start, followed by a dot.
fn strip_region_prefix(model: &str) -> &str {
    let run = model
        .bytes()
        .take_while(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        .count();
    if run > 0 && model.as_bytes().get(run) == Some(&b'.') {
        &model[run + 1..]
    } else {
        model
    }
}

/// `/-v\d+:\d+$/`. The digits-colon-digits tail holds no `-v`, so the only
/// candidate is the last `-v` in the string.
fn strip_version_suffix(model: &str) -> &str {
    if let Some(pos) = model.rfind("-v") {
        let tail = &model[pos + 2..];
        if let Some((major, minor)) = tail.split_once(':') {
            let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
            if all_digits(major) && all_digits(minor) {
                return &model[..pos];
            }
        }
    }
    model
}

/// `isClaudeFamilyModel(model)` from `src/utils/modelHelper.js`: decides whether
/// a request's cost also goes to the weekly Opus/Claude keys. It is applied to
/// the model *as sent*, before normalisation.
pub fn is_claude_family_model(model: &str) -> bool {
    let trimmed = model.trim();
    // parseVendorPrefixedModel: a case-insensitive "ccr," prefix is dropped.
    let base = if trimmed.len() >= 4 && trimmed[..4].eq_ignore_ascii_case("ccr,") {
        let mut parts = trimmed.split(',');
        parts.next();
        let rest: Vec<&str> = parts.collect();
        if rest.is_empty() {
            trimmed.to_string()
        } else {
            rest.join(",").trim().to_string()
        }
    } else {
        trimmed.to_string()
    };
    let m = base.trim().to_lowercase();
    if m.is_empty() {
        return false;
    }
    if m.contains(".anthropic.claude-")
        || m.starts_with("anthropic.claude-")
        || m.contains(".claude-")
    {
        return true;
    }
    if m.starts_with("claude-") || m.contains("claude-") {
        return true;
    }
    m.contains("opus") || m.contains("sonnet") || m.contains("haiku")
}

/// JavaScript's `String(number)` for the values CRS stringifies (limits,
/// prices): integers without a fraction, shortest round-trip digits otherwise,
/// exponent form below 1e-6 and from 1e21 on.
pub fn js_number_string(x: f64) -> String {
    if x.is_nan() {
        return "NaN".to_string();
    }
    if x.is_infinite() {
        return if x > 0.0 { "Infinity" } else { "-Infinity" }.to_string();
    }
    if x == 0.0 {
        return "0".to_string();
    }
    let abs = x.abs();
    if (1e-6..1e21).contains(&abs) {
        return format!("{x}");
    }
    let e = format!("{x:e}");
    match e.split_once('e') {
        Some((mantissa, exp)) if !exp.starts_with('-') => format!("{mantissa}e+{exp}"),
        _ => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_like_crs() {
        let cases = [
            ("claude-sonnet-4-20250514", "claude-sonnet-4-20250514"),
            (
                "us.anthropic.claude-sonnet-4-20250514-v1:0",
                "claude-sonnet-4-20250514",
            ),
            (
                "anthropic.claude-3-5-haiku-20241022-v1:0",
                "claude-3-5-haiku-20241022",
            ),
            (
                "eu-west-1.anthropic.claude-3-opus-20240229-v2:1",
                "claude-3-opus-20240229",
            ),
            ("apac.claude-x-v1:0", "claude-x"),
            ("llama3:latest", "llama3"),
            ("some-model-v2:3", "some-model"),
            (
                "claude-sonnet-4-20250514[1m]",
                "claude-sonnet-4-20250514[1m]",
            ),
            ("gpt-4.1", "gpt-4.1"),
            ("qwen:7b", "qwen:7b"),
            ("unknown", "unknown"),
            ("", ""),
            ("Us.anthropic.claude-x-v1:0", "Us.claude-x"),
        ];
        for (input, want) in cases {
            assert_eq!(normalize_model_name(input), want, "input {input:?}");
        }
    }

    #[test]
    fn claude_family() {
        assert!(is_claude_family_model("claude-opus-4-1-20250805"));
        assert!(is_claude_family_model(
            "us.anthropic.claude-sonnet-4-20250514-v1:0"
        ));
        assert!(is_claude_family_model("CCR,claude-3-5-haiku"));
        assert!(is_claude_family_model("opus"));
        assert!(!is_claude_family_model("gpt-5"));
        assert!(!is_claude_family_model("gemini-2.5-pro"));
        assert!(!is_claude_family_model(""));
    }

    #[test]
    fn js_numbers() {
        assert_eq!(js_number_string(10.0), "10");
        assert_eq!(js_number_string(10.5), "10.5");
        assert_eq!(js_number_string(0.1), "0.1");
        assert_eq!(js_number_string(-3.0), "-3");
        assert_eq!(js_number_string(1e-7), "1e-7");
        assert_eq!(js_number_string(1.5e21), "1.5e+21");
        assert_eq!(js_number_string(123456789.0), "123456789");
    }
}
