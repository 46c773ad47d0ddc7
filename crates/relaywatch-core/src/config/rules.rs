//! `[rules.error_rate]`, `[rules.breaker]` (the streaming rules) and `[events]` (where their
//! events come from); rule: every range is checked here, each bad value named with its field and
//! the fix, and channel names must be defined in `[[channels]]`.

use serde::{Deserialize, Serialize};

use super::channels::{ChannelSettings, SecretRef};
use super::quota::unknown_channels;
use crate::error::FieldError;

/// Allowed ranges, shared by validation and the docs.
pub mod limits {
    pub const WINDOW_SECONDS: (u64, u64) = (1, 3_600);
    pub const THRESHOLD: (u64, u64) = (0, 1_000_000);
    pub const MIN_REQUESTS: (u64, u64) = (1, 1_000_000);
    pub const COOLDOWN_SECONDS: (u64, u64) = (0, 86_400);
    pub const STATUS_CODE_THRESHOLD: (u16, u16) = (100, 599);
    pub const FAILURES: (u64, u64) = (1, 10_000);
    pub const BREAKER_WINDOW_SECONDS: (u64, u64) = (0, 86_400);
    pub const OPEN_SECONDS: (u64, u64) = (1, 86_400);
    pub const HALF_OPEN_SUCCESSES: (u64, u64) = (1, 1_000);
    pub const BATCH: (usize, usize) = (1, 1_000);
    pub const CLAIM_IDLE_SECONDS: (u64, u64) = (1, 3_600);
}

/// What the error rate is counted per.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dimension {
    /// All events together (subject `global`).
    Global,
    /// Per `provider_id`, else `provider_name` (subject `provider:<id>`).
    Provider,
    /// Per `key_id` (subject `key:<id>`).
    Key,
    /// Per `model` (subject `model:<name>`).
    Model,
}

impl Dimension {
    pub fn as_str(self) -> &'static str {
        match self {
            Dimension::Global => "global",
            Dimension::Provider => "provider",
            Dimension::Key => "key",
            Dimension::Model => "model",
        }
    }
}

/// `[rules.error_rate]`: a sliding window of errors per subject (EZ-API compatible defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ErrorRateSettings {
    pub enabled: bool,
    /// The sliding window (1-3600 s, default 60).
    pub window_seconds: u64,
    /// Errors in the window that fire (default 10; 0 = only the ratio fires).
    pub threshold: u64,
    /// Requests in the window before `ratio` is considered (default 20).
    pub min_requests: u64,
    /// Error ratio that fires (0 < ratio ≤ 1, e.g. 0.2); unset: the count alone.
    pub ratio: Option<f64>,
    /// After a subject fires, no new firing of it within this many seconds (default 300).
    pub cooldown_seconds: u64,
    /// A record is an error when its status is at least this (default 500) or it carries a
    /// non-empty `error_message`.
    pub status_code_threshold: u16,
    /// Counted per these (default global and provider).
    pub dimensions: Vec<Dimension>,
    /// Channels these alerts go to; default `[alerts] channels`, else every enabled channel.
    pub channels: Option<Vec<String>>,
}

impl Default for ErrorRateSettings {
    fn default() -> Self {
        ErrorRateSettings {
            enabled: true,
            window_seconds: 60,
            threshold: 10,
            min_requests: 20,
            ratio: None,
            cooldown_seconds: 300,
            status_code_threshold: 500,
            dimensions: vec![Dimension::Global, Dimension::Provider],
            channels: None,
        }
    }
}

/// `[rules.breaker]`: a circuit breaker per provider, counted in Redis across instances, plus
/// watching breakers and account states kept by the relay itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BreakerSettings {
    pub enabled: bool,
    /// Opens after this many consecutive failures (default 5, as Claude Code Hub) — or this many
    /// within `window_seconds` when that is set.
    pub failures: u64,
    /// 0 (default): consecutive failures only; else also `failures` within this many seconds.
    pub window_seconds: u64,
    /// Open for this long, then half-open (default 1800, as Claude Code Hub).
    pub open_seconds: u64,
    /// Successes in a row that close a half-open breaker (default 2).
    pub half_open_successes: u64,
    /// At most one open message per subject within this many seconds (default 300).
    pub cooldown_seconds: u64,
    /// Watch Claude Code Hub's `circuit_breaker:state:{id}` hashes in the source Redis.
    pub watch_cch: bool,
    /// Watch CRS accounts' states (rate-limited, error, unauthorized, blocked, unschedulable).
    pub watch_accounts: bool,
    /// Channels these alerts go to; default `[alerts] channels`, else every enabled channel.
    pub channels: Option<Vec<String>>,
}

