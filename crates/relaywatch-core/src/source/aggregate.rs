//! From `RelayData` to a `Snapshot`, each figure computed the way the matching CRS admin endpoint
//! computes it (overview, today, model stats, usage trend, cost cards, cost ranking). Pure: the
//! clock is `data.now`, the prices are passed in.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};

use super::accounts::{classify, Platform};
use super::model_name::normalize_model_name;
use super::raw::{add_capped, capped_add, DayData, KeyDay, RawUsage, RelayData, Warnings};
use crate::model::{
    AccountCounts, ApiKeyCounts, CostBasis, KeyLimit, KeyUsage, ModelUsage, Realtime, Snapshot,
    SourceKind, TrendDay, Usage,
};
use crate::pricing::Pricing;

/// CRS prices a day that has no per-model data as this model.
pub const UNKNOWN_MODEL: &str = "unknown";
/// CRS's key trend prices a key-day with tokens but no cost as this model.
pub const KEY_TREND_FALLBACK_MODEL: &str = "claude-3-5-sonnet-20241022";
/// CRS prices lifetime usage with no per-model data as this model.
pub const LIFETIME_FALLBACK_MODEL: &str = "claude-3-5-haiku-20241022";

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn models_cost(pricing: &Pricing, buckets: &[super::raw::ModelBucket]) -> f64 {
    buckets
        .iter()
        .map(|b| pricing.cost(&b.usage.token_counts(), &b.model).total)
        .sum()
}

fn usage_of(u: &RawUsage, cost_usd: f64) -> Usage {
    Usage {
        requests: u.requests,
        input_tokens: u.input,
        output_tokens: u.output,
        cache_create_tokens: u.cache_create,
        cache_read_tokens: u.cache_read,
        all_tokens: u.all_tokens,
        cost_usd,
        core_tokens: capped_add(u.input, u.output).0,
        errors: None,
    }
}

/// What the snapshot covers.
#[derive(Debug, Clone, Copy)]
pub struct Scope {
    pub source: SourceKind,
    pub trend_days: u32,
    pub top_n: u32,
}

/// Build the snapshot.
pub fn aggregate(mut data: RelayData, pricing: &Pricing, scope: Scope) -> Snapshot {
    let now = data.now;
    let mut warnings = std::mem::take(&mut data.warnings);
    let api_keys = key_counts(&data);
    let accounts = account_counts(&data);
    let usage_today = usage_of(&data.today_keys, models_cost(pricing, &data.today_models));
    let total_cost = lifetime_cost(&data, pricing, &mut warnings);
    let usage_total = usage_of(&data.lifetime, total_cost);
    let realtime = realtime(&data, &mut warnings);
    let (trend, per_model) = trend(&data, pricing, &mut warnings);
    let models = model_usages(per_model, pricing);
    let top_keys = top_keys(&data, pricing, scope.top_n);
    let key_limits = key_limits(&data);
    let limits = crs_limits(&key_limits, data.tz, now);

    Snapshot {
        generated_at: data.tz.local(now),
        source: scope.source,
        timezone_offset_hours: data.tz.hours(),
        today: data.tz.date(now),
        api_keys,
        accounts,
        usage_today,
        usage_total,
        realtime,
        models,
        trend,
        top_keys,
        key_limits,
        trend_days: scope.trend_days,
        top_n: scope.top_n,
        cost_basis: CostBasis {
            pricing: pricing.source().to_string(),
            ..CostBasis::default()
        },
        warnings: warnings.lines(),
        timezone: None,
        top_users: Vec::new(),
        providers: Vec::new(),
        limits,
    }
}

/// CRS's key limits in the relay-neutral shape: daily (from local midnight), weekly Opus (from
/// Monday 00:00) and total; only the limits that are set, of keys not deleted.
fn crs_limits(
    keys: &[crate::model::KeyLimit],
    tz: crate::tz::RelayTz,
    now: DateTime<Utc>,
) -> Vec<crate::model::LimitUse> {
    use chrono::{Datelike, TimeZone};
    let day = tz.day(now);
    let start = |d: chrono::NaiveDate| {
        tz.offset()
            .from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default())
            .single()
            .map(|t| t.with_timezone(&Utc))
    };
    let monday = day - chrono::Duration::days(day.weekday().num_days_from_monday() as i64);
    let mut out = Vec::new();
    for k in keys {
        for (period, used, limit, from) in [
            ("daily", k.daily_cost_usd, k.daily_limit_usd, start(day)),
            (
                "weekly",
                k.weekly_opus_cost_usd,
                k.weekly_opus_limit_usd,
                start(monday),
            ),
            ("total", k.total_cost_usd, k.total_limit_usd, None),
        ] {
            if limit > 0.0 {
                out.push(crate::model::LimitUse {
                    scope: "key".into(),
                    id: k.id.clone(),
                    name: k.name.clone(),
                    period: period.into(),
                    used_usd: used,
                    limit_usd: limit,
                    window_start: from,
                });
            }
        }
    }
    out
}

