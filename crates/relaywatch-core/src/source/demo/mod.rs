//! Built-in demo data: a deterministic relay (25 keys, several with Chinese names; accounts on 8
//! platforms in mixed states; 30 days; 8 models) shaped like what the CRS reader takes out of
//! Redis, so the first run works on a bare machine and shows every feature. Same `now`, same data.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Timelike, Utc};

mod relay;
pub use relay::Demo;

use super::accounts::Platform;
use super::raw::{
    AccountRecord, DayData, KeyCosts, KeyRangeUsage, KeyRecord, LifetimeSource, ModelBucket,
    RawUsage, RelayData, Warnings,
};
use super::ReadRequest;
use crate::pricing::Pricing;
use crate::tz::RelayTz;

const DAYS: i64 = 30;

/// (model, share of requests, input, output, cache create, cache read tokens per request)
const MODELS: [(&str, f64, u64, u64, u64, u64); 8] = [
    (
        "claude-sonnet-4-5-20250929",
        0.34,
        2_400,
        900,
        1_800,
        21_000,
    ),
    (
        "claude-opus-4-1-20250805",
        0.08,
        3_100,
        1_200,
        2_600,
        30_000,
    ),
    ("claude-haiku-4-5-20251001", 0.18, 1_200, 400, 600, 6_000),
    (
        "claude-sonnet-4-20250514[1m]",
        0.05,
        90_000,
        2_000,
        8_000,
        120_000,
    ),
    ("gpt-5", 0.12, 2_000, 1_100, 0, 4_000),
    ("gpt-5-mini", 0.10, 1_500, 600, 0, 2_000),
    ("gemini-2.5-pro", 0.08, 2_800, 1_000, 0, 0),
    ("gemini-2.5-flash", 0.05, 1_600, 500, 0, 0),
];

/// (name, requests per day at full weight, daily limit, total limit, weekly Opus limit, tags)
const KEYS: [(&str, u64, f64, f64, f64, &str); 25] = [
    ("研发部-主力", 900, 0.0, 0.0, 0.0, "研发"),
    ("backend-prod", 760, 400.0, 0.0, 0.0, "prod"),
    ("数据分析组", 540, 0.0, 5000.0, 0.0, "数据"),
    ("mobile-ci", 430, 250.0, 0.0, 0.0, "ci"),
    ("客服机器人", 380, 0.0, 0.0, 90.0, "客服"),
    ("frontend-team", 330, 0.0, 0.0, 0.0, "dev"),
    ("算法实验室", 300, 300.0, 0.0, 0.0, "研发"),
    ("docs-bot", 260, 0.0, 0.0, 0.0, "bot"),
    ("市场部-文案", 220, 60.0, 0.0, 0.0, "市场"),
    ("qa-automation", 200, 0.0, 0.0, 0.0, "ci"),
    ("ops-oncall", 170, 0.0, 1200.0, 0.0, "ops"),
    ("张伟-个人", 150, 40.0, 0.0, 0.0, "个人"),
    ("data-pipeline", 140, 0.0, 0.0, 0.0, "prod"),
    ("李娜-测试", 120, 0.0, 0.0, 0.0, "个人"),
    ("security-review", 100, 0.0, 0.0, 40.0, "ops"),
    ("intern-sandbox", 90, 20.0, 0.0, 0.0, "dev"),
    ("翻译服务", 80, 0.0, 0.0, 0.0, "bot"),
    ("design-tools", 70, 0.0, 0.0, 0.0, "dev"),
    ("eval-harness", 60, 0.0, 0.0, 0.0, "研发"),
    ("产品经理-王芳", 50, 15.0, 0.0, 0.0, "个人"),
    ("partner-acme", 40, 0.0, 300.0, 0.0, "partner"),
    ("legacy-cron", 25, 0.0, 0.0, 0.0, "ops"),
    ("hackathon-2026", 15, 0.0, 0.0, 0.0, "dev"),
    ("备用-灾备", 0, 0.0, 0.0, 0.0, "ops"),
    ("retired-key", 30, 0.0, 0.0, 0.0, "dev"),
];

