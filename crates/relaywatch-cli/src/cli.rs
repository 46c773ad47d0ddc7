//! The command line's shape (clap): every command and option with its help text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "relaywatch",
    version,
    about = "Watch an LLM API relay (Claude Relay Service) from its Redis: snapshots, charts, reports.",
    long_about = "Watch an LLM API relay (Claude Relay Service) from its Redis: snapshots, charts, reports.\n\n\
Without a configured Redis, commands run on built-in demo data.\n\
Config: --config FILE, else $RELAYWATCH_CONFIG, else ~/.config/relaywatch/relaywatch.toml."
)]
pub struct Cli {
    /// Log level for messages on stderr: error, warn, info, debug, trace (default warn; also LOG_LEVEL).
    #[arg(long, global = true, value_name = "LEVEL")]
    pub log_level: Option<String>,
    /// Log lines as `text` (default) or `json` (one object per line); `run` and `serve` also
    /// read [log] format from the config, which this flag overrides.
    #[arg(long, global = true, value_name = "FORMAT", value_parser = ["text", "json"])]
    pub log_format: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Take a dashboard snapshot and print it (JSON with --json).
    Snapshot(SnapshotArgs),
    /// Build the dashboard report (text, snapshot and charts): write it to a folder with --out,
    /// or deliver it to the report's channels.
    Report(ReportArgs),
    /// Validate the configuration and print the effective settings, secrets masked.
    CheckConfig(ConfigArgs),
    /// Send the test message to a channel through the real path (secrets, signing, SSRF guard,
    /// the platform's own success rule); print the reply and the rule that judged it.
    Test(TestArgs),
    /// Cron schedules: `preview` reads one aloud with its next fire times; `list` shows the
    /// configured ones.
    Schedule(crate::schedule_cmd::ScheduleArgs),
    /// Run the daemon: scheduled reports, alert rules, the event consumer and the outbox sender,
    /// with /health on a loopback port. SIGHUP or a change of the config file reloads it.
    /// --serve also serves the web UI and its API in the same process.
    Run(RunArgs),
    /// Ask a running daemon's /health; exit 0 when it is ok or standing by, 1 otherwise.
    Health(HealthArgs),
    /// Each channel's recent deliveries and failures from the state Redis, newest first.
    History(HistoryArgs),
    /// Keychain entries for `{ keychain = "NAME" }` secret references (service `relaywatch`).
    Secret(SecretArgs),
    /// Silences of alerts by rule and/or subject, kept in the state Redis: add, list, remove.
    Silence(crate::alerts_cmd::SilenceArgs),
    /// Pause every alert for a while (--for 30m) or until a time (--until 09:00).
    Pause(crate::alerts_cmd::PauseArgs),
    /// End a pause.
    Resume(crate::alerts_cmd::StateArgs),
    /// Push log events from an NDJSON file (`-` for stdin) onto the events stream; bad lines are
    /// reported with their line numbers and not pushed.
    Ingest(crate::ingest_cmd::IngestArgs),
    /// Serve the HTTP API and the web UI (dashboard, settings) on [serve] bind, with a bearer
    /// token; prints the URL to open. --with-daemon also runs the daemon in this process.
    Serve(crate::serve_cmd::ServeArgs),
    /// Rules over history: `replay` evaluates a rule over recorded events and prints what it
    /// would have sent (nothing is sent).
    Rules(crate::rules_cmd::RulesArgs),
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Config file (default: $RELAYWATCH_CONFIG, else ~/.config/relaywatch/relaywatch.toml).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Only this channel (default: every channel in the config).
    #[arg(long, value_name = "NAME")]
    pub channel: Option<String>,
    /// Print JSON for machines.
    #[arg(long)]
    pub json: bool,
    /// Only failed attempts.
    #[arg(long)]
    pub failed: bool,
    /// Records shown per channel, newest first.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub limit: usize,
}

#[derive(Debug, Args)]
pub struct SecretArgs {
    #[command(subcommand)]
    pub command: SecretCommand,
}

#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Store a secret read from standard input (never from the command line), e.g.
    /// `printenv HOOK | relaywatch secret set team-wecom-url`.
    Set {
        /// The entry's name, as in `{ keychain = "NAME" }`.
        name: String,
    },
    /// Remove an entry.
    Delete {
        /// The entry's name.
        name: String,
    },
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Config file (default: $RELAYWATCH_CONFIG, else ~/.config/relaywatch/relaywatch.toml).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Serve /health here instead of [health] bind (default 127.0.0.1:8080; "" turns it off).
    #[arg(long, value_name = "ADDR", conflicts_with = "serve")]
    pub health_bind: Option<String>,
    /// Also serve the HTTP API and the web UI in this process (as `serve --with-daemon`; its
    /// /health is then the one on the web address).
    #[arg(long)]
    pub serve: bool,
    /// With --serve: listen here instead of [serve] bind (default 127.0.0.1:8080).
    #[arg(long, value_name = "ADDR", requires = "serve")]
    pub bind: Option<String>,
    /// With --serve: serve the web UI from this folder (default: $RELAYWATCH_UI, else the copy
    /// built into the binary).
    #[arg(long, value_name = "DIR", requires = "serve")]
    pub ui: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct HealthArgs {
    /// The daemon's health address (default: [health] bind of the config, 127.0.0.1:8080).
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<String>,
    /// Config file to read [health] bind from.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct TestArgs {
    /// Config file (default: $RELAYWATCH_CONFIG, else ~/.config/relaywatch/relaywatch.toml).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The channel to test (its `name` in [[channels]]).
    #[arg(
        long,
        value_name = "NAME",
        required_unless_present = "all",
        conflicts_with = "all"
    )]
    pub channel: Option<String>,
    /// Test every enabled channel.
    #[arg(long)]
    pub all: bool,
    /// Language of the test message: en or zh-CN (default: the channel's, else the report's).
    #[arg(long, value_name = "LANG")]
    pub lang: Option<String>,
}

/// Where the data comes from; shared by snapshot and report.
#[derive(Debug, Args, Clone)]
pub struct SourceArgs {
    /// Config file (default: $RELAYWATCH_CONFIG, else ~/.config/relaywatch/relaywatch.toml).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Use the built-in demo data, whatever the config says.
    #[arg(long, conflicts_with = "redis")]
    pub demo: bool,
    /// Read this CRS Redis instead of the configured one, e.g. redis://:pass@127.0.0.1:6379/0.
    #[arg(long, value_name = "URL")]
    pub redis: Option<String>,
    /// Evaluate as of this moment (RFC 3339, e.g. 2026-11-21T09:00:00+08:00) instead of now.
    #[arg(long, value_name = "RFC3339")]
    pub at: Option<String>,
    /// Days in the trend, model and top-key ranges (1-30; default from config, 7).
    #[arg(long, value_name = "N")]
    pub days: Option<u32>,
    /// How many top API keys (1-20; default from config, 10).
    #[arg(long, value_name = "N")]
    pub top: Option<u32>,
}

#[derive(Debug, Args)]
pub struct SnapshotArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Print the Snapshot JSON (the stable contract) instead of the text summary.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Build one report now and exit (the daemon's schedules come with `relaywatch run`).
    #[arg(long)]
    pub once: bool,
    /// Folder to write report.md, snapshot.json and the charts (PNG + SVG) into; without it the
    /// report is delivered to the report's channels ([report] channels, else every enabled one).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Language of the text and charts: en or zh-CN (default from config, en).
    #[arg(long, value_name = "LANG")]
    pub lang: Option<String>,
}

#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// Config file to check.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}
