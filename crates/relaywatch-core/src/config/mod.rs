//! Settings: the raw file shape (serde, unknown fields refused), env overrides compatible with the
//! seed reporter, and validation that reports every bad value with its field, value and fix.
//! Only a validated `Settings` is used to build readers and renderers.

pub mod alerts;
pub mod channels;
pub mod desktop;
pub mod duration;
pub mod env;
mod file;
pub mod health;
pub mod quota;
pub mod rules;
pub mod schedules;
pub mod serve;

pub use duration::{parse_duration, DURATION_HINT};
pub use env::{apply_env, EnvSource, ProcessEnv};
pub use file::{default_config_path, load, load_from_str, LoadedConfig};

use serde::{Deserialize, Serialize};

use crate::error::{Error, FieldError};

/// Which relay reader to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKindSetting {
    Crs,
    Demo,
    /// Claude Code Hub: its PostgreSQL (`database_url`) and, for breakers, its Redis.
    Cch,
}

/// `[source]`: where the relay's data lives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SourceSettings {
    /// `crs`, `cch` or `demo`; when absent: `cch` if `database_url` is set, else `crs` if
    /// `redis_url` is set, else `demo`.
    pub kind: Option<SourceKindSetting>,
    /// `redis://[:password@]host:port[/db]` or `rediss://…` (for `cch`: CCH's Redis, read for
    /// its breakers; optional).
    pub redis_url: Option<String>,
    /// `cch`: CCH's PostgreSQL, `postgres://user:pass@host/db` as a plain string (its password
    /// is masked everywhere) or `{ env | file | keychain }`.
    pub database_url: Option<channels::SecretRef>,
    /// `cch`: the relay's IANA time zone (default: CCH's own rule — `system_settings.timezone`,
    /// else `TZ`, else UTC).
    pub timezone: Option<String>,
    /// The relay's `TIMEZONE_OFFSET` (whole hours; 0 means 8, as in CRS).
    pub timezone_offset_hours: i32,
    /// The relay's own `data/model_pricing.json`; the bundled LiteLLM list otherwise.
    pub pricing_file: Option<String>,
    /// How long to wait for Redis to accept a connection.
    pub connect_timeout_ms: u64,
    /// Minutes averaged for RPM/TPM (CRS's `METRICS_WINDOW`).
    pub realtime_window_minutes: u32,
}

impl Default for SourceSettings {
    fn default() -> Self {
        SourceSettings {
            kind: None,
            redis_url: None,
            database_url: None,
            timezone: None,
            timezone_offset_hours: 8,
            pricing_file: None,
            connect_timeout_ms: 5_000,
            realtime_window_minutes: 5,
        }
    }
}

impl SourceSettings {
    /// The reader this configuration selects.
    pub fn effective_kind(&self) -> SourceKindSetting {
        match (self.kind, &self.database_url, &self.redis_url) {
            (Some(k), _, _) => k,
            (None, Some(_), _) => SourceKindSetting::Cch,
            (None, None, Some(_)) => SourceKindSetting::Crs,
            (None, None, None) => SourceKindSetting::Demo,
        }
    }
}

/// Chart colour theme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ThemeSetting {
    Light,
    Dark,
}

pub use crate::model::Lang;

/// `[report]`: what the dashboard report shows and how its charts look.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReportSettings {
    pub trend_days: u32,
    pub top_keys: u32,
    pub chart_width: u32,
    pub chart_height: u32,
    pub chart_theme: ThemeSetting,
    pub lang: Lang,
    /// Channels the report goes to; default: every enabled channel.
    pub channels: Option<Vec<String>>,
}

impl Default for ReportSettings {
    fn default() -> Self {
        ReportSettings {
            trend_days: 7,
            top_keys: 10,
            chart_width: 800,
            chart_height: 400,
            chart_theme: ThemeSetting::Light,
            lang: Lang::En,
            channels: None,
        }
    }
}

/// How log lines are written on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One human-readable line per event (the default).
    #[default]
    Text,
    /// One JSON object per line: timestamp, level, target, fields (message included).
    Json,
}

