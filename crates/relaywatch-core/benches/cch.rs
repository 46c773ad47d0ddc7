//! Claude Code Hub (CCH) reader benchmark on a real PostgreSQL started here: CCH's schema with
//! 500 users, 2,000 keys (half with limits), 8 providers and 1,000,000 `usage_ledger` rows over
//! 30 days (one binary COPY, the values CCH's trigger writes), then times the snapshot, both
//! leaderboard dry runs, the quota dry run, CCH's own SQL for the same figures, and the peak RSS
//! of a `relaywatch snapshot` process; rule: prints figures next to their targets, asserts
//! nothing about speed.
//!
//! RELAYWATCH_BENCH_ROWS scales it (e.g. 100000 for a quick look). RELAYWATCH_BENCH_EXPLAIN=1
//! also logs, through PostgreSQL's `auto_explain`, the plan of every relaywatch statement over
//! 20 ms in one snapshot and one quota dry run, and prints them. The peak RSS is the
//! `relaywatch` binary's when one is built next to this bench (`cargo build --release -p
//! relaywatch-cli`, or RELAYWATCH_BIN), else this process's own.

use std::future::Future;
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use relaywatch_core::config::channels::SecretRef;
use relaywatch_core::config::{Settings, SourceKindSetting};
use relaywatch_core::model::LeaderboardWindow;
use relaywatch_core::pricing::Pricing;
use relaywatch_core::service::dry_runs;
use relaywatch_core::source::{take_snapshot, ReadRequest};
use relaywatch_core::tz::RelayTz;
use relaywatch_testkit::cch::{
    create_cch_schema, insert_keys, insert_providers, insert_users, set_settings, CchKey,
    CchLimits, CchProvider, CchSettings, CchUser, ResetMode,
};
use relaywatch_testkit::pg::{connect, PgServer};
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{to_sql_checked, FromSql, IsNull, ToSql, Type};
use tokio_postgres::Client;

const USERS: usize = 500;
const KEYS: usize = 2_000;
const PROVIDERS: usize = 8;
const DAYS: i64 = 30;
const RUNS: usize = 5;
const ZONE: &str = "Asia/Shanghai";

/// CCH's billing condition (unqualified columns), as its repositories write it.
const BILLING: &str = "blocked_by IS NULL AND is_replay = false AND (endpoint IS NULL OR \
    lower(regexp_replace(endpoint, '/+$', '')) NOT IN ('/v1/messages/count_tokens', '/v1/responses/compact'))";

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A USD amount in micro-dollars, sent as PostgreSQL's binary `numeric` (scale 6).
#[derive(Debug)]
struct Usd(i64);

impl ToSql for Usd {
    fn to_sql(
        &self,
        _: &Type,
        out: &mut tokio_postgres::types::private::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        let m = self.0.unsigned_abs();
        let (mut int, frac) = (m / 1_000_000, m % 1_000_000 * 100);
        let mut digits = Vec::new();
        while int > 0 {
            digits.insert(0, (int % 10_000) as i16);
            int /= 10_000;
        }
        let weight = digits.len() as i16 - 1;
        digits.extend([(frac / 10_000) as i16, (frac % 10_000) as i16]);
        let sign: u16 = if self.0 < 0 { 0x4000 } else { 0 };
        let head = [digits.len() as i16, weight, sign as i16, 6];
        for v in head.iter().chain(&digits) {
            out.extend_from_slice(&v.to_be_bytes());
        }
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::NUMERIC
    }

    to_sql_checked!();
}

/// A `json` value as its text (EXPLAIN's FORMAT JSON output; its binary form is the text).
struct JsonText(String);

impl<'a> FromSql<'a> for JsonText {
    fn from_sql(
        _: &Type,
        raw: &'a [u8],
    ) -> Result<JsonText, Box<dyn std::error::Error + Sync + Send>> {
        Ok(JsonText(std::str::from_utf8(raw)?.to_string()))
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::JSON
    }
}

