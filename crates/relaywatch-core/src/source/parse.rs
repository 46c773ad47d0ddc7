//! Reading CRS's stored strings: counters, floats, booleans, ISO times and usage hashes, with
//! CRS's own read rules (legacy 30/70 split, `allTokens` fallback). Bad values are skipped and
//! counted in `Warnings`, never guessed. Pure.

use chrono::{DateTime, Utc};

use super::raw::{RawUsage, Warnings};

/// Field lookup over a hash's (field, value) pairs.
pub struct Fields<'a> {
    pub key: &'a str,
    pub pairs: &'a [(String, String)],
}

impl<'a> Fields<'a> {
    pub fn new(key: &'a str, pairs: &'a [(String, String)]) -> Self {
        Fields { key, pairs }
    }

    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.pairs
            .iter()
            .find(|(f, _)| f == name)
            .map(|(_, v)| v.as_str())
    }

    /// A HINCRBY counter; missing is None, non-numeric or negative is skipped with a warning.
    pub fn counter(&self, name: &str, w: &mut Warnings) -> Option<u64> {
        let raw = self.get(name)?;
        match parse_counter(raw) {
            Some(v) => Some(v),
            None => {
                w.add("non-numeric counter(s)", || {
                    format!("{} field {} = {:?}", self.key, name, truncate(raw))
                });
                None
            }
        }
    }

    /// The first present counter among names (CRS accepts `totalX` and `x`).
    pub fn counter_any(&self, names: &[&str], w: &mut Warnings) -> u64 {
        names
            .iter()
            .find_map(|n| self.get(n).map(|_| self.counter(n, w)))
            .flatten()
            .unwrap_or(0)
    }

    /// A float stored as a string (limits, costs); empty means absent.
    pub fn float(&self, name: &str, w: &mut Warnings) -> Option<f64> {
        let raw = self.get(name)?.trim();
        if raw.is_empty() {
            return None;
        }
        match raw.parse::<f64>() {
            Ok(v) if v.is_finite() => Some(v),
            _ => {
                w.add("non-numeric value(s)", || {
                    format!("{} field {} = {:?}", self.key, name, truncate(raw))
                });
                None
            }
        }
    }

    /// `'true'`/`'false'` as CRS stores booleans.
    pub fn boolean(&self, name: &str) -> Option<bool> {
        parse_bool(self.get(name)?)
    }

    pub fn time(&self, name: &str, w: &mut Warnings) -> Option<DateTime<Utc>> {
        let raw = self.get(name)?.trim();
        if raw.is_empty() {
            return None;
        }
        match parse_time(raw) {
            Some(t) => Some(t),
            None => {
                w.add("unreadable timestamp(s)", || {
                    format!("{} field {} = {:?}", self.key, name, truncate(raw))
                });
                None
            }
        }
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}

/// An integer counter as HINCRBY stores it. Accepts "12" and "12.0" (older float writes).
pub fn parse_counter(raw: &str) -> Option<u64> {
    let t = raw.trim();
    if let Ok(v) = t.parse::<u64>() {
        return Some(v);
    }
    match t.parse::<f64>() {
        Ok(f) if f.is_finite() && f >= 0.0 && f.fract() == 0.0 && f < 9.0e15 => Some(f as u64),
        _ => None,
    }
}

/// A float cost string (INCRBYFLOAT).
pub fn parse_float(raw: &str) -> Option<f64> {
    raw.trim().parse::<f64>().ok().filter(|v| v.is_finite())
}

pub fn parse_bool(raw: &str) -> Option<bool> {
    match raw.trim() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

/// ISO-8601 / RFC 3339 (`toISOString()`), or epoch milliseconds.
pub fn parse_time(raw: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Some(t.with_timezone(&Utc));
    }
    if let Ok(ms) = raw.parse::<i64>() {
        return DateTime::from_timestamp_millis(ms);
    }
    None
}

/// Which field names a usage hash uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsageNames {
    /// `requests`, `inputTokens`, … (daily/monthly/model/global hashes).
    Plain,
    /// `totalRequests`, `totalInputTokens`, … with the plain names accepted too (`usage:{id}`).
    Lifetime,
}

