//! The CRS reader against a real redis-server seeded as CRS writes: every Snapshot field checked
//! against hand-computed expectations, with and without index sets.

use chrono::{DateTime, Duration, TimeZone, Utc};
use relaywatch_core::model::{AccountCounts, Snapshot, SourceKind};
use relaywatch_core::pricing::Pricing;
use relaywatch_core::source::aggregate::{aggregate, Scope};
use relaywatch_core::source::crs::CrsReader;
use relaywatch_core::source::ReadRequest;
use relaywatch_core::tz::RelayTz;
use relaywatch_testkit::{fresh_db, AccountSpec, ApiKeySpec, CrsWriter, Platform, UsageEvent};

const K1: &str = "11111111-1111-4111-8111-111111111111";
const K2: &str = "22222222-2222-4222-8222-222222222222";
const K3: &str = "33333333-3333-4333-8333-333333333333";
const K4: &str = "44444444-4444-4444-8444-444444444444";
const SONNET45: &str = "claude-sonnet-4-5-20250929";
const BEDROCK_SONNET4: &str = "us.anthropic.claude-sonnet-4-20250514-v1:0";
const SONNET4: &str = "claude-sonnet-4-20250514";
const SONNET4_1M: &str = "claude-sonnet-4-20250514[1m]";

/// Sunday 2026-11-22 12:00 at UTC+8.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 4, 0, 0).unwrap()
}

/// A price straight from the shipped LiteLLM file (USD per token).
fn price(model: &str, field: &str) -> f64 {
    static PRICES: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    let all = PRICES.get_or_init(|| {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../assets/pricing/model_prices_and_context_window.json"
        );
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    });
    all[model][field]
        .as_f64()
        .unwrap_or_else(|| panic!("{model}.{field} missing"))
}

/// Legacy-path cost: tokens × per-token price for each kind.
fn cost(model: &str, input: f64, output: f64, cc: f64, cr: f64) -> f64 {
    input * price(model, "input_cost_per_token")
        + output * price(model, "output_cost_per_token")
        + cc * price(model, "cache_creation_input_token_cost")
        + cr * price(model, "cache_read_input_token_cost")
}

struct Expect {
    today_sonnet45: f64,
    today_sonnet4: f64,
    today_1m: f64,
    yday_sonnet45: f64,
    yday_gpt5: f64,
    opus: f64,
    old_sonnet45: f64,
}

fn expected_costs() -> Expect {
    Expect {
        today_sonnet45: cost(SONNET45, 1000.0, 500.0, 200.0, 3000.0),
        today_sonnet4: cost(SONNET4, 2000.0, 1000.0, 0.0, 0.0),
        // A Claude [1m] request above 200k input: CRS prices Claude models at the base rates.
        today_1m: 250_000.0 * price(SONNET4, "input_cost_per_token")
            + 1000.0 * price(SONNET4, "output_cost_per_token"),
        yday_sonnet45: cost(SONNET45, 100.0, 100.0, 0.0, 0.0),
        yday_gpt5: 1000.0 * price("gpt-5", "input_cost_per_token")
            + 1000.0 * price("gpt-5", "output_cost_per_token"),
        opus: cost("claude-opus-4-1-20250805", 100.0, 100.0, 0.0, 0.0),
        old_sonnet45: 1000.0 * price(SONNET45, "input_cost_per_token"),
    }
}

/// Write the dataset; `legacy` leaves out index sets, global aggregates and cost micros.
fn seed(url: &str, legacy: bool) {
    let n = now();
    let mut w = CrsWriter::connect(url);
    if legacy {
        w = w.legacy();
    }
    seed_keys(&mut w, n);
    seed_usage(&mut w, n);
    seed_accounts(&mut w, n);
    w.flush();
}

/// Four keys: one with limits and a tag, one with a Chinese name, one inactive, one deleted.
fn seed_keys(w: &mut CrsWriter, n: DateTime<Utc>) {
    let created = n - Duration::days(40);
    w.api_key(
        &ApiKeySpec::new(K1, "alpha", created)
            .daily_cost_limit(10.0)
            .total_cost_limit(100.0)
            .weekly_opus_cost_limit(50.0)
            .tags(&["team-a"]),
    );
    w.api_key(&ApiKeySpec::new(K2, "研发部-主力", created));
    w.api_key(&ApiKeySpec::new(K3, "inactive", created).active(false));
    w.api_key(&ApiKeySpec::new(K4, "deleted", created).deleted_at(n - Duration::days(1)));
}

