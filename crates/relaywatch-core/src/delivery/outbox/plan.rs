//! The pure decision of what a delivery attempt leads to: the sender's verdict, the transition
//! (delivered, retried after backoff, dead) and the history record; rule: no I/O here — Redis
//! applies the plan in one atomic step (`queue`).

use std::time::Duration;

use super::Item;
use crate::delivery::backoff::BackoffPolicy;
use crate::delivery::history::{self, AttemptResult, Record};

/// What a delivery attempt came to, as the sender reports it.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Delivered,
    /// Worth retrying; `after` is the platform's Retry-After / `retry_after`.
    Retry {
        after: Option<Duration>,
    },
    /// Permanent: not retried, dead-lettered at once.
    Fail,
}

/// One attempt's result with what history records.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryResult {
    pub verdict: Verdict,
    pub status: Option<u16>,
    /// The platform's own code (`errcode`…).
    pub code: Option<i64>,
    pub latency: Duration,
    /// Why it failed, already scrubbed by the caller (never a URL or token) and passed through
    /// `secrets::redact` again here.
    pub reason: Option<String>,
}

impl DeliveryResult {
    pub fn delivered(status: Option<u16>, code: Option<i64>, latency: Duration) -> Self {
        DeliveryResult {
            verdict: Verdict::Delivered,
            status,
            code,
            latency,
            reason: None,
        }
    }

    pub fn retry(
        after: Option<Duration>,
        status: Option<u16>,
        code: Option<i64>,
        latency: Duration,
        reason: impl Into<String>,
    ) -> Self {
        DeliveryResult {
            verdict: Verdict::Retry { after },
            status,
            code,
            latency,
            reason: Some(crate::secrets::redact(&reason.into())),
        }
    }

    pub fn fail(
        status: Option<u16>,
        code: Option<i64>,
        latency: Duration,
        reason: impl Into<String>,
    ) -> Self {
        DeliveryResult {
            verdict: Verdict::Fail,
            status,
            code,
            latency,
            reason: Some(crate::secrets::redact(&reason.into())),
        }
    }
}

/// Where an item went after [`Outbox::complete`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Delivered,
    /// Back in the queue, due at this time (ms).
    Retrying {
        at_ms: u64,
    },
    Dead,
}

/// What [`plan`] decided, before it is applied in Redis.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub transition: Transition,
    pub record: Record,
}

/// Decides an attempt's transition and history record (pure): delivered; retried after the
/// backoff (or the platform's Retry-After when longer) while attempts remain; dead otherwise.
pub fn plan(
    policy: &BackoffPolicy,
    item: &Item,
    result: &DeliveryResult,
    now_ms: u64,
    jitter_unit: f64,
) -> Plan {
    let attempt = item.attempts.saturating_add(1);
    let (transition, res) = match &result.verdict {
        Verdict::Delivered => (Transition::Delivered, AttemptResult::Delivered),
        Verdict::Retry { after } if !policy.exhausted(attempt) => {
            let delay = policy.retry_delay(attempt, jitter_unit, *after);
            let at_ms = now_ms.saturating_add(delay.as_millis() as u64);
            (Transition::Retrying { at_ms }, AttemptResult::Retry)
        }
        Verdict::Retry { .. } | Verdict::Fail => (Transition::Dead, AttemptResult::Dead),
    };
    Plan {
        transition,
        record: Record {
            time_ms: now_ms,
            id: item.id,
            kind: item.kind.clone(),
            key: item.key.clone(),
            attempt,
            result: res,
            status: result.status,
            code: result.code,
            latency_ms: result.latency.as_millis() as u64,
            reason: result.reason.as_deref().map(history::clip_reason),
        },
    }
}
