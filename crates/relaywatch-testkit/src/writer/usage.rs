//! `UsageEvent`, `UsageCounts` and the writer's per-request writes; rule: the counters, costs, index sets and TTLs of `incrementTokenUsage`, `incrementDailyCost` and `recordOpusCost`, in CRS's order.

use chrono::{DateTime, Datelike, Duration, TimeZone, Utc};

use super::account_usage::push_account_usage;
use super::batch::Batch;
use super::{
    CrsWriter, OpusWeek, WriterOptions, OPUS_ACCOUNT_TYPES, TTL_COST_DAILY, TTL_COST_HOURLY,
    TTL_COST_MONTHLY, TTL_OPUS_WEEKLY, TTL_USAGE_DAILY, TTL_USAGE_HOURLY, TTL_USAGE_MONTHLY,
};
use crate::crs_time::{
    date_string, epoch_minute, hour_string, month_string, period_string, shifted,
};
use crate::model::{is_claude_family_model, normalize_model_name};

/// One request as `apiKeyService.recordUsageWithDetails` records it.
#[derive(Clone, Debug, Default)]
pub struct UsageEvent {
    pub key_id: String,
    /// The model as sent; the writer normalises it as CRS does.
    pub model: String,
    /// When the request was recorded (CRS uses `new Date()` at that moment).
    pub at: DateTime<Utc>,
    pub input: u64,
    pub output: u64,
    pub cache_create: u64,
    pub cache_read: u64,
    pub ephemeral_5m: u64,
    pub ephemeral_1h: u64,
    /// Official-price cost in USD (`realCost`). Cost keys are written only when > 0.
    pub real_cost_usd: f64,
    /// Cost after `serviceRates` (`ratedCost`).
    pub rated_cost_usd: f64,
    /// The account that served the request; `account_usage:*` is written when set.
    pub account_id: Option<String>,
    /// `claude-official`, `claude-console`, `ccr`, `openai`, … (decides the Opus keys).
    pub account_type: Option<String>,
    /// A 1M-context request (`[1m]` model with more than 200k input tokens).
    pub is_long_context: bool,
}

impl UsageEvent {
    pub fn new(key_id: impl Into<String>, model: impl Into<String>, at: DateTime<Utc>) -> Self {
        UsageEvent {
            key_id: key_id.into(),
            model: model.into(),
            at,
            ..Default::default()
        }
    }

    /// Sets input, output, cache-create and cache-read tokens.
    pub fn tokens(mut self, input: u64, output: u64, cache_create: u64, cache_read: u64) -> Self {
        self.input = input;
        self.output = output;
        self.cache_create = cache_create;
        self.cache_read = cache_read;
        self
    }

    pub fn ephemeral(mut self, five_minutes: u64, one_hour: u64) -> Self {
        self.ephemeral_5m = five_minutes;
        self.ephemeral_1h = one_hour;
        self
    }

    /// Sets real and rated cost in USD.
    pub fn cost(mut self, real_usd: f64, rated_usd: f64) -> Self {
        self.real_cost_usd = real_usd;
        self.rated_cost_usd = rated_usd;
        self
    }

    pub fn account(mut self, id: impl Into<String>, account_type: impl Into<String>) -> Self {
        self.account_id = Some(id.into());
        self.account_type = Some(account_type.into());
        self
    }

    pub fn long_context(mut self, yes: bool) -> Self {
        self.is_long_context = yes;
        self
    }

    /// The counters CRS derives in `incrementTokenUsage`.
    pub fn crs_counts(&self) -> UsageCounts {
        let total_passed = self.input + self.output + self.cache_create + self.cache_read;
        // `outputTokens || (inputTokens > 0 ? 0 : tokens)`: with no input and
        // no output, CRS books the whole total as output (cache tokens are
        // then counted twice in allTokens). Reproduced on purpose.
        let output = if self.output != 0 {
            self.output
        } else if self.input > 0 {
            0
        } else {
            total_passed
        };
        let all = self.input + output + self.cache_create + self.cache_read;
        UsageCounts {
            input: self.input as i64,
            output: output as i64,
            cache_create: self.cache_create as i64,
            cache_read: self.cache_read as i64,
            core: (self.input + output) as i64,
            all: all as i64,
            ephemeral_5m: self.ephemeral_5m as i64,
            ephemeral_1h: self.ephemeral_1h as i64,
        }
    }
}

