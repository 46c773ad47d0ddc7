//! Claude Relay Service reader: takes `RelayData` out of a CRS Redis with index sets when they
//! exist and SCAN when they do not (older deployments), every read pipelined — never KEYS, never
//! one round trip per key. Bad records are skipped and counted, never guessed.

mod keys;
mod periods;
mod records;

pub use keys::api_key_id;
pub use periods::{legacy_opus_week, opus_period};

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use redis::{Cmd, Value};

use super::accounts::{Platform, Storage};
use super::model_name::{model_from_bucket_key, model_from_dated_key, BucketKind};
use super::parse::{self, Fields, UsageNames};
use super::raw::add_capped;
use super::raw::{
    AccountRecord, DayData, KeyCosts, KeyDay, KeyModelDay, KeyRangeUsage, KeyRecord,
    LifetimeSource, ModelBucket, RawUsage, RelayData, Warnings,
};
use super::redis_io::{self, Conn};
use super::ReadRequest;
use crate::error::Result;
use crate::tz::{epoch_minute, RelayTz};
use keys::{ACCOUNT_FIELDS, KEY_DETAIL_FIELDS, KEY_FIELDS};
use periods::is_month;
use records::{
    apply_details, cost_value, has_limit, hash_account, json_account, key_record, present_fields,
};

/// Keys per MGET.
const MGET_CHUNK: usize = 1_000;

/// Warning kinds shared by several read paths (one line each, however many paths meet a key).
const WRONG_INDEX: &str = "index set(s) of the wrong type (their keys found by SCAN instead)";
const WRONG_KEY_DAILY: &str = "key daily usage hash(es) of the wrong type";
const WRONG_API_KEY: &str = "API key record(s) of the wrong type";
const WRONG_COST: &str = "cost value(s) of the wrong type";

fn cmd(name: &str, key: &str) -> Cmd {
    let mut c = redis::cmd(name);
    c.arg(key);
    c
}

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

/// One strand of reads: a handle on the multiplexed connection and what the relay keeps.
#[derive(Clone)]
struct Fetch {
    conn: Conn,
    indexed: bool,
}

impl Fetch {
    /// Members of an index set, or None when the relay keeps no index sets and this one is
    /// missing or empty without an `:empty` marker, or when it is not a set: "fall back to SCAN".
    async fn index_members(
        &mut self,
        index: &str,
        w: &mut Warnings,
    ) -> Result<Option<Vec<String>>> {
        Ok(self
            .index_members_many(&[index.to_string()], w)
            .await?
            .pop()
            .flatten())
    }

    /// `index_members` for several sets in one round trip. An index of the wrong type is
    /// skipped with a warning and its keys are found by SCAN, as on a relay without indexes.
    async fn index_members_many(
        &mut self,
        indexes: &[String],
        w: &mut Warnings,
    ) -> Result<Vec<Option<Vec<String>>>> {
        let indexed = self.indexed;
        let cmds = indexes
            .iter()
            .flat_map(|i| [cmd("SMEMBERS", i), cmd("EXISTS", &format!("{i}:empty"))])
            .collect();
        let replies = self.conn.batch(cmds).await?;
        Ok(replies
            .chunks(2)
            .zip(indexes)
            .map(|(r, index)| {
                if redis_io::is_error(&r[0]) {
                    w.add(WRONG_INDEX, || index.clone());
                    return None;
                }
                let members = redis_io::strings(&r[0]);
                let marked_empty = matches!(r[1], Value::Int(n) if n > 0);
                if !members.is_empty() {
                    Some(members)
                } else if marked_empty || indexed {
                    Some(Vec::new())
                } else {
                    None
                }
            })
            .collect())
    }

    /// Every API key id: `apikey:idx:all`, or SCAN `apikey:*` with CRS's two-part rule.
    async fn key_ids(&mut self, w: &mut Warnings) -> Result<Vec<String>> {
        Ok(match self.index_members("apikey:idx:all", w).await? {
            Some(ids) if !ids.is_empty() => ids,
            _ => self
                .conn
                .scan("apikey:*")
                .await?
                .into_iter()
                .filter_map(|k| api_key_id(&k).map(str::to_string))
                .collect(),
        })
    }

