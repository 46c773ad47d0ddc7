//! Failing platforms against loopback receivers: a `Retry-After` given as an HTTP date is
//! honoured (in process and through the outbox), `Retry-After: 1e30` neither panics nor holds
//! a claim, and a receiver that is down for a while gets its message once it is back instead
//! of it being dead-lettered. Rule: only 127.0.0.1 is connected to.

#[path = "common/receiver.rs"]
mod receiver;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use receiver::{Receiver, Reply};
use relaywatch_core::channels::{Outcome, RETRY_AFTER_MAX};
use relaywatch_core::config::channels::{ChannelSettings, ChannelType, NetworkSettings, SecretRef};
use relaywatch_core::config::{Lang, Settings};
use relaywatch_core::delivery::backoff::BackoffPolicy;
use relaywatch_core::delivery::channel_sender::{send_with_retries, ChannelSender};
use relaywatch_core::delivery::drain::{
    backoff_policy, enqueue_and_drain, outbox_config, Deliverer, DrainOptions, Fate,
};
use relaywatch_core::delivery::envelope::Envelope;
use relaywatch_core::delivery::history::AttemptResult;
use relaywatch_core::delivery::outbox::{system_now_ms, Outbox};
use relaywatch_core::render::message::Message;
use relaywatch_core::render::messages;
use relaywatch_core::secret_store::SecretStore;
use relaywatch_testkit::samples;

fn channel(name: &str, env: &str) -> ChannelSettings {
    ChannelSettings {
        url: Some(SecretRef::Env { env: env.into() }),
        ..ChannelSettings::new(name, ChannelType::Generic)
    }
}

fn settings(channels: Vec<ChannelSettings>, redis: Option<&str>) -> Settings {
    let mut s = Settings {
        channels,
        network: NetworkSettings {
            allow: vec!["127.0.0.0/8".into()],
            timeout_ms: 2_000,
            allow_http: true,
        },
        ..Default::default()
    };
    s.state.redis_url = redis.map(str::to_string);
    // Scaled down: 100 ms doubling; a Retry-After is what makes a retry wait seconds.
    s.delivery.backoff_ms = 100;
    s.delivery.backoff_cap_ms = 400;
    s.delivery.attempts = 3;
    s
}

fn store(env: HashMap<&'static str, String>) -> SecretStore {
    SecretStore::default().with_env(move |k| env.get(k).cloned())
}

fn message() -> Message {
    messages::test_message("hook", samples::sample_time(), Lang::En)
}

/// An HTTP date at least four (and under five) seconds ahead.
fn date_ahead() -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(now.as_secs() + 5))
}

fn policy() -> BackoffPolicy {
    BackoffPolicy {
        base: Duration::from_millis(20),
        cap: Duration::from_millis(200),
        jitter: 0.0,
        max_attempts: 4,
        max_retry_after: Duration::from_secs(10),
    }
}

fn sender_for(rx: &Receiver) -> ChannelSender {
    let s = settings(vec![channel("hook", "URL")], None);
    let url = format!("http://127.0.0.1:{}/hook", rx.port());
    let store = SecretStore::default().with_env(move |k| (k == "URL").then(|| url.clone()));
    ChannelSender::new(&s, "hook", &store).expect("sender")
}

/// `Retry-After: <HTTP date ~4.5 s ahead>` makes the second attempt wait ~4.5 s, not the 20 ms
/// the policy would.
#[tokio::test]
async fn an_http_date_retry_after_is_honoured_in_process() {
    let date = date_ahead();
    let rx = Receiver::start(vec![
        Reply::new(503, "maintenance").header("Retry-After", &date),
        Reply::json(200, "{}"),
    ])
    .await;
    let started = Instant::now();
    let all = send_with_retries(&sender_for(&rx), &message(), "m-date", &policy()).await;
    let took = started.elapsed();
    assert_eq!(all.len(), 2, "{all:?}");
    assert!(all[1].delivered());
    match &all[0].attempts[0].outcome {
        Outcome::Retry { after: Some(a), .. } => {
            assert!(
                *a > Duration::from_millis(3_500) && *a <= Duration::from_secs(5),
                "{a:?}"
            )
        }
        other => panic!("{other:?}"),
    }
    assert!(all[0].attempts[0].rule.contains("retry after"), "{all:?}");
    assert!(
        took >= Duration::from_millis(3_900),
        "retried after {took:?}"
    );
    assert!(took < Duration::from_secs(10), "{took:?}");
}

/// `Retry-After: 1e30` is read as a day: a one-shot send stops at once (more than the policy's
/// limit) instead of panicking.
#[tokio::test]
async fn a_1e30_retry_after_ends_a_one_shot_send_without_panicking() {
    let rx = Receiver::start(vec![
        Reply::new(429, "slow down").header("Retry-After", "1e30")
    ])
    .await;
    let started = Instant::now();
    let all = send_with_retries(&sender_for(&rx), &message(), "m-1e30", &policy()).await;
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(rx.count(), 1);
    assert!(matches!(
        &all[0].attempts[0].outcome,
        Outcome::Retry { after: Some(a), .. } if *a == RETRY_AFTER_MAX
    ));
    assert!(all[0].attempts[0].rule.contains("retry after 86400.0 s"));
    assert!(started.elapsed() < Duration::from_secs(3));
}