/// SplitMix64: tiny, deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [lo, hi).
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (self.next() >> 11) as f64 / (1u64 << 53) as f64 * (hi - lo)
    }
}

fn key_id(i: usize) -> String {
    format!("demo-{:08x}-0000-4000-8000-{:012x}", 0x5eed_0000 + i, i)
}

fn accounts(now: DateTime<Utc>) -> Vec<AccountRecord> {
    use Platform::*;
    let ok = |p: Platform, id: &str| AccountRecord {
        platform: Some(p),
        id: id.into(),
        is_active: Some(true),
        status: Some("active".into()),
        schedulable: Some(true),
        ..Default::default()
    };
    let mut v = vec![
        ok(Claude, "claude-a"),
        ok(Claude, "claude-b"),
        ok(Claude, "claude-c"),
        ok(ClaudeConsole, "console-a"),
        ok(ClaudeConsole, "console-b"),
        ok(Gemini, "gemini-a"),
        ok(GeminiApi, "gemini-api-a"),
        ok(OpenAi, "openai-a"),
        ok(OpenAi, "openai-b"),
        ok(OpenAiResponses, "responses-a"),
        ok(Bedrock, "bedrock-a"),
        ok(Ccr, "ccr-a"),
        ok(Droid, "droid-a"),
    ];
    // Claude: one rate-limited for 40 more minutes, one whose limit already ended.
    v.push(AccountRecord {
        rate_limit_status: Some("limited".into()),
        rate_limited_at: Some(now - Duration::minutes(20)),
        rate_limit_end_at: Some(now + Duration::minutes(40)),
        ..ok(Claude, "claude-limited")
    });
    v.push(AccountRecord {
        rate_limit_status: Some("limited".into()),
        rate_limited_at: Some(now - Duration::hours(6)),
        rate_limit_end_at: Some(now - Duration::hours(1)),
        ..ok(Claude, "claude-recovered")
    });
    v.push(AccountRecord {
        status: Some("unauthorized".into()),
        ..ok(Claude, "claude-expired-token")
    });
    v.push(AccountRecord {
        schedulable: Some(false),
        ..ok(ClaudeConsole, "console-paused")
    });
    v.push(AccountRecord {
        rate_limit_status: Some("limited".into()),
        rate_limited_at: Some(now - Duration::minutes(10)),
        rate_limit_duration_minutes: Some(60),
        ..ok(ClaudeConsole, "console-limited")
    });
    v.push(AccountRecord {
        rate_limit_status: Some("limited".into()),
        rate_limited_at: Some(now - Duration::minutes(5)),
        ..ok(OpenAi, "openai-limited")
    });
    v.push(AccountRecord {
        is_active: Some(false),
        ..ok(Gemini, "gemini-disabled")
    });
    v.push(AccountRecord {
        status: Some("blocked".into()),
        ..ok(Droid, "droid-blocked")
    });
    v.push(AccountRecord {
        schedulable: Some(false),
        ..ok(Bedrock, "bedrock-paused")
    });
    v
}

/// Generate the demo relay as of `req.now`.
pub fn generate(req: ReadRequest, pricing: &Pricing) -> RelayData {
    let now = req.now;
    let tz = req.tz;
    let mut rng = Rng(0x0005_EED0_2026_1122);
    let today = tz.date(now);
    let local = tz.local(now);
    let day_fraction = (local.hour() as f64 * 60.0 + local.minute() as f64 + 1.0) / 1440.0;
    let trend_dates = tz.last_dates(now, req.trend_days.max(1));

    let keys = keys();
    let history = History::simulate(now, tz, day_fraction, pricing, &mut rng);
    let days: Vec<DayData> = trend_dates
        .iter()
        .map(|d| DayData {
            date: d.clone(),
            models: history.buckets_for(d),
            keys_fallback: None,
        })
        .collect();
    let totals = history.key_totals(&keys, now, tz, &trend_dates);
    let minutes = realtime_minutes(
        &mut rng,
        req.window_minutes,
        day_fraction,
        &totals.today_keys,
    );

    RelayData {
        now,
        tz,
        keys,
        accounts: accounts(now),
        today_keys: totals.today_keys,
        today_models: history.buckets_for(&today),
        lifetime: history.lifetime,
        lifetime_source: LifetimeSource::Global,
        lifetime_models: history
            .model_month
            .into_iter()
            .map(|((_, m), u)| ModelBucket { model: m, usage: u })
            .collect(),
        lifetime_cost_fallback: None,
        minutes,
        window_minutes: req.window_minutes,
        days,
        top_key_days: HashMap::new(),
        key_costs: totals.key_costs,
        key_range_usage: totals.key_range_usage,
        warnings: Warnings::default(),
    }
}

