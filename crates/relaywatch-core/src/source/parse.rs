//! Reading CRS's stored strings: counters, floats, booleans, ISO times and usage hashes, with
//! CRS's own read rules (legacy 30/70 split, `allTokens` fallback). Bad values are skipped and
//! counted in `Warnings`, never guessed. Pure.

use chrono::{DateTime, Utc};

use super::raw::{capped_add, RawUsage, Warnings, MAX_COUNT};

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

    /// A HINCRBY counter; missing is None, anything but an integer in 0…2^53 is skipped with a
    /// warning naming the key and field.
    pub fn counter(&self, name: &str, w: &mut Warnings) -> Option<u64> {
        let raw = self.get(name)?;
        match read_counter(raw) {
            Ok(v) => Some(v),
            Err(bad) => {
                w.add(bad.kind(), || {
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

/// Why a stored counter was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadCounter {
    /// Not a plain decimal integer (text, a fraction, an exponent, empty).
    NotANumber,
    /// An integer, but negative or above 2^53.
    OutOfRange,
}

impl BadCounter {
    /// The warning kind.
    pub fn kind(self) -> &'static str {
        match self {
            BadCounter::NotANumber => "non-numeric counter(s)",
            BadCounter::OutOfRange => "counter(s) outside 0…2^53",
        }
    }
}

/// An integer counter as HINCRBY stores it, in 0…2^53 (`MAX_COUNT`). Accepts "12" and "12.0"
/// (older float writes); rejects fractions, exponents, signs other than a lone minus (negative:
/// out of range) and values past 2^53, which CRS's JavaScript could not hold exactly.
pub fn read_counter(raw: &str) -> Result<u64, BadCounter> {
    let t = raw.trim();
    let (negative, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !digits(int) || !digits(frac) {
        return Err(BadCounter::NotANumber);
    }
    if frac.bytes().any(|b| b != b'0') {
        return Err(BadCounter::NotANumber);
    }
    let zero = int.bytes().all(|b| b == b'0');
    if negative && !zero {
        return Err(BadCounter::OutOfRange);
    }
    match int.parse::<u64>() {
        Ok(v) if v <= MAX_COUNT => Ok(v),
        _ => Err(BadCounter::OutOfRange),
    }
}

/// `read_counter`, without the reason.
pub fn parse_counter(raw: &str) -> Option<u64> {
    read_counter(raw).ok()
}

/// The largest cost read, in USD: 2^53 micro-USD, where CRS's integer micro counters stop being
/// exact. No key spends nine billion dollars; a larger value is corrupt.
pub const MAX_COST_USD: f64 = MAX_COUNT as f64 / 1e6;

/// A float cost string (INCRBYFLOAT): finite, not negative (CRS only ever adds positive costs)
/// and at most `MAX_COST_USD`.
pub fn parse_float(raw: &str) -> Option<f64> {
    raw.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && (0.0..=MAX_COST_USD).contains(v))
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
    let (four, capped) =
        [output, cache_create, cache_read]
            .into_iter()
            .fold((input, false), |(s, c), v| {
                let (s, now) = capped_add(s, v);
                (s, c || now)
            });
    if capped {
        w.capped(|| format!("{} token kinds", f.key));
    }
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
        assert_eq!(w.count("non-numeric counter(s)"), 1);
        assert_eq!(w.count("counter(s) outside 0…2^53"), 1);
        assert_eq!(w.lines().len(), 2);
        assert!(w
            .lines()
            .iter()
            .any(|l| l.contains("usage:daily:k:2026-11-22 field outputTokens")));
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

    #[test]
    fn counters_are_integers_in_0_to_2_pow_53() {
        use BadCounter::*;
        assert_eq!(read_counter(" 717 "), Ok(717));
        assert_eq!(read_counter("9007199254740992"), Ok(MAX_COUNT));
        assert_eq!(read_counter("9007199254740993"), Err(OutOfRange));
        assert_eq!(read_counter("18446744073709551615"), Err(OutOfRange)); // 2^64 − 1
        assert_eq!(read_counter("9223372036854776391"), Err(OutOfRange)); // 2^63 + …
        assert_eq!(read_counter("99999999999999999999999"), Err(OutOfRange));
        assert_eq!(read_counter("-3"), Err(OutOfRange));
        assert_eq!(read_counter("-0"), Ok(0));
        assert_eq!(read_counter("12.00"), Ok(12));
        for bad in [
            "", "-", "abc", "12abc", "1e3", "+5", "1.5", "0x10", "NaN", "inf", ".5", "1 2",
        ] {
            assert_eq!(read_counter(bad), Err(NotANumber), "{bad:?}");
        }
    }

    #[test]
    fn costs_are_finite_non_negative_and_bounded() {
        assert_eq!(parse_float("0.0123"), Some(0.0123));
        assert_eq!(parse_float("-1"), None);
        assert_eq!(parse_float("inf"), None);
        assert_eq!(parse_float("NaN"), None);
        assert_eq!(parse_float("1e300"), None);
        assert_eq!(parse_float("9007199254.740992"), Some(MAX_COST_USD));
    }

    #[test]
    fn huge_token_kinds_stop_at_2_pow_53() {
        let mut w = Warnings::default();
        let big = MAX_COUNT.to_string();
        let p = pairs(&[("inputTokens", &big), ("outputTokens", &big)]);
        let u = usage(
            &Fields::new("usage:model:daily:m:2026-11-22", &p),
            UsageNames::Plain,
            &mut w,
        );
        assert_eq!(u.all_tokens, MAX_COUNT);
        assert_eq!(w.count(crate::source::raw::CAPPED_SUMS), 1);
    }
}