    async fn key_records(&mut self, ids: &[String], w: &mut Warnings) -> Result<Vec<KeyRecord>> {
        let cmds = ids.iter().map(|id| {
            let mut c = cmd("HMGET", &format!("apikey:{id}"));
            for f in KEY_FIELDS {
                c.arg(f);
            }
            c
        });
        let mut keys = Vec::with_capacity(ids.len());
        self.conn
            .each(cmds, |i, v| {
                let id = &ids[i];
                if redis_io::is_error(&v) {
                    w.add(WRONG_API_KEY, || format!("apikey:{id}"));
                    return;
                }
                let vals = redis_io::optionals(&v);
                if vals.iter().all(Option::is_none) {
                    return; // listed in an index but gone (expired or hard-deleted)
                }
                let pairs = present_fields(&KEY_FIELDS, vals);
                let key = format!("apikey:{id}");
                keys.push(key_record(id, &Fields::new(&key, &pairs), w));
            })
            .await?;
        keys.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(keys)
    }

    async fn read_accounts(&mut self, w: &mut Warnings) -> Result<Vec<AccountRecord>> {
        let indexes: Vec<String> = Platform::ALL.iter().map(|p| p.index_key()).collect();
        let members = self.index_members_many(&indexes, w).await?;
        // Platforms without an index set are found with one SCAN pass for all of them.
        let scanned = if members.iter().any(Option::is_none) {
            self.conn.scan("*account*").await?
        } else {
            Vec::new()
        };
        let mut listed: Vec<(Platform, String)> = Vec::new();
        for (p, ids) in Platform::ALL.into_iter().zip(members) {
            let ids = ids.unwrap_or_else(|| {
                scanned
                    .iter()
                    .filter_map(|k| p.id_from_key(k).map(str::to_string))
                    .collect()
            });
            listed.extend(ids.into_iter().map(|id| (p, id)));
        }
        let cmds = listed
            .iter()
            .map(|(p, id)| {
                let key = format!("{}{id}", p.key_prefix());
                match p.storage() {
                    Storage::Json => cmd("GET", &key),
                    Storage::Hash => {
                        let mut c = cmd("HMGET", &key);
                        for f in ACCOUNT_FIELDS {
                            c.arg(f);
                        }
                        c
                    }
                }
            })
            .collect();
        let replies = self.conn.batch(cmds).await?;
        let mut out = Vec::with_capacity(listed.len());
        for ((p, id), v) in listed.into_iter().zip(replies) {
            let key = format!("{}{id}", p.key_prefix());
            if redis_io::is_error(&v) {
                w.add("account record(s) of the wrong type", || key.clone());
                continue;
            }
            let rec = match p.storage() {
                Storage::Json => match redis_io::text(&v) {
                    None => continue,
                    Some(json) => match json_account(&json) {
                        Some(mut a) => {
                            a.id = id;
                            a
                        }
                        None => {
                            w.add("account record(s) with unreadable JSON", || key.clone());
                            continue;
                        }
                    },
                },
                Storage::Hash => {
                    let vals = redis_io::optionals(&v);
                    if vals.iter().all(Option::is_none) {
                        continue;
                    }
                    let pairs = present_fields(&ACCOUNT_FIELDS, vals);
                    hash_account(id, &Fields::new(&key, &pairs), w)
                }
            };
            out.push(AccountRecord {
                platform: Some(p),
                ..rec
            });
        }
        Ok(out)
    }