/// Token counters as CRS books them for one event.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UsageCounts {
    pub input: i64,
    pub output: i64,
    pub cache_create: i64,
    pub cache_read: i64,
    /// input + output (`tokens`, `totalTokens` on `usage:{id}`).
    pub core: i64,
    /// all four kinds (`allTokens`).
    pub all: i64,
    pub ephemeral_5m: i64,
    pub ephemeral_1h: i64,
}

impl CrsWriter {
    /// One request: what `incrementTokenUsage`, then (when the real cost is
    /// above 0) `incrementDailyCost` and `recordOpusCost` /
    /// `incrementWeeklyOpusCost`, then (when an account is named)
    /// `incrementAccountUsage` write. Index sets, global aggregates, cost
    /// micros and all-time stats follow the options.
    pub fn usage(&mut self, ev: &UsageEvent) -> &mut Self {
        self.queue_usage(ev);
        self.done();
        self
    }

    /// [`CrsWriter::usage`] for many events, sent in big pipelines.
    pub fn usage_many(&mut self, events: &[UsageEvent]) -> &mut Self {
        for ev in events {
            self.queue_usage(ev);
            if self.batch.count >= self.flush_every {
                self.flush();
            }
        }
        self.done();
        self
    }

    fn queue_usage(&mut self, ev: &UsageEvent) {
        let offset = self.opts.offset();
        let k = UsageKeys::new(ev, offset);
        let c = ev.crs_counts();
        let opts = self.opts.clone();
        let weekly_reset = self.weekly_reset.get(k.id.as_str()).copied();
        let b = &mut self.batch;

        push_key_counters(b, &k, &c, ev, &opts);

        // system:metrics:minute:{m}
        push_minute(b, &k.minute, 1, &c);
        b.expire(&k.minute, i64::from(opts.metrics_window_minutes) * 60 * 2);

        push_usage_ttls(b, &k);
        if opts.indexes {
            push_usage_indexes(b, &k);
        }
        if opts.global_aggregates {
            push_global_aggregates(b, &k, &c);
        }
        // incrementDailyCost (only when the real cost is above 0).
        if ev.real_cost_usd > 0.0 {
            push_costs(b, &k, ev, offset, opts.opus_week, weekly_reset);
        }
        if let Some(account) = ev.account_id.as_deref() {
            push_account_usage(b, account, &k, ev, opts.indexes);
        }
    }

    /// `system:metrics:minute:{epochMinute}` alone: HINCRBY `requests`,
    /// `totalTokens` (all four kinds), `inputTokens`, `outputTokens`,
    /// `cacheCreateTokens`, `cacheReadTokens`, then EXPIRE window×2 minutes.
    pub fn minute_metrics(
        &mut self,
        at: DateTime<Utc>,
        requests: u64,
        input: u64,
        output: u64,
        cache_create: u64,
        cache_read: u64,
    ) -> &mut Self {
        let key = format!("system:metrics:minute:{}", epoch_minute(at));
        let c = UsageCounts {
            input: input as i64,
            output: output as i64,
            cache_create: cache_create as i64,
            cache_read: cache_read as i64,
            core: (input + output) as i64,
            all: (input + output + cache_create + cache_read) as i64,
            ephemeral_5m: 0,
            ephemeral_1h: 0,
        };
        let ttl = i64::from(self.opts.metrics_window_minutes) * 60 * 2;
        push_minute(&mut self.batch, &key, requests as i64, &c);
        self.batch.expire(&key, ttl);
        self.done();
        self
    }
}

