//! `relaywatch silence add|list|remove`, `relaywatch pause` and `relaywatch resume`: silences
//! and the pause-all switch, kept in the state Redis so every instance honours them. Rule: thin
//! over `relaywatch_core::service::silences` (the grammar every face shares); this file reads
//! `--until` times and prints.

use std::path::PathBuf;

use anyhow::{anyhow, bail, Context, Result};
use chrono::{DateTime, Duration, FixedOffset, NaiveTime, TimeZone, Utc};
use clap::{Args, Subcommand};
use relaywatch_core::config::{parse_duration, Settings, DURATION_HINT};
use relaywatch_core::service::silences::{self, Silence, SilenceSpec, SwitchError, Switches};
use relaywatch_core::service::ServiceError;
use serde_json::json;

use crate::deliver_cmd::display_offset;

#[derive(Debug, Args)]
pub struct SilenceArgs {
    #[command(subcommand)]
    pub command: SilenceCommand,
}

#[derive(Debug, Subcommand)]
pub enum SilenceCommand {
    /// Stop alerts of a rule and/or about a subject for a while, e.g.
    /// `relaywatch silence add --rule error_rate --subject 'provider:*' --for 1h --reason maintenance`.
    Add(SilenceAddArgs),
    /// The silences in force.
    List(SilenceListArgs),
    /// End a silence now.
    Remove(SilenceRemoveArgs),
}

#[derive(Debug, Args)]
pub struct StateArgs {
    /// Config file (default: $RELAYWATCH_CONFIG, else ~/.config/relaywatch/relaywatch.toml).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SilenceAddArgs {
    #[command(flatten)]
    pub state: StateArgs,
    /// The rule: error_rate, breaker or quota (default: every rule).
    #[arg(long, value_name = "RULE")]
    pub rule: Option<String>,
    /// The subject, e.g. provider:3, key:<id>, global; a trailing * matches a prefix
    /// (default: every subject of the rule).
    #[arg(long, value_name = "SUBJECT")]
    pub subject: Option<String>,
    /// How long: 90s, 30m, 1h, 2d, 1h30m.
    #[arg(long = "for", value_name = "DURATION")]
    pub duration: String,
    /// Why (shown in `silence list`).
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
}

#[derive(Debug, Args)]
pub struct SilenceListArgs {
    #[command(flatten)]
    pub state: StateArgs,
    /// Print JSON for machines.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SilenceRemoveArgs {
    #[command(flatten)]
    pub state: StateArgs,
    /// The silence's id, as `silence list` shows it (s1, s2…).
    #[arg(value_name = "ID")]
    pub id: String,
}

#[derive(Debug, Args)]
pub struct PauseArgs {
    #[command(flatten)]
    pub state: StateArgs,
    /// For how long: 90s, 30m, 1h, 2d, 1h30m.
    #[arg(
        long = "for",
        value_name = "DURATION",
        required_unless_present = "until",
        conflicts_with = "until"
    )]
    pub duration: Option<String>,
    /// Until this time: HH:MM on the relay's clock (the next such time), or RFC 3339.
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
}

/// `HH:MM` (the next such moment on `tz`'s clock after `now`) or an RFC 3339 time.
pub fn parse_until(s: &str, now: DateTime<Utc>, tz: FixedOffset) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s.trim()) {
        return Some(t.with_timezone(&Utc));
    }
    let time = NaiveTime::parse_from_str(s.trim(), "%H:%M").ok()?;
    let local = now.with_timezone(&tz);
    let mut at = tz
        .from_local_datetime(&local.date_naive().and_time(time))
        .single()?;
    if at <= local {
        at += Duration::days(1);
    }
    Some(at.with_timezone(&Utc))
}

fn load(a: &StateArgs) -> Result<Settings> {
    Ok(relaywatch_core::config::load(
        a.config.as_deref(),
        &relaywatch_core::config::env::ProcessEnv,
    )?
    .settings)
}

async fn store(s: &Settings) -> Result<Switches> {
    match Switches::connect(s).await {
        Ok(sw) => Ok(sw),
        Err(SwitchError::NoStateRedis) => Err(anyhow!(SwitchError::NoStateRedis.to_string())),
        Err(SwitchError::Engine(e)) => Err(anyhow::Error::from(e).context(
            "the state Redis keeps silences and pauses ([state] redis_url, else [source] redis_url)",
        )),
    }
}

