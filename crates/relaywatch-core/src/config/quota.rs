//! `[rules.quota]`: how often keys' costs are compared with their limits, the thresholds that
//! fire, and limits set in relaywatch (`[[rules.quota.limits]]`, per key or per tag) next to the
//! relay's own; validation names every bad field and its fix.

use serde::{Deserialize, Serialize};

use super::channels::ChannelSettings;
use crate::error::FieldError;

/// Allowed ranges of `[rules.quota]`.
pub const INTERVAL_MINUTES: (u32, u32) = (10, 1440);
pub const THRESHOLD_PCT: (u32, u32) = (1, 1000);

/// The period a relaywatch-defined limit counts over, on the relay's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum QuotaPeriod {
    /// A rolling five hours (the current hour and the four before it, CRS's hourly buckets).
    #[serde(rename = "5h")]
    FiveHours,
    /// The relay's calendar day.
    #[serde(rename = "daily")]
    Daily,
    /// Monday 00:00 to Monday 00:00 on the relay's clock.
    #[serde(rename = "weekly")]
    Weekly,
    /// The relay's calendar month.
    #[serde(rename = "monthly")]
    Monthly,
    /// The key's lifetime.
    #[serde(rename = "total")]
    Total,
}

impl QuotaPeriod {
    pub fn as_str(self) -> &'static str {
        match self {
            QuotaPeriod::FiveHours => "5h",
            QuotaPeriod::Daily => "daily",
            QuotaPeriod::Weekly => "weekly",
            QuotaPeriod::Monthly => "monthly",
            QuotaPeriod::Total => "total",
        }
    }
}

/// One `[[rules.quota.limits]]` entry: `key` (an API key id or name) or `tag`, a period and
/// an amount in USD of rated cost (what CRS's own limits count).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuotaLimitSetting {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    pub period: QuotaPeriod,
    pub usd: f64,
}

/// The limit of `period` that `[[rules.quota.limits]]` sets for a key (by its id, name and
/// tags): its own (by id or name) first, else the lowest of its tags'.
pub fn own_limit_for(
    limits: &[QuotaLimitSetting],
    key_id: &str,
    key_name: &str,
    tags: &[String],
    period: QuotaPeriod,
) -> Option<f64> {
    let of_period = || limits.iter().filter(move |l| l.period == period);
    of_period()
        .filter(|l| {
            l.key
                .as_deref()
                .is_some_and(|n| n == key_id || n == key_name)
        })
        .map(|l| l.usd)
        .reduce(f64::min)
        .or_else(|| {
            of_period()
                .filter(|l| {
                    l.tag
                        .as_deref()
                        .is_some_and(|t| tags.iter().any(|x| x == t))
                })
                .map(|l| l.usd)
                .reduce(f64::min)
        })
}

/// `[rules.quota]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QuotaSettings {
    pub enabled: bool,
    /// Minutes between evaluations (10-1440), aligned to the clock by the scheduler.
    pub interval_minutes: u32,
    /// Percentages of a limit that fire, ascending (default 80 and 100).
    pub thresholds: Vec<u32>,
    /// Also watch the limits set in the relay (daily, total, weekly Opus).
    pub relay_limits: bool,
    pub limits: Vec<QuotaLimitSetting>,
    /// Channels quota alerts go to; default `[alerts] channels`, else every enabled channel.
    pub channels: Option<Vec<String>>,
}

impl Default for QuotaSettings {
    fn default() -> Self {
        QuotaSettings {
            enabled: true,
            interval_minutes: 60,
            thresholds: vec![80, 100],
            relay_limits: true,
            limits: Vec::new(),
            channels: None,
        }
    }
}

fn err(field: impl Into<String>, value: impl Into<String>, fix: impl Into<String>) -> FieldError {
    FieldError {
        field: field.into(),
        value: value.into(),
        fix: fix.into(),
    }
}