/// A key as the ledger knows it: owner and key string.
struct SeedKey {
    user_id: i32,
    key: String,
}

/// What the seeding wrote that the ledger rows refer to.
struct Hub {
    keys: Vec<SeedKey>,
    providers: Vec<i32>,
    limited_keys: Vec<String>,
}

fn usd_limits(j: usize) -> CchLimits {
    let on = |set: &[usize], v: f64| set.contains(&j).then_some(v);
    CchLimits {
        limit_5h_usd: on(&[0, 4], 1.5),
        limit_5h_reset_mode: if j == 4 {
            ResetMode::Fixed
        } else {
            ResetMode::Rolling
        },
        daily_usd: on(&[1, 2, 5, 6], 4.0),
        daily_reset_mode: if j == 2 || j == 6 {
            ResetMode::Rolling
        } else {
            ResetMode::Fixed
        },
        daily_reset_time: if j == 5 { "08:30" } else { "00:00" }.to_string(),
        weekly_usd: on(&[3, 4, 7], 25.0),
        monthly_usd: on(&[0, 5, 7], 80.0),
        total_usd: on(&[2, 3, 6], 120.0),
    }
}

fn users(now: DateTime<Utc>) -> Vec<CchUser> {
    (0..USERS)
        .map(|i| {
            let mut u = CchUser::new(&format!("user-{i:03}"));
            if i % 50 == 49 {
                u.deleted_at = Some(now - Duration::days(2));
            }
            if i % 10 == 0 {
                u.limits.daily_usd = Some(40.0);
                u.limits.weekly_usd = Some(200.0);
            }
            u
        })
        .collect()
}

fn providers() -> Vec<CchProvider> {
    let kinds = ["claude", "claude-auth", "codex", "gemini"];
    (0..PROVIDERS)
        .map(|i| {
            let mut p = CchProvider::new(&format!("provider-{i}"), kinds[i % kinds.len()]);
            if i == 1 {
                p.limits.daily_usd = Some(1_500.0);
            }
            if i == 2 {
                p.limits.total_usd = Some(100_000.0);
            }
            p
        })
        .collect()
}

/// Users, providers and keys (every other key with limits; a few disabled or deleted).
async fn seed_hub(c: &Client, now: DateTime<Utc>) -> Hub {
    set_settings(
        c,
        &CchSettings {
            timezone: Some(ZONE.into()),
            ..CchSettings::default()
        },
    )
    .await
    .unwrap();
    let user_ids = insert_users(c, &users(now)).await.unwrap();
    let providers = insert_providers(c, &providers()).await.unwrap();
    let mut specs = Vec::with_capacity(KEYS);
    let mut limited_keys = Vec::new();
    for i in 0..KEYS {
        let user_id = user_ids[i % USERS];
        let key = format!("sk-bench-{i:05}-{:016x}", Rng(i as u64 + 7).next());
        let mut k = CchKey::new(user_id, &key, &format!("key-{i:04}"));
        if i % 2 == 0 {
            let j = (i / 2) % 8;
            k.limits = usd_limits(j);
            if j == 6 {
                k.cost_reset_at = Some(now - Duration::days(10));
            }
            limited_keys.push(key.clone());
        }
        k.is_enabled = (i + 1) % 101 != 0;
        if (i + 1) % 397 == 0 {
            k.deleted_at = Some(now - Duration::days(1));
        }
        specs.push(k);
    }
    insert_keys(c, &specs).await.unwrap();
    let keys = specs
        .into_iter()
        .map(|k| SeedKey {
            user_id: k.user_id,
            key: k.key,
        })
        .collect();
    Hub {
        keys,
        providers,
        limited_keys,
    }
}

/// One `usage_ledger` row, as CCH's trigger would have written it.
struct Row<'a> {
    user_id: i32,
    key: &'a str,
    provider_id: i32,
    final_provider_id: i32,
    model: &'static str,
    original_model: Option<&'static str>,
    endpoint: Option<&'static str>,
    is_replay: bool,
    status_code: Option<i32>,
    is_success: bool,
    blocked_by: Option<&'static str>,
    cost_micros: i64,
    tokens: [Option<i64>; 6],
    duration_ms: Option<i32>,
}

