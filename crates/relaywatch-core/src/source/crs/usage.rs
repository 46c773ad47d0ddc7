//! Usage hashes: the keys' daily usage summed, the per-model daily and monthly buckets, the
//! lifetime totals (`usage:global:total`, else Σ `usage:{id}`). Rule: keys come from index sets
//! (SCAN only where the relay keeps none); a hash of the wrong type is skipped with a warning.

use redis::Value;

use super::fetch::{cmd, Fetch, WRONG_INDEX, WRONG_KEY_DAILY};
use super::periods::is_month;
use crate::error::Result;
use crate::source::model_name::{model_from_bucket_key, model_from_dated_key, BucketKind};
use crate::source::parse::{self, Fields, UsageNames};
use crate::source::raw::{KeyRecord, ModelBucket, RawUsage, Warnings};
use crate::source::redis_io;

impl Fetch {
    /// Σ `usage:daily:{key}:{date}` and how many hashes were summed.
    pub(super) async fn key_daily_sum(
        &mut self,
        date: &str,
        w: &mut Warnings,
    ) -> Result<(RawUsage, usize)> {
        let keys: Vec<String> = match self
            .index_members(&format!("usage:daily:index:{date}"), w)
            .await?
        {
            Some(ids) => ids
                .iter()
                .map(|id| format!("usage:daily:{id}:{date}"))
                .collect(),
            None => self
                .conn
                .scan(&format!("usage:daily:*:{date}"))
                .await?
                .into_iter()
                .filter(|k| {
                    model_from_dated_key(k, "usage:daily:")
                        .is_some_and(|(id, d)| d == date && !id.contains(':') && id != "index")
                })
                .collect(),
        };
        let mut sum = RawUsage::default();
        let mut n = 0;
        self.conn
            .each(keys.iter().map(|k| cmd("HGETALL", k)), |i, v| {
                let k = &keys[i];
                if redis_io::is_error(&v) {
                    w.add(WRONG_KEY_DAILY, || k.clone());
                    return;
                }
                let pairs = redis_io::pairs(&v);
                if pairs.is_empty() {
                    return;
                }
                n += 1;
                let u = parse::usage(&Fields::new(k, &pairs), UsageNames::Plain, w);
                sum.add_or_warn(&u, w, || format!("usage:daily:*:{date}"));
            })
            .await?;
        Ok((sum, n))
    }

    /// Per-model usage of each bucket (`{prefix}{model}:{bucket}`), one entry per key, the
    /// model named as in the key: every bucket's index in one round trip, every hash in one
    /// pipeline (SCAN only for a bucket without an index on a relay that keeps none).
    pub(super) async fn model_buckets(
        &mut self,
        prefix: &str,
        index_prefix: &str,
        kind: BucketKind,
        buckets: &[String],
        w: &mut Warnings,
    ) -> Result<Vec<Vec<ModelBucket>>> {
        let indexes: Vec<String> = buckets
            .iter()
            .map(|b| format!("{index_prefix}{b}"))
            .collect();
        let members = self.index_members_many(&indexes, w).await?;
        // (bucket position, key, model)
        let mut keys: Vec<(usize, String, String)> = Vec::new();
        for (i, (bucket, found)) in buckets.iter().zip(members).enumerate() {
            let suffix = format!(":{bucket}");
            match found {
                Some(models) => keys.extend(
                    models
                        .into_iter()
                        .map(|m| (i, format!("{prefix}{m}{suffix}"), m)),
                ),
                None => {
                    for k in self.conn.scan(&format!("{prefix}*{suffix}")).await? {
                        let model = model_from_bucket_key(&k, prefix, kind)
                            .filter(|(m, b)| b == bucket && *m != "index")
                            .map(|(m, _)| m.to_string());
                        if let Some(m) = model {
                            keys.push((i, k, m));
                        }
                    }
                }
            }
        }
        let replies = self
            .conn
            .batch(keys.iter().map(|(_, k, _)| cmd("HGETALL", k)).collect())
            .await?;
        let mut out: Vec<Vec<ModelBucket>> = vec![Vec::new(); buckets.len()];
        for ((i, k, model), v) in keys.into_iter().zip(replies) {
            if redis_io::is_error(&v) {
                // Index sets matching the SCAN pattern were left out above.
                w.add(
                    match kind {
                        BucketKind::Day => "daily model hash(es) of the wrong type",
                        BucketKind::Month => "monthly model hash(es) of the wrong type",
                        BucketKind::Hour => "hourly model hash(es) of the wrong type",
                    },
                    || k.clone(),
                );
                continue;
            }
            let pairs = redis_io::pairs(&v);
            if pairs.is_empty() {
                continue;
            }
            let usage = parse::usage(&Fields::new(&k, &pairs), UsageNames::Plain, w);
            out[i].push(ModelBucket { model, usage });
        }
        Ok(out)
    }