/// Requests today, yesterday, 3 and 10 days back, and three minutes of real-time metrics.
fn seed_usage(w: &mut CrsWriter, n: DateTime<Utc>) {
    let e = expected_costs();
    let today = n - Duration::hours(1);
    let yday = n - Duration::days(1);
    w.usage(
        &UsageEvent::new(K1, SONNET45, today)
            .tokens(1000, 500, 200, 3000)
            .cost(e.today_sonnet45, e.today_sonnet45)
            .account("acc-claude-1", "claude-official"),
    );
    w.usage(
        &UsageEvent::new(K2, BEDROCK_SONNET4, today)
            .tokens(2000, 1000, 0, 0)
            .cost(e.today_sonnet4, e.today_sonnet4 * 0.5)
            .account("acc-bedrock-1", "bedrock"),
    );
    w.usage(
        &UsageEvent::new(K1, SONNET4_1M, today)
            .tokens(250_000, 1000, 0, 0)
            .cost(e.today_1m, e.today_1m)
            .long_context(true)
            .account("acc-claude-1", "claude-official"),
    );
    w.usage(
        &UsageEvent::new(K1, SONNET45, yday)
            .tokens(100, 100, 0, 0)
            .cost(e.yday_sonnet45, e.yday_sonnet45)
            .account("acc-claude-1", "claude-official"),
    );
    w.usage(
        &UsageEvent::new(K3, "gpt-5", yday)
            .tokens(1000, 1000, 0, 0)
            .cost(e.yday_gpt5, e.yday_gpt5),
    );
    w.usage(
        &UsageEvent::new(K4, "claude-opus-4-1-20250805", n - Duration::days(3))
            .tokens(100, 100, 0, 0)
            .cost(e.opus, e.opus),
    );
    w.usage(
        &UsageEvent::new(K2, SONNET45, n - Duration::days(10))
            .tokens(1000, 0, 0, 0)
            .cost(e.old_sonnet45, e.old_sonnet45),
    );
    // Real-time: two minutes inside the 5-minute window, one just outside.
    w.minute_metrics(n, 6, 1000, 200, 0, 0);
    w.minute_metrics(n - Duration::minutes(4), 4, 500, 300, 0, 0);
    w.minute_metrics(n - Duration::minutes(5), 100, 50_000, 0, 0, 0);
}

/// Accounts on every platform, in every state the cascade tells apart.
fn seed_accounts(w: &mut CrsWriter, n: DateTime<Utc>) {
    let ok = |name: &str| {
        AccountSpec::new(name)
            .active(true)
            .status("active")
            .schedulable(true)
    };
    w.account(Platform::Claude, "c-ok", &ok("c-ok"));
    w.account(
        Platform::Claude,
        "c-limited",
        &ok("c-limited").rate_limited(n - Duration::minutes(30), Some(n + Duration::minutes(30))),
    );
    w.account(
        Platform::Claude,
        "c-expired",
        &ok("c-expired").rate_limited(n - Duration::hours(3), Some(n - Duration::hours(2))),
    );
    w.account(
        Platform::Claude,
        "c-unauth",
        &ok("c-unauth").status("unauthorized"),
    );
    w.account(
        Platform::ClaudeConsole,
        "cc-limited",
        &ok("cc-limited").rate_limited(n - Duration::minutes(10), None),
    );
    w.account(Platform::Bedrock, "b-ok", &ok("b-ok"));
    w.account(
        Platform::Bedrock,
        "b-paused",
        &ok("b-paused").schedulable(false),
    );
    w.account(
        Platform::OpenAi,
        "o-limited",
        &ok("o-limited").rate_limited(n - Duration::minutes(5), None),
    );
    w.account(Platform::Droid, "d-ok", &ok("d-ok"));
    w.account(Platform::Gemini, "g-off", &ok("g-off").active(false));
}