fn model_of(rng: &mut Rng, provider_index: usize) -> (&'static str, &'static str) {
    match provider_index % 4 {
        2 => ("gpt-5-codex", "/v1/responses"),
        3 => ("gemini-2.5-pro", "/v1/messages"),
        _ => match rng.below(20) {
            0..=11 => ("claude-sonnet-4-5-20250929", "/v1/messages"),
            12..=14 => ("claude-opus-4-1-20250805", "/v1/messages"),
            _ => ("claude-haiku-4-5-20251001", "/v1/messages"),
        },
    }
}

/// A successful call's tokens and cost (list prices, micro-USD).
fn usage(rng: &mut Rng, model: &str) -> ([Option<i64>; 6], i64) {
    let input = 50 + rng.below(8_000) as i64;
    let output = 20 + rng.below(3_000) as i64;
    let cc = if rng.below(10) < 3 {
        500 + rng.below(20_000) as i64
    } else {
        0
    };
    let cr = if rng.below(2) == 0 {
        1_000 + rng.below(100_000) as i64
    } else {
        0
    };
    let base = input * 3 + output * 15 + cc * 15 / 4 + cr * 3 / 10;
    let cost = if model.contains("opus") {
        base * 5
    } else if model.contains("haiku") {
        base / 3
    } else {
        base
    };
    (
        [
            Some(input),
            Some(output),
            Some(cc),
            Some(cr),
            Some(cc),
            Some(0),
        ],
        cost,
    )
}

/// A failed call: `status`, no cost, no tokens (`is_success` as the trigger computes it).
fn fail(r: &mut Row<'_>, status: i32) {
    r.status_code = Some(status);
    r.is_success = false;
    r.cost_micros = 0;
    r.tokens = [None; 6];
}

/// The `i`th ledger row: ~2.5 % errors and 0.5 % blocked (3 % `is_success = false`), 2 %
/// replays (cost 0), 1 % warm-ups marked after the fact, 5 % served after a failover, 1 % with a
/// NULL endpoint; keys drawn with a skew. Also 0.5 % `count_tokens`/`compact` calls, which
/// CCH's current trigger keeps out of the ledger: they are here (as an older ledger may hold
/// them) so the billing condition has rows to drop.
fn row<'a>(rng: &mut Rng, hub: &'a Hub, old: bool) -> Row<'a> {
    let k = &hub.keys[(rng.unit().powi(2) * KEYS as f64) as usize];
    let live = if old { PROVIDERS } else { PROVIDERS - 1 };
    let p = rng.below(live as u64) as usize;
    let (model, endpoint) = model_of(rng, p);
    let (tokens, cost) = usage(rng, model);
    let mut r = Row {
        user_id: k.user_id,
        key: &k.key,
        provider_id: hub.providers[p],
        final_provider_id: hub.providers[p],
        model,
        original_model: None,
        endpoint: Some(endpoint),
        is_replay: false,
        status_code: Some(200),
        is_success: true,
        blocked_by: None,
        cost_micros: cost,
        tokens,
        duration_ms: Some(300 + rng.below(60_000) as i32),
    };
    if model.starts_with("claude-sonnet") && rng.below(10) == 0 {
        r.original_model = Some("claude-opus-4-1-20250805");
    }
    if rng.below(20) == 0 {
        r.final_provider_id = hub.providers[(p + 1) % (PROVIDERS - 1)];
    }
    if rng.below(100) == 0 {
        r.endpoint = None;
    }
    match rng.below(1_000) {
        0..=24 => fail(&mut r, [500, 502, 529, 429, 401][rng.below(5) as usize]),
        25..=29 => {
            fail(&mut r, 400);
            r.blocked_by = Some("sensitive_word");
        }
        30..=49 => {
            r.is_replay = true;
            r.cost_micros = 0;
        }
        50..=59 => {
            (r.status_code, r.cost_micros, r.tokens) = (None, 0, [None; 6]);
            (r.duration_ms, r.blocked_by) = (None, Some("warmup"));
        }
        60..=64 => {
            let ends = [
                "/v1/messages/count_tokens",
                "/v1/messages/count_tokens/",
                "/v1/responses/compact",
            ];
            r.endpoint = Some(ends[rng.below(3) as usize]);
        }
        _ => {}
    }
    r
}

