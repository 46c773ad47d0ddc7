//! Deliveries made now, for one-shot commands (`report --once`, `test`): through the durable
//! outbox when a state Redis is configured, so every attempt lands in the channel's history,
//! running a sender here until each item is delivered, dead or due too late to wait for; else
//! straight to the platform. Rule: a channel that cannot be sent to (unknown, secret unreadable)
//! is reported and never queued; every answer is redacted.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::views::{AttemptView, Record};
use crate::config::Settings;
use crate::delivery::backoff::BackoffPolicy;
use crate::delivery::channel_sender::{send_with_retries, ChannelSender, Sent};
use crate::delivery::drain::{
    backoff_policy, enqueue_and_drain, outbox_config, windows_for, Deliverer, DrainOptions, Fate,
};
use crate::delivery::envelope::Envelope;
use crate::delivery::outbox::{Outbox, OutboxError};
use crate::render::message::Message;
use crate::secret_store::SecretStore;
use crate::secrets::redact;

/// One message for one channel, with its outbox idempotency key and its direct message id.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub channel: String,
    pub message: Message,
    pub key: String,
    pub direct_id: String,
}

/// How a direct send (no outbox) retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direct {
    /// One send (a test shows the platform's first answer).
    Once,
    /// Retries as `[delivery]` says, but waiting at most a minute for a platform that asks to
    /// and only the attempts that fit in two minutes (the daemon's outbox keeps trying longer).
    Retrying,
}

/// One send of a message (one or more requests), as the platform answered it.
#[derive(Debug, Clone, PartialEq)]
pub struct SendView {
    pub delivered: bool,
    pub requests: Vec<AttemptView>,
}

/// Where a message queued in the outbox ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueuedFate {
    Delivered,
    /// Failed for good (dead-lettered).
    Dead,
    /// Still queued; the next attempt is due at this time (ms since the epoch).
    Waiting {
        next_at_ms: u64,
    },
}

/// What became of one channel's message.
#[derive(Debug, Clone, PartialEq)]
pub enum SendOutcome {
    /// Nothing was sent or queued; why (redacted).
    NotSent(String),
    /// Sent straight to the platform: each try, the last one last.
    Direct(Vec<SendView>),
    /// Through the outbox.
    Queued {
        key: String,
        /// The key had been queued before: nothing new was queued.
        duplicate: bool,
        fate: QueuedFate,
        /// The item's history records, oldest first (whoever made the attempts).
        records: Vec<Record>,
        /// The sends made here, oldest first.
        sends: Vec<SendView>,
    },
}

/// One channel's delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelSend {
    pub channel: String,
    /// The platform (`slack`, `wecom`…), when the channel could be built.
    pub kind: Option<&'static str>,
    pub outcome: SendOutcome,
}

impl ChannelSend {
    /// The channel got its message.
    pub fn delivered(&self) -> bool {
        match &self.outcome {
            SendOutcome::NotSent(_) => false,
            SendOutcome::Direct(tries) => tries.last().is_some_and(|t| t.delivered),
            SendOutcome::Queued { fate, .. } => *fate == QueuedFate::Delivered,
        }
    }
}

/// Why a delivery could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum SendNowError {
    #[error("the state Redis keeps the outbox and the delivery history ([state] redis_url, else [source] redis_url): {0}")]
    Connect(OutboxError),
    #[error(transparent)]
    Outbox(OutboxError),
}

/// Whether deliveries are recorded (a state Redis is configured, so they go through the outbox).
pub fn keeps_history(s: &Settings) -> bool {
    crate::store::state_redis_url(s).is_some()
}

/// Delivers `outgoing` now: through the outbox when a state Redis is configured, else directly
/// as `direct` says. One answer per message, channels that cannot be sent to first.
pub async fn deliver(
    s: &Settings,
    store: SecretStore,
    outgoing: Vec<Outgoing>,
    direct: Direct,
) -> Result<Vec<ChannelSend>, SendNowError> {
    match connect_outbox(s).await? {
        Some(outbox) => via_outbox(s, &outbox, store, outgoing).await,
        None => Ok(directly(s, &store, outgoing, direct).await),
    }
}

