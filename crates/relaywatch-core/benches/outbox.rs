//! Outbox throughput: N queued items delivered by two `outbox_worker` processes to a loopback
//! HTTP/1.1 receiver; rule: it prints a figure (deliveries/s) and checks no item was lost or
//! sent twice — it is not a timed test.
//!
//! `cargo bench -p relaywatch-core --bench outbox` (`RELAYWATCH_BENCH_OUTBOX_ITEMS` sets N).

#[path = "../tests/outbox_http.rs"]
mod outbox_http;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use std::time::{Duration, Instant};

use relaywatch_core::delivery::outbox::{system_now_ms, NewItem, Outbox, OutboxConfig};
use relaywatch_testkit::RedisServer;

#[tokio::main]
async fn main() {
    let n: usize = std::env::var("RELAYWATCH_BENCH_OUTBOX_ITEMS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    let bin = build_worker();

    let server = RedisServer::start();
    let url = server.url_db(0);
    let ob = Outbox::connect(&url, Duration::from_secs(5), OutboxConfig::default())
        .await
        .unwrap();
    let t = Instant::now();
    enqueue_all(&ob, n).await;
    let enq = t.elapsed();
    println!(
        "enqueue: {n} items in {:.2} s ({:.0}/s)",
        enq.as_secs_f64(),
        n as f64 / enq.as_secs_f64()
    );

    let rx = outbox_http::Receiver::start(Arc::new(|_, _| outbox_http::Reply::Status(200, vec![])))
        .await;
    let t = Instant::now();
    let outs = run_workers(&bin, &url, &rx.addr.to_string()).await;
    let took = t.elapsed();
    for o in &outs {
        print!("worker: {}", String::from_utf8_lossy(&o.stdout));
    }
    let got = rx.delivered();
    let dup = got.values().filter(|&&c| c > 1).count();
    println!(
        "outbox: {n} deliveries by 2 sender processes in {:.2} s = {:.0} deliveries/s (received {}, duplicates {dup})",
        took.as_secs_f64(),
        n as f64 / took.as_secs_f64(),
        got.len()
    );
    assert_eq!(got.len(), n, "lost items");
    assert_eq!(dup, 0, "duplicates");
}

/// Builds the `outbox_worker` example (release) and answers its path.
fn build_worker() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap().to_path_buf();
    let status = std::process::Command::new(env!("CARGO"))
        .args([
            "build",
            "-q",
            "--release",
            "-p",
            "relaywatch-core",
            "--example",
            "outbox_worker",
        ])
        .status()
        .unwrap();
    assert!(status.success(), "cannot build outbox_worker");
    dir.join("examples").join("outbox_worker")
}

/// `n` alert items over eight channels, enqueued by 16 tasks.
async fn enqueue_all(ob: &Outbox, n: usize) {
    let now = system_now_ms();
    let mut jobs = tokio::task::JoinSet::new();
    for part in 0..16 {
        let ob = ob.clone();
        jobs.spawn(async move {
            for i in (part..n).step_by(16) {
                let item = NewItem {
                    channel: format!("ch{}", i % 8),
                    kind: "alert".into(),
                    key: format!("alert:bench:{i}"),
                    payload: vec![b'x'; 512],
                };
                ob.enqueue(&item, now).await.unwrap();
            }
        });
    }
    while jobs.join_next().await.is_some() {}
}

/// Two worker processes sending until the outbox is empty; their outputs.
async fn run_workers(bin: &Path, url: &str, addr: &str) -> Vec<Output> {
    let workers: Vec<_> = (0..2)
        .map(|_| {
            std::process::Command::new(bin)
                .args([url, "relaywatch:", addr, "30000", "64", "until-empty"])
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    tokio::task::spawn_blocking(move || {
        workers
            .into_iter()
            .map(|w| w.wait_with_output().unwrap())
            .collect::<Vec<_>>()
    })
    .await
    .unwrap()
}
