//! The top keys' trend (CRS's key trend): each key's daily usage over the range, and its
//! per-model hashes for the models used that day. Rule: read only for the keys shown; a hash of
//! the wrong type is skipped with a warning.

use std::collections::HashMap;

use super::fetch::{cmd, Fetch, WRONG_KEY_DAILY};
use crate::error::Result;
use crate::source::parse::{self, Fields, UsageNames};
use crate::source::raw::{add_capped, DayData, KeyDay, KeyModelDay, KeyRangeUsage, Warnings};
use crate::source::redis_io;

/// Each key's usage over the range, and its days (those with a daily hash).
type KeyTrend = (HashMap<String, KeyRangeUsage>, HashMap<String, Vec<KeyDay>>);

/// A per-key model hash to read: (key position, the day's slot among the key's days, model,
/// hash name).
type ModelDayKey = (usize, usize, String, String);

impl Fetch {
    /// The given keys' days over the range (CRS's key trend): requests and four-kind tokens from
    /// `usage:daily:{id}:{D}`, and for each day with such a hash, the key's per-model hashes for
    /// the models used that day.
    pub(super) async fn top_key_days(
        &mut self,
        ids: &[String],
        days: &[DayData],
        w: &mut Warnings,
    ) -> Result<KeyTrend> {
        let ((range, mut key_days), model_keys) = self.key_daily_hashes(ids, days, w).await?;
        self.key_model_days(ids, model_keys, &mut key_days, w)
            .await?;
        Ok((range, key_days))
    }

    /// `usage:daily:{id}:{D}` of each key and day: the keys' range usage and days, and the
    /// per-model hashes to read for those days.
    async fn key_daily_hashes(
        &mut self,
        ids: &[String],
        days: &[DayData],
        w: &mut Warnings,
    ) -> Result<(KeyTrend, Vec<ModelDayKey>)> {
        let daily: Vec<(usize, usize, String)> = ids
            .iter()
            .enumerate()
            .flat_map(|(i, id)| {
                days.iter()
                    .enumerate()
                    .map(move |(j, d)| (i, j, format!("usage:daily:{id}:{}", d.date)))
            })
            .collect();
        let replies = self
            .conn
            .batch(daily.iter().map(|(_, _, k)| cmd("HGETALL", k)).collect())
            .await?;
        let mut range: HashMap<String, KeyRangeUsage> = HashMap::new();
        let mut key_days: HashMap<String, Vec<KeyDay>> = HashMap::new();
        let mut model_keys: Vec<ModelDayKey> = Vec::new();
        for ((i, j, k), v) in daily.iter().zip(replies) {
            let e = range.entry(ids[*i].clone()).or_default();
            let days_of_key = key_days.entry(ids[*i].clone()).or_default();
            if redis_io::is_error(&v) {
                w.add(WRONG_KEY_DAILY, || k.clone());
                continue;
            }
            let pairs = redis_io::pairs(&v);
            if pairs.is_empty() {
                continue;
            }
            let u = parse::usage(&Fields::new(k, &pairs), UsageNames::Plain, w);
            if add_capped(&mut e.requests, u.requests)
                | add_capped(&mut e.all_tokens, u.four_kinds())
            {
                w.capped(|| format!("usage of key {} over the trend", ids[*i]));
            }
            days_of_key.push(KeyDay {
                usage: u,
                models: Vec::new(),
            });
            let slot = days_of_key.len() - 1;
            for m in &days[*j].models {
                model_keys.push((
                    *i,
                    slot,
                    m.model.clone(),
                    format!(
                        "usage:{}:model:daily:{}:{}",
                        ids[*i], m.model, days[*j].date
                    ),
                ));
            }
        }
        Ok(((range, key_days), model_keys))
    }

    /// The per-model hashes of the keys' days, added to those days.
    async fn key_model_days(
        &mut self,
        ids: &[String],
        model_keys: Vec<ModelDayKey>,
        key_days: &mut HashMap<String, Vec<KeyDay>>,
        w: &mut Warnings,
    ) -> Result<()> {
        let replies = self
            .conn
            .batch(model_keys.iter().map(|(.., k)| cmd("HGETALL", k)).collect())
            .await?;
        for ((i, slot, model, k), v) in model_keys.into_iter().zip(replies) {
            if redis_io::is_error(&v) {
                w.add("per-key model hash(es) of the wrong type", || k.clone());
                continue;
            }
            let pairs = redis_io::pairs(&v);
            if pairs.is_empty() {
                continue;
            }
            let f = Fields::new(&k, &pairs);
            let has_micros = f.get("realCostMicro").is_some() || f.get("ratedCostMicro").is_some();
            let rated_micro = has_micros.then(|| f.counter("ratedCostMicro", w).unwrap_or(0));
            let usage = parse::usage(&f, UsageNames::Plain, w);
            if let Some(day) = key_days.get_mut(&ids[i]).and_then(|d| d.get_mut(slot)) {
                day.models.push(KeyModelDay {
                    model,
                    rated_micro,
                    usage,
                });
            }
        }
        Ok(())
    }
}
