//! An outbox sender process for tests and the bench; rule: it delivers only to a loopback
//! receiver, and exits by itself only when the outbox holds nothing due or claimed.
//!
//! `outbox_worker REDIS_URL PREFIX RECEIVER_ADDR [LEASE_MS] [CONCURRENCY] [until-empty|forever]`

#[path = "../tests/outbox_http.rs"]
mod outbox_http;

use std::time::{Duration, Instant};

use relaywatch_core::delivery::outbox::{self, DeliveryResult, Outbox, OutboxConfig, SenderConfig};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: outbox_worker REDIS_URL PREFIX RECEIVER_ADDR [LEASE_MS] [CONCURRENCY] [until-empty|forever]");
        std::process::exit(3);
    }
    let lease_ms: u64 = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(30_000);
    let concurrency: usize = args.get(5).and_then(|s| s.parse().ok()).unwrap_or(64);
    let until_empty = args.get(6).map(|s| s == "until-empty").unwrap_or(true);
    let cfg = OutboxConfig {
        prefix: args[2].clone(),
        lease: Duration::from_millis(lease_ms),
        ..OutboxConfig::default()
    };
    let ob = Outbox::connect(&args[1], Duration::from_secs(5), cfg)
        .await
        .unwrap_or_else(|e| {
            eprintln!("{e}");
            std::process::exit(2)
        });
    let client = outbox_http::Client::new(args[3].parse().expect("receiver address"));
    let timeout = Duration::from_millis(lease_ms);
    let deliver = move |item: outbox::Item| {
        let client = client.clone();
        async move { deliver_one(&client, &item, timeout).await }
    };
    let watcher = ob.clone();
    let shutdown = async move {
        if !until_empty {
            std::future::pending::<()>().await;
        }
        loop {
            tokio::time::sleep(Duration::from_millis(20)).await;
            if let Ok(s) = watcher.stats().await {
                if s.due == 0 && s.claimed == 0 {
                    return;
                }
            }
        }
    };
    let sender = SenderConfig {
        concurrency,
        batch: concurrency,
        idle_poll: Duration::from_millis(20),
        ..SenderConfig::default()
    };
    let stats = outbox::run(ob, sender, deliver, shutdown).await;
    println!(
        "delivered={} retried={} dead={} lost={} errors={}",
        stats.delivered, stats.retried, stats.dead, stats.lost, stats.errors
    );
}

/// One POST to the receiver, judged as the real sender judges HTTP: 2xx delivered; 408, 429 and
/// 5xx retried (after Retry-After when given); anything else failed; no answer retried.
async fn deliver_one(
    client: &outbox_http::Client,
    item: &outbox::Item,
    timeout: Duration,
) -> DeliveryResult {
    let t = Instant::now();
    match client.post(&item.key, &item.payload, timeout).await {
        Ok(a) if (200..300).contains(&a.status) => {
            DeliveryResult::delivered(Some(a.status), None, t.elapsed())
        }
        Ok(a) if a.status == 429 || a.status == 408 || a.status >= 500 => {
            let after = a
                .headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("retry-after"))
                .and_then(|(_, v)| v.parse::<f64>().ok())
                .map(Duration::from_secs_f64);
            DeliveryResult::retry(
                after,
                Some(a.status),
                None,
                t.elapsed(),
                format!("HTTP {}", a.status),
            )
        }
        Ok(a) => DeliveryResult::fail(
            Some(a.status),
            None,
            t.elapsed(),
            format!("HTTP {}", a.status),
        ),
        Err(e) => DeliveryResult::retry(None, None, None, t.elapsed(), e.to_string()),
    }
}
