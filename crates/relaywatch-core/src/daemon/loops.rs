//! The loops one daemon session runs side by side. Each takes the session's context and a stop
//! signal, survives its own errors (logs, waits, tries again) and returns promptly once told to
//! stop; none of them decides that Redis is gone (the watchdog does).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use tokio::sync::watch;

use super::{stopped, Context, LastDelivery};
use crate::delivery::drain::windows_for;
use crate::delivery::outbox::{self, SenderConfig, Verdict};

/// A loop, boxed so the session can hold them in one list.
pub type Loop = fn(Arc<Context>, watch::Receiver<bool>) -> Pin<Box<dyn Future<Output = ()> + Send>>;

/// Every loop of a session.
pub fn all() -> Vec<Loop> {
    vec![
        |c, s| Box::pin(sender(c, s)),
        |c, s| Box::pin(super::scheduler::run(c, s)),
        |c, s| Box::pin(super::rules_loop::events(c, s)),
        |c, s| Box::pin(super::rules_loop::ticker(c, s)),
        |c, s| Box::pin(super::tail_loop::table_events(c, s)),
    ]
}

/// Drains the outbox through the session's deliverer and notes each finished delivery on the
/// status board.
async fn sender(ctx: Arc<Context>, mut stop: watch::Receiver<bool>) {
    let deliver = ctx.deliver.clone();
    let status = ctx.status.clone();
    let attempts = ctx.settings.delivery.attempts;
    let stats = outbox::run(
        ctx.outbox.clone(),
        SenderConfig {
            windows: windows_for(&ctx.settings),
            ..SenderConfig::default()
        },
        move |item| {
            let deliver = deliver.clone();
            let status = status.clone();
            async move {
                let channel = item.channel.clone();
                let kind = item.kind.clone();
                let tries = item.attempts + 1;
                let result = deliver(item).await;
                let finished = match &result.verdict {
                    Verdict::Delivered => Some(true),
                    Verdict::Fail => Some(false),
                    Verdict::Retry { .. } => (tries >= attempts).then_some(false),
                };
                if let Some(delivered) = finished {
                    status.delivered(LastDelivery {
                        at: Utc
                            .timestamp_millis_opt(outbox::system_now_ms() as i64)
                            .single()
                            .unwrap_or_else(Utc::now),
                        channel,
                        kind,
                        delivered,
                    });
                }
                result
            }
        },
        async move { stopped(&mut stop).await },
    )
    .await;
    tracing::debug!("sender stopped: {stats:?}");
}
