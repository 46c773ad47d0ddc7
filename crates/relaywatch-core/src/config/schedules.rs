//! `[schedules.<name>]`: when the report and the leaderboard are sent, in which timezone and to
//! which channels; rule: exactly one of `cron`, `daily`, `every_minutes` per schedule, every bad
//! value named with its field path (`schedules.morning.cron`) and the fix, and no schedules
//! configured means the seed's default (`report` on `0 */6 * * *`) — see [`effective_schedules`].

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Lang, Settings};
use crate::error::FieldError;
use crate::schedule::{parse_tz, Spec, Tz};

/// The seed reporter's `DASHBOARD_WEBHOOK_INTERVAL` default.
pub const DEFAULT_REPORT_CRON: &str = "0 */6 * * *";
/// The name of the schedule used when none is configured.
pub const DEFAULT_SCHEDULE_NAME: &str = "report";

/// Allowed ranges.
pub mod limits {
    /// Minutes a missed fire may still be sent (up to 7 days, the fire lock's lifetime).
    pub const GRACE_MINUTES: (u32, u32) = (1, 7 * 24 * 60);
    pub const TOP: (u32, u32) = (1, 20);
    pub const DEFAULT_GRACE_MINUTES: u32 = 60;
    pub const DEFAULT_TOP: u32 = 5;
    pub const NAME_MAX: usize = 64;
}

/// What a schedule sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScheduleKind {
    /// The dashboard report (the seed's message).
    #[default]
    Report,
    /// Top API keys by cost for the previous day.
    Leaderboard,
}

impl ScheduleKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ScheduleKind::Report => "report",
            ScheduleKind::Leaderboard => "leaderboard",
        }
    }
}

/// The period a leaderboard covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeaderboardWindow {
    /// Yesterday as a calendar day on the relay's clock (`source.timezone_offset_hours`).
    #[default]
    CalendarDay,
    /// The 24 hours before the fire.
    #[serde(rename = "rolling_24h")]
    Rolling24h,
}

impl LeaderboardWindow {
    pub fn as_str(self) -> &'static str {
        match self {
            LeaderboardWindow::CalendarDay => "calendar_day",
            LeaderboardWindow::Rolling24h => "rolling_24h",
        }
    }
}

/// One `[schedules.<name>]` table as written.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScheduleSettings {
    /// A cron expression, e.g. `0 9 * * 1-5` (5 fields; 6 with seconds `0` are accepted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cron: Option<String>,
    /// A daily time `HH:mm`, instead of `cron`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub daily: Option<String>,
    /// A clock-aligned interval of 10–1440 minutes, instead of `cron`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub every_minutes: Option<u32>,
    /// IANA timezone, e.g. `Asia/Shanghai`; default: the system's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tz: Option<String>,
    pub kind: ScheduleKind,
    /// Channel names; default: `[report] channels`, else every enabled channel.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channels: Option<Vec<String>>,
    /// Default true.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// How late a missed fire may still be sent (default 60; 1–10080).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grace_minutes: Option<u32>,
    /// Leaderboard only: how many keys (1–20, default 5).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top: Option<u32>,
    /// Leaderboard only: `calendar_day` (default) or `rolling_24h`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<LeaderboardWindow>,
    /// Language of the message; default: the channel's, else `[report] lang`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lang: Option<Lang>,
}

/// A validated schedule, ready for the daemon: spec parsed, timezone resolved, channels named.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub name: String,
    pub spec: Spec,
    pub tz: Tz,
    pub kind: ScheduleKind,
    pub channels: Vec<String>,
    pub enabled: bool,
    pub grace: Duration,
    /// Leaderboard: keys shown.
    pub top: u32,
    pub window: LeaderboardWindow,
    pub lang: Option<Lang>,
}

impl ScheduleSettings {
    /// The seed's schedule: the report every six hours.
    pub fn default_report() -> ScheduleSettings {
        ScheduleSettings {
            cron: Some(DEFAULT_REPORT_CRON.into()),
            ..ScheduleSettings::default()
        }
    }

    /// The spec this table sets, or the problem with it (field path relative to the table).
    pub fn spec(&self) -> Result<Spec, (&'static str, String, String)> {
        match (&self.cron, &self.daily, self.every_minutes) {
            (Some(c), None, None) => Spec::parse(c).map_err(|e| ("cron", format!("{c:?}"), e.0)),
            (None, Some(d), None) => Spec::daily(d).map_err(|e| ("daily", format!("{d:?}"), e.0)),
            (None, None, Some(n)) => {
                Spec::every_minutes(n).map_err(|e| ("every_minutes", n.to_string(), e.0))
            }
            (None, None, None) => Err((
                "cron",
                "(unset)".into(),
                "set one of `cron = \"0 9 * * 1-5\"`, `daily = \"09:00\"` or `every_minutes = 30`"
                    .into(),
            )),
            _ => Err((
                "cron",
                "(more than one of cron, daily, every_minutes)".into(),
                "keep exactly one of `cron`, `daily` and `every_minutes`".into(),
            )),
        }
    }
}

