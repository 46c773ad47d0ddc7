//! The sender loop that drains the outbox (claim, rate limit, deliver, complete), its wake-up
//! subscription and idle naps; rule: an attempt is cut off before its lease runs out, and a
//! channel whose platform asked for a pause waits that long (bounded by the policy).

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::task::JoinSet;

use super::{Claim, DeliveryResult, Item, Outbox, OutboxError, Transition, Verdict};
use crate::delivery::backoff::Jitter;
use crate::delivery::ratelimit::{RateLimiter, Take, Window};
use crate::metrics::Outcome;

impl Outbox {
    /// Subscribes to the outbox's wake-up channel on a connection of its own (`None` when the
    /// outbox has no URL to connect with, or the subscription fails within `timeout`).
    pub async fn subscribe_wake(&self, timeout: Duration) -> Option<Wake> {
        let client = self.client.as_ref()?;
        let channel = self.key("wake");
        let attempt = async {
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.subscribe(&channel).await?;
            Ok::<_, redis::RedisError>(pubsub)
        };
        match tokio::time::timeout(timeout, attempt).await {
            Ok(Ok(pubsub)) => Some(Wake { pubsub }),
            Ok(Err(e)) => {
                tracing::debug!("outbox wake-up: {}", crate::secrets::redact(&e.to_string()));
                None
            }
            Err(_) => None,
        }
    }
}

/// Milliseconds since the epoch from the system clock (the sender's default clock).
pub fn system_now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A channel's send window, if it has one.
pub type WindowFor = Arc<dyn Fn(&str) -> Option<Window> + Send + Sync>;

/// Sender settings.
#[derive(Clone)]
pub struct SenderConfig {
    /// Items claimed per round trip (64).
    pub batch: usize,
    /// Attempts in flight at once (64).
    pub concurrency: usize,
    /// The longest an idle sender waits (30 s). It wakes sooner on the outbox's wake-up
    /// channel (an enqueue, retry or deferral anywhere) and when the earliest due item or claim
    /// lease falls due; this bound catches a missed message or a wall-clock jump.
    pub idle_poll: Duration,
    /// Each channel's send window (`None`: unlimited).
    pub windows: WindowFor,
    /// The clock, ms since the epoch.
    pub clock: fn() -> u64,
}

impl Default for SenderConfig {
    fn default() -> Self {
        SenderConfig {
            batch: 64,
            concurrency: 64,
            idle_poll: Duration::from_secs(30),
            windows: Arc::new(|_| None),
            clock: system_now_ms,
        }
    }
}

/// A sender's wake-up: the `{p}outbox:wake` subscription, on a connection of its own.
pub struct Wake {
    pubsub: redis::aio::PubSub,
}

impl Wake {
    /// Resolves at the next message (`true`), or `false` once the subscription has ended.
    pub async fn next(&mut self) -> bool {
        use futures_core::Stream;
        let mut messages = std::pin::pin!(self.pubsub.on_message());
        std::future::poll_fn(|cx| messages.as_mut().poll_next(cx))
            .await
            .is_some()
    }
}

/// How long an idle sender sleeps (pure): until `next_ms` (the earliest due item or lease
/// expiry) but at most `cap`; `cap` when nothing is queued.
pub fn idle_nap(next_ms: Option<u64>, now_ms: u64, cap: Duration) -> Duration {
    match next_ms {
        Some(at) => Duration::from_millis(at.saturating_sub(now_ms)).min(cap),
        None => cap,
    }
}

/// What a sender did before it stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SenderStats {
    pub delivered: u64,
    pub retried: u64,
    pub dead: u64,
    /// Put back because the channel's window was full (no attempt counted).
    pub deferred: u64,
    /// Attempts whose claim had been taken over before they completed.
    pub lost: u64,
    /// Redis errors survived.
    pub errors: u64,
}

enum Step {
    Done(Transition),
    Deferred,
}

/// One attempt's end, as its task reports it.
type Finished = Result<Result<Step, OutboxError>, tokio::task::JoinError>;