async fn snapshot(url: &str) -> Snapshot {
    let mut reader = CrsReader::connect(url, std::time::Duration::from_secs(5))
        .await
        .expect("connect");
    let req = ReadRequest {
        now: now(),
        tz: RelayTz::from_config(8),
        trend_days: 7,
        top_n: 10,
        window_minutes: 5,
    };
    let data = reader.read(&req).await.expect("read");
    aggregate(
        data,
        &Pricing::bundled(),
        Scope {
            source: SourceKind::Crs,
            trend_days: 7,
            top_n: 10,
        },
    )
}

#[track_caller]
fn close(a: f64, b: f64, what: &str) {
    assert!((a - b).abs() < 1e-9, "{what}: got {a}, expected {b}");
}

fn counts(total: u64, normal: u64, abnormal: u64, paused: u64, rate_limited: u64) -> AccountCounts {
    AccountCounts {
        total,
        normal,
        abnormal,
        paused,
        rate_limited,
    }
}

fn check_common(s: &Snapshot) {
    check_keys_and_accounts(s);
    check_today_and_realtime(s);
    check_trend(s);
    check_models_and_top_keys(s);
    check_limits(s);
}

fn check_keys_and_accounts(s: &Snapshot) {
    assert_eq!(s.source, SourceKind::Crs);
    assert_eq!(s.today, "2026-11-22");
    assert_eq!(s.timezone_offset_hours, 8);
    assert_eq!(s.generated_at.to_rfc3339(), "2026-11-22T12:00:00+08:00");

    // Keys: the soft-deleted one counts in neither total nor active.
    assert_eq!(s.api_keys.total, 3);
    assert_eq!(s.api_keys.active, 2);
    assert_eq!(s.api_keys.deleted, 1);

    // Accounts by the cascade, on raw fields.
    assert_eq!(s.accounts["claude"], counts(4, 2, 1, 0, 1));
    assert_eq!(s.accounts["claude-console"], counts(1, 0, 0, 0, 1));
    assert_eq!(s.accounts["bedrock"], counts(2, 1, 0, 1, 0));
    assert_eq!(s.accounts["openai"], counts(1, 0, 0, 0, 1));
    assert_eq!(s.accounts["droid"], counts(1, 1, 0, 0, 0));
    assert_eq!(s.accounts["gemini"], counts(1, 0, 1, 0, 0));
    assert_eq!(s.accounts["ccr"], counts(0, 0, 0, 0, 0));
    assert_eq!(s.accounts.len(), 10, "every platform is listed");
}

fn check_today_and_realtime(s: &Snapshot) {
    let e = expected_costs();
    // Today: Σ per-key daily hashes; cost at list price per model.
    let t = &s.usage_today;
    assert_eq!(t.requests, 3);
    assert_eq!(t.input_tokens, 253_000);
    assert_eq!(t.output_tokens, 2_500);
    assert_eq!(t.cache_create_tokens, 200);
    assert_eq!(t.cache_read_tokens, 3_000);
    assert_eq!(t.all_tokens, 258_700);
    assert_eq!(t.core_tokens, 255_500, "CRS's today card: input + output");
    close(
        t.cost_usd,
        e.today_sonnet45 + e.today_sonnet4 + e.today_1m,
        "today cost",
    );

    // Real-time: the current minute and the one 4 minutes back, over 5 minutes.
    assert_eq!(s.realtime.window_minutes, 5);
    close(s.realtime.rpm, 2.0, "rpm");
    close(s.realtime.tpm, 400.0, "tpm");
}