/// `silence add`'s options, checked by the service's grammar, with the CLI's wording.
fn spec(a: &SilenceAddArgs) -> Result<SilenceSpec> {
    silences::check(a.rule.as_deref(), a.subject.as_deref(), &a.duration).map_err(|e| {
        let field = match &e {
            ServiceError::InvalidInput(f) => f.first().map(|f| f.field.as_str()),
            _ => None,
        };
        match field {
            Some("rule") => anyhow!(
                "--rule {:?}: must be error_rate, breaker or quota",
                a.rule.as_deref().unwrap_or_default()
            ),
            Some("subject") => anyhow!(
                "give --rule, --subject or both: a silence of everything is `relaywatch pause`"
            ),
            Some("duration") => anyhow!("--for {:?}: {DURATION_HINT}", a.duration),
            _ => anyhow!(e),
        }
    })
}

fn show(t: DateTime<Utc>, tz: FixedOffset) -> String {
    t.with_timezone(&tz)
        .format("%Y-%m-%d %H:%M:%S%:z")
        .to_string()
}

fn describe(s: &Silence, tz: FixedOffset) -> String {
    format!(
        "{}  rule={}  subject={}  until {}  reason: {}",
        s.id,
        s.rule.map(|r| r.as_str()).unwrap_or("*"),
        s.subject.as_deref().unwrap_or("*"),
        show(s.ends_at, tz),
        s.reason
    )
}

/// `relaywatch silence …`.
pub async fn silence(a: SilenceArgs) -> Result<i32> {
    let now = Utc::now();
    match a.command {
        SilenceCommand::Add(a) => {
            let spec = spec(&a)?;
            if a.reason.trim().is_empty() {
                bail!("--reason: say why, so others know when it can end");
            }
            let s = load(&a.state)?;
            let silence = store(&s)
                .await?
                .add_silence(spec, a.reason.trim(), now)
                .await?;
            println!("silenced: {}", describe(&silence, display_offset(&s)));
            Ok(0)
        }
        SilenceCommand::List(a) => {
            let s = load(&a.state)?;
            let list = store(&s).await?.silences(now).await?;
            if a.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&json!({ "silences": list }))?
                );
            } else if list.is_empty() {
                println!("no silences in force");
            } else {
                for x in &list {
                    println!("{}", describe(x, display_offset(&s)));
                }
            }
            Ok(0)
        }
        SilenceCommand::Remove(a) => {
            let s = load(&a.state)?;
            if store(&s).await?.end_silence(&a.id, now).await? {
                println!("{}: ended", a.id);
                Ok(0)
            } else {
                eprintln!(
                    "relaywatch: no silence {:?}; `relaywatch silence list` shows their ids",
                    a.id
                );
                Ok(1)
            }
        }
    }
}

/// `relaywatch pause --for D | --until T`.
pub async fn pause(a: PauseArgs) -> Result<i32> {
    let now = Utc::now();
    let s = load(&a.state)?;
    let tz = display_offset(&s);
    let until = match (&a.duration, &a.until) {
        (Some(d), _) => {
            now + parse_duration(d).with_context(|| format!("--for {d:?}: {DURATION_HINT}"))?
        }
        (None, Some(u)) => parse_until(u, now, tz).with_context(|| {
            format!(
                "--until {u:?}: give HH:MM (the relay's clock) or an RFC 3339 time in the future"
            )
        })?,
        (None, None) => bail!("give --for DURATION or --until TIME"),
    };
    if until <= now {
        bail!(
            "--until: {} has passed; give a time in the future",
            show(until, tz)
        );
    }
    store(&s).await?.pause(until).await?;
    println!(
        "alerts paused until {} (`relaywatch resume` ends it)",
        show(until, tz)
    );
    Ok(0)
}

/// `relaywatch resume`.
pub async fn resume(a: StateArgs) -> Result<i32> {
    let s = load(&a)?;
    store(&s).await?.resume().await?;
    println!("alerts resumed");
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn until_is_the_next_such_time_on_the_relays_clock() {
        let tz = FixedOffset::east_opt(8 * 3600).unwrap();
        // 2026-11-22 10:00 +08:00.
        let now = Utc.with_ymd_and_hms(2026, 11, 22, 2, 0, 0).unwrap();
        assert_eq!(
            parse_until("09:00", now, tz),
            Some(Utc.with_ymd_and_hms(2026, 11, 23, 1, 0, 0).unwrap())
        );
        assert_eq!(
            parse_until("18:30", now, tz),
            Some(Utc.with_ymd_and_hms(2026, 11, 22, 10, 30, 0).unwrap())
        );
        assert_eq!(
            parse_until("2026-11-22T12:00:00Z", now, tz),
            Some(Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap())
        );
        assert_eq!(parse_until("noon", now, tz), None);
    }
}