const LEDGER_COLUMNS: &str = "request_id, user_id, key, provider_id, final_provider_id, model, \
    original_model, endpoint, is_replay, status_code, is_success, blocked_by, cost_usd, \
    input_tokens, output_tokens, cache_creation_input_tokens, cache_read_input_tokens, \
    cache_creation_5m_input_tokens, cache_creation_1h_input_tokens, duration_ms, created_at";

const LEDGER_TYPES: [Type; 21] = [
    Type::INT4,
    Type::INT4,
    Type::VARCHAR,
    Type::INT4,
    Type::INT4,
    Type::VARCHAR,
    Type::VARCHAR,
    Type::VARCHAR,
    Type::BOOL,
    Type::INT4,
    Type::BOOL,
    Type::VARCHAR,
    Type::NUMERIC,
    Type::INT8,
    Type::INT8,
    Type::INT8,
    Type::INT8,
    Type::INT8,
    Type::INT8,
    Type::INT4,
    Type::TIMESTAMPTZ,
];

/// `n` ledger rows over the `DAYS` days before `now`, in time order, with one binary COPY.
async fn copy_ledger(c: &Client, hub: &Hub, n: usize, now: DateTime<Utc>) {
    let sink = c
        .copy_in(&format!(
            "COPY usage_ledger ({LEDGER_COLUMNS}) FROM STDIN (FORMAT binary)"
        ))
        .await
        .unwrap();
    let writer = BinaryCopyInWriter::new(sink, &LEDGER_TYPES);
    let mut writer = std::pin::pin!(writer);
    let start = now - Duration::days(DAYS);
    let step = DAYS * 86_400_000_000 / n as i64;
    let mut rng = Rng(0x00c0_ffee_1234_5678);
    for i in 0..n {
        let at = start + Duration::microseconds(i as i64 * step + rng.below(step as u64) as i64);
        let r = row(&mut rng, hub, at < now - Duration::days(20));
        let (request_id, cost) = (i as i32 + 1, Usd(r.cost_micros));
        let [t0, t1, t2, t3, t4, t5] = &r.tokens;
        let values: [&(dyn ToSql + Sync); 21] = [
            &request_id,
            &r.user_id,
            &r.key,
            &r.provider_id,
            &r.final_provider_id,
            &r.model,
            &r.original_model,
            &r.endpoint,
            &r.is_replay,
            &r.status_code,
            &r.is_success,
            &r.blocked_by,
            &cost,
            t0,
            t1,
            t2,
            t3,
            t4,
            t5,
            &r.duration_ms,
            &at,
        ];
        writer.as_mut().write(&values).await.unwrap();
    }
    writer.as_mut().finish().await.unwrap();
}

/// Milliseconds of each of `RUNS` runs of `f`.
async fn time_runs<F, Fut>(mut f: F) -> Vec<f64>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    let mut out = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let t = Instant::now();
        f().await;
        out.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    out
}

/// `name: median … ms (min …, max …)`, with the target when there is one.
fn print_times(name: &str, mut ms: Vec<f64>, target_ms: Option<f64>) {
    ms.sort_by(|a, b| a.total_cmp(b));
    let median = ms[ms.len() / 2];
    let target = match target_ms {
        Some(t) if median <= t => format!("   [target ≤ {t:.0} ms: met]"),
        Some(t) => format!("   [target ≤ {t:.0} ms: MISSED]"),
        None => String::new(),
    };
    println!(
        "{name}: median {median:.1} ms (min {:.1}, max {:.1}){target}",
        ms[0],
        ms[ms.len() - 1]
    );
}

