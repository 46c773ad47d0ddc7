//! `CrsWriter` and its specs, which write Redis data as Claude Relay Service writes it; rule: key names, field names, string encodings, commands (HINCRBY / INCRBYFLOAT / SADD …), TTLs and index sets are CRS's own (upstream `src/models/redis.js`, `apiKeyService.js`, `apiKeyIndexService.js`, the account services), and every deliberate simplification is written down next to the code.
//!
//! Simplifications, all deliberate:
//! * `usage()` does not write `usage:records:{id}`, does not touch
//!   `apikey:{id}.lastUsedAt` (use [`CrsWriter::touch_last_used`]) and writes
//!   `account_usage:*` whenever the event names an account (CRS also checks
//!   that the API key exists).
//! * `api_key()` does not write `cost_rank:*` and stores a fake `apiKey` hash
//!   (CRS stores sha256(secret + ENCRYPTION_KEY), which no reader can check).
//! * TTLs are set relative to the real clock at write time, as CRS does, even
//!   when the event's `at` lies in the past.
//! * `account()` writes the status-relevant fields plus a few common ones
//!   (`id`, `name`, `priority`, `accountType`, `createdAt`, …), never secrets;
//!   anything else goes in [`AccountSpec::extra`].
//!
//! Modules: [`batch`] (a pipeline and its count), [`api_keys`] (`ApiKeySpec`, `apikey:*`),
//! [`usage`] (`UsageEvent`, the per-request counters and costs), [`account_usage`]
//! (`account_usage:*`), [`accounts`] (`Platform`, `AccountSpec`, account records).

mod account_usage;
mod accounts;
mod api_keys;
pub(crate) mod batch;
mod usage;

use std::collections::HashMap;

use redis::Connection;

use crate::crs_time::{effective_tz_offset, DEFAULT_TZ_OFFSET_HOURS};

pub use accounts::{AccountSpec, Platform};
pub use api_keys::{fake_sha256_hex, ApiKeySpec};
pub(crate) use batch::Batch;
pub use usage::{iso_week_string, micro, UsageCounts, UsageEvent};

/// One day in seconds.
pub const DAY: i64 = 86_400;
/// TTL of `apikey:{id}` (refreshed on every `setApiKey`).
pub const TTL_API_KEY: i64 = 365 * DAY;
/// TTL of daily usage hashes and daily index sets.
pub const TTL_USAGE_DAILY: i64 = 32 * DAY;
/// TTL of monthly usage hashes and the monthly model index.
pub const TTL_USAGE_MONTHLY: i64 = 365 * DAY;
/// TTL of hourly usage hashes and hourly index sets.
pub const TTL_USAGE_HOURLY: i64 = 7 * DAY;
/// TTL of `usage:cost:daily:*` and `usage:cost:real:daily:*`.
pub const TTL_COST_DAILY: i64 = 30 * DAY;
/// TTL of `usage:cost:monthly:*`.
pub const TTL_COST_MONTHLY: i64 = 90 * DAY;
/// TTL of `usage:cost:hourly:*`.
pub const TTL_COST_HOURLY: i64 = 7 * DAY;
/// TTL of `usage:opus:weekly:*` and `usage:opus:real:weekly:*`.
pub const TTL_OPUS_WEEKLY: i64 = 14 * DAY;
/// CRS's default `METRICS_WINDOW` in minutes; minute keys live twice as long.
pub const DEFAULT_METRICS_WINDOW_MINUTES: u32 = 5;

/// Account types whose Claude-family cost also goes to the weekly Opus keys
/// (`apiKeyService.recordOpusCost`).
pub const OPUS_ACCOUNT_TYPES: [&str; 3] = ["claude-official", "claude-console", "ccr"];

/// How the weekly Opus key names its week.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpusWeek {
    /// `YYYY-MM-DDThh`, the start of the key's reset period (`getPeriodString`,
    /// CRS ≥ v1.1.281).
    ResetPeriod,
    /// `YYYY-Wxx` (`getWeekStringInTimezone`, older CRS; still what
    /// `batchGetApiKeyStats` reads).
    IsoWeek,
}

