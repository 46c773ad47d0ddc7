//! `relaywatch history [--channel NAME] [--json] [--failed]`: each channel's recent deliveries
//! and failed attempts from the state Redis, newest first. Rule: it prints only what history
//! records hold (time, kind, attempt, HTTP status, platform code, latency, redacted reason):
//! never a URL, token or payload.

use anyhow::{bail, Result};
use relaywatch_core::service::deliveries::{kept, KEPT_PER_CHANNEL};
use relaywatch_core::service::send_now::keeps_history;
use relaywatch_core::service::{AttemptResult, Record};
use serde_json::json;

use crate::cli::HistoryArgs;
use crate::deliver_cmd::{display_offset, show_time};

pub async fn run(a: HistoryArgs) -> Result<i32> {
    let s = relaywatch_core::config::load(
        a.config.as_deref(),
        &relaywatch_core::config::env::ProcessEnv,
    )?
    .settings;
    if !keeps_history(&s) {
        bail!("no delivery history here: history lives in the state Redis, and none is configured; set [state] redis_url (or [source] redis_url) and deliver with `relaywatch report --once` or `relaywatch run`");
    }
    let names: Vec<String> = match &a.channel {
        Some(n) => vec![n.clone()],
        None => s.channels.iter().map(|c| c.name.clone()).collect(),
    };
    if names.is_empty() {
        bail!("no channels in the config: give --channel NAME, or add [[channels]]");
    }
    let limit = a.limit.max(1);
    let channels: Vec<_> = kept(&s, &names, a.failed, limit)
        .await?
        .into_iter()
        .map(|k| (k.channel, k.delivered_kept, k.failed_kept, k.records))
        .collect();
    if a.json {
        let doc: Vec<_> = channels
            .iter()
            .map(|(name, n_ok, n_failed, records)| {
                json!({
                    "channel": name,
                    "delivered_kept": n_ok,
                    "failed_kept": n_failed,
                    "records": records.iter().map(record_json).collect::<Vec<_>>(),
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({ "channels": doc }))?
        );
        return Ok(0);
    }
    let tz = display_offset(&s);
    for (name, n_ok, n_failed, records) in &channels {
        if a.failed {
            println!(
                "{name}: {n_failed} failed attempt(s) kept (the last {} are kept)",
                KEPT_PER_CHANNEL.1
            );
        } else {
            println!(
                "{name}: {n_ok} delivered, {n_failed} failed attempt(s) kept (the last {} and {} are kept)",
                KEPT_PER_CHANNEL.0,
                KEPT_PER_CHANNEL.1
            );
        }
        if records.is_empty() {
            println!("  (nothing yet)");
        }
        for r in records {
            println!("  {}", line(r, tz));
        }
    }
    Ok(0)
}

fn result_word(r: AttemptResult) -> &'static str {
    match r {
        AttemptResult::Delivered => "delivered",
        AttemptResult::Retry => "retry",
        AttemptResult::Dead => "dead",
    }
}

/// One record on one line.
fn line(r: &Record, tz: chrono::FixedOffset) -> String {
    let status = r
        .status
        .map(|s| format!("HTTP {s}"))
        .unwrap_or_else(|| "no answer".into());
    let code = r.code.map(|c| format!(" code {c}")).unwrap_or_default();
    let reason = r
        .reason
        .as_deref()
        .map(|x| format!(" — {x}"))
        .unwrap_or_default();
    format!(
        "{}  {:<11} {:<9} attempt {}  {status}{code}  {} ms{reason}",
        show_time(r.time_ms, tz),
        r.kind,
        result_word(r.result),
        r.attempt,
        r.latency_ms
    )
}

fn record_json(r: &Record) -> serde_json::Value {
    let mut v = serde_json::to_value(r).unwrap_or_default();
    if let Some(t) = chrono::DateTime::from_timestamp_millis(r.time_ms as i64) {
        v["time"] = json!(t.to_rfc3339());
    }
    v
}
