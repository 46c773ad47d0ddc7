//! Alert policy, applied to every rule's `Alert` before it becomes outbox items: the global
//! switch, pause-all, silences, routing to channels, quiet hours (held alerts go out as one
//! digest when they end) and repeats of still-firing alerts. Rule: the decisions are pure
//! functions of their inputs and `now` (records, silences, the pause and held alerts are kept in
//! relaywatch's Redis by `store::alert_state`).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, FixedOffset, Utc};
use serde::{Deserialize, Serialize};

use super::{Alert, AlertPayload, RuleKind};
use crate::config::alerts::QuietWindow;
use crate::config::{Lang, Settings};
use crate::render::message::{AlertState, Message};
use crate::render::messages::{self, DigestItem};
use crate::tz::RelayTz;

/// A rule's name as written in silences and on the command line.
pub fn parse_rule(s: &str) -> Option<RuleKind> {
    match s.trim().to_ascii_lowercase().replace('-', "_").as_str() {
        "error_rate" => Some(RuleKind::ErrorRate),
        "breaker" => Some(RuleKind::Breaker),
        "quota" => Some(RuleKind::Quota),
        _ => None,
    }
}

// ---- Records and repeats --------------------------------------------------------------------

/// The last transition sent for one (rule, subject), and how often it was repeated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertRecord {
    pub rule: RuleKind,
    pub subject: String,
    pub state: AlertState,
    pub episode: String,
    pub first_seen: DateTime<Utc>,
    pub last_sent: DateTime<Utc>,
    pub repeats: u32,
    /// The alert as sent, re-sent by repeats.
    pub alert: Alert,
}

/// The record after `alert` was sent at `now`: a new episode starts counting repeats afresh.
pub fn apply(prev: Option<&AlertRecord>, alert: &Alert, now: DateTime<Utc>) -> AlertRecord {
    let same = prev.filter(|p| p.episode == alert.episode && p.state == alert.state);
    AlertRecord {
        rule: alert.rule,
        subject: alert.subject.clone(),
        state: alert.state,
        episode: alert.episode.clone(),
        first_seen: same.map(|p| p.first_seen).unwrap_or(alert.first_seen),
        last_sent: now,
        repeats: same.map(|p| p.repeats).unwrap_or(0),
        alert: alert.clone(),
    }
}

/// `[alerts] repeat_interval_minutes` and `max_repeats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RepeatPolicy {
    /// None: never repeat.
    pub interval: Option<Duration>,
    pub max_repeats: u32,
}

impl RepeatPolicy {
    pub fn from_settings(s: &crate::config::alerts::AlertsSettings) -> Self {
        RepeatPolicy {
            interval: (s.repeat_interval_minutes > 0)
                .then(|| Duration::minutes(s.repeat_interval_minutes as i64)),
            max_repeats: s.max_repeats,
        }
    }
}

/// The alerts due to repeat at `now`: still firing, the interval passed since the last send and
/// fewer than `max_repeats` repeats so far. Quota alerts never repeat (once per level per
/// period). Each repeat is the recorded alert with episode `<episode>:repeat<n>` and `at = now`,
/// so its idempotency key is its own.
pub fn due_repeats(
    records: &[AlertRecord],
    policy: RepeatPolicy,
    now: DateTime<Utc>,
) -> Vec<(AlertRecord, Alert)> {
    let Some(interval) = policy.interval else {
        return Vec::new();
    };
    records
        .iter()
        .filter(|r| r.state == AlertState::Firing && r.rule != RuleKind::Quota)
        .filter(|r| r.repeats < policy.max_repeats && now - r.last_sent >= interval)
        .map(|r| {
            let n = r.repeats + 1;
            let mut a = r.alert.clone();
            a.episode = format!("{}:repeat{n}", r.episode);
            a.at = now;
            let mut next = r.clone();
            next.repeats = n;
            next.last_sent = now;
            (next, a)
        })
        .collect()
}

// ---- Silences, pause, quiet hours, routing --------------------------------------------------

/// A silence: alerts of `rule` (any when None) about `subject` (any when None; a trailing `*`
/// matches a prefix, e.g. `provider:*`) are not sent until `ends_at`. For grouped quota alerts
/// a subject `key:<id>` (or the key's name) silences that key's rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Silence {
    pub id: String,
    pub rule: Option<RuleKind>,
    pub subject: Option<String>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub reason: String,
}