/// `Math.round(usd * 1_000_000)`; only positive costs are written.
pub fn micro(usd: f64) -> i64 {
    // For positive values Rust's round (half away from zero) is JavaScript's
    // Math.round (half toward +infinity).
    (usd * 1_000_000.0).round() as i64
}

fn push_key_period(b: &mut Batch, key: &str, c: &UsageCounts, long_context: bool) {
    b.hincrby(key, "tokens", c.core);
    b.hincrby(key, "inputTokens", c.input);
    b.hincrby(key, "outputTokens", c.output);
    b.hincrby(key, "cacheCreateTokens", c.cache_create);
    b.hincrby(key, "cacheReadTokens", c.cache_read);
    b.hincrby(key, "allTokens", c.all);
    b.hincrby(key, "requests", 1);
    b.hincrby(key, "ephemeral5mTokens", c.ephemeral_5m);
    b.hincrby(key, "ephemeral1hTokens", c.ephemeral_1h);
    if long_context {
        b.hincrby(key, "longContextInputTokens", c.input);
        b.hincrby(key, "longContextOutputTokens", c.output);
        b.hincrby(key, "longContextRequests", 1);
    }
}

fn push_model_counts(b: &mut Batch, key: &str, c: &UsageCounts, with_all_tokens: bool) {
    b.hincrby(key, "inputTokens", c.input);
    b.hincrby(key, "outputTokens", c.output);
    b.hincrby(key, "cacheCreateTokens", c.cache_create);
    b.hincrby(key, "cacheReadTokens", c.cache_read);
    if with_all_tokens {
        b.hincrby(key, "allTokens", c.all);
    }
    b.hincrby(key, "requests", 1);
    b.hincrby(key, "ephemeral5mTokens", c.ephemeral_5m);
    b.hincrby(key, "ephemeral1hTokens", c.ephemeral_1h);
}

fn push_micros(b: &mut Batch, key: &str, real_micro: i64, rated_micro: i64) {
    if real_micro > 0 {
        b.hincrby(key, "realCostMicro", real_micro);
    }
    if rated_micro > 0 {
        b.hincrby(key, "ratedCostMicro", rated_micro);
    }
}

fn push_minute(b: &mut Batch, key: &str, requests: i64, c: &UsageCounts) {
    b.hincrby(key, "requests", requests);
    b.hincrby(key, "totalTokens", c.all);
    b.hincrby(key, "inputTokens", c.input);
    b.hincrby(key, "outputTokens", c.output);
    b.hincrby(key, "cacheCreateTokens", c.cache_create);
    b.hincrby(key, "cacheReadTokens", c.cache_read);
}

/// The key names and buckets one usage event writes to.
pub(super) struct UsageKeys {
    pub(super) id: String,
    pub(super) today: String,
    pub(super) month: String,
    pub(super) hour: String,
    pub(super) model: String,
    minute: String,
    key_total: String,
    daily: String,
    monthly: String,
    hourly: String,
    model_daily: String,
    model_monthly: String,
    model_hourly: String,
    key_model_daily: String,
    key_model_monthly: String,
    key_model_hourly: String,
    key_model_alltime: String,
}

impl UsageKeys {
    fn new(ev: &UsageEvent, offset: i32) -> Self {
        let id = ev.key_id.as_str();
        let today = date_string(ev.at, offset);
        let month = month_string(ev.at, offset);
        let hour = hour_string(ev.at, offset);
        let model = normalize_model_name(&ev.model);
        UsageKeys {
            minute: format!("system:metrics:minute:{}", epoch_minute(ev.at)),
            key_total: format!("usage:{id}"),
            daily: format!("usage:daily:{id}:{today}"),
            monthly: format!("usage:monthly:{id}:{month}"),
            hourly: format!("usage:hourly:{id}:{hour}"),
            model_daily: format!("usage:model:daily:{model}:{today}"),
            model_monthly: format!("usage:model:monthly:{model}:{month}"),
            model_hourly: format!("usage:model:hourly:{model}:{hour}"),
            key_model_daily: format!("usage:{id}:model:daily:{model}:{today}"),
            key_model_monthly: format!("usage:{id}:model:monthly:{model}:{month}"),
            key_model_hourly: format!("usage:{id}:model:hourly:{model}:{hour}"),
            key_model_alltime: format!("usage:{id}:model:alltime:{model}"),
            id: id.to_string(),
            today,
            month,
            hour,
            model,
        }
    }
}