/// The demo keys: the 24th is disabled, the 25th deleted.
fn keys() -> Vec<KeyRecord> {
    KEYS.iter()
        .enumerate()
        .map(|(i, (name, _, daily, total, opus, tag))| KeyRecord {
            id: key_id(i),
            name: name.to_string(),
            is_active: i != 23,
            is_deleted: i == 24,
            daily_cost_limit: *daily,
            total_cost_limit: *total,
            weekly_opus_cost_limit: *opus,
            tags: vec![tag.to_string()],
            weekly_reset_day: 1,
            weekly_reset_hour: 0,
        })
        .collect()
}

/// What the simulated last `DAYS` days stored, per model and day, key and day, model and month.
#[derive(Default)]
struct History {
    model_day: BTreeMap<(String, String), RawUsage>,
    key_day: HashMap<(usize, String), (RawUsage, f64)>,
    model_month: BTreeMap<(String, String), RawUsage>,
    lifetime: RawUsage,
    opus_week: HashMap<usize, f64>,
}

/// One simulated day: its date and month, the Opus week's first date, and the load factor.
struct SimDay<'a> {
    date: String,
    month: String,
    week_first: &'a str,
    /// Weekday rhythm (weekends are quieter).
    rhythm: f64,
    /// Slow growth over the days.
    growth: f64,
    /// The part of the day gone by (1 before today).
    part: f64,
}

/// Per key sums over the days: today's usage (every key), and each key's costs and range usage.
struct KeyTotals {
    today_keys: RawUsage,
    key_costs: HashMap<String, KeyCosts>,
    key_range_usage: HashMap<String, KeyRangeUsage>,
}

impl History {
    /// Per key: a preferred model mix; per day: a weekday rhythm and a slow growth.
    fn simulate(
        now: DateTime<Utc>,
        tz: RelayTz,
        day_fraction: f64,
        pricing: &Pricing,
        rng: &mut Rng,
    ) -> History {
        let mut h = History::default();
        let today = tz.date(now);
        let period = super::crs::opus_period(now, tz, 1, 0);
        let week_first = &period[..10];
        for back in (0..DAYS).rev() {
            let at = now - Duration::days(back);
            let date = tz.date(at);
            let weekday = tz
                .local(at)
                .format("%u")
                .to_string()
                .parse::<u32>()
                .unwrap_or(1);
            let rhythm = if weekday >= 6 { 0.45 } else { 1.0 };
            let growth = 0.75 + 0.25 * (DAYS - back) as f64 / DAYS as f64;
            let part = if date == today { day_fraction } else { 1.0 };
            let day = SimDay {
                month: tz.month(at),
                date,
                week_first,
                rhythm,
                growth,
                part,
            };
            for (i, (_, per_day, ..)) in KEYS.iter().enumerate() {
                if *per_day == 0 {
                    continue;
                }
                let base =
                    *per_day as f64 * day.rhythm * day.growth * day.part * rng.range(0.7, 1.3);
                h.key_on_day(i, base, &day, pricing, rng);
            }
        }
        h
    }

