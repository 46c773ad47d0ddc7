//! Catch-up after sleep or downtime: which fire, if any, to send now; rule: pure (`now` and
//! the last fire are arguments), the most recent missed fire within the grace window is sent
//! once, older missed fires are skipped and reported, and a first start sends no backlog.

use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::next::Fires;
use super::spec::Spec;

/// How late a missed fire may still be sent (1 h), unless a schedule sets `grace_minutes`.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(3600);

/// On a first start (no last fire recorded), a fire at most this long ago still counts as on
/// time, so a daemon started at 09:00:20 sends the 09:00 report; anything older is not sent.
pub const FIRST_START_TOLERANCE: Duration = Duration::from_secs(60);

/// Missed fires that were not sent (too old for the grace window, or superseded by a newer
/// missed fire): for the caller to log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Skipped {
    pub count: u64,
    pub oldest: DateTime<Utc>,
    pub newest: DateTime<Utc>,
}

/// What to do now for one schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    /// The fire to send now (its scheduled time, which may be up to `grace` in the past).
    pub fire: Option<DateTime<Utc>>,
    /// Missed fires that will never be sent.
    pub skipped: Option<Skipped>,
    /// The next fire after `now` (and after the last fire): when to look again.
    pub next: Option<DateTime<Utc>>,
}

impl Due {
    /// The newest fire this answer settles (sent or skipped): store it as the job's last fire
    /// (after sending), so the same fires are neither sent nor reported again.
    pub fn settled_up_to(&self) -> Option<DateTime<Utc>> {
        match (self.fire, self.skipped) {
            (Some(f), Some(s)) => Some(f.max(s.newest)),
            (Some(f), None) => Some(f),
            (None, Some(s)) => Some(s.newest),
            (None, None) => None,
        }
    }
}