/// `usage:{id}`, its daily / monthly / hourly hashes, the global per-model hashes and the
/// per-key-per-model hashes (with cost micros and all-time stats as the options say).
fn push_key_counters(
    b: &mut Batch,
    k: &UsageKeys,
    c: &UsageCounts,
    ev: &UsageEvent,
    opts: &WriterOptions,
) {
    let key_total = k.key_total.as_str();
    b.hincrby(key_total, "totalTokens", c.core);
    b.hincrby(key_total, "totalInputTokens", c.input);
    b.hincrby(key_total, "totalOutputTokens", c.output);
    b.hincrby(key_total, "totalCacheCreateTokens", c.cache_create);
    b.hincrby(key_total, "totalCacheReadTokens", c.cache_read);
    b.hincrby(key_total, "totalAllTokens", c.all);
    b.hincrby(key_total, "totalEphemeral5mTokens", c.ephemeral_5m);
    b.hincrby(key_total, "totalEphemeral1hTokens", c.ephemeral_1h);
    if ev.is_long_context {
        b.hincrby(key_total, "totalLongContextInputTokens", c.input);
        b.hincrby(key_total, "totalLongContextOutputTokens", c.output);
        b.hincrby(key_total, "totalLongContextRequests", 1);
    }
    b.hincrby(key_total, "totalRequests", 1);

    // usage:daily / usage:monthly / usage:hourly
    push_key_period(b, &k.daily, c, ev.is_long_context);
    push_key_period(b, &k.monthly, c, false);
    push_key_period(b, &k.hourly, c, false);

    // usage:model:* (global per model, no cost)
    push_model_counts(b, &k.model_daily, c, true);
    push_model_counts(b, &k.model_monthly, c, true);
    push_model_counts(b, &k.model_hourly, c, true);

    // usage:{id}:model:*
    let real_micro = micro(ev.real_cost_usd);
    let rated_micro = micro(ev.rated_cost_usd);
    for key in [
        &k.key_model_daily,
        &k.key_model_monthly,
        &k.key_model_hourly,
    ] {
        push_model_counts(b, key, c, true);
        if opts.cost_micros {
            push_micros(b, key, real_micro, rated_micro);
        }
    }
    if opts.alltime_model_stats {
        push_model_counts(b, &k.key_model_alltime, c, false);
        if opts.cost_micros {
            push_micros(b, &k.key_model_alltime, real_micro, rated_micro);
        }
    }
}

/// The TTLs of the daily, monthly and hourly usage hashes.
fn push_usage_ttls(b: &mut Batch, k: &UsageKeys) {
    for (key, ttl) in [
        (&k.daily, TTL_USAGE_DAILY),
        (&k.monthly, TTL_USAGE_MONTHLY),
        (&k.hourly, TTL_USAGE_HOURLY),
        (&k.model_daily, TTL_USAGE_DAILY),
        (&k.model_monthly, TTL_USAGE_MONTHLY),
        (&k.model_hourly, TTL_USAGE_HOURLY),
        (&k.key_model_daily, TTL_USAGE_DAILY),
        (&k.key_model_monthly, TTL_USAGE_MONTHLY),
        (&k.key_model_hourly, TTL_USAGE_HOURLY),
    ] {
        b.expire(key, ttl);
    }
}

