//! Sending outbox items: [`deliver_claim`] turns one claimed item (an [`Envelope`]) into a
//! platform send and the outbox's [`DeliveryResult`]; [`Deliverer`] is the sender callback the
//! daemon and the one-shot commands share; [`enqueue_and_drain`] queues messages and runs a
//! sender in this process until they are delivered, dead, or due too late to wait for. Rule:
//! secrets are resolved from the channel's config at send time (never carried in the payload),
//! and every reason handed to the outbox is redacted.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::backoff::BackoffPolicy;
use super::envelope::Envelope;
use super::history::Record;
use super::outbox::{
    self, DeliveryResult, Enqueued, Item, NewItem, Outbox, OutboxConfig, OutboxError, SenderConfig,
    WindowFor,
};
use crate::channels::{dispatch, Outcome};
use crate::config::channels::ChannelType;
use crate::config::Settings;
use crate::delivery::channel_sender::{ChannelSender, Sent};
use crate::secret_store::SecretStore;
use crate::secrets::redact;

/// `[delivery]` as a backoff policy.
pub fn backoff_policy(s: &Settings) -> BackoffPolicy {
    BackoffPolicy {
        base: Duration::from_millis(s.delivery.backoff_ms),
        cap: Duration::from_millis(s.delivery.backoff_cap_ms),
        max_attempts: s.delivery.attempts,
        ..BackoffPolicy::default()
    }
}

/// The outbox settings of a configuration: `[state] prefix`, `[delivery]` backoff, and a lease
/// long enough for a message of several requests (six network timeouts, at least 30 s).
pub fn outbox_config(s: &Settings) -> OutboxConfig {
    let lease =
        Duration::from_millis(s.network.timeout_ms.saturating_mul(6)).max(Duration::from_secs(30));
    OutboxConfig {
        prefix: s.state.prefix.clone(),
        lease,
        backoff: backoff_policy(s),
        ..OutboxConfig::default()
    }
}

/// Each configured channel's send window: its platform's published rate (none for `file`).
pub fn windows_for(s: &Settings) -> WindowFor {
    let kinds: HashMap<String, ChannelType> = s
        .channels
        .iter()
        .map(|c| (c.name.clone(), c.kind))
        .collect();
    Arc::new(move |name| match kinds.get(name) {
        None | Some(ChannelType::File) => None,
        Some(k) => Some(dispatch::limits(*k).into()),
    })
}

/// What the outbox records for one send (pure): the last request's answer decides; the
/// latency is the whole send's; the reason is the rule that judged it, redacted.
pub fn result_of(sent: &Sent) -> DeliveryResult {
    let latency = sent.attempts.iter().map(|a| a.latency).sum();
    let Some(last) = sent.attempts.last() else {
        return DeliveryResult::fail(None, None, latency, "nothing to send");
    };
    let reason = redact(&last.rule);
    match &last.outcome {
        Outcome::Delivered { code } => DeliveryResult::delivered(last.status, *code, latency),
        Outcome::Retry { after, code, .. } => {
            DeliveryResult::retry(*after, last.status, *code, latency, reason)
        }
        Outcome::Fail { code, .. }
        | Outcome::Disable { code, .. }
        | Outcome::TooLong { code, .. } => {
            DeliveryResult::fail(last.status, *code, latency, reason)
        }
    }
}

/// Sends one claimed outbox item through `sender` (the item's channel): decodes its envelope,
/// sends the message with the item's idempotency key as message id (the generic webhook's
/// `webhook-id`, stable across retries) and returns what the outbox records, with the send's
/// details (`None` when nothing was sent: a payload that is no envelope, or for another
/// channel — permanent failures).
pub async fn deliver_claim(
    item: &Item,
    sender: &ChannelSender,
    now: DateTime<Utc>,
) -> (DeliveryResult, Option<Sent>) {
    let refuse = |reason: String| {
        (
            DeliveryResult::fail(None, None, Duration::ZERO, reason),
            None,
        )
    };
    let envelope = match Envelope::from_payload(&item.payload) {
        Ok(e) => e,
        Err(e) => return refuse(e.to_string()),
    };
    if envelope.channel != item.channel || sender.settings.name != item.channel {
        return refuse(format!(
            "the outbox item is for channel {:?} but its envelope is for {:?}",
            item.channel, envelope.channel
        ));
    }
    let msg = match envelope.into_message() {
        Ok(m) => m,
        Err(e) => return refuse(e.to_string()),
    };
    let sent = sender.send(&msg, &item.key, now).await;
    (result_of(&sent), Some(sent))
}

/// What a sender callback returns.
pub type DeliverFuture = Pin<Box<dyn Future<Output = DeliveryResult> + Send>>;

