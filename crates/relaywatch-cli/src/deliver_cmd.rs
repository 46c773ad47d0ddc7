//! How one-shot commands (`report --once`, `test`) show their deliveries, made by
//! `relaywatch_core::service::send_now` (through the durable outbox when a state Redis is
//! configured, else directly): per channel the outcome, the attempts, the platform's reply and
//! the rule that judged it. Rule: the exit code is 0 only when every channel got its message.

use anyhow::Result;
use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use relaywatch_core::config::Settings;
use relaywatch_core::service::send_now::{
    self, ChannelSend, Direct, Outgoing, QueuedFate, SendOutcome, SendView,
};
use relaywatch_core::service::{AttemptResult, Record};

/// Says once that nothing is recorded.
pub fn note_no_history() {
    eprintln!(
        "note: no state Redis configured ([state] redis_url, else [source] redis_url): \
         delivering directly; delivery history is not kept"
    );
}

/// The display offset of the relay (`[source] timezone_offset_hours`).
pub fn display_offset(s: &Settings) -> FixedOffset {
    relaywatch_core::service::report::display_offset(s)
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

/// Delivers `outgoing` through the service (saying first when no history is kept).
pub async fn deliver(
    s: &Settings,
    outgoing: Vec<Outgoing>,
    direct: Direct,
) -> Result<Vec<ChannelSend>> {
    if !send_now::keeps_history(s) {
        note_no_history();
    }
    let store = crate::secret_cmd::secret_store();
    Ok(send_now::deliver(s, store, outgoing, direct).await?)
}

/// 0 when every channel got its message, else 1.
pub fn exit_code(sends: &[ChannelSend]) -> i32 {
    if !sends.is_empty() && sends.iter().all(ChannelSend::delivered) {
        0
    } else {
        1
    }
}

/// Prints what came of each channel: `headed` shows the platform beside a direct send's name and
/// its requests (a test); otherwise a direct send is one line (a report).
pub fn print(sends: &[ChannelSend], s: &Settings, headed: bool) {
    let tz = display_offset(s);
    for c in sends {
        let name = &c.channel;
        match &c.outcome {
            SendOutcome::NotSent(why) => println!("{name}: not sent: {why}"),
            SendOutcome::Direct(tries) if headed => print_test_send(c, tries),
            SendOutcome::Direct(tries) => print_report_send(name, tries),
            SendOutcome::Queued { .. } => print_queued(c, tz),
        }
    }
}

/// A direct test send: its verdict, then each request.
fn print_test_send(c: &ChannelSend, tries: &[SendView]) {
    for sent in tries {
        let verdict = if sent.delivered {
            "delivered"
        } else {
            "NOT delivered"
        };
        println!("{} ({}): {verdict}", c.channel, c.kind.unwrap_or("?"));
        print_requests(sent, "  ");
    }
}

/// A direct report send: one line.
fn print_report_send(name: &str, tries: &[SendView]) {
    let Some(last) = tries.last() else {
        println!("{name}: NOT delivered after 0 attempt(s): nothing to send");
        return;
    };
    if last.delivered {
        println!(
            "{name}: delivered ({} request(s), {} attempt(s))",
            last.requests.len(),
            tries.len()
        );
    } else {
        let why = last
            .requests
            .last()
            .map(|a| a.rule.clone())
            .unwrap_or_else(|| "nothing to send".into());
        println!(
            "{name}: NOT delivered after {} attempt(s): {why}",
            tries.len()
        );
    }
}

/// A message that went through the outbox: its fate, then each attempt.
fn print_queued(c: &ChannelSend, tz: FixedOffset) {
    let SendOutcome::Queued {
        key,
        duplicate,
        fate,
        records,
        sends,
    } = &c.outcome
    else {
        return;
    };
    let attempts = records.len();
    let requests = sends.last().map(|s| s.requests.len()).unwrap_or(0);
    let head = format!("{} ({})", c.channel, c.kind.unwrap_or("?"));
    match fate {
        QueuedFate::Delivered if attempts == 0 && *duplicate => {
            println!("{head}: already delivered earlier (idempotency key {key})");
        }
        QueuedFate::Delivered => {
            println!("{head}: delivered ({requests} request(s), {attempts} attempt(s))")
        }
        QueuedFate::Dead => {
            println!("{head}: NOT delivered, failed for good after {attempts} attempt(s)");
        }
        QueuedFate::Waiting { next_at_ms } => {
            println!(
                "{head}: NOT delivered yet after {attempts} attempt(s); still queued, next \
                 attempt at {} (`relaywatch run` or the next command sends it)",
                show_time(*next_at_ms, tz)
            );
        }
    }
    print_attempts(records, sends);
}

fn result_word(r: AttemptResult) -> &'static str {
    match r {
        AttemptResult::Delivered => "delivered",
        AttemptResult::Retry => "failed, will retry",
        AttemptResult::Dead => "failed for good",
    }
}

/// Each attempt from history; with the send made here, its requests, replies and rules.
fn print_attempts(records: &[Record], sends: &[SendView]) {
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
pub fn print_requests(sent: &SendView, indent: &str) {
    for (i, at) in sent.requests.iter().enumerate() {
        let status = at
            .status
            .map(|s| format!("HTTP {s}"))
            .unwrap_or_else(|| "no answer".into());
        println!(
            "{indent}request {}: {status} in {} ms",
            i + 1,
            at.latency_ms
        );
        println!("{indent}  reply: {}", at.reply.trim());
        println!("{indent}  rule:  {}", at.rule);
    }
}
