//! Large CRS-shaped datasets for benchmarks; rule: the result is the Redis state CRS would hold at `now` after the generated requests (same keys, fields, index sets and remaining TTLs, keys whose TTL would have run out left out), written as aggregates in big pipelines and printing nothing.
//!
//! The generated traffic: every key uses every model on every day, with
//! `bench_cell(k, d, m).requests` identical requests, all recorded at
//! `now - d days` (so day 0's requests fall in the current hour and minute).
//!
//! Aggregating instead of replaying is exact for every HINCRBY counter
//! (sums of integers, cost micros included, since each request adds
//! `Math.round(cost * 1e6)`). INCRBYFLOAT cost keys get one INCRBYFLOAT of the
//! sum, so their last digits can differ from a request-by-request replay.
//! Keys not written because CRS's TTL would have removed them by `now`:
//! hourly hashes, hourly index sets and `usage:cost:hourly:*` older than
//! 7 days, `system:metrics:minute:*` for any day but today. `usage:records:*`
//! and `cost_rank:*` are not written.
//!
//! Speed: hashes are sent as `RESTORE key ttl <DUMP payload> REPLACE` (see
//! [`crate::dump`]) when the server accepts it, else as HSET + EXPIRE; both
//! give the same hash and TTL (a test checks it). On the 2-core machine,
//! 10,000 keys × 30 days × 30 models took about 2 minutes and left about
//! 13.2 million Redis keys using about 5.9 GB; the server's own key
//! insertion (hashing, dict growth, page faults) is the limit.

use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, Utc};
use redis::{Connection, ConnectionLike, Value};

use crate::crs_time::{
    date_string, effective_tz_offset, epoch_minute, hour_string, month_string, period_string,
    DEFAULT_TZ_OFFSET_HOURS,
};
use crate::dump;
use crate::model::is_claude_family_model;
use crate::writer::{
    AccountSpec, ApiKeySpec, CrsWriter, Platform, DAY, OPUS_ACCOUNT_TYPES, TTL_COST_DAILY,
    TTL_COST_HOURLY, TTL_COST_MONTHLY, TTL_OPUS_WEEKLY, TTL_USAGE_DAILY, TTL_USAGE_HOURLY,
    TTL_USAGE_MONTHLY,
};

/// Model names used by the bench, in order; past the 30th they are `bench-model-{m}`.
pub const BENCH_MODELS: [&str; 30] = [
    "claude-sonnet-4-20250514",
    "claude-opus-4-1-20250805",
    "claude-3-5-haiku-20241022",
    "claude-sonnet-4-5-20250929",
    "claude-opus-4-20250514",
    "claude-3-7-sonnet-20250219",
    "claude-haiku-4-5-20251001",
    "claude-sonnet-4-20250514[1m]",
    "claude-opus-4-5-20251101",
    "claude-3-opus-20240229",
    "claude-3-5-sonnet-20241022",
    "gpt-5",
    "gpt-5-codex",
    "gpt-5-mini",
    "gpt-5-nano",
    "gpt-4.1",
    "gpt-4o",
    "gpt-4o-mini",
    "o3",
    "o4-mini",
    "gemini-2.5-pro",
    "gemini-2.5-flash",
    "gemini-2.5-flash-lite",
    "gemini-2.0-flash",
    "grok-4",
    "deepseek-chat",
    "qwen3-coder",
    "kimi-k2",
    "glm-4.5",
    "codex-mini",
];

/// Accounts the bench creates: (platform, id, account type used in usage events).
pub const BENCH_ACCOUNT_LAYOUT: [(Platform, usize, &str); 4] = [
    (Platform::Claude, 8, "claude-official"),
    (Platform::ClaudeConsole, 4, "claude-console"),
    (Platform::OpenAi, 4, "openai"),
    (Platform::Gemini, 4, "gemini"),
];

/// The bench's key id for key number `k` (a UUID-shaped string).
pub fn bench_key_id(k: usize) -> String {
    format!("00000000-0000-4000-8000-{k:012x}")
}

/// The bench's model name for model number `m` (already normalised).
pub fn bench_model(m: usize) -> String {
    BENCH_MODELS
        .get(m)
        .map(|s| s.to_string())
        .unwrap_or_else(|| format!("bench-model-{m}"))
}

/// All bench accounts, in order.
pub fn bench_accounts() -> Vec<(Platform, String, &'static str)> {
    let mut out = Vec::new();
    for (platform, count, account_type) in BENCH_ACCOUNT_LAYOUT {
        for i in 0..count {
            out.push((
                platform,
                format!("bench-{}-{i}", platform.name()),
                account_type,
            ));
        }
    }
    out
}

/// Index into [`bench_accounts`] of the account serving key `k`.
pub fn bench_account_index(k: usize) -> usize {
    let total: usize = BENCH_ACCOUNT_LAYOUT.iter().map(|(_, n, _)| n).sum();
    k % total
}

/// Totals of one or more requests.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BenchCell {
    pub requests: i64,
    pub input: i64,
    pub output: i64,
    pub cache_create: i64,
    pub cache_read: i64,
    pub ephemeral_5m: i64,
    pub ephemeral_1h: i64,
    /// Sum over requests of `Math.round(realCost * 1e6)`.
    pub real_micro: i64,
    /// Sum over requests of `Math.round(ratedCost * 1e6)`.
    pub rated_micro: i64,
    pub real_usd: f64,
    pub rated_usd: f64,
}