/// The sender callback: builds each channel's [`ChannelSender`] once (secrets resolved, client
/// pooled) and delivers items with [`deliver_claim`]. Optionally keeps every send's details
/// (replies, rules) by item id, for commands that print them.
pub struct Deliverer {
    settings: Settings,
    store: SecretStore,
    senders: Mutex<HashMap<String, Arc<ChannelSender>>>,
    sends: Option<Mutex<HashMap<u64, Vec<Sent>>>>,
}

impl Deliverer {
    pub fn new(settings: Settings, store: SecretStore) -> Deliverer {
        Deliverer {
            settings,
            store,
            senders: Mutex::default(),
            sends: None,
        }
    }

    /// Keep each send's details, to be taken with [`Deliverer::take_sends`].
    pub fn keeping_sends(mut self) -> Deliverer {
        self.sends = Some(Mutex::default());
        self
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    fn sender(&self, channel: &str) -> Result<Arc<ChannelSender>, String> {
        let mut senders = self.senders.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = senders.get(channel) {
            return Ok(s.clone());
        }
        let s = Arc::new(
            ChannelSender::new(&self.settings, channel, &self.store)
                .map_err(|e| redact(&e.to_string()))?,
        );
        senders.insert(channel.to_string(), s.clone());
        Ok(s)
    }

    /// Delivers one claimed item (reads the clock: this is the sender's edge).
    pub async fn deliver(&self, item: Item) -> DeliveryResult {
        let sender = match self.sender(&item.channel) {
            Ok(s) => s,
            Err(reason) => {
                return DeliveryResult::fail(None, None, Duration::ZERO, reason);
            }
        };
        let (result, sent) = deliver_claim(&item, &sender, Utc::now()).await;
        if let (Some(sends), Some(sent)) = (&self.sends, sent) {
            sends
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry(item.id)
                .or_default()
                .push(sent);
        }
        result
    }

    /// The sends this deliverer made for item `id`, oldest first (empty unless
    /// [`Deliverer::keeping_sends`]).
    pub fn take_sends(&self, id: u64) -> Vec<Sent> {
        self.sends
            .as_ref()
            .and_then(|s| s.lock().unwrap_or_else(|e| e.into_inner()).remove(&id))
            .unwrap_or_default()
    }

    /// The callback for [`outbox::run`].
    pub fn callback(
        self: &Arc<Self>,
    ) -> impl Fn(Item) -> DeliverFuture + Send + Sync + Clone + 'static {
        let me = Arc::clone(self);
        move |item| {
            let me = Arc::clone(&me);
            Box::pin(async move { me.deliver(item).await })
        }
    }
}

/// How long [`enqueue_and_drain`] waits.
#[derive(Clone)]
pub struct DrainOptions {
    /// Longest wait (2 min): an item whose next attempt falls later stays queued for the daemon
    /// (`relaywatch run`) or the next one-shot command.
    pub wait: Duration,
    /// How often the items' states are read (50 ms).
    pub poll: Duration,
    pub sender: SenderConfig,
}

impl Default for DrainOptions {
    fn default() -> Self {
        DrainOptions {
            wait: Duration::from_secs(120),
            poll: Duration::from_millis(50),
            sender: SenderConfig {
                idle_poll: Duration::from_millis(50),
                ..SenderConfig::default()
            },
        }
    }
}

/// Where a drained item ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    Delivered,
    /// Failed for good (dead-lettered).
    Dead,
    /// Still queued: the next attempt is due at this time (ms), after the wait.
    Queued {
        next_at_ms: u64,
    },
}

/// One item [`enqueue_and_drain`] queued, and what became of it.
#[derive(Debug, Clone)]
pub struct Drained {
    pub channel: String,
    pub key: String,
    pub id: u64,
    /// The key had been queued before: this call queued nothing new.
    pub duplicate: bool,
    pub fate: Fate,
    /// The item's history records, oldest first (whoever made the attempts).
    pub records: Vec<Record>,
    /// The sends this process made, with replies and rules, oldest first.
    pub sends: Vec<Sent>,
}

/// Whether the wait is over (pure): every item is gone or dead, or every one still queued is
/// due after `deadline_ms`.
pub fn drain_done(states: &[Option<(String, u64)>], deadline_ms: u64) -> bool {
    states.iter().all(|s| match s {
        None => true,
        Some((state, next_at)) => state == "dead" || (state == "due" && *next_at > deadline_ms),
    })
}

