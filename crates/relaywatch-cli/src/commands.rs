//! What each command does: load the validated config, apply the command line on top, call the
//! service (`relaywatch_core::service`) and print. Returns the exit code.

use std::path::Path;

use anyhow::{bail, Result};
use chrono::{DateTime, Utc};
use relaywatch_core::config::{self, Lang, LoadedConfig, Settings, SourceKindSetting};
use relaywatch_core::error::{Error, FieldError};
use relaywatch_core::model::Snapshot;
use relaywatch_core::service::send_now::Direct;
use relaywatch_core::service::{config_check, report};

use crate::cli::{Cli, Command, ConfigArgs, ReportArgs, SnapshotArgs, SourceArgs, TestArgs};

pub async fn run(cli: Cli) -> Result<i32> {
    match cli.command {
        Command::Snapshot(a) => snapshot(a).await,
        Command::Report(a) => report_cmd(a).await,
        Command::CheckConfig(a) => check_config(a),
        Command::Test(a) => test_channels(a).await,
        Command::Schedule(a) => crate::schedule_cmd::run(a),
        Command::Run(a) if a.serve => {
            crate::serve_cmd::run(crate::serve_cmd::ServeArgs {
                config: a.config,
                bind: a.bind,
                ui: a.ui,
                with_daemon: true,
            })
            .await
        }
        Command::Run(a) => crate::run_cmd::run(a).await,
        Command::Health(a) => health(a).await,
        Command::History(a) => crate::history_cmd::run(a).await,
        Command::Secret(a) => crate::secret_cmd::run(a),
        Command::Silence(a) => crate::alerts_cmd::silence(a).await,
        Command::Pause(a) => crate::alerts_cmd::pause(a).await,
        Command::Resume(a) => crate::alerts_cmd::resume(a).await,
        Command::Ingest(a) => crate::ingest_cmd::run(a).await,
        Command::Serve(a) => crate::serve_cmd::run(a).await,
        Command::Rules(a) => crate::rules_cmd::run(a).await,
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

async fn take(s: &Settings, now: DateTime<Utc>) -> Result<Snapshot> {
    Ok(report::snapshot_at(s, now).await?)
}

async fn snapshot(a: SnapshotArgs) -> Result<i32> {
    let (s, now) = settings_for(&a.source, None)?;
    let snap = take(&s, now).await?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&snap)?);
    } else {
        print!("{}", report::summary_text(&snap, s.report.lang));
    }
    Ok(0)
}

async fn report_cmd(a: ReportArgs) -> Result<i32> {
    if !a.once {
        bail!("`relaywatch report` builds one report: add --once (scheduled reports run under `relaywatch run`)");
    }
    let (s, now) = settings_for(&a.source, a.lang.as_deref())?;
    let started = std::time::Instant::now();
    let snap = take(&s, now).await?;
    for w in &snap.warnings {
        eprintln!("warning: {w}");
    }
    let Some(out) = a.out.clone() else {
        return deliver_report(&s, &snap).await;
    };
    let files = report::write_files(&s, &snap, &out).map_err(|e| match e {
        Error::Write { .. } => {
            anyhow::Error::from(e).context(format!("writing the report to {}", out.display()))
        }
        other => other.into(),
    })?;
    eprintln!(
        "wrote {} files to {} ({} data, {} ms)",
        files.len(),
        out.display(),
        snap.source.as_str(),
        started.elapsed().as_millis()
    );
    for f in &files {
        println!("{}", f.display());
    }
    Ok(0)
}

/// Deliver the report to its channels, waiting for each to be delivered or to fail for good.
async fn deliver_report(s: &Settings, snap: &Snapshot) -> Result<i32> {
    let names = s.report_channels();
    if names.is_empty() {
        bail!("no channel to deliver to: add [[channels]] to the config, or give --out DIR to write the report to a folder");
    }
    let outgoing = report::report_outgoing(s, snap, names, Utc::now())?;
    let sends = crate::deliver_cmd::deliver(s, outgoing, Direct::Retrying).await?;
    crate::deliver_cmd::print(&sends, s, false);
    Ok(crate::deliver_cmd::exit_code(&sends))
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
    // Secrets are references: say whether each one can be read here (never its value).
    let store = crate::secret_cmd::secret_store();
    let mut unreadable = 0;
    for c in config_check::channel_secrets(s, &store) {
        let (name, field) = (&c.channel, c.field);
        match c.readable {
            Ok(from) => println!("# channel {name}: {field} from {from}: readable"),
            Err(e) => {
                unreadable += 1;
                println!("# channel {name}: {field}: {e}");
            }
        }
    }
    match config_check::events_database(s, &store) {
        Some(Ok((name, table, what))) => {
            println!("# events: {name} (table `{table}`); database_url ({what}): readable")
        }
        Some(Err(e)) => {
            unreadable += 1;
            println!("# events: database_url: {e}");
        }
        None => {}
    }
    if let Some(e) = config_check::network_problem(s) {
        println!("# [network]: {e}");
        unreadable += 1;
    }
    print!("{}", s.to_masked_toml());
    Ok(if unreadable == 0 { 0 } else { 1 })
}

async fn test_channels(a: TestArgs) -> Result<i32> {
    let s = load(a.config.as_deref())?.settings;
    let lang = match &a.lang {
        Some(l) => {
            Some(Lang::parse(l).ok_or_else(|| field_error("--lang", l, "must be en or zh-CN"))?)
        }
        None => None,
    };
    let names: Vec<String> = match &a.channel {
        Some(n) => vec![n.clone()],
        None => s.enabled_channels(),
    };
    if names.is_empty() {
        bail!("no enabled channels in the config: add a [[channels]] entry (see the README)");
    }
    let outgoing = report::test_outgoing(&s, names, lang, Utc::now());
    let sends = crate::deliver_cmd::deliver(&s, outgoing, Direct::Once).await?;
    crate::deliver_cmd::print(&sends, &s, true);
    Ok(crate::deliver_cmd::exit_code(&sends))
}

async fn health(a: crate::cli::HealthArgs) -> Result<i32> {
    let bind = match a.bind {
        Some(b) => b,
        None => load(a.config.as_deref())?.settings.health.bind,
    };
    if bind.is_empty() {
        bail!("[health] bind is \"\" (the endpoint is off): give --bind ADDR");
    }
    crate::health_cmd::check(&bind).await
}
