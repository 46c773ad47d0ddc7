//! `relaywatch schedule preview|list`: read a schedule aloud and show its next fire times, local
//! (with offset) and UTC; rule: thin over `relaywatch_core::schedule` — parsing, readings and
//! fire times all come from the engine, this file only prints.

use std::path::PathBuf;

use anyhow::Result;
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use relaywatch_core::config::schedules::{effective_schedules, Schedule};
use relaywatch_core::config::{self, Lang};
use relaywatch_core::error::{Error, FieldError};
use relaywatch_core::schedule::{self, describe, next_n, Spec, Tz};

#[derive(Debug, Args)]
pub struct ScheduleArgs {
    #[command(subcommand)]
    pub command: ScheduleCommand,
}

#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// Read a schedule aloud and list its next fire times, e.g.
    /// `relaywatch schedule preview "0 9 * * 1-5" --tz Asia/Shanghai`.
    Preview(PreviewArgs),
    /// Every configured schedule ([schedules.<name>], or the default report schedule) with its
    /// reading, timezone, channels and next three fires.
    List(ListArgs),
}

#[derive(Debug, Args)]
pub struct PreviewArgs {
    /// A cron expression ("0 9 * * 1-5", "@daily"), a daily time ("09:00") or an interval
    /// ("every 30 minutes").
    #[arg(value_name = "SCHEDULE")]
    pub spec: String,
    /// IANA timezone, e.g. Asia/Shanghai (default: the system's).
    #[arg(long, value_name = "ZONE")]
    pub tz: Option<String>,
    /// How many fire times to list (1-100).
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub count: usize,
    /// Language of the reading: en or zh-CN.
    #[arg(long, value_name = "LANG", default_value = "en")]
    pub lang: String,
    /// List fires after this moment (RFC 3339) instead of now.
    #[arg(long, value_name = "RFC3339")]
    pub from: Option<String>,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Config file (default: $RELAYWATCH_CONFIG, else ~/.config/relaywatch/relaywatch.toml).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Language of the readings: en or zh-CN (default: the report's).
    #[arg(long, value_name = "LANG")]
    pub lang: Option<String>,
    /// List fires after this moment (RFC 3339) instead of now.
    #[arg(long, value_name = "RFC3339")]
    pub from: Option<String>,
}

pub fn run(a: ScheduleArgs) -> Result<i32> {
    match a.command {
        ScheduleCommand::Preview(p) => preview(p),
        ScheduleCommand::List(l) => list(l),
    }
}

fn bad_arg(field: &str, value: &str, fix: impl Into<String>) -> Error {
    Error::Config {
        source_name: Some("the command line".into()),
        errors: vec![FieldError {
            field: field.into(),
            value: format!("{value:?}"),
            fix: fix.into(),
        }],
    }
}

fn lang_arg(l: &str) -> Result<Lang, Error> {
    Lang::parse(l).ok_or_else(|| bad_arg("--lang", l, "must be en or zh-CN"))
}

fn from_arg(from: Option<&str>) -> Result<DateTime<Utc>, Error> {
    match from {
        None => Ok(Utc::now()),
        Some(t) => DateTime::parse_from_rfc3339(t)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| {
                bad_arg(
                    "--from",
                    t,
                    "must be an RFC 3339 time such as 2026-11-21T09:00:00+08:00",
                )
            }),
    }
}

/// `Mon 2026-11-23 09:00 +08:00 (CST)   2026-11-23T01:00:00Z`
fn fire_line(at: DateTime<Utc>, tz: Tz) -> String {
    let local = at.with_timezone(&tz);
    format!(
        "  {}   {}",
        local.format("%a %Y-%m-%d %H:%M %:z (%Z)"),
        at.format("%Y-%m-%dT%H:%M:%SZ")
    )
}

fn print_fires(fires: &[DateTime<Utc>], tz: Tz) {
    if fires.is_empty() {
        println!("  (never fires again)");
    }
    for f in fires {
        println!("{}", fire_line(*f, tz));
    }
}

fn preview(a: PreviewArgs) -> Result<i32> {
    let spec = Spec::parse(&a.spec).map_err(|e| bad_arg("SCHEDULE", &a.spec, e.to_string()))?;
    let (tz, tz_note) = match &a.tz {
        Some(t) => (
            schedule::parse_tz(t).map_err(|fix| bad_arg("--tz", t, fix))?,
            "",
        ),
        None => (schedule::system_tz(), " (system)"),
    };
    if !(1..=100).contains(&a.count) {
        return Err(bad_arg("--count", &a.count.to_string(), "must be between 1 and 100").into());
    }
    let lang = lang_arg(&a.lang)?;
    let from = from_arg(a.from.as_deref())?;
    println!("schedule: {spec}");
    println!("reading:  {}", describe(&spec, lang));
    println!("timezone: {}{tz_note}", tz.name());
    println!(
        "next {} fire{}:",
        a.count,
        if a.count == 1 { "" } else { "s" }
    );
    print_fires(&next_n(&spec, tz, from, a.count), tz);
    Ok(0)
}

fn list(a: ListArgs) -> Result<i32> {
    let loaded = config::load(a.config.as_deref(), &config::env::ProcessEnv)?;
    let s = loaded.settings;
    let lang = match &a.lang {
        Some(l) => lang_arg(l)?,
        None => s.report.lang,
    };
    let from = from_arg(a.from.as_deref())?;
    let system = schedule::system_tz();
    if s.schedules.is_empty() {
        println!("# no [schedules] configured: the default report schedule runs");
    }
    for Schedule {
        name,
        spec,
        tz,
        kind,
        channels,
        enabled,
        grace,
        top,
        window,
        lang: sched_lang,
    } in effective_schedules(&s, system)
    {
        let explicit_tz = s.schedules.get(&name).and_then(|c| c.tz.as_ref()).is_some();
        println!(
            "[{name}] {}{}",
            kind.as_str(),
            if enabled { "" } else { " (disabled)" }
        );
        println!("  schedule: {spec}");
        println!(
            "  reading:  {}",
            describe(&spec, sched_lang.unwrap_or(lang))
        );
        println!(
            "  timezone: {}{}",
            tz.name(),
            if explicit_tz { "" } else { " (system)" }
        );
        if kind == config::schedules::ScheduleKind::Leaderboard {
            let w = window.as_str();
            println!("  leaderboard: top {top}, window {w}");
        }
        println!(
            "  channels: {}",
            if channels.is_empty() {
                "(none)".to_string()
            } else {
                channels.join(", ")
            }
        );
        println!("  grace:    {} min", grace.as_secs() / 60);
        if enabled {
            println!("  next fires:");
            let fires = next_n(&spec, tz, from, 3);
            for f in &fires {
                println!("  {}", fire_line(*f, tz));
            }
            if fires.is_empty() {
                println!("    (never fires again)");
            }
        }
    }
    Ok(0)
}
