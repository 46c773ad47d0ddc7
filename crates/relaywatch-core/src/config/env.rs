//! Environment overrides: relaywatch's own `RELAYWATCH_*` variables, CRS's `TIMEZONE_OFFSET` and
//! `METRICS_WINDOW`, and the seed reporter's `REDIS_*`/`DASHBOARD_*` names, so an existing
//! deployment switches by changing the image only. Pure: the environment is passed in.

use super::channels::{ChannelSettings, ChannelType, SecretRef};
use super::schedules::ScheduleSettings;
use super::{
    limits, Lang, ReportSettings, Settings, SourceKindSetting, SourceSettings, ThemeSetting,
};
use crate::error::FieldError;

/// A view of the environment: the process's, or a map in tests.
pub trait EnvSource {
    fn var(&self, name: &str) -> Option<String>;
}

/// The real process environment.
pub struct ProcessEnv;

impl EnvSource for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.trim().is_empty())
    }
}

impl<F: Fn(&str) -> Option<String>> EnvSource for F {
    fn var(&self, name: &str) -> Option<String> {
        self(name)
    }
}

fn bad(name: &str, value: &str, fix: impl Into<String>) -> FieldError {
    FieldError {
        field: format!("env {name}"),
        value: format!("{value:?}"),
        fix: fix.into(),
    }
}

fn whole<T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy>(
    errors: &mut Vec<FieldError>,
    name: &str,
    raw: &str,
    (lo, hi): (T, T),
) -> Option<T> {
    match raw.trim().parse::<T>() {
        Ok(v) if v >= lo && v <= hi => Some(v),
        _ => {
            errors.push(bad(
                name,
                raw,
                format!("must be a whole number between {lo} and {hi}"),
            ));
            None
        }
    }
}