fn subject_matches(pattern: &str, subject: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => subject.starts_with(prefix),
        None => pattern == subject,
    }
}

impl Silence {
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.starts_at <= now && now < self.ends_at
    }

    fn rule_matches(&self, rule: RuleKind) -> bool {
        self.rule.is_none_or(|r| r == rule)
    }

    /// Whether it silences the whole alert (rule and subject).
    pub fn matches(&self, alert: &Alert, now: DateTime<Utc>) -> bool {
        self.is_active(now)
            && self.rule_matches(alert.rule)
            && self
                .subject
                .as_deref()
                .is_none_or(|p| subject_matches(p, &alert.subject))
    }
}

/// Why an alert (or one channel's copy) is not sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Suppression {
    /// `[alerts] enabled = false`.
    Disabled,
    /// `relaywatch pause` until this moment.
    Paused { until: DateTime<Utc> },
    /// A silence matched.
    Silenced {
        id: String,
        until: DateTime<Utc>,
        reason: String,
    },
    /// No channel is configured for this rule (none enabled).
    NoChannel,
}

/// When a routed copy goes out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "when", rename_all = "snake_case")]
pub enum Delivery {
    Now,
    /// Held in the channel's digest, sent when its quiet hours end at `release_at`.
    Digest {
        release_at: DateTime<Utc>,
    },
}

/// One channel's copy of an alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Routed {
    pub channel: String,
    pub delivery: Delivery,
    pub idempotency_key: String,
}

/// What the policy decided for one alert: the alert to send (quota rows of silenced keys
/// removed), its copies, and what was suppressed and why.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteOutcome {
    pub alert: Alert,
    pub routed: Vec<Routed>,
    pub suppressed: Vec<Suppression>,
}

/// Everything `route` decides from: built once per evaluation (`from_settings` plus the stored
/// pause and silences).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlertPolicyInput {
    pub enabled: bool,
    pub paused_until: Option<DateTime<Utc>>,
    pub silences: Vec<Silence>,
    /// Channels each rule names (`[rules.<rule>] channels`).
    pub rule_channels: HashMap<RuleKind, Vec<String>>,
    /// `[alerts] channels`, else every enabled channel.
    pub default_channels: Vec<String>,
    pub quiet_hours: BTreeMap<String, QuietWindow>,
}

impl AlertPolicyInput {
    /// Routing, switch and quiet hours from validated settings; disabled channels are left out.
    pub fn from_settings(
        s: &Settings,
        paused_until: Option<DateTime<Utc>>,
        silences: Vec<Silence>,
    ) -> Self {
        let enabled = |names: &[String]| -> Vec<String> {
            names
                .iter()
                .filter(|n| s.channels.iter().any(|c| &c.name == *n && c.enabled))
                .cloned()
                .collect()
        };
        let all = s.enabled_channels();
        let mut rule_channels = HashMap::new();
        for (rule, list) in [
            (RuleKind::ErrorRate, &s.rules.error_rate.channels),
            (RuleKind::Breaker, &s.rules.breaker.channels),
            (RuleKind::Quota, &s.rules.quota.channels),
        ] {
            if let Some(list) = list {
                rule_channels.insert(rule, enabled(list));
            }
        }
        AlertPolicyInput {
            enabled: s.alerts.enabled,
            paused_until,
            silences,
            rule_channels,
            default_channels: s.alerts.channels.as_deref().map(enabled).unwrap_or(all),
            quiet_hours: s
                .alerts
                .quiet_windows(RelayTz::from_config(s.source.timezone_offset_hours).offset()),
        }
    }

    /// The channels a rule's alerts go to.
    pub fn channels_for(&self, rule: RuleKind) -> &[String] {
        self.rule_channels
            .get(&rule)
            .unwrap_or(&self.default_channels)
    }
}

