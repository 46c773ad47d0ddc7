//! Claude Code Hub's time zone and limit windows; rule: pure — the zone and `now` in, instants
//! out — and CCH's own rules: the zone is `[source] timezone`, else `system_settings.timezone`,
//! else the relay host's `TZ`, else UTC; days, weeks (from Monday 00:00) and months (from the
//! 1st) are cut on that zone's clock; the 5 h window rolls; a daily limit either resets at its
//! `daily_reset_time` (`fixed`) or rolls over 24 h (`rolling`); a total counts since the last
//! cost reset. Each window starts no earlier than the entity's cost reset (CCH's quota page
//! honours a key's `cost_reset_at` for every period).

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

/// The zone CCH itself uses: the first valid of `configured`, `system`, `host_tz`; else UTC.
pub fn resolve_zone(configured: Option<&str>, system: Option<&str>, host_tz: Option<&str>) -> Tz {
    [configured, system, host_tz]
        .into_iter()
        .flatten()
        .find_map(|z| z.trim().parse::<Tz>().ok())
        .unwrap_or(chrono_tz::UTC)
}

/// Local midnight of `d` (the earliest instant of that day where a DST gap moves it).
pub fn local_start(tz: Tz, d: NaiveDate) -> DateTime<Utc> {
    local_at(tz, d, NaiveTime::MIN)
}

fn local_at(tz: Tz, d: NaiveDate, t: NaiveTime) -> DateTime<Utc> {
    let naive = d.and_time(t);
    match tz.from_local_datetime(&naive) {
        chrono::LocalResult::Single(x) => x.with_timezone(&Utc),
        chrono::LocalResult::Ambiguous(a, _) => a.with_timezone(&Utc),
        // In a spring-forward gap: the first instant after it.
        chrono::LocalResult::None => tz
            .from_local_datetime(&(naive + Duration::hours(1)))
            .earliest()
            .map(|x| x.with_timezone(&Utc))
            .unwrap_or_else(|| Utc.from_utc_datetime(&naive)),
    }
}

/// The local date of `now`.
pub fn local_day(tz: Tz, now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&tz).date_naive()
}

/// A limit period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    FiveHours,
    Daily,
    Weekly,
    Monthly,
    Total,
}

impl Period {
    pub const ALL: [Period; 5] = [
        Period::FiveHours,
        Period::Daily,
        Period::Weekly,
        Period::Monthly,
        Period::Total,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Period::FiveHours => "5h",
            Period::Daily => "daily",
            Period::Weekly => "weekly",
            Period::Monthly => "monthly",
            Period::Total => "total",
        }
    }
}

/// How an entity's daily limit resets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DailyReset {
    /// `rolling` (24 h back) or `fixed` (at `time` each day).
    pub rolling: bool,
    /// `HH:mm` on the zone's clock (default 00:00).
    pub time: NaiveTime,
}

impl DailyReset {
    /// From CCH's columns (`daily_reset_mode`, `daily_reset_time`); bad values read as CCH's
    /// defaults (fixed at 00:00).
    pub fn parse(mode: Option<&str>, time: Option<&str>) -> Self {
        DailyReset {
            rolling: mode.is_some_and(|m| m.trim().eq_ignore_ascii_case("rolling")),
            time: time
                .and_then(|t| NaiveTime::parse_from_str(t.trim(), "%H:%M").ok())
                .unwrap_or(NaiveTime::MIN),
        }
    }
}

/// Where `period`'s current window starts at `now` (`None`: since the beginning).
pub fn window_start(
    period: Period,
    tz: Tz,
    now: DateTime<Utc>,
    daily: &DailyReset,
    reset_at: Option<DateTime<Utc>>,
) -> Option<DateTime<Utc>> {
    let day = local_day(tz, now);
    let start = match period {
        Period::FiveHours => Some(now - Duration::hours(5)),
        Period::Daily if daily.rolling => Some(now - Duration::hours(24)),
        Period::Daily => {
            let today = local_at(tz, day, daily.time);
            Some(if today <= now {
                today
            } else {
                local_at(tz, day - Duration::days(1), daily.time)
            })
        }
        Period::Weekly => {
            let monday = day - Duration::days(day.weekday().num_days_from_monday() as i64);
            Some(local_start(tz, monday))
        }
        Period::Monthly => Some(local_start(tz, day.with_day(1).unwrap_or(day))),
        Period::Total => None,
    };
    match (start, reset_at.filter(|r| *r <= now)) {
        (Some(s), Some(r)) => Some(s.max(r)),
        (None, r) => r,
        (s, None) => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn the_zone_follows_cch_order() {
        assert_eq!(
            resolve_zone(None, Some("Asia/Shanghai"), Some("UTC")),
            chrono_tz::Asia::Shanghai
        );
        assert_eq!(
            resolve_zone(Some("Europe/Berlin"), Some("Asia/Shanghai"), None),
            chrono_tz::Europe::Berlin
        );
        assert_eq!(
            resolve_zone(None, Some("Mars/Base"), Some("Asia/Tokyo")),
            chrono_tz::Asia::Tokyo
        );
        assert_eq!(resolve_zone(None, None, None), chrono_tz::UTC);
    }

    #[test]
    fn windows_on_shanghai_time() {
        let tz = chrono_tz::Asia::Shanghai;
        // Thursday 2026-12-03 10:30 in Shanghai.
        let now = at("2026-12-03T02:30:00Z");
        let fixed = DailyReset::parse(Some("fixed"), Some("12:00"));
        let w = |p, d: &DailyReset, r| window_start(p, tz, now, d, r);
        assert_eq!(
            w(Period::FiveHours, &fixed, None),
            Some(at("2026-12-02T21:30:00Z"))
        );
        // 12:00 today has not come: yesterday's 12:00.
        assert_eq!(
            w(Period::Daily, &fixed, None),
            Some(at("2026-12-02T04:00:00Z"))
        );
        let midnight = DailyReset::parse(None, None);
        assert_eq!(
            w(Period::Daily, &midnight, None),
            Some(at("2026-12-02T16:00:00Z"))
        );
        let rolling = DailyReset::parse(Some("rolling"), Some("12:00"));
        assert_eq!(
            w(Period::Daily, &rolling, None),
            Some(at("2026-12-02T02:30:00Z"))
        );
        assert_eq!(
            w(Period::Weekly, &midnight, None),
            Some(at("2026-11-29T16:00:00Z"))
        );
        assert_eq!(
            w(Period::Monthly, &midnight, None),
            Some(at("2026-11-30T16:00:00Z"))
        );
        assert_eq!(w(Period::Total, &midnight, None), None);
        // A cost reset inside a window moves its start; one in the future is ignored.
        let reset = Some(at("2026-12-03T01:00:00Z"));
        assert_eq!(w(Period::Weekly, &midnight, reset), reset);
        assert_eq!(w(Period::Total, &midnight, reset), reset);
        assert_eq!(
            w(Period::FiveHours, &midnight, reset),
            Some(at("2026-12-03T01:00:00Z"))
        );
        let later = Some(at("2026-12-04T00:00:00Z"));
        assert_eq!(w(Period::Total, &midnight, later), None);
    }
}
