//! Schedules as every face reads them: a schedule text read aloud with its next fires (on the
//! zone's clock, with offset, and in UTC), and the schedules that run under some settings, for
//! `relaywatch schedule preview|list`, the HTTP API and the Settings page. Rule: parsing,
//! readings and fire times are `schedule`'s; nothing is saved.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::ServiceError;
use crate::config::schedules::{effective_schedules, ScheduleKind};
use crate::config::Settings;
use crate::model::Lang;
use crate::schedule::{self, describe, next_n, Spec, Tz};

/// One fire time: the instant, and how the zone's clock shows it
/// (`Mon 2026-11-23 09:00 +08:00 (CST)`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fire {
    pub at: DateTime<Utc>,
    pub local: String,
}

/// A schedule text read aloud.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reading {
    /// The schedule as relaywatch writes it.
    pub spec: String,
    pub reading: String,
    /// The zone's IANA name.
    pub tz: String,
    /// Whether the zone is the system's (none was given).
    pub system_tz: bool,
    pub fires: Vec<Fire>,
}

/// One schedule that runs under the settings (a `[schedules.<name>]`, or the default report).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Listed {
    pub name: String,
    /// `report` or `leaderboard`.
    pub kind: String,
    pub spec: String,
    pub reading: String,
    pub tz: String,
    /// Whether the schedule names its zone (else it is the system's).
    pub tz_explicit: bool,
    pub enabled: bool,
    /// For a leaderboard: how many it ranks and over which window.
    pub leaderboard: Option<(u32, String)>,
    pub channels: Vec<String>,
    pub grace_minutes: u64,
    /// Its next fires (were it enabled).
    pub fires: Vec<Fire>,
}

fn fires(spec: &Spec, tz: Tz, from: DateTime<Utc>, count: usize) -> Vec<Fire> {
    next_n(spec, tz, from, count)
        .into_iter()
        .map(|at| Fire {
            at,
            local: at
                .with_timezone(&tz)
                .format("%a %Y-%m-%d %H:%M %:z (%Z)")
                .to_string(),
        })
        .collect()
}

/// `text` (field `cron`) read aloud in `lang`, with its next `count` fires after `from` in the
/// zone `tz` (field `tz`; the system's when `None` or empty).
pub fn read_aloud(
    text: &str,
    tz: Option<&str>,
    lang: Lang,
    from: DateTime<Utc>,
    count: usize,
) -> Result<Reading, ServiceError> {
    let spec = Spec::parse(text).map_err(|e| ServiceError::input("cron", text, e.0))?;
    let (zone, system_tz) = match tz.filter(|t| !t.is_empty()) {
        None => (schedule::system_tz(), true),
        Some(t) => (
            schedule::parse_tz(t).map_err(|e| ServiceError::input("tz", t, e))?,
            false,
        ),
    };
    Ok(Reading {
        spec: spec.to_string(),
        reading: describe(&spec, lang),
        tz: zone.name().to_string(),
        system_tz,
        fires: fires(&spec, zone, from, count),
    })
}

/// The schedules that run under `s`, each read in its own language (else `lang`, else the
/// report's) with its next `count` fires after `from`.
pub fn listed(s: &Settings, lang: Option<Lang>, from: DateTime<Utc>, count: usize) -> Vec<Listed> {
    let lang = lang.unwrap_or(s.report.lang);
    effective_schedules(s, schedule::system_tz())
        .into_iter()
        .map(|sc| Listed {
            tz_explicit: s.schedules.get(&sc.name).is_some_and(|c| c.tz.is_some()),
            kind: sc.kind.as_str().to_string(),
            spec: sc.spec.to_string(),
            reading: describe(&sc.spec, sc.lang.unwrap_or(lang)),
            tz: sc.tz.name().to_string(),
            enabled: sc.enabled,
            leaderboard: (sc.kind == ScheduleKind::Leaderboard)
                .then(|| (sc.top, sc.window.as_str().to_string())),
            grace_minutes: sc.grace.as_secs() / 60,
            fires: fires(&sc.spec, sc.tz, from, count),
            channels: sc.channels,
            name: sc.name,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn from() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 21, 0, 0, 0).unwrap()
    }

    #[test]
    fn a_schedule_is_read_aloud_with_fires_on_its_zones_clock() {
        let r = read_aloud("0 9 * * 1-5", Some("Asia/Shanghai"), Lang::En, from(), 2).unwrap();
        assert!(!r.system_tz);
        assert_eq!(r.tz, "Asia/Shanghai");
        // Saturday the 21st: the next weekdays are Monday and Tuesday, 09:00 +08:00.
        let at: Vec<String> = r.fires.iter().map(|f| f.at.to_rfc3339()).collect();
        assert_eq!(
            at,
            ["2026-11-23T01:00:00+00:00", "2026-11-24T01:00:00+00:00"]
        );
        assert_eq!(r.fires[0].local, "Mon 2026-11-23 09:00 +08:00 (CST)");
        let zh = read_aloud("0 9 * * 1-5", Some("Asia/Shanghai"), Lang::ZhCn, from(), 1).unwrap();
        assert_ne!(zh.reading, r.reading);
    }

    #[test]
    fn a_bad_schedule_or_zone_is_named_by_field() {
        let field = |e: ServiceError| match e {
            ServiceError::InvalidInput(f) => (f[0].field.clone(), f[0].value.clone()),
            other => panic!("{other}"),
        };
        let e = read_aloud("61 9 * * *", None, Lang::En, from(), 1).unwrap_err();
        assert_eq!(field(e), ("cron".to_string(), "61 9 * * *".to_string()));
        let e = read_aloud("@daily", Some("Asia/Shangai"), Lang::En, from(), 1).unwrap_err();
        assert_eq!(field(e), ("tz".to_string(), "Asia/Shangai".to_string()));
    }

    #[test]
    fn the_default_report_schedule_is_listed_when_none_is_configured() {
        let listed = listed(&Settings::default(), None, from(), 3);
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].kind, "report");
        assert_eq!(listed[0].fires.len(), 3);
        assert!(!listed[0].tz_explicit);
    }
}