/// When the quiet window that `now` falls in ends; None outside quiet hours.
pub fn quiet_until(w: &QuietWindow, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let local = w.zone.local(now);
    let (date, t) = (local.date(), local.time());
    let end_on = |d: chrono::NaiveDate| Some(w.zone.instant(d.and_time(w.end)));
    if w.start < w.end {
        (w.start <= t && t < w.end).then_some(()).and(end_on(date))
    } else if t >= w.start {
        end_on(date.succ_opt()?)
    } else if t < w.end {
        end_on(date)
    } else {
        None
    }
}

/// Quota rows a silence names by key (`key:<id>`, or the key's name).
fn quota_row_silenced(s: &Silence, key_id: &str, key_name: &str, now: DateTime<Utc>) -> bool {
    s.is_active(now)
        && s.rule_matches(RuleKind::Quota)
        && s.subject.as_deref().is_some_and(|p| {
            subject_matches(p, &format!("key:{key_id}")) || subject_matches(p, key_name)
        })
}

/// Decide one alert: suppressed (disabled, paused, silenced, no channel), or one copy per
/// channel, sent now or held for the channel's digest during its quiet hours.
pub fn route(alert: &Alert, input: &AlertPolicyInput, now: DateTime<Utc>) -> RouteOutcome {
    let mut alert = alert.clone();
    let suppressed = |why: Suppression, alert: Alert| RouteOutcome {
        alert,
        routed: Vec::new(),
        suppressed: vec![why],
    };
    if !input.enabled {
        return suppressed(Suppression::Disabled, alert);
    }
    if let Some(until) = input.paused_until.filter(|u| now < *u) {
        return suppressed(Suppression::Paused { until }, alert);
    }
    if let Some(s) = input.silences.iter().find(|s| s.matches(&alert, now)) {
        let why = Suppression::Silenced {
            id: s.id.clone(),
            until: s.ends_at,
            reason: s.reason.clone(),
        };
        return suppressed(why, alert);
    }
    let mut notes = Vec::new();
    if let AlertPayload::Quota { items } = &mut alert.payload {
        let before = items.len();
        let mut first: Option<Suppression> = None;
        items.retain(|i| {
            match input
                .silences
                .iter()
                .find(|s| quota_row_silenced(s, &i.key_id, &i.key_name, now))
            {
                Some(s) => {
                    first.get_or_insert(Suppression::Silenced {
                        id: s.id.clone(),
                        until: s.ends_at,
                        reason: s.reason.clone(),
                    });
                    false
                }
                None => true,
            }
        });
        if items.is_empty() && before > 0 {
            return suppressed(first.unwrap_or(Suppression::NoChannel), alert);
        }
        notes.extend(first);
    }
    let channels = input.channels_for(alert.rule);
    if channels.is_empty() {
        return suppressed(Suppression::NoChannel, alert);
    }
    let routed = channels
        .iter()
        .map(|c| Routed {
            channel: c.clone(),
            delivery: match input.quiet_hours.get(c).and_then(|w| quiet_until(w, now)) {
                Some(release_at) => Delivery::Digest { release_at },
                None => Delivery::Now,
            },
            idempotency_key: alert.idempotency_key(c),
        })
        .collect();
    RouteOutcome {
        alert,
        routed,
        suppressed: notes,
    }
}

/// The digest of alerts held for one channel, in `lang` with times in `tz`.
pub fn digest_message(held: &[Alert], lang: Lang, tz: FixedOffset, at: DateTime<Utc>) -> Message {
    let items: Vec<DigestItem> = held
        .iter()
        .map(|a| {
            let m = a.message(lang, tz);
            DigestItem {
                at: a.at.with_timezone(&tz),
                level: m.level,
                title: m.title,
            }
        })
        .collect();
    messages::digest(&items, at.with_timezone(&tz), lang)
}