async fn connect_outbox(s: &Settings) -> Result<Option<Outbox>, SendNowError> {
    let Some(url) = crate::store::state_redis_url(s) else {
        return Ok(None);
    };
    let timeout = Duration::from_millis(s.source.connect_timeout_ms);
    let outbox = Outbox::connect(url, timeout, outbox_config(s))
        .await
        .map_err(SendNowError::Connect)?;
    Ok(Some(outbox))
}

/// A send's requests as views.
pub(super) fn send_view(sent: &Sent) -> SendView {
    SendView {
        delivered: sent.delivered(),
        requests: sent.attempts.iter().map(AttemptView::from).collect(),
    }
}

fn not_sent(channel: &str, e: impl std::fmt::Display) -> ChannelSend {
    ChannelSend {
        channel: channel.to_string(),
        kind: None,
        outcome: SendOutcome::NotSent(redact(&e.to_string())),
    }
}

/// Queues the messages whose channels can be sent to, drains the outbox here and answers each.
async fn via_outbox(
    s: &Settings,
    outbox: &Outbox,
    store: SecretStore,
    outgoing: Vec<Outgoing>,
) -> Result<Vec<ChannelSend>, SendNowError> {
    let mut answers = Vec::new();
    let mut items = Vec::new();
    let mut kinds = HashMap::new();
    for o in outgoing {
        match ChannelSender::new(s, &o.channel, &store) {
            Ok(sender) => {
                kinds.insert(o.channel.clone(), sender.settings.kind.as_str());
                items.push(Envelope::new(&o.channel, &o.message).item(o.key));
            }
            Err(e) => answers.push(not_sent(&o.channel, e)),
        }
    }
    if items.is_empty() {
        return Ok(answers);
    }
    let deliverer = Arc::new(Deliverer::new(s.clone(), store).keeping_sends());
    let mut opts = DrainOptions::default();
    opts.sender.windows = windows_for(s);
    let drained = enqueue_and_drain(outbox, deliverer, items, opts)
        .await
        .map_err(SendNowError::Outbox)?;
    answers.extend(drained.into_iter().map(|d| ChannelSend {
        kind: kinds.get(&d.channel).copied(),
        channel: d.channel,
        outcome: SendOutcome::Queued {
            key: d.key,
            duplicate: d.duplicate,
            fate: match d.fate {
                Fate::Delivered => QueuedFate::Delivered,
                Fate::Dead => QueuedFate::Dead,
                Fate::Queued { next_at_ms } => QueuedFate::Waiting { next_at_ms },
            },
            records: d.records,
            sends: d.sends.iter().map(send_view).collect(),
        },
    }));
    Ok(answers)
}

/// Sends each message straight to its platform, in order.
async fn directly(
    s: &Settings,
    store: &SecretStore,
    outgoing: Vec<Outgoing>,
    direct: Direct,
) -> Vec<ChannelSend> {
    let policy = BackoffPolicy {
        max_retry_after: Duration::from_secs(60),
        ..backoff_policy(s)
    }
    .within(Duration::from_secs(120));
    let mut answers = Vec::with_capacity(outgoing.len());
    for o in outgoing {
        let sender = match ChannelSender::new(s, &o.channel, store) {
            Ok(sender) => sender,
            Err(e) => {
                answers.push(not_sent(&o.channel, e));
                continue;
            }
        };
        let tries = match direct {
            Direct::Once => vec![
                sender
                    .send(&o.message, &o.direct_id, chrono::Utc::now())
                    .await,
            ],
            Direct::Retrying => send_with_retries(&sender, &o.message, &o.direct_id, &policy).await,
        };
        answers.push(ChannelSend {
            kind: Some(sender.settings.kind.as_str()),
            channel: o.channel,
            outcome: SendOutcome::Direct(tries.iter().map(send_view).collect()),
        });
    }
    answers
}
