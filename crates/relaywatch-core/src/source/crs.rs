//! Claude Relay Service reader: takes `RelayData` out of a CRS Redis with index sets when they
//! exist and SCAN when they do not (older deployments), every read pipelined — never KEYS, never
//! one round trip per key. Bad records are skipped and counted, never guessed.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Datelike, Duration as Days, Timelike, Utc};
use redis::{Cmd, Value};

use super::accounts::{Platform, Storage};
use super::parse::{self, Fields, UsageNames};
use super::raw::{
    AccountRecord, DayData, KeyCosts, KeyDay, KeyModelDay, KeyRangeUsage, KeyRecord,
    LifetimeSource, ModelBucket, RawUsage, RelayData, Warnings,
};
use super::redis_io::{self, Conn};
use super::ReadRequest;
use crate::error::Result;
use crate::tz::{epoch_minute, RelayTz};

/// Keys per MGET.
const MGET_CHUNK: usize = 1_000;

const KEY_FIELDS: [&str; 10] = [
    "id",
    "name",
    "isActive",
    "isDeleted",
    "dailyCostLimit",
    "totalCostLimit",
    "weeklyOpusCostLimit",
    "tags",
    "weeklyResetDay",
    "weeklyResetHour",
];

const ACCOUNT_FIELDS: [&str; 7] = [
    "isActive",
    "status",
    "schedulable",
    "rateLimitStatus",
    "rateLimitedAt",
    "rateLimitEndAt",
    "rateLimitDuration",
];

fn cmd(name: &str, key: &str) -> Cmd {
    let mut c = redis::cmd(name);
    c.arg(key);
    c
}

/// A connected CRS reader.
pub struct CrsReader {
    conn: Conn,
}

impl CrsReader {
    pub async fn connect(url: &str, timeout: Duration) -> Result<CrsReader> {
        Ok(CrsReader {
            conn: redis_io::connect(url, timeout).await?,
        })
    }

    pub fn from_conn(conn: Conn) -> CrsReader {
        CrsReader { conn }
    }