    /// `usage:global:total` when it carries `requests` (CRS v1.1.263+). Of the wrong type or
    /// with unreadable `requests`, it is skipped with a warning and the lifetime totals are
    /// summed per key, as on relays without it.
    pub(super) async fn global_total(&mut self, w: &mut Warnings) -> Result<Option<RawUsage>> {
        const KEY: &str = "usage:global:total";
        let v = self.conn.batch(vec![cmd("HGETALL", KEY)]).await?.pop();
        let v = v.unwrap_or(Value::Nil);
        if redis_io::is_error(&v) {
            w.add(
                "global total hash(es) of the wrong type (lifetime summed per key instead)",
                || KEY.to_string(),
            );
            return Ok(None);
        }
        let pairs = redis_io::pairs(&v);
        let f = Fields::new(KEY, &pairs);
        // Unreadable `requests` (warned) leaves the hash untrusted: summed per key instead.
        if f.get("requests").is_none() || f.counter("requests", w).is_none() {
            return Ok(None);
        }
        Ok(Some(parse::usage(&f, UsageNames::Plain, w)))
    }

    /// Σ `usage:{id}` over keys that are not deleted (CRS's `getAllApiKeysFast` totals).
    pub(super) async fn per_key_lifetime(
        &mut self,
        keys: &[KeyRecord],
        w: &mut Warnings,
    ) -> Result<RawUsage> {
        let live: Vec<String> = keys
            .iter()
            .filter(|k| !k.is_deleted)
            .map(|k| format!("usage:{}", k.id))
            .collect();
        let mut sum = RawUsage::default();
        self.conn
            .each(live.iter().map(|k| cmd("HGETALL", k)), |i, v| {
                if redis_io::is_error(&v) {
                    w.add("per-key lifetime hash(es) of the wrong type", || {
                        live[i].clone()
                    });
                    return;
                }
                let pairs = redis_io::pairs(&v);
                let f = Fields::new(&live[i], &pairs);
                let u = parse::usage(&f, UsageNames::Lifetime, w);
                sum.add_or_warn(&u, w, || "usage:{id} (lifetime per key)".to_string());
            })
            .await?;
        Ok(sum)
    }

    /// Per-(model, month) usage for every month in `usage:model:monthly:months` (CRS reads no
    /// other list of months).
    pub(super) async fn lifetime_models(&mut self, w: &mut Warnings) -> Result<Vec<ModelBucket>> {
        const MONTHS: &str = "usage:model:monthly:months";
        let v = self.conn.batch(vec![cmd("SMEMBERS", MONTHS)]).await?.pop();
        let v = v.unwrap_or(Value::Nil);
        if redis_io::is_error(&v) {
            w.add(WRONG_INDEX, || MONTHS.to_string());
        }
        let mut months = redis_io::strings(&v);
        months.sort();
        months.dedup();
        months.retain(|m| is_month(m));
        Ok(self
            .model_buckets(
                "usage:model:monthly:",
                "usage:model:monthly:index:",
                BucketKind::Month,
                &months,
                w,
            )
            .await?
            .into_iter()
            .flatten()
            .collect())
    }
}
