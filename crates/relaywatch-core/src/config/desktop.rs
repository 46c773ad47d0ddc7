//! `[desktop]`: what the tray app shows natively: which alert levels become desktop
//! notifications, whether a chat delivery that finally failed is announced, quiet hours for
//! those notifications (on the machine's local clock), and how often the tray is refreshed.
//! Validation names the field and the fix; `notifies` is pure and takes `now`.

use chrono::{DateTime, NaiveTime, TimeZone};
use serde::{Deserialize, Serialize};

use super::alerts::parse_window;
use crate::error::FieldError;
use crate::model::Level;

/// Allowed range of `desktop.poll_seconds`.
pub const POLL_SECONDS: (u64, u64) = (1, 3600);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DesktopSettings {
    /// Native notifications at all (the tray icon still reflects the state when off).
    pub notifications: bool,
    /// Per level: critical alerts, warnings, informational messages, resolutions.
    pub notify_critical: bool,
    pub notify_warning: bool,
    pub notify_info: bool,
    pub notify_resolved: bool,
    /// A local notification when a chat delivery has failed for good.
    pub notify_delivery_failures: bool,
    /// `"22:00-08:00"` on this machine's clock: no notifications then (critical ones too,
    /// unless `critical_in_quiet_hours`). `None`: never quiet.
    pub quiet_hours: Option<String>,
    /// Critical alerts still notify during quiet hours.
    pub critical_in_quiet_hours: bool,
    /// How often the tray icon and menu are refreshed, in seconds.
    pub poll_seconds: u64,
}

impl Default for DesktopSettings {
    fn default() -> Self {
        DesktopSettings {
            notifications: true,
            notify_critical: true,
            notify_warning: true,
            notify_info: false,
            notify_resolved: true,
            notify_delivery_failures: true,
            quiet_hours: None,
            critical_in_quiet_hours: true,
            // The relay is read once a minute; alerts, pauses and the engine's health redraw
            // the tray at once, so a shorter wait only costs idle CPU.
            poll_seconds: 60,
        }
    }
}

impl DesktopSettings {
    /// Every invalid value, with its field and fix.
    pub fn problems(&self) -> Vec<FieldError> {
        let mut e = Vec::new();
        if let Some(q) = &self.quiet_hours {
            if parse_window(q).is_none() {
                e.push(FieldError {
                    field: "desktop.quiet_hours".into(),
                    value: format!("{q:?}"),
                    fix: "must be \"HH:MM-HH:MM\" with two different times, e.g. \"22:00-08:00\" (remove the line to never be quiet)".into(),
                });
            }
        }
        let (lo, hi) = POLL_SECONDS;
        if self.poll_seconds < lo || self.poll_seconds > hi {
            e.push(FieldError {
                field: "desktop.poll_seconds".into(),
                value: self.poll_seconds.to_string(),
                fix: format!("must be between {lo} and {hi}"),
            });
        }
        e
    }

    /// Whether the local time `now` falls in the quiet hours.
    pub fn is_quiet<Tz: TimeZone>(&self, now: &DateTime<Tz>) -> bool {
        let Some((start, end)) = self.quiet_hours.as_deref().and_then(parse_window) else {
            return false;
        };
        let t: NaiveTime = now.naive_local().time();
        if start < end {
            start <= t && t < end
        } else {
            t >= start || t < end
        }
    }

    /// Whether a message of `level` becomes a desktop notification at local time `now`.
    pub fn notifies<Tz: TimeZone>(&self, level: Level, now: &DateTime<Tz>) -> bool {
        if !self.notifications {
            return false;
        }
        let on = match level {
            Level::Critical => self.notify_critical,
            Level::Warning => self.notify_warning,
            Level::Info => self.notify_info,
            Level::Resolved => self.notify_resolved,
        };
        if !on {
            return false;
        }
        if self.is_quiet(now) {
            return level == Level::Critical && self.critical_in_quiet_hours;
        }
        true
    }

    /// Whether a failed delivery is announced at local time `now`.
    pub fn notifies_failure<Tz: TimeZone>(&self, now: &DateTime<Tz>) -> bool {
        self.notifications && self.notify_delivery_failures && !self.is_quiet(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::FixedOffset;

    fn at(hh: u32, mm: u32) -> DateTime<FixedOffset> {
        FixedOffset::east_opt(8 * 3600)
            .unwrap()
            .with_ymd_and_hms(2026, 11, 22, hh, mm, 0)
            .unwrap()
    }

    #[test]
    fn defaults_are_valid_and_notify_alerts_but_not_info() {
        let d = DesktopSettings::default();
        assert!(d.problems().is_empty());
        assert!(d.notifies(Level::Critical, &at(12, 0)));
        assert!(d.notifies(Level::Warning, &at(12, 0)));
        assert!(d.notifies(Level::Resolved, &at(12, 0)));
        assert!(!d.notifies(Level::Info, &at(12, 0)));
        assert!(d.notifies_failure(&at(3, 0)));
    }

    #[test]
    fn quiet_hours_wrap_midnight_and_let_critical_through() {
        let d = DesktopSettings {
            quiet_hours: Some("22:00-08:00".into()),
            ..Default::default()
        };
        assert!(d.is_quiet(&at(23, 30)));
        assert!(d.is_quiet(&at(7, 59)));
        assert!(!d.is_quiet(&at(8, 0)));
        assert!(!d.notifies(Level::Warning, &at(2, 0)));
        assert!(d.notifies(Level::Critical, &at(2, 0)));
        assert!(!d.notifies_failure(&at(2, 0)));
        let strict = DesktopSettings {
            critical_in_quiet_hours: false,
            ..d
        };
        assert!(!strict.notifies(Level::Critical, &at(2, 0)));
        assert!(strict.notifies(Level::Critical, &at(12, 0)));
    }

    #[test]
    fn bad_values_name_the_field_and_the_fix() {
        let d = DesktopSettings {
            quiet_hours: Some("late".into()),
            poll_seconds: 0,
            ..Default::default()
        };
        let p = d.problems();
        assert_eq!(p.len(), 2, "{p:?}");
        assert_eq!(p[0].field, "desktop.quiet_hours");
        assert!(p[0].fix.contains("22:00-08:00"));
        assert_eq!(p[1].field, "desktop.poll_seconds");
        assert_eq!(p[1].fix, "must be between 1 and 3600");
    }

    #[test]
    fn switching_notifications_off_silences_everything() {
        let d = DesktopSettings {
            notifications: false,
            ..Default::default()
        };
        assert!(!d.notifies(Level::Critical, &at(12, 0)));
        assert!(!d.notifies_failure(&at(12, 0)));
    }
}