impl BenchCell {
    /// input + output + cache create + cache read.
    pub fn all(&self) -> i64 {
        self.input + self.output + self.cache_create + self.cache_read
    }

    /// input + output.
    pub fn core(&self) -> i64 {
        self.input + self.output
    }

    fn add(&mut self, o: &BenchCell) {
        self.requests += o.requests;
        self.input += o.input;
        self.output += o.output;
        self.cache_create += o.cache_create;
        self.cache_read += o.cache_read;
        self.ephemeral_5m += o.ephemeral_5m;
        self.ephemeral_1h += o.ephemeral_1h;
        self.real_micro += o.real_micro;
        self.rated_micro += o.rated_micro;
        self.real_usd += o.real_usd;
        self.rated_usd += o.rated_usd;
    }
}

/// Per-million-token prices (input, output) the bench uses for its costs.
pub fn bench_price(model: &str) -> (f64, f64) {
    if model.contains("opus") {
        (15.0, 75.0)
    } else if model.contains("sonnet") {
        (3.0, 15.0)
    } else if model.contains("haiku") {
        (0.8, 4.0)
    } else if model.starts_with("gpt-5") {
        (1.25, 10.0)
    } else {
        (1.0, 4.0)
    }
}

/// The service-rate multiplier of key `k` (rated = real × this).
pub fn bench_rate(k: usize) -> f64 {
    [1.0, 1.0, 1.5, 0.8][k % 4]
}

/// One of the identical requests key `k` made to model `m` on day `d`
/// (0 = today), and how many of them there were.
pub fn bench_request(k: usize, d: usize, m: usize) -> (i64, BenchCell) {
    let requests = 1 + ((k + d + m) % 3) as i64;
    let input = 200 + ((k * 31 + d * 17 + m * 7) % 800) as i64;
    let output = 50 + ((k * 13 + d * 7 + m * 29) % 400) as i64;
    let cache_create = ((k + m) % 5) as i64 * 100;
    let cache_read = ((k * 7 + d + m) % 4) as i64 * 500;
    let (pin, pout) = bench_price(&bench_model(m));
    let real = (input as f64 * pin
        + output as f64 * pout
        + cache_create as f64 * pin * 1.25
        + cache_read as f64 * pin * 0.1)
        / 1_000_000.0;
    let rated = real * bench_rate(k);
    let one = BenchCell {
        requests: 1,
        input,
        output,
        cache_create,
        cache_read,
        ephemeral_5m: cache_create,
        ephemeral_1h: 0,
        real_micro: crate::writer::micro(real),
        rated_micro: crate::writer::micro(rated),
        real_usd: real,
        rated_usd: rated,
    };
    (requests, one)
}

/// What key `k` used of model `m` on day `d` (0 = today): the totals of its
/// [`bench_request`]s.
pub fn bench_cell(k: usize, d: usize, m: usize) -> BenchCell {
    let (n, one) = bench_request(k, d, m);
    BenchCell {
        requests: n,
        input: one.input * n,
        output: one.output * n,
        cache_create: one.cache_create * n,
        cache_read: one.cache_read * n,
        ephemeral_5m: one.ephemeral_5m * n,
        ephemeral_1h: one.ephemeral_1h * n,
        real_micro: one.real_micro * n,
        rated_micro: one.rated_micro * n,
        real_usd: one.real_usd * n as f64,
        rated_usd: one.rated_usd * n as f64,
    }
}

/// Everything `seed_bench_with` needs.
#[derive(Clone, Debug)]
pub struct BenchConfig {
    pub keys: usize,
    pub days: usize,
    pub models: usize,
    pub now: DateTime<Utc>,
    /// Configured `TIMEZONE_OFFSET` (0 behaves as 8).
    pub tz_offset_hours: i32,
    /// Writer threads (one connection each).
    pub workers: usize,
    pub indexes: bool,
    pub global_aggregates: bool,
    pub cost_micros: bool,
    /// Commands per pipeline.
    pub pipeline_commands: usize,
    /// Write hashes with RESTORE of a DUMP payload when the server accepts it
    /// (much faster than HSET + EXPIRE; same resulting hash and TTL).
    pub use_restore: bool,
}

impl BenchConfig {
    pub fn new(keys: usize, days: usize, models: usize, now: DateTime<Utc>) -> Self {
        BenchConfig {
            keys,
            days,
            models,
            now,
            tz_offset_hours: DEFAULT_TZ_OFFSET_HOURS,
            workers: 2,
            indexes: true,
            global_aggregates: true,
            cost_micros: true,
            pipeline_commands: 10_000,
            use_restore: true,
        }
    }
}

