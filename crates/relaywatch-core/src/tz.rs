//! The relay's clock: CRS's `TIMEZONE_OFFSET` semantics (integer hours, 0 means 8) and the date,
//! month, hour and epoch-minute bucket names it writes. Pure: every function takes the instant.

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, Utc};

/// CRS's default offset, used when the configured one is 0 or missing.
pub const DEFAULT_OFFSET_HOURS: i32 = 8;

/// A relay timezone: a whole number of hours east of UTC, as CRS applies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelayTz {
    hours: i32,
}

impl RelayTz {
    /// CRS reads `parseInt(TIMEZONE_OFFSET) || 8` and applies `|| 8` again: fractions truncate
    /// and 0 becomes 8, so a relay configured for UTC really buckets in UTC+8.
    pub fn from_config(hours: i32) -> Self {
        RelayTz {
            hours: if hours == 0 {
                DEFAULT_OFFSET_HOURS
            } else {
                hours
            },
        }
    }

    pub fn hours(self) -> i32 {
        self.hours
    }

    pub fn offset(self) -> FixedOffset {
        FixedOffset::east_opt(self.hours * 3600)
            .unwrap_or_else(|| FixedOffset::east_opt(0).unwrap())
    }

    /// The instant as seen on the relay's clock.
    pub fn local(self, at: DateTime<Utc>) -> DateTime<FixedOffset> {
        at.with_timezone(&self.offset())
    }

    /// `YYYY-MM-DD` on the relay's clock.
    pub fn date(self, at: DateTime<Utc>) -> String {
        self.local(at).format("%Y-%m-%d").to_string()
    }

    /// `YYYY-MM` on the relay's clock.
    pub fn month(self, at: DateTime<Utc>) -> String {
        self.local(at).format("%Y-%m").to_string()
    }

    /// `YYYY-MM-DD:HH` on the relay's clock (the colon is CRS's).
    pub fn hour(self, at: DateTime<Utc>) -> String {
        self.local(at).format("%Y-%m-%d:%H").to_string()
    }

    /// The relay-local calendar day of an instant.
    pub fn day(self, at: DateTime<Utc>) -> NaiveDate {
        self.local(at).date_naive()
    }

    /// The last `n` relay-local dates ending today, oldest first (as CRS builds its trend:
    /// `today - i days` for i in n-1..=0).
    pub fn last_dates(self, at: DateTime<Utc>, n: u32) -> Vec<String> {
        (0..n as i64)
            .rev()
            .map(|i| self.date(at - Duration::days(i)))
            .collect()
    }
}

/// UTC epoch minute: CRS's `system:metrics:minute:*` buckets are not shifted.
pub fn epoch_minute(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn zero_offset_means_eight_as_in_crs() {
        assert_eq!(RelayTz::from_config(0).hours(), 8);
        assert_eq!(RelayTz::from_config(-5).hours(), -5);
    }

    #[test]
    fn buckets_follow_the_shifted_clock() {
        let tz = RelayTz::from_config(8);
        let at = Utc.with_ymd_and_hms(2026, 11, 21, 16, 30, 0).unwrap();
        assert_eq!(tz.date(at), "2026-11-22");
        assert_eq!(tz.hour(at), "2026-11-22:00");
        assert_eq!(tz.month(at), "2026-11");
        assert_eq!(epoch_minute(at), at.timestamp() / 60);
        assert_eq!(
            tz.last_dates(at, 3),
            vec!["2026-11-20", "2026-11-21", "2026-11-22"]
        );
    }
}
