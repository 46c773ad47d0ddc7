//! The daemon: scheduler, rules, event consumer and outbox sender running together against
//! relaywatch's Redis, under a supervisor that survives Redis outages. A session is everything
//! that runs while Redis answers; when Redis stops answering the session is wound down (claims
//! released, nothing fired or resolved on a failed read), health says so, and a new session
//! starts as soon as Redis is back (reconnect backoff capped at 5 s). Shutdown is injected.

pub mod alerts;
pub mod jobs;
pub mod leaderboard;
pub mod quota;
pub mod rules_loop;
pub mod scheduler;
pub mod status;
pub mod tail_loop;
pub mod watched;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::config::Settings;
use crate::delivery::drain::{outbox_config, DeliverFuture, Deliverer};
use crate::delivery::outbox::{Item, Outbox};
use crate::secret_store::SecretStore;
use crate::source::mask_url;
pub use crate::store::state_redis_url;

pub use status::{Health, LastDelivery, NextFire, RedisState, StatusBoard};

/// Why the daemon could not start at all (outages after start are survived, not returned).
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("relaywatch run keeps its outbox and alert state in Redis, and none is configured: set [state] redis_url (or [source] redis_url) to a redis:// URL")]
    NoStateRedis,
}

/// Knobs that tests turn; the defaults are what operators get.
#[derive(Debug, Clone)]
pub struct DaemonOptions {
    /// This instance's name (consumer name, fire-lock owner): `host-pid` by default.
    pub instance: String,
    /// How often Redis is pinged and the outbox depth read.
    pub watch_every: Duration,
    /// Pings missed in a row before the session is declared lost.
    pub missed_pings: u32,
    /// Longest wait between reconnect attempts.
    pub reconnect_cap: Duration,
    /// Told of every alert transition the rules produce while alerts are not paused, whether
    /// or not a channel takes it (the desktop app mirrors them as native notifications).
    pub alert_observer: Option<tokio::sync::broadcast::Sender<crate::rules::Alert>>,
}

impl Default for DaemonOptions {
    fn default() -> Self {
        DaemonOptions {
            instance: default_instance(),
            // A ping every 2 s: a frozen Redis is noticed within about 4 s, at an idle cost of
            // a few milliseconds of CPU a minute.
            watch_every: Duration::from_secs(2),
            missed_pings: 2,
            reconnect_cap: Duration::from_secs(5),
            alert_observer: None,
        }
    }
}

/// `hostname-pid`, the default instance name.
pub fn default_instance() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "relaywatch".into());
    format!("{host}-{}", std::process::id())
}

/// What one session needs, shared by its loops.
pub struct Context {
    pub settings: Arc<Settings>,
    pub status: StatusBoard,
    pub options: DaemonOptions,
    pub outbox: Outbox,
    /// Sends one claimed outbox item through its channel and says how it went.
    pub deliver: DeliverFn,
    /// Told after each batch of events: the rules' ticker looks again.
    pub nudge: tokio::sync::Notify,
    /// `[events] database_url` resolved (`source = "ezapi"`), or why it could not be.
    pub events_db: Option<Result<crate::secrets::Secret, String>>,
}

/// `[events] database_url` resolved through the secret store (`None` when not set).
fn events_db(
    settings: &Settings,
    secrets: &SecretStore,
) -> Option<Result<crate::secrets::Secret, String>> {
    let (url, ..) = crate::events::table::table_of(settings)?;
    Some(
        secrets
            .resolve_url(url?)
            .map_err(|e| format!("the request table's database_url: {e}")),
    )
}

/// The sender callback, shared by the session's sender loop.
pub type DeliverFn = Arc<dyn Fn(Item) -> DeliverFuture + Send + Sync>;

/// Whether the daemon can run on `settings` at all (pure): it needs a state Redis. A config
/// reload that fails this is refused like an invalid config, so the running daemon stays.
pub fn can_run(settings: &Settings) -> Result<(), DaemonError> {
    state_redis_url(settings)
        .map(|_| ())
        .ok_or(DaemonError::NoStateRedis)
}