/// What was seeded.
#[derive(Clone, Debug)]
pub struct SeedReport {
    pub key_ids: Vec<String>,
    pub models: Vec<String>,
    /// DATE buckets, index 0 = the day of `now`.
    pub dates: Vec<String>,
    pub accounts: Vec<(Platform, String)>,
    /// DBSIZE afterwards.
    pub redis_keys: u64,
    /// Commands sent.
    pub commands: u64,
    pub elapsed: StdDuration,
    /// Wall time of each phase: per-key data, shared data, API keys and accounts.
    pub phases: Vec<(&'static str, StdDuration)>,
    /// Whether hashes were written with RESTORE (else HSET + EXPIRE).
    pub used_restore: bool,
    /// Sum over every cell.
    pub totals: BenchCell,
    /// Sum over day 0.
    pub today: BenchCell,
}

/// `seed_bench_with(url, &BenchConfig::new(keys, days, models, now))`.
pub fn seed_bench(
    url: &str,
    keys: usize,
    days: usize,
    models: usize,
    now: DateTime<Utc>,
) -> SeedReport {
    seed_bench_with(url, &BenchConfig::new(keys, days, models, now))
}

/// Seeds `keys` API keys × `days` days × `models` models (every combination)
/// plus [`bench_accounts`]. Expects an empty database; prints nothing.
pub fn seed_bench_with(url: &str, cfg: &BenchConfig) -> SeedReport {
    assert!(
        cfg.days >= 1 && cfg.models >= 1,
        "seed_bench: days and models must be at least 1"
    );
    let started = Instant::now();
    let plan = Plan::new(cfg);
    let restore = cfg.use_restore && {
        let mut probe = Sink::connect(url, 1, false);
        restore_works(&mut probe.con)
    };
    let workers = cfg.workers.clamp(1, 16);
    let chunk = cfg.keys.div_ceil(workers).max(1);

    let mut phases = Vec::new();
    let phase_start = Instant::now();
    let results: Vec<Accum> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                let plan = &plan;
                let start = (w * chunk).min(cfg.keys);
                let end = ((w + 1) * chunk).min(cfg.keys);
                s.spawn(move || {
                    let mut sink = Sink::connect(url, cfg.pipeline_commands, restore);
                    let mut acc = Accum::new(plan);
                    for k in start..end {
                        seed_key(&mut sink, plan, &mut acc, k);
                    }
                    sink.flush();
                    acc.commands = sink.commands;
                    acc
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| panic!("seed_bench: a worker panicked"))
            })
            .collect()
    });

    phases.push(("per-key data", phase_start.elapsed()));
    let phase_start = Instant::now();
    let mut acc = Accum::new(&plan);
    for r in &results {
        acc.merge(r);
    }

    let mut sink = Sink::connect(url, cfg.pipeline_commands, restore);
    seed_globals(&mut sink, &plan, &acc);
    sink.flush();
    phases.push(("shared data", phase_start.elapsed()));
    let phase_start = Instant::now();

    // API keys and accounts go through the ordinary writer.
    let mut writer = CrsWriter::connect(url)
        .tz_offset_hours(cfg.tz_offset_hours)
        .with_indexes(cfg.indexes)
        .buffered(true)
        .flush_every(cfg.pipeline_commands);
    let created = cfg.now - Duration::days(cfg.days as i64 + 5);
    for k in 0..cfg.keys {
        let mut spec = ApiKeySpec::new(bench_key_id(k), format!("bench-key-{k:05}"), created)
            .tags(&[format!("team-{}", k % 10)])
            .last_used_at(cfg.now);
        if k % 50 == 49 {
            spec = spec.active(false);
        }
        if k % 100 == 99 {
            spec = spec.deleted_at(cfg.now - Duration::hours(1));
        }
        if k % 7 == 0 {
            spec = spec.daily_cost_limit(50.0).total_cost_limit(1000.0);
        }
        if bench_rate(k) != 1.0 {
            spec = spec.service_rates(serde_json::json!({ "claude": bench_rate(k) }));
        }
        writer.api_key(&spec);
    }
    let accounts = bench_accounts();
    for (i, (platform, id, _)) in accounts.iter().enumerate() {
        let mut spec =
            AccountSpec::new(format!("Bench {} {i}", platform.name())).created_at(created);
        match i % 10 {
            3 => spec = spec.schedulable(false),
            7 => {
                spec = spec.rate_limited(
                    cfg.now - Duration::minutes(10),
                    Some(cfg.now + Duration::minutes(50)),
                )
            }
            9 => spec = spec.status("unauthorized"),
            _ => {}
        }
        writer.account(*platform, id, &spec);
    }
    writer.flush();
    drop(writer);
    phases.push(("api keys and accounts", phase_start.elapsed()));

    let redis_keys: u64 = redis::cmd("DBSIZE")
        .query(&mut sink.con)
        .unwrap_or_else(|e| panic!("seed_bench: DBSIZE failed: {e}"));
    let commands = sink.commands + results.iter().map(|r| r.commands).sum::<u64>();

    let mut today = BenchCell::default();
    for m in 0..plan.models.len() {
        today.add(&acc.model_day[m]);
    }
    SeedReport {
        key_ids: (0..cfg.keys).map(bench_key_id).collect(),
        models: plan.models.clone(),
        dates: plan.days.iter().map(|d| d.date.clone()).collect(),
        accounts: accounts.into_iter().map(|(p, id, _)| (p, id)).collect(),
        redis_keys,
        commands,
        elapsed: started.elapsed(),
        phases,
        used_restore: restore,
        totals: acc.total,
        today,
    }
}

struct DayInfo {
    date: String,
    hour: String,
    month_idx: usize,
    age: i64,
}

struct MonthInfo {
    month: String,
    min_age: i64,
}