fn request(now: DateTime<Utc>) -> ReadRequest {
    ReadRequest {
        now,
        tz: RelayTz::from_config(8),
        trend_days: 7,
        top_n: 10,
        window_minutes: 5,
    }
}

/// relaywatch's own reads: the snapshot, both leaderboards and the quota dry run.
async fn time_relaywatch(s: &Settings, now: DateTime<Utc>) {
    let pricing = &Pricing::bundled();
    let snap = take_snapshot(s, pricing, request(now)).await.unwrap();
    println!(
        "  (snapshot: today {} requests, ${:.2}, {} errors; total {} requests; {} limits, {} top users)",
        snap.usage_today.requests,
        snap.usage_today.cost_usd,
        snap.usage_today.errors.unwrap_or(0),
        snap.usage_total.requests,
        snap.limits.len(),
        snap.top_users.len()
    );
    let top = snap
        .limits
        .iter()
        .max_by(|a, b| (a.used_usd / a.limit_usd).total_cmp(&(b.used_usd / b.limit_usd)));
    if let Some(l) = top {
        println!(
            "  (highest limit use: {} {} {}: ${:.2} of ${:.2})",
            l.scope, l.name, l.period, l.used_usd, l.limit_usd
        );
    }
    let ms = time_runs(move || async move {
        take_snapshot(s, pricing, request(now)).await.unwrap();
    })
    .await;
    print_times("snapshot", ms, Some(300.0));
    for (name, w) in [
        (
            "leaderboard dry run, calendar day",
            LeaderboardWindow::CalendarDay,
        ),
        (
            "leaderboard dry run, rolling 24 h",
            LeaderboardWindow::Rolling24h,
        ),
    ] {
        let ms = time_runs(move || async move {
            dry_runs::leaderboard(s, w, 5, now).await.unwrap();
        })
        .await;
        print_times(name, ms, None);
    }
    let q = dry_runs::quota(s, now).await.unwrap();
    println!(
        "  (quota dry run: {} items at or above the threshold)",
        q.items.len()
    );
    let ms = time_runs(move || async move {
        dry_runs::quota(s, now).await.unwrap();
    })
    .await;
    print_times("quota dry run", ms, Some(200.0));
}

/// The plan's nodes, outermost first: `Node Type [on relation] [using index]`.
fn plan_outline(plan: &serde_json::Value, out: &mut Vec<String>) {
    let get = |k: &str| plan.get(k).and_then(|v| v.as_str());
    let mut node = get("Node Type").unwrap_or("?").to_string();
    if let Some(r) = get("Relation Name") {
        node += &format!(" on {r}");
    }
    if let Some(i) = get("Index Name") {
        node += &format!(" using {i}");
    }
    out.push(node);
    for p in plan
        .get("Plans")
        .and_then(|v| v.as_array())
        .into_iter()
        .flatten()
    {
        plan_outline(p, out);
    }
}

/// Times `sql` (median of `RUNS`) and prints EXPLAIN ANALYZE's execution time and plan outline.
async fn time_sql(c: &Client, name: &str, sql: &str, params: &[&(dyn ToSql + Sync)]) {
    let stmt = &c.prepare(sql).await.unwrap();
    let ms = time_runs(move || async move {
        c.query(stmt, params).await.unwrap();
    })
    .await;
    print_times(name, ms, None);
    let explain = format!("EXPLAIN (ANALYZE, FORMAT JSON) {sql}");
    let row = c.query_one(&explain, params).await.unwrap();
    let JsonText(text) = row.get(0);
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let top = &json[0];
    let mut nodes = Vec::new();
    plan_outline(&top["Plan"], &mut nodes);
    println!(
        "    EXPLAIN ANALYZE: execution {:.1} ms; {}",
        top["Execution Time"].as_f64().unwrap_or(f64::NAN),
        nodes.join(" > ")
    );
}