    /// Read everything a snapshot needs.
    pub async fn read(&mut self, req: &ReadRequest) -> Result<RelayData> {
        let mut w = Warnings::default();
        let tz = req.tz;
        let now = req.now;
        let dates = tz.last_dates(now, req.trend_days.max(1));
        let today = tz.date(now);

        let keys = self.read_keys(&mut w).await?;
        let accounts = self.read_accounts(&mut w).await?;
        let (today_keys, _) = self.key_daily_sum(&today, &mut w).await?;
        let mut days = Vec::with_capacity(dates.len());
        for d in &dates {
            let models = self
                .model_buckets("usage:model:daily:", "usage:model:daily:index:", d, &mut w)
                .await?;
            let keys_fallback = if models.is_empty() {
                let (sum, n) = self.key_daily_sum(d, &mut w).await?;
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
        let today_models = days
            .last()
            .filter(|d| d.date == today)
            .map(|d| d.models.clone())
            .unwrap_or_default();
        let (lifetime, lifetime_source) = self.lifetime(&keys, &mut w).await?;
        let lifetime_models = self.lifetime_models(&mut w).await?;
        let lifetime_cost_fallback = if lifetime_models.is_empty() {
            Some(match lifetime_source {
                LifetimeSource::PerKey => lifetime,
                LifetimeSource::Global => self.per_key_lifetime(&keys, &mut w).await?,
            })
        } else {
            None
        };
        let minutes = self.minutes(now, req.window_minutes, &mut w).await?;
        let key_costs = self
            .key_costs(&keys, &dates, &today, tz, now, &mut w)
            .await?;

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
        let (key_range_usage, top_key_days) = self.top_key_days(&top, &days, &mut w).await?;

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

    /// Members of an index set, or None when the set is missing or empty (and no `:empty`
    /// marker says it is truly empty), meaning "fall back to SCAN".
    async fn index_members(&mut self, index: &str) -> Result<Option<Vec<String>>> {
        let replies = self
            .conn
            .batch(vec![
                cmd("SMEMBERS", index),
                cmd("EXISTS", &format!("{index}:empty")),
            ])
            .await?;
        let members = redis_io::strings(&replies[0]);
        let marked_empty = matches!(replies[1], Value::Int(n) if n > 0);
        Ok(if !members.is_empty() {
            Some(members)
        } else if marked_empty {
            Some(Vec::new())
        } else {
            None
        })
    }

    async fn read_keys(&mut self, w: &mut Warnings) -> Result<Vec<KeyRecord>> {
        let ids = match self.index_members("apikey:idx:all").await? {
            Some(ids) if !ids.is_empty() => ids,
            _ => self
                .conn
                .scan("apikey:*")
                .await?
                .into_iter()
                .filter_map(|k| api_key_id(&k).map(str::to_string))
                .collect(),
        };
        let cmds = ids
            .iter()
            .map(|id| {
                let mut c = cmd("HMGET", &format!("apikey:{id}"));
                for f in KEY_FIELDS {
                    c.arg(f);
                }
                c
            })
            .collect();
        let replies = self.conn.batch(cmds).await?;
        let mut keys = Vec::with_capacity(ids.len());
        for (id, v) in ids.iter().zip(replies) {
            if redis_io::is_error(&v) {
                w.add("API key record(s) of the wrong type", || {
                    format!("apikey:{id}")
                });
                continue;
            }
            let vals = redis_io::optionals(&v);
            if vals.iter().all(Option::is_none) {
                continue; // listed in an index but gone (expired or hard-deleted)
            }
            let pairs: Vec<(String, String)> = KEY_FIELDS
                .iter()
                .zip(vals)
                .filter_map(|(f, v)| Some((f.to_string(), v?)))
                .collect();
            let key = format!("apikey:{id}");
            keys.push(key_record(id, &Fields::new(&key, &pairs), w));
        }
        keys.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(keys)
    }

    async fn read_accounts(&mut self, w: &mut Warnings) -> Result<Vec<AccountRecord>> {
        let mut listed: Vec<(Platform, String)> = Vec::new();
        for p in Platform::ALL {
            let ids = match self.index_members(&p.index_key()).await? {
                Some(ids) => ids,
                None => self
                    .conn
                    .scan(&format!("{}*", p.key_prefix()))
                    .await?
                    .iter()
                    .filter_map(|k| p.id_from_key(k).map(str::to_string))
                    .collect(),
            };
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
                    let pairs: Vec<(String, String)> = ACCOUNT_FIELDS
                        .iter()
                        .zip(vals)
                        .filter_map(|(f, v)| Some((f.to_string(), v?)))
                        .collect();
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
            .index_members(&format!("usage:daily:index:{date}"))
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
                    k.strip_prefix("usage:daily:")
                        .and_then(|r| r.strip_suffix(&format!(":{date}")))
                        .is_some_and(|id| !id.contains(':') && id != "index")
                })
                .collect(),
        };
        let replies = self
            .conn
            .batch(keys.iter().map(|k| cmd("HGETALL", k)).collect())
            .await?;
        let mut sum = RawUsage::default();
        let mut n = 0;
        for (k, v) in keys.iter().zip(replies) {
            if redis_io::is_error(&v) {
                w.add("usage hash(es) of the wrong type", || k.clone());
                continue;
            }
            let pairs = redis_io::pairs(&v);
            if pairs.is_empty() {
                continue;
            }
            n += 1;
            sum.add(&parse::usage(&Fields::new(k, &pairs), UsageNames::Plain, w));
        }
        Ok((sum, n))
    }

    /// Per-model usage of one bucket (`{prefix}{model}:{bucket}`), one entry per key, the model
    /// named as in the key.
    async fn model_buckets(
        &mut self,
        prefix: &str,
        index_prefix: &str,
        bucket: &str,
        w: &mut Warnings,
    ) -> Result<Vec<ModelBucket>> {
        let suffix = format!(":{bucket}");
        let keys: Vec<(String, String)> = match self
            .index_members(&format!("{index_prefix}{bucket}"))
            .await?
        {
            Some(models) => models
                .into_iter()
                .map(|m| (format!("{prefix}{m}{suffix}"), m))
                .collect(),
            None => self
                .conn
                .scan(&format!("{prefix}*{suffix}"))
                .await?
                .into_iter()
                .filter_map(|k| {
                    let m = k.strip_prefix(prefix)?.strip_suffix(&suffix)?;
                    (m != "index" && !m.is_empty()).then(|| (k.clone(), m.to_string()))
                })
                .collect(),
        };
        let replies = self
            .conn
            .batch(keys.iter().map(|(k, _)| cmd("HGETALL", k)).collect())
            .await?;
        let mut out = Vec::with_capacity(keys.len());
        for ((k, model), v) in keys.into_iter().zip(replies) {
            if redis_io::is_error(&v) {
                continue; // an index set or marker matching the pattern, as CRS drops them
            }
            let pairs = redis_io::pairs(&v);
            if pairs.is_empty() {
                continue;
            }
            let usage = parse::usage(&Fields::new(&k, &pairs), UsageNames::Plain, w);
            out.push(ModelBucket { model, usage });
        }
        Ok(out)
    }

    async fn lifetime(
        &mut self,
        keys: &[KeyRecord],
        w: &mut Warnings,
    ) -> Result<(RawUsage, LifetimeSource)> {
        let v = self.conn.one(cmd("HGETALL", "usage:global:total")).await;
        if let Ok(v) = v {
            let pairs = redis_io::pairs(&v);
            if pairs.iter().any(|(f, _)| f == "requests") {
                let u = parse::usage(
                    &Fields::new("usage:global:total", &pairs),
                    UsageNames::Plain,
                    w,
                );
                return Ok((u, LifetimeSource::Global));
            }
        }
        Ok((
            self.per_key_lifetime(keys, w).await?,
            LifetimeSource::PerKey,
        ))
    }

    /// Σ `usage:{id}` over keys that are not deleted (CRS's `getAllApiKeysFast` totals).
    async fn per_key_lifetime(&mut self, keys: &[KeyRecord], w: &mut Warnings) -> Result<RawUsage> {
        let live: Vec<String> = keys
            .iter()
            .filter(|k| !k.is_deleted)
            .map(|k| format!("usage:{}", k.id))
            .collect();
        let replies = self
            .conn
            .batch(live.iter().map(|k| cmd("HGETALL", k)).collect())
            .await?;
        let mut sum = RawUsage::default();
        for (k, v) in live.iter().zip(replies) {
            let pairs = redis_io::pairs(&v);
            sum.add(&parse::usage(
                &Fields::new(k, &pairs),
                UsageNames::Lifetime,
                w,
            ));
        }
        Ok(sum)
    }

    /// Per-(model, month) usage for every month in `usage:model:monthly:months` (CRS reads no
    /// other list of months).
    async fn lifetime_models(&mut self, w: &mut Warnings) -> Result<Vec<ModelBucket>> {
        let mut months = redis_io::strings(
            &self
                .conn
                .one(cmd("SMEMBERS", "usage:model:monthly:months"))
                .await
                .unwrap_or(Value::Nil),
        );
        months.sort();
        months.dedup();
        let mut out = Vec::new();
        for m in months.iter().filter(|m| is_month(m)) {
            out.extend(
                self.model_buckets("usage:model:monthly:", "usage:model:monthly:index:", m, w)
                    .await?,
            );
        }
        Ok(out)
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
                let pairs = redis_io::pairs(&v);
                let f = Fields::new(k, &pairs);
                (
                    f.counter("requests", w).unwrap_or(0),
                    f.counter("totalTokens", w).unwrap_or(0),
                )
            })
            .collect())
    }

    async fn key_costs(
        &mut self,
        keys: &[KeyRecord],
        dates: &[String],
        today: &str,
        tz: RelayTz,
        now: DateTime<Utc>,
        w: &mut Warnings,
    ) -> Result<HashMap<String, KeyCosts>> {
        let live: Vec<&KeyRecord> = keys.iter().filter(|k| !k.is_deleted).collect();
        // One flat list of cost keys per live key: each range day, total, weekly Opus (the
        // reset-period name of CRS v1.1.281+, then the older ISO-week name).
        let per_key = dates.len() + 3;
        let legacy_week = legacy_opus_week(now, tz);
        let mut names = Vec::with_capacity(live.len() * per_key);
        for k in &live {
            for d in dates {
                names.push(format!("usage:cost:daily:{}:{d}", k.id));
            }
            names.push(format!("usage:cost:total:{}", k.id));
            let period = opus_period(now, tz, k.weekly_reset_day, k.weekly_reset_hour);
            names.push(format!("usage:opus:weekly:{}:{period}", k.id));
            names.push(format!("usage:opus:weekly:{}:{legacy_week}", k.id));
        }
        let cmds: Vec<Cmd> = names
            .chunks(MGET_CHUNK)
            .map(|chunk| {
                let mut c = redis::cmd("MGET");
                for n in chunk {
                    c.arg(n);
                }
                c
            })
            .collect();
        let replies = self.conn.batch(cmds).await?;
        let mut values: Vec<Option<String>> = Vec::with_capacity(names.len());
        for r in replies {
            values.extend(redis_io::optionals(&r));
        }
        values.resize(names.len(), None);
        let today_pos = dates.iter().position(|d| d == today);
        let mut out = HashMap::with_capacity(live.len());
        for (i, k) in live.iter().enumerate() {
            let row = &values[i * per_key..(i + 1) * per_key];
            let names_row = &names[i * per_key..(i + 1) * per_key];
            let mut num = |j: usize| -> f64 {
                match &row[j] {
                    None => 0.0,
                    Some(s) => parse::parse_float(s).unwrap_or_else(|| {
                        w.add("non-numeric cost value(s)", || {
                            format!("{} = {:?}", names_row[j], s)
                        });
                        0.0
                    }),
                }
            };
            let range: f64 = (0..dates.len()).map(&mut num).sum();
            let costs = KeyCosts {
                range,
                today: today_pos.map(&mut num).unwrap_or(0.0),
                total: num(dates.len()),
                weekly_opus: if row[dates.len() + 1].is_some() {
                    num(dates.len() + 1)
                } else {
                    num(dates.len() + 2)
                },
            };
            out.insert(k.id.clone(), costs);
        }
        Ok(out)
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
            let pairs = redis_io::pairs(&v);
            let e = range.entry(ids[*i].clone()).or_default();
            let days_of_key = key_days.entry(ids[*i].clone()).or_default();
            if pairs.is_empty() {
                continue;
            }
            let u = parse::usage(&Fields::new(k, &pairs), UsageNames::Plain, w);
            e.requests += u.requests;
            e.all_tokens += u.four_kinds();
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

/// The key id of a real API key record found by SCAN `apikey:*`: exactly two colon parts, not
/// `apikey:hash_map` (CRS's `scanApiKeyIds`).
pub fn api_key_id(key: &str) -> Option<&str> {
    let id = key.strip_prefix("apikey:")?;
    (!id.is_empty() && !id.contains(':') && id != "hash_map").then_some(id)
}

fn key_record(id: &str, f: &Fields, w: &mut Warnings) -> KeyRecord {
    let tags = f
        .get("tags")
        .and_then(|t| serde_json::from_str::<Vec<String>>(t).ok())
        .unwrap_or_default();
    KeyRecord {
        id: id.to_string(),
        name: f.get("name").unwrap_or(id).to_string(),
        is_active: f.boolean("isActive").unwrap_or(false),
        is_deleted: f.boolean("isDeleted").unwrap_or(false),
        daily_cost_limit: f.float("dailyCostLimit", w).unwrap_or(0.0),
        total_cost_limit: f.float("totalCostLimit", w).unwrap_or(0.0),
        weekly_opus_cost_limit: f.float("weeklyOpusCostLimit", w).unwrap_or(0.0),
        tags,
        weekly_reset_day: f
            .get("weeklyResetDay")
            .and_then(|v| v.trim().parse().ok())
            .filter(|d| (1..=7).contains(d))
            .unwrap_or(1),
        weekly_reset_hour: f
            .get("weeklyResetHour")
            .and_then(|v| v.trim().parse().ok())
            .filter(|h| *h < 24)
            .unwrap_or(0),
    }
}

fn hash_account(id: String, f: &Fields, w: &mut Warnings) -> AccountRecord {
    AccountRecord {
        platform: None,
        id,
        is_active: f.boolean("isActive"),
        status: f.get("status").map(str::to_string),
        schedulable: f.boolean("schedulable"),
        rate_limit_status: f.get("rateLimitStatus").map(str::to_string),
        rate_limited_at: f.time("rateLimitedAt", w),
        rate_limit_end_at: f.time("rateLimitEndAt", w),
        rate_limit_duration_minutes: f
            .get("rateLimitDuration")
            .and_then(|v| v.trim().parse().ok()),
    }
}

/// A Bedrock account: a JSON string whose booleans are real booleans.
fn json_account(json: &str) -> Option<AccountRecord> {
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    let obj = v.as_object()?;
    let boolean = |k: &str| match obj.get(k)? {
        serde_json::Value::Bool(b) => Some(*b),
        serde_json::Value::String(s) => parse::parse_bool(s),
        _ => None,
    };
    Some(AccountRecord {
        platform: None,
        id: String::new(),
        is_active: boolean("isActive"),
        status: obj
            .get("status")
            .and_then(|s| s.as_str())
            .map(str::to_string),
        schedulable: boolean("schedulable"),
        rate_limit_status: None,
        rate_limited_at: None,
        rate_limit_end_at: None,
        rate_limit_duration_minutes: None,
    })
}

fn is_month(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 7
        && b[4] == b'-'
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[5..].iter().all(u8::is_ascii_digit)
}

/// The start of the key's current weekly Opus period on the relay's clock, `YYYY-MM-DDTHH`:
/// the latest `weeklyResetDay` (1 = Monday … 7 = Sunday) at `weeklyResetHour` not after now.
pub fn opus_period(now: DateTime<Utc>, tz: RelayTz, reset_day: u32, reset_hour: u32) -> String {
    let local = tz.local(now);
    let weekday = local.weekday().number_from_monday(); // 1..=7
    let mut back = (weekday + 7 - reset_day.clamp(1, 7)) % 7;
    if back == 0 && local.hour() < reset_hour {
        back = 7;
    }
    let start = local.date_naive() - Days::days(back as i64);
    format!("{}T{:02}", start.format("%Y-%m-%d"), reset_hour.min(23))
}

/// The week name older CRS versions (before v1.1.281) gave the weekly Opus key,
/// `getWeekStringInTimezone`: `YYYY-Wxx` where the year is the relay-local calendar year and the
/// week is `ceil(((thursday_of_this_week - Jan 1 of that Thursday's year) / 1 day + 1) / 7)`,
/// the Thursday keeping the time of day (CRS runs Node in UTC).
pub fn legacy_opus_week(now: DateTime<Utc>, tz: RelayTz) -> String {
    let shifted = now + Days::hours(tz.hours() as i64);
    let year = shifted.year();
    let from_monday = shifted.weekday().number_from_monday() as i64; // Sunday is 7
    let thursday = shifted + Days::days(4 - from_monday);
    let jan1 = chrono::NaiveDate::from_ymd_opt(thursday.year(), 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc())
        .unwrap_or(thursday);
    let days = (thursday - jan1).num_milliseconds() as f64 / 86_400_000.0;
    let week = ((days + 1.0) / 7.0).ceil() as i64;
    format!("{year}-W{week:02}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn api_key_scan_filter() {
        assert_eq!(api_key_id("apikey:7f0c"), Some("7f0c"));
        assert_eq!(api_key_id("apikey:hash_map"), None);
        assert_eq!(api_key_id("apikey:idx:all"), None);
        assert_eq!(api_key_id("apikey:set:active"), None);
        assert_eq!(api_key_id("apikey_hash:abc"), None);
    }

    #[test]
    fn opus_period_starts_at_the_last_reset() {
        let tz = RelayTz::from_config(8);
        // Sunday 2026-11-22 12:00 +08:00.
        let now = Utc.with_ymd_and_hms(2026, 11, 22, 4, 0, 0).unwrap();
        assert_eq!(opus_period(now, tz, 1, 0), "2026-11-16T00");
        assert_eq!(opus_period(now, tz, 7, 9), "2026-11-22T09");
        assert_eq!(opus_period(now, tz, 7, 13), "2026-11-15T13");
    }

    #[test]
    fn legacy_week_names() {
        let tz = RelayTz::from_config(8);
        // Sunday 2026-11-22 (local): Thursday of that Monday-based week is 2026-11-19.
        let now = Utc.with_ymd_and_hms(2026, 11, 22, 4, 0, 0).unwrap();
        assert_eq!(legacy_opus_week(now, tz), "2026-W47");
        // Thursday 2026-01-01 local morning.
        let jan = Utc.with_ymd_and_hms(2026, 1, 1, 1, 0, 0).unwrap();
        assert_eq!(legacy_opus_week(jan, tz), "2026-W01");
    }
}