struct Plan {
    days: Vec<DayInfo>,
    months: Vec<MonthInfo>,
    /// Opus period per day and (period string, min age) list.
    period_of_day: Vec<usize>,
    periods: Vec<(String, i64)>,
    models: Vec<String>,
    claude_model: Vec<bool>,
    accounts: Vec<(Platform, String, &'static str)>,
    minute: i64,
    indexes: bool,
    global_aggregates: bool,
    cost_micros: bool,
}

impl Plan {
    fn new(cfg: &BenchConfig) -> Plan {
        let offset = effective_tz_offset(cfg.tz_offset_hours);
        let mut days = Vec::with_capacity(cfg.days);
        let mut months: Vec<MonthInfo> = Vec::new();
        let mut periods: Vec<(String, i64)> = Vec::new();
        let mut period_of_day = Vec::with_capacity(cfg.days);
        for d in 0..cfg.days {
            let at = cfg.now - Duration::days(d as i64);
            let age = d as i64 * DAY;
            let month = month_string(at, offset);
            let month_idx = match months.iter().position(|m| m.month == month) {
                Some(i) => i,
                None => {
                    months.push(MonthInfo {
                        month,
                        min_age: age,
                    });
                    months.len() - 1
                }
            };
            let period = period_string(at, offset, 1, 0);
            let p = match periods.iter().position(|(s, _)| *s == period) {
                Some(i) => i,
                None => {
                    periods.push((period, age));
                    periods.len() - 1
                }
            };
            period_of_day.push(p);
            days.push(DayInfo {
                date: date_string(at, offset),
                hour: hour_string(at, offset),
                month_idx,
                age,
            });
        }
        let models: Vec<String> = (0..cfg.models).map(bench_model).collect();
        let claude_model = models.iter().map(|m| is_claude_family_model(m)).collect();
        Plan {
            days,
            months,
            period_of_day,
            periods,
            models,
            claude_model,
            accounts: bench_accounts(),
            minute: epoch_minute(cfg.now),
            indexes: cfg.indexes,
            global_aggregates: cfg.global_aggregates,
            cost_micros: cfg.cost_micros,
        }
    }
}

/// Totals a worker collects for the keys shared by all API keys.
struct Accum {
    models: usize,
    days: usize,
    /// [d * models + m]
    model_day: Vec<BenchCell>,
    /// [(a * days + d) * models + m]
    account_day_model: Vec<BenchCell>,
    total: BenchCell,
    commands: u64,
}

impl Accum {
    fn new(plan: &Plan) -> Accum {
        let (days, models) = (plan.days.len(), plan.models.len());
        Accum {
            models,
            days,
            model_day: vec![BenchCell::default(); days * models],
            account_day_model: vec![BenchCell::default(); plan.accounts.len() * days * models],
            total: BenchCell::default(),
            commands: 0,
        }
    }

    fn merge(&mut self, o: &Accum) {
        for (a, b) in self.model_day.iter_mut().zip(&o.model_day) {
            a.add(b);
        }
        for (a, b) in self.account_day_model.iter_mut().zip(&o.account_day_model) {
            a.add(b);
        }
        self.total.add(&o.total);
    }
}

/// A connection plus an auto-flushing pipeline of hand-encoded RESP commands.
struct Sink {
    con: Connection,
    buf: Vec<u8>,
    count: usize,
    every: usize,
    commands: u64,
    /// Hashes go in as RESTORE of a DUMP payload (one command, one allocation
    /// on the server) instead of HSET + EXPIRE.
    restore: bool,
}

impl Sink {
    fn connect(url: &str, every: usize, restore: bool) -> Sink {
        let client =
            redis::Client::open(url).unwrap_or_else(|e| panic!("seed_bench: bad url {url}: {e}"));
        let con = client
            .get_connection()
            .unwrap_or_else(|e| panic!("seed_bench: cannot connect to {url}: {e}"));
        Sink {
            con,
            buf: Vec::with_capacity(1 << 20),
            count: 0,
            every: every.max(1),
            commands: 0,
            restore,
        }
    }

    fn begin(&mut self, args: usize) {
        if self.count >= self.every {
            self.flush();
        }
        self.count += 1;
        self.buf.push(b'*');
        push_decimal(&mut self.buf, args as i64);
        self.buf.extend_from_slice(b"\r\n");
    }

    fn arg(&mut self, a: &[u8]) {
        self.buf.push(b'$');
        push_decimal(&mut self.buf, a.len() as i64);
        self.buf.extend_from_slice(b"\r\n");
        self.buf.extend_from_slice(a);
        self.buf.extend_from_slice(b"\r\n");
    }

    fn arg_int(&mut self, v: i64) {
        let mut tmp = Vec::with_capacity(20);
        push_decimal(&mut tmp, v);
        self.arg(&tmp);
    }

    fn flush(&mut self) {
        if self.count == 0 {
            return;
        }
        let replies = self
            .con
            .req_packed_commands(&self.buf, 0, self.count)
            .unwrap_or_else(|e| {
                panic!(
                    "seed_bench: pipeline of {} commands failed: {e}",
                    self.count
                )
            });
        if let Some(err) = replies.iter().find(|v| matches!(v, Value::ServerError(_))) {
            panic!("seed_bench: a command failed: {err:?}");
        }
        self.commands += self.count as u64;
        self.count = 0;
        self.buf.clear();
    }

