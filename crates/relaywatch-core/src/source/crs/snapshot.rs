//! The strands of a snapshot read, each on its own handle of the multiplexed connection (key
//! records and range costs, accounts, today, the series), and what is worked out from them
//! afterwards (the lifetime totals and their source, the top keys). Rule: the strands are
//! independent of one another; the top keys are ranked by the stored daily cost.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use chrono::{DateTime, Utc};

use super::fetch::Fetch;
use crate::error::Result;
use crate::source::model_name::BucketKind;
use crate::source::raw::{
    AccountRecord, DayData, KeyCosts, KeyRecord, LifetimeSource, ModelBucket, RawUsage, Warnings,
};

/// Logs each phase of a read with the time since the read started.
pub(super) struct Lap(Instant);

impl Lap {
    pub(super) fn start() -> Lap {
        Lap(Instant::now())
    }

    pub(super) fn lap(&self, phase: &str) {
        tracing::debug!(
            phase,
            elapsed_ms = self.0.elapsed().as_millis() as u64,
            "crs read"
        );
    }
}

/// The key records, their costs by key id (deleted keys left out), and the warnings.
pub(super) type KeysPart = (Vec<KeyRecord>, HashMap<String, KeyCosts>, Warnings);

/// What the series strand reads: the trend days, the lifetime sources, the minute buckets.
pub(super) struct Series {
    pub(super) days: Vec<DayData>,
    pub(super) global: Option<RawUsage>,
    pub(super) lifetime_models: Vec<ModelBucket>,
    pub(super) minutes: Vec<(u64, u64)>,
    pub(super) w: Warnings,
}

/// The lifetime totals, where they came from, and Σ `usage:{id}` when CRS would price it.
pub(super) struct Lifetime {
    pub(super) usage: RawUsage,
    pub(super) source: LifetimeSource,
    pub(super) cost_fallback: Option<RawUsage>,
}

