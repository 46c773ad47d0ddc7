//! The alert rules as daemon loops. `events`: read the event stream through the consumer group,
//! evaluate error-rate and breaker on each batch, queue the transitions, then ack — so an
//! instance killed mid-batch leaves its entries pending for another to reclaim. `ticker`: what
//! changes with time alone — error-rate resolves, breaker half-open, repeats, digests — plus the
//! periodic reads: CRS account states and Claude Code Hub breakers every 30 s, quota every
//! `interval_minutes`. A failed read is logged and skipped: it neither fires nor resolves.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::sync::watch;

use super::alerts;
use super::jobs::{off_thread, JobError};
use super::{stopped, Context};
use crate::config::SourceKindSetting;
use crate::delivery::drain::state_redis_url;
use crate::events::stream::{self, StreamConfig, StreamConsumer};
use crate::metrics::{self, Rule};
use crate::rules::alert_state::AlertStateStore;
use crate::rules::breaker::{self, BreakerRule};
use crate::rules::error_rate::ErrorRateRule;
use crate::rules::quota::{self, QuotaStore};
use crate::rules::Alert;
use crate::source::{cch, crs::CrsReader, raw::Warnings, redis_io};
use crate::tz::RelayTz;

/// How often the ticker looks at time-driven transitions, repeats and digests.
const TICK: Duration = Duration::from_secs(2);
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

async fn state_store(ctx: &Context) -> Result<AlertStateStore, JobError> {
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
    if !r.error_rate.enabled && !r.breaker.enabled {
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
            b = consumer.next_batch(Duration::from_secs(1)) => b.map_err(|e| JobError::Other(e.to_string()))?,
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
    }
}

pub async fn ticker(ctx: Arc<Context>, mut stop: watch::Receiver<bool>) {
    let s = ctx.settings.clone();
    let prefix = s.state.prefix.clone();
    let state = ctx.outbox.connection().clone();
    let er = ErrorRateRule::new(state.clone(), s.rules.error_rate.clone(), &prefix);
    let br = BreakerRule::new(state, s.rules.breaker.clone(), &prefix);
    let mut store: Option<AlertStateStore> = None;
    let mut quota_store: Option<QuotaStore> = None;
    let mut last_watch: Option<Instant> = None;
    let mut last_quota: Option<Instant> = None;
    let quota_every = Duration::from_secs(60 * s.rules.quota.interval_minutes as u64);
    loop {
        if store.is_none() {
            match state_store(&ctx).await {
                Ok(st) => store = Some(st),
                Err(e) => tracing::warn!("alert state: {}", redact(e)),
            }
        }
        if let Some(store) = store.as_mut() {
            let now = Utc::now();
            let mut found = Vec::new();
            if s.rules.error_rate.enabled {
                match er.tick(now).await {
                    Ok(a) => {
                        metrics::rule_evaluated(Rule::ErrorRate);
                        found.extend(a)
                    }
                    Err(e) => tracing::warn!("error-rate tick: {}", redact(e)),
                }
            }
            if s.rules.breaker.enabled {
                match br.tick(now).await {
                    Ok(a) => {
                        metrics::rule_evaluated(Rule::Breaker);
                        found.extend(a)
                    }
                    Err(e) => tracing::warn!("breaker tick: {}", redact(e)),
                }
                if last_watch.is_none_or(|t| t.elapsed() >= WATCH_EVERY) {
                    last_watch = Some(Instant::now());
                    match watch_external(&ctx, &br).await {
                        Ok(a) => found.extend(a),
                        Err(e) => tracing::warn!("breaker watch: {}", redact(e)),
                    }
                }
            }
            if s.rules.quota.enabled && last_quota.is_none_or(|t| t.elapsed() >= quota_every) {
                last_quota = Some(Instant::now());
                match run_quota(&ctx, &mut quota_store).await {
                    Ok(a) => {
                        metrics::rule_evaluated(Rule::Quota);
                        found.extend(a)
                    }
                    Err(e) => tracing::warn!("quota: {}", redact(e)),
                }
            }
            metrics::alerts_found(&found);
            if let Err(e) = alerts::dispatch(&ctx, store, found, now).await {
                tracing::warn!("queueing alerts: {}", redact(e));
            }
            if let Err(e) = alerts::chores(&ctx, store, now).await {
                tracing::warn!("repeats and digests: {}", redact(e));
            }
        }
        if nap(&mut stop, TICK).await {
            return;
        }
    }
}

fn crs_url(ctx: &Context) -> Option<String> {
    let s = &ctx.settings.source;
    (s.effective_kind() == SourceKindSetting::Crs)
        .then(|| s.redis_url.clone())
        .flatten()
}

/// CRS account states and CCH breaker hashes, diffed against what was seen before.
async fn watch_external(ctx: &Context, br: &BreakerRule) -> Result<Vec<Alert>, JobError> {
    let Some(url) = crs_url(ctx) else {
        return Ok(Vec::new());
    };
    let cfg = &ctx.settings.rules.breaker;
    let t = timeout(ctx);
    let now = Utc::now();
    let mut out = Vec::new();
    if cfg.watch_accounts {
        let u = url.clone();
        let accounts = off_thread("a reader task", move || async move {
            let mut reader = CrsReader::connect(&u, t).await?;
            let mut w = Warnings::default();
            Ok(reader.accounts(&mut w).await?)
        })
        .await;
        metrics::source_redis(accounts.is_ok());
        let accounts = accounts?;
        let states = breaker::account_states(&accounts, now);
        out.extend(
            br.watch("accounts", &states, now)
                .await
                .map_err(|e| JobError::Other(e.to_string()))?,
        );
    }
    if cfg.watch_cch {
        let u = url.clone();
        let breakers = off_thread("a reader task", move || async move {
            let mut conn = redis_io::connect(&u, t).await?;
            let mut w = Warnings::default();
            Ok(cch::read_breakers(&mut conn, &mut w).await?)
        })
        .await;
        metrics::source_redis(breakers.is_ok());
        let breakers = breakers?;
        let states = breaker::cch_states(&breakers);
        out.extend(
            br.watch("cch", &states, now)
                .await
                .map_err(|e| JobError::Other(e.to_string()))?,
        );
    }
    Ok(out)
}

async fn run_quota(ctx: &Context, store: &mut Option<QuotaStore>) -> Result<Vec<Alert>, JobError> {
    let Some(url) = crs_url(ctx) else {
        return Ok(Vec::new());
    };
    if store.is_none() {
        let state = state_redis_url(&ctx.settings).unwrap_or_default();
        let conn = redis_io::connect(state, timeout(ctx)).await?;
        *store = Some(QuotaStore::new(conn, ctx.settings.state.prefix.clone()));
    }
    let store = store.as_mut().expect("just set");
    let source = redis_io::connect(&url, timeout(ctx)).await;
    metrics::source_redis(source.is_ok());
    let mut source = source?;
    let tz = RelayTz::from_config(ctx.settings.source.timezone_offset_hours);
    Ok(quota::run_once(
        &mut source,
        store,
        &ctx.settings.rules.quota,
        Utc::now(),
        tz,
    )
    .await?)
}