/// Percent-encode a Redis password for a URL's userinfo.
fn encode_userinfo(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Apply every recognised variable; returns the problems (with the variable's name) if any.
pub fn apply_env(settings: &mut Settings, env: &dyn EnvSource) -> Vec<FieldError> {
    let mut e = Vec::new();
    apply_source_env(&mut settings.source, env, &mut e);
    apply_report_env(&mut settings.report, env, &mut e);
    if let Some(raw) = env.var("LOG_LEVEL") {
        let lvl = raw.trim().to_ascii_lowercase();
        if limits::LOG_LEVELS.contains(&lvl.as_str()) {
            settings.log.level = lvl;
        } else {
            e.push(bad(
                "LOG_LEVEL",
                &raw,
                format!("must be one of {}", limits::LOG_LEVELS.join(", ")),
            ));
        }
    }
    e.extend(apply_seed_webhook(settings, env));
    e
}

/// Variable `name` as a whole number in `range`, when it is set (a bad value is a problem).
fn whole_var<T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy>(
    errors: &mut Vec<FieldError>,
    env: &dyn EnvSource,
    name: &str,
    range: (T, T),
) -> Option<T> {
    let raw = env.var(name)?;
    whole(errors, name, &raw, range)
}

/// `[source]`: the Redis URL (relaywatch's own, or the seed's `REDIS_*` parts), the reader,
/// CRS's `TIMEZONE_OFFSET` and `METRICS_WINDOW`, the price file.
fn apply_source_env(src: &mut SourceSettings, env: &dyn EnvSource, e: &mut Vec<FieldError>) {
    if let Some(url) = env.var("RELAYWATCH_REDIS_URL") {
        src.redis_url = Some(url);
    }
    if let Some(host) = env.var("REDIS_HOST") {
        src.redis_url = Some(seed_redis_url(host, env, e));
    }
    if let Some(kind) = env.var("RELAYWATCH_SOURCE") {
        match kind.trim().to_ascii_lowercase().as_str() {
            "crs" => src.kind = Some(SourceKindSetting::Crs),
            "demo" => src.kind = Some(SourceKindSetting::Demo),
            _ => e.push(bad("RELAYWATCH_SOURCE", &kind, "must be crs or demo")),
        }
    }
    if let Some(raw) = env.var("TIMEZONE_OFFSET") {
        // CRS: parseInt(TIMEZONE_OFFSET): "5.5" is 5.
        let int_part = raw.trim().split('.').next().unwrap_or("");
        if let Some(v) = whole::<i32>(e, "TIMEZONE_OFFSET", int_part, limits::TIMEZONE_OFFSET) {
            src.timezone_offset_hours = v;
        }
    }
    if let Some(v) = whole_var(e, env, "METRICS_WINDOW", limits::REALTIME_WINDOW) {
        src.realtime_window_minutes = v;
    }
    if let Some(p) = env.var("RELAYWATCH_PRICING_FILE") {
        src.pricing_file = Some(p);
    }
}

/// The seed's Redis URL from `REDIS_HOST` and `REDIS_PORT`, `REDIS_DB`, `REDIS_PASSWORD`.
fn seed_redis_url(host: String, env: &dyn EnvSource, e: &mut Vec<FieldError>) -> String {
    let port = match env.var("REDIS_PORT") {
        Some(p) => whole::<u16>(e, "REDIS_PORT", &p, (1, u16::MAX)).unwrap_or(6379),
        None => 6379,
    };
    let db = match env.var("REDIS_DB") {
        Some(d) => whole::<u32>(e, "REDIS_DB", &d, (0, 10_000)).unwrap_or(0),
        None => 0,
    };
    let auth = match env.var("REDIS_PASSWORD") {
        Some(pw) => format!(":{}@", encode_userinfo(&pw)),
        None => String::new(),
    };
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host
    };
    format!("redis://{auth}{host}:{port}/{db}")
}

/// `[report]`: the seed's `DASHBOARD_*` trend, top keys and chart, and `RELAYWATCH_LANG`.
fn apply_report_env(rep: &mut ReportSettings, env: &dyn EnvSource, e: &mut Vec<FieldError>) {
    if let Some(v) = whole_var(e, env, "DASHBOARD_TREND_DAYS", limits::TREND_DAYS) {
        rep.trend_days = v;
    }
    if let Some(v) = whole_var(e, env, "DASHBOARD_TOP_API_KEYS", limits::TOP_KEYS) {
        rep.top_keys = v;
    }
    if let Some(v) = whole_var(e, env, "DASHBOARD_CHART_WIDTH", limits::CHART_WIDTH) {
        rep.chart_width = v;
    }
    if let Some(v) = whole_var(e, env, "DASHBOARD_CHART_HEIGHT", limits::CHART_HEIGHT) {
        rep.chart_height = v;
    }
    if let Some(raw) = env.var("DASHBOARD_CHART_THEME") {
        match raw.trim().to_ascii_lowercase().as_str() {
            "light" => rep.chart_theme = ThemeSetting::Light,
            "dark" => rep.chart_theme = ThemeSetting::Dark,
            _ => e.push(bad("DASHBOARD_CHART_THEME", &raw, "must be light or dark")),
        }
    }
    if let Some(raw) = env.var("RELAYWATCH_LANG") {
        match Lang::parse(&raw) {
            Some(l) => rep.lang = l,
            None => e.push(bad("RELAYWATCH_LANG", &raw, "must be en or zh-CN")),
        }
    }
}

/// The name of the channel and schedule the seed's `DASHBOARD_WEBHOOK_*` variables define.
pub const SEED_NAME: &str = "dashboard";

/// The seed reporter's webhook: `DASHBOARD_WEBHOOK_URL` and `_TYPE` become the channel
/// `dashboard` (the URL stays in the environment: the channel refers to it), `_INTERVAL` (cron,
/// in `DASHBOARD_SCHEDULE_TIMEZONE`, default Asia/Shanghai as in the seed) the schedule
/// `dashboard`, `_TIMEOUT` the HTTP timeout, `FEISHU_APP_ID`/`_SECRET` the Feishu app. As in the
/// seed, unless `DASHBOARD_WEBHOOK_ENABLE` is `true` the daemon stands by (the global switch is
/// off: healthy, sending nothing).
fn apply_seed_webhook(settings: &mut Settings, env: &dyn EnvSource) -> Vec<FieldError> {
    let mut e = Vec::new();
    let names = [
        "DASHBOARD_WEBHOOK_ENABLE",
        "DASHBOARD_WEBHOOK_URL",
        "DASHBOARD_WEBHOOK_TYPE",
        "DASHBOARD_WEBHOOK_INTERVAL",
        "DASHBOARD_WEBHOOK_TIMEOUT",
    ];
    if !names.iter().any(|n| env.var(n).is_some()) {
        return e;
    }
    let enabled = seed_enabled(env, &mut e);
    if !enabled {
        settings.alerts.enabled = false;
    }
    if let Some(v) = whole_var::<u64>(&mut e, env, "DASHBOARD_WEBHOOK_TIMEOUT", (100, 120_000)) {
        settings.network.timeout_ms = v;
    }
    if env.var("DASHBOARD_WEBHOOK_URL").is_none() {
        if enabled {
            e.push(bad(
                "DASHBOARD_WEBHOOK_URL",
                "",
                "is required when DASHBOARD_WEBHOOK_ENABLE=true: set it to the webhook's URL",
            ));
        }
        return e;
    }
    let Some(kind) = seed_kind(env, &mut e) else {
        return e;
    };
    settings.channels.retain(|c| c.name != SEED_NAME);
    settings.channels.push(seed_channel(kind, env));
    settings
        .schedules
        .insert(SEED_NAME.into(), seed_schedule(env));
    e
}

/// `DASHBOARD_WEBHOOK_ENABLE` as a switch; unset (or bad, a problem) is off.
fn seed_enabled(env: &dyn EnvSource, e: &mut Vec<FieldError>) -> bool {
    match env.var("DASHBOARD_WEBHOOK_ENABLE") {
        None => false,
        Some(raw) => match raw.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => true,
            "false" | "0" | "no" | "off" => false,
            _ => {
                e.push(bad(
                    "DASHBOARD_WEBHOOK_ENABLE",
                    &raw,
                    "must be true or false",
                ));
                false
            }
        },
    }
}