impl Fetch {
    /// Key records and their daily costs at once; the costs, the largest read, in three strands
    /// so Redis answers one while another's reply is parsed.
    pub(super) async fn keys_part(&self, dates: &[String], lap: &Lap) -> Result<KeysPart> {
        let mut f = self.clone();
        let mut w_ids = Warnings::default();
        let ids = f.key_ids(&mut w_ids).await?;
        let third = ids.len().div_ceil(3);
        let part = |i: usize| &ids[(i * third).min(ids.len())..((i + 1) * third).min(ids.len())];
        let records = async {
            let mut w = Warnings::default();
            let keys = self.clone().key_records(&ids, &mut w).await?;
            Ok::<_, crate::Error>((keys, w))
        };
        let costs = |i: usize| {
            let mut f = self.clone();
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
        let costs = live_costs(&ids, &keys, c0.into_iter().chain(c1).chain(c2));
        lap.lap("api keys and range costs");
        Ok((keys, costs, w))
    }

    pub(super) async fn accounts_part(&self, lap: &Lap) -> Result<(Vec<AccountRecord>, Warnings)> {
        let (mut f, mut w) = (self.clone(), Warnings::default());
        let accounts = f.read_accounts(&mut w).await?;
        lap.lap("accounts");
        Ok((accounts, w))
    }

    /// Σ of today's key daily hashes.
    pub(super) async fn today_part(&self, today: &str, lap: &Lap) -> Result<(RawUsage, Warnings)> {
        let (mut f, mut w) = (self.clone(), Warnings::default());
        let (sum, _) = f.key_daily_sum(today, &mut w).await?;
        lap.lap("today");
        Ok((sum, w))
    }

    /// The trend days, `usage:global:total`, the monthly model buckets and the minute buckets.
    pub(super) async fn series_part(
        &self,
        dates: &[String],
        now: DateTime<Utc>,
        window_minutes: u32,
        lap: &Lap,
    ) -> Result<Series> {
        let (mut f, mut w) = (self.clone(), Warnings::default());
        let days = f.trend_days(dates, &mut w).await?;
        let global = f.global_total(&mut w).await?;
        let lifetime_models = f.lifetime_models(&mut w).await?;
        let minutes = f.minutes(now, window_minutes, &mut w).await?;
        lap.lap("trend, models, lifetime");
        Ok(Series {
            days,
            global,
            lifetime_models,
            minutes,
            w,
        })
    }

    /// Each day's per-model usage; for a day without any, Σ of the keys' daily hashes when the
    /// day has some.
    async fn trend_days(&mut self, dates: &[String], w: &mut Warnings) -> Result<Vec<DayData>> {
        let mut days = Vec::with_capacity(dates.len());
        let per_day = self
            .model_buckets(
                "usage:model:daily:",
                "usage:model:daily:index:",
                BucketKind::Day,
                dates,
                w,
            )
            .await?;
        for (d, models) in dates.iter().zip(per_day) {
            let keys_fallback = if models.is_empty() {
                let (sum, n) = self.key_daily_sum(d, w).await?;
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
        Ok(days)
    }

    /// Lifetime: `usage:global:total`, else (and for the cost fallback, when no month has model
    /// data) Σ `usage:{id}`.
    pub(super) async fn lifetime(
        &mut self,
        keys: &[KeyRecord],
        global: Option<RawUsage>,
        lifetime_models: &[ModelBucket],
        w: &mut Warnings,
    ) -> Result<Lifetime> {
        let need_per_key = global.is_none() || lifetime_models.is_empty();
        let per_key = if need_per_key {
            Some(self.per_key_lifetime(keys, w).await?)
        } else {
            None
        };
        let (usage, source) = match (global, per_key) {
            (Some(g), _) => (g, LifetimeSource::Global),
            (None, p) => (p.unwrap_or_default(), LifetimeSource::PerKey),
        };
        let cost_fallback = if lifetime_models.is_empty() {
            per_key
        } else {
            None
        };
        Ok(Lifetime {
            usage,
            source,
            cost_fallback,
        })
    }
}

/// Each key's costs by its id, in the order of `ids`; deleted keys left out.
fn live_costs(
    ids: &[String],
    keys: &[KeyRecord],
    costs: impl Iterator<Item = KeyCosts>,
) -> HashMap<String, KeyCosts> {
    let deleted: HashSet<&str> = keys
        .iter()
        .filter(|k| k.is_deleted)
        .map(|k| k.id.as_str())
        .collect();
    ids.iter()
        .zip(costs)
        .filter(|(id, _)| !deleted.contains(id.as_str()))
        .map(|(id, c)| (id.clone(), c))
        .collect()
}

/// The ids of the `top_n` keys not deleted by their stored cost over the range, highest first
/// (ties by id); keys without a cost left out.
pub(super) fn top_ids(
    keys: &[KeyRecord],
    key_costs: &HashMap<String, KeyCosts>,
    top_n: u32,
) -> Vec<String> {
    let mut ranked: Vec<(&String, f64)> = keys
        .iter()
        .filter(|k| !k.is_deleted)
        .filter_map(|k| key_costs.get(&k.id).map(|c| (&k.id, c.range)))
        .filter(|(_, c)| *c > 0.0)
        .collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
    ranked
        .iter()
        .take(top_n as usize)
        .map(|(id, _)| (*id).clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str, is_deleted: bool) -> KeyRecord {
        KeyRecord {
            id: id.to_string(),
            is_deleted,
            ..KeyRecord::default()
        }
    }

    fn range(c: f64) -> KeyCosts {
        KeyCosts {
            range: c,
            ..KeyCosts::default()
        }
    }

    #[test]
    fn top_keys_rank_by_range_cost_then_id_without_deleted_or_free_keys() {
        let keys = [
            key("a", false),
            key("b", false),
            key("c", true),
            key("d", false),
        ];
        let costs: HashMap<String, KeyCosts> = [("a", 1.0), ("b", 2.0), ("c", 9.0), ("d", 1.0)]
            .into_iter()
            .map(|(id, c)| (id.to_string(), range(c)))
            .collect();
        assert_eq!(top_ids(&keys, &costs, 10), ["b", "a", "d"]);
        assert_eq!(top_ids(&keys, &costs, 2), ["b", "a"]);
        let free: HashMap<String, KeyCosts> = [("a".to_string(), range(0.0))].into();
        assert!(top_ids(&keys, &free, 10).is_empty());
    }

    #[test]
    fn live_costs_leave_deleted_keys_out() {
        let ids = ["a".to_string(), "c".to_string()];
        let keys = [key("a", false), key("c", true)];
        let costs = live_costs(&ids, &keys, [range(1.0), range(2.0)].into_iter());
        assert_eq!(costs.len(), 1);
        assert_eq!(costs["a"].range, 1.0);
    }
}
