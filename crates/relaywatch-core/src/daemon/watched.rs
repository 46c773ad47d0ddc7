//! The breaker watch over the states the relay keeps of its own accounts and breakers (CRS
//! accounts, Claude Code Hub's breaker hashes): the relay answers each group as plain
//! `ExternalState`s by subject, the store diffs it against what was seen before. Rule: every
//! group is read before any is compared, and a failed read returns its error first, so it
//! neither opens nor recovers a subject.

use chrono::Utc;

use super::jobs::{off_thread, JobError};
use super::Context;
use crate::model::WatchSet;
use crate::rules::Alert;
use crate::source::Relay;
use crate::store::breaker::BreakerRule;

/// The relay's watched states, diffed against what was seen before.
pub(super) async fn watch_external(
    ctx: &Context,
    br: &BreakerRule,
) -> Result<Vec<Alert>, JobError> {
    let cfg = &ctx.settings.rules.breaker;
    let what = WatchSet {
        accounts: cfg.watch_accounts,
        cch: cfg.watch_cch,
    };
    let settings = ctx.settings.clone();
    let now = Utc::now();
    let groups = off_thread("a reader task", move || async move {
        let relay = crate::source::open(&settings);
        if !relay.reads_store() {
            return Ok(Vec::new());
        }
        Ok(relay.watched(what, now).await?)
    })
    .await?;
    let mut out = Vec::new();
    for g in groups {
        out.extend(
            br.watch_named(g.group, &g.states, &g.names, now)
                .await
                .map_err(|e| JobError::Other(e.to_string()))?,
        );
    }
    Ok(out)
}