fn check_trend(s: &Snapshot) {
    let e = expected_costs();
    // Trend: 7 days ascending, zero days included.
    let dates: Vec<&str> = s.trend.iter().map(|d| d.date.as_str()).collect();
    assert_eq!(
        dates,
        [
            "2026-11-16",
            "2026-11-17",
            "2026-11-18",
            "2026-11-19",
            "2026-11-20",
            "2026-11-21",
            "2026-11-22"
        ]
    );
    let day = |d: &str| s.trend.iter().find(|t| t.date == d).unwrap();
    assert_eq!(day("2026-11-22").requests, 3);
    assert_eq!(day("2026-11-22").all_tokens, 258_700);
    close(
        day("2026-11-22").cost_usd,
        e.today_sonnet45 + e.today_sonnet4 + e.today_1m,
        "trend today",
    );
    assert_eq!(day("2026-11-21").requests, 2);
    assert_eq!(day("2026-11-21").all_tokens, 2_200);
    close(
        day("2026-11-21").cost_usd,
        e.yday_sonnet45 + e.yday_gpt5,
        "trend yesterday",
    );
    assert_eq!(day("2026-11-19").requests, 1);
    close(day("2026-11-19").cost_usd, e.opus, "trend opus day");
    assert_eq!(day("2026-11-18").requests, 0);
    assert_eq!(day("2026-11-18").cost_usd, 0.0);
}

fn check_models_and_top_keys(s: &Snapshot) {
    let e = expected_costs();
    // Models over the range, normalised (Bedrock id → claude-sonnet-4-20250514, [1m] kept).
    let names: Vec<&str> = s.models.iter().map(|m| m.model.as_str()).collect();
    assert_eq!(
        names,
        [
            SONNET4_1M,
            SONNET4,
            SONNET45,
            "gpt-5",
            "claude-opus-4-1-20250805"
        ]
    );
    let m = |n: &str| s.models.iter().find(|m| m.model == n).unwrap();
    close(
        m(SONNET45).cost_usd,
        e.today_sonnet45 + e.yday_sonnet45,
        "sonnet 4.5",
    );
    assert_eq!(m(SONNET45).requests, 2);
    assert_eq!(m(SONNET45).all_tokens, 4_700 + 200);
    close(m(SONNET4).cost_usd, e.today_sonnet4, "bedrock sonnet 4");
    close(m(SONNET4_1M).cost_usd, e.today_1m, "[1m]");

    // Top keys by rated cost over the range; the deleted key is left out.
    let k1 = &s.top_keys[0];
    assert_eq!(s.top_keys.len(), 3);
    assert_eq!(k1.name, "alpha");
    assert_eq!(k1.requests, 3);
    assert_eq!(k1.all_tokens, 4_700 + 251_000 + 200);
    close(
        k1.cost_usd,
        e.today_sonnet45 + e.today_1m + e.yday_sonnet45,
        "k1 rated",
    );
    let k2 = s.top_keys.iter().find(|k| k.id == K2).unwrap();
    assert_eq!(k2.name, "研发部-主力");
    assert_eq!(k2.requests, 1, "the day outside the range is not counted");
}

fn check_limits(s: &Snapshot) {
    let e = expected_costs();
    // Limits: only k1 has any.
    assert_eq!(s.key_limits.len(), 1);
    let l = &s.key_limits[0];
    assert_eq!(l.id, K1);
    close(l.daily_cost_usd, e.today_sonnet45 + e.today_1m, "k1 daily");
    assert_eq!(l.daily_limit_usd, 10.0);
    close(
        l.total_cost_usd,
        e.today_sonnet45 + e.today_1m + e.yday_sonnet45,
        "k1 total",
    );
    assert_eq!(l.total_limit_usd, 100.0);
    close(
        l.weekly_opus_cost_usd,
        e.today_sonnet45 + e.today_1m + e.yday_sonnet45,
        "k1 weekly Claude",
    );
    assert_eq!(l.weekly_opus_limit_usd, 50.0);
    assert_eq!(l.tags, ["team-a"]);
}

#[tokio::test]
async fn snapshot_with_index_sets_matches_hand_computed_figures() {
    let url = fresh_db();
    seed(&url, false);
    let s = snapshot(&url).await;
    check_common(&s);
    // Top keys: the stored rated cost (ratedCostMicro), so k2's 0.5 service rate counts.
    let ids: Vec<&str> = s.top_keys.iter().map(|k| k.id.as_str()).collect();
    assert_eq!(ids, [K1, K3, K2]);
    close(
        s.top_keys[2].cost_usd,
        expected_costs().today_sonnet4 * 0.5,
        "k2 rated",
    );
    // Lifetime from usage:global:total: every request, the deleted key's included.
    assert_eq!(s.usage_total.requests, 7);
    let t = &s.usage_total;
    assert_eq!(t.input_tokens, 253_000 + 100 + 1_000 + 100 + 1_000);
    // CRS books no output for an input-only request (the 10-days-ago one).
    assert_eq!(t.output_tokens, 3_700);
    assert_eq!(t.cache_create_tokens, 200);
    assert_eq!(t.cache_read_tokens, 3_000);
    assert_eq!(t.all_tokens, 255_200 + 3_700 + 200 + 3_000);
    // All-time cost: each model summed over the months listed, deleted keys' usage included.
    let e = expected_costs();
    close(
        t.cost_usd,
        e.today_sonnet45
            + e.today_sonnet4
            + e.today_1m
            + e.yday_sonnet45
            + e.yday_gpt5
            + e.opus
            + e.old_sonnet45,
        "all-time cost",
    );
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
}