/// API keys: live (not deleted), active among them, and deleted.
fn key_counts(data: &RelayData) -> ApiKeyCounts {
    let live_keys = data.keys.iter().filter(|k| !k.is_deleted);
    ApiKeyCounts {
        total: live_keys.clone().count() as u64,
        active: live_keys.clone().filter(|k| k.is_active).count() as u64,
        deleted: data.keys.iter().filter(|k| k.is_deleted).count() as u64,
    }
}

/// Accounts per platform (every platform listed, even with none), each classified as of `now`.
fn account_counts(data: &RelayData) -> BTreeMap<String, AccountCounts> {
    let mut accounts: BTreeMap<String, AccountCounts> = Platform::ALL
        .iter()
        .map(|p| (p.name().to_string(), AccountCounts::default()))
        .collect();
    for a in &data.accounts {
        if let Some(p) = a.platform {
            accounts
                .entry(p.name().to_string())
                .or_default()
                .add(classify(a, p, data.now));
        }
    }
    accounts
}

/// usage-costs?period=all: each model (as stored) summed over the months, priced once.
fn lifetime_cost(data: &RelayData, pricing: &Pricing, warnings: &mut Warnings) -> f64 {
    if data.lifetime_models.is_empty() {
        return data
            .lifetime_cost_fallback
            .map(|u| {
                // `getAllApiKeysFast` builds `usage.total` without the ephemeral split, so CRS
                // prices it on the legacy path: all cache creation at the 5m write price.
                let tokens = crate::pricing::TokenCounts {
                    ephemeral_5m: 0,
                    ephemeral_1h: 0,
                    ..u.token_counts()
                };
                pricing.cost(&tokens, LIFETIME_FALLBACK_MODEL).total
            })
            .unwrap_or(0.0);
    }
    let mut by_model: BTreeMap<&str, RawUsage> = BTreeMap::new();
    for b in &data.lifetime_models {
        by_model
            .entry(b.model.as_str())
            .or_default()
            .add_or_warn(&b.usage, warnings, || {
                format!("all-time usage of model {}", b.model)
            });
    }
    by_model
        .iter()
        .map(|(m, u)| pricing.cost(&u.token_counts(), m).total)
        .sum()
}

/// RPM and TPM: the real-time window's requests and tokens per minute.
fn realtime(data: &RelayData, warnings: &mut Warnings) -> Realtime {
    let w = data.window_minutes.max(1) as f64;
    let (mut req, mut tok) = (0u64, 0u64);
    for (r, t) in &data.minutes {
        if add_capped(&mut req, *r) | add_capped(&mut tok, *t) {
            warnings.capped(|| "requests and tokens of the real-time window".to_string());
        }
    }
    Realtime {
        rpm: round2(req as f64 / w),
        tpm: round2(tok as f64 / w),
        window_minutes: data.window_minutes,
    }
}

/// The usage trend, one entry per day, and (model-stats) each normalised model summed over the
/// range.
fn trend(
    data: &RelayData,
    pricing: &Pricing,
    warnings: &mut Warnings,
) -> (Vec<TrendDay>, HashMap<String, RawUsage>) {
    let mut trend = Vec::with_capacity(data.days.len());
    let mut per_model: HashMap<String, RawUsage> = HashMap::new();
    for day in &data.days {
        let (sum, cost) = trend_day_usage(day, pricing, &mut per_model, warnings);
        trend.push(TrendDay {
            date: day.date.clone(),
            requests: sum.requests,
            input_tokens: sum.input,
            output_tokens: sum.output,
            cache_create_tokens: sum.cache_create,
            cache_read_tokens: sum.cache_read,
            all_tokens: sum.four_kinds(),
            cost_usd: cost,
        });
    }
    (trend, per_model)
}

/// One day's usage and cost: its models (each also added to `per_model`), else the keys'
/// totals priced as [`UNKNOWN_MODEL`], else nothing.
fn trend_day_usage(
    day: &DayData,
    pricing: &Pricing,
    per_model: &mut HashMap<String, RawUsage>,
    warnings: &mut Warnings,
) -> (RawUsage, f64) {
    let mut sum = RawUsage::default();
    let cost = if !day.models.is_empty() {
        for b in &day.models {
            sum.add_or_warn(&b.usage, warnings, || format!("usage on {}", day.date));
            let model = normalize_model_name(&b.model);
            per_model
                .entry(model.clone())
                .or_default()
                .add_or_warn(&b.usage, warnings, || {
                    format!("usage of model {model} over the trend")
                });
        }
        models_cost(pricing, &day.models)
    } else if let Some(k) = &day.keys_fallback {
        sum = *k;
        pricing.cost(&k.token_counts(), UNKNOWN_MODEL).total
    } else {
        0.0
    };
    (sum, cost)
}