impl Default for BreakerSettings {
    fn default() -> Self {
        BreakerSettings {
            enabled: true,
            failures: 5,
            window_seconds: 0,
            open_seconds: 1_800,
            half_open_successes: 2,
            cooldown_seconds: 300,
            watch_cch: false,
            watch_accounts: true,
            channels: None,
        }
    }
}

/// `[rules]`: one table per rule.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RulesSettings {
    pub error_rate: ErrorRateSettings,
    pub breaker: BreakerSettings,
    pub quota: super::quota::QuotaSettings,
}

/// Where the error-rate and breaker rules get their log events from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventSourceKind {
    /// relaywatch's Redis Stream, fed by `relaywatch ingest` / `POST /ingest` (the default).
    #[default]
    Stream,
    /// EZ-API's `log_records` table in its PostgreSQL, tailed by id.
    Ezapi,
    /// Claude Code Hub's `message_request`, in `[source] database_url`, tailed by id.
    Cch,
}

impl EventSourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventSourceKind::Stream => "stream",
            EventSourceKind::Ezapi => "ezapi",
            EventSourceKind::Cch => "cch",
        }
    }
}

/// `[events]`: where log events come from — the Redis Stream (default) or a relay's log table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EventsSettings {
    /// `stream` (default), `ezapi` or `cch` (with `[source] kind = "cch"`).
    pub source: EventSourceKind,
    /// `source = "ezapi"`: the PostgreSQL holding the log table, `postgres://user:pass@host/db`
    /// as a plain string (its password is masked everywhere) or `{ env | file | keychain }`.
    pub database_url: Option<SecretRef>,
    /// `source = "ezapi"`: the log table (default `log_records`; `schema.table` allowed).
    pub table: String,
    /// The stream key (default `relaywatch:events`).
    pub stream: String,
    /// The consumer group (default `relaywatch`); one consumer per instance.
    pub group: String,
    /// Default: the state Redis (`[state] redis_url`, else the source's).
    pub redis_url: Option<String>,
    /// Entries per read (1-1000, default 1000).
    pub batch: usize,
    /// Entries pending this long on a consumer are taken over by another (default 30 s).
    pub claim_idle_seconds: u64,
    /// This instance's consumer name; default `<hostname>-<pid>`.
    pub consumer: Option<String>,
    /// `relaywatch ingest` trims the stream to about this many entries (`MAXLEN ~`); unset:
    /// no trimming.
    pub max_len: Option<u64>,
}