    /// The hash with these fields and what is left of `ttl` after `age`
    /// (nothing at all when that is not positive). `ttl` None: no TTL.
    fn hash(&mut self, key: &str, fields: &[(&str, i64)], ttl: Option<i64>, age: i64) {
        let remaining = match ttl {
            Some(t) if t - age <= 0 => return,
            Some(t) => Some(t - age),
            None => None,
        };
        if self.restore {
            if let Some(payload) = dump::hash_payload(fields) {
                self.begin(5);
                self.arg(b"RESTORE");
                self.arg(key.as_bytes());
                self.arg_int(remaining.map(|r| r * 1000).unwrap_or(0));
                self.arg(&payload);
                self.arg(b"REPLACE");
                return;
            }
        }
        self.begin(2 + fields.len() * 2);
        self.arg(b"HSET");
        self.arg(key.as_bytes());
        for (f, v) in fields {
            self.arg(f.as_bytes());
            self.arg_int(*v);
        }
        if let Some(r) = remaining {
            self.expire(key, r);
        }
    }

    /// HSET of string fields, nothing else.
    fn hset_strings(&mut self, key: &str, fields: &[(String, i64)]) {
        self.begin(2 + fields.len() * 2);
        self.arg(b"HSET");
        self.arg(key.as_bytes());
        for (f, v) in fields {
            self.arg(f.as_bytes());
            self.arg_int(*v);
        }
    }

    fn expire(&mut self, key: &str, secs: i64) {
        self.begin(3);
        self.arg(b"EXPIRE");
        self.arg(key.as_bytes());
        self.arg_int(secs);
    }

    fn float(&mut self, key: &str, value: f64, ttl: Option<i64>, age: i64) {
        let remaining = match ttl {
            Some(t) if t - age <= 0 => return,
            Some(t) => Some(t - age),
            None => None,
        };
        self.begin(3);
        self.arg(b"INCRBYFLOAT");
        self.arg(key.as_bytes());
        self.arg(format!("{value}").as_bytes());
        if let Some(r) = remaining {
            self.expire(key, r);
        }
    }

    fn sadd_many(&mut self, key: &str, members: &[String]) {
        if members.is_empty() {
            return;
        }
        self.begin(2 + members.len());
        self.arg(b"SADD");
        self.arg(key.as_bytes());
        for m in members {
            self.arg(m.as_bytes());
        }
    }

    fn expire_left(&mut self, key: &str, ttl: i64, age: i64) {
        if ttl - age > 0 {
            self.expire(key, ttl - age);
        }
    }
}

fn push_decimal(out: &mut Vec<u8>, v: i64) {
    let mut digits = [0u8; 20];
    let mut n = v.unsigned_abs();
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&digits[i..]);
}

/// True when the server takes this crate's DUMP payloads (Redis >= 7.0) and
/// they read back as the same hash.
fn restore_works(con: &mut Connection) -> bool {
    let probe = "relaywatch:testkit:restore-probe";
    let fields = [("inputTokens", 1234_i64), ("requests", 1), ("neg", -5)];
    let Some(payload) = dump::hash_payload(&fields) else {
        return false;
    };
    let ok: redis::RedisResult<()> = redis::cmd("RESTORE")
        .arg(probe)
        .arg(0)
        .arg(payload)
        .arg("REPLACE")
        .query(con);
    if ok.is_err() {
        return false;
    }
    let got: redis::RedisResult<std::collections::BTreeMap<String, String>> =
        redis::cmd("HGETALL").arg(probe).query(con);
    let _: redis::RedisResult<()> = redis::cmd("DEL").arg(probe).query(con);
    let want: std::collections::BTreeMap<String, String> = fields
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    matches!(got, Ok(m) if m == want)
}

fn model_fields(c: &BenchCell, all_tokens: bool, micros: bool) -> Vec<(&'static str, i64)> {
    let mut f = vec![
        ("inputTokens", c.input),
        ("outputTokens", c.output),
        ("cacheCreateTokens", c.cache_create),
        ("cacheReadTokens", c.cache_read),
    ];
    if all_tokens {
        f.push(("allTokens", c.all()));
    }
    f.push(("requests", c.requests));
    f.push(("ephemeral5mTokens", c.ephemeral_5m));
    f.push(("ephemeral1hTokens", c.ephemeral_1h));
    if micros {
        if c.real_micro > 0 {
            f.push(("realCostMicro", c.real_micro));
        }
        if c.rated_micro > 0 {
            f.push(("ratedCostMicro", c.rated_micro));
        }
    }
    f
}

fn period_fields(c: &BenchCell) -> Vec<(&'static str, i64)> {
    vec![
        ("tokens", c.core()),
        ("inputTokens", c.input),
        ("outputTokens", c.output),
        ("cacheCreateTokens", c.cache_create),
        ("cacheReadTokens", c.cache_read),
        ("allTokens", c.all()),
        ("requests", c.requests),
        ("ephemeral5mTokens", c.ephemeral_5m),
        ("ephemeral1hTokens", c.ephemeral_1h),
    ]
}