/// What the writer writes besides the always-present data keys.
#[derive(Clone, Debug)]
pub struct WriterOptions {
    /// Index sets (`usage:*:index:*`, `apikey:idx:*`, `<account prefix>index`…), CRS ≥ v1.1.263.
    pub indexes: bool,
    /// `usage:global:total|daily|monthly`, added 2026-01-19.
    pub global_aggregates: bool,
    /// `realCostMicro` / `ratedCostMicro` on per-key-per-model hashes, added 2026-01-22.
    pub cost_micros: bool,
    /// `usage:{id}:model:alltime:{model}`, added 2026-01-19.
    pub alltime_model_stats: bool,
    /// Configured `TIMEZONE_OFFSET` in hours (0 is turned into 8, as CRS does).
    pub tz_offset_hours: i32,
    /// `METRICS_WINDOW` in minutes; `system:metrics:minute:*` TTL is twice that.
    pub metrics_window_minutes: u32,
    /// Value written to `apikey:index:version` when indexes are on.
    pub index_version: String,
    /// Naming of `usage:opus:weekly:{id}:{week}`.
    pub opus_week: OpusWeek,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            indexes: true,
            global_aggregates: true,
            cost_micros: true,
            alltime_model_stats: true,
            tz_offset_hours: DEFAULT_TZ_OFFSET_HOURS,
            metrics_window_minutes: DEFAULT_METRICS_WINDOW_MINUTES,
            // CRS's redis.js treats a version >= 2 as "index ready"; the newest
            // apiKeyIndexService writes 4. Both readers accept 2 or more.
            index_version: "2".to_string(),
            opus_week: OpusWeek::ResetPeriod,
        }
    }
}

impl WriterOptions {
    /// The effective offset (CRS turns 0 into 8).
    pub fn offset(&self) -> i32 {
        effective_tz_offset(self.tz_offset_hours)
    }
}

/// Writes CRS-shaped data into one Redis database over a sync connection.
///
/// By default every writer call runs at once (one round trip). With
/// [`CrsWriter::buffered`] calls are queued and sent in big pipelines; call
/// [`CrsWriter::flush`] (or drop the writer) to send the rest.
pub struct CrsWriter {
    con: Connection,
    url: String,
    opts: WriterOptions,
    batch: Batch,
    buffered: bool,
    flush_every: usize,
    weekly_reset: HashMap<String, (i64, i64)>,
}

impl CrsWriter {
    /// Connects to `url` (e.g. from [`crate::fresh_db`]). Panics when it cannot.
    pub fn connect(url: &str) -> CrsWriter {
        let client = redis::Client::open(url)
            .unwrap_or_else(|e| panic!("CrsWriter: bad redis url {url}: {e}"));
        let con = client
            .get_connection()
            .unwrap_or_else(|e| panic!("CrsWriter: cannot connect to {url}: {e}"));
        CrsWriter {
            con,
            url: url.to_string(),
            opts: WriterOptions::default(),
            batch: Batch::new(),
            buffered: false,
            flush_every: 20_000,
            weekly_reset: HashMap::new(),
        }
    }

    /// The URL this writer writes to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The options in force.
    pub fn options(&self) -> &WriterOptions {
        &self.opts
    }

    /// Replaces all options at once.
    pub fn with_options(mut self, opts: WriterOptions) -> Self {
        self.opts = opts;
        self
    }

    /// Index sets on or off (default on).
    pub fn with_indexes(mut self, on: bool) -> Self {
        self.opts.indexes = on;
        self
    }

    /// `usage:global:*` on or off (default on; older deployments lack them).
    pub fn with_global_aggregates(mut self, on: bool) -> Self {
        self.opts.global_aggregates = on;
        self
    }

    /// `realCostMicro` / `ratedCostMicro` on or off (default on).
    pub fn with_cost_micros(mut self, on: bool) -> Self {
        self.opts.cost_micros = on;
        self
    }