/// `DASHBOARD_WEBHOOK_TYPE` (Slack when unset); `None` (a problem) for a type the seed has not.
fn seed_kind(env: &dyn EnvSource, e: &mut Vec<FieldError>) -> Option<ChannelType> {
    match env.var("DASHBOARD_WEBHOOK_TYPE") {
        None => Some(ChannelType::Slack),
        Some(raw) => match ChannelType::parse(&raw) {
            Some(ChannelType::File | ChannelType::Telegram) | None => {
                e.push(bad(
                    "DASHBOARD_WEBHOOK_TYPE",
                    &raw,
                    "must be slack, discord, dingtalk, wecom, feishu or generic (or dingding, lark, wechat, workwx)",
                ));
                None
            }
            Some(k) => Some(k),
        },
    }
}

/// The seed's channel: its URL (and a Feishu app's secret) referred to in the environment.
fn seed_channel(kind: ChannelType, env: &dyn EnvSource) -> ChannelSettings {
    let feishu = matches!(kind, ChannelType::Feishu | ChannelType::Lark);
    ChannelSettings {
        url: Some(SecretRef::Env {
            env: "DASHBOARD_WEBHOOK_URL".into(),
        }),
        app_id: env.var("FEISHU_APP_ID").filter(|_| feishu),
        app_secret: env
            .var("FEISHU_APP_SECRET")
            .filter(|_| feishu)
            .map(|_| SecretRef::Env {
                env: "FEISHU_APP_SECRET".into(),
            }),
        ..ChannelSettings::new(SEED_NAME, kind)
    }
}

