//! What the daemon does when something is due: build the message once per language and queue
//! it for each channel under an idempotency key, so an instance that fires late, or a second
//! instance that fires the same thing, queues nothing new. Never sends directly: the sender
//! loop delivers from the outbox.

use chrono::{DateTime, Utc};

use super::Context;
use crate::config::{Lang, Settings};
use crate::delivery::envelope::Envelope;
use crate::delivery::outbox::{system_now_ms, Enqueued, OutboxError};
use crate::pricing::Pricing;
use crate::render::message::Message;
use crate::source::{self, ReadRequest};
use crate::Snapshot;

/// Why a job queued nothing.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("reading the relay: {0}")]
    Source(#[from] crate::Error),
    #[error("queueing: {0}")]
    Outbox(#[from] OutboxError),
    #[error("{0}")]
    Other(String),
}

/// What a job queued.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Queued {
    pub new: usize,
    pub duplicate: usize,
}

/// The languages `channels` receive (each once), `lang` overriding every channel's when set.
pub fn langs_for(s: &Settings, channels: &[String], lang: Option<Lang>) -> Vec<Lang> {
    let mut langs: Vec<Lang> = Vec::new();
    for c in channels {
        let l = lang.unwrap_or_else(|| s.channel_lang(c));
        if !langs.contains(&l) {
            langs.push(l);
        }
    }
    langs
}

/// Builds the message once per language the channels need.
pub fn build_messages(
    s: &Settings,
    channels: &[String],
    lang: Option<Lang>,
    mut build: impl FnMut(Lang) -> Result<Message, JobError>,
) -> Result<Vec<(Lang, Message)>, JobError> {
    langs_for(s, channels, lang)
        .into_iter()
        .map(|l| Ok((l, build(l)?)))
        .collect()
}

/// Queues one message per channel, each under `<key_base>:<channel>`, in the channel's
/// language (`lang` overriding it when set); `built` comes from [`build_messages`].
pub async fn enqueue_per_channel(
    ctx: &Context,
    channels: &[String],
    key_base: &str,
    lang: Option<Lang>,
    built: &[(Lang, Message)],
) -> Result<Queued, JobError> {
    let mut queued = Queued::default();
    for channel in channels {
        let want = lang.unwrap_or_else(|| ctx.settings.channel_lang(channel));
        let Some((_, msg)) = built.iter().find(|(l, _)| *l == want) else {
            continue;
        };
        let item = Envelope::new(channel, msg).item(format!("{key_base}:{channel}"));
        match ctx.outbox.enqueue(&item, system_now_ms()).await? {
            Enqueued::Queued(_) => queued.new += 1,
            Enqueued::Duplicate(_) => queued.duplicate += 1,
        }
    }
    Ok(queued)
}

/// Takes a snapshot as of `now` with the configured source. The reader's future is not `Send`
/// (its pipelined strands borrow across awaits), so it runs on a blocking thread that drives
/// it with the daemon's runtime; the loops that call this stay `Send`.
pub async fn snapshot(s: &Settings, now: DateTime<Utc>) -> Result<Snapshot, JobError> {
    let settings = s.clone();
    off_thread("the snapshot task", move || async move {
        let pricing = match &settings.source.pricing_file {
            Some(p) => Pricing::from_file(p).map_err(|e| JobError::Other(e.to_string()))?,
            None => Pricing::bundled(),
        };
        let req = ReadRequest::from_settings(&settings, now);
        Ok(source::take_snapshot(&settings, &pricing, req).await?)
    })
    .await
}

/// Runs `f`'s future on a blocking thread with the current runtime's `block_on`: a long Redis
/// read (tens of thousands of keys) never holds an async worker, and a future that is not
/// `Send` (the CRS reader's) leaves its caller `Send`. `what` names it if the thread fails.
pub(crate) async fn off_thread<F, Fut, T>(what: &'static str, f: F) -> Result<T, JobError>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<T, JobError>>,
    T: Send + 'static,
{
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || handle.block_on(f()))
        .await
        .map_err(|e| JobError::Other(format!("{what} failed: {e}")))?
}