fn total_fields(c: &BenchCell) -> Vec<(&'static str, i64)> {
    vec![
        ("totalTokens", c.core()),
        ("totalInputTokens", c.input),
        ("totalOutputTokens", c.output),
        ("totalCacheCreateTokens", c.cache_create),
        ("totalCacheReadTokens", c.cache_read),
        ("totalAllTokens", c.all()),
        ("totalEphemeral5mTokens", c.ephemeral_5m),
        ("totalEphemeral1hTokens", c.ephemeral_1h),
        ("totalRequests", c.requests),
    ]
}

fn global_fields(c: &BenchCell) -> Vec<(&'static str, i64)> {
    vec![
        ("requests", c.requests),
        ("inputTokens", c.input),
        ("outputTokens", c.output),
        ("cacheCreateTokens", c.cache_create),
        ("cacheReadTokens", c.cache_read),
        ("allTokens", c.all()),
        ("ephemeral5mTokens", c.ephemeral_5m),
        ("ephemeral1hTokens", c.ephemeral_1h),
    ]
}

/// Everything that belongs to one API key, plus its share of the shared totals.
fn seed_key(sink: &mut Sink, plan: &Plan, acc: &mut Accum, k: usize) {
    let id = bench_key_id(k);
    let (days, models) = (plan.days.len(), plan.models.len());
    let cells: Vec<BenchCell> = (0..days)
        .flat_map(|d| (0..models).map(move |m| bench_cell(k, d, m)))
        .collect();
    let account = bench_account_index(k);
    let account_type = plan.accounts[account].2;
    let micros = plan.cost_micros;

    let mut key_total = BenchCell::default();
    let mut key_day = vec![BenchCell::default(); days];
    let mut key_month = vec![BenchCell::default(); plan.months.len()];
    let mut key_month_model = vec![BenchCell::default(); plan.months.len() * models];
    let mut key_model = vec![BenchCell::default(); models];
    let mut opus = vec![BenchCell::default(); plan.periods.len()];

    for (d, day) in plan.days.iter().enumerate() {
        for (m, model) in plan.models.iter().enumerate() {
            let c = &cells[d * models + m];
            let fields = model_fields(c, true, micros);
            sink.hash(
                &format!("usage:{id}:model:daily:{model}:{}", day.date),
                &fields,
                Some(TTL_USAGE_DAILY),
                day.age,
            );
            sink.hash(
                &format!("usage:{id}:model:hourly:{model}:{}", day.hour),
                &fields,
                Some(TTL_USAGE_HOURLY),
                day.age,
            );
            key_day[d].add(c);
            key_month[day.month_idx].add(c);
            key_month_model[day.month_idx * models + m].add(c);
            key_model[m].add(c);
            key_total.add(c);
            acc.model_day[d * models + m].add(c);
            acc.account_day_model[(account * days + d) * models + m].add(c);
            if plan.claude_model[m] && OPUS_ACCOUNT_TYPES.contains(&account_type) {
                opus[plan.period_of_day[d]].add(c);
            }
        }
    }
    acc.total.add(&key_total);

    for (mi, month) in plan.months.iter().enumerate() {
        for (m, model) in plan.models.iter().enumerate() {
            let c = &key_month_model[mi * models + m];
            sink.hash(
                &format!("usage:{id}:model:monthly:{model}:{}", month.month),
                &model_fields(c, true, micros),
                Some(TTL_USAGE_MONTHLY),
                month.min_age,
            );
        }
        let c = &key_month[mi];
        sink.hash(
            &format!("usage:monthly:{id}:{}", month.month),
            &period_fields(c),
            Some(TTL_USAGE_MONTHLY),
            month.min_age,
        );
        sink.float(
            &format!("usage:cost:monthly:{id}:{}", month.month),
            c.rated_usd,
            Some(TTL_COST_MONTHLY),
            month.min_age,
        );
    }
    for (m, model) in plan.models.iter().enumerate() {
        sink.hash(
            &format!("usage:{id}:model:alltime:{model}"),
            &model_fields(&key_model[m], false, micros),
            None,
            0,
        );
    }
    for (d, day) in plan.days.iter().enumerate() {
        let c = &key_day[d];
        let fields = period_fields(c);
        sink.hash(
            &format!("usage:daily:{id}:{}", day.date),
            &fields,
            Some(TTL_USAGE_DAILY),
            day.age,
        );
        sink.hash(
            &format!("usage:hourly:{id}:{}", day.hour),
            &fields,
            Some(TTL_USAGE_HOURLY),
            day.age,
        );
        sink.float(
            &format!("usage:cost:daily:{id}:{}", day.date),
            c.rated_usd,
            Some(TTL_COST_DAILY),
            day.age,
        );
        sink.float(
            &format!("usage:cost:real:daily:{id}:{}", day.date),
            c.real_usd,
            Some(TTL_COST_DAILY),
            day.age,
        );
        sink.float(
            &format!("usage:cost:hourly:{id}:{}", day.hour),
            c.rated_usd,
            Some(TTL_COST_HOURLY),
            day.age,
        );
    }
    sink.hash(&format!("usage:{id}"), &total_fields(&key_total), None, 0);
    sink.float(
        &format!("usage:cost:total:{id}"),
        key_total.rated_usd,
        None,
        0,
    );
    sink.float(
        &format!("usage:cost:real:total:{id}"),
        key_total.real_usd,
        None,
        0,
    );

    let mut opus_total = BenchCell::default();
    for (p, (period, min_age)) in plan.periods.iter().enumerate() {
        let c = &opus[p];
        if c.requests == 0 {
            continue;
        }
        opus_total.add(c);
        sink.float(
            &format!("usage:opus:weekly:{id}:{period}"),
            c.rated_usd,
            Some(TTL_OPUS_WEEKLY),
            *min_age,
        );
        sink.float(
            &format!("usage:opus:real:weekly:{id}:{period}"),
            c.real_usd,
            Some(TTL_OPUS_WEEKLY),
            *min_age,
        );
    }
    if opus_total.requests > 0 {
        sink.float(
            &format!("usage:opus:total:{id}"),
            opus_total.rated_usd,
            None,
            0,
        );
        sink.float(
            &format!("usage:opus:real:total:{id}"),
            opus_total.real_usd,
            None,
            0,
        );
    }

    if plan.indexes {
        let key_models: Vec<String> = plan.models.iter().map(|m| format!("{id}:{m}")).collect();
        let me = [id.clone()];
        for day in &plan.days {
            if TTL_USAGE_DAILY - day.age > 0 {
                sink.sadd_many(&format!("usage:daily:index:{}", day.date), &me);
                sink.sadd_many(
                    &format!("usage:keymodel:daily:index:{}", day.date),
                    &key_models,
                );
            }
            if TTL_USAGE_HOURLY - day.age > 0 {
                sink.sadd_many(&format!("usage:hourly:index:{}", day.hour), &me);
                sink.sadd_many(
                    &format!("usage:keymodel:hourly:index:{}", day.hour),
                    &key_models,
                );
            }
        }
    }
}