#[tokio::test]
async fn snapshot_without_index_sets_scans_and_agrees() {
    let url = fresh_db();
    seed(&url, true);
    let s = snapshot(&url).await;
    check_common(&s);
    // Data without cost micros: CRS's key trend recomputes list prices, without service rates.
    let ids: Vec<&str> = s.top_keys.iter().map(|k| k.id.as_str()).collect();
    assert_eq!(ids, [K1, K2, K3]);
    close(
        s.top_keys[1].cost_usd,
        expected_costs().today_sonnet4,
        "k2 at list price",
    );
    // No usage:global:total: Σ usage:{id} over keys that are not deleted.
    assert_eq!(s.usage_total.requests, 6);
    let t = &s.usage_total;
    assert_eq!(t.input_tokens, 253_000 + 100 + 1_000 + 1_000);
    assert_eq!(t.output_tokens, 3_600);
    assert_eq!(t.cache_create_tokens, 200);
    assert_eq!(t.cache_read_tokens, 3_000);
    assert_eq!(t.all_tokens, 255_100 + 3_600 + 200 + 3_000);
    // No usage:model:monthly:months: CRS prices the keys' lifetime totals as Claude 3.5 Haiku.
    let haiku = "claude-3-5-haiku-20241022";
    close(
        s.usage_total.cost_usd,
        cost(haiku, 255_100.0, 3_600.0, 200.0, 3_000.0),
        "all-time cost, Haiku fallback",
    );
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
}

/// A newer Claude model missing from the bundled price list (no key matches it, even fuzzily).
const NEW_CLAUDE: &str = "claude-opus-5-20270101";

// Hand-computed CRS figures. NEW_CLAUDE has no price, so CRS's detailed path (taken when a 5m/1h
// split is present) finds `hasPricing: false` and falls back to the legacy path with
// MODEL_PRICING.unknown = 3 / 15 / 3.75 / 0.30 USD per Mtok, all cache creation at 3.75.
// claude-sonnet-4-20250514 per token: 3e-6 in, 1.5e-5 out, 3.75e-6 5m write, 6e-6 1h write.

/// Today, NEW_CLAUDE, 1000 in / 2000 out / 3000 write (1000 5m + 2000 1h) / 4000 read:
/// 1000×3/1e6 + 2000×15/1e6 + 3000×3.75/1e6 + 4000×0.3/1e6 = 0.003 + 0.03 + 0.01125 + 0.0012.
const NEW_TODAY: f64 = 0.04545;
/// Yesterday, NEW_CLAUDE, 10_000 in / 5000 write, all 1h: 10_000×3/1e6 + 5000×3.75/1e6
/// = 0.03 + 0.01875 (the 1h tokens at the unknown row's 3.75, not at a 1h price).
const NEW_YDAY: f64 = 0.04875;
/// Three days ago, NEW_CLAUDE, no split, 100_000 in / 10_000 out: 0.3 + 0.15.
const NEW_OLD: f64 = 0.45;
/// Today, Sonnet 4 with a split, 1000 in / 1000 out / 1000 5m + 2000 1h: detailed path,
/// 1000×3e-6 + 1000×1.5e-5 + 1000×3.75e-6 + 2000×6e-6 = 0.003 + 0.015 + 0.00375 + 0.012.
const S4_TODAY: f64 = 0.03375;
/// Three days ago, Sonnet 4 without a split, 1000 in / 1000 write: legacy path,
/// 1000×3/1e6 + 1000×3.75/1e6 = 0.003 + 0.00375.
const S4_OLD: f64 = 0.00675;
/// All time, NEW_CLAUDE's month summed (111_000 in, 12_000 out, 8000 write, 4000 read; split
/// present, no price, so the unknown row): 0.333 + 0.18 + 0.03 + 0.0012. Equals the three days.
const NEW_MONTH: f64 = 0.5442;
/// All time, Sonnet 4's month summed (2000 in, 1000 out, 4000 write of which 1000 5m + 2000 1h,
/// 0 read): the split is present, so the detailed path bills only the split tokens, and the 1000
/// unsplit write tokens of three days ago drop out, as in CRS:
/// 2000×3e-6 + 1000×1.5e-5 + 1000×3.75e-6 + 2000×6e-6 = 0.006 + 0.015 + 0.00375 + 0.012.
const S4_MONTH: f64 = 0.03675;