    /// Σ `usage:daily:{key}:{date}` and how many hashes were summed.
    async fn key_daily_sum(&mut self, date: &str, w: &mut Warnings) -> Result<(RawUsage, usize)> {
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
    async fn model_buckets(
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
    async fn global_total(&mut self, w: &mut Warnings) -> Result<Option<RawUsage>> {
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
    async fn per_key_lifetime(&mut self, keys: &[KeyRecord], w: &mut Warnings) -> Result<RawUsage> {
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
    async fn lifetime_models(&mut self, w: &mut Warnings) -> Result<Vec<ModelBucket>> {
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

    async fn minutes(
        &mut self,
        now: DateTime<Utc>,
        window: u32,
        w: &mut Warnings,
    ) -> Result<Vec<(u64, u64)>> {
        let m0 = epoch_minute(now);
        let keys: Vec<String> = (0..window as i64)
            .map(|i| format!("system:metrics:minute:{}", m0 - i))
            .collect();
        let replies = self
            .conn
            .batch(keys.iter().map(|k| cmd("HGETALL", k)).collect())
            .await?;
        Ok(keys
            .iter()
            .zip(replies)
            .map(|(k, v)| {
                if redis_io::is_error(&v) {
                    w.add("metrics minute bucket(s) of the wrong type", || k.clone());
                }
                let pairs = redis_io::pairs(&v);
                let f = Fields::new(k, &pairs);
                (
                    f.counter("requests", w).unwrap_or(0),
                    f.counter("totalTokens", w).unwrap_or(0),
                )
            })
            .collect())
    }

    /// Σ `usage:cost:daily:{id}:{D}` over the range and today's value, for the given keys.
    async fn daily_costs(
        &mut self,
        keys: &[String],
        dates: &[String],
        w: &mut Warnings,
    ) -> Result<Vec<KeyCosts>> {
        let n = dates.len();
        let name = |j: usize| format!("usage:cost:daily:{}:{}", keys[j / n], dates[j % n]);
        let mut out = vec![KeyCosts::default(); keys.len()];
        self.mget_each(keys.len() * n, name, w, |j, val, w| {
            let c = cost_value(&name(j), &Some(val), w);
            out[j / n].range += c;
            if j % n == n - 1 {
                out[j / n].today = c;
            }
        })
        .await?;
        Ok(out)
    }

    /// MGET the `total` string keys named by `name`, in chunks, handing each present value to
    /// `f`. MGET answers nil for a key of another type, so each chunk also asks EXISTS; when
    /// more keys exist than values came back, TYPE names the wrong-typed ones, which are
    /// skipped with a warning. One extra round trip only for a chunk holding such a key.
    async fn mget_each<N, F>(
        &mut self,
        total: usize,
        name: N,
        w: &mut Warnings,
        mut f: F,
    ) -> Result<()>
    where
        N: Fn(usize) -> String,
        F: FnMut(usize, String, &mut Warnings),
    {
        let range = |c: usize| c * MGET_CHUNK..((c + 1) * MGET_CHUNK).min(total);
        let cmds = (0..total.div_ceil(MGET_CHUNK)).flat_map(|c| {
            let (mut get, mut exists) = (redis::cmd("MGET"), redis::cmd("EXISTS"));
            for j in range(c) {
                let key = name(j);
                get.arg(&key);
                exists.arg(key);
            }
            [get, exists]
        });
        let (mut present, mut suspects) = (0i64, Vec::new());
        self.conn
            .each(cmds, |i, v| {
                let c = i / 2;
                if i % 2 == 1 {
                    if matches!(v, Value::Int(n) if n > present) {
                        suspects.push(c);
                    }
                    return;
                }
                present = 0;
                for (o, val) in redis_io::optionals(&v).into_iter().enumerate() {
                    let j = c * MGET_CHUNK + o;
                    if let (true, Some(val)) = (j < total, val) {
                        present += 1;
                        f(j, val, w);
                    }
                }
            })
            .await?;
        for c in suspects {
            let names: Vec<String> = range(c).map(&name).collect();
            let types = self
                .conn
                .batch(names.iter().map(|n| cmd("TYPE", n)).collect())
                .await?;
            for (n, t) in names.iter().zip(types) {
                if !matches!(
                    redis_io::text(&t).as_deref(),
                    None | Some("string" | "none")
                ) {
                    w.add(WRONG_COST, || n.clone());
                }
            }
        }
        Ok(())
    }

    /// Total and weekly Opus cost of the keys that have a limit: `usage:cost:total:{id}` and
    /// `usage:opus:weekly:{id}:{period}` (the older `YYYY-Wxx` name on relays without indexes).
    #[allow(clippy::too_many_arguments)]
    async fn limit_costs(
        &mut self,
        keys: &[KeyRecord],
        costs: &mut HashMap<String, KeyCosts>,
        today: &str,
        tz: RelayTz,
        now: DateTime<Utc>,
        w: &mut Warnings,
    ) -> Result<()> {
        let limited: Vec<&KeyRecord> = keys.iter().filter(|k| has_limit(k)).collect();
        let legacy_week = legacy_opus_week(now, tz);
        let mut names = Vec::with_capacity(limited.len() * 4);
        for k in &limited {
            names.push(format!("usage:cost:daily:{}:{today}", k.id));
            names.push(format!("usage:cost:total:{}", k.id));
            let period = opus_period(now, tz, k.weekly_reset_day, k.weekly_reset_hour);
            names.push(format!("usage:opus:weekly:{}:{period}", k.id));
            names.push(format!("usage:opus:weekly:{}:{legacy_week}", k.id));
        }
        let values = self.mget(&names, w).await?;
        for (i, k) in limited.iter().enumerate() {
            let j = 4 * i;
            let c = costs.entry(k.id.clone()).or_default();
            c.today = cost_value(&names[j], &values[j], w);
            c.total = cost_value(&names[j + 1], &values[j + 1], w);
            c.weekly_opus = if values[j + 2].is_some() {
                cost_value(&names[j + 2], &values[j + 2], w)
            } else {
                cost_value(&names[j + 3], &values[j + 3], w)
            };
        }
        Ok(())
    }

    /// Names, tags and weekly reset settings of the keys that are shown.
    async fn key_details(
        &mut self,
        keys: &mut [KeyRecord],
        top: &[String],
        w: &mut Warnings,
    ) -> Result<()> {
        let shown: Vec<usize> = keys
            .iter()
            .enumerate()
            .filter(|(_, k)| has_limit(k) || top.contains(&k.id))
            .map(|(i, _)| i)
            .collect();
        let cmds = shown
            .iter()
            .map(|&i| {
                let mut c = cmd("HMGET", &format!("apikey:{}", keys[i].id));
                for f in KEY_DETAIL_FIELDS {
                    c.arg(f);
                }
                c
            })
            .collect();
        let replies = self.conn.batch(cmds).await?;
        for (&i, v) in shown.iter().zip(replies) {
            if redis_io::is_error(&v) {
                let id = &keys[i].id;
                w.add(WRONG_API_KEY, || format!("apikey:{id}"));
                continue;
            }
            let pairs = present_fields(&KEY_DETAIL_FIELDS, redis_io::optionals(&v));
            let key = format!("apikey:{}", keys[i].id);
            apply_details(&mut keys[i], &Fields::new(&key, &pairs), w);
        }
        Ok(())
    }

    /// GET many string keys with MGET in chunks (wrong-typed ones skipped with a warning).
    async fn mget(&mut self, names: &[String], w: &mut Warnings) -> Result<Vec<Option<String>>> {
        let mut values = vec![None; names.len()];
        self.mget_each(
            names.len(),
            |j| names[j].clone(),
            w,
            |j, v, _| values[j] = Some(v),
        )
        .await?;
        Ok(values)
    }

    /// The given keys' days over the range (CRS's key trend): requests and four-kind tokens from
    /// `usage:daily:{id}:{D}`, and for each day with such a hash, the key's per-model hashes for
    /// the models used that day.
    async fn top_key_days(
        &mut self,
        ids: &[String],
        days: &[DayData],
        w: &mut Warnings,
    ) -> Result<(HashMap<String, KeyRangeUsage>, HashMap<String, Vec<KeyDay>>)> {
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
        let mut model_keys: Vec<(usize, usize, String, String)> = Vec::new();
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
        Ok((range, key_days))
    }
}
