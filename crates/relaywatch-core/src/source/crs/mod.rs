//! Claude Relay Service reader: takes `RelayData` out of a CRS Redis with index sets when they
//! exist and SCAN when they do not (older deployments), every read pipelined — never KEYS, never
//! one round trip per key. Bad records are skipped and counted, never guessed. Rule: the relay's
//! Redis is only read; no command in this folder writes.
//!
//! `CrsReader` (here) runs the strands of `snapshot` at once; each strand is a `fetch::Fetch`
//! whose reads live by what they read: `api_keys`, `accounts`, `usage`, `costs`, `top_keys`,
//! `metrics`. `keys` names the fields read, `records` parses the replies, `periods` computes
//! the weekly Opus period and month names.

mod accounts;
mod api_keys;
mod costs;
mod fetch;
mod keys;
pub mod leaderboard;
mod metrics;
mod periods;
pub mod quota;
mod records;
pub mod relay;
mod snapshot;
mod top_keys;
mod usage;
pub mod watched;

pub use keys::api_key_id;
pub use periods::{legacy_opus_week, opus_period};

use std::time::Duration;

use redis::Value;

use super::raw::{AccountRecord, RelayData, Warnings};
use super::redis_io::{self, Conn};
use super::ReadRequest;
use crate::error::Result;
use fetch::Fetch;
use snapshot::{top_ids, Lap, Series};

/// A connected CRS reader.
pub struct CrsReader {
    conn: Conn,
    /// CRS v1.1.263+ keeps index sets up to date as it writes: there, a missing index set means
    /// "none", and SCAN (a walk over the whole keyspace) is never needed.
    indexed: Option<bool>,
}

impl CrsReader {
    pub async fn connect(url: &str, timeout: Duration) -> Result<CrsReader> {
        Ok(CrsReader::from_conn(redis_io::connect(url, timeout).await?))
    }

    pub fn from_conn(conn: Conn) -> CrsReader {
        CrsReader {
            conn,
            indexed: None,
        }
    }

    /// Whether the relay maintains index sets (`apikey:index:version` or the usage-index
    /// migration flag is present).
    async fn is_indexed(&mut self) -> Result<bool> {
        if let Some(i) = self.indexed {
            return Ok(i);
        }
        let mut c = redis::cmd("EXISTS");
        c.arg("apikey:index:version")
            .arg("system:migration:usage_index_v2");
        let indexed = matches!(self.conn.one(c).await?, Value::Int(n) if n > 0);
        self.indexed = Some(indexed);
        Ok(indexed)
    }

    /// A strand of reads on this reader's connection.
    async fn fetch(&mut self) -> Result<Fetch> {
        Ok(Fetch {
            conn: self.conn.clone(),
            indexed: self.is_indexed().await?,
        })
    }

    /// Every account of every platform (index sets where the relay keeps them, else SCAN): what
    /// the breaker rule watches between snapshots.
    pub async fn accounts(&mut self, w: &mut Warnings) -> Result<Vec<AccountRecord>> {
        self.fetch().await?.read_accounts(w).await
    }

    /// Read everything a snapshot needs. Independent parts run at once on the multiplexed
    /// connection, so Redis works while the last reply is parsed.
    pub async fn read(&mut self, req: &ReadRequest) -> Result<RelayData> {
        let tz = req.tz;
        let now = req.now;
        let dates = tz.last_dates(now, req.trend_days.max(1));
        let today = tz.date(now);
        let lap = Lap::start();
        let mut f = self.fetch().await?;
        let ((mut keys, mut key_costs, w1), (accounts, w2), (today_keys, w3), series) = tokio::try_join!(
            f.keys_part(&dates, &lap),
            f.accounts_part(&lap),
            f.today_part(&today, &lap),
            f.series_part(&dates, now, req.window_minutes, &lap),
        )?;
        let Series {
            days,
            global,
            lifetime_models,
            minutes,
            w: w4,
        } = series;
        let mut w = w1;
        for other in [w2, w3, w4] {
            w.merge(other);
        }
        let lifetime = f.lifetime(&keys, global, &lifetime_models, &mut w).await?;

        // Top keys by the stored daily cost; then the details only they and limited keys need.
        let top = top_ids(&keys, &key_costs, req.top_n);
        let (key_range_usage, top_key_days) = f.top_key_days(&top, &days, &mut w).await?;
        f.key_details(&mut keys, &top, &mut w).await?;
        f.limit_costs(&keys, &mut key_costs, &today, tz, now, &mut w)
            .await?;
        lap.lap("top keys and limits");

        let today_models = days
            .last()
            .filter(|d| d.date == today)
            .map(|d| d.models.clone())
            .unwrap_or_default();
        Ok(RelayData {
            now,
            tz,
            keys,
            accounts,
            today_keys,
            today_models,
            lifetime: lifetime.usage,
            lifetime_source: lifetime.source,
            lifetime_models,
            lifetime_cost_fallback: lifetime.cost_fallback,
            minutes,
            window_minutes: req.window_minutes,
            days,
            key_costs,
            key_range_usage,
            top_key_days,
            warnings: w,
        })
    }
}