impl LogFormat {
    pub fn parse(s: &str) -> Option<LogFormat> {
        match s.trim().to_ascii_lowercase().as_str() {
            "text" => Some(LogFormat::Text),
            "json" => Some(LogFormat::Json),
            _ => None,
        }
    }
}

/// `[log]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSettings {
    /// error, warn, info, debug or trace.
    pub level: String,
    /// `text` or `json`, for `relaywatch run` and `serve` (`--log-format` wins).
    pub format: LogFormat,
}

impl Default for LogSettings {
    fn default() -> Self {
        LogSettings {
            level: "info".into(),
            format: LogFormat::Text,
        }
    }
}

/// The whole configuration file.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub source: SourceSettings,
    pub report: ReportSettings,
    pub log: LogSettings,
    pub channels: Vec<channels::ChannelSettings>,
    pub network: channels::NetworkSettings,
    pub delivery: channels::DeliverySettings,
    pub state: channels::StateSettings,
    pub health: health::HealthSettings,
    pub rules: rules::RulesSettings,
    pub events: rules::EventsSettings,
    pub alerts: alerts::AlertsSettings,
    /// `[schedules.<name>]`; none configured means the seed's report schedule.
    pub schedules: std::collections::BTreeMap<String, schedules::ScheduleSettings>,
    /// `[serve]`: the HTTP API and web UI of `relaywatch serve`.
    pub serve: serve::ServeSettings,
    /// `[desktop]`: the tray app's native notifications and refresh.
    pub desktop: desktop::DesktopSettings,
}

/// Allowed ranges, shared by validation, env parsing and the docs.
pub mod limits {
    pub const TREND_DAYS: (u32, u32) = (1, 30);
    pub const TOP_KEYS: (u32, u32) = (1, 20);
    pub const CHART_WIDTH: (u32, u32) = (320, 4096);
    pub const CHART_HEIGHT: (u32, u32) = (200, 4096);
    pub const TIMEZONE_OFFSET: (i32, i32) = (-12, 14);
    pub const CONNECT_TIMEOUT_MS: (u64, u64) = (100, 120_000);
    pub const REALTIME_WINDOW: (u32, u32) = (1, 60);
    pub const LOG_LEVELS: &[&str] = &["error", "warn", "info", "debug", "trace"];
}

fn check_range<T: PartialOrd + std::fmt::Display>(
    errors: &mut Vec<FieldError>,
    field: &str,
    value: T,
    (lo, hi): (T, T),
) {
    if value < lo || value > hi {
        errors.push(FieldError {
            field: field.into(),
            value: value.to_string(),
            fix: format!("must be between {lo} and {hi}"),
        });
    }
}

impl Settings {
    /// The channels the report goes to: `[report] channels`, else every enabled channel. Every
    /// face and the scheduler ask here, so the tray, the CLI and the daemon agree.
    pub fn report_channels(&self) -> Vec<String> {
        match &self.report.channels {
            Some(names) => names.clone(),
            None => self.enabled_channels(),
        }
    }

    /// The names of the channels that are not switched off, in file order.
    pub fn enabled_channels(&self) -> Vec<String> {
        self.channels
            .iter()
            .filter(|c| c.enabled)
            .map(|c| c.name.clone())
            .collect()
    }

    /// The language `channel` receives: its own `lang`, else the report's.
    pub fn channel_lang(&self, channel: &str) -> Lang {
        self.channels
            .iter()
            .find(|c| c.name == channel)
            .and_then(|c| c.lang)
            .unwrap_or(self.report.lang)
    }

    /// Every invalid value, each with its field path and the fix; empty when valid.
    pub fn problems(&self) -> Vec<FieldError> {
        let mut e = Vec::new();
        source_problems(&mut e, &self.source);
        report_problems(&mut e, &self.report);
        e.extend(channels::channel_problems(&self.channels));
        e.extend(schedules::schedule_problems(self));
        e.extend(self.health.problems());
        e.extend(self.rules.problems(&self.channels));
        e.extend(self.alerts.problems(&self.channels));
        e.extend(self.events.problems());
        if self.events.source == rules::EventSourceKind::Cch && self.source.database_url.is_none() {
            e.push(FieldError {
                field: "events.source".into(),
                value: "\"cch\"".into(),
                fix: "reads Claude Code Hub's message_request: set [source] kind = \"cch\" and its database_url".into(),
            });
        }
        e.extend(self.serve.problems());
        e.extend(self.desktop.problems());
        redis_url_problems(&mut e, "events.redis_url", self.events.redis_url.as_deref());
        e.extend(channels::delivery_problems(
            &self.network,
            &self.delivery,
            &self.state,
        ));
        redis_url_problems(&mut e, "state.redis_url", self.state.redis_url.as_deref());
        self.report_channel_problems(&mut e);
        if !limits::LOG_LEVELS.contains(&self.log.level.as_str()) {
            e.push(FieldError {
                field: "log.level".into(),
                value: format!("{:?}", self.log.level),
                fix: format!("must be one of {}", limits::LOG_LEVELS.join(", ")),
            });
        }
        e
    }

