//! EZ-API log-table benchmark on a real PostgreSQL started here: seeds one week of records
//! (default 1,000,000, with error bursts), then times (1) `rules replay error-rate` over the week
//! — the service's own replay: paged reads in time order and the exact window — and the breaker
//! replay, and (2) the tail's read path: pages of 5,000 by id, each row judged by the error-rate
//! window, as the daemon does (without its one Redis save per page). Prints figures; asserts
//! nothing about speed.
//!
//! RELAYWATCH_BENCH_ROWS scales it (e.g. 100000 for a quick look).

use std::time::Instant;

use chrono::{Duration, TimeZone, Utc};
use relaywatch_core::config::channels::SecretRef;
use relaywatch_core::config::rules::{Dimension, EventSourceKind};
use relaywatch_core::config::Settings;
use relaywatch_core::events::table::{LogTable, Shape, PAGE};
use relaywatch_core::rules::error_rate::ExactWindow;
use relaywatch_core::secret_store::SecretStore;
use relaywatch_core::service::replay::replay;
use relaywatch_testkit::ezapi::{create_log_records, insert_log_records, LogRecordRow};
use relaywatch_testkit::pg::{connect, PgServer};

fn rows(n: usize) -> Vec<LogRecordRow> {
    let start = Utc.with_ymd_and_hms(2026, 11, 27, 0, 0, 0).unwrap();
    let step = 7 * 86_400_000 / n as i64;
    (0..n)
        .map(|i| {
            let at = start + Duration::milliseconds(i as i64 * step);
            let in_burst = (i % 50_000) < 40;
            let row = if in_burst || i.is_multiple_of(97) {
                LogRecordRow::error(at, 502, "upstream reset")
            } else {
                LogRecordRow::ok(at)
            };
            LogRecordRow {
                provider_id: (i % 8) as i64 + 1,
                key_id: (i % 2_000) as i64 + 1,
                ..row
            }
        })
        .collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
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
    create_log_records(&client, "log_records").await.unwrap();
    let data = rows(n);
    let (from, to) = (
        data[0].created_at,
        data[n - 1].created_at + Duration::seconds(1),
    );
    let t = Instant::now();
    insert_log_records(&client, "log_records", &data)
        .await
        .unwrap();
    client.batch_execute("ANALYZE log_records").await.unwrap();
    println!(
        "seeded {n} rows over 7 days in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    drop(data);

    let mut s = Settings::default();
    s.events.source = EventSourceKind::Ezapi;
    s.events.database_url = Some(SecretRef::Plain(url.clone()));
    s.rules.error_rate.dimensions = vec![Dimension::Global, Dimension::Provider];
    for rule in ["error-rate", "breaker"] {
        let mut times = Vec::new();
        let mut firing = 0;
        for _ in 0..3 {
            let t = Instant::now();
            let r = replay(&s, &SecretStore::default(), rule, from, to)
                .await
                .unwrap();
            times.push(t.elapsed().as_secs_f64());
            firing = r.summary.firing;
        }
        println!(
            "replay {rule} over one week ({n} rows, global + provider): median {:.2} s ({:.0} rows/s), {firing} firing",
            median(times.clone()),
            n as f64 / median(times)
        );
    }

    let table = LogTable::connect(
        &url,
        "log_records",
        Shape::Ezapi,
        std::time::Duration::from_secs(5),
    )
    .await
    .unwrap();
    let mut w = ExactWindow::new(s.rules.error_rate.clone());
    let t = Instant::now();
    let (mut after, mut read, mut fired) = (0i64, 0usize, 0usize);
    loop {
        let page = table.after(after, PAGE).await.unwrap();
        if page.is_empty() {
            break;
        }
        for r in &page {
            fired += w.push(&r.event, r.at_ms()).len();
        }
        read += page.len();
        after = page.last().map(|r| r.id).unwrap_or(after);
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "tail read path: {read} rows by id in pages of {PAGE} in {secs:.2} s = {:.0} rows/s ({fired} transitions)",
        read as f64 / secs
    );
}
