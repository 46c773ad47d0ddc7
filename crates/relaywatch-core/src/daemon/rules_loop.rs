//! The alert rules as daemon loops. `events`: read the event stream through the consumer group,
//! evaluate error-rate and breaker on each batch, queue the transitions, then ack — so an
//! instance killed mid-batch leaves its entries pending for another to reclaim. `ticker`: what
//! changes with time alone — error-rate resolves, breaker half-open, repeats, digests — plus the
//! periodic reads: CRS account states and Claude Code Hub breakers every 30 s, quota every
//! `interval_minutes`. A failed read is logged and skipped: it neither fires nor resolves.
//! Waiting rule: the consumer blocks on the stream; the ticker ticks every 2 s only while an
//! alert fires or a breaker is not closed, else sleeps until the next digest, repeat or read
//! that is due (at most 30 s), and is nudged by the consumer after each batch.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use super::alerts;
use super::jobs::JobError;
use super::{stopped, Context};
use crate::events::stream::{self, StreamConfig, StreamConsumer};
use crate::metrics::{self, Rule};
use crate::render::message::AlertState;
use crate::rules::alert_state::{AlertRecord, RepeatPolicy};
use crate::rules::{Alert, RuleKind};
use crate::source::redis_io;
use crate::source::Relay;
use crate::store::alert_state::AlertStateStore;
use crate::store::breaker::BreakerRule;
use crate::store::error_rate::ErrorRateRule;
use crate::store::quota::QuotaStore;
use crate::store::state_redis_url;

/// How often the ticker looks at time-driven transitions while an alert is firing or a breaker
/// is not closed; also the shortest gap between passes when events nudge it.
const TICK: Duration = Duration::from_secs(2);
/// The longest the ticker sleeps with nothing pending: it then makes a pass anyway (a firing
/// taken by another instance, a missed nudge, a wall-clock jump).
const IDLE_NAP: Duration = Duration::from_secs(30);
/// How often external states (CRS accounts, CCH breakers) are read.
const WATCH_EVERY: Duration = Duration::from_secs(30);
/// Pause after an error before a loop tries again.
const ERROR_PAUSE: Duration = Duration::from_secs(2);

fn redact(e: impl std::fmt::Display) -> String {
    crate::secrets::redact(&e.to_string())
}

fn timeout(ctx: &Context) -> Duration {
    Duration::from_millis(ctx.settings.source.connect_timeout_ms)
}

pub(super) async fn state_store(ctx: &Context) -> Result<AlertStateStore, JobError> {
    let url = state_redis_url(&ctx.settings).unwrap_or_default();
    let conn = redis_io::connect(url, timeout(ctx)).await?;
    Ok(AlertStateStore::new(
        conn,
        ctx.settings.state.prefix.clone(),
    ))
}

/// Sleeps `d` unless the session is told to stop first (then `true`).
async fn nap(stop: &mut watch::Receiver<bool>, d: Duration) -> bool {
    tokio::select! {
        _ = stopped(stop) => true,
        _ = tokio::time::sleep(d) => false,
    }
}

pub async fn events(ctx: Arc<Context>, mut stop: watch::Receiver<bool>) {
    let r = &ctx.settings.rules;
    let from_table = ctx.settings.events.source != crate::config::rules::EventSourceKind::Stream;
    if (!r.error_rate.enabled && !r.breaker.enabled) || from_table {
        stopped(&mut stop).await;
        return;
    }
    loop {
        match consume(&ctx, &mut stop).await {
            Ok(()) => return,
            Err(e) => {
                tracing::warn!("event consumer: {}; retrying", redact(e));
                if nap(&mut stop, ERROR_PAUSE).await {
                    return;
                }
            }
        }
    }
}

