//! The scheduler loop: for each schedule, ask the pure catch-up rule which fire is due, take
//! that fire's lock in Redis (one instance wins), queue the message, then record the fire as
//! the job's last. A fire whose work failed (relay Redis unreachable, say) releases its lock and
//! is tried again on the next pass while it is still within its grace window; it never counts
//! as sent. Wakes at the next fire and at least every 30 s, so a wall-clock jump (sleep,
//! suspend) is noticed.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use super::jobs::{self, JobError, Queued};
use super::{stopped, Context, NextFire};
use crate::config::schedules::{effective_schedules, Schedule, ScheduleKind};
use crate::render::messages;
use crate::rules::leaderboard;
use crate::schedule::{catchup, lock, system_tz};
use crate::tz::RelayTz;

/// Longest sleep between passes.
const MAX_NAP: Duration = Duration::from_secs(30);

pub async fn run(ctx: Arc<Context>, mut stop: watch::Receiver<bool>) {
    let schedules: Vec<Schedule> = effective_schedules(&ctx.settings, system_tz())
        .into_iter()
        .filter(|s| s.enabled && !s.channels.is_empty())
        .collect();
    if schedules.is_empty() {
        tracing::info!("no schedule to run");
        ctx.status.next_fires(Vec::new());
        stopped(&mut stop).await;
        return;
    }
    loop {
        let now = Utc::now();
        let mut next = Vec::new();
        for s in &schedules {
            if *stop.borrow() {
                return;
            }
            match pass(&ctx, s, now).await {
                Ok(Some(at)) => next.push(NextFire {
                    job: s.name.clone(),
                    at,
                }),
                Ok(None) => {}
                Err(e) => tracing::warn!(
                    "schedule {}: {}",
                    s.name,
                    crate::secrets::redact(&e.to_string())
                ),
            }
        }
        next.sort_by_key(|f| f.at);
        let nap = next
            .first()
            .map(|f| (f.at - Utc::now()).to_std().unwrap_or(Duration::ZERO))
            .unwrap_or(MAX_NAP)
            .min(MAX_NAP);
        ctx.status.next_fires(next);
        tokio::select! {
            _ = stopped(&mut stop) => return,
            _ = tokio::time::sleep(nap + Duration::from_millis(5)) => {}
        }
    }
}

/// One schedule's turn: fire what is due, settle what was missed; returns its next fire.
async fn pass(
    ctx: &Context,
    s: &Schedule,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, JobError> {
    let prefix = &ctx.settings.state.prefix;
    let mut con = ctx.outbox.connection().clone();
    let last = lock::last_fire(&mut con, prefix, &s.name)
        .await
        .map_err(|e| JobError::Other(e.to_string()))?;
    let due = catchup::due(&s.spec, s.tz, last, now, s.grace);
    if let Some(sk) = due.skipped {
        tracing::warn!(
            "schedule {}: {} missed fire(s) from {} to {} are older than the grace window and were skipped",
            s.name,
            sk.count,
            sk.oldest.with_timezone(&s.tz).format("%Y-%m-%d %H:%M %Z"),
            sk.newest.with_timezone(&s.tz).format("%Y-%m-%d %H:%M %Z"),
        );
    }
    if let Some(fire) = due.fire {
        let won = lock::try_fire(&mut con, prefix, &s.name, fire)
            .await
            .map_err(|e| JobError::Other(e.to_string()))?;
        if won {
            crate::metrics::rule_evaluated(s.kind);
            match fire_job(ctx, s, fire, now).await {
                Ok(q) => {
                    crate::metrics::schedule_fired(&s.name, s.kind.into());
                    tracing::info!(
                        "schedule {}: fire {} queued for {} channel(s) ({} already queued)",
                        s.name,
                        fire.to_rfc3339(),
                        q.new,
                        q.duplicate
                    )
                }
                Err(e) => {
                    let _ =
                        lock::release_fire(&mut con, prefix, &s.name, fire, lock::instance_id())
                            .await;
                    return Err(e);
                }
            }
        }
    }
    if let Some(settled) = due.settled_up_to() {
        if last.is_none_or(|l| settled > l) {
            lock::set_last_fire(&mut con, prefix, &s.name, settled)
                .await
                .map_err(|e| JobError::Other(e.to_string()))?;
        }
    }
    Ok(due.next)
}

async fn fire_job(
    ctx: &Context,
    s: &Schedule,
    fire: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Queued, JobError> {
    let key = format!("{}:{}:{}", s.kind.as_str(), s.name, fire.to_rfc3339());
    match s.kind {
        ScheduleKind::Report => {
            let snap = jobs::snapshot(&ctx.settings, now).await?;
            ctx.status.snapshot_taken(now);
            let built = jobs::build_messages(&ctx.settings, &s.channels, s.lang, |lang| {
                crate::render::bundle::report_message(&snap, &ctx.settings.report, lang)
                    .map_err(|e| JobError::Other(e.to_string()))
            })?;
            jobs::enqueue_per_channel(ctx, &s.channels, &key, s.lang, &built).await
        }
        ScheduleKind::Leaderboard => {
            let tz = RelayTz::from_config(ctx.settings.source.timezone_offset_hours);
            let relay = crate::source::open(&ctx.settings);
            let board = super::leaderboard::read(&relay, window(s), s.top, now).await?;
            let at = now.with_timezone(&tz.offset());
            let built = jobs::build_messages(&ctx.settings, &s.channels, s.lang, |lang| {
                Ok(messages::leaderboard(&board, at, lang))
            })?;
            jobs::enqueue_per_channel(ctx, &s.channels, &key, s.lang, &built).await
        }
    }
}

fn window(s: &Schedule) -> leaderboard::LeaderboardWindow {
    use crate::config::schedules::LeaderboardWindow as W;
    match s.window {
        W::CalendarDay => leaderboard::LeaderboardWindow::CalendarDay,
        W::Rolling24h => leaderboard::LeaderboardWindow::Rolling24h,
    }
}