impl Default for EventsSettings {
    fn default() -> Self {
        EventsSettings {
            source: EventSourceKind::Stream,
            database_url: None,
            table: "log_records".into(),
            stream: "relaywatch:events".into(),
            group: "relaywatch".into(),
            redis_url: None,
            batch: 1_000,
            claim_idle_seconds: 30,
            consumer: None,
            max_len: None,
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

fn range<T: PartialOrd + std::fmt::Display + Copy>(
    e: &mut Vec<FieldError>,
    field: &str,
    v: T,
    (lo, hi): (T, T),
) {
    if v < lo || v > hi {
        e.push(err(
            field,
            v.to_string(),
            format!("must be between {lo} and {hi}"),
        ));
    }
}

impl ErrorRateSettings {
    /// Every invalid value of `[rules.error_rate]`.
    pub fn problems(&self, channels: &[ChannelSettings]) -> Vec<FieldError> {
        let mut e = Vec::new();
        let f = "rules.error_rate";
        range(
            &mut e,
            &format!("{f}.window_seconds"),
            self.window_seconds,
            limits::WINDOW_SECONDS,
        );
        range(
            &mut e,
            &format!("{f}.threshold"),
            self.threshold,
            limits::THRESHOLD,
        );
        range(
            &mut e,
            &format!("{f}.min_requests"),
            self.min_requests,
            limits::MIN_REQUESTS,
        );
        range(
            &mut e,
            &format!("{f}.cooldown_seconds"),
            self.cooldown_seconds,
            limits::COOLDOWN_SECONDS,
        );
        range(
            &mut e,
            &format!("{f}.status_code_threshold"),
            self.status_code_threshold,
            limits::STATUS_CODE_THRESHOLD,
        );
        if let Some(r) = self.ratio {
            if !(r.is_finite() && r > 0.0 && r <= 1.0) {
                e.push(err(
                    format!("{f}.ratio"),
                    r.to_string(),
                    "must be a fraction above 0 and at most 1, e.g. 0.2 for 20 %",
                ));
            }
        } else if self.threshold == 0 {
            e.push(err(
                format!("{f}.threshold"),
                "0",
                "with no `ratio`, give a count of errors that fires, e.g. 10",
            ));
        }
        let mut seen = Vec::new();
        for d in &self.dimensions {
            if seen.contains(d) {
                e.push(err(
                    format!("{f}.dimensions"),
                    format!("{:?}", self.dimensions_names()),
                    "list each of global, provider, key, model at most once",
                ));
                break;
            }
            seen.push(*d);
        }
        if self.dimensions.is_empty() {
            e.push(err(
                format!("{f}.dimensions"),
                "[]",
                "name at least one of global, provider, key, model (or set enabled = false)",
            ));
        }
        e.extend(unknown_channels(
            &format!("{f}.channels"),
            self.channels.as_deref(),
            channels,
        ));
        e
    }

    fn dimensions_names(&self) -> Vec<&'static str> {
        self.dimensions.iter().map(|d| d.as_str()).collect()
    }
}

impl BreakerSettings {
    /// Every invalid value of `[rules.breaker]`.
    pub fn problems(&self, channels: &[ChannelSettings]) -> Vec<FieldError> {
        let mut e = Vec::new();
        let f = "rules.breaker";
        range(
            &mut e,
            &format!("{f}.failures"),
            self.failures,
            limits::FAILURES,
        );
        range(
            &mut e,
            &format!("{f}.window_seconds"),
            self.window_seconds,
            limits::BREAKER_WINDOW_SECONDS,
        );
        range(
            &mut e,
            &format!("{f}.open_seconds"),
            self.open_seconds,
            limits::OPEN_SECONDS,
        );
        range(
            &mut e,
            &format!("{f}.half_open_successes"),
            self.half_open_successes,
            limits::HALF_OPEN_SUCCESSES,
        );
        range(
            &mut e,
            &format!("{f}.cooldown_seconds"),
            self.cooldown_seconds,
            limits::COOLDOWN_SECONDS,
        );
        e.extend(unknown_channels(
            &format!("{f}.channels"),
            self.channels.as_deref(),
            channels,
        ));
        e
    }
}

impl RulesSettings {
    /// Every invalid value under `[rules]`.
    pub fn problems(&self, channels: &[ChannelSettings]) -> Vec<FieldError> {
        let mut e = self.error_rate.problems(channels);
        e.extend(self.breaker.problems(channels));
        e.extend(self.quota.problems(channels));
        e
    }
}

impl EventsSettings {
    /// Every invalid value of `[events]`.
    pub fn problems(&self) -> Vec<FieldError> {
        let mut e = Vec::new();
        for (field, v) in [
            ("events.stream", &self.stream),
            ("events.group", &self.group),
        ] {
            if v.trim().is_empty() {
                e.push(err(
                    field,
                    "\"\"",
                    "give a name, e.g. relaywatch:events / relaywatch",
                ));
            }
        }
        if let Some(c) = &self.consumer {
            if c.trim().is_empty() {
                e.push(err(
                    "events.consumer",
                    "\"\"",
                    "give a name unique per instance, or remove the line for <hostname>-<pid>",
                ));
            }
        }
        range(&mut e, "events.batch", self.batch, limits::BATCH);
        range(
            &mut e,
            "events.claim_idle_seconds",
            self.claim_idle_seconds,
            limits::CLAIM_IDLE_SECONDS,
        );
        if self.max_len == Some(0) {
            e.push(err(
                "events.max_len",
                "0",
                "give the number of entries to keep (e.g. 1000000), or remove the line",
            ));
        }
        self.table_problems(&mut e);
        e
    }

    /// `source = "ezapi"` needs a PostgreSQL URL and a table name that is a plain identifier.
    fn table_problems(&self, e: &mut Vec<FieldError>) {
        // `source = "cch"` reads `[source] database_url` (checked with [source]).
        if self.source == EventSourceKind::Ezapi {
            match &self.database_url {
                None => e.push(err(
                    "events.database_url",
                    "(missing)",
                    "source = \"ezapi\" reads EZ-API's log table: give its PostgreSQL, e.g. { env = \"EZAPI_DATABASE_URL\" } or \"postgres://user@127.0.0.1:5432/ezapi\"",
                )),
                Some(SecretRef::Plain(u)) if !is_postgres_url(u) => e.push(err(
                    "events.database_url",
                    crate::secrets::mask_url(u),
                    "must be a postgres:// or postgresql:// URL",
                )),
                _ => {}
            }
        }
        if !is_table_name(&self.table) {
            e.push(err(
                "events.table",
                format!("{:?}", self.table),
                "letters, digits and _ only, optionally schema.table (e.g. log_records)",
            ));
        }
    }
}

/// Whether `u` is a PostgreSQL connection URL.
pub fn is_postgres_url(u: &str) -> bool {
    let u = u.trim();
    u.starts_with("postgres://") || u.starts_with("postgresql://")
}

/// A table name relaywatch may put in a query: `name` or `schema.name`, each part an
/// identifier of ASCII letters, digits and `_` not starting with a digit.
pub fn is_table_name(t: &str) -> bool {
    let part = |p: &str| {
        !p.is_empty()
            && p.len() <= 63
            && !p.starts_with(|c: char| c.is_ascii_digit())
            && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    let mut parts = t.split('.');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(a), None, None) => part(a),
        (Some(a), Some(b), None) => part(a) && part(b),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_ez_api_compatible() {
        let r = RulesSettings::default();
        assert!(r.problems(&[]).is_empty());
        assert_eq!(r.error_rate.threshold, 10);
        assert_eq!(r.error_rate.window_seconds, 60);
        assert_eq!(r.error_rate.cooldown_seconds, 300);
        assert_eq!(r.error_rate.status_code_threshold, 500);
        assert_eq!(r.breaker.failures, 5);
        assert_eq!(r.breaker.open_seconds, 1_800);
        assert!(EventsSettings::default().problems().is_empty());
    }

    #[test]
    fn parses_and_names_every_bad_field() {
        let r: RulesSettings = toml::from_str(
            r#"
[error_rate]
window_seconds = 0
ratio = 1.5
dimensions = ["global", "model", "global"]
channels = ["ops"]
[breaker]
failures = 0
half_open_successes = 0
"#,
        )
        .unwrap();
        let p = r.problems(&[]);
        let fields: Vec<&str> = p.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "rules.error_rate.window_seconds",
                "rules.error_rate.ratio",
                "rules.error_rate.dimensions",
                "rules.error_rate.channels[0]",
                "rules.breaker.failures",
                "rules.breaker.half_open_successes",
            ],
            "{p:?}"
        );
        assert_eq!(
            p[0].to_string(),
            "`rules.error_rate.window_seconds` = 0: must be between 1 and 3600"
        );
        let unknown = toml::from_str::<RulesSettings>("[error_rate]\nwindow = 5\n");
        assert!(unknown.is_err());
    }

