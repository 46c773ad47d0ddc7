//! `relaywatch rules replay error-rate|breaker --from T1 --to T2`: what a rule would have sent
//! over recorded events. Rule: thin over the service's replay; this file parses the times and
//! prints (a table for people, the report as JSON with --json); nothing is sent or stored.

use std::path::PathBuf;

use anyhow::{bail, Result};
use chrono::{FixedOffset, Utc};
use clap::{Args, Subcommand};
use relaywatch_core::config::Settings;
use relaywatch_core::secret_store::SecretStore;
use relaywatch_core::service::replay::{parse_bound, replay, BOUND_HINT};

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
    /// What a rule would report now (or --at T), read from the relay; sends and records nothing.
    /// `leaderboard`: the daily leaderboard; `quota`: every limit at or above the lowest
    /// threshold.
    #[command(name = "dry-run")]
    DryRun(DryRunArgs),
}

#[derive(Debug, Args)]
pub struct DryRunArgs {
    /// The rule: leaderboard or quota.
    #[arg(value_name = "RULE")]
    pub rule: String,
    /// Leaderboard window: calendar_day (yesterday on the relay's clock; default) or
    /// rolling_24h (the last 24 hours).
    #[arg(long, value_name = "WINDOW", default_value = "calendar_day")]
    pub window: String,
    /// Leaderboard size (1-20, default 5).
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub top: u32,
    /// Evaluate as of this moment (RFC 3339) instead of now.
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Config file (default: $RELAYWATCH_CONFIG, else ~/.config/relaywatch/relaywatch.toml).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
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

fn show(t: chrono::DateTime<Utc>, tz: FixedOffset) -> String {
    t.with_timezone(&tz)
        .format("%Y-%m-%d %H:%M:%S%.3f%:z")
        .to_string()
}

/// `relaywatch rules …`.
pub async fn run(a: RulesArgs) -> Result<i32> {
    match a.command {
        RulesCommand::Replay(a) => replay_cmd(a).await,
        RulesCommand::DryRun(a) => dry_run_cmd(a).await,
    }
}

async fn dry_run_cmd(a: DryRunArgs) -> Result<i32> {
    use relaywatch_core::model::LeaderboardWindow;
    use relaywatch_core::service::dry_runs;
    let at = match &a.at {
        None => Utc::now(),
        Some(t) => match chrono::DateTime::parse_from_rfc3339(t.trim()) {
            Ok(t) => t.with_timezone(&Utc),
            Err(_) => bail!("--at {t:?}: give an RFC 3339 time, e.g. 2026-12-05T09:00:00+08:00"),
        },
    };
    let s = load(a.config.as_deref())?;
    match a.rule.as_str() {
        "leaderboard" => {
            let window = match a.window.as_str() {
                "calendar_day" => LeaderboardWindow::CalendarDay,
                "rolling_24h" => LeaderboardWindow::Rolling24h,
                w => bail!("--window {w:?}: must be calendar_day or rolling_24h"),
            };
            if !(1..=20).contains(&a.top) {
                bail!("--top {}: must be between 1 and 20", a.top);
            }
            let r = dry_runs::leaderboard(&s, window, a.top, at).await?;
            if a.json {
                println!("{}", serde_json::to_string_pretty(&r)?);
                return Ok(0);
            }
            println!(
                "leaderboard {} → {}",
                r.window.from.to_rfc3339(),
                r.window.to.to_rfc3339()
            );
            if r.entries.is_empty() {
                println!("  no usage in this window");
            }
            for e in &r.entries {
                println!(
                    "  {:>2}. {} (#{})  ${:.4}  {} requests  {} tokens",
                    e.rank, e.name, e.user_id, e.cost_usd, e.requests, e.all_tokens
                );
            }
            println!(
                "totals: {} users, {} requests, ${:.4} (nothing was sent)",
                r.totals.users, r.totals.requests, r.totals.cost_usd
            );
        }
        "quota" => {
            let r = dry_runs::quota(&s, at).await?;
            if a.json {
                println!("{}", serde_json::to_string_pretty(&r)?);
                return Ok(0);
            }
            if r.items.is_empty() {
                println!("no limit at or above the lowest threshold");
            }
            for i in &r.items {
                println!(
                    "  {:>6.2} %  {} {} (#{})  {}  ${:.4} of ${:.4}",
                    i.percent, i.scope, i.name, i.id, i.period, i.used_usd, i.limit_usd
                );
            }
        }
        r => bail!(
            "{r:?}: a dry run is available for leaderboard and quota here (error_rate: the web UI)"
        ),
    }
    Ok(0)
}

async fn replay_cmd(a: ReplayArgs) -> Result<i32> {
    let now = Utc::now();
    let Some(from) = parse_bound(&a.from, now) else {
        bail!("--from {:?}: {BOUND_HINT}", a.from);
    };
    let Some(to) = parse_bound(&a.to, now) else {
        bail!("--to {:?}: {BOUND_HINT}", a.to);
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