/// Runs until `shutdown` resolves. Returns an error only when it cannot run at all.
pub async fn run(
    settings: Settings,
    secrets: SecretStore,
    status: StatusBoard,
    options: DaemonOptions,
    shutdown: impl Future<Output = ()>,
) -> Result<(), DaemonError> {
    can_run(&settings)?;
    crate::metrics::channels_configured(settings.channels.iter().map(|c| c.name.as_str()));
    let url = state_redis_url(&settings).unwrap_or_default().to_string();
    status.set_standby(!settings.alerts.enabled);
    if !settings.alerts.enabled {
        tracing::warn!("standing by: [alerts] enabled = false (or DASHBOARD_WEBHOOK_ENABLE is not true); nothing is sent");
    }
    let events_db = events_db(&settings, &secrets);
    let deliverer = Arc::new(Deliverer::new(settings.clone(), secrets));
    let deliver: DeliverFn = Arc::new(deliverer.callback());
    let settings = Arc::new(settings);
    tokio::pin!(shutdown);
    let mut failures: u32 = 0;
    loop {
        let timeout = Duration::from_millis(settings.source.connect_timeout_ms);
        let cfg = outbox_config(&settings);
        let connected = tokio::select! {
            _ = &mut shutdown => return Ok(()),
            r = Outbox::connect(&url, timeout, cfg) => r,
        };
        match connected {
            Ok(outbox) => {
                failures = 0;
                status.redis_up(Utc::now());
                tracing::info!("connected to {}", mask_url(&url));
                let ctx = Arc::new(Context {
                    settings: settings.clone(),
                    status: status.clone(),
                    options: options.clone(),
                    outbox,
                    deliver: deliver.clone(),
                    nudge: tokio::sync::Notify::new(),
                    events_db: events_db.clone(),
                });
                let ended = session(ctx, &mut shutdown).await;
                match ended {
                    SessionEnd::Shutdown => return Ok(()),
                    SessionEnd::Lost(reason) => {
                        tracing::warn!("lost Redis ({reason}); reconnecting");
                        status.redis_down(&reason, Utc::now());
                    }
                }
            }
            Err(e) => {
                let reason = crate::secrets::redact(&e.to_string());
                if failures == 0 {
                    tracing::warn!("{reason}; retrying every few seconds");
                }
                status.redis_down(&reason, Utc::now());
                failures = failures.saturating_add(1);
            }
        }
        let wait = reconnect_delay(failures, options.reconnect_cap);
        tokio::select! {
            _ = &mut shutdown => return Ok(()),
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

/// 250 ms, 500 ms, 1 s, 2 s, 4 s, then the cap (5 s).
pub fn reconnect_delay(failures: u32, cap: Duration) -> Duration {
    let ms = 250u64.saturating_mul(1u64 << failures.min(10));
    Duration::from_millis(ms).min(cap)
}

enum SessionEnd {
    Shutdown,
    Lost(String),
}

/// One connected session: every loop runs until shutdown or until the watchdog declares Redis
/// lost; then each loop is told to stop and awaited (the sender finishes or releases claims).
async fn session(
    ctx: Arc<Context>,
    shutdown: &mut std::pin::Pin<&mut impl Future<Output = ()>>,
) -> SessionEnd {
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks: JoinSet<()> = JoinSet::new();
    // The global switch off ([alerts] enabled = false, or the seed's
    // DASHBOARD_WEBHOOK_ENABLE not true): stand by — watch Redis, send nothing, fire nothing.
    let jobs = if ctx.settings.alerts.enabled {
        loops::all()
    } else {
        Vec::new()
    };
    for job in jobs {
        let ctx = ctx.clone();
        let stop = stop_rx.clone();
        tasks.spawn(async move { job(ctx, stop).await });
    }
    let end = tokio::select! {
        _ = shutdown.as_mut() => SessionEnd::Shutdown,
        reason = watchdog(&ctx) => SessionEnd::Lost(reason),
    };
    // Say so at once: winding down may take a moment while loops time out on Redis.
    let limit = match &end {
        SessionEnd::Lost(reason) => {
            ctx.status.redis_down(reason, Utc::now());
            WIND_DOWN_LOST
        }
        SessionEnd::Shutdown => WIND_DOWN_SHUTDOWN,
    };
    let _ = stop_tx.send(true);
    let wind_down = async {
        while let Some(r) = tasks.join_next().await {
            if let Err(e) = r {
                tracing::error!("a daemon loop ended abnormally: {e}");
            }
        }
    };
    if tokio::time::timeout(limit, wind_down).await.is_err() {
        tracing::warn!(
            "loops still busy after {} s; stopping them (their outbox claims lapse and are taken over)",
            limit.as_secs()
        );
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
    }
    end
}

/// How long loops get to finish once Redis is lost (their calls can only time out).
const WIND_DOWN_LOST: Duration = Duration::from_secs(3);
/// How long deliveries in flight get to finish on shutdown (an attempt is cut off at 80 % of
/// the 30 s lease anyway).
const WIND_DOWN_SHUTDOWN: Duration = Duration::from_secs(30);

/// Pings Redis and reads the outbox depth every `watch_every`; returns the reason once
/// `missed_pings` pings in a row have failed.
async fn watchdog(ctx: &Context) -> String {
    let mut missed = 0;
    let mut tick = tokio::time::interval(ctx.options.watch_every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let probe =
            tokio::time::timeout(ctx.options.watch_every.max(Duration::from_secs(1)), async {
                ctx.outbox.stats().await
            })
            .await;
        match probe {
            Ok(Ok(stats)) => {
                missed = 0;
                ctx.status.redis_up(Utc::now());
                ctx.status.outbox_depth(stats.due + stats.claimed);
                crate::metrics::outbox(stats.due + stats.claimed, stats.dead);
            }
            Ok(Err(e)) => {
                missed += 1;
                if missed >= ctx.options.missed_pings {
                    return crate::secrets::redact(&e.to_string());
                }
            }
            Err(_) => {
                missed += 1;
                if missed >= ctx.options.missed_pings {
                    return "Redis did not answer a ping in time".into();
                }
            }
        }
    }
}

/// A stop signal a loop can await: resolves once the session is told to stop.
pub async fn stopped(stop: &mut watch::Receiver<bool>) {
    while !*stop.borrow() {
        if stop.changed().await.is_err() {
            return;
        }
    }
}

pub mod loops;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconnect_backoff_is_capped_at_five_seconds() {
        let cap = Duration::from_secs(5);
        assert_eq!(reconnect_delay(0, cap), Duration::from_millis(250));
        assert_eq!(reconnect_delay(2, cap), Duration::from_secs(1));
        assert_eq!(reconnect_delay(4, cap), Duration::from_secs(4));
        assert_eq!(reconnect_delay(5, cap), cap);
        assert_eq!(reconnect_delay(u32::MAX, cap), cap);
    }
}