fn name_ok(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= limits::NAME_MAX
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Every problem in `[schedules]`, with field paths such as `schedules.morning.cron`.
pub fn schedule_problems(settings: &Settings) -> Vec<FieldError> {
    let mut e = Vec::new();
    let known: Vec<&str> = settings.channels.iter().map(|c| c.name.as_str()).collect();
    for (name, s) in &settings.schedules {
        let path = |field: &str| format!("schedules.{name}.{field}");
        let mut push =
            |field: String, value: String, fix: String| e.push(FieldError { field, value, fix });
        if !name_ok(name) {
            push(
                format!("schedules.{name:?}"),
                format!("{name:?}"),
                format!(
                    "a schedule name must be 1-{} letters, digits, '-', '_' or '.' (it names Redis keys), e.g. [schedules.morning]",
                    limits::NAME_MAX
                ),
            );
        }
        if let Err((field, value, fix)) = s.spec() {
            push(path(field), value, fix);
        }
        if let Some(tz) = &s.tz {
            if let Err(fix) = parse_tz(tz) {
                push(path("tz"), format!("{tz:?}"), fix);
            }
        }
        if let Some(g) = s.grace_minutes {
            let (lo, hi) = limits::GRACE_MINUTES;
            if !(lo..=hi).contains(&g) {
                push(
                    path("grace_minutes"),
                    g.to_string(),
                    format!("must be between {lo} and {hi} minutes (7 days)"),
                );
            }
        }
        match s.kind {
            ScheduleKind::Leaderboard => {
                if let Some(t) = s.top {
                    let (lo, hi) = limits::TOP;
                    if !(lo..=hi).contains(&t) {
                        push(
                            path("top"),
                            t.to_string(),
                            format!("must be between {lo} and {hi}"),
                        );
                    }
                }
            }
            ScheduleKind::Report => {
                for (field, set) in [("top", s.top.is_some()), ("window", s.window.is_some())] {
                    if set {
                        push(
                            path(field),
                            "(set)".into(),
                            "applies only to `kind = \"leaderboard\"`: remove it or set the kind"
                                .into(),
                        );
                    }
                }
            }
        }
        for (i, ch) in s.channels.iter().flatten().enumerate() {
            if !known.contains(&ch.as_str()) {
                let fix = if known.is_empty() {
                    "no channels are defined: add a [[channels]] entry with this name".to_string()
                } else {
                    format!(
                        "name a channel defined in [[channels]]: {}",
                        known.join(", ")
                    )
                };
                push(path(&format!("channels[{i}]")), format!("{ch:?}"), fix);
            }
        }
    }
    e
}

/// The schedules to run, validated: the configured ones, or — when `[schedules]` has no entry —
/// the seed's `report` schedule on `0 */6 * * *`. To run no schedule, configure one with
/// `enabled = false` (an empty `[schedules]` table cannot be told apart from none).
/// `system_tz` is the zone for schedules without `tz` (see [`crate::schedule::system_tz`]).
/// Call on a validated `Settings`; a schedule that still fails to parse is left out.
pub fn effective_schedules(settings: &Settings, system_tz: Tz) -> Vec<Schedule> {
    let default;
    let table = if settings.schedules.is_empty() {
        default = BTreeMap::from([(
            DEFAULT_SCHEDULE_NAME.to_string(),
            ScheduleSettings::default_report(),
        )]);
        &default
    } else {
        &settings.schedules
    };
    let fallback_channels = settings.report_channels();
    table
        .iter()
        .filter_map(|(name, s)| {
            let spec = s.spec().ok()?;
            let tz = match &s.tz {
                Some(t) => parse_tz(t).ok()?,
                None => system_tz,
            };
            Some(Schedule {
                name: name.clone(),
                spec,
                tz,
                kind: s.kind,
                channels: s
                    .channels
                    .clone()
                    .unwrap_or_else(|| fallback_channels.clone()),
                enabled: s.enabled.unwrap_or(true),
                grace: Duration::from_secs(
                    60 * s.grace_minutes.unwrap_or(limits::DEFAULT_GRACE_MINUTES) as u64,
                ),
                top: s.top.unwrap_or(limits::DEFAULT_TOP),
                window: s.window.unwrap_or_default(),
                lang: s.lang,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(text: &str) -> Settings {
        toml::from_str(text).unwrap()
    }

    const CHANNELS: &str = r#"
[[channels]]
name = "team-wecom"
type = "wecom"
url = { env = "WECOM_URL" }

[[channels]]
name = "ops-slack"
type = "slack"
url = { env = "SLACK_URL" }
enabled = false
"#;

    #[test]
    fn no_schedules_means_the_seed_report_every_six_hours() {
        let s = settings(CHANNELS);
        assert!(schedule_problems(&s).is_empty());
        let all = effective_schedules(&s, chrono_tz::Asia::Shanghai);
        assert_eq!(all.len(), 1);
        let r = &all[0];
        assert_eq!(r.name, "report");
        assert_eq!(r.spec, Spec::parse("0 */6 * * *").unwrap());
        assert_eq!(r.tz, chrono_tz::Asia::Shanghai);
        assert_eq!(r.kind, ScheduleKind::Report);
        assert_eq!(r.channels, ["team-wecom"], "every enabled channel");
        assert!(r.enabled);
        assert_eq!(r.grace, Duration::from_secs(3600));
    }

    #[test]
    fn configured_schedules_replace_the_default() {
        let text = format!(
            r#"{CHANNELS}
[report]
channels = ["ops-slack"]

[schedules.morning]
daily = "09:00"
tz = "Europe/Berlin"
kind = "leaderboard"
top = 10
window = "rolling_24h"
lang = "zh-CN"

[schedules.quarter]
every_minutes = 15
enabled = false
grace_minutes = 5
"#
        );
        let s = settings(&text);
        assert_eq!(schedule_problems(&s), []);
        let all = effective_schedules(&s, chrono_tz::UTC);
        assert_eq!(all.len(), 2);
        let (m, q) = (&all[0], &all[1]);
        assert_eq!(
            (m.name.as_str(), m.tz),
            ("morning", chrono_tz::Europe::Berlin)
        );
        assert_eq!(m.spec, Spec::Daily { hour: 9, minute: 0 });
        assert_eq!(
            (m.kind, m.top, m.window),
            (ScheduleKind::Leaderboard, 10, LeaderboardWindow::Rolling24h)
        );
        assert_eq!(m.lang, Some(Lang::ZhCn));
        assert_eq!(m.channels, ["ops-slack"], "the report's channels");
        assert_eq!(
            (q.enabled, q.grace, q.tz),
            (false, Duration::from_secs(300), chrono_tz::UTC)
        );
        assert_eq!(q.spec, Spec::Every { minutes: 15 });
        // Serialises back to the same tables.
        let back: Settings = toml::from_str(&toml::to_string(&s).unwrap()).unwrap();
        assert_eq!(back.schedules, s.schedules);
    }

    #[test]
    fn every_problem_names_its_field_and_fix() {
        let text = format!(
            r#"{CHANNELS}
[schedules.bad-cron]
cron = "61 * * * *"

[schedules.two]
cron = "0 9 * * *"
daily = "09:00"

[schedules.none]
tz = "Mars/Olympus"

[schedules.short]
every_minutes = 5
kind = "report"
top = 3
grace_minutes = 0

[schedules.board]
daily = "25:00"
kind = "leaderboard"
top = 50
channels = ["team-wecom", "nope"]

[schedules."has space"]
daily = "09:00"
"#
        );
        let s = settings(&text);
        let p = schedule_problems(&s);
        let got: Vec<String> = p.iter().map(|e| e.to_string()).collect();
        let want = [
            "`schedules.bad-cron.cron` = \"61 * * * *\": minute field `61`: must be 0-59",
            "`schedules.board.daily` = \"25:00\": daily time `25:00`: must be HH:mm on the 24-hour clock, 00:00-23:59 (e.g. 09:00)",
            "`schedules.board.top` = 50: must be between 1 and 20",
            "`schedules.board.channels[1]` = \"nope\": name a channel defined in [[channels]]: team-wecom, ops-slack",
            "`schedules.\"has space\"` = \"has space\": a schedule name must be 1-64 letters, digits, '-', '_' or '.' (it names Redis keys), e.g. [schedules.morning]",
            "`schedules.none.cron` = (unset): set one of `cron = \"0 9 * * 1-5\"`, `daily = \"09:00\"` or `every_minutes = 30`",
            "`schedules.none.tz` = \"Mars/Olympus\": `Mars/Olympus` is not an IANA timezone name: use one such as Asia/Shanghai, Europe/Berlin, America/New_York or UTC",
            "`schedules.short.every_minutes` = 5: interval of 5 minutes: must be 10-1440 minutes (for shorter periods use a cron expression such as `*/5 * * * *`)",
            "`schedules.short.grace_minutes` = 0: must be between 1 and 10080 minutes (7 days)",
            "`schedules.short.top` = (set): applies only to `kind = \"leaderboard\"`: remove it or set the kind",
            "`schedules.two.cron` = (more than one of cron, daily, every_minutes): keep exactly one of `cron`, `daily` and `every_minutes`",
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn unknown_fields_are_refused() {
        let r: Result<Settings, _> =
            toml::from_str("[schedules.x]\ncron = \"0 9 * * *\"\nchanel = [\"a\"]\n");
        assert!(r.unwrap_err().to_string().contains("chanel"));
    }
}
