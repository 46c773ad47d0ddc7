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

mod cch_sql;
mod rss;
mod seed;

use cch_sql::*;
use rss::*;
use seed::*;

/// Milliseconds of each of `RUNS` runs of `f`.
pub(crate) async fn time_runs<F, Fut>(mut f: F) -> Vec<f64>
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
pub(crate) fn print_times(name: &str, mut ms: Vec<f64>, target_ms: Option<f64>) {
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

pub(crate) fn request(now: DateTime<Utc>) -> ReadRequest {
    ReadRequest {
        now,
        tz: RelayTz::from_config(8),
        trend_days: 7,
        top_n: 10,
        window_minutes: 5,
    }
}

/// `s` as a hub this process has not read yet (a first read is a fresh one).
fn first_read(s: &Settings, tag: &str) -> Settings {
    let mut s = s.clone();
    if let Some(SecretRef::Plain(url)) = &s.source.database_url {
        s.source.database_url = Some(SecretRef::Plain(format!("{url}?application_name={tag}")));
    }
    s
}

/// Milliseconds of one run of `f`.
async fn once<Fut: Future<Output = ()>>(f: Fut) -> f64 {
    let t = Instant::now();
    f.await;
    t.elapsed().as_secs_f64() * 1000.0
}

/// relaywatch's own reads: the snapshot, both leaderboards and the quota dry run — a first
/// read (what a one-shot command pays), the second (which keeps the closed days), and the
/// later ones of a long-running process (the target).
pub(crate) async fn time_relaywatch(s: &Settings, now: DateTime<Utc>) {
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
    let firsts = time_runs(|| {
        let fresh = first_read(s, &format!("f{}", rand_tag()));
        async move {
            take_snapshot(&fresh, pricing, request(now)).await.unwrap();
        }
    })
    .await;
    print_times("snapshot, first read (one-shot command)", firsts, None);
    let keeping = once(async {
        take_snapshot(s, pricing, request(now)).await.unwrap();
    })
    .await;
    println!("snapshot, second read (keeps the closed days): {keeping:.1} ms");
    let ms = time_runs(move || async move {
        take_snapshot(s, pricing, request(now)).await.unwrap();
    })
    .await;
    print_times(
        "snapshot, later reads (daemon, serve, tray)",
        ms,
        Some(300.0),
    );
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
    time_quota(s, now).await;
}

fn rand_tag() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

async fn time_quota(s: &Settings, now: DateTime<Utc>) {
    let q = dry_runs::quota(s, now).await.unwrap();
    println!(
        "  (quota dry run: {} items at or above the threshold)",
        q.items.len()
    );
    let firsts = time_runs(|| {
        let fresh = first_read(s, &format!("q{}", rand_tag()));
        async move {
            dry_runs::quota(&fresh, now).await.unwrap();
        }
    })
    .await;
    print_times("quota dry run, first read (one-shot command)", firsts, None);
    let ms = time_runs(move || async move {
        dry_runs::quota(s, now).await.unwrap();
    })
    .await;
    print_times(
        "quota dry run, later reads (daemon, serve)",
        ms,
        Some(200.0),
    );
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