impl SenderStats {
    /// Counts a finished attempt; an error is logged (redacted) and counted.
    fn record(&mut self, r: Finished) {
        match r {
            Ok(Ok(Step::Done(Transition::Delivered))) => self.delivered += 1,
            Ok(Ok(Step::Done(Transition::Retrying { .. }))) => self.retried += 1,
            Ok(Ok(Step::Done(Transition::Dead))) => self.dead += 1,
            Ok(Ok(Step::Deferred)) => self.deferred += 1,
            Ok(Err(OutboxError::LeaseLost { .. })) => self.lost += 1,
            Ok(Err(e)) => {
                tracing::warn!("outbox attempt: {}", crate::secrets::redact(&e.to_string()));
                self.errors += 1;
            }
            Err(e) => {
                tracing::warn!(
                    "outbox attempt task: {}",
                    crate::secrets::redact(&e.to_string())
                );
                self.errors += 1;
            }
        }
    }
}

/// What one claim round did.
struct Round {
    /// Slots free before the claim.
    free: usize,
    /// Items claimed (each now an attempt in flight).
    claimed: usize,
    /// The claim failed (a Redis error, counted).
    failed: bool,
}

impl Round {
    /// The claim filled every slot it asked for: claim again at once.
    fn full(&self, batch: usize) -> bool {
        self.claimed > 0 && self.claimed == self.free.min(batch.max(1))
    }
}

/// What every attempt of one sender shares, and the attempts in flight.
struct Attempts<F> {
    outbox: Outbox,
    limiter: RateLimiter,
    deliver: Arc<F>,
    timeout: Duration,
    jitter: Jitter,
    tasks: JoinSet<Result<Step, OutboxError>>,
}

impl<F, Fut> Attempts<F>
where
    F: Fn(Item) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = DeliveryResult> + Send + 'static,
{
    /// Claims as many items as there are free slots (at most a batch) and starts an attempt
    /// for each.
    async fn claim_round(&mut self, cfg: &SenderConfig, stats: &mut SenderStats) -> Round {
        let free = cfg.concurrency.max(1).saturating_sub(self.tasks.len());
        let mut round = Round {
            free,
            claimed: 0,
            failed: false,
        };
        if free == 0 {
            return round;
        }
        match self
            .outbox
            .claim((cfg.clock)(), free.min(cfg.batch.max(1)))
            .await
        {
            Ok(claims) => {
                round.claimed = claims.len();
                for claim in claims {
                    let task = attempt(
                        self.outbox.clone(),
                        self.limiter.clone(),
                        (cfg.windows)(&claim.item.channel),
                        self.deliver.clone(),
                        claim,
                        cfg.clock,
                        self.jitter.next_unit(),
                        self.timeout,
                    );
                    self.tasks.spawn(task);
                }
            }
            Err(e) => {
                tracing::warn!("outbox claim: {}", crate::secrets::redact(&e.to_string()));
                stats.errors += 1;
                round.failed = true;
            }
        }
        round
    }
}

/// Drains the outbox: claim → rate limit → deliver → complete, with up to `concurrency`
/// attempts in flight. Each attempt is cut off at 80 % of the lease (a Retry), so a live worker
/// never loses its claim. When `shutdown` resolves, no more items are claimed and the attempts
/// in flight are finished before returning.
pub async fn run<F, Fut>(
    outbox: Outbox,
    cfg: SenderConfig,
    deliver: F,
    shutdown: impl Future<Output = ()>,
) -> SenderStats
where
    F: Fn(Item) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = DeliveryResult> + Send + 'static,
{
    let mut att = Attempts {
        limiter: RateLimiter::new(outbox.connection().clone(), &outbox.config().prefix),
        timeout: outbox.config().lease.mul_f64(0.8),
        jitter: Jitter::new((cfg.clock)() ^ ((std::process::id() as u64) << 32)),
        deliver: Arc::new(deliver),
        tasks: JoinSet::new(),
        outbox,
    };
    let mut stats = SenderStats::default();
    tokio::pin!(shutdown);
    // Subscribed before the first claim: an item queued after a claim found nothing is heard.
    let mut wake = att.outbox.subscribe_wake(WAKE_CONNECT).await;
    let mut wake_tried = Instant::now();
    loop {
        tokio::select! {
            biased;
            _ = &mut shutdown => break,
            _ = std::future::ready(()) => {}
        }
        while let Some(r) = att.tasks.try_join_next() {
            stats.record(r);
        }
        let round = att.claim_round(&cfg, &mut stats).await;
        if round.full(cfg.batch) {
            continue;
        }
        let claimed = round.claimed;
        let nap = if claimed > 0 {
            Duration::ZERO
        } else {
            if wake.is_none() && wake_tried.elapsed() >= cfg.idle_poll {
                wake = att.outbox.subscribe_wake(WAKE_CONNECT).await;
                wake_tried = Instant::now();
            }
            idle_wait(&att.outbox, &cfg, round.free, round.failed).await
        };
        tokio::select! {
            _ = &mut shutdown => break,
            Some(r) = att.tasks.join_next(), if !att.tasks.is_empty() => stats.record(r),
            _ = tokio::time::sleep(nap), if claimed == 0 => {}
            alive = next_wake(&mut wake), if claimed == 0 => {
                if !alive {
                    tracing::debug!("outbox wake-up subscription ended; waiting on timers");
                    wake = None;
                }
            }
            _ = std::future::ready(()), if claimed > 0 => {}
        }
    }
    while let Some(r) = att.tasks.join_next().await {
        stats.record(r);
    }
    stats
}

