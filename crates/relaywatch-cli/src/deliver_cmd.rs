//! How one-shot commands (`report --once`, `test`) deliver: through the durable outbox when a
//! state Redis is configured, so every attempt lands in the channel's history, running a
//! sender here until each item is delivered, dead or due too late to wait for; printing per
//! channel the outcome, the attempts, the platform's reply and the rule that judged it. Rule:
//! the exit code is 0 only when every channel got its message.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use relaywatch_core::config::Settings;
use relaywatch_core::delivery::channel_sender::{ChannelSender, Sent};
use relaywatch_core::delivery::drain::{
    enqueue_and_drain, outbox_config, windows_for, Deliverer, DrainOptions, Fate,
};
use relaywatch_core::delivery::envelope::Envelope;
use relaywatch_core::delivery::history::{AttemptResult, Record};
use relaywatch_core::delivery::outbox::Outbox;
use relaywatch_core::render::message::Message;
use relaywatch_core::secret_store::SecretStore;
use relaywatch_core::store::state_redis_url;

/// One message for one channel, with its idempotency key.
pub struct Planned {
    pub channel: String,
    pub message: Message,
    pub key: String,
}

/// The outbox on the state Redis, or `None` in demo mode (no Redis configured).
pub async fn connect_outbox(s: &Settings) -> Result<Option<Outbox>> {
    let Some(url) = state_redis_url(s) else {
        return Ok(None);
    };
    let timeout = Duration::from_millis(s.source.connect_timeout_ms);
    let outbox = Outbox::connect(url, timeout, outbox_config(s))
        .await
        .context("the state Redis keeps the outbox and the delivery history ([state] redis_url, else [source] redis_url)")?;
    Ok(Some(outbox))
}

/// Says once that nothing is recorded.
pub fn note_no_history() {
    eprintln!(
        "note: no state Redis configured ([state] redis_url, else [source] redis_url): \
         delivering directly; delivery history is not kept"
    );
}

/// The display offset of the relay (`[source] timezone_offset_hours`).
pub fn display_offset(s: &Settings) -> FixedOffset {
    FixedOffset::east_opt(s.source.timezone_offset_hours.clamp(-12, 14) * 3600)
        .unwrap_or_else(|| FixedOffset::east_opt(0).expect("UTC"))
}

/// A history time for people.
pub fn show_time(ms: u64, tz: FixedOffset) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms as i64)
        .map(|t| {
            tz.from_utc_datetime(&t.naive_utc())
                .format("%Y-%m-%d %H:%M:%S%:z")
                .to_string()
        })
        .unwrap_or_else(|| ms.to_string())
}

/// Queues `planned` in the outbox, drains it here and prints the outcome per channel.
pub async fn deliver_via_outbox(
    s: &Settings,
    outbox: &Outbox,
    store: SecretStore,
    planned: Vec<Planned>,
) -> Result<i32> {
    let mut failed = 0;
    let mut items = Vec::new();
    let mut kinds = std::collections::HashMap::new();
    for p in planned {
        // Check the channel can be sent to at all (it exists, its secrets resolve) before
        // queuing anything for it.
        match ChannelSender::new(s, &p.channel, &store) {
            Ok(sender) => {
                kinds.insert(p.channel.clone(), sender.settings.kind.as_str());
                items.push(Envelope::new(&p.channel, &p.message).item(p.key));
            }
            Err(e) => {
                println!(
                    "{}: not sent: {}",
                    p.channel,
                    relaywatch_core::secrets::redact(&e.to_string())
                );
                failed += 1;
            }
        }
    }
    if items.is_empty() {
        return Ok(1);
    }
    let deliverer = Arc::new(Deliverer::new(s.clone(), store).keeping_sends());
    let mut opts = DrainOptions::default();
    opts.sender.windows = windows_for(s);
    let drained = enqueue_and_drain(outbox, deliverer, items, opts).await?;
    let tz = display_offset(s);
    for d in &drained {
        let kind = kinds.get(&d.channel).copied().unwrap_or("?");
        let attempts = d.records.len();
        let requests = d.sends.last().map(|s| s.attempts.len()).unwrap_or(0);
        let head = format!("{} ({kind})", d.channel);
        match d.fate {
            Fate::Delivered if attempts == 0 && d.duplicate => {
                println!(
                    "{head}: already delivered earlier (idempotency key {})",
                    d.key
                );
            }
            Fate::Delivered => {
                println!("{head}: delivered ({requests} request(s), {attempts} attempt(s))")
            }
            Fate::Dead => {
                failed += 1;
                println!("{head}: NOT delivered, failed for good after {attempts} attempt(s)");
            }
            Fate::Queued { next_at_ms } => {
                failed += 1;
                println!(
                    "{head}: NOT delivered yet after {attempts} attempt(s); still queued, next \
                     attempt at {} (`relaywatch run` or the next command sends it)",
                    show_time(next_at_ms, tz)
                );
            }
        }
        print_attempts(&d.records, &d.sends);
    }
    Ok(if failed == 0 { 0 } else { 1 })
}

fn result_word(r: AttemptResult) -> &'static str {
    match r {
        AttemptResult::Delivered => "delivered",
        AttemptResult::Retry => "failed, will retry",
        AttemptResult::Dead => "failed for good",
    }
}

/// Each attempt from history; with the send made here, its requests, replies and rules.
fn print_attempts(records: &[Record], sends: &[Sent]) {
    let sends_match = sends.len() == records.len();
    for (i, r) in records.iter().enumerate() {
        let status = r
            .status
            .map(|s| format!("HTTP {s}"))
            .unwrap_or_else(|| "no answer".into());
        let code = r
            .code
            .map(|c| format!(", platform code {c}"))
            .unwrap_or_default();
        println!(
            "  attempt {}: {} ({status}{code}, {} ms)",
            r.attempt,
            result_word(r.result),
            r.latency_ms
        );
        match sends_match.then(|| &sends[i]) {
            Some(sent) => print_requests(sent, "    "),
            None => {
                if let Some(reason) = &r.reason {
                    println!("    rule:  {reason}");
                }
            }
        }
    }
}

/// A send's requests with the platform's reply and the rule that judged each.
pub fn print_requests(sent: &Sent, indent: &str) {
    for (i, at) in sent.attempts.iter().enumerate() {
        let status = at
            .status
            .map(|s| format!("HTTP {s}"))
            .unwrap_or_else(|| "no answer".into());
        println!(
            "{indent}request {}: {status} in {} ms",
            i + 1,
            at.latency.as_millis()
        );
        println!("{indent}  reply: {}", at.reply.trim());
        println!("{indent}  rule:  {}", at.rule);
    }
}