/// Per-model, global, minute, account-usage keys and the TTLs of index sets.
fn seed_globals(sink: &mut Sink, plan: &Plan, acc: &Accum) {
    let (days, models) = (acc.days, acc.models);
    let mut model_month = vec![BenchCell::default(); plan.months.len() * models];
    let mut global_day = vec![BenchCell::default(); days];
    let mut global_month = vec![BenchCell::default(); plan.months.len()];
    for (d, day) in plan.days.iter().enumerate() {
        for (m, model) in plan.models.iter().enumerate() {
            let c = &acc.model_day[d * models + m];
            let fields = model_fields(c, true, false);
            sink.hash(
                &format!("usage:model:daily:{model}:{}", day.date),
                &fields,
                Some(TTL_USAGE_DAILY),
                day.age,
            );
            sink.hash(
                &format!("usage:model:hourly:{model}:{}", day.hour),
                &fields,
                Some(TTL_USAGE_HOURLY),
                day.age,
            );
            model_month[day.month_idx * models + m].add(c);
            global_day[d].add(c);
            global_month[day.month_idx].add(c);
        }
    }
    for (mi, month) in plan.months.iter().enumerate() {
        for (m, model) in plan.models.iter().enumerate() {
            sink.hash(
                &format!("usage:model:monthly:{model}:{}", month.month),
                &model_fields(&model_month[mi * models + m], true, false),
                Some(TTL_USAGE_MONTHLY),
                month.min_age,
            );
        }
    }
    // Minute metrics: only today's requests (recorded at `now`) are still alive.
    let today = &global_day[0];
    let minute_key = format!("system:metrics:minute:{}", plan.minute);
    sink.hash(
        &minute_key,
        &[
            ("requests", today.requests),
            ("totalTokens", today.all()),
            ("inputTokens", today.input),
            ("outputTokens", today.output),
            ("cacheCreateTokens", today.cache_create),
            ("cacheReadTokens", today.cache_read),
        ],
        Some(i64::from(crate::writer::DEFAULT_METRICS_WINDOW_MINUTES) * 60 * 2),
        0,
    );
    if plan.global_aggregates {
        sink.hash("usage:global:total", &global_fields(&acc.total), None, 0);
        for (d, day) in plan.days.iter().enumerate() {
            sink.hash(
                &format!("usage:global:daily:{}", day.date),
                &global_fields(&global_day[d]),
                Some(TTL_USAGE_DAILY),
                day.age,
            );
        }
        for (mi, month) in plan.months.iter().enumerate() {
            sink.hash(
                &format!("usage:global:monthly:{}", month.month),
                &global_fields(&global_month[mi]),
                Some(TTL_USAGE_MONTHLY),
                month.min_age,
            );
        }
    }

    seed_account_usage(sink, plan, acc);

    if plan.indexes {
        for day in &plan.days {
            if TTL_USAGE_DAILY - day.age > 0 {
                sink.sadd_many(
                    &format!("usage:model:daily:index:{}", day.date),
                    &plan.models,
                );
            }
            if TTL_USAGE_HOURLY - day.age > 0 {
                sink.sadd_many(
                    &format!("usage:model:hourly:index:{}", day.hour),
                    &plan.models,
                );
            }
            for (set, ttl) in [
                (format!("usage:daily:index:{}", day.date), TTL_USAGE_DAILY),
                (
                    format!("usage:keymodel:daily:index:{}", day.date),
                    TTL_USAGE_DAILY,
                ),
                (
                    format!("usage:model:daily:index:{}", day.date),
                    TTL_USAGE_DAILY,
                ),
                (format!("usage:hourly:index:{}", day.hour), TTL_USAGE_HOURLY),
                (
                    format!("usage:keymodel:hourly:index:{}", day.hour),
                    TTL_USAGE_HOURLY,
                ),
                (
                    format!("usage:model:hourly:index:{}", day.hour),
                    TTL_USAGE_HOURLY,
                ),
            ] {
                sink.expire_left(&set, ttl, day.age);
            }
        }
        let months: Vec<String> = plan.months.iter().map(|m| m.month.clone()).collect();
        sink.sadd_many("usage:model:monthly:months", &months);
        for month in &plan.months {
            let set = format!("usage:model:monthly:index:{}", month.month);
            sink.sadd_many(&set, &plan.models);
            sink.expire_left(&set, TTL_USAGE_MONTHLY, month.min_age);
        }
    }
}

