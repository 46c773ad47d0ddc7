//! One quota evaluation end to end, as the rules loop and the benchmarks run it: the source
//! reads the keys' costs, the pure rule evaluates them against the stored state, the store
//! claims and keeps what was announced. Rule: a failed read returns its error before anything
//! fires or resolves.

use chrono::{DateTime, Utc};

use crate::config::quota::QuotaSettings;
use crate::error::Result;
use crate::rules::quota::evaluate;
use crate::rules::Alert;
use crate::source::crs::quota::read_key_costs;
use crate::source::redis_io::Conn;
use crate::store::quota::QuotaStore;
use crate::tz::RelayTz;

/// Claude Code Hub: read every live limit's use, evaluate against the stored state, claim and
/// store; returns what to send.
pub async fn run_once_cch(
    s: &crate::config::Settings,
    store: &mut QuotaStore,
    now: DateTime<Utc>,
) -> Result<Vec<Alert>> {
    let measures = crate::source::cch::quota::read_measures(s, now).await?;
    let prev = store.load().await?;
    let tz = RelayTz::from_config(s.source.timezone_offset_hours);
    let (next, alerts) = crate::rules::quota::evaluate_measures(
        &measures,
        &s.rules.quota.thresholds,
        &prev,
        now,
        tz,
    );
    store.commit(&next, alerts).await
}

/// Read the relay, evaluate against the stored state, claim and store; returns what to send.
pub async fn run_once(
    source: &mut Conn,
    store: &mut QuotaStore,
    settings: &QuotaSettings,
    now: DateTime<Utc>,
    tz: RelayTz,
) -> Result<Vec<Alert>> {
    let inputs = read_key_costs(source, settings, now, tz).await?;
    let prev = store.load().await?;
    let (next, alerts) = evaluate(
        &inputs,
        &settings.limits,
        &settings.thresholds,
        &prev,
        now,
        tz,
    );
    store.commit(&next, alerts).await
}