    /// `[report] channels` entries that name no channel.
    fn report_channel_problems(&self, e: &mut Vec<FieldError>) {
        for (i, name) in self.report.channels.iter().flatten().enumerate() {
            if !self.channels.iter().any(|c| &c.name == name) {
                e.push(FieldError {
                    field: format!("report.channels[{i}]"),
                    value: format!("{name:?}"),
                    fix: "name a channel defined in [[channels]]".into(),
                });
            }
        }
    }

    /// Makes every later `secrets::redact` scrub the passwords of the Redis URLs and of the
    /// channels' proxies.
    pub fn remember_credentials(&self) {
        for url in [
            &self.source.redis_url,
            &self.events.redis_url,
            &self.state.redis_url,
        ]
        .into_iter()
        .flatten()
        {
            crate::secrets::remember_url_credentials(url);
        }
        for r in [&self.events.database_url, &self.source.database_url] {
            if let Some(channels::SecretRef::Plain(u)) = r {
                crate::secrets::remember_url_credentials(u);
            }
        }
        for p in self.channels.iter().filter_map(|c| c.proxy.as_deref()) {
            crate::secrets::remember_url_credentials(p);
        }
    }

    /// `Ok(self)` when valid, else an error listing every problem.
    pub fn validated(self, source_name: Option<String>) -> Result<Settings, Error> {
        self.remember_credentials();
        let errors = self.problems();
        if errors.is_empty() {
            Ok(self)
        } else {
            Err(Error::Config {
                source_name,
                errors,
            })
        }
    }

    /// The configuration as TOML with every secret masked (for `check-config`).
    pub fn to_masked_toml(&self) -> String {
        let mut shown = self.clone();
        if let Some(url) = &shown.source.redis_url {
            shown.source.redis_url = Some(crate::secrets::mask_url(url));
        }
        if let Some(url) = &shown.state.redis_url {
            shown.state.redis_url = Some(crate::secrets::mask_url(url));
        }
        if let Some(url) = &shown.events.redis_url {
            shown.events.redis_url = Some(crate::secrets::mask_url(url));
        }
        for r in [
            &mut shown.events.database_url,
            &mut shown.source.database_url,
        ] {
            if let Some(channels::SecretRef::Plain(u)) = r {
                *u = crate::secrets::mask_url(u);
            }
        }
        for c in &mut shown.channels {
            for r in [&mut c.url, &mut c.secret, &mut c.app_secret, &mut c.bearer] {
                if let Some(channels::SecretRef::Plain(v)) = r {
                    *v = "***".into();
                }
            }
            if let Some(p) = &c.proxy {
                c.proxy = Some(crate::secrets::redact_url(p));
            }
        }
        toml::to_string_pretty(&shown).unwrap_or_else(|e| format!("# cannot render: {e}\n"))
    }
}