fn seed_account_usage(sink: &mut Sink, plan: &Plan, acc: &Accum) {
    let (days, models) = (acc.days, acc.models);
    for (a, (_, account, _)) in plan.accounts.iter().enumerate() {
        let cell = |d: usize, m: usize| &acc.account_day_model[(a * days + d) * models + m];
        let mut total = BenchCell::default();
        let mut month_sum = vec![BenchCell::default(); plan.months.len()];
        let mut month_model = vec![BenchCell::default(); plan.months.len() * models];
        for (d, day) in plan.days.iter().enumerate() {
            let mut day_sum = BenchCell::default();
            let mut hourly_model_fields: Vec<(String, i64)> = Vec::new();
            let mut used = Vec::new();
            for (m, model) in plan.models.iter().enumerate() {
                let c = cell(d, m);
                if c.requests == 0 {
                    continue;
                }
                used.push(format!("{account}:{model}"));
                day_sum.add(c);
                month_sum[day.month_idx].add(c);
                month_model[day.month_idx * models + m].add(c);
                let fields = model_fields(c, true, false);
                sink.hash(
                    &format!("account_usage:model:daily:{account}:{model}:{}", day.date),
                    &fields,
                    Some(TTL_USAGE_DAILY),
                    day.age,
                );
                sink.hash(
                    &format!("account_usage:model:hourly:{account}:{model}:{}", day.hour),
                    &fields,
                    Some(TTL_USAGE_HOURLY),
                    day.age,
                );
                for (metric, v) in [
                    ("inputTokens", c.input),
                    ("outputTokens", c.output),
                    ("cacheCreateTokens", c.cache_create),
                    ("cacheReadTokens", c.cache_read),
                    ("ephemeral5mTokens", c.ephemeral_5m),
                    ("ephemeral1hTokens", c.ephemeral_1h),
                    ("allTokens", c.all()),
                    ("requests", c.requests),
                ] {
                    hourly_model_fields.push((format!("model:{model}:{metric}"), v));
                }
            }
            if day_sum.requests == 0 {
                continue;
            }
            total.add(&day_sum);
            sink.hash(
                &format!("account_usage:daily:{account}:{}", day.date),
                &period_fields(&day_sum),
                Some(TTL_USAGE_DAILY),
                day.age,
            );
            let hourly_key = format!("account_usage:hourly:{account}:{}", day.hour);
            if TTL_USAGE_HOURLY - day.age > 0 {
                sink.hash(
                    &hourly_key,
                    &period_fields(&day_sum),
                    Some(TTL_USAGE_HOURLY),
                    day.age,
                );
                sink.hset_strings(&hourly_key, &hourly_model_fields);
            }
            if plan.indexes {
                let me = [account.clone()];
                for (set, members, ttl) in [
                    (
                        format!("account_usage:daily:index:{}", day.date),
                        &me[..],
                        TTL_USAGE_DAILY,
                    ),
                    (
                        format!("account_usage:model:daily:index:{}", day.date),
                        &used[..],
                        TTL_USAGE_DAILY,
                    ),
                    (
                        format!("account_usage:hourly:index:{}", day.hour),
                        &me[..],
                        TTL_USAGE_HOURLY,
                    ),
                    (
                        format!("account_usage:model:hourly:index:{}", day.hour),
                        &used[..],
                        TTL_USAGE_HOURLY,
                    ),
                ] {
                    if ttl - day.age > 0 {
                        sink.sadd_many(&set, members);
                        sink.expire_left(&set, ttl, day.age);
                    }
                }
            }
        }
        if total.requests == 0 {
            continue;
        }
        for (mi, month) in plan.months.iter().enumerate() {
            if month_sum[mi].requests == 0 {
                continue;
            }
            sink.hash(
                &format!("account_usage:monthly:{account}:{}", month.month),
                &period_fields(&month_sum[mi]),
                Some(TTL_USAGE_MONTHLY),
                month.min_age,
            );
            for (m, model) in plan.models.iter().enumerate() {
                let c = &month_model[mi * models + m];
                if c.requests > 0 {
                    sink.hash(
                        &format!(
                            "account_usage:model:monthly:{account}:{model}:{}",
                            month.month
                        ),
                        &model_fields(c, true, false),
                        Some(TTL_USAGE_MONTHLY),
                        month.min_age,
                    );
                }
            }
        }
        sink.hash(
            &format!("account_usage:{account}"),
            &total_fields(&total),
            None,
            0,
        );
    }
}