/// CCH's own SQL for the same figures (written from CCH's repositories), through one client.
async fn time_cch_sql(c: &Client, hub: &Hub, now: DateTime<Utc>) {
    let today = format!(
        "SELECT count(*), coalesce(sum(cost_usd), 0), count(*) FILTER (WHERE NOT is_success) \
         FROM usage_ledger WHERE {BILLING} \
         AND created_at >= (date_trunc('day', $2::timestamptz AT TIME ZONE $1) AT TIME ZONE $1) \
         AND created_at < ((date_trunc('day', $2::timestamptz AT TIME ZONE $1) + interval '1 day') AT TIME ZONE $1)"
    );
    time_sql(c, "CCH SQL: today overview", &today, &[&ZONE, &now]).await;
    let board = format!(
        "SELECT l.user_id, u.name, count(*), sum(l.cost_usd) AS cost FROM usage_ledger l \
         JOIN users u ON u.id = l.user_id AND u.deleted_at IS NULL WHERE {} \
         AND l.created_at >= $1::timestamptz - interval '24 hours' \
         GROUP BY l.user_id, u.name ORDER BY cost DESC",
        BILLING
            .replace("blocked_by", "l.blocked_by")
            .replace("is_replay", "l.is_replay")
            .replace("endpoint", "l.endpoint")
    );
    time_sql(c, "CCH SQL: rolling-24h leaderboard", &board, &[&now]).await;
    let per_key = format!(
        "SELECT coalesce(sum(cost_usd), 0) FROM usage_ledger \
         WHERE key = $1 AND {BILLING} AND created_at >= $2 AND created_at <= $3"
    );
    let busiest = &hub.keys[0].key;
    let month = now - Duration::days(DAYS + 1);
    let day = now - Duration::days(1);
    let name = "CCH SQL: one key's total (busiest key, all its rows)";
    time_sql(c, name, &per_key, &[busiest, &month, &now]).await;
    let name = "CCH SQL: one key's rolling day (busiest key)";
    time_sql(c, name, &per_key, &[busiest, &day, &now]).await;
    let stmt = &c.prepare(&per_key).await.unwrap();
    let keys = &hub.limited_keys;
    let ms = time_runs(move || async move {
        for k in keys {
            c.query_one(stmt, &[k, &day, &now]).await.unwrap();
        }
    })
    .await;
    let name = format!(
        "CCH SQL: rolling-day sum of each of the {} limited keys, one query each",
        hub.limited_keys.len()
    );
    print_times(&name, ms, None);
}