/// Through the outbox: the HTTP date is honoured between attempts 1 and 2 (history times), and
/// a `1e30` item is left queued an hour out (the policy's cap) at once — no panic, no claim
/// held until its lease runs out.
#[tokio::test]
async fn through_the_outbox_a_date_is_honoured_and_1e30_leaves_the_item_queued() {
    let url = relaywatch_testkit::fresh_db();
    let dated = Receiver::start(vec![
        Reply::new(503, "maintenance").header("Retry-After", &date_ahead()),
        Reply::json(200, "{}"),
    ])
    .await;
    let huge = Receiver::start(vec![Reply::new(429, "later").header("Retry-After", "1e30")]).await;
    let s = settings(
        vec![channel("dated", "DATED_URL"), channel("huge", "HUGE_URL")],
        Some(&url),
    );
    let env = HashMap::from([
        ("DATED_URL", format!("http://127.0.0.1:{}/h", dated.port())),
        ("HUGE_URL", format!("http://127.0.0.1:{}/h", huge.port())),
    ]);
    let outbox = Outbox::connect(&url, Duration::from_secs(5), outbox_config(&s))
        .await
        .unwrap();
    let msg = message();
    let items = ["dated", "huge"]
        .iter()
        .map(|ch| Envelope::new(ch, &msg).item(format!("test:ra:{ch}")))
        .collect();
    let deliverer = Arc::new(Deliverer::new(s.clone(), store(env)));
    let started = Instant::now();
    let before = system_now_ms();
    let drained = enqueue_and_drain(&outbox, deliverer, items, DrainOptions::default())
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );

    let d = &drained[0];
    assert_eq!(d.fate, Fate::Delivered, "{d:?}");
    assert_eq!(d.records.len(), 2, "{d:?}");
    let gap = d.records[1].time_ms - d.records[0].time_ms;
    assert!(gap >= 3_900, "attempt 2 came {gap} ms after attempt 1");
    assert_eq!(dated.count(), 2);

    let h = &drained[1];
    let hour = Duration::from_secs(3600).as_millis() as u64;
    match h.fate {
        Fate::Queued { next_at_ms } => {
            assert!(next_at_ms >= before + hour - 1_000, "{next_at_ms}");
            assert!(next_at_ms <= system_now_ms() + hour, "{next_at_ms}");
        }
        other => panic!("{other:?} {h:?}"),
    }
    assert_eq!(h.records.len(), 1, "{h:?}");
    assert_eq!(h.records[0].result, AttemptResult::Retry);
    assert_eq!(huge.count(), 1);
    let stats = outbox.stats().await.unwrap();
    assert_eq!((stats.claimed, stats.dead), (0, 0), "{stats:?}");
}

/// A loopback receiver that is down (connection refused) until `down` has passed, then answers
/// 200 on the same port; returns its port and the number of requests it answered.
async fn down_then_up(down: Duration) -> (u16, Arc<std::sync::atomic::AtomicUsize>) {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = probe.local_addr().unwrap().port();
    drop(probe);
    let got = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = got.clone();
    tokio::spawn(async move {
        tokio::time::sleep(down).await;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("the port is free again");
        while let Ok((sock, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move { answer_ok(sock, &seen).await });
        }
    });
    (port, got)
}

async fn answer_ok(sock: tokio::net::TcpStream, seen: &std::sync::atomic::AtomicUsize) {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
    let mut r = BufReader::new(sock);
    let mut len = 0usize;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        if line == "\r\n" {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0u8; len];
    if r.read_exact(&mut body).await.is_err() {
        return;
    }
    seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let _ = r
        .get_mut()
        .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
        .await;
}

/// The default policy's shape, scaled down (100 ms doubling to 400 ms, 20 attempts: it rides
/// out about 7 s). A receiver down for 4 s gets the message once it is back, once; nothing is
/// dead-lettered.
#[tokio::test]
async fn a_receiver_down_for_a_while_gets_the_message_when_it_is_back() {
    let url = relaywatch_testkit::fresh_db();
    let down = Duration::from_secs(4);
    let (port, got) = down_then_up(down).await;
    let mut s = settings(vec![channel("flaky", "FLAKY_URL")], Some(&url));
    s.delivery.attempts = 20;
    let policy = backoff_policy(&s);
    assert!(
        policy.rides_out() > down + Duration::from_secs(1),
        "{policy:?}"
    );
    let env = HashMap::from([("FLAKY_URL", format!("http://127.0.0.1:{port}/h"))]);
    let outbox = Outbox::connect(&url, Duration::from_secs(5), outbox_config(&s))
        .await
        .unwrap();
    let items = vec![Envelope::new("flaky", &message()).item("test:outage:flaky")];
    let deliverer = Arc::new(Deliverer::new(s.clone(), store(env)));
    let started = Instant::now();
    let drained = enqueue_and_drain(&outbox, deliverer, items, DrainOptions::default())
        .await
        .unwrap();
    let d = &drained[0];
    assert_eq!(d.fate, Fate::Delivered, "{d:?}");
    assert!(started.elapsed() >= down, "{:?}", started.elapsed());
    assert_eq!(got.load(std::sync::atomic::Ordering::SeqCst), 1);
    let last = d.records.last().unwrap();
    assert_eq!(last.result, AttemptResult::Delivered);
    assert!(d.records.len() >= 5, "{} attempts", d.records.len());
    assert!(d.records[..d.records.len() - 1]
        .iter()
        .all(|r| r.result == AttemptResult::Retry && r.status.is_none()));
    assert!(outbox.dead().await.unwrap().is_empty());
}
