//! `relaywatch rules replay error-rate|breaker --from T1 --to T2`: what a rule would have sent
//! over recorded events. Rule: thin over the service's replay; this file parses the times and
//! prints (a table for people, the report as JSON with --json); nothing is sent or stored.

use std::path::PathBuf;

use anyhow::{bail, Result};
use chrono::{FixedOffset, Utc};
use clap::{Args, Subcommand};
use relaywatch_core::config::Settings;
use relaywatch_core::secret_store::SecretStore;
use relaywatch_core::service::replay::{parse_bound, replay};

use crate::deliver_cmd::display_offset;

#[derive(Debug, Args)]
pub struct RulesArgs {
    #[command(subcommand)]
    pub command: RulesCommand,
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Evaluate a rule over the events recorded between two times (EZ-API's log table or the
    /// event stream, as [events] says) and print what it would have sent; sends nothing,
    /// changes no state. E.g. `relaywatch rules replay error-rate --from 24h --to now`.
    Replay(ReplayArgs),
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The rule: error-rate or breaker.
    #[arg(value_name = "RULE")]
    pub rule: String,
    /// Start: RFC 3339 (2026-12-04T22:00:00+08:00) or a duration ago (24h, 90m).
    #[arg(long, value_name = "TIME")]
    pub from: String,
    /// End (not included): RFC 3339, a duration ago, or `now` (default).
    #[arg(long, value_name = "TIME", default_value = "now")]
    pub to: String,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Config file (default: $RELAYWATCH_CONFIG, else ~/.config/relaywatch/relaywatch.toml).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

fn load(config: Option<&std::path::Path>) -> Result<Settings> {
    Ok(relaywatch_core::config::load(config, &relaywatch_core::config::env::ProcessEnv)?.settings)
}

const TIME_HINT: &str =
    "give RFC 3339 (2026-12-04T22:00:00+08:00), a duration ago (24h, 90m) or now";

fn show(t: chrono::DateTime<Utc>, tz: FixedOffset) -> String {
    t.with_timezone(&tz)
        .format("%Y-%m-%d %H:%M:%S%.3f%:z")
        .to_string()
}

/// `relaywatch rules …`.
pub async fn run(a: RulesArgs) -> Result<i32> {
    match a.command {
        RulesCommand::Replay(a) => replay_cmd(a).await,
    }
}

async fn replay_cmd(a: ReplayArgs) -> Result<i32> {
    let now = Utc::now();
    let Some(from) = parse_bound(&a.from, now) else {
        bail!("--from {:?}: {TIME_HINT}", a.from);
    };
    let Some(to) = parse_bound(&a.to, now) else {
        bail!("--to {:?}: {TIME_HINT}", a.to);
    };
    let s = load(a.config.as_deref())?;
    let report = replay(&s, &SecretStore::for_this_machine(), &a.rule, from, to).await?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(0);
    }
    let tz = display_offset(&s);
    println!(
        "{} over {}, {} → {} ({} events)",
        report.rule.as_str(),
        report.source,
        show(report.from, tz),
        show(report.to, tz),
        report.records
    );
    for e in &report.events {
        println!(
            "  {:<9} {}  {}  {} of {}",
            e.state,
            show(e.at, tz),
            e.subject,
            e.count,
            e.total
        );
    }
    println!(
        "{} firing, {} resolved (nothing was sent)",
        report.summary.firing, report.summary.resolved
    );
    Ok(0)
}