/// Each model priced once on its range total, costliest first.
fn model_usages(per_model: HashMap<String, RawUsage>, pricing: &Pricing) -> Vec<ModelUsage> {
    let mut models: Vec<ModelUsage> = per_model
        .into_iter()
        .map(|(model, u)| ModelUsage {
            cost_usd: pricing.cost(&u.token_counts(), &model).total,
            model,
            requests: u.requests,
            input_tokens: u.input,
            output_tokens: u.output,
            cache_create_tokens: u.cache_create,
            cache_read_tokens: u.cache_read,
            all_tokens: u.all_tokens,
        })
        .collect();
    models.sort_by(|a, b| {
        b.cost_usd
            .total_cmp(&a.cost_usd)
            .then(b.all_tokens.cmp(&a.all_tokens))
            .then(a.model.cmp(&b.model))
    });
    models
}

/// The `top_n` live keys with a cost in the range.
fn top_keys(data: &RelayData, pricing: &Pricing, top_n: u32) -> Vec<KeyUsage> {
    let mut ranked: Vec<KeyUsage> = data
        .keys
        .iter()
        .filter(|k| !k.is_deleted)
        .filter_map(|k| {
            let c = data.key_costs.get(&k.id)?;
            (c.range > 0.0).then(|| {
                let u = data.key_range_usage.get(&k.id).copied().unwrap_or_default();
                KeyUsage {
                    id: k.id.clone(),
                    name: k.name.clone(),
                    requests: u.requests,
                    all_tokens: u.all_tokens,
                    cost_usd: data
                        .top_key_days
                        .get(&k.id)
                        .map(|days| key_trend_cost(days, pricing))
                        .unwrap_or(c.range),
                }
            })
        })
        .collect();
    // Rank on the stored daily cost (CRS's cost ranking), then show the key trend's cost.
    ranked.sort_by(|a, b| {
        let ca = data.key_costs[&a.id].range;
        let cb = data.key_costs[&b.id].range;
        cb.total_cmp(&ca).then(a.id.cmp(&b.id))
    });
    ranked.truncate(top_n as usize);
    ranked.sort_by(|a, b| b.cost_usd.total_cmp(&a.cost_usd).then(a.id.cmp(&b.id)));
    ranked
}

/// The live keys with a cost limit, nearest to (or furthest past) a limit first.
fn key_limits(data: &RelayData) -> Vec<KeyLimit> {
    let mut key_limits: Vec<KeyLimit> = data
        .keys
        .iter()
        .filter(|k| !k.is_deleted)
        .filter(|k| {
            k.daily_cost_limit > 0.0 || k.total_cost_limit > 0.0 || k.weekly_opus_cost_limit > 0.0
        })
        .map(|k| {
            let c = data.key_costs.get(&k.id).copied().unwrap_or_default();
            KeyLimit {
                id: k.id.clone(),
                name: k.name.clone(),
                daily_cost_usd: c.today,
                daily_limit_usd: k.daily_cost_limit,
                total_cost_usd: c.total,
                total_limit_usd: k.total_cost_limit,
                weekly_opus_cost_usd: c.weekly_opus,
                weekly_opus_limit_usd: k.weekly_opus_cost_limit,
                tags: k.tags.clone(),
                is_active: k.is_active,
            }
        })
        .collect();
    key_limits.sort_by(|a, b| {
        limit_ratio(b)
            .total_cmp(&limit_ratio(a))
            .then(a.id.cmp(&b.id))
    });
    key_limits
}

/// CRS's key-trend cost of one key over its days: per model, `ratedCostMicro / 1e6` when the
/// hash carries cost micros, else the list price of its tokens; a day that still comes to 0 with
/// tokens is priced as Claude 3.5 Sonnet.
pub fn key_trend_cost(days: &[KeyDay], pricing: &Pricing) -> f64 {
    days.iter()
        .map(|d| {
            let mut day: f64 = d
                .models
                .iter()
                .map(|m| match m.rated_micro {
                    Some(micro) => micro as f64 / 1e6,
                    None => pricing.cost(&m.usage.token_counts(), &m.model).total,
                })
                .sum();
            if day == 0.0 && d.usage.four_kinds() > 0 {
                day = pricing
                    .cost(&d.usage.token_counts(), KEY_TREND_FALLBACK_MODEL)
                    .total;
            }
            day
        })
        .sum()
}

/// The highest share of any limit a key has used (0 when it has none).
pub fn limit_ratio(k: &KeyLimit) -> f64 {
    [
        (k.daily_cost_usd, k.daily_limit_usd),
        (k.total_cost_usd, k.total_limit_usd),
        (k.weekly_opus_cost_usd, k.weekly_opus_limit_usd),
    ]
    .iter()
    .filter(|(_, l)| *l > 0.0)
    .map(|(c, l)| c / l)
    .fold(0.0, f64::max)
}