/// Names in `list` that are not channels defined in `[[channels]]`, as field errors of `field`.
pub fn unknown_channels(
    field: &str,
    list: Option<&[String]>,
    channels: &[ChannelSettings],
) -> Vec<FieldError> {
    list.unwrap_or_default()
        .iter()
        .enumerate()
        .filter(|(_, name)| !channels.iter().any(|c| &c.name == *name))
        .map(|(i, name)| {
            err(
                format!("{field}[{i}]"),
                format!("{name:?}"),
                "name a channel defined in [[channels]]",
            )
        })
        .collect()
}

impl QuotaSettings {
    /// Every invalid value of `[rules.quota]`, with its field path and the fix.
    pub fn problems(&self, channels: &[ChannelSettings]) -> Vec<FieldError> {
        let mut e = Vec::new();
        let (lo, hi) = INTERVAL_MINUTES;
        if !(lo..=hi).contains(&self.interval_minutes) {
            e.push(err(
                "rules.quota.interval_minutes",
                self.interval_minutes.to_string(),
                format!("must be between {lo} and {hi}"),
            ));
        }
        let (tlo, thi) = THRESHOLD_PCT;
        let ascending = self.thresholds.windows(2).all(|w| w[0] < w[1]);
        let in_range = self.thresholds.iter().all(|t| (tlo..=thi).contains(t));
        if self.thresholds.is_empty() || !ascending || !in_range {
            e.push(err(
                "rules.quota.thresholds",
                format!("{:?}", self.thresholds),
                format!(
                    "must be ascending percentages between {tlo} and {thi}, without repeats, e.g. [80, 100]"
                ),
            ));
        }
        for (i, l) in self.limits.iter().enumerate() {
            let at = format!("rules.quota.limits[{i}]");
            match (&l.key, &l.tag) {
                (Some(_), Some(_)) | (None, None) => e.push(err(
                    at.clone(),
                    format!("key = {:?}, tag = {:?}", l.key, l.tag),
                    "give exactly one of `key` (an API key id or name) or `tag`",
                )),
                (Some(k), None) if k.trim().is_empty() => e.push(err(
                    format!("{at}.key"),
                    "\"\"",
                    "give an API key id or name",
                )),
                (None, Some(t)) if t.trim().is_empty() => {
                    e.push(err(format!("{at}.tag"), "\"\"", "give a key tag"))
                }
                _ => {}
            }
            if !(l.usd.is_finite() && l.usd > 0.0) {
                e.push(err(
                    format!("{at}.usd"),
                    l.usd.to_string(),
                    "must be an amount in USD above 0, e.g. 50",
                ));
            }
        }
        e.extend(unknown_channels(
            "rules.quota.channels",
            self.channels.as_deref(),
            channels,
        ));
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        let q = QuotaSettings::default();
        assert!(q.problems(&[]).is_empty());
        assert_eq!(q.thresholds, vec![80, 100]);
        assert_eq!(q.interval_minutes, 60);
    }

    #[test]
    fn parses_limits_and_names_every_bad_field() {
        let q: QuotaSettings = toml::from_str(
            r#"
interval_minutes = 5
thresholds = [120, 80]
channels = ["nope"]
[[limits]]
key = "backend-prod"
period = "5h"
usd = 20
[[limits]]
tag = "team-a"
key = "x"
period = "monthly"
usd = -1
"#,
        )
        .unwrap();
        assert_eq!(q.limits[0].period, QuotaPeriod::FiveHours);
        let p = q.problems(&[]);
        let fields: Vec<&str> = p.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "rules.quota.interval_minutes",
                "rules.quota.thresholds",
                "rules.quota.limits[1]",
                "rules.quota.limits[1].usd",
                "rules.quota.channels[0]"
            ],
            "{p:?}"
        );
        assert!(p[1]
            .to_string()
            .contains("`rules.quota.thresholds` = [120, 80]: must be ascending percentages"));
        assert!(toml::from_str::<QuotaSettings>("period = \"daily\"").is_err());
        assert!(toml::from_str::<QuotaSettings>(
            "[[limits]]\nkey = \"a\"\nperiod = \"yearly\"\nusd = 1"
        )
        .is_err());
    }
}