/// Which fire of `spec` (in `tz`) should be sent at `now`, given the last fire already handled.
///
/// - Fires after `last_fire` up to and including `now` were missed (or are due right now).
/// - The newest of them is sent if it is at most `grace` old; every other one is skipped.
/// - With no `last_fire` (first start), only a fire within [`FIRST_START_TOLERANCE`] before
///   `now` counts, so a fresh install never sends a backlog and reports no skips.
pub fn due(
    spec: &Spec,
    tz: Tz,
    last_fire: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    grace: Duration,
) -> Due {
    let tolerance = chrono::Duration::from_std(FIRST_START_TOLERANCE).unwrap_or_default();
    let from = last_fire.unwrap_or(now - tolerance);
    let mut fires = Fires::new(spec, tz, from);
    let mut count = 0u64;
    let mut oldest = None;
    let mut newest = None;
    let mut before_newest = None;
    let mut next = None;
    for at in fires.by_ref() {
        if at > now {
            next = Some(at);
            break;
        }
        count += 1;
        oldest.get_or_insert(at);
        before_newest = newest;
        newest = Some(at);
    }
    let grace = chrono::Duration::from_std(grace).unwrap_or(chrono::Duration::MAX);
    let (fire, skipped_count, skipped_newest) = match newest {
        Some(n) if now - n <= grace => (Some(n), count - 1, before_newest),
        Some(n) => (None, count, Some(n)),
        None => (None, 0, None),
    };
    let skipped = match (oldest, skipped_newest) {
        (Some(oldest), Some(newest)) if skipped_count > 0 => Some(Skipped {
            count: skipped_count,
            oldest,
            newest,
        }),
        _ => None,
    };
    Due {
        fire,
        skipped,
        next,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    const HOUR: Duration = Duration::from_secs(3600);
    const TZ: Tz = chrono_tz::Asia::Shanghai;

    fn every_6h() -> Spec {
        Spec::parse("0 */6 * * *").unwrap()
    }

    #[test]
    fn on_time_fire_is_sent_and_the_next_one_named() {
        // 12:00 Shanghai = 04:00Z; the previous fire (06:00 local) was sent.
        let d = due(
            &every_6h(),
            TZ,
            Some(utc("2026-11-21T22:00:00Z")),
            utc("2026-11-22T04:00:05Z"),
            DEFAULT_GRACE,
        );
        assert_eq!(d.fire, Some(utc("2026-11-22T04:00:00Z")));
        assert_eq!(d.skipped, None);
        assert_eq!(d.next, Some(utc("2026-11-22T10:00:00Z")));
        assert_eq!(d.settled_up_to(), d.fire);
    }

    #[test]
    fn missed_fire_inside_the_grace_window_is_sent_once() {
        let last = utc("2026-11-21T22:00:00Z");
        let now = utc("2026-11-22T04:40:00Z"); // 40 min after the 12:00 fire
        let d = due(&every_6h(), TZ, Some(last), now, DEFAULT_GRACE);
        assert_eq!(d.fire, Some(utc("2026-11-22T04:00:00Z")));
        assert_eq!(d.skipped, None);
        // After sending, the caller stores the fire: the next tick sends nothing more.
        let again = due(&every_6h(), TZ, d.settled_up_to(), now, DEFAULT_GRACE);
        assert_eq!(again.fire, None);
        assert_eq!(again.skipped, None);
        assert_eq!(again.next, Some(utc("2026-11-22T10:00:00Z")));
    }

    #[test]
    fn missed_fire_outside_the_grace_window_is_skipped_and_reported() {
        let last = utc("2026-11-21T22:00:00Z");
        let now = utc("2026-11-22T05:30:00Z"); // 90 min late
        let d = due(&every_6h(), TZ, Some(last), now, DEFAULT_GRACE);
        assert_eq!(d.fire, None);
        let s = d.skipped.unwrap();
        assert_eq!(
            (s.count, s.oldest, s.newest),
            (1, utc("2026-11-22T04:00:00Z"), s.oldest)
        );
        assert_eq!(d.settled_up_to(), Some(s.newest));
        // A larger grace sends it.
        let d = due(&every_6h(), TZ, Some(last), now, 2 * HOUR);
        assert_eq!(d.fire, Some(utc("2026-11-22T04:00:00Z")));
    }

    #[test]
    fn laptop_asleep_for_three_days() {
        let last = utc("2026-11-19T04:00:00Z");
        // Wakes 20 min after a fire: that one is sent, the 11 before it are skipped.
        let now = utc("2026-11-22T04:20:00Z");
        let d = due(&every_6h(), TZ, Some(last), now, DEFAULT_GRACE);
        assert_eq!(d.fire, Some(utc("2026-11-22T04:00:00Z")));
        let s = d.skipped.unwrap();
        assert_eq!(s.count, 11);
        assert_eq!(s.oldest, utc("2026-11-19T10:00:00Z"));
        assert_eq!(s.newest, utc("2026-11-21T22:00:00Z"));
        // Wakes 3 h after a fire: nothing is sent, all 12 are skipped.
        let now = utc("2026-11-22T07:00:00Z");
        let d = due(&every_6h(), TZ, Some(last), now, DEFAULT_GRACE);
        assert_eq!(d.fire, None);
        assert_eq!(d.skipped.unwrap().count, 12);
        assert_eq!(d.settled_up_to(), Some(utc("2026-11-22T04:00:00Z")));
        assert_eq!(d.next, Some(utc("2026-11-22T10:00:00Z")));
    }

    #[test]
    fn first_start_sends_no_backlog() {
        // Started 5 min after a fire, never ran before: nothing sent, nothing reported.
        let d = due(
            &every_6h(),
            TZ,
            None,
            utc("2026-11-22T04:05:00Z"),
            DEFAULT_GRACE,
        );
        assert_eq!((d.fire, d.skipped), (None, None));
        assert_eq!(d.next, Some(utc("2026-11-22T10:00:00Z")));
        // Started within the tolerance: the fire is on time.
        let d = due(
            &every_6h(),
            TZ,
            None,
            utc("2026-11-22T04:00:40Z"),
            DEFAULT_GRACE,
        );
        assert_eq!(d.fire, Some(utc("2026-11-22T04:00:00Z")));
    }

    #[test]
    fn no_double_fire_at_the_same_instant_or_with_the_clock_behind() {
        let fire = utc("2026-11-22T04:00:00Z");
        let d = due(&every_6h(), TZ, Some(fire), fire, DEFAULT_GRACE);
        assert_eq!((d.fire, d.skipped), (None, None));
        // Another instance stored a later fire than our clock has reached.
        let d = due(
            &every_6h(),
            TZ,
            Some(fire),
            fire - chrono::Duration::seconds(3),
            DEFAULT_GRACE,
        );
        assert_eq!((d.fire, d.skipped), (None, None));
        assert_eq!(d.next, Some(utc("2026-11-22T10:00:00Z")));
    }
}