/// The usage index sets: SADD each, SADD the month, DEL each `:empty` marker, then EXPIRE.
fn push_usage_indexes(b: &mut Batch, k: &UsageKeys) {
    let (id, model, today, hour, month) =
        (k.id.as_str(), k.model.as_str(), &k.today, &k.hour, &k.month);
    let key_model = format!("{id}:{model}");
    let sets = [
        (format!("usage:daily:index:{today}"), id, TTL_USAGE_DAILY),
        (format!("usage:hourly:index:{hour}"), id, TTL_USAGE_HOURLY),
        (
            format!("usage:model:daily:index:{today}"),
            model,
            TTL_USAGE_DAILY,
        ),
        (
            format!("usage:model:hourly:index:{hour}"),
            model,
            TTL_USAGE_HOURLY,
        ),
        (
            format!("usage:model:monthly:index:{month}"),
            model,
            TTL_USAGE_MONTHLY,
        ),
        (
            format!("usage:keymodel:daily:index:{today}"),
            key_model.as_str(),
            TTL_USAGE_DAILY,
        ),
        (
            format!("usage:keymodel:hourly:index:{hour}"),
            key_model.as_str(),
            TTL_USAGE_HOURLY,
        ),
    ];
    for (set, member, _) in &sets {
        b.sadd(set, member);
    }
    b.sadd("usage:model:monthly:months", month);
    for (set, _, _) in &sets {
        b.del(&format!("{set}:empty"));
    }
    for (set, _, ttl) in &sets {
        b.expire(set, *ttl);
    }
}

/// `usage:global:total|daily|monthly`.
fn push_global_aggregates(b: &mut Batch, k: &UsageKeys, c: &UsageCounts) {
    let g_daily = format!("usage:global:daily:{}", k.today);
    let g_monthly = format!("usage:global:monthly:{}", k.month);
    for key in ["usage:global:total", g_daily.as_str(), g_monthly.as_str()] {
        b.hincrby(key, "requests", 1);
        b.hincrby(key, "inputTokens", c.input);
        b.hincrby(key, "outputTokens", c.output);
        b.hincrby(key, "cacheCreateTokens", c.cache_create);
        b.hincrby(key, "cacheReadTokens", c.cache_read);
        b.hincrby(key, "allTokens", c.all);
        b.hincrby(key, "ephemeral5mTokens", c.ephemeral_5m);
        b.hincrby(key, "ephemeral1hTokens", c.ephemeral_1h);
    }
    b.expire(&g_daily, TTL_USAGE_DAILY);
    b.expire(&g_monthly, TTL_USAGE_MONTHLY);
}

