//! Claude Relay Service reader: takes `RelayData` out of a CRS Redis with index sets when they
//! exist and SCAN when they do not (older deployments), every read pipelined — never KEYS, never
//! one round trip per key. Bad records are skipped and counted, never guessed.

mod accounts;
mod api_keys;
mod costs;
mod fetch;
mod keys;
mod metrics;
mod periods;
mod records;
mod top_keys;
mod usage;

pub use keys::api_key_id;
pub use periods::{legacy_opus_week, opus_period};

use std::collections::HashMap;
use std::time::Duration;

use redis::Value;

use super::model_name::BucketKind;
use super::raw::{AccountRecord, DayData, KeyCosts, LifetimeSource, RelayData, Warnings};
use super::redis_io::{self, Conn};
use super::ReadRequest;
use crate::error::Result;
use fetch::Fetch;

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

    /// Every account of every platform (index sets where the relay keeps them, else SCAN): what
    /// the breaker rule watches between snapshots.
    pub async fn accounts(&mut self, w: &mut Warnings) -> Result<Vec<AccountRecord>> {
        let mut f = Fetch {
            conn: self.conn.clone(),
            indexed: self.is_indexed().await?,
        };
        f.read_accounts(w).await
    }

    /// Read everything a snapshot needs. Independent parts run at once on the multiplexed
    /// connection, so Redis works while the last reply is parsed.
    pub async fn read(&mut self, req: &ReadRequest) -> Result<RelayData> {
        let tz = req.tz;
        let now = req.now;
        let dates = tz.last_dates(now, req.trend_days.max(1));
        let today = tz.date(now);
        let started = std::time::Instant::now();
        let lap = |phase: &str| {
            tracing::debug!(
                phase,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "crs read"
            );
        };
        let base = Fetch {
            conn: self.conn.clone(),
            indexed: self.is_indexed().await?,
        };

        // Key records and their daily costs at once; the costs, the largest read, in three
        // strands so Redis answers one while another's reply is parsed.
        let keys_part = async {
            let mut f = base.clone();
            let mut w_ids = Warnings::default();
            let ids = f.key_ids(&mut w_ids).await?;
            let third = ids.len().div_ceil(3);
            let part =
                |i: usize| &ids[(i * third).min(ids.len())..((i + 1) * third).min(ids.len())];
            let records = async {
                let mut w = Warnings::default();
                let keys = base.clone().key_records(&ids, &mut w).await?;
                Ok::<_, crate::Error>((keys, w))
            };
            let dates = &dates;
            let costs = |i: usize| {
                let mut f = base.clone();
                async move {
                    let mut w = Warnings::default();
                    let c = f.daily_costs(part(i), dates, &mut w).await?;
                    Ok::<_, crate::Error>((c, w))
                }
            };
            let ((keys, mut w), (c0, w0), (c1, w1), (c2, w2)) =
                tokio::try_join!(records, costs(0), costs(1), costs(2))?;
            for other in [w_ids, w0, w1, w2] {
                w.merge(other);
            }
            let deleted: std::collections::HashSet<&str> = keys
                .iter()
                .filter(|k| k.is_deleted)
                .map(|k| k.id.as_str())
                .collect();
            let costs: HashMap<String, KeyCosts> = ids
                .iter()
                .zip(c0.into_iter().chain(c1).chain(c2))
                .filter(|(id, _)| !deleted.contains(id.as_str()))
                .map(|(id, c)| (id.clone(), c))
                .collect();
            lap("api keys and range costs");
            Ok::<_, crate::Error>((keys, costs, w))
        };
        let accounts_part = async {
            let (mut f, mut w) = (base.clone(), Warnings::default());
            let accounts = f.read_accounts(&mut w).await?;
            lap("accounts");
            Ok((accounts, w))
        };
        let today_part = async {
            let (mut f, mut w) = (base.clone(), Warnings::default());
            let (sum, _) = f.key_daily_sum(&today, &mut w).await?;
            lap("today");
            Ok((sum, w))
        };
        let series_part = async {
            let (mut f, mut w) = (base.clone(), Warnings::default());
            let mut days = Vec::with_capacity(dates.len());
            let per_day = f
                .model_buckets(
                    "usage:model:daily:",
                    "usage:model:daily:index:",
                    BucketKind::Day,
                    &dates,
                    &mut w,
                )
                .await?;
            for (d, models) in dates.iter().zip(per_day) {
                let keys_fallback = if models.is_empty() {
                    let (sum, n) = f.key_daily_sum(d, &mut w).await?;
                    (n > 0).then_some(sum)
                } else {
                    None
                };
                days.push(DayData {
                    date: d.clone(),
                    models,
                    keys_fallback,
                });
            }
            let global = f.global_total(&mut w).await?;
            let lifetime_models = f.lifetime_models(&mut w).await?;
            let minutes = f.minutes(now, req.window_minutes, &mut w).await?;
            lap("trend, models, lifetime");
            Ok((days, global, lifetime_models, minutes, w))
        };
        let (
            (mut keys, mut key_costs, w1),
            (accounts, w2),
            (today_keys, w3),
            (days, global, lifetime_models, minutes, w4),
        ) = tokio::try_join!(keys_part, accounts_part, today_part, series_part)?;
        let mut w = w1;
        for other in [w2, w3, w4] {
            w.merge(other);
        }
        let mut f = base;

        // Lifetime: usage:global:total, else (and for the cost fallback) Σ usage:{id}.
        let need_per_key = global.is_none() || lifetime_models.is_empty();
        let per_key = if need_per_key {
            Some(f.per_key_lifetime(&keys, &mut w).await?)
        } else {
            None
        };
        let (lifetime, lifetime_source) = match (global, per_key) {
            (Some(g), _) => (g, LifetimeSource::Global),
            (None, p) => (p.unwrap_or_default(), LifetimeSource::PerKey),
        };
        let lifetime_cost_fallback = if lifetime_models.is_empty() {
            per_key
        } else {
            None
        };

        // Top keys by the stored daily cost; then the details only they and limited keys need.
        let mut ranked: Vec<(&String, f64)> = keys
            .iter()
            .filter(|k| !k.is_deleted)
            .filter_map(|k| key_costs.get(&k.id).map(|c| (&k.id, c.range)))
            .filter(|(_, c)| *c > 0.0)
            .collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
        let top: Vec<String> = ranked
            .iter()
            .take(req.top_n as usize)
            .map(|(id, _)| (*id).clone())
            .collect();
        let (key_range_usage, top_key_days) = f.top_key_days(&top, &days, &mut w).await?;
        f.key_details(&mut keys, &top, &mut w).await?;
        f.limit_costs(&keys, &mut key_costs, &today, tz, now, &mut w)
            .await?;
        lap("top keys and limits");

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
            lifetime,
            lifetime_source,
            lifetime_models,
            lifetime_cost_fallback,
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