/// `kind = "cch"` needs a PostgreSQL `database_url`; `timezone` must be an IANA name.
fn cch_problems(e: &mut Vec<FieldError>, s: &SourceSettings) {
    let push = |e: &mut Vec<FieldError>, field: &str, value: String, fix: &str| {
        e.push(FieldError {
            field: field.into(),
            value,
            fix: fix.into(),
        })
    };
    match &s.database_url {
        None if s.effective_kind() == SourceKindSetting::Cch => push(
            e,
            "source.database_url",
            "(unset)".into(),
            "`kind = \"cch\"` reads Claude Code Hub's PostgreSQL: give database_url, e.g. { env = \"CCH_DATABASE_URL\" } or \"postgres://reader@127.0.0.1:5432/claude_code_hub\"",
        ),
        Some(channels::SecretRef::Plain(u)) if !rules::is_postgres_url(u) => push(
            e,
            "source.database_url",
            crate::secrets::mask_url(u),
            "must be a postgres:// or postgresql:// URL",
        ),
        _ => {}
    }
    if let Some(z) = &s.timezone {
        if z.trim().parse::<chrono_tz::Tz>().is_err() {
            push(
                e,
                "source.timezone",
                format!("{z:?}"),
                "an IANA zone such as Asia/Shanghai or UTC, or remove the line for CCH's own",
            );
        }
    }
}

/// Every problem of `[source]`: its ranges, its Redis URL (required by `kind = "crs"`) and an
/// empty price file path.
fn source_problems(e: &mut Vec<FieldError>, s: &SourceSettings) {
    check_range(
        e,
        "source.timezone_offset_hours",
        s.timezone_offset_hours,
        limits::TIMEZONE_OFFSET,
    );
    check_range(
        e,
        "source.connect_timeout_ms",
        s.connect_timeout_ms,
        limits::CONNECT_TIMEOUT_MS,
    );
    check_range(
        e,
        "source.realtime_window_minutes",
        s.realtime_window_minutes,
        limits::REALTIME_WINDOW,
    );
    redis_url_problems(e, "source.redis_url", s.redis_url.as_deref());
    if s.effective_kind() == SourceKindSetting::Crs && s.redis_url.is_none() {
        e.push(FieldError {
            field: "source.redis_url".into(),
            value: "(unset)".into(),
            fix: "`kind = \"crs\"` needs a redis_url such as redis://127.0.0.1:6379/0 (or set REDIS_HOST)".into(),
        });
    }
    cch_problems(e, s);
    if let Some(p) = &s.pricing_file {
        if p.trim().is_empty() {
            e.push(FieldError {
                field: "source.pricing_file".into(),
                value: "\"\"".into(),
                fix: "give the path of a LiteLLM-format JSON price list, or remove the line to use the bundled one".into(),
            });
        }
    }
}

/// The ranges of `[report]`.
fn report_problems(e: &mut Vec<FieldError>, r: &ReportSettings) {
    check_range(e, "report.trend_days", r.trend_days, limits::TREND_DAYS);
    check_range(e, "report.top_keys", r.top_keys, limits::TOP_KEYS);
    check_range(e, "report.chart_width", r.chart_width, limits::CHART_WIDTH);
    check_range(
        e,
        "report.chart_height",
        r.chart_height,
        limits::CHART_HEIGHT,
    );
}

/// A Redis URL at `field` that is set but not valid.
fn redis_url_problems(e: &mut Vec<FieldError>, field: &str, url: Option<&str>) {
    if let Some(url) = url {
        if let Err(why) = check_redis_url(url) {
            e.push(FieldError {
                field: field.into(),
                value: shown_redis_url(url),
                fix: why,
            });
        }
    }
}

/// A Redis URL as an error shows it: the password masked; a value that is no URL not at all.
fn shown_redis_url(url: &str) -> String {
    let lower = url.to_ascii_lowercase();
    if ["redis://", "rediss://", "redis+unix://", "unix://"]
        .iter()
        .any(|p| lower.starts_with(p))
    {
        crate::secrets::mask_url(url)
    } else {
        "(not a Redis URL; not shown)".into()
    }
}

