//! From rule transitions to outbox items: every `Alert` goes through the alert policy (global
//! switch, pause, silences, routing, quiet hours), each channel's copy is rendered in that
//! channel's language and queued under the alert's idempotency key, copies held for quiet hours
//! wait in the digest, and the alert's record is kept for repeats. Also the periodic chores of
//! that policy: repeats of alerts still firing and digests whose quiet hours are over.

use chrono::{DateTime, Utc};

use super::jobs::{JobError, Queued};
use super::Context;
use crate::delivery::envelope::Envelope;
use crate::delivery::outbox::{system_now_ms, Enqueued};
use crate::rules::alert_state::{
    digest_key, digest_message, route, AlertPolicyInput, Delivery, RepeatPolicy,
};
use crate::rules::Alert;
use crate::store::alert_state::AlertStateStore;
use crate::tz::RelayTz;

fn tz(ctx: &Context) -> chrono::FixedOffset {
    RelayTz::from_config(ctx.settings.source.timezone_offset_hours).offset()
}

async fn enqueue(
    ctx: &Context,
    channel: &str,
    key: String,
    msg: &crate::render::message::Message,
    queued: &mut Queued,
) -> Result<(), JobError> {
    let item = Envelope::new(channel, msg).item(key);
    match ctx.outbox.enqueue(&item, system_now_ms()).await? {
        Enqueued::Queued(_) => queued.new += 1,
        Enqueued::Duplicate(_) => queued.duplicate += 1,
    }
    Ok(())
}

/// Routes and queues `alerts` (transitions from the rules, or repeats).
pub async fn dispatch(
    ctx: &Context,
    store: &mut AlertStateStore,
    alerts: Vec<Alert>,
    now: DateTime<Utc>,
) -> Result<Queued, JobError> {
    let mut queued = Queued::default();
    if alerts.is_empty() {
        return Ok(queued);
    }
    let paused = store.paused_until(now).await?;
    let silences = store.silences(now).await?;
    let input = AlertPolicyInput::from_settings(&ctx.settings, paused, silences);
    let tz = tz(ctx);
    for alert in alerts {
        if let (Some(tx), None) = (&ctx.options.alert_observer, paused) {
            let _ = tx.send(alert.clone());
        }
        let out = route(&alert, &input, now);
        for why in &out.suppressed {
            tracing::info!(
                "alert {}:{} not sent: {why:?}",
                alert.rule.as_str(),
                alert.subject
            );
        }
        for r in &out.routed {
            match &r.delivery {
                Delivery::Now => {
                    let msg = out.alert.message(ctx.settings.channel_lang(&r.channel), tz);
                    enqueue(
                        ctx,
                        &r.channel,
                        r.idempotency_key.clone(),
                        &msg,
                        &mut queued,
                    )
                    .await?;
                }
                Delivery::Digest { release_at } => {
                    store.hold(&r.channel, &out.alert, *release_at).await?;
                }
            }
        }
        // Kept whether or not it went out (no channel, paused, silenced): the dashboard and the
        // tray list what fires even when nothing is sent.
        store.record_sent(&out.alert, now).await?;
        tracing::info!(
            "alert {}:{} {:?} → {} channel(s)",
            out.alert.rule.as_str(),
            out.alert.subject,
            out.alert.state,
            out.routed.len()
        );
    }
    Ok(queued)
}

/// Repeats of still-firing alerts that are due, and digests whose quiet hours ended.
pub async fn chores(
    ctx: &Context,
    store: &mut AlertStateStore,
    now: DateTime<Utc>,
) -> Result<Queued, JobError> {
    let mut queued = Queued::default();
    let policy = RepeatPolicy::from_settings(&ctx.settings.alerts);
    if policy.interval.is_some() {
        let repeats = store.take_due_repeats(policy, now).await?;
        let q = dispatch(ctx, store, repeats, now).await?;
        queued.new += q.new;
        queued.duplicate += q.duplicate;
    }
    let tz = tz(ctx);
    for d in store.due_digests(now).await? {
        if !d.alerts.is_empty() {
            let msg = digest_message(&d.alerts, ctx.settings.channel_lang(&d.channel), tz, now);
            let key = digest_key(&d.channel, d.release_at);
            enqueue(ctx, &d.channel, key, &msg, &mut queued).await?;
        }
        store.ack_digest(&d).await?;
    }
    Ok(queued)
}
