//! The relays' readers, each a folder (`crs/`, `cch/`, `demo/`) answering the one interface
//! [`Relay`] (`relay.rs`), chosen by [`open`]; what they share: `aggregate` (CRS-shaped
//! `RelayData` into a Snapshot with CRS's rules, for CRS and the demo alike), `redis_io` and
//! `pg` (the read-only connects), `raw`, `parse`, `accounts`, `model_name`. Rule: a relay's
//! store is only read.

pub mod accounts;
pub mod aggregate;
pub mod cch;
pub mod crs;
pub mod demo;
pub mod model_name;
pub mod parse;
pub mod pg;
pub mod raw;
pub mod redis_io;
pub mod relay;

pub use relay::{open, store_down, AnyRelay, Relay};

use chrono::{DateTime, Utc};

use crate::config::Settings;
use crate::error::Result;
use crate::model::{Snapshot, SourceKind};
use crate::pricing::Pricing;
use crate::tz::RelayTz;

/// What to read, and as of when.
#[derive(Debug, Clone, Copy)]
pub struct ReadRequest {
    pub now: DateTime<Utc>,
    pub tz: RelayTz,
    pub trend_days: u32,
    pub top_n: u32,
    pub window_minutes: u32,
}

impl ReadRequest {
    pub fn from_settings(s: &Settings, now: DateTime<Utc>) -> Self {
        ReadRequest {
            now,
            tz: RelayTz::from_config(s.source.timezone_offset_hours),
            trend_days: s.report.trend_days,
            top_n: s.report.top_keys,
            window_minutes: s.source.realtime_window_minutes,
        }
    }
}

/// Take a snapshot with the relay the settings select (connecting to its store).
pub async fn take_snapshot(
    settings: &Settings,
    pricing: &Pricing,
    req: ReadRequest,
) -> Result<Snapshot> {
    let relay = open(settings);
    let started = std::time::Instant::now();
    let taken = relay.snapshot(pricing, req).await;
    record_snapshot(relay.kind(), started.elapsed(), &taken);
    taken
}

/// The snapshot's metrics: its duration and age.
fn record_snapshot(kind: SourceKind, took: std::time::Duration, taken: &Result<Snapshot>) {
    let at_ms = Utc::now().timestamp_millis().max(0) as u64;
    crate::metrics::snapshot(kind.as_str(), took, taken.is_ok(), at_ms);
}

pub use crate::secrets::mask_url;