/// How long subscribing to the wake-up channel may take.
const WAKE_CONNECT: Duration = Duration::from_secs(2);
/// The longest wait after a Redis error before the sender looks again.
const ERROR_NAP: Duration = Duration::from_secs(1);

/// How long an idle sender may sleep: until the outbox next needs it (bounded by `idle_poll`),
/// the bound alone while every slot is busy (a finished attempt wakes it), briefly after an
/// error.
async fn idle_wait(outbox: &Outbox, cfg: &SenderConfig, free: usize, failed: bool) -> Duration {
    if failed {
        return cfg.idle_poll.min(ERROR_NAP);
    }
    if free == 0 {
        return cfg.idle_poll;
    }
    match outbox.next_wake_ms().await {
        Ok(next) => idle_nap(next, (cfg.clock)(), cfg.idle_poll),
        Err(_) => cfg.idle_poll.min(ERROR_NAP),
    }
}

/// The next wake-up message (`true`), `false` when the subscription ended; never resolves
/// without a subscription.
async fn next_wake(wake: &mut Option<Wake>) -> bool {
    match wake {
        Some(w) => w.next().await,
        None => std::future::pending().await,
    }
}

#[allow(clippy::too_many_arguments)]
async fn attempt<F, Fut>(
    outbox: Outbox,
    limiter: RateLimiter,
    window: Option<Window>,
    deliver: Arc<F>,
    claim: Claim,
    clock: fn() -> u64,
    unit: f64,
    timeout: Duration,
) -> Result<Step, OutboxError>
where
    F: Fn(Item) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = DeliveryResult> + Send + 'static,
{
    let channel = claim.item.channel.clone();
    if let Some(w) = window {
        let now = clock();
        if let Take::Wait(d) = limiter.try_take(&channel, w, now).await? {
            outbox.defer(&claim, now + d.as_millis() as u64).await?;
            return Ok(Step::Deferred);
        }
    }
    let started = Instant::now();
    let result = match tokio::time::timeout(timeout, deliver(claim.item.clone())).await {
        Ok(r) => r,
        Err(_) => DeliveryResult::retry(
            None,
            None,
            None,
            started.elapsed(),
            format!("no answer within {} ms", timeout.as_millis()),
        ),
    };
    if let (Verdict::Retry { after: Some(after) }, Some(_)) = (&result.verdict, window) {
        // The channel waits as long as its items do: no longer than the policy honours.
        let pause = (*after).min(outbox.config().backoff.max_retry_after);
        limiter.pause(&channel, pause).await?;
    }
    let t = outbox.complete(&claim, &result, clock(), unit).await?;
    crate::metrics::delivery(&channel, Outcome::of(&result.verdict, t), result.latency);
    Ok(Step::Done(t))
}

#[cfg(test)]
mod wait_tests {
    use super::*;

    #[test]
    fn an_idle_sender_sleeps_until_the_next_due_item_at_most_its_bound() {
        let cap = Duration::from_secs(30);
        assert_eq!(idle_nap(None, 1_000, cap), cap);
        assert_eq!(
            idle_nap(Some(3_500), 1_000, cap),
            Duration::from_millis(2_500)
        );
        assert_eq!(idle_nap(Some(500), 1_000, cap), Duration::ZERO);
        assert_eq!(idle_nap(Some(1_000_000), 1_000, cap), cap);
    }
}
