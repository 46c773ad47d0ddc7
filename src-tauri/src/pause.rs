//! The tray's "Pause alerts ▸" choices and the instant each one pauses until, computed purely
//! from `now` on the given local clock ("until 09:00 tomorrow" survives daylight-saving gaps).

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};
use relaywatch_core::config::Lang;

use crate::labels as L;

/// One entry of the pause submenu.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PauseChoice {
    ThirtyMinutes,
    OneHour,
    UntilNineTomorrow,
    Resume,
}

impl PauseChoice {
    pub const ALL: [PauseChoice; 4] = [
        PauseChoice::ThirtyMinutes,
        PauseChoice::OneHour,
        PauseChoice::UntilNineTomorrow,
        PauseChoice::Resume,
    ];

    /// The menu item id.
    pub fn id(self) -> &'static str {
        match self {
            PauseChoice::ThirtyMinutes => "pause:30m",
            PauseChoice::OneHour => "pause:1h",
            PauseChoice::UntilNineTomorrow => "pause:tomorrow",
            PauseChoice::Resume => "pause:resume",
        }
    }

    /// The menu label in `lang`.
    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            PauseChoice::ThirtyMinutes => L::PAUSE_30M,
            PauseChoice::OneHour => L::PAUSE_1H,
            PauseChoice::UntilNineTomorrow => L::PAUSE_TOMORROW,
            PauseChoice::Resume => L::RESUME,
        }
        .get(lang)
    }

    pub fn from_id(id: &str) -> Option<PauseChoice> {
        PauseChoice::ALL.into_iter().find(|c| c.id() == id)
    }

    /// Paused until when (`None`: resume now), for `now` on the local clock `tz`.
    pub fn until<Tz: TimeZone>(self, now: DateTime<Utc>, tz: &Tz) -> Option<DateTime<Utc>> {
        match self {
            PauseChoice::ThirtyMinutes => Some(now + Duration::minutes(30)),
            PauseChoice::OneHour => Some(now + Duration::hours(1)),
            PauseChoice::UntilNineTomorrow => Some(nine_tomorrow(now, tz)),
            PauseChoice::Resume => None,
        }
    }
}

/// 09:00 on the local day after `now`'s (the first valid local instant at or after it when a
/// clock change skips 09:00).
pub fn nine_tomorrow<Tz: TimeZone>(now: DateTime<Utc>, tz: &Tz) -> DateTime<Utc> {
    let local = now.with_timezone(tz);
    let day = local.date_naive() + Duration::days(1);
    let nine = NaiveTime::from_hms_opt(9, 0, 0).unwrap_or_default();
    let mut t = day.and_time(nine);
    for _ in 0..4 {
        if let Some(dt) = tz.from_local_datetime(&t).earliest() {
            return dt.with_timezone(&Utc);
        }
        t += Duration::minutes(30);
    }
    (day.and_time(nine) - Duration::hours(8)).and_utc()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::FixedOffset;

    #[test]
    fn choices_pause_for_their_span() {
        let now = Utc.with_ymd_and_hms(2026, 11, 22, 7, 0, 0).unwrap();
        let tz = FixedOffset::east_opt(8 * 3600).unwrap();
        assert_eq!(
            PauseChoice::ThirtyMinutes.until(now, &tz),
            Some(now + Duration::minutes(30))
        );
        assert_eq!(PauseChoice::Resume.until(now, &tz), None);
        // 15:00 local on the 22nd → 09:00 local on the 23rd = 01:00 UTC.
        assert_eq!(
            PauseChoice::UntilNineTomorrow.until(now, &tz),
            Some(Utc.with_ymd_and_hms(2026, 11, 23, 1, 0, 0).unwrap())
        );
        // Just after local midnight, "tomorrow" is the next calendar day still.
        let late = Utc.with_ymd_and_hms(2026, 11, 22, 16, 30, 0).unwrap(); // 00:30 local, 23rd
        assert_eq!(
            nine_tomorrow(late, &tz),
            Utc.with_ymd_and_hms(2026, 11, 24, 1, 0, 0).unwrap()
        );
    }

    #[test]
    fn ids_round_trip() {
        for c in PauseChoice::ALL {
            assert_eq!(PauseChoice::from_id(c.id()), Some(c));
        }
        assert_eq!(PauseChoice::from_id("pause:forever"), None);
    }
}
