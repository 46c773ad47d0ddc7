//! What each command does: load the validated config, apply the command line on top, call the
//! engine and print. Returns the exit code.

use std::path::Path;

use anyhow::{bail, Context, Result};
use chrono::{DateTime, Utc};
use relaywatch_core::config::{self, Lang, LoadedConfig, Settings, SourceKindSetting};
use relaywatch_core::error::{Error, FieldError};
use relaywatch_core::pricing::Pricing;
use relaywatch_core::render::{bundle, markdown};
use relaywatch_core::source::{self, ReadRequest};
use relaywatch_core::Snapshot;

use crate::cli::{Cli, Command, ConfigArgs, ReportArgs, SnapshotArgs, SourceArgs};

pub async fn run(cli: Cli) -> Result<i32> {
    match cli.command {
        Command::Snapshot(a) => snapshot(a).await,
        Command::Report(a) => report_cmd(a).await,
        Command::CheckConfig(a) => check_config(a),
    }
}

fn load(path: Option<&Path>) -> Result<LoadedConfig, Error> {
    config::load(path, &config::env::ProcessEnv)
}

fn field_error(field: &str, value: &str, fix: &str) -> Error {
    Error::Config {
        source_name: Some("the command line".into()),
        errors: vec![FieldError {
            field: field.into(),
            value: value.into(),
            fix: fix.into(),
        }],
    }
}

/// Config + command-line overrides, validated again; and the moment to evaluate at.
fn settings_for(a: &SourceArgs, lang: Option<&str>) -> Result<(Settings, DateTime<Utc>)> {
    let mut s = load(a.config.as_deref())?.settings;
    if a.demo {
        s.source.kind = Some(SourceKindSetting::Demo);
    }
    if let Some(url) = &a.redis {
        s.source.redis_url = Some(url.clone());
        s.source.kind = Some(SourceKindSetting::Crs);
    }
    if let Some(d) = a.days {
        s.report.trend_days = d;
    }
    if let Some(n) = a.top {
        s.report.top_keys = n;
    }
    if let Some(l) = lang {
        s.report.lang =
            Lang::parse(l).ok_or_else(|| field_error("--lang", l, "must be en or zh-CN"))?;
    }
    let s = s.validated(Some("the command line and config".into()))?;
    let now = match &a.at {
        None => Utc::now(),
        Some(t) => DateTime::parse_from_rfc3339(t)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| {
                field_error(
                    "--at",
                    t,
                    "must be an RFC 3339 time such as 2026-11-21T09:00:00+08:00",
                )
            })?,
    };
    Ok((s, now))
}

fn pricing(s: &Settings) -> Result<Pricing> {
    Ok(match &s.source.pricing_file {
        Some(p) => Pricing::from_file(Path::new(p))?,
        None => Pricing::bundled(),
    })
}

async fn take(s: &Settings, now: DateTime<Utc>) -> Result<Snapshot> {
    let p = pricing(s)?;
    Ok(source::take_snapshot(s, &p, ReadRequest::from_settings(s, now)).await?)
}

async fn snapshot(a: SnapshotArgs) -> Result<i32> {
    let (s, now) = settings_for(&a.source, None)?;
    let snap = take(&s, now).await?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&snap)?);
    } else {
        let message = relaywatch_core::render::messages::report(&snap, Vec::new(), s.report.lang);
        print!("{}", markdown::render(&message));
    }
    Ok(0)
}

async fn report_cmd(a: ReportArgs) -> Result<i32> {
    let Some(out) = a.out.clone() else {
        bail!("give --out DIR to write the report there (delivery to chat channels is configured with [[channels]], coming with `relaywatch run`)");
    };
    if !a.once {
        bail!("`relaywatch report` builds one report: add --once (scheduled reports run under `relaywatch run`)");
    }
    let (s, now) = settings_for(&a.source, a.lang.as_deref())?;
    let started = std::time::Instant::now();
    let snap = take(&s, now).await?;
    let files = bundle::build(&snap, &s.report, s.report.lang)?;
    bundle::write_to(&out, &files)
        .with_context(|| format!("writing the report to {}", out.display()))?;
    eprintln!(
        "wrote {} files to {} ({} data, {} ms)",
        files.len(),
        out.display(),
        snap.source.as_str(),
        started.elapsed().as_millis()
    );
    for f in &files {
        println!("{}", out.join(&f.name).display());
    }
    for w in &snap.warnings {
        eprintln!("warning: {w}");
    }
    Ok(0)
}

fn check_config(a: ConfigArgs) -> Result<i32> {
    let loaded = load(a.config.as_deref())?;
    let s = &loaded.settings;
    match &loaded.path {
        Some(p) => println!("# config: {} (valid)", p.display()),
        None => println!("# config: none found; defaults and environment (valid)"),
    }
    println!("# source in effect: {:?}", s.source.effective_kind());
    if s.source.timezone_offset_hours == 0 {
        println!("# note: timezone_offset_hours = 0 means UTC+8, as in CRS (TIMEZONE_OFFSET=0 falls back to 8)");
    }
    print!("{}", s.to_masked_toml());
    Ok(0)
}