async fn consume(ctx: &Context, stop: &mut watch::Receiver<bool>) -> Result<(), JobError> {
    let s = &ctx.settings;
    let url = s
        .events
        .redis_url
        .as_deref()
        .or(state_redis_url(s))
        .unwrap_or_default()
        .to_string();
    // A blocking XREADGROUP holds its connection: the consumer gets its own.
    let con = stream::connect(&url, timeout(ctx))
        .await
        .map_err(|e| JobError::Other(e.to_string()))?;
    let mut consumer = StreamConsumer::new(
        con,
        StreamConfig {
            stream: s.events.stream.clone(),
            group: s.events.group.clone(),
            consumer: s
                .events
                .consumer
                .clone()
                .unwrap_or_else(|| ctx.options.instance.clone()),
            count: s.events.batch,
            claim_idle: Duration::from_secs(s.events.claim_idle_seconds),
        },
    );
    consumer
        .ensure_group()
        .await
        .map_err(|e| JobError::Other(e.to_string()))?;
    let state = ctx.outbox.connection().clone();
    let prefix = &s.state.prefix;
    let er = ErrorRateRule::new(state.clone(), s.rules.error_rate.clone(), prefix);
    let br = BreakerRule::new(state, s.rules.breaker.clone(), prefix);
    let mut store = state_store(ctx).await?;
    loop {
        let batch = tokio::select! {
            _ = stopped(stop) => return Ok(()),
            b = consumer.next_batch(stream::MAX_BLOCK) => b.map_err(|e| JobError::Other(e.to_string()))?,
        };
        if batch.events.is_empty() {
            continue;
        }
        let now = Utc::now();
        let events: Vec<_> = batch.events.iter().map(|(_, e)| e).collect();
        let mut found: Vec<Alert> = Vec::new();
        if s.rules.error_rate.enabled {
            let ev = er
                .evaluate(events.iter().copied(), now)
                .await
                .map_err(|e| JobError::Other(e.to_string()))?;
            metrics::rule_evaluated(Rule::ErrorRate);
            found.extend(ev.alerts);
        }
        if s.rules.breaker.enabled {
            found.extend(
                br.evaluate(events.iter().copied(), now)
                    .await
                    .map_err(|e| JobError::Other(e.to_string()))?,
            );
            metrics::rule_evaluated(Rule::Breaker);
        }
        metrics::alerts_found(&found);
        alerts::dispatch(ctx, &mut store, found, now).await?;
        consumer
            .ack(&batch.ids())
            .await
            .map_err(|e| JobError::Other(e.to_string()))?;
        // The batch may have started something the ticker follows (a firing, an open breaker,
        // a held digest, a repeat to come).
        ctx.nudge.notify_one();
    }
}

/// The ticker's own state between passes.
struct Ticker {
    ctx: Arc<Context>,
    er: ErrorRateRule,
    br: BreakerRule,
    store: Option<AlertStateStore>,
    quota_store: Option<QuotaStore>,
    last_watch: Option<Instant>,
    last_quota: Option<Instant>,
}

pub async fn ticker(ctx: Arc<Context>, mut stop: watch::Receiver<bool>) {
    let s = ctx.settings.clone();
    let state = ctx.outbox.connection().clone();
    let mut t = Ticker {
        er: ErrorRateRule::new(state.clone(), s.rules.error_rate.clone(), &s.state.prefix),
        br: BreakerRule::new(state, s.rules.breaker.clone(), &s.state.prefix),
        ctx,
        store: None,
        quota_store: None,
        last_watch: None,
        last_quota: None,
    };
    loop {
        let passed = Instant::now();
        t.pass().await;
        let nap = if t.store.is_none() {
            // Without its alert store the pass did nothing: try again soon.
            ERROR_PAUSE
        } else {
            match t.pending().await {
                Ok(p) => p.nap(Utc::now(), t.external_due()),
                Err(e) => {
                    tracing::debug!("ticker: {}", redact(e));
                    TICK
                }
            }
        };
        tokio::select! {
            _ = stopped(&mut stop) => return,
            _ = tokio::time::sleep(nap) => {}
            // Events were evaluated: look again, though not sooner than a tick after this pass.
            _ = t.ctx.nudge.notified() => {
                let at = (passed + TICK).max(Instant::now());
                if nap_until(&mut stop, at).await {
                    return;
                }
            }
        }
    }
}

/// Sleeps until `at` unless the session is told to stop first (then `true`).
async fn nap_until(stop: &mut watch::Receiver<bool>, at: Instant) -> bool {
    tokio::select! {
        _ = stopped(stop) => true,
        _ = tokio::time::sleep_until(at.into()) => false,
    }
}

