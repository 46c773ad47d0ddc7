//! One quota evaluation end to end, as the rules loop and the benchmarks run it: the relay
//! answers every limit's use, the pure rule evaluates it against the stored state, the store
//! claims and keeps what was announced. Rule: a failed read returns its error before anything
//! fires or resolves.

use chrono::{DateTime, Utc};

use crate::config::Settings;
use crate::error::Result;
use crate::rules::quota::evaluate_input;
use crate::rules::Alert;
use crate::source::Relay;
use crate::store::quota::QuotaStore;
use crate::tz::RelayTz;

/// Read `relay`'s limits, evaluate against the stored state, claim and store; returns what to
/// send.
pub async fn run_once(
    relay: &impl Relay,
    store: &mut QuotaStore,
    s: &Settings,
    now: DateTime<Utc>,
) -> Result<Vec<Alert>> {
    let input = relay.quota(now).await?;
    let prev = store.load().await?;
    let tz = RelayTz::from_config(s.source.timezone_offset_hours);
    let q = &s.rules.quota;
    let (next, alerts) = evaluate_input(&input, &q.limits, &q.thresholds, &prev, now, tz);
    store.commit(&next, alerts).await
}