/// `incrementDailyCost`, then `recordOpusCost` -> `incrementWeeklyOpusCost` for a Claude-family
/// model on an Opus account type. `weekly_reset` is the key's (day, hour), (1, 0) when unknown.
fn push_costs(
    b: &mut Batch,
    k: &UsageKeys,
    ev: &UsageEvent,
    offset: i32,
    opus_week: OpusWeek,
    weekly_reset: Option<(i64, i64)>,
) {
    let (id, today, month, hour) = (k.id.as_str(), &k.today, &k.month, &k.hour);
    let rated = ev.rated_cost_usd;
    let real = ev.real_cost_usd;
    let cost_daily = format!("usage:cost:daily:{id}:{today}");
    let cost_monthly = format!("usage:cost:monthly:{id}:{month}");
    let cost_hourly = format!("usage:cost:hourly:{id}:{hour}");
    let cost_total = format!("usage:cost:total:{id}");
    let real_total = format!("usage:cost:real:total:{id}");
    let real_daily = format!("usage:cost:real:daily:{id}:{today}");
    b.incrbyfloat(&cost_daily, rated);
    b.incrbyfloat(&cost_monthly, rated);
    b.incrbyfloat(&cost_hourly, rated);
    b.incrbyfloat(&cost_total, rated);
    b.incrbyfloat(&real_total, real);
    b.incrbyfloat(&real_daily, real);
    b.expire(&cost_daily, TTL_COST_DAILY);
    b.expire(&cost_monthly, TTL_COST_MONTHLY);
    b.expire(&cost_hourly, TTL_COST_HOURLY);
    b.expire(&real_daily, TTL_COST_DAILY);

    // recordOpusCost -> incrementWeeklyOpusCost
    let opus_account = ev
        .account_type
        .as_deref()
        .is_some_and(|t| OPUS_ACCOUNT_TYPES.contains(&t));
    if opus_account && is_claude_family_model(&ev.model) {
        let (day, hour_of_day) = weekly_reset.unwrap_or((1, 0));
        let period = match opus_week {
            OpusWeek::ResetPeriod => period_string(ev.at, offset, day, hour_of_day),
            OpusWeek::IsoWeek => iso_week_string(ev.at, offset),
        };
        let weekly = format!("usage:opus:weekly:{id}:{period}");
        let real_weekly = format!("usage:opus:real:weekly:{id}:{period}");
        b.incrbyfloat(&weekly, rated);
        b.incrbyfloat(&format!("usage:opus:total:{id}"), rated);
        b.incrbyfloat(&real_weekly, real);
        b.incrbyfloat(&format!("usage:opus:real:total:{id}"), real);
        b.expire(&weekly, TTL_OPUS_WEEKLY);
        b.expire(&real_weekly, TTL_OPUS_WEEKLY);
    }
}

/// `getWeekStringInTimezone(at)` (older CRS), quirks included: the year is the
/// shifted calendar year (not the ISO year), and the week number is
/// `ceil(((firstThursday - Jan 1) / day + 1) / 7)` with `firstThursday`
/// keeping the time of day. `new Date(y, 0, 1)` is local time in Node; this
/// assumes the process ran in UTC, as CRS's Docker image does.
pub fn iso_week_string(at: DateTime<Utc>, offset_hours: i32) -> String {
    let tz = shifted(at, offset_hours);
    let year = tz.year();
    let day_of_week = i64::from(tz.weekday().number_from_sunday() - 1);
    let day_of_week = if day_of_week == 0 { 7 } else { day_of_week };
    let first_thursday = tz + Duration::days(4 - day_of_week);
    let year_start = Utc
        .with_ymd_and_hms(first_thursday.year(), 1, 1, 0, 0, 0)
        .single()
        .expect("January 1st exists");
    let diff_ms = (first_thursday - year_start).num_milliseconds() as f64;
    let week = ((diff_ms / 86_400_000.0 + 1.0) / 7.0).ceil() as i64;
    format!("{year}-W{week:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_quirk_when_no_input_and_no_output() {
        let ev = UsageEvent::new("k", "m", Utc::now()).tokens(0, 0, 100, 50);
        let c = ev.crs_counts();
        assert_eq!(c.output, 150);
        assert_eq!(c.all, 300);
        assert_eq!(c.core, 150);
        let ev = UsageEvent::new("k", "m", Utc::now()).tokens(10, 0, 100, 50);
        assert_eq!(ev.crs_counts().output, 0);
    }

    #[test]
    fn micro_rounds_half_up() {
        assert_eq!(micro(0.0000025), 3);
        assert_eq!(micro(1.234567), 1_234_567);
        assert_eq!(micro(0.0), 0);
    }

    #[test]
    fn iso_week_quirks() {
        // 2025-01-06 (Monday) 12:00 at UTC+8 = 04:00 UTC.
        let at = Utc.with_ymd_and_hms(2025, 1, 6, 4, 0, 0).unwrap();
        assert_eq!(iso_week_string(at, 8), "2025-W02");
        // Monday 2025-12-29 04:00 UTC+8 -> first Thursday is 2026-01-01.
        let at = Utc.with_ymd_and_hms(2025, 12, 28, 20, 0, 0).unwrap();
        assert_eq!(iso_week_string(at, 8), "2025-W01");
    }
}
