//! CRS's date buckets and timestamp strings; rule: every string is built exactly as `src/models/redis.js` (getDateInTimezone and friends) and `Date.prototype.toISOString` build it.
//!
//! CRS shifts the real instant by `TIMEZONE_OFFSET` hours and then reads the
//! parts with `getUTC*()`, so a bucket is "the UTC calendar of `at + offset`".
//! Minute buckets are *not* shifted: they are `floor(epoch_ms / 60000)`.

use chrono::{DateTime, Datelike, Duration, NaiveTime, Timelike, Utc};

/// CRS's default offset (UTC+8), used whenever the configured offset is 0.
pub const DEFAULT_TZ_OFFSET_HOURS: i32 = 8;

/// The offset CRS really uses for a configured value.
///
/// `config.js` does `parseInt(process.env.TIMEZONE_OFFSET) || 8` and `redis.js`
/// applies `config.system.timezoneOffset || 8` again, so 0 (UTC) is impossible:
/// it becomes 8. Any other whole number of hours is kept.
pub fn effective_tz_offset(configured_hours: i32) -> i32 {
    if configured_hours == 0 {
        DEFAULT_TZ_OFFSET_HOURS
    } else {
        configured_hours
    }
}

/// Same as [`effective_tz_offset`] but from the raw `TIMEZONE_OFFSET` text
/// (`parseInt` semantics: leading integer part, "5.5" is 5, junk or empty is 8).
pub fn effective_tz_offset_from_env(raw: Option<&str>) -> i32 {
    let parsed = raw.and_then(|s| {
        let s = s.trim_start();
        let (sign, digits) = match s.strip_prefix('-') {
            Some(rest) => (-1, rest),
            None => (1, s.strip_prefix('+').unwrap_or(s)),
        };
        let end = digits
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(digits.len());
        digits[..end].parse::<i32>().ok().map(|v| sign * v)
    });
    effective_tz_offset(parsed.unwrap_or(0))
}

/// `getDateInTimezone(at)`: the instant shifted by `offset_hours`.
pub fn shifted(at: DateTime<Utc>, offset_hours: i32) -> DateTime<Utc> {
    at + Duration::hours(i64::from(offset_hours))
}

/// DATE bucket, `YYYY-MM-DD` (`getDateStringInTimezone`).
pub fn date_string(at: DateTime<Utc>, offset_hours: i32) -> String {
    shifted(at, offset_hours).format("%Y-%m-%d").to_string()
}

/// MONTH bucket, `YYYY-MM`.
pub fn month_string(at: DateTime<Utc>, offset_hours: i32) -> String {
    shifted(at, offset_hours).format("%Y-%m").to_string()
}

/// HOUR bucket, `YYYY-MM-DD:HH` (note the colon).
pub fn hour_string(at: DateTime<Utc>, offset_hours: i32) -> String {
    shifted(at, offset_hours).format("%Y-%m-%d:%H").to_string()
}

/// `Math.floor(ms / 60000)`: the unshifted UTC epoch minute used by
/// `system:metrics:minute:{minute}`.
pub fn epoch_minute(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis().div_euclid(60_000)
}

/// `getPeriodString(resetDay, resetHour, at)`: the start of the key's weekly
/// Opus period as `YYYY-MM-DDThh` in the shifted clock.
///
/// `reset_day` is 1 (Monday) ..= 7 (Sunday), `reset_hour` 0..=23. Out-of-range
/// values behave as JavaScript would (`%` keeps the sign, `setUTCHours` rolls over).
pub fn period_string(
    at: DateTime<Utc>,
    offset_hours: i32,
    reset_day: i64,
    reset_hour: i64,
) -> String {
    let tz = shifted(at, offset_hours);
    let current_day = i64::from(tz.weekday().number_from_monday());
    let current_hour = i64::from(tz.hour());
    let mut days_since_reset = (current_day - reset_day + 7) % 7;
    if days_since_reset == 0 && current_hour < reset_hour {
        days_since_reset = 7;
    }
    let start_date = tz.date_naive() - Duration::days(days_since_reset);
    let start = start_date.and_time(NaiveTime::MIN) + Duration::hours(reset_hour);
    start.format("%Y-%m-%dT%H").to_string()
}

/// `Date.prototype.toISOString()`: always milliseconds and a `Z`.
pub fn iso(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    #[test]
    fn buckets_shift_by_offset() {
        // 2025-07-30 17:30 UTC is 2025-07-31 01:30 at UTC+8.
        let at = t(2025, 7, 30, 17, 30);
        assert_eq!(date_string(at, 8), "2025-07-31");
        assert_eq!(month_string(at, 8), "2025-07");
        assert_eq!(hour_string(at, 8), "2025-07-31:01");
        assert_eq!(date_string(at, -5), "2025-07-30");
        assert_eq!(hour_string(at, -5), "2025-07-30:12");
        assert_eq!(epoch_minute(at), at.timestamp() / 60);
    }

    #[test]
    fn offset_zero_becomes_eight() {
        assert_eq!(effective_tz_offset(0), 8);
        assert_eq!(effective_tz_offset(-3), -3);
        assert_eq!(effective_tz_offset_from_env(Some("5.5")), 5);
        assert_eq!(effective_tz_offset_from_env(Some("0")), 8);
        assert_eq!(effective_tz_offset_from_env(Some("-7")), -7);
        assert_eq!(effective_tz_offset_from_env(Some("abc")), 8);
        assert_eq!(effective_tz_offset_from_env(None), 8);
    }

    #[test]
    fn period_string_matches_crs() {
        // 2026-03-04 is a Wednesday. At UTC+8, 02:00 UTC is 10:00 local.
        let wed = t(2026, 3, 4, 2, 0);
        assert_eq!(period_string(wed, 8, 1, 0), "2026-03-02T00");
        // Reset on Wednesday at 12:00: 10:00 local is before it, so last week's.
        assert_eq!(period_string(wed, 8, 3, 12), "2026-02-25T12");
        // Reset on Wednesday at 09:00: already started.
        assert_eq!(period_string(wed, 8, 3, 9), "2026-03-04T09");
        // Reset on Sunday.
        assert_eq!(period_string(wed, 8, 7, 0), "2026-03-01T00");
    }

    #[test]
    fn iso_has_millis() {
        let at = Utc.timestamp_millis_opt(1_700_000_000_123).unwrap();
        assert_eq!(iso(at), "2023-11-14T22:13:20.123Z");
    }
}
