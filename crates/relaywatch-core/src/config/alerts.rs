//! `[alerts]`: the global switch, default channels, repeats of still-firing alerts and quiet
//! hours per channel (`[alerts.quiet_hours] team-wecom = "22:00-08:00"`); validation names every
//! bad field and its fix, and refuses channels that are not defined.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, FixedOffset, NaiveDateTime, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

use super::channels::ChannelSettings;
use super::quota::unknown_channels;
use crate::error::FieldError;
use crate::schedule::next::resolve_local;
use crate::schedule::{parse_tz, Tz};

/// Quiet hours of one channel: `"22:00-08:00"`, or `{ hours = "22:00-08:00", tz = "+08:00" }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum QuietHoursSetting {
    Hours(String),
    Detailed {
        hours: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tz: Option<String>,
    },
}

impl QuietHoursSetting {
    pub fn hours(&self) -> &str {
        match self {
            QuietHoursSetting::Hours(h) => h,
            QuietHoursSetting::Detailed { hours, .. } => hours,
        }
    }

    pub fn tz(&self) -> Option<&str> {
        match self {
            QuietHoursSetting::Hours(_) => None,
            QuietHoursSetting::Detailed { tz, .. } => tz.as_deref(),
        }
    }
}

/// `[alerts]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertsSettings {
    /// The global switch: `false` sends nothing and stops schedules.
    pub enabled: bool,
    /// Where alerts go when their rule names no channels; default every enabled channel.
    pub channels: Option<Vec<String>>,
    /// Minutes between repeats of a still-firing alert; 0 = never repeat.
    pub repeat_interval_minutes: u32,
    /// Repeats at most this many times per firing.
    pub max_repeats: u32,
    /// Timezone of quiet hours: an IANA name (`Asia/Shanghai`) or a fixed offset (`+08:00`,
    /// `UTC`); default the relay's clock.
    pub tz: Option<String>,
    /// Per channel name: a daily window during which alerts wait and then go out as one digest.
    pub quiet_hours: BTreeMap<String, QuietHoursSetting>,
}

impl Default for AlertsSettings {
    fn default() -> Self {
        AlertsSettings {
            enabled: true,
            channels: None,
            repeat_interval_minutes: 0,
            max_repeats: 3,
            tz: None,
            quiet_hours: BTreeMap::new(),
        }
    }
}

/// Allowed ranges of `[alerts]`.
pub const REPEAT_INTERVAL_MINUTES_MAX: u32 = 10_080;
pub const MAX_REPEATS_MAX: u32 = 100;

/// The clock quiet hours are read on: a fixed offset, or an IANA zone (daylight saving kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuietZone {
    Fixed(FixedOffset),
    Named(Tz),
}

impl QuietZone {
    /// The wall-clock time at `at`.
    pub fn local(self, at: DateTime<Utc>) -> NaiveDateTime {
        match self {
            QuietZone::Fixed(o) => at.with_timezone(&o).naive_local(),
            QuietZone::Named(tz) => at.with_timezone(&tz).naive_local(),
        }
    }

    /// The instant a wall-clock time stands for (the earlier of two, the gap's end for none).
    pub fn instant(self, local: NaiveDateTime) -> DateTime<Utc> {
        match self {
            QuietZone::Fixed(o) => {
                (local - Duration::seconds(o.local_minus_utc() as i64)).and_utc()
            }
            QuietZone::Named(tz) => resolve_local(tz, local).unwrap_or_else(|| local.and_utc()),
        }
    }
}

/// A fixed offset (`+08:00`, `UTC`) or an IANA zone name (`Asia/Shanghai`).
pub fn parse_zone(s: &str) -> Option<QuietZone> {
    parse_offset(s)
        .map(QuietZone::Fixed)
        .or_else(|| parse_tz(s).ok().map(QuietZone::Named))
}

/// A daily window on one clock; `start > end` spans midnight. `start == end` is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietWindow {
    pub start: NaiveTime,
    pub end: NaiveTime,
    pub zone: QuietZone,
}

fn parse_hhmm(s: &str) -> Option<NaiveTime> {
    let (h, m) = s.trim().split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return None;
    }
    NaiveTime::from_hms_opt(h.parse().ok()?, m.parse().ok()?, 0)
}

/// `HH:MM-HH:MM`.
pub fn parse_window(s: &str) -> Option<(NaiveTime, NaiveTime)> {
    let (a, b) = s.split_once('-')?;
    let (start, end) = (parse_hhmm(a)?, parse_hhmm(b)?);
    (start != end).then_some((start, end))
}

/// A fixed offset: `UTC`, `Z`, `+08:00`, `+0800`, `+8`, `-05:30`.
pub fn parse_offset(s: &str) -> Option<FixedOffset> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("utc") || t == "Z" {
        return FixedOffset::east_opt(0);
    }
    let t = t.strip_prefix("UTC").unwrap_or(t);
    let (sign, rest) = match t.as_bytes().first()? {
        b'+' => (1, &t[1..]),
        b'-' => (-1, &t[1..]),
        _ => return None,
    };
    let (h, m) = match rest.split_once(':') {
        Some((h, m)) => (h, m),
        None if rest.len() == 4 => (&rest[..2], &rest[2..]),
        None => (rest, "0"),
    };
    let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
    if !(0..=14).contains(&h) || !(0..60).contains(&m) {
        return None;
    }
    FixedOffset::east_opt(sign * (h * 3600 + m * 60))
}