/// The seed's schedule: `DASHBOARD_WEBHOOK_INTERVAL` (every 6 hours) in
/// `DASHBOARD_SCHEDULE_TIMEZONE` (Asia/Shanghai), to the seed's channel.
fn seed_schedule(env: &dyn EnvSource) -> ScheduleSettings {
    ScheduleSettings {
        cron: Some(
            env.var("DASHBOARD_WEBHOOK_INTERVAL")
                .unwrap_or_else(|| "0 */6 * * *".into()),
        ),
        tz: Some(
            env.var("DASHBOARD_SCHEDULE_TIMEZONE")
                .unwrap_or_else(|| "Asia/Shanghai".into()),
        ),
        channels: Some(vec![SEED_NAME.into()]),
        ..ScheduleSettings::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k: &str| m.get(k).cloned()
    }

    #[test]
    fn seed_webhook_variables_define_a_channel_and_a_schedule() {
        let mut s = Settings::default();
        let errs = apply_env(
            &mut s,
            &env(&[
                ("DASHBOARD_WEBHOOK_ENABLE", "true"),
                (
                    "DASHBOARD_WEBHOOK_URL",
                    "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k",
                ),
                ("DASHBOARD_WEBHOOK_TYPE", "workwx"),
                ("DASHBOARD_WEBHOOK_INTERVAL", "0 9 * * *"),
                ("DASHBOARD_WEBHOOK_TIMEOUT", "30000"),
            ]),
        );
        assert!(errs.is_empty(), "{errs:?}");
        assert!(s.alerts.enabled);
        let c = &s.channels[0];
        assert_eq!((c.name.as_str(), c.kind.as_str()), ("dashboard", "wecom"));
        assert!(
            !format!("{:?}", c.url).contains("key=k"),
            "the URL stays in the environment"
        );
        let sch = &s.schedules["dashboard"];
        assert_eq!(sch.cron.as_deref(), Some("0 9 * * *"));
        assert_eq!(sch.tz.as_deref(), Some("Asia/Shanghai"));
        assert_eq!(s.network.timeout_ms, 30_000);
        assert!(s.problems().is_empty(), "{:?}", s.problems());
    }

    #[test]
    fn seed_webhook_not_enabled_stands_by_and_bad_values_are_named() {
        let mut s = Settings::default();
        let errs = apply_env(
            &mut s,
            &env(&[(
                "DASHBOARD_WEBHOOK_URL",
                "https://hooks.slack.com/services/x",
            )]),
        );
        assert!(errs.is_empty(), "{errs:?}");
        assert!(
            !s.alerts.enabled,
            "ENABLE unset means standby, as in the seed"
        );
        let mut s = Settings::default();
        let errs = apply_env(
            &mut s,
            &env(&[
                ("DASHBOARD_WEBHOOK_ENABLE", "maybe"),
                ("DASHBOARD_WEBHOOK_URL", "https://x"),
                ("DASHBOARD_WEBHOOK_TYPE", "pager"),
            ]),
        );
        let text = errs
            .iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join("\n");
        assert!(text.contains("DASHBOARD_WEBHOOK_ENABLE"), "{text}");
        assert!(
            text.contains("DASHBOARD_WEBHOOK_TYPE") && text.contains("wecom"),
            "{text}"
        );
        let mut s = Settings::default();
        let errs = apply_env(&mut s, &env(&[("DASHBOARD_WEBHOOK_ENABLE", "true")]));
        assert!(
            errs[0].to_string().contains("DASHBOARD_WEBHOOK_URL"),
            "{errs:?}"
        );
    }

    #[test]
    fn seed_reporter_variables_apply() {
        let mut s = Settings::default();
        let errs = apply_env(
            &mut s,
            &env(&[
                ("REDIS_HOST", "redis"),
                ("REDIS_PORT", "6380"),
                ("REDIS_PASSWORD", "p@ss word"),
                ("REDIS_DB", "2"),
                ("DASHBOARD_TREND_DAYS", "14"),
                ("DASHBOARD_TOP_API_KEYS", "5"),
                ("DASHBOARD_CHART_THEME", "dark"),
                ("DASHBOARD_CHART_WIDTH", "1024"),
                ("DASHBOARD_CHART_HEIGHT", "512"),
                ("LOG_LEVEL", "debug"),
                ("TIMEZONE_OFFSET", "5.5"),
            ]),
        );
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(
            s.source.redis_url.as_deref(),
            Some("redis://:p%40ss%20word@redis:6380/2")
        );
        assert_eq!(s.source.effective_kind(), SourceKindSetting::Crs);
        assert_eq!(s.source.timezone_offset_hours, 5);
        assert_eq!(s.report.trend_days, 14);
        assert_eq!(s.report.top_keys, 5);
        assert_eq!(s.report.chart_theme, ThemeSetting::Dark);
        assert_eq!((s.report.chart_width, s.report.chart_height), (1024, 512));
        assert_eq!(s.log.level, "debug");
    }

    #[test]
    fn bad_values_name_the_variable_and_range() {
        let mut s = Settings::default();
        let errs = apply_env(
            &mut s,
            &env(&[
                ("DASHBOARD_TREND_DAYS", "31"),
                ("DASHBOARD_CHART_THEME", "blue"),
            ]),
        );
        assert_eq!(errs.len(), 2);
        assert_eq!(
            errs[0].to_string(),
            "`env DASHBOARD_TREND_DAYS` = \"31\": must be a whole number between 1 and 30"
        );
        assert!(errs[1].to_string().contains("DASHBOARD_CHART_THEME"));
        assert_eq!(s.report.trend_days, 7, "a refused value changes nothing");
    }
}