fn seed_new_model(url: &str, legacy: bool) {
    let n = now();
    let mut w = CrsWriter::connect(url);
    if legacy {
        w = w.legacy();
    }
    let created = n - Duration::days(40);
    w.api_key(&ApiKeySpec::new(K1, "alpha", created));
    w.api_key(&ApiKeySpec::new(K2, "beta", created));
    let today = n - Duration::hours(1);
    let events = [
        UsageEvent::new(K1, NEW_CLAUDE, today)
            .tokens(1_000, 2_000, 3_000, 4_000)
            .ephemeral(1_000, 2_000)
            .cost(NEW_TODAY, NEW_TODAY),
        UsageEvent::new(K1, NEW_CLAUDE, n - Duration::days(1))
            .tokens(10_000, 0, 5_000, 0)
            .ephemeral(0, 5_000)
            .cost(NEW_YDAY, NEW_YDAY),
        UsageEvent::new(K2, NEW_CLAUDE, n - Duration::days(3))
            .tokens(100_000, 10_000, 0, 0)
            .cost(NEW_OLD, NEW_OLD),
        UsageEvent::new(K2, SONNET4, today)
            .tokens(1_000, 1_000, 3_000, 0)
            .ephemeral(1_000, 2_000)
            .cost(S4_TODAY, S4_TODAY),
        UsageEvent::new(K2, SONNET4, n - Duration::days(3))
            .tokens(1_000, 0, 1_000, 0)
            .cost(S4_OLD, S4_OLD),
    ];
    for e in &events {
        w.usage(&e.clone().account("acc-claude-1", "claude-official"));
    }
    w.flush();
}

fn check_new_model_costs(s: &Snapshot) {
    close(s.usage_today.cost_usd, NEW_TODAY + S4_TODAY, "today cost");
    let day = |d: &str| s.trend.iter().find(|t| t.date == d).unwrap().cost_usd;
    close(day("2026-11-22"), NEW_TODAY + S4_TODAY, "trend 11-22");
    close(day("2026-11-21"), NEW_YDAY, "trend 11-21");
    close(day("2026-11-20"), 0.0, "trend 11-20");
    close(day("2026-11-19"), NEW_OLD + S4_OLD, "trend 11-19");
    // model-stats: each model summed over the 7 days, priced once (same sums as the month).
    let m = |n: &str| s.models.iter().find(|m| m.model == n).unwrap().cost_usd;
    close(m(NEW_CLAUDE), NEW_MONTH, "model-stats new model");
    close(m(SONNET4), S4_MONTH, "model-stats sonnet 4");
}

#[tokio::test]
async fn unknown_model_with_cache_split_costs_what_crs_shows() {
    let url = fresh_db();
    seed_new_model(&url, false);
    let s = snapshot(&url).await;
    check_new_model_costs(&s);
    // usage-costs?period=all: Σ over usage:model:monthly:months, each model priced once.
    close(
        s.usage_total.cost_usd,
        NEW_MONTH + S4_MONTH,
        "all-time cost",
    );
    // Top keys: the stored ratedCostMicro.
    let key = |id: &str| s.top_keys.iter().find(|k| k.id == id).unwrap().cost_usd;
    close(key(K1), NEW_TODAY + NEW_YDAY, "k1 rated");
    close(key(K2), NEW_OLD + S4_TODAY + S4_OLD, "k2 rated");
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
}

