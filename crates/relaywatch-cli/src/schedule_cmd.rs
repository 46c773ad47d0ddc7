//! `relaywatch schedule preview|list`: read a schedule aloud and show its next fire times, local
//! (with offset) and UTC; rule: thin over `service::schedules` — parsing, readings and
//! fire times all come from the engine, this file only prints.

use std::path::PathBuf;

use anyhow::Result;
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use relaywatch_core::config::{self, Lang};
use relaywatch_core::error::{Error, FieldError};
use relaywatch_core::service::schedules::{self, Fire, Listed};
use relaywatch_core::service::ServiceError;

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
fn fire_line(f: &Fire) -> String {
    format!("  {}   {}", f.local, f.at.format("%Y-%m-%dT%H:%M:%SZ"))
}

/// Each fire on a line of its own, after `indent`.
fn print_fires(fires: &[Fire], indent: &str) {
    if fires.is_empty() {
        println!("{indent}  (never fires again)");
    }
    for f in fires {
        println!("{indent}{}", fire_line(f));
    }
}

/// The service's field errors as the command line names them.
fn as_args(e: ServiceError) -> anyhow::Error {
    match e {
        ServiceError::InvalidInput(errors) => {
            let f = &errors[0];
            let field = match f.field.as_str() {
                "cron" => "SCHEDULE",
                "tz" => "--tz",
                other => other,
            };
            bad_arg(field, &f.value, f.fix.clone()).into()
        }
        other => other.into(),
    }
}

fn preview(a: PreviewArgs) -> Result<i32> {
    // Judged in this order: the schedule and the zone, the count, the language, the start.
    let lang = lang_arg(&a.lang);
    let from = from_arg(a.from.as_deref());
    let r = schedules::read_aloud(
        &a.spec,
        a.tz.as_deref(),
        *lang.as_ref().unwrap_or(&Lang::En),
        *from.as_ref().unwrap_or(&Utc::now()),
        a.count.clamp(1, 100),
    )
    .map_err(as_args)?;
    if !(1..=100).contains(&a.count) {
        return Err(bad_arg("--count", &a.count.to_string(), "must be between 1 and 100").into());
    }
    lang?;
    from?;
    println!("schedule: {}", r.spec);
    println!("reading:  {}", r.reading);
    println!(
        "timezone: {}{}",
        r.tz,
        if r.system_tz { " (system)" } else { "" }
    );
    println!(
        "next {} fire{}:",
        a.count,
        if a.count == 1 { "" } else { "s" }
    );
    print_fires(&r.fires, "");
    Ok(0)
}

fn list(a: ListArgs) -> Result<i32> {
    let loaded = config::load(a.config.as_deref(), &config::env::ProcessEnv)?;
    let s = loaded.settings;
    let lang = a.lang.as_deref().map(lang_arg).transpose()?;
    let from = from_arg(a.from.as_deref())?;
    if s.schedules.is_empty() {
        println!("# no [schedules] configured: the default report schedule runs");
    }
    for sc in schedules::listed(&s, lang, from, 3) {
        print_listed(&sc);
    }
    Ok(0)
}

fn print_listed(sc: &Listed) {
    println!(
        "[{}] {}{}",
        sc.name,
        sc.kind,
        if sc.enabled { "" } else { " (disabled)" }
    );
    println!("  schedule: {}", sc.spec);
    println!("  reading:  {}", sc.reading);
    println!(
        "  timezone: {}{}",
        sc.tz,
        if sc.tz_explicit { "" } else { " (system)" }
    );
    if let Some((top, window)) = &sc.leaderboard {
        println!("  leaderboard: top {top}, window {window}");
    }
    println!(
        "  channels: {}",
        if sc.channels.is_empty() {
            "(none)".to_string()
        } else {
            sc.channels.join(", ")
        }
    );
    println!("  grace:    {} min", sc.grace_minutes);
    if sc.enabled {
        println!("  next fires:");
        print_fires(&sc.fires, "  ");
    }
}
