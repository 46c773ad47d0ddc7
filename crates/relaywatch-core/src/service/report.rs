//! The dashboard report and the test message for one-shot commands (`snapshot`, `report --once`,
//! `test`): a snapshot as of a given moment, its text summary, the report's files written to a
//! folder, the message each channel is sent (in its language), and the tray's "Send report
//! now" queued for the daemon. Rule: the same builders the daemon's schedules use; each
//! language's report is drawn once.

use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset, Utc};

use super::send_now::Outgoing;
use super::ServiceError;
use crate::config::{Lang, Settings};
use crate::delivery::drain::outbox_config;
use crate::delivery::envelope::Envelope;
use crate::delivery::outbox::{system_now_ms, Outbox};
use crate::error::Error;
use crate::model::Snapshot;
use crate::pricing::Pricing;
use crate::render::message::Message;
use crate::render::{bundle, markdown};
use crate::source::{self, ReadRequest};

/// A snapshot of the configured source as of `now` (the relay's data, priced).
pub async fn snapshot_at(s: &Settings, now: DateTime<Utc>) -> Result<Snapshot, Error> {
    let pricing = match &s.source.pricing_file {
        Some(p) => Pricing::from_file(Path::new(p))?,
        None => Pricing::bundled(),
    };
    source::take_snapshot(s, &pricing, ReadRequest::from_settings(s, now)).await
}

/// The report's text without charts (what `relaywatch snapshot` prints).
pub fn summary_text(snap: &Snapshot, lang: Lang) -> String {
    markdown::render(&crate::render::messages::report(snap, Vec::new(), lang))
}

/// Writes report.md, snapshot.json and the charts into `out`; returns the files' paths.
pub fn write_files(s: &Settings, snap: &Snapshot, out: &Path) -> Result<Vec<PathBuf>, Error> {
    let files = bundle::build(snap, &s.report, s.report.lang)?;
    bundle::write_to(out, &files)?;
    Ok(files.iter().map(|f| out.join(&f.name)).collect())
}

/// The report for each of `channels`, each in its channel's language, keyed for the outbox as
/// `report:once:<now>:<channel>` and for a direct send as `report:dashboard:<taken>:<channel>`.
pub fn report_outgoing(
    s: &Settings,
    snap: &Snapshot,
    channels: Vec<String>,
    now: DateTime<Utc>,
) -> Result<Vec<Outgoing>, Error> {
    let mut drawn: Vec<(Lang, Message)> = Vec::new();
    let mut out = Vec::with_capacity(channels.len());
    for name in channels {
        let lang = s.channel_lang(&name);
        let message = match drawn.iter().find(|(l, _)| *l == lang) {
            Some((_, m)) => m.clone(),
            None => {
                let m = bundle::report_message(snap, &s.report, lang)?;
                drawn.push((lang, m.clone()));
                m
            }
        };
        out.push(Outgoing {
            key: format!("report:once:{}:{name}", now.to_rfc3339()),
            direct_id: format!("report:dashboard:{}:{name}", snap.generated_at.to_rfc3339()),
            channel: name,
            message,
        });
    }
    Ok(out)
}

/// The offset the relay's times are shown in (`[source] timezone_offset_hours`).
pub fn display_offset(s: &Settings) -> FixedOffset {
    FixedOffset::east_opt(s.source.timezone_offset_hours.clamp(-12, 14) * 3600)
        .unwrap_or_else(|| FixedOffset::east_opt(0).expect("UTC"))
}

/// The test message for `channel` in `lang` (else the channel's language), stamped `now`.
pub fn test_message(
    s: &Settings,
    channel: &str,
    lang: Option<Lang>,
    now: DateTime<Utc>,
) -> Message {
    let lang = lang.unwrap_or_else(|| s.channel_lang(channel));
    let at = now.with_timezone(&display_offset(s));
    crate::render::messages::test_message(channel, at, lang)
}

/// The test message for each of `channels`, keyed `test:<ms>:<channel>` for the outbox and
/// `test:<channel>:<ms>` for a direct send.
pub fn test_outgoing(
    s: &Settings,
    channels: Vec<String>,
    lang: Option<Lang>,
    now: DateTime<Utc>,
) -> Vec<Outgoing> {
    let ms = now.timestamp_millis();
    channels
        .into_iter()
        .map(|name| Outgoing {
            message: test_message(s, &name, lang, now),
            key: format!("test:{ms}:{name}"),
            direct_id: format!("test:{name}:{ms}"),
            channel: name,
        })
        .collect()
}

/// A snapshot of the configured source as of `now`, read on a blocking thread: the future is
/// `Send` (for a GUI's runtime) and a long read holds no async worker.
pub async fn snapshot_off_thread(
    s: &Settings,
    now: DateTime<Utc>,
) -> Result<Snapshot, crate::daemon::jobs::JobError> {
    crate::daemon::jobs::snapshot(s, now).await
}

/// Queues the report for `channel` (in its language) now, keyed `report:desktop:<ms>:<channel>`;
/// the daemon's sender delivers it. The tray's "Send report now".
pub async fn queue_report(
    s: &Settings,
    channel: &str,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let url = crate::store::state_redis_url(s).ok_or_else(|| {
        ServiceError::State(
            "sending needs the outbox in a state Redis: set [state] redis_url".into(),
        )
    })?;
    let timeout = std::time::Duration::from_millis(s.source.connect_timeout_ms);
    let outbox = Outbox::connect(url, timeout, outbox_config(s))
        .await
        .map_err(|e| ServiceError::State(redacted(e)))?;
    let snap = snapshot_off_thread(s, now)
        .await
        .map_err(|e| ServiceError::Source(redacted(e)))?;
    let msg = bundle::report_message(&snap, &s.report, s.channel_lang(channel))
        .map_err(|e| ServiceError::Source(redacted(e)))?;
    let key = format!("report:desktop:{}:{channel}", now.timestamp_millis());
    let item = Envelope::new(channel, &msg).item(key);
    outbox
        .enqueue(&item, system_now_ms())
        .await
        .map_err(|e| ServiceError::State(redacted(e)))?;
    Ok(())
}

fn redacted(e: impl std::fmt::Display) -> String {
    crate::secrets::redact(&e.to_string())
}