impl AlertsSettings {
    /// Every invalid value of `[alerts]`, with its field path and the fix.
    pub fn problems(&self, channels: &[ChannelSettings]) -> Vec<FieldError> {
        let mut e = unknown_channels("alerts.channels", self.channels.as_deref(), channels);
        if self.repeat_interval_minutes > REPEAT_INTERVAL_MINUTES_MAX {
            e.push(FieldError {
                field: "alerts.repeat_interval_minutes".into(),
                value: self.repeat_interval_minutes.to_string(),
                fix: format!(
                    "must be between 0 (never repeat) and {REPEAT_INTERVAL_MINUTES_MAX} (a week)"
                ),
            });
        }
        if self.max_repeats > MAX_REPEATS_MAX {
            e.push(FieldError {
                field: "alerts.max_repeats".into(),
                value: self.max_repeats.to_string(),
                fix: format!("must be between 0 and {MAX_REPEATS_MAX}"),
            });
        }
        let tz_fix =
            "give an IANA zone such as \"Asia/Shanghai\", or a fixed offset such as \"+08:00\" or \"UTC\"";
        if let Some(tz) = &self.tz {
            if parse_zone(tz).is_none() {
                e.push(FieldError {
                    field: "alerts.tz".into(),
                    value: format!("{tz:?}"),
                    fix: tz_fix.into(),
                });
            }
        }
        for (name, q) in &self.quiet_hours {
            let field = format!("alerts.quiet_hours.{name}");
            if !channels.iter().any(|c| &c.name == name) {
                e.push(FieldError {
                    field: field.clone(),
                    value: format!("{name:?}"),
                    fix: "name a channel defined in [[channels]]".into(),
                });
            }
            if parse_window(q.hours()).is_none() {
                e.push(FieldError {
                    field: field.clone(),
                    value: format!("{:?}", q.hours()),
                    fix: "give a daily window \"HH:MM-HH:MM\" with different ends, e.g. \"22:00-08:00\"".into(),
                });
            }
            if let Some(tz) = q.tz() {
                if parse_zone(tz).is_none() {
                    e.push(FieldError {
                        field: format!("{field}.tz"),
                        value: format!("{tz:?}"),
                        fix: tz_fix.into(),
                    });
                }
            }
        }
        e
    }

    /// The quiet windows of every channel that has valid ones; `default_offset` (the relay's
    /// clock) applies where neither the channel nor `[alerts] tz` names one.
    pub fn quiet_windows(&self, default_offset: FixedOffset) -> BTreeMap<String, QuietWindow> {
        let base = self
            .tz
            .as_deref()
            .and_then(parse_zone)
            .unwrap_or(QuietZone::Fixed(default_offset));
        self.quiet_hours
            .iter()
            .filter_map(|(name, q)| {
                let (start, end) = parse_window(q.hours())?;
                let zone = q.tz().and_then(parse_zone).unwrap_or(base);
                Some((name.clone(), QuietWindow { start, end, zone }))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_windows_and_offsets() {
        let (s, e) = parse_window("22:00-08:00").unwrap();
        assert_eq!(
            (s.to_string(), e.to_string()),
            ("22:00:00".into(), "08:00:00".into())
        );
        assert!(parse_window("22:00-22:00").is_none());
        assert!(parse_window("25:00-08:00").is_none());
        assert!(parse_window("22-08").is_none());
        assert_eq!(parse_offset("+08:00").unwrap().local_minus_utc(), 8 * 3600);
        assert_eq!(parse_offset("-0530").unwrap().local_minus_utc(), -19_800);
        assert_eq!(parse_offset("UTC").unwrap().local_minus_utc(), 0);
        assert!(parse_offset("Asia/Shanghai").is_none());
        assert!(matches!(
            parse_zone("Asia/Shanghai"),
            Some(QuietZone::Named(_))
        ));
        assert!(parse_zone("Mars/Base").is_none());
    }

    #[test]
    fn names_bad_fields_and_unknown_channels() {
        let a: AlertsSettings = toml::from_str(
            r#"
channels = ["ghost"]
repeat_interval_minutes = 99999
tz = "Mars/Base"
[quiet_hours]
ghost = "22:00-08:00"
other = { hours = "8pm-7am", tz = "+8" }
"#,
        )
        .unwrap();
        let p = a.problems(&[]);
        let fields: Vec<&str> = p.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "alerts.channels[0]",
                "alerts.repeat_interval_minutes",
                "alerts.tz",
                "alerts.quiet_hours.ghost",
                "alerts.quiet_hours.other",
                "alerts.quiet_hours.other",
            ],
            "{p:?}"
        );
        assert!(AlertsSettings::default().problems(&[]).is_empty());
        assert!(toml::from_str::<AlertsSettings>("enable = false").is_err());
    }
}