/// A `VmHWM:`-style line of /proc/`pid`/status, in KiB.
fn proc_kib(pid: &str, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The `relaywatch` binary: RELAYWATCH_BIN, else next to this bench's target dir.
fn relaywatch_bin() -> Option<std::path::PathBuf> {
    if let Ok(p) = std::env::var("RELAYWATCH_BIN") {
        return Some(p.into());
    }
    let exe = std::env::current_exe().ok()?;
    let bin = exe.parent()?.parent()?.join("relaywatch");
    bin.is_file().then_some(bin)
}

/// Runs `relaywatch snapshot --json` on the hub (under /usr/bin/time when present); prints its
/// wall time and peak RSS. Falls back to this process's VmHWM when there is no binary.
fn peak_rss(url: &str) {
    let Some(bin) = relaywatch_bin() else {
        let kib = proc_kib("self", "VmHWM:").unwrap_or(0);
        println!(
            "peak RSS: this bench process {:.1} MB (no relaywatch binary; build it with \
             `cargo build --release -p relaywatch-cli`)   [target ≤ 50 MB for relaywatch]",
            kib as f64 / 1024.0
        );
        return;
    };
    let dir = std::env::temp_dir().join(format!("relaywatch-cch-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("relaywatch.toml");
    std::fs::write(
        &config,
        format!("[source]\nkind = \"cch\"\ndatabase_url = \"{url}\"\n"),
    )
    .unwrap();
    let time_out = dir.join("time.txt");
    let use_time = std::path::Path::new("/usr/bin/time").is_file();
    let mut cmd = if use_time {
        let mut c = std::process::Command::new("/usr/bin/time");
        c.arg("-f").arg("%M").arg("-o").arg(&time_out).arg(&bin);
        c
    } else {
        std::process::Command::new(&bin)
    };
    cmd.args(["snapshot", "--json", "--config"]).arg(&config);
    cmd.stdout(std::process::Stdio::null())
        .env("RELAYWATCH_LOG", "warn");
    let t = Instant::now();
    let mut child = cmd.spawn().expect("spawn relaywatch");
    let pid = child.id().to_string();
    let mut polled = 0;
    while child.try_wait().unwrap().is_none() {
        polled = polled.max(proc_kib(&pid, "VmHWM:").unwrap_or(0));
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let wall = t.elapsed().as_secs_f64() * 1000.0;
    let kib = std::fs::read_to_string(&time_out)
        .ok()
        .and_then(|s| s.trim().lines().last()?.trim().parse().ok())
        .unwrap_or(polled);
    let _ = std::fs::remove_dir_all(&dir);
    let mb = kib as f64 / 1024.0;
    let met = if mb <= 50.0 { "met" } else { "MISSED" };
    println!(
        "peak RSS: relaywatch snapshot --json (process) {mb:.1} MB, wall {wall:.0} ms   [target ≤ 50 MB: {met}]"
    );
}

/// With RELAYWATCH_BENCH_EXPLAIN=1: PostgreSQL's auto_explain logs the plan of every statement
/// over 20 ms in one snapshot and one quota dry run; prints those plans from the server's log.
async fn explain_relaywatch(pg: &PgServer, c: &Client, s: &Settings, now: DateTime<Utc>) {
    if std::env::var("RELAYWATCH_BENCH_EXPLAIN").ok().as_deref() != Some("1") {
        return;
    }
    // One statement each: ALTER SYSTEM refuses to run in a (multi-statement) transaction; the
    // LOAD makes auto_explain's parameters known to this session.
    for sql in [
        "LOAD 'auto_explain'",
        "ALTER SYSTEM SET session_preload_libraries = 'auto_explain'",
        "ALTER SYSTEM SET auto_explain.log_min_duration = '20ms'",
        "ALTER SYSTEM SET auto_explain.log_analyze = on",
        "ALTER SYSTEM SET auto_explain.log_buffers = on",
        "SELECT pg_reload_conf()",
    ] {
        c.batch_execute(sql).await.unwrap();
    }
    let log = pg.dir().join("log");
    let from = std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0) as usize;
    take_snapshot(s, &Pricing::bundled(), request(now))
        .await
        .unwrap();
    dry_runs::quota(s, now).await.unwrap();
    let text = std::fs::read(&log).unwrap_or_default();
    println!("--- auto_explain: relaywatch statements over 20 ms ---");
    println!("{}", String::from_utf8_lossy(&text[from.min(text.len())..]));
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let n: usize = std::env::var("RELAYWATCH_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let pg = PgServer::start().expect("PostgreSQL for the benchmark");
    let url = pg.url();
    let client = connect(&url).await;
    create_cch_schema(&client).await.unwrap();
    let now = Utc::now();
    let t = Instant::now();
    let hub = seed_hub(&client, now).await;
    copy_ledger(&client, &hub, n, now).await;
    client.batch_execute("ANALYZE").await.unwrap();
    println!(
        "seeded {USERS} users, {KEYS} keys ({} limited), {PROVIDERS} providers, {n} ledger rows over {DAYS} days in {:.1} s",
        hub.limited_keys.len(),
        t.elapsed().as_secs_f64()
    );
    let mut s = Settings::default();
    s.source.kind = Some(SourceKindSetting::Cch);
    s.source.database_url = Some(SecretRef::Plain(url.clone()));
    time_relaywatch(&s, now).await;
    time_cch_sql(&client, &hub, now).await;
    peak_rss(&url);
    explain_relaywatch(&pg, &client, &s, now).await;
}
