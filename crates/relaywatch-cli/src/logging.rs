//! The log on stderr: text (the default) or one JSON object per line (`--log-format json`, or
//! `[log] format = "json"` for `run` and `serve`), with the level from `RELAYWATCH_LOG`,
//! `--log-level` or `LOG_LEVEL`. Rule: every line, tracing events and the process's own notices
//! alike, passes the secret-scrubbing writer, and in JSON mode every line is JSON.

use std::io::Write;
use std::sync::OnceLock;

use relaywatch_core::config::{self, LogFormat};
use relaywatch_core::secrets::ScrubWriter;

use crate::cli::{Cli, Command};

static FORMAT: OnceLock<LogFormat> = OnceLock::new();

/// The format in effect: `--log-format`, else for `run` and `serve` the config's `[log] format`
/// (a config that does not load gives text here; the command itself reports why), else text.
pub fn format_for(cli: &Cli) -> LogFormat {
    if let Some(f) = cli.log_format.as_deref().and_then(LogFormat::parse) {
        return f;
    }
    let path = match &cli.command {
        Command::Run(a) => a.config.as_deref(),
        Command::Serve(a) => a.config.as_deref(),
        _ => return LogFormat::Text,
    };
    config::load(path, &config::env::ProcessEnv)
        .map(|l| l.settings.log.format)
        .unwrap_or_default()
}

/// Installs the global subscriber; call once, first thing.
pub fn init(cli: &Cli) {
    let format = format_for(cli);
    let _ = FORMAT.set(format);
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("RELAYWATCH_LOG").unwrap_or_else(|_| {
            tracing_subscriber::EnvFilter::new(
                cli.log_level
                    .clone()
                    .or_else(|| std::env::var("LOG_LEVEL").ok())
                    .unwrap_or_else(|| "warn".into()),
            )
        });
    // Every log line passes `redact`: no secret this process holds reaches the log.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| ScrubWriter(std::io::stderr()));
    match format {
        LogFormat::Json => builder
            .with_ansi(false)
            .event_format(crate::json_log::JsonLines)
            .init(),
        LogFormat::Text => builder
            .with_target(false)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
    }
}

/// One notice line in JSON mode, shaped as the subscriber's own lines (pure).
pub fn json_line(now: chrono::DateTime<chrono::Utc>, level: &str, message: &str) -> String {
    crate::json_log::line(
        now,
        level,
        "relaywatch",
        message.to_string(),
        serde_json::Map::new(),
    )
}

/// A line the process always says on stderr, whatever the level (where it listens, that it
/// stopped, why it gives up): as is in text mode, as a JSON object in JSON mode; scrubbed.
pub fn notice(level: &str, message: &str) {
    let line = match FORMAT.get() {
        Some(LogFormat::Json) => json_line(chrono::Utc::now(), level, message),
        _ => message.to_string(),
    };
    // One write, so the scrubber sees the whole line.
    let _ = ScrubWriter(std::io::stderr()).write_all(format!("{line}\n").as_bytes());
}

/// `eprintln!` for the process's own notices: see [`notice`].
#[macro_export]
macro_rules! say {
    (warn: $($arg:tt)*) => {
        $crate::logging::notice("WARN", &format!($($arg)*))
    };
    ($($arg:tt)*) => {
        $crate::logging::notice("INFO", &format!($($arg)*))
    };
}

#[cfg(test)]
mod tests {
    #[test]
    fn notices_in_json_mode_have_the_subscribers_keys() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-12-04T23:30:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let v: serde_json::Value =
            serde_json::from_str(&super::json_line(at, "INFO", "health on \"x\"")).unwrap();
        assert_eq!(v["time"], "2026-12-04T23:30:00.000000Z");
        assert_eq!(v["level"], "INFO");
        assert_eq!(v["target"], "relaywatch");
        assert_eq!(v["message"], "health on \"x\"");
    }
}