fn check_redis_url(url: &str) -> Result<(), String> {
    let lower = url.to_ascii_lowercase();
    if !(lower.starts_with("redis://")
        || lower.starts_with("rediss://")
        || lower.starts_with("redis+unix://")
        || lower.starts_with("unix://"))
    {
        return Err(
            "must start with redis://, rediss:// or unix:// (e.g. redis://127.0.0.1:6379/0)".into(),
        );
    }
    redis::Client::open(url).map(|_| ()).map_err(|e| {
        format!("not a valid Redis URL ({e}); e.g. redis://:password@127.0.0.1:6379/0")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_select_demo() {
        let s = Settings::default();
        assert!(s.problems().is_empty());
        assert_eq!(s.source.effective_kind(), SourceKindSetting::Demo);
        assert_eq!(s.report.trend_days, 7);
        assert_eq!(s.report.top_keys, 10);
    }

    #[test]
    fn every_bad_value_is_named_with_value_and_range() {
        let mut s = Settings::default();
        s.report.trend_days = 45;
        s.report.top_keys = 0;
        s.log.level = "loud".into();
        let p = s.problems();
        assert_eq!(p.len(), 3, "{p:?}");
        assert_eq!(p[0].field, "report.trend_days");
        assert_eq!(p[0].value, "45");
        assert_eq!(p[0].fix, "must be between 1 and 30");
        assert_eq!(p[1].field, "report.top_keys");
        assert_eq!(p[2].field, "log.level");
        let msg = Settings { ..s }.validated(None).unwrap_err().to_string();
        assert!(
            msg.contains("`report.trend_days` = 45: must be between 1 and 30"),
            "{msg}"
        );
    }

    #[test]
    fn channels_are_validated_and_literal_secrets_refused() {
        let text = r#"
[[channels]]
name = "team-wecom"
type = "wechat"
url = { env = "WECOM_URL" }
format = "markdown_v2"

[[channels]]
name = "alerts"
type = "telegram"
url = "123456:literal-token"

[[channels]]
name = "team-wecom"
type = "file"

[report]
channels = ["team-wecom", "nope"]
"#;
        let s: Settings = toml::from_str(text).unwrap();
        assert_eq!(
            s.channels[0].kind,
            channels::ChannelType::Wecom,
            "seed alias"
        );
        let p = s.problems();
        let fields: Vec<&str> = p.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "channels[1].url",
                "channels[1].chat_id",
                "channels[2].name",
                "channels[2].path",
                "report.channels[1]"
            ],
            "{p:?}"
        );
        assert!(!format!("{p:?}").contains("literal-token"));
        let shown = s.to_masked_toml();
        assert!(!shown.contains("literal-token"), "{shown}");
    }

    #[test]
    fn bad_redis_url_is_refused_without_showing_the_password() {
        let mut s = Settings::default();
        s.source.redis_url = Some("http://:hunter2@example:6379".into());
        let p = s.problems();
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].field, "source.redis_url");
        assert!(!p[0].value.contains("hunter2"), "{:?}", p[0]);
    }

    #[test]
    fn log_format_is_text_unless_json_is_asked_for() {
        assert_eq!(Settings::default().log.format, LogFormat::Text);
        let s = load_from_str("[log]\nformat = \"json\"\n", "relaywatch.toml").unwrap();
        assert_eq!(s.log.format, LogFormat::Json);
        assert!(s.problems().is_empty());
        let e = load_from_str("[log]\nformat = \"xml\"\n", "relaywatch.toml")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("line 2") && e.contains("`text` or `json`"),
            "{e}"
        );
        let e = load_from_str("[log]\nstyle = \"json\"\n", "relaywatch.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown field") && e.contains("`format`"), "{e}");
        assert_eq!(LogFormat::parse(" JSON "), Some(LogFormat::Json));
        assert_eq!(LogFormat::parse("yaml"), None);
    }

    #[test]
    fn report_channels_and_languages_follow_one_rule() {
        use channels::{ChannelSettings, ChannelType};
        let mut s = Settings {
            channels: vec![
                ChannelSettings {
                    lang: Some(Lang::ZhCn),
                    ..ChannelSettings::new("wecom", ChannelType::Wecom)
                },
                ChannelSettings {
                    enabled: false,
                    ..ChannelSettings::new("off", ChannelType::Slack)
                },
                ChannelSettings::new("slack", ChannelType::Slack),
            ],
            ..Settings::default()
        };
        assert_eq!(s.enabled_channels(), ["wecom", "slack"]);
        assert_eq!(s.report_channels(), ["wecom", "slack"]);
        s.report.channels = Some(vec!["slack".into()]);
        assert_eq!(s.report_channels(), ["slack"]);
        assert_eq!(s.channel_lang("wecom"), Lang::ZhCn);
        assert_eq!(s.channel_lang("slack"), s.report.lang);
        assert_eq!(s.channel_lang("unknown"), s.report.lang);
    }
}
