//! Time periods in CRS key names: the weekly Opus period (`YYYY-MM-DDTHH`, and the `YYYY-Wxx`
//! week older relays used) and the month names of `usage:model:monthly:months`. Rule: each name
//! is computed exactly as CRS computes it on the relay's clock.

use chrono::{DateTime, Datelike, Duration as Days, Timelike, Utc};

use crate::tz::RelayTz;

/// A month name as CRS writes it: `YYYY-MM`.
pub(super) fn is_month(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 7
        && b[4] == b'-'
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[5..].iter().all(u8::is_ascii_digit)
}

/// The start of the key's current weekly Opus period on the relay's clock, `YYYY-MM-DDTHH`:
/// the latest `weeklyResetDay` (1 = Monday … 7 = Sunday) at `weeklyResetHour` not after now.
pub fn opus_period(now: DateTime<Utc>, tz: RelayTz, reset_day: u32, reset_hour: u32) -> String {
    let local = tz.local(now);
    let weekday = local.weekday().number_from_monday(); // 1..=7
    let mut back = (weekday + 7 - reset_day.clamp(1, 7)) % 7;
    if back == 0 && local.hour() < reset_hour {
        back = 7;
    }
    let start = local.date_naive() - Days::days(back as i64);
    format!("{}T{:02}", start.format("%Y-%m-%d"), reset_hour.min(23))
}

/// The week name older CRS versions (before v1.1.281) gave the weekly Opus key,
/// `getWeekStringInTimezone`: `YYYY-Wxx` where the year is the relay-local calendar year and the
/// week is `ceil(((thursday_of_this_week - Jan 1 of that Thursday's year) / 1 day + 1) / 7)`,
/// the Thursday keeping the time of day (CRS runs Node in UTC).
pub fn legacy_opus_week(now: DateTime<Utc>, tz: RelayTz) -> String {
    let shifted = now + Days::hours(tz.hours() as i64);
    let year = shifted.year();
    let from_monday = shifted.weekday().number_from_monday() as i64; // Sunday is 7
    let thursday = shifted + Days::days(4 - from_monday);
    let jan1 = chrono::NaiveDate::from_ymd_opt(thursday.year(), 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc())
        .unwrap_or(thursday);
    let days = (thursday - jan1).num_milliseconds() as f64 / 86_400_000.0;
    let week = ((days + 1.0) / 7.0).ceil() as i64;
    format!("{year}-W{week:02}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn opus_period_starts_at_the_last_reset() {
        let tz = RelayTz::from_config(8);
        // Sunday 2026-11-22 12:00 +08:00.
        let now = Utc.with_ymd_and_hms(2026, 11, 22, 4, 0, 0).unwrap();
        assert_eq!(opus_period(now, tz, 1, 0), "2026-11-16T00");
        assert_eq!(opus_period(now, tz, 7, 9), "2026-11-22T09");
        assert_eq!(opus_period(now, tz, 7, 13), "2026-11-15T13");
    }

    #[test]
    fn legacy_week_names() {
        let tz = RelayTz::from_config(8);
        // Sunday 2026-11-22 (local): Thursday of that Monday-based week is 2026-11-19.
        let now = Utc.with_ymd_and_hms(2026, 11, 22, 4, 0, 0).unwrap();
        assert_eq!(legacy_opus_week(now, tz), "2026-W47");
        // Thursday 2026-01-01 local morning.
        let jan = Utc.with_ymd_and_hms(2026, 1, 1, 1, 0, 0).unwrap();
        assert_eq!(legacy_opus_week(jan, tz), "2026-W01");
    }
}