impl Ticker {
    /// One pass: time-driven transitions, the external states and quota when due, repeats and
    /// digests.
    async fn pass(&mut self) {
        let ctx = self.ctx.clone();
        let s = &ctx.settings;
        if self.store.is_none() {
            match state_store(&ctx).await {
                Ok(st) => self.store = Some(st),
                Err(e) => tracing::warn!("alert state: {}", redact(e)),
            }
        }
        let Some(mut store) = self.store.take() else {
            return;
        };
        let now = Utc::now();
        let mut found = Vec::new();
        if s.rules.error_rate.enabled {
            match self.er.tick(now).await {
                Ok(a) => {
                    metrics::rule_evaluated(Rule::ErrorRate);
                    found.extend(a)
                }
                Err(e) => tracing::warn!("error-rate tick: {}", redact(e)),
            }
        }
        if s.rules.breaker.enabled {
            match self.br.tick(now).await {
                Ok(a) => {
                    metrics::rule_evaluated(Rule::Breaker);
                    found.extend(a)
                }
                Err(e) => tracing::warn!("breaker tick: {}", redact(e)),
            }
            if self.last_watch.is_none_or(|t| t.elapsed() >= WATCH_EVERY) {
                self.last_watch = Some(Instant::now());
                match super::watched::watch_external(&ctx, &self.br).await {
                    Ok(a) => found.extend(a),
                    Err(e) => tracing::warn!("breaker watch: {}", redact(e)),
                }
            }
        }
        if s.rules.quota.enabled
            && self
                .last_quota
                .is_none_or(|t| t.elapsed() >= quota_every(&ctx))
        {
            self.last_quota = Some(Instant::now());
            match run_quota(&ctx, &mut self.quota_store).await {
                Ok(a) => {
                    metrics::rule_evaluated(Rule::Quota);
                    found.extend(a)
                }
                Err(e) => tracing::warn!("quota: {}", redact(e)),
            }
        }
        metrics::alerts_found(&found);
        if let Err(e) = alerts::dispatch(&ctx, &mut store, found, now).await {
            tracing::warn!("queueing alerts: {}", redact(e));
        }
        if let Err(e) = alerts::chores(&ctx, &mut store, now).await {
            tracing::warn!("repeats and digests: {}", redact(e));
        }
        self.store = Some(store);
    }

    /// How long until the external states or quota are next read (`None`: never, here).
    fn external_due(&self) -> Option<Duration> {
        let s = &self.ctx.settings;
        if !crate::source::open(s).reads_store() {
            return None;
        }
        let left = |last: Option<Instant>, every: Duration| {
            last.map_or(Duration::ZERO, |t| every.saturating_sub(t.elapsed()))
        };
        let b = &s.rules.breaker;
        let watch = (b.enabled && (b.watch_accounts || b.watch_cch))
            .then(|| left(self.last_watch, WATCH_EVERY));
        let quota = s
            .rules
            .quota
            .enabled
            .then(|| left(self.last_quota, quota_every(&self.ctx)));
        watch.into_iter().chain(quota).min()
    }

    /// What can change with time alone, read in one round trip.
    async fn pending(&self) -> Result<Pending, JobError> {
        let s = &self.ctx.settings;
        let mut con = self.ctx.outbox.connection().clone();
        let policy = RepeatPolicy::from_settings(&s.alerts);
        let p = crate::store::pending::read(&mut con, &s.state.prefix, policy.interval.is_some())
            .await
            .map_err(|e| JobError::Other(e.to_string()))?;
        Ok(Pending {
            changing: (s.rules.error_rate.enabled && p.firing > 0)
                || (s.rules.breaker.enabled && p.open_breakers > 0),
            next_digest: p.next_digest,
            next_repeat: next_repeat(&p.records, policy),
        })
    }
}

fn quota_every(ctx: &Context) -> Duration {
    Duration::from_secs(60 * ctx.settings.rules.quota.interval_minutes as u64)
}

/// What the ticker may have to do with time alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pending {
    /// An error-rate alert is firing or a breaker is not closed: their time-driven transitions
    /// (resolve, half-open, a report held by the cooldown) are looked at every tick.
    changing: bool,
    /// The earliest digest release.
    next_digest: Option<DateTime<Utc>>,
    /// The earliest repeat of a firing alert.
    next_repeat: Option<DateTime<Utc>>,
}

impl Pending {
    /// How long the ticker may sleep at `now` (pure): a tick while something is changing, else
    /// until the next digest, repeat or external read (`external`), at most [`IDLE_NAP`].
    fn nap(&self, now: DateTime<Utc>, external: Option<Duration>) -> Duration {
        if self.changing {
            return TICK;
        }
        let until = |t: DateTime<Utc>| (t - now).to_std().unwrap_or(Duration::ZERO);
        [
            self.next_digest.map(until),
            self.next_repeat.map(until),
            external,
        ]
        .into_iter()
        .flatten()
        .fold(IDLE_NAP, Duration::min)
        // Past the due time by a hair, so the pass finds it due.
        .saturating_add(Duration::from_millis(5))
    }
}