/// A usage hash as CRS reads it: a hash with `tokens` but no input/output split is legacy data,
/// split 30 % input / 70 % output; a missing `allTokens` is the sum of the four kinds.
pub fn usage(f: &Fields, names: UsageNames, w: &mut Warnings) -> RawUsage {
    let pick = |w: &mut Warnings, total: &str, plain: &str| match names {
        UsageNames::Plain => f.counter(plain, w).unwrap_or(0),
        UsageNames::Lifetime => f.counter_any(&[total, plain], w),
    };
    let requests = pick(w, "totalRequests", "requests");
    let core = pick(w, "totalTokens", "tokens");
    let mut input = pick(w, "totalInputTokens", "inputTokens");
    let mut output = pick(w, "totalOutputTokens", "outputTokens");
    let cache_create = pick(w, "totalCacheCreateTokens", "cacheCreateTokens");
    let cache_read = pick(w, "totalCacheReadTokens", "cacheReadTokens");
    let all = match names {
        UsageNames::Plain => f.counter("allTokens", w).unwrap_or(0),
        UsageNames::Lifetime => f
            .counter("totalAllTokens", w)
            .filter(|v| *v > 0)
            .or_else(|| f.counter("allTokens", w))
            .unwrap_or(0),
    };
    let ephemeral_5m = pick(w, "totalEphemeral5mTokens", "ephemeral5mTokens");
    let ephemeral_1h = pick(w, "totalEphemeral1hTokens", "ephemeral1hTokens");
    let mut cache_create = cache_create;
    let mut cache_read = cache_read;
    if core > 0 && input == 0 && output == 0 {
        input = (core as f64 * 0.3).round() as u64;
        output = (core as f64 * 0.7).round() as u64;
        if names == UsageNames::Lifetime {
            // getAllApiKeysFast: a legacy lifetime hash has no cache split.
            cache_create = 0;
            cache_read = 0;
        }
    }
    let four = input + output + cache_create + cache_read;
    let all_tokens = match (all, names) {
        (a, _) if a > 0 => a,
        (_, UsageNames::Lifetime) if four == 0 => core,
        _ => four,
    };
    RawUsage {
        requests,
        input,
        output,
        cache_create,
        cache_read,
        all_tokens,
        ephemeral_5m,
        ephemeral_1h,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn counters_and_bad_values() {
        let mut w = Warnings::default();
        let p = pairs(&[
            ("requests", "12"),
            ("inputTokens", "abc"),
            ("outputTokens", "-3"),
        ]);
        let f = Fields::new("usage:daily:k:2026-11-22", &p);
        let u = usage(&f, UsageNames::Plain, &mut w);
        assert_eq!(u.requests, 12);
        assert_eq!(u.input, 0);
        assert_eq!(u.output, 0);
        assert_eq!(w.count("non-numeric counter(s)"), 2);
        assert_eq!(w.lines().len(), 1);
    }

    #[test]
    fn legacy_split_and_all_tokens_fallback() {
        let mut w = Warnings::default();
        let p = pairs(&[
            ("tokens", "1000"),
            ("requests", "2"),
            ("cacheReadTokens", "5"),
        ]);
        let u = usage(&Fields::new("k", &p), UsageNames::Plain, &mut w);
        assert_eq!((u.input, u.output), (300, 700));
        assert_eq!(u.all_tokens, 1005);
        let p = pairs(&[
            ("totalRequests", "4"),
            ("totalInputTokens", "10"),
            ("outputTokens", "7"),
        ]);
        let u = usage(&Fields::new("usage:k", &p), UsageNames::Lifetime, &mut w);
        assert_eq!(
            (u.requests, u.input, u.output, u.all_tokens),
            (4, 10, 7, 17)
        );
        assert!(w.is_empty());
    }

    #[test]
    fn times_and_bools() {
        assert!(parse_time("2026-11-22T03:00:00.000Z").is_some());
        assert_eq!(
            parse_time("1763780400000").map(|t| t.timestamp()),
            Some(1763780400)
        );
        assert_eq!(parse_bool("true"), Some(true));
        assert_eq!(parse_bool("yes"), None);
        assert_eq!(parse_counter("12.0"), Some(12));
        assert_eq!(parse_counter("1.5"), None);
    }
}