#[tokio::test]
async fn unknown_model_with_cache_split_costs_what_crs_shows_on_legacy_data() {
    let url = fresh_db();
    seed_new_model(&url, true);
    let s = snapshot(&url).await;
    check_new_model_costs(&s);
    // Key trend without cost micros: CRS recomputes each key-day from its model hashes.
    let key = |id: &str| s.top_keys.iter().find(|k| k.id == id).unwrap().cost_usd;
    close(key(K1), NEW_TODAY + NEW_YDAY, "k1 recomputed");
    close(key(K2), NEW_OLD + S4_TODAY + S4_OLD, "k2 recomputed");
    // No months set: CRS prices each key's lifetime totals as claude-3-5-haiku-20241022
    // (8e-7 in, 4e-6 out, 1e-6 write, 8e-8 read per token). getAllApiKeysFast's totals carry
    // no 5m/1h split, so the legacy path bills all 12_000 write tokens at 1e-6:
    // 113_000×8e-7 + 13_000×4e-6 + 12_000×1e-6 + 4000×8e-8 = 0.0904 + 0.052 + 0.012 + 0.00032.
    close(
        s.usage_total.cost_usd,
        0.15472,
        "all-time cost, Haiku fallback",
    );
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
}

#[tokio::test]
async fn malformed_counters_and_wrong_types_are_skipped_with_one_warning_per_kind() {
    let url = fresh_db();
    seed(&url, false);
    let mut w = CrsWriter::connect(&url);
    let bad_key = "55555555-5555-4555-8555-555555555555";
    w.raw_hset(
        &format!("usage:daily:{bad_key}:2026-11-22"),
        "requests",
        "12abc",
    );
    w.raw_hset(
        &format!("usage:daily:{bad_key}:2026-11-22"),
        "inputTokens",
        "100",
    );
    w.raw_hset(
        &format!("usage:daily:{bad_key}:2026-11-22"),
        "outputTokens",
        "x",
    );
    w.raw_sadd("usage:daily:index:2026-11-22", bad_key);
    w.raw_set(
        "usage:daily:66666666-6666-4666-8666-666666666666:2026-11-22",
        "oops",
    );
    w.raw_sadd(
        "usage:daily:index:2026-11-22",
        "66666666-6666-4666-8666-666666666666",
    );
    w.raw_set(&format!("usage:cost:daily:{K2}:2026-11-22"), "not-a-number");
    w.flush();
    let s = snapshot(&url).await;
    assert_eq!(s.usage_today.requests, 3, "the bad counter is not added");
    assert_eq!(
        s.usage_today.input_tokens, 253_100,
        "good fields of the same hash are"
    );
    assert_eq!(s.warnings.len(), 3, "{:?}", s.warnings);
    assert!(
        s.warnings
            .iter()
            .any(|w| w.starts_with("skipped 2 non-numeric counter(s)")),
        "{:?}",
        s.warnings
    );
    assert!(
        s.warnings.iter().any(|w| w.contains("wrong type")),
        "{:?}",
        s.warnings
    );
    assert!(
        s.warnings.iter().any(|w| w.contains("cost value")),
        "{:?}",
        s.warnings
    );
    // The key whose cost is unreadable is ranked on what could be read (nothing in range).
    assert!(s.top_keys.iter().all(|k| k.id != K2));
}

#[tokio::test]
async fn unreachable_redis_names_the_url_with_the_password_masked() {
    let started = std::time::Instant::now();
    let err = CrsReader::connect(
        "redis://:hunter2@127.0.0.1:1/0",
        std::time::Duration::from_secs(5),
    )
    .await
    .err()
    .expect("port 1 refuses");
    let msg = err.to_string();
    assert!(msg.contains("redis://***@127.0.0.1:1/0"), "{msg}");
    assert!(!msg.contains("hunter2"), "{msg}");
    assert_eq!(err.exit_code(), 2);
    assert_eq!(msg.lines().count(), 1, "{msg}");
    assert!(started.elapsed() < std::time::Duration::from_secs(6));
}
