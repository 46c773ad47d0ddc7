//! The writer's `account_usage:*` writes; rule: `incrementAccountUsage`'s counters, index sets and TTLs (without the output-token quirk, as CRS).

use super::batch::Batch;
use super::usage::{UsageEvent, UsageKeys};
use super::{TTL_USAGE_DAILY, TTL_USAGE_HOURLY, TTL_USAGE_MONTHLY};

/// One event's raw token counts, as `incrementAccountUsage` books them.
struct AccountCounts {
    input: i64,
    output: i64,
    cc: i64,
    cr: i64,
    e5: i64,
    e1: i64,
    all: i64,
    core: i64,
}

impl AccountCounts {
    fn of(ev: &UsageEvent) -> Self {
        let input = ev.input as i64;
        let output = ev.output as i64;
        let cc = ev.cache_create as i64;
        let cr = ev.cache_read as i64;
        AccountCounts {
            input,
            output,
            cc,
            cr,
            e5: ev.ephemeral_5m as i64,
            e1: ev.ephemeral_1h as i64,
            all: input + output + cc + cr,
            core: input + output,
        }
    }
}

/// `incrementAccountUsage`. CRS does not apply the output-token quirk here.
pub(super) fn push_account_usage(
    b: &mut Batch,
    account: &str,
    k: &UsageKeys,
    ev: &UsageEvent,
    indexes: bool,
) {
    let (model, today, month, hour) = (k.model.as_str(), &k.today, &k.month, &k.hour);
    let n = AccountCounts::of(ev);

    let total = format!("account_usage:{account}");
    let daily = format!("account_usage:daily:{account}:{today}");
    let monthly = format!("account_usage:monthly:{account}:{month}");
    let hourly = format!("account_usage:hourly:{account}:{hour}");
    let model_daily = format!("account_usage:model:daily:{account}:{model}:{today}");
    let model_monthly = format!("account_usage:model:monthly:{account}:{model}:{month}");
    let model_hourly = format!("account_usage:model:hourly:{account}:{model}:{hour}");

    push_total(b, &total, &n);
    for key in [&daily, &monthly, &hourly] {
        push_period(b, key, &n);
    }
    push_hourly_model_fields(b, &hourly, model, &n);
    for key in [&model_daily, &model_monthly, &model_hourly] {
        push_model(b, key, &n);
    }
    b.expire(&daily, TTL_USAGE_DAILY);
    b.expire(&monthly, TTL_USAGE_MONTHLY);
    b.expire(&hourly, TTL_USAGE_HOURLY);
    b.expire(&model_daily, TTL_USAGE_DAILY);
    b.expire(&model_monthly, TTL_USAGE_MONTHLY);
    b.expire(&model_hourly, TTL_USAGE_HOURLY);
    if indexes {
        push_indexes(b, account, model, today, hour);
    }
    if ev.is_long_context {
        b.hincrby(&total, "totalLongContextInputTokens", n.input);
        b.hincrby(&total, "totalLongContextOutputTokens", n.output);
        b.hincrby(&total, "totalLongContextRequests", 1);
        b.hincrby(&daily, "longContextInputTokens", n.input);
        b.hincrby(&daily, "longContextOutputTokens", n.output);
        b.hincrby(&daily, "longContextRequests", 1);
    }
}

/// `account_usage:{account}`.
fn push_total(b: &mut Batch, total: &str, n: &AccountCounts) {
    b.hincrby(total, "totalTokens", n.core);
    b.hincrby(total, "totalInputTokens", n.input);
    b.hincrby(total, "totalOutputTokens", n.output);
    b.hincrby(total, "totalCacheCreateTokens", n.cc);
    b.hincrby(total, "totalCacheReadTokens", n.cr);
    b.hincrby(total, "totalEphemeral5mTokens", n.e5);
    b.hincrby(total, "totalEphemeral1hTokens", n.e1);
    b.hincrby(total, "totalAllTokens", n.all);
    b.hincrby(total, "totalRequests", 1);
}

/// `account_usage:{daily|monthly|hourly}:{account}:{bucket}`.
fn push_period(b: &mut Batch, key: &str, n: &AccountCounts) {
    b.hincrby(key, "tokens", n.core);
    b.hincrby(key, "inputTokens", n.input);
    b.hincrby(key, "outputTokens", n.output);
    b.hincrby(key, "cacheCreateTokens", n.cc);
    b.hincrby(key, "cacheReadTokens", n.cr);
    b.hincrby(key, "ephemeral5mTokens", n.e5);
    b.hincrby(key, "ephemeral1hTokens", n.e1);
    b.hincrby(key, "allTokens", n.all);
    b.hincrby(key, "requests", 1);
}

/// The `model:{model}:{metric}` fields of the hourly hash.
fn push_hourly_model_fields(b: &mut Batch, hourly: &str, model: &str, n: &AccountCounts) {
    for (metric, v) in [
        ("inputTokens", n.input),
        ("outputTokens", n.output),
        ("cacheCreateTokens", n.cc),
        ("cacheReadTokens", n.cr),
        ("ephemeral5mTokens", n.e5),
        ("ephemeral1hTokens", n.e1),
        ("allTokens", n.all),
        ("requests", 1),
    ] {
        b.hincrby(hourly, &format!("model:{model}:{metric}"), v);
    }
}

/// `account_usage:model:{daily|monthly|hourly}:{account}:{model}:{bucket}`.
fn push_model(b: &mut Batch, key: &str, n: &AccountCounts) {
    b.hincrby(key, "inputTokens", n.input);
    b.hincrby(key, "outputTokens", n.output);
    b.hincrby(key, "cacheCreateTokens", n.cc);
    b.hincrby(key, "cacheReadTokens", n.cr);
    b.hincrby(key, "ephemeral5mTokens", n.e5);
    b.hincrby(key, "ephemeral1hTokens", n.e1);
    b.hincrby(key, "allTokens", n.all);
    b.hincrby(key, "requests", 1);
}

/// The account index sets: SADD and EXPIRE each, then DEL each `:empty` marker.
fn push_indexes(b: &mut Batch, account: &str, model: &str, today: &str, hour: &str) {
    let account_model = format!("{account}:{model}");
    let sets = [
        (
            format!("account_usage:hourly:index:{hour}"),
            account,
            TTL_USAGE_HOURLY,
        ),
        (
            format!("account_usage:model:hourly:index:{hour}"),
            account_model.as_str(),
            TTL_USAGE_HOURLY,
        ),
        (
            format!("account_usage:daily:index:{today}"),
            account,
            TTL_USAGE_DAILY,
        ),
        (
            format!("account_usage:model:daily:index:{today}"),
            account_model.as_str(),
            TTL_USAGE_DAILY,
        ),
    ];
    for (set, member, ttl) in &sets {
        b.sadd(set, member);
        b.expire(set, *ttl);
    }
    for (set, _, _) in &sets {
        b.del(&format!("{set}:empty"));
    }
}