/// Queues `items`, then runs a sender in this process until each is delivered, dead, or due
/// after `opts.wait`; returns each item's fate and history. The sender also serves other due
/// items of the outbox (left by an earlier run), so `deliverer` must know their channels.
pub async fn enqueue_and_drain(
    outbox: &Outbox,
    deliverer: Arc<Deliverer>,
    items: Vec<NewItem>,
    opts: DrainOptions,
) -> Result<Vec<Drained>, OutboxError> {
    let clock = opts.sender.clock;
    let mut queued = Vec::with_capacity(items.len());
    for item in &items {
        let e = outbox.enqueue(item, clock()).await?;
        queued.push((item, e));
    }
    let ids: Vec<u64> = queued.iter().map(|(_, e)| e.id()).collect();
    let deadline_ms = clock().saturating_add(opts.wait.as_millis() as u64);
    let deadline = tokio::time::Instant::now() + opts.wait;
    let watcher = outbox.clone();
    let watch_ids = ids.clone();
    let poll = opts.poll;
    let shutdown = async move {
        loop {
            match watcher.item_states(&watch_ids).await {
                Ok(states) if drain_done(&states, deadline_ms) => return,
                Ok(_) => {}
                Err(e) => tracing::warn!(
                    "outbox: reading item states: {}",
                    crate::secrets::redact(&e.to_string())
                ),
            }
            if tokio::time::Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep(poll).await;
        }
    };
    let stats = outbox::run(outbox.clone(), opts.sender, deliverer.callback(), shutdown).await;
    tracing::debug!(?stats, "outbox drained");
    let states = outbox.item_states(&ids).await?;
    let mut histories: HashMap<String, Vec<Record>> = HashMap::new();
    let mut out = Vec::with_capacity(queued.len());
    for ((item, e), state) in queued.into_iter().zip(states) {
        if !histories.contains_key(&item.channel) {
            let mut all = outbox.history_ok(&item.channel).await?;
            all.extend(outbox.history_failed(&item.channel).await?);
            histories.insert(item.channel.clone(), all);
        }
        let id = e.id();
        let mut records: Vec<Record> = histories[&item.channel]
            .iter()
            .filter(|r| r.id == id && r.key == item.key)
            .cloned()
            .collect();
        records.sort_by_key(|r| (r.attempt, r.time_ms));
        let fate = match state {
            None => Fate::Delivered,
            Some((s, _)) if s == "dead" => Fate::Dead,
            Some((_, next_at_ms)) => Fate::Queued { next_at_ms },
        };
        out.push(Drained {
            channel: item.channel.clone(),
            key: item.key.clone(),
            id,
            duplicate: matches!(e, Enqueued::Duplicate(_)),
            fate,
            records,
            sends: deliverer.take_sends(id),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::channel_sender::Attempt;

    fn attempt(status: Option<u16>, outcome: Outcome, ms: u64) -> Attempt {
        Attempt {
            status,
            reply: String::new(),
            rule: dispatch::rule(ChannelType::Wecom, &outcome),
            outcome,
            latency: Duration::from_millis(ms),
        }
    }

    #[test]
    fn the_last_request_decides_and_latencies_add_up() {
        let sent = Sent {
            channel: "c".into(),
            attempts: vec![
                attempt(Some(200), Outcome::Delivered { code: Some(0) }, 5),
                attempt(
                    Some(200),
                    Outcome::Retry {
                        after: Some(Duration::from_secs(3)),
                        reason: "rate limited".into(),
                        code: Some(45009),
                    },
                    7,
                ),
            ],
        };
        let r = result_of(&sent);
        assert_eq!(
            r.verdict,
            outbox::Verdict::Retry {
                after: Some(Duration::from_secs(3))
            }
        );
        assert_eq!((r.status, r.code), (Some(200), Some(45009)));
        assert_eq!(r.latency, Duration::from_millis(12));
        assert!(r.reason.unwrap().contains("temporary failure"));
        let gone = Sent {
            channel: "c".into(),
            attempts: vec![attempt(
                Some(404),
                Outcome::Disable {
                    reason: "unknown webhook".into(),
                    code: None,
                },
                1,
            )],
        };
        assert_eq!(result_of(&gone).verdict, outbox::Verdict::Fail);
        let none = Sent {
            channel: "c".into(),
            attempts: vec![],
        };
        assert_eq!(result_of(&none).verdict, outbox::Verdict::Fail);
    }

    #[test]
    fn the_wait_ends_when_nothing_can_finish_before_the_deadline() {
        let due = |at: u64| Some(("due".to_string(), at));
        assert!(drain_done(&[], 10));
        assert!(drain_done(&[None, Some(("dead".into(), 0))], 10));
        assert!(!drain_done(&[None, due(5)], 10));
        assert!(!drain_done(&[Some(("claimed".into(), 0))], 10));
        assert!(drain_done(&[None, due(11)], 10));
    }

    #[test]
    fn the_outbox_config_follows_the_defaults() {
        let s = Settings::default();
        let c = outbox_config(&s);
        assert_eq!(c.prefix, "relaywatch:");
        assert_eq!(c.lease, Duration::from_secs(60));
        assert_eq!(c.backoff.max_attempts, 24);
        assert_eq!(c.backoff, BackoffPolicy::default());
    }
}