    #[test]
    fn count_zero_needs_a_ratio() {
        let mut s = ErrorRateSettings {
            threshold: 0,
            ..Default::default()
        };
        assert_eq!(s.problems(&[])[0].field, "rules.error_rate.threshold");
        s.ratio = Some(0.2);
        assert!(s.problems(&[]).is_empty());
    }

    #[test]
    fn events_ranges() {
        let ev: EventsSettings = toml::from_str("batch = 5000\nclaim_idle_seconds = 0\n").unwrap();
        let p = ev.problems();
        assert_eq!(p.len(), 2, "{p:?}");
        assert_eq!(p[0].field, "events.batch");
        assert_eq!(p[1].field, "events.claim_idle_seconds");
    }

    #[test]
    fn ezapi_needs_a_postgres_url_and_a_plain_table_name() {
        let ev: EventsSettings = toml::from_str("source = \"ezapi\"\n").unwrap();
        let p = ev.problems();
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].field, "events.database_url");
        let ev: EventsSettings = toml::from_str(
            "source = \"ezapi\"\ndatabase_url = \"mysql://u:pw9@h/db\"\ntable = \"logs; drop table x\"\n",
        )
        .unwrap();
        let p = ev.problems();
        assert_eq!(p.len(), 2, "{p:?}");
        assert_eq!(p[0].field, "events.database_url");
        assert!(!p[0].value.contains("pw9"), "{:?}", p[0]);
        assert_eq!(p[1].field, "events.table");
        let ev: EventsSettings = toml::from_str(
            "source = \"ezapi\"\ndatabase_url = { env = \"EZ_DB\" }\ntable = \"ez.log_records\"\n",
        )
        .unwrap();
        assert!(ev.problems().is_empty());
        assert!(!is_table_name("1abc") && !is_table_name("a.b.c") && !is_table_name("a\"b"));
    }
}
