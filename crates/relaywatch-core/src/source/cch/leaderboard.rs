//! The daily leaderboard's input on Claude Code Hub: every user (not deleted) with usage in the
//! window, and the window's label; rule: the calendar day is yesterday on the relay's clock, the
//! rolling window the last 24 hours (what CCH's own notification counts); the ranking itself is
//! the pure `rules::leaderboard::rank`.

use chrono::{DateTime, Duration, Utc};

use super::windows;
use crate::model::LeaderboardWindow;

/// `[from, to)` of the window at `now` in zone `tz`, and its label.
pub fn window(
    tz: chrono_tz::Tz,
    w: LeaderboardWindow,
    now: DateTime<Utc>,
) -> (DateTime<Utc>, DateTime<Utc>, String) {
    match w {
        LeaderboardWindow::CalendarDay => {
            let today = windows::local_day(tz, now);
            let y = today - Duration::days(1);
            (
                windows::local_start(tz, y),
                windows::local_start(tz, today),
                y.format("%Y-%m-%d").to_string(),
            )
        }
        LeaderboardWindow::Rolling24h => {
            let label = format!(
                "{} – {}",
                (now - Duration::hours(24))
                    .with_timezone(&tz)
                    .format("%m-%d %H:%M"),
                now.with_timezone(&tz).format("%m-%d %H:%M")
            );
            (
                now - Duration::hours(24),
                now + Duration::microseconds(1),
                label,
            )
        }
    }
}