    /// `usage:{id}:model:alltime:{model}` on or off (default on).
    pub fn with_alltime_model_stats(mut self, on: bool) -> Self {
        self.opts.alltime_model_stats = on;
        self
    }

    /// Configured `TIMEZONE_OFFSET` in hours (default 8; 0 behaves as 8, like CRS).
    pub fn tz_offset_hours(mut self, hours: i32) -> Self {
        self.opts.tz_offset_hours = hours;
        self
    }

    /// `METRICS_WINDOW` in minutes (default 5).
    pub fn metrics_window_minutes(mut self, minutes: u32) -> Self {
        self.opts.metrics_window_minutes = minutes;
        self
    }

    /// Value of `apikey:index:version` (default "2").
    pub fn index_version(mut self, version: impl Into<String>) -> Self {
        self.opts.index_version = version.into();
        self
    }

    /// Naming of the weekly Opus keys (default [`OpusWeek::ResetPeriod`]).
    pub fn opus_week(mut self, style: OpusWeek) -> Self {
        self.opts.opus_week = style;
        self
    }

    /// What a v1.1.128-era deployment wrote: no index sets, no global
    /// aggregates, no cost micros, no all-time model stats, ISO-week Opus keys.
    pub fn legacy(self) -> Self {
        self.with_indexes(false)
            .with_global_aggregates(false)
            .with_cost_micros(false)
            .with_alltime_model_stats(false)
            .opus_week(OpusWeek::IsoWeek)
    }

    /// Queue writes and send them in pipelines of about `flush_every` commands.
    pub fn buffered(mut self, on: bool) -> Self {
        self.buffered = on;
        self
    }

    /// Commands per pipeline in buffered mode (default 20 000).
    pub fn flush_every(mut self, commands: usize) -> Self {
        self.flush_every = commands.max(1);
        self
    }

    /// Sends every queued command. Panics on a Redis error.
    pub fn flush(&mut self) {
        if self.batch.count == 0 {
            return;
        }
        let batch = std::mem::replace(&mut self.batch, Batch::new());
        batch.pipe.exec(&mut self.con).unwrap_or_else(|e| {
            panic!(
                "CrsWriter: pipeline of {} commands to {} failed: {e}",
                batch.count, self.url
            )
        });
    }

    fn done(&mut self) {
        if !self.buffered || self.batch.count >= self.flush_every {
            self.flush();
        }
    }

    /// The raw connection (queued commands are flushed first).
    pub fn connection(&mut self) -> &mut Connection {
        self.flush();
        &mut self.con
    }

    /// HSET key field value, nothing else.
    pub fn raw_hset(&mut self, key: &str, field: &str, value: &str) -> &mut Self {
        self.batch
            .cmd("HSET")
            .arg(key)
            .arg(field)
            .arg(value)
            .ignore();
        self.done();
        self
    }

    /// SET key value, nothing else.
    pub fn raw_set(&mut self, key: &str, value: &str) -> &mut Self {
        self.batch.cmd("SET").arg(key).arg(value).ignore();
        self.done();
        self
    }

    /// SADD key member, nothing else.
    pub fn raw_sadd(&mut self, key: &str, member: &str) -> &mut Self {
        self.batch.sadd(key, member);
        self.done();
        self
    }

    /// ZADD key score member, nothing else.
    pub fn raw_zadd(&mut self, key: &str, score: f64, member: &str) -> &mut Self {
        self.batch
            .cmd("ZADD")
            .arg(key)
            .arg(score)
            .arg(member)
            .ignore();
        self.done();
        self
    }

    /// EXPIRE key seconds, nothing else.
    pub fn raw_expire(&mut self, key: &str, seconds: i64) -> &mut Self {
        self.batch.expire(key, seconds);
        self.done();
        self
    }

    /// DEL key, nothing else.
    pub fn raw_del(&mut self, key: &str) -> &mut Self {
        self.batch.del(key);
        self.done();
        self
    }
}

impl Drop for CrsWriter {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            self.flush();
        }
    }
}