    /// Key `i`'s usage of every model on `day`, around `base` requests.
    fn key_on_day(&mut self, i: usize, base: f64, day: &SimDay, pricing: &Pricing, rng: &mut Rng) {
        let mut key_usage = RawUsage::default();
        let mut key_cost = 0.0;
        for (m, (model, share, inp, out, cc, cr)) in MODELS.iter().enumerate() {
            // Each key leans on a few models.
            let lean = match (i + m) % 3 {
                0 => 2.2,
                1 => 0.6,
                _ => 0.2,
            };
            let requests = (base * share * lean * rng.range(0.8, 1.2)).round() as u64;
            if requests == 0 {
                continue;
            }
            let j = rng.range(0.85, 1.15);
            let u = RawUsage {
                requests,
                input: (requests as f64 * *inp as f64 * j) as u64,
                output: (requests as f64 * *out as f64 * j) as u64,
                cache_create: (requests as f64 * *cc as f64 * j) as u64,
                cache_read: (requests as f64 * *cr as f64 * j) as u64,
                ..Default::default()
            };
            let u = RawUsage {
                all_tokens: u.four_kinds(),
                ..u
            };
            let cost = pricing.cost(&u.token_counts(), model).total;
            key_cost += cost;
            if model.contains("opus") && day.date.as_str() >= day.week_first {
                *self.opus_week.entry(i).or_default() += cost;
            }
            key_usage.add(&u);
            self.model_day
                .entry((day.date.clone(), model.to_string()))
                .or_default()
                .add(&u);
            self.model_month
                .entry((day.month.clone(), model.to_string()))
                .or_default()
                .add(&u);
        }
        self.lifetime.add(&key_usage);
        self.key_day
            .insert((i, day.date.clone()), (key_usage, key_cost));
    }

    /// The per-model buckets of `date`.
    fn buckets_for(&self, date: &str) -> Vec<ModelBucket> {
        self.model_day
            .iter()
            .filter(|((d, _), _)| d == date)
            .map(|((_, m), u)| ModelBucket {
                model: m.clone(),
                usage: *u,
            })
            .collect()
    }

    /// Each key's costs (today, over the range, all told, Opus this week) and range usage, and
    /// today's usage summed over every key.
    fn key_totals(
        &self,
        keys: &[KeyRecord],
        now: DateTime<Utc>,
        tz: RelayTz,
        trend_dates: &[String],
    ) -> KeyTotals {
        let today = tz.date(now);
        let mut t = KeyTotals {
            today_keys: RawUsage::default(),
            key_costs: HashMap::new(),
            key_range_usage: HashMap::new(),
        };
        for (i, k) in keys.iter().enumerate() {
            let mut range = KeyRangeUsage::default();
            let mut costs = KeyCosts {
                weekly_opus: self.opus_week.get(&i).copied().unwrap_or(0.0),
                ..Default::default()
            };
            for back in 0..DAYS {
                let date = tz.date(now - Duration::days(back));
                if let Some((u, c)) = self.key_day.get(&(i, date.clone())) {
                    costs.total += c;
                    if trend_dates.contains(&date) {
                        costs.range += c;
                        range.requests += u.requests;
                        range.all_tokens += u.four_kinds();
                    }
                    if date == today {
                        costs.today = *c;
                        // CRS's today card sums every key's daily hash, deleted keys included.
                        t.today_keys.add(u);
                    }
                }
            }
            t.key_costs.insert(k.id.clone(), costs);
            t.key_range_usage.insert(k.id.clone(), range);
        }
        t
    }
}

/// The last few minutes at today's average pace, with a little noise.
fn realtime_minutes(
    rng: &mut Rng,
    window_minutes: u32,
    day_fraction: f64,
    today_keys: &RawUsage,
) -> Vec<(u64, u64)> {
    let minutes_today = (day_fraction * 1440.0).max(1.0);
    (0..window_minutes)
        .map(|_| {
            let f = rng.range(0.8, 1.2) * 1.6; // working hours run hotter than the daily mean
            (
                (today_keys.requests as f64 / minutes_today * f).round() as u64,
                (today_keys.all_tokens as f64 / minutes_today * f).round() as u64,
            )
        })
        .collect()
}