/// The outbox idempotency key of one channel's digest.
pub fn digest_key(channel: &str, release_at: DateTime<Utc>) -> String {
    format!("digest:{channel}:{}", release_at.timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::alerts::{AlertsSettings, QuietZone};
    use crate::config::channels::ChannelSettings;
    use crate::render::messages::{ErrorRateAlert, QuotaItem};
    use chrono::{NaiveTime, TimeZone};

    fn t(h: u32, m: u32) -> DateTime<Utc> {
        // 2026-11-22 h:m at +08:00.
        Utc.with_ymd_and_hms(2026, 11, 22, 0, 0, 0).unwrap() - Duration::hours(8)
            + Duration::hours(h as i64)
            + Duration::minutes(m as i64)
    }

    fn alert(rule: RuleKind, subject: &str, state: AlertState) -> Alert {
        Alert {
            rule,
            subject: subject.into(),
            state,
            episode: "1".into(),
            first_seen: t(9, 0),
            at: t(9, 0),
            payload: AlertPayload::ErrorRate(ErrorRateAlert {
                subject: subject.into(),
                window_seconds: 60,
                errors: 12,
                requests: 40,
                threshold: 10,
                offenders: Vec::new(),
                sample: None,
            }),
        }
    }

    fn quota_alert(keys: &[&str]) -> Alert {
        Alert {
            payload: AlertPayload::Quota {
                items: keys
                    .iter()
                    .map(|k| QuotaItem {
                        key_id: k.to_string(),
                        key_name: format!("name-{k}"),
                        limit: "daily".into(),
                        period: "2026-11-22".into(),
                        cost_usd: 90.0,
                        limit_usd: 100.0,
                        threshold_pct: 80,
                    })
                    .collect(),
            },
            ..alert(RuleKind::Quota, "80:2026-11-22", AlertState::Firing)
        }
    }

    fn input() -> AlertPolicyInput {
        AlertPolicyInput {
            enabled: true,
            default_channels: vec!["team-wecom".into(), "ops-slack".into()],
            ..AlertPolicyInput::default()
        }
    }

    fn window(start: &str, end: &str) -> QuietWindow {
        QuietWindow {
            start: NaiveTime::parse_from_str(start, "%H:%M").unwrap(),
            end: NaiveTime::parse_from_str(end, "%H:%M").unwrap(),
            zone: QuietZone::Fixed(FixedOffset::east_opt(8 * 3600).unwrap()),
        }
    }

    #[test]
    fn routes_to_the_rules_channels_else_the_default() {
        let mut i = input();
        let a = alert(RuleKind::ErrorRate, "provider:3", AlertState::Firing);
        let out = route(&a, &i, t(12, 0));
        let chans: Vec<&str> = out.routed.iter().map(|r| r.channel.as_str()).collect();
        assert_eq!(chans, ["team-wecom", "ops-slack"]);
        assert_eq!(
            out.routed[0].idempotency_key,
            "alert:error_rate:provider:3:firing:1:team-wecom"
        );
        assert!(out.routed.iter().all(|r| r.delivery == Delivery::Now));
        i.rule_channels
            .insert(RuleKind::ErrorRate, vec!["ops-slack".into()]);
        let chans: Vec<String> = route(&a, &i, t(12, 0))
            .routed
            .into_iter()
            .map(|r| r.channel)
            .collect();
        assert_eq!(chans, ["ops-slack"]);
        i.rule_channels.insert(RuleKind::ErrorRate, Vec::new());
        assert_eq!(route(&a, &i, t(12, 0)).suppressed, [Suppression::NoChannel]);
    }

    #[test]
    fn routing_from_settings_leaves_out_disabled_channels() {
        let ch = |name: &str, enabled: bool| -> ChannelSettings {
            toml::from_str(&format!(
                "name = \"{name}\"\ntype = \"file\"\npath = \"/tmp/x\"\nenabled = {enabled}"
            ))
            .unwrap()
        };
        let mut s = Settings {
            channels: vec![ch("a", true), ch("b", false), ch("c", true)],
            ..Settings::default()
        };
        s.rules.quota.channels = Some(vec!["b".into(), "c".into()]);
        let i = AlertPolicyInput::from_settings(&s, None, Vec::new());
        assert_eq!(i.channels_for(RuleKind::Quota), ["c"]);
        assert_eq!(i.channels_for(RuleKind::Breaker), ["a", "c"]);
        s.alerts.channels = Some(vec!["a".into()]);
        s.alerts.enabled = false;
        let i = AlertPolicyInput::from_settings(&s, None, Vec::new());
        assert_eq!(i.channels_for(RuleKind::ErrorRate), ["a"]);
        assert!(!i.enabled);
    }

    #[test]
    fn disabled_and_paused_send_nothing() {
        let a = alert(RuleKind::Breaker, "account:x", AlertState::Firing);
        let mut i = input();
        i.enabled = false;
        let out = route(&a, &i, t(12, 0));
        assert!(out.routed.is_empty());
        assert_eq!(out.suppressed, [Suppression::Disabled]);
        let mut i = input();
        i.paused_until = Some(t(13, 0));
        assert_eq!(
            route(&a, &i, t(12, 59)).suppressed,
            [Suppression::Paused { until: t(13, 0) }]
        );
        assert_eq!(route(&a, &i, t(13, 0)).routed.len(), 2, "the pause is over");
    }

    #[test]
    fn silences_by_rule_subject_prefix_and_expiry() {
        let s = |rule: Option<RuleKind>, subject: Option<&str>| Silence {
            id: "s1".into(),
            rule,
            subject: subject.map(str::to_string),
            starts_at: t(8, 0),
            ends_at: t(10, 0),
            reason: "maintenance".into(),
        };
        let a = alert(RuleKind::ErrorRate, "provider:3", AlertState::Firing);
        for (silence, silenced) in [
            (s(Some(RuleKind::ErrorRate), None), true),
            (s(None, Some("provider:3")), true),
            (s(None, Some("provider:*")), true),
            (s(Some(RuleKind::Breaker), Some("provider:3")), false),
            (s(None, Some("provider:4")), false),
        ] {
            let mut i = input();
            i.silences = vec![silence.clone()];
            let out = route(&a, &i, t(9, 0));
            assert_eq!(out.routed.is_empty(), silenced, "{silence:?}");
            if silenced {
                assert!(matches!(
                    &out.suppressed[0],
                    Suppression::Silenced { reason, .. } if reason == "maintenance"
                ));
            }
            assert_eq!(route(&a, &i, t(10, 0)).routed.len(), 2, "expired");
        }
    }

    #[test]
    fn a_silenced_key_leaves_the_other_rows_of_a_grouped_quota_alert() {
        let mut i = input();
        i.silences = vec![Silence {
            id: "s2".into(),
            rule: Some(RuleKind::Quota),
            subject: Some("key:b".into()),
            starts_at: t(8, 0),
            ends_at: t(20, 0),
            reason: "known".into(),
        }];
        let out = route(&quota_alert(&["a", "b", "c"]), &i, t(9, 0));
        let AlertPayload::Quota { items } = &out.alert.payload else {
            panic!()
        };
        let keys: Vec<&str> = items.iter().map(|i| i.key_id.as_str()).collect();
        assert_eq!(keys, ["a", "c"]);
        assert_eq!(out.routed.len(), 2);
        let out = route(&quota_alert(&["b"]), &i, t(9, 0));
        assert!(out.routed.is_empty());
    }

    #[test]
    fn quiet_hours_hold_for_a_digest_until_they_end() {
        let w = window("22:00", "08:00");
        assert_eq!(quiet_until(&w, t(23, 0)), Some(t(32, 0)));
        assert_eq!(quiet_until(&w, t(7, 59)), Some(t(8, 0)));
        assert_eq!(quiet_until(&w, t(8, 0)), None);
        assert_eq!(quiet_until(&w, t(21, 59)), None);
        let day = window("12:00", "13:30");
        assert_eq!(quiet_until(&day, t(12, 30)), Some(t(13, 30)));
        assert_eq!(quiet_until(&day, t(13, 30)), None);

        let mut i = input();
        i.quiet_hours.insert("team-wecom".into(), w);
        let a = alert(RuleKind::ErrorRate, "global", AlertState::Firing);
        let out = route(&a, &i, t(23, 30));
        assert_eq!(
            out.routed[0].delivery,
            Delivery::Digest {
                release_at: t(32, 0)
            }
        );
        assert_eq!(out.routed[1].delivery, Delivery::Now, "other channel");
    }

    #[test]
    fn quiet_hours_in_their_own_timezone() {
        let s: AlertsSettings =
            toml::from_str("[quiet_hours]\nx = { hours = \"22:00-08:00\", tz = \"UTC\" }\n")
                .unwrap();
        let w = s.quiet_windows(FixedOffset::east_opt(8 * 3600).unwrap())["x"];
        // 23:00 +08:00 is 15:00 UTC: not quiet in UTC.
        assert_eq!(quiet_until(&w, t(23, 0)), None);
        // 07:00 +08:00 on the 23rd is 23:00 UTC on the 22nd: quiet until 08:00 UTC.
        assert_eq!(quiet_until(&w, t(31, 0)), Some(t(40, 0)));
        // An IANA zone keeps daylight saving: New York leaves DST on 2026-11-01, so a night
        // starting at 23:00 EDT ends at 08:00 EST = 13:00 UTC.
        let s: AlertsSettings =
            toml::from_str("tz = \"America/New_York\"\n[quiet_hours]\nx = \"22:00-08:00\"\n")
                .unwrap();
        let w = s.quiet_windows(FixedOffset::east_opt(8 * 3600).unwrap())["x"];
        let night = Utc.with_ymd_and_hms(2026, 11, 1, 3, 0, 0).unwrap();
        assert_eq!(
            quiet_until(&w, night),
            Some(Utc.with_ymd_and_hms(2026, 11, 1, 13, 0, 0).unwrap())
        );
    }

    #[test]
    fn repeats_follow_interval_and_max_and_never_for_quota() {
        let policy = RepeatPolicy {
            interval: Some(Duration::minutes(30)),
            max_repeats: 2,
        };
        let a = alert(RuleKind::ErrorRate, "global", AlertState::Firing);
        let r0 = apply(None, &a, t(9, 0));
        assert!(due_repeats(std::slice::from_ref(&r0), policy, t(9, 29)).is_empty());
        let due = due_repeats(std::slice::from_ref(&r0), policy, t(9, 30));
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].1.episode, "1:repeat1");
        assert_ne!(due[0].1.idempotency_key("x"), a.idempotency_key("x"));
        let r1 = due[0].0.clone();
        let r2 = due_repeats(&[r1], policy, t(10, 0))[0].0.clone();
        assert_eq!(r2.repeats, 2);
        assert!(due_repeats(&[r2], policy, t(12, 0)).is_empty(), "max");
        let off = RepeatPolicy {
            interval: None,
            max_repeats: 5,
        };
        assert!(due_repeats(std::slice::from_ref(&r0), off, t(20, 0)).is_empty());
        let resolved = apply(
            Some(&r0),
            &alert(RuleKind::ErrorRate, "global", AlertState::Resolved),
            t(9, 10),
        );
        assert!(due_repeats(&[resolved], policy, t(20, 0)).is_empty());
        let q = apply(None, &quota_alert(&["a"]), t(9, 0));
        assert!(due_repeats(&[q], policy, t(20, 0)).is_empty());
    }

    #[test]
    fn digest_message_lists_held_alerts_oldest_first() {
        let mut late = alert(RuleKind::ErrorRate, "global", AlertState::Resolved);
        late.at = t(23, 40);
        let mut early = alert(RuleKind::Breaker, "account:a", AlertState::Firing);
        early.at = t(22, 10);
        early.payload = AlertPayload::Breaker(crate::render::messages::BreakerAlert {
            subject: "account:a".into(),
            failures: 5,
            expected_recovery: None,
            last_error: None,
            name: None,
        });
        let tz = FixedOffset::east_opt(8 * 3600).unwrap();
        let m = digest_message(&[late, early], Lang::En, tz, t(32, 0));
        assert_eq!(m.kind, crate::render::message::MessageKind::Digest);
        assert_eq!(m.level, crate::render::message::Level::Critical);
        let rows = &m.sections[0].table.as_ref().unwrap().rows;
        assert_eq!(rows.len(), 2);
        assert!(rows[0][0].ends_with("22:10") && rows[0][1].contains("Circuit breaker open"));
        assert!(rows[1][1].contains("Error rate back to normal"));
        assert_eq!(
            digest_key("team-wecom", t(32, 0)),
            format!("digest:team-wecom:{}", t(32, 0).timestamp_millis())
        );
    }

    #[test]
    fn rule_names_parse() {
        assert_eq!(parse_rule("error-rate"), Some(RuleKind::ErrorRate));
        assert_eq!(parse_rule("Quota"), Some(RuleKind::Quota));
        assert_eq!(parse_rule("cpu"), None);
    }
}
