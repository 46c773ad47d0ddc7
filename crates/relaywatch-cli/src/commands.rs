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
    Ok(0)
}

/// Deliver the report to its channels, waiting for each to be delivered or to fail for good.
async fn deliver_report(s: &Settings, snap: &Snapshot) -> Result<i32> {
    use relaywatch_core::delivery::channel_sender::{send_with_retries, ChannelSender};
    let names = s.report_channels();
    if names.is_empty() {
        bail!("no channel to deliver to: add [[channels]] to the config, or give --out DIR to write the report to a folder");
    }
    let message = bundle::report_message(snap, &s.report, s.report.lang)?;
    let store = crate::secret_cmd::secret_store();
    if let Some(outbox) = crate::deliver_cmd::connect_outbox(s).await? {
        let now = Utc::now().to_rfc3339();
        let mut planned = Vec::new();
        for name in names {
            let lang = s.channel_lang(&name);
            let message = if lang == s.report.lang {
                message.clone()
            } else {
                bundle::report_message(snap, &s.report, lang)?
            };
            planned.push(crate::deliver_cmd::Planned {
                key: format!("report:once:{now}:{name}"),
                channel: name,
                message,
            });
        }
        return crate::deliver_cmd::deliver_via_outbox(s, &outbox, store, planned).await;
    }
    crate::deliver_cmd::note_no_history();
    // A one-shot command waits at most a minute for a platform that asks it to, and makes only
    // the attempts that fit in two minutes (the daemon's outbox keeps trying for half an hour).
    let policy = relaywatch_core::delivery::backoff::BackoffPolicy {
        max_retry_after: std::time::Duration::from_secs(60),
        ..relaywatch_core::delivery::drain::backoff_policy(s)
    }
    .within(std::time::Duration::from_secs(120));
    let mut failed = 0;
    for name in names {
        let sender = match ChannelSender::new(s, &name, &store) {
            Ok(sender) => sender,
            Err(e) => {
                println!(
                    "{name}: not sent: {}",
                    relaywatch_core::secrets::redact(&e.to_string())
                );
                failed += 1;
                continue;
            }
        };
        let lang = sender.settings.lang.unwrap_or(s.report.lang);
        let msg = if lang == s.report.lang {
            message.clone()
        } else {
            bundle::report_message(snap, &s.report, lang)?
        };
        let id = format!("report:dashboard:{}:{name}", snap.generated_at.to_rfc3339());
        let tries = send_with_retries(&sender, &msg, &id, &policy).await;
        let last = tries.last().expect("at least one attempt");
        let requests: usize = last.attempts.len();
        if last.delivered() {
            println!(
                "{name}: delivered ({requests} request(s), {} attempt(s))",
                tries.len()
            );
        } else {
            failed += 1;
            let why = last
                .attempts
                .last()
                .map(|a| a.rule.clone())
                .unwrap_or_else(|| "nothing to send".into());
            println!(
                "{name}: NOT delivered after {} attempt(s): {why}",
                tries.len()
            );
        }
    }
    Ok(if failed == 0 { 0 } else { 1 })
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
    for c in &s.channels {
        for (field, r) in [
            ("url", &c.url),
            ("secret", &c.secret),
            ("app_secret", &c.app_secret),
            ("bearer", &c.bearer),
        ] {
            if let Some(r) = r {
                let checked = store.resolve(r).map_err(|e| e.to_string()).and_then(|v| {
                    if field != "url" {
                        return Ok(v);
                    }
                    relaywatch_core::delivery::channel_sender::check_url_value(c, &v, r)
                        .map(|()| v)
                        .map_err(|e| e.to_string())
                });
                match checked {
                    Ok(_) => println!(
                        "# channel {}: {field} from {}: readable",
                        c.name,
                        r.describe()
                    ),
                    Err(e) => {
                        unreadable += 1;
                        println!(
                            "# channel {}: {field}: {}",
                            c.name,
                            relaywatch_core::secrets::redact(&e)
                        );
                    }
                }
            }
        }
    }
    if let Some((name, table, what)) = relaywatch_core::service::replay::events_table(s) {
        match relaywatch_core::service::replay::database_url(s, &store) {
            Ok(_) => {
                println!("# events: {name} (table `{table}`); database_url ({what}): readable")
            }
            Err(e) => {
                unreadable += 1;
                println!(
                    "# events: database_url: {}",
                    relaywatch_core::secrets::redact(&e.to_string())
                );
            }
        }
    }
    if let Err(e) = relaywatch_core::delivery::net::NetPolicy::from_settings(
        &s.network.allow,
        s.network.allow_http,
        s.network.timeout_ms,
    ) {
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
    let store = crate::secret_cmd::secret_store();
    let now = Utc::now();
    let outbox = crate::deliver_cmd::connect_outbox(&s).await?;
    if outbox.is_none() {
        crate::deliver_cmd::note_no_history();
    }
    let mut planned = Vec::new();
    let mut failed = 0;
    for name in names {
        let sender = match relaywatch_core::delivery::channel_sender::ChannelSender::new(
            &s, &name, &store,
        ) {
            Ok(sender) => sender,
            Err(e) => {
                println!(
                    "{name}: not sent: {}",
                    relaywatch_core::secrets::redact(&e.to_string())
                );
                failed += 1;
                continue;
            }
        };
        let lang = lang.or(sender.settings.lang).unwrap_or(s.report.lang);
        let at = now.with_timezone(
            &chrono::FixedOffset::east_opt(s.source.timezone_offset_hours.clamp(-12, 14) * 3600)
                .unwrap_or_else(|| chrono::FixedOffset::east_opt(0).unwrap()),
        );
        let msg = relaywatch_core::render::messages::test_message(&name, at, lang);
        if outbox.is_some() {
            planned.push(crate::deliver_cmd::Planned {
                key: format!("test:{}:{name}", now.timestamp_millis()),
                channel: name,
                message: msg,
            });
            continue;
        }
        let id = format!("test:{name}:{}", now.timestamp_millis());
        let sent = sender.send(&msg, &id, now).await;
        let verdict = if sent.delivered() {
            "delivered"
        } else {
            "NOT delivered"
        };
        println!("{name} ({}): {verdict}", sender.settings.kind.as_str());
        for (i, at) in sent.attempts.iter().enumerate() {
            let status = at
                .status
                .map(|s| format!("HTTP {s}"))
                .unwrap_or_else(|| "no answer".into());
            println!(
                "  request {}: {status} in {} ms",
                i + 1,
                at.latency.as_millis()
            );
            println!("    reply: {}", at.reply.trim());
            println!("    rule:  {}", at.rule);
        }
        if !sent.delivered() {
            failed += 1;
        }
    }
    if let (Some(outbox), false) = (&outbox, planned.is_empty()) {
        if crate::deliver_cmd::deliver_via_outbox(&s, outbox, store, planned).await? != 0 {
            failed += 1;
        }
    }
    Ok(if failed == 0 { 0 } else { 1 })
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