/// The earliest time one of `records` repeats under `policy` (pure; the rule of `due_repeats`).
fn next_repeat(records: &[AlertRecord], policy: RepeatPolicy) -> Option<DateTime<Utc>> {
    let interval = policy.interval?;
    records
        .iter()
        .filter(|r| r.state == AlertState::Firing && r.rule != RuleKind::Quota)
        .filter(|r| r.repeats < policy.max_repeats)
        .map(|r| r.last_sent + interval)
        .min()
}

async fn run_quota(ctx: &Context, store: &mut Option<QuotaStore>) -> Result<Vec<Alert>, JobError> {
    let relay = crate::source::open(&ctx.settings);
    if !relay.reads_store() {
        return Ok(Vec::new());
    }
    if store.is_none() {
        let state = state_redis_url(&ctx.settings).unwrap_or_default();
        let conn = redis_io::connect(state, timeout(ctx)).await?;
        *store = Some(QuotaStore::new(conn, ctx.settings.state.prefix.clone()));
    }
    let store = store.as_mut().expect("just set");
    Ok(super::quota::run_once(&relay, store, &ctx.settings, Utc::now()).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::messages::BreakerAlert;
    use crate::rules::alert_state::apply;
    use crate::rules::AlertPayload;
    use chrono::TimeZone;

    fn at(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + s, 0).unwrap()
    }

    fn record(rule: RuleKind, state: AlertState, sent: i64) -> AlertRecord {
        let alert = Alert {
            rule,
            subject: "provider:3".into(),
            state,
            episode: "1".into(),
            first_seen: at(0),
            at: at(sent),
            payload: AlertPayload::Breaker(BreakerAlert {
                subject: "provider:3".into(),
                failures: 5,
                expected_recovery: None,
                last_error: None,
                name: None,
            }),
        };
        apply(None, &alert, at(sent))
    }

    #[test]
    fn the_ticker_ticks_while_something_changes_and_else_sleeps_until_the_next_due_thing() {
        let quiet = Pending {
            changing: false,
            next_digest: None,
            next_repeat: None,
        };
        assert_eq!(quiet.nap(at(0), None), IDLE_NAP + Duration::from_millis(5));
        let firing = Pending {
            changing: true,
            ..quiet
        };
        assert_eq!(firing.nap(at(0), None), TICK);
        let digest = Pending {
            next_digest: Some(at(12)),
            next_repeat: Some(at(20)),
            ..quiet
        };
        assert_eq!(digest.nap(at(0), None), Duration::from_millis(12_005));
        assert_eq!(
            digest.nap(at(0), Some(Duration::from_secs(3))),
            Duration::from_millis(3_005)
        );
        // Overdue: at once.
        assert_eq!(digest.nap(at(30), None), Duration::from_millis(5));
    }

    #[test]
    fn the_next_repeat_follows_the_repeat_rule() {
        let policy = RepeatPolicy {
            interval: Some(chrono::Duration::minutes(30)),
            max_repeats: 2,
        };
        let firing = record(RuleKind::Breaker, AlertState::Firing, 100);
        let later = record(RuleKind::ErrorRate, AlertState::Firing, 500);
        let resolved = record(RuleKind::Breaker, AlertState::Resolved, 0);
        let quota = record(RuleKind::Quota, AlertState::Firing, 0);
        let mut spent = record(RuleKind::Breaker, AlertState::Firing, 0);
        spent.repeats = 2;
        let all = [later, resolved, quota, spent, firing.clone()];
        assert_eq!(next_repeat(&all, policy), Some(at(100 + 1800)));
        // The pure rule agrees: due then, not a second before.
        let due =
            crate::rules::alert_state::due_repeats(std::slice::from_ref(&firing), policy, at(1900));
        assert_eq!(due.len(), 1);
        assert!(crate::rules::alert_state::due_repeats(&[firing], policy, at(1899)).is_empty());
        let never = RepeatPolicy {
            interval: None,
            max_repeats: 2,
        };
        assert_eq!(next_repeat(&all, never), None);
    }
}
