//! Sample snapshots for the chart tests and the chart bench: seven days, a dozen models, API keys
//! with Chinese names. Rule: deterministic figures only, so pictures compare run to run.
#![allow(dead_code)]

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset};
use relaywatch_core::model::{
    AccountCounts, ApiKeyCounts, CostBasis, KeyUsage, ModelUsage, Realtime, SourceKind, TrendDay,
    Usage,
};
use relaywatch_core::Snapshot;

fn at() -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339("2025-06-07T18:30:00+08:00").expect("valid timestamp")
}

/// A snapshot with nothing in it: no keys, accounts, models, trend or usage.
pub fn empty_snapshot() -> Snapshot {
    Snapshot {
        generated_at: at(),
        source: SourceKind::Demo,
        timezone_offset_hours: 8,
        today: "2025-06-07".into(),
        api_keys: ApiKeyCounts::default(),
        accounts: BTreeMap::new(),
        usage_today: Usage::default(),
        usage_total: Usage::default(),
        realtime: Realtime::default(),
        models: Vec::new(),
        trend: Vec::new(),
        top_keys: Vec::new(),
        key_limits: Vec::new(),
        trend_days: 7,
        top_n: 10,
        cost_basis: CostBasis::default(),
        warnings: Vec::new(),
        timezone: None,
        top_users: Vec::new(),
        providers: Vec::new(),
        limits: Vec::new(),
    }
}

/// Models used in the sample, with their share weights.
const MODELS: [(&str, u64); 12] = [
    ("claude-sonnet-4-20250514", 420),
    ("claude-opus-4-1-20250805", 210),
    ("claude-3-5-haiku-20241022", 95),
    ("gpt-4.1", 70),
    ("gemini-2.5-pro", 55),
    ("claude-3-7-sonnet-20250219", 40),
    ("deepseek-chat", 28),
    ("gpt-4o-mini", 20),
    ("qwen3-coder-plus", 14),
    ("gemini-2.5-flash", 9),
    ("glm-4.5", 5),
    ("kimi-k2-0711-preview", 3),
];

/// Key names, Chinese and Latin, with their costs.
pub const KEYS: [(&str, f64, u64); 12] = [
    ("研发部-主力", 186.42, 8_412),
    ("数据分析-批处理", 121.07, 2_960),
    ("客服机器人", 88.5, 15_230),
    ("marketing-bot", 61.33, 1_874),
    ("产品组", 45.9, 1_203),
    ("张伟的测试 Key", 23.18, 640),
    ("QA automation", 17.02, 2_210),
    ("翻译服务（内部）", 12.75, 980),
    ("运营-周报生成", 6.4, 312),
    ("legacy-key-2023", 2.15, 75),
    ("实习生沙盒", 0.62, 41),
    ("unused-key", 0.0, 0),
];

/// Seven days of usage, a dozen models, twelve keys (top 10 drawn), a few accounts in trouble.
pub fn sample_snapshot() -> Snapshot {
    let mut s = empty_snapshot();
    s.trend = sample_trend();
    s.models = sample_models(&s.trend);
    s.top_keys = sample_keys();
    sample_accounts(&mut s);
    sample_today_and_realtime(&mut s);
    s
}

/// Seven days of uneven traffic.
fn sample_trend() -> Vec<TrendDay> {
    let day_mult = [0.62, 0.81, 1.0, 0.94, 1.12, 0.48, 0.71];
    day_mult
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let f = |base: f64| (base * m) as u64;
            let d = TrendDay {
                date: format!("2025-06-{:02}", i + 1),
                requests: f(6_800.0),
                input_tokens: f(2_400_000.0),
                output_tokens: f(860_000.0),
                cache_create_tokens: f(4_100_000.0),
                cache_read_tokens: f(38_500_000.0 * (0.8 + 0.05 * i as f64)),
                all_tokens: 0,
                cost_usd: 0.0,
            };
            let all =
                d.input_tokens + d.output_tokens + d.cache_create_tokens + d.cache_read_tokens;
            TrendDay {
                all_tokens: all,
                cost_usd: all as f64 / 1e6 * 1.9,
                ..d
            }
        })
        .collect()
}

/// The range's tokens shared out between [`MODELS`] by weight.
fn sample_models(trend: &[TrendDay]) -> Vec<ModelUsage> {
    let total_tokens: u64 = trend.iter().map(|d| d.all_tokens).sum();
    let weight: u64 = MODELS.iter().map(|m| m.1).sum();
    MODELS
        .iter()
        .map(|(name, w)| {
            let all = total_tokens / weight * w;
            ModelUsage {
                model: (*name).into(),
                requests: all / 6_000,
                input_tokens: all / 20,
                output_tokens: all / 50,
                cache_create_tokens: all / 10,
                cache_read_tokens: all - all / 20 - all / 50 - all / 10,
                all_tokens: all,
                cost_usd: all as f64 / 1e6 * 2.1,
            }
        })
        .collect()
}

/// [`KEYS`] as top keys.
fn sample_keys() -> Vec<KeyUsage> {
    KEYS.iter()
        .enumerate()
        .map(|(i, (name, cost, requests))| KeyUsage {
            id: format!("key-{i:02}"),
            name: (*name).into(),
            requests: *requests,
            all_tokens: requests * 9_000,
            cost_usd: *cost,
        })
        .collect()
}

/// Key counts, and Claude and Gemini accounts with some in trouble.
fn sample_accounts(s: &mut Snapshot) {
    s.api_keys = ApiKeyCounts {
        total: 24,
        active: 21,
        deleted: 2,
    };
    s.accounts.insert(
        "claude".into(),
        AccountCounts {
            total: 9,
            normal: 6,
            abnormal: 2,
            paused: 1,
            rate_limited: 0,
        },
    );
    s.accounts.insert(
        "gemini".into(),
        AccountCounts {
            total: 3,
            normal: 2,
            abnormal: 0,
            paused: 0,
            rate_limited: 1,
        },
    );
}

/// Today's usage (the trend's last day) and the real-time rates.
fn sample_today_and_realtime(s: &mut Snapshot) {
    let today = s.trend.last().cloned().unwrap_or_default();
    s.usage_today = Usage {
        requests: today.requests,
        input_tokens: today.input_tokens,
        output_tokens: today.output_tokens,
        cache_create_tokens: today.cache_create_tokens,
        cache_read_tokens: today.cache_read_tokens,
        all_tokens: today.all_tokens,
        cost_usd: today.cost_usd,
        core_tokens: today.input_tokens + today.output_tokens,
        errors: None,
    };
    s.realtime = Realtime {
        rpm: 4.2,
        tpm: 31_000.0,
        window_minutes: 5,
    };
}
