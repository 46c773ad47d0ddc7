//! Readers of relay data. Each reader produces `RelayData` (what was stored) and `aggregate`
//! turns it into a Snapshot with CRS's rules, so real and demo data share one code path.

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

use chrono::{DateTime, Utc};

use crate::config::{Settings, SourceKindSetting};
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

/// Take a snapshot with the source the settings select (connecting if it is Redis).
pub async fn take_snapshot(
    settings: &Settings,
    pricing: &Pricing,
    req: ReadRequest,
) -> Result<Snapshot> {
    let started = std::time::Instant::now();
    let taken = read_snapshot(settings, pricing, req).await;
    record_snapshot(settings, started.elapsed(), &taken);
    taken
}

/// The snapshot's metrics: its duration and age, and whether the relay's Redis answered.
fn record_snapshot(settings: &Settings, took: std::time::Duration, taken: &Result<Snapshot>) {
    let at_ms = crate::delivery::outbox::system_now_ms();
    let source = match settings.source.effective_kind() {
        SourceKindSetting::Demo => "demo",
        SourceKindSetting::Cch => {
            crate::metrics::source_redis(!matches!(taken, Err(crate::Error::Database { .. })));
            "cch"
        }
        SourceKindSetting::Crs => {
            let down = matches!(
                taken,
                Err(crate::Error::RedisConnect { .. } | crate::Error::Redis { .. })
            );
            crate::metrics::source_redis(!down);
            "crs"
        }
    };
    crate::metrics::snapshot(source, took, taken.is_ok(), at_ms);
}

async fn read_snapshot(
    settings: &Settings,
    pricing: &Pricing,
    req: ReadRequest,
) -> Result<Snapshot> {
    let scope = aggregate::Scope {
        source: SourceKind::Demo,
        trend_days: req.trend_days,
        top_n: req.top_n,
    };
    match settings.source.effective_kind() {
        SourceKindSetting::Demo => Ok(aggregate::aggregate(
            demo::generate(req, pricing),
            pricing,
            scope,
        )),
        SourceKindSetting::Cch => cch::snapshot::read(settings, &req).await,
        SourceKindSetting::Crs => {
            let url = settings.source.redis_url.as_deref().unwrap_or_default();
            let timeout = std::time::Duration::from_millis(settings.source.connect_timeout_ms);
            let mut reader = crs::CrsReader::connect(url, timeout).await?;
            let data = reader.read(&req).await?;
            Ok(aggregate::aggregate(
                data,
                pricing,
                aggregate::Scope {
                    source: SourceKind::Crs,
                    ..scope
                },
            ))
        }
    }
}

pub use crate::secrets::mask_url;
