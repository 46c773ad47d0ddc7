//! Outbox, backoff, rate limit and history against a real redis-server; rule: every test owns
//! a fresh logical DB, and receivers listen on 127.0.0.1 only.

mod outbox_http;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use outbox_http::{Client, Receiver, Reply};
use relaywatch_core::delivery::history::AttemptResult;
use relaywatch_core::delivery::outbox::{
    self, system_now_ms, DeliveryResult, Enqueued, NewItem, Outbox, OutboxConfig, SenderConfig,
    Transition,
};
use relaywatch_core::delivery::ratelimit::{RateLimiter, Take, Window};

const T0: u64 = 1_800_000_000_000;

async fn open(cfg: OutboxConfig) -> (Outbox, String) {
    let url = relaywatch_testkit::fresh_db();
    let ob = Outbox::connect(&url, Duration::from_secs(5), cfg)
        .await
        .unwrap();
    (ob, url)
}

fn item(channel: &str, key: &str) -> NewItem {
    NewItem {
        channel: channel.into(),
        kind: "alert".into(),
        key: key.into(),
        payload: format!("payload of {key}").into_bytes(),
    }
}

fn ms(d: u64) -> Duration {
    Duration::from_millis(d)
}

#[tokio::test]
async fn an_empty_dead_letter_list_reads_as_empty() {
    let (ob, _) = open(OutboxConfig::default()).await;
    assert!(ob.dead().await.unwrap().is_empty());
}

#[tokio::test]
async fn enqueue_same_key_twice_is_a_no_op() {
    let (ob, _) = open(OutboxConfig::default()).await;
    let key = "report:dashboard:2026-11-22T09:00+08:00:team-wecom";
    let first = ob.enqueue(&item("team-wecom", key), T0).await.unwrap();
    let again = ob.enqueue(&item("team-wecom", key), T0 + 5).await.unwrap();
    assert!(matches!(first, Enqueued::Queued(_)));
    assert_eq!(again, Enqueued::Duplicate(first.id()));
    assert_eq!(ob.stats().await.unwrap().due, 1);
    let claims = ob.claim(T0, 10).await.unwrap();
    assert_eq!(claims.len(), 1);
    assert_eq!(claims[0].item.key, key);
    assert_eq!(
        claims[0].item.payload,
        format!("payload of {key}").into_bytes()
    );
    let done = DeliveryResult::delivered(Some(200), Some(0), ms(3));
    ob.complete(&claims[0], &done, T0 + 1, 0.5).await.unwrap();
    // Still a no-op after delivery: the key is remembered for dedup_ttl.
    let later = ob.enqueue(&item("team-wecom", key), T0 + 10).await.unwrap();
    assert_eq!(later, Enqueued::Duplicate(first.id()));
    assert_eq!(ob.stats().await.unwrap().due, 0);
}

#[tokio::test]
async fn concurrent_claimers_never_share_an_item() {
    let (ob, url) = open(OutboxConfig::default()).await;
    for i in 0..300 {
        ob.enqueue(&item("c", &format!("k{i}")), T0).await.unwrap();
    }
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let other = Outbox::connect(&url, Duration::from_secs(5), OutboxConfig::default())
            .await
            .unwrap();
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            loop {
                let c = other.claim(T0, 7).await.unwrap();
                if c.is_empty() {
                    return got;
                }
                got.extend(c.into_iter().map(|c| c.item.id));
            }
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let unique: HashSet<u64> = all.iter().copied().collect();
    assert_eq!(all.len(), 300);
    assert_eq!(unique.len(), 300);
    // A single due item and two claimers: exactly one wins.
    let (ob2, _) = open(OutboxConfig::default()).await;
    ob2.enqueue(&item("c", "solo"), T0).await.unwrap();
    let (a, b) = tokio::join!(ob2.claim(T0, 1), ob2.claim(T0, 1));
    assert_eq!(a.unwrap().len() + b.unwrap().len(), 1);
}

#[tokio::test]
async fn expired_lease_is_taken_over_and_the_old_holder_is_fenced_out() {
    let cfg = OutboxConfig {
        lease: ms(10_000),
        ..OutboxConfig::default()
    };
    let (ob, _) = open(cfg).await;
    ob.enqueue(&item("c", "k"), T0).await.unwrap();
    let old = ob.claim(T0, 1).await.unwrap().remove(0);
    assert_eq!(old.lease_until_ms, T0 + 10_000);
    assert!(ob.claim(T0 + 9_999, 1).await.unwrap().is_empty());
    let new = ob.claim(T0 + 10_000, 1).await.unwrap().remove(0);
    assert_eq!(new.item.id, old.item.id);
    assert_ne!(new.token, old.token);
    assert_eq!(new.item.attempts, 1, "the dead worker's attempt counts");
    let done = DeliveryResult::delivered(Some(200), None, ms(1));
    let err = ob
        .complete(&old, &done, T0 + 10_001, 0.5)
        .await
        .unwrap_err();
    assert!(
        matches!(err, outbox::OutboxError::LeaseLost { .. }),
        "{err}"
    );
    assert_eq!(
        ob.complete(&new, &done, T0 + 10_002, 0.5).await.unwrap(),
        Transition::Delivered
    );
    let ok = ob.history_ok("c").await.unwrap();
    assert_eq!(ok.len(), 1);
    assert_eq!(ok[0].attempt, 2);
}

#[tokio::test]
async fn backoff_doubles_then_dead_letters_after_max_attempts() {
    let mut cfg = OutboxConfig::default();
    cfg.backoff.max_attempts = 6;
    let (ob, _) = open(cfg).await;
    ob.enqueue(&item("c", "k"), T0).await.unwrap();
    let mut now = T0;
    let mut delays = Vec::new();
    for attempt in 1..=6u32 {
        let c = ob.claim(now, 1).await.unwrap().remove(0);
        assert_eq!(c.item.attempts, attempt - 1);
        assert!(ob.claim(now, 1).await.unwrap().is_empty());
        let r = DeliveryResult::retry(None, Some(500), None, ms(7), "HTTP 500: boom");
        match ob.complete(&c, &r, now, 0.5).await.unwrap() {
            Transition::Retrying { at_ms } => {
                delays.push(at_ms - now);
                assert_eq!(ob.next_due_ms().await.unwrap(), Some(at_ms));
                assert!(ob.claim(at_ms - 1, 1).await.unwrap().is_empty());
                now = at_ms;
            }
            Transition::Dead => assert_eq!(attempt, 6),
            Transition::Delivered => panic!("not delivered"),
        }
    }
    assert_eq!(delays, vec![1000, 2000, 4000, 8000, 16000]);
    let dead = ob.dead().await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].attempts, 6);
    assert_eq!(dead[0].last_error.as_deref(), Some("HTTP 500: boom"));
    let failed = ob.history_failed("c").await.unwrap();
    assert_eq!(failed.len(), 6);
    assert_eq!(failed[0].result, AttemptResult::Dead);
    assert_eq!(failed[0].attempt, 6);
    assert!(failed[1..].iter().all(|r| r.result == AttemptResult::Retry));
    let s = ob.stats().await.unwrap();
    assert_eq!((s.due, s.claimed, s.dead), (0, 0, 1));
}

#[tokio::test]
async fn max_attempts_is_configurable_and_jitter_applies() {
    let mut cfg = OutboxConfig::default();
    cfg.backoff.max_attempts = 2;
    let (ob, _) = open(cfg).await;
    ob.enqueue(&item("c", "k"), T0).await.unwrap();
    let c = ob.claim(T0, 1).await.unwrap().remove(0);
    let r = DeliveryResult::retry(None, Some(503), None, ms(1), "HTTP 503");
    assert_eq!(
        ob.complete(&c, &r, T0, 0.0).await.unwrap(),
        Transition::Retrying { at_ms: T0 + 800 }
    );
    let c = ob.claim(T0 + 800, 1).await.unwrap().remove(0);
    assert_eq!(
        ob.complete(&c, &r, T0 + 800, 0.0).await.unwrap(),
        Transition::Dead
    );
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let (ob, _) = open(OutboxConfig::default()).await;
    ob.enqueue(&item("c", "k"), T0).await.unwrap();
    let c = ob.claim(T0, 1).await.unwrap().remove(0);
    let r = DeliveryResult::retry(Some(ms(30_000)), Some(429), Some(429), ms(1), "HTTP 429");
    assert_eq!(
        ob.complete(&c, &r, T0, 0.5).await.unwrap(),
        Transition::Retrying { at_ms: T0 + 30_000 }
    );
    assert!(ob.claim(T0 + 29_999, 1).await.unwrap().is_empty());
    assert_eq!(ob.claim(T0 + 30_000, 1).await.unwrap().len(), 1);
}

#[tokio::test]
async fn permanent_failure_is_not_retried() {
    let (ob, _) = open(OutboxConfig::default()).await;
    ob.enqueue(&item("c", "k"), T0).await.unwrap();
    let c = ob.claim(T0, 1).await.unwrap().remove(0);
    let r = DeliveryResult::fail(
        Some(400),
        Some(93000),
        ms(4),
        "errcode 93000: invalid webhook",
    );
    assert_eq!(
        ob.complete(&c, &r, T0, 0.5).await.unwrap(),
        Transition::Dead
    );
    assert!(ob.claim(T0 + 3_600_000, 1).await.unwrap().is_empty());
    let dead = ob.dead().await.unwrap();
    assert_eq!((dead.len(), dead[0].attempts), (1, 1));
    let f = ob.history_failed("c").await.unwrap();
    assert_eq!(f[0].status, Some(400));
    assert_eq!(f[0].code, Some(93000));
    assert_eq!(f[0].result, AttemptResult::Dead);
}

#[tokio::test]
async fn history_is_capped_and_keeps_the_fields() {
    let (ob, _) = open(OutboxConfig::default()).await;
    for i in 0..120u64 {
        ob.enqueue(&item("h", &format!("ok{i}")), T0).await.unwrap();
    }
    for i in 0..60u64 {
        ob.enqueue(&item("h", &format!("bad{i}")), T0 + 1)
            .await
            .unwrap();
    }
    let mut n = 0u64;
    loop {
        let cs = ob.claim(T0 + 1, 50).await.unwrap();
        if cs.is_empty() {
            break;
        }
        for c in cs {
            n += 1;
            let r = if c.item.key.starts_with("ok") {
                DeliveryResult::delivered(Some(200), Some(0), ms(n))
            } else {
                DeliveryResult::fail(Some(403), None, ms(n), "x".repeat(1000))
            };
            ob.complete(&c, &r, T0 + 1 + n, 0.5).await.unwrap();
        }
    }
    let ok = ob.history_ok("h").await.unwrap();
    let failed = ob.history_failed("h").await.unwrap();
    assert_eq!((ok.len(), failed.len()), (100, 50));
    assert!(
        ok.windows(2).all(|w| w[0].time_ms > w[1].time_ms),
        "newest first"
    );
    let r = &ok[0];
    assert_eq!(
        (r.kind.as_str(), r.attempt, r.status, r.code),
        ("alert", 1, Some(200), Some(0))
    );
    assert_eq!(r.latency_ms, r.time_ms - T0 - 1);
    assert!(failed[0].reason.as_ref().unwrap().chars().count() <= 301);
}

#[tokio::test]
async fn limiter_grants_rate_per_window_and_pauses() {
    let url = relaywatch_testkit::fresh_db();
    let con = redis::Client::open(url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let l = RateLimiter::new(con, "rw:");
    let w = Window {
        rate: 3,
        per: ms(1000),
    };
    for t in [0, 10, 20] {
        assert_eq!(l.try_take("c", w, T0 + t).await.unwrap(), Take::Granted);
    }
    assert_eq!(
        l.try_take("c", w, T0 + 500).await.unwrap(),
        Take::Wait(ms(500))
    );
    assert_eq!(l.try_take("c", w, T0 + 1000).await.unwrap(), Take::Granted);
    assert_eq!(
        l.try_take("c", w, T0 + 1001).await.unwrap(),
        Take::Wait(ms(9))
    );
    assert_eq!(l.try_take("other", w, T0).await.unwrap(), Take::Granted);
    l.pause("other", ms(60_000)).await.unwrap();
    assert!(matches!(l.try_take("other", w, T0).await.unwrap(), Take::Wait(d) if d > ms(59_000)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_twenty_per_window_channel_never_gets_more_than_twenty_in_any_window() {
    const W: u64 = 2000;
    let (ob, _) = open(OutboxConfig::default()).await;
    let now = system_now_ms();
    for i in 0..60 {
        ob.enqueue(&item("tg", &format!("k{i}")), now)
            .await
            .unwrap();
    }
    let times: Arc<Mutex<Vec<u64>>> = Arc::default();
    let t2 = times.clone();
    let deliver = move |_item: outbox::Item| {
        t2.lock().unwrap().push(system_now_ms());
        async { DeliveryResult::delivered(Some(200), None, ms(1)) }
    };
    let cfg = SenderConfig {
        windows: Arc::new(|ch| {
            (ch == "tg").then_some(Window {
                rate: 20,
                per: ms(W),
            })
        }),
        idle_poll: ms(10),
        ..SenderConfig::default()
    };
    let watcher = ob.clone();
    let done = async move {
        loop {
            tokio::time::sleep(ms(20)).await;
            let s = watcher.stats().await.unwrap();
            if s.due == 0 && s.claimed == 0 {
                return;
            }
        }
    };
    let started = Instant::now();
    let stats = outbox::run(ob.clone(), cfg, deliver, done).await;
    assert_eq!(stats.delivered, 60);
    assert!(stats.deferred > 0);
    assert!(
        started.elapsed() >= ms(2 * W - 100),
        "{:?}",
        started.elapsed()
    );
    let mut t = times.lock().unwrap().clone();
    t.sort_unstable();
    assert_eq!(t.len(), 60);
    // No 21 sends inside any window of W ms (25 ms allowed for the hop from grant to send).
    for i in 0..t.len() - 20 {
        assert!(
            t[i + 20] - t[i] >= W - 25,
            "sends {i}..{} within {} ms",
            i + 20,
            t[i + 20] - t[i]
        );
    }
    assert_eq!(ob.history_ok("tg").await.unwrap().len(), 60);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_senders_deliver_1000_items_once_each() {
    let (ob, url) = open(OutboxConfig::default()).await;
    let now = system_now_ms();
    for i in 0..1000 {
        ob.enqueue(&item(&format!("ch{}", i % 5), &format!("k{i}")), now)
            .await
            .unwrap();
    }
    let rx = Receiver::start(Arc::new(|_, _| Reply::Status(200, vec![]))).await;
    let mut senders = Vec::new();
    for _ in 0..3 {
        let ob = Outbox::connect(&url, Duration::from_secs(5), OutboxConfig::default())
            .await
            .unwrap();
        let client = Client::new(rx.addr);
        let watcher = ob.clone();
        let deliver = move |it: outbox::Item| {
            let client = client.clone();
            async move {
                let a = client.post(&it.key, &it.payload, ms(5000)).await.unwrap();
                assert_eq!(a.status, 200);
                DeliveryResult::delivered(Some(a.status), None, ms(1))
            }
        };
        let done = async move {
            loop {
                tokio::time::sleep(ms(20)).await;
                let s = watcher.stats().await.unwrap();
                if s.due == 0 && s.claimed == 0 {
                    return;
                }
            }
        };
        let cfg = SenderConfig {
            concurrency: 16,
            batch: 8,
            idle_poll: ms(10),
            ..SenderConfig::default()
        };
        senders.push(tokio::spawn(outbox::run(ob, cfg, deliver, done)));
    }
    let mut total = 0;
    let mut busy = 0;
    for s in senders {
        let st = s.await.unwrap();
        total += st.delivered;
        busy += (st.delivered > 0) as u32;
        assert_eq!((st.lost, st.errors, st.dead), (0, 0, 0));
    }
    assert_eq!(total, 1000);
    assert!(busy >= 2, "the work was shared");
    let got = rx.delivered();
    assert_eq!(got.len(), 1000, "no loss");
    assert!(got.values().all(|&n| n == 1), "no duplicate");
    assert_eq!(rx.seen.lock().unwrap().len(), 1000);
}

/// The `outbox_worker` example: `cargo test` builds it beside this test binary; when it is
/// missing (a filtered `cargo test --test outbox`), it is built here.
fn worker_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap();
    let bin = dir.join("examples").join("outbox_worker");
    if !bin.exists() {
        let mut build = std::process::Command::new(env!("CARGO"));
        build.args([
            "build",
            "-q",
            "-p",
            "relaywatch-core",
            "--example",
            "outbox_worker",
        ]);
        if dir.ends_with("release") {
            build.arg("--release");
        }
        assert!(
            build.status().unwrap().success(),
            "cannot build outbox_worker"
        );
    }
    bin
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sender_killed_mid_retry_delivers_exactly_once_after_restart() {
    let bin = worker_binary();
    assert!(bin.exists(), "{} (built by cargo test)", bin.display());
    let (ob, url) = open(OutboxConfig::default()).await;
    ob.enqueue(&item("c", "alert:r:s:firing:1:c"), system_now_ms())
        .await
        .unwrap();
    // First attempt: 500 (retry). Second: stall (the worker is killed meanwhile). Then 200.
    let rx = Receiver::start(Arc::new(|_, n| match n {
        1 => Reply::Status(500, vec![]),
        2 => Reply::Stall,
        _ => Reply::Status(200, vec![]),
    }))
    .await;
    let spawn = || {
        std::process::Command::new(&bin)
            .args([
                &url,
                "relaywatch:",
                &rx.addr.to_string(),
                "1500",
                "4",
                "until-empty",
            ])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut first = spawn();
    let deadline = Instant::now() + ms(10_000);
    while rx.seen.lock().unwrap().len() < 2 {
        assert!(Instant::now() < deadline, "the retry never came");
        tokio::time::sleep(ms(10)).await;
    }
    first.kill().unwrap(); // SIGKILL, in the middle of the retry
    first.wait().unwrap();
    assert_eq!(
        ob.stats().await.unwrap().claimed,
        1,
        "the claim outlives the worker"
    );
    let second = spawn();
    let out = tokio::task::spawn_blocking(move || second.wait_with_output().unwrap())
        .await
        .unwrap();
    assert!(out.status.success());
    let got = rx.delivered();
    assert_eq!(got.get("alert:r:s:firing:1:c"), Some(&1));
    assert_eq!(rx.seen.lock().unwrap().len(), 3);
    let ok = ob.history_ok("c").await.unwrap();
    assert_eq!(ok.len(), 1);
    assert_eq!(ok[0].attempt, 3);
    let s = ob.stats().await.unwrap();
    assert_eq!((s.due, s.claimed, s.dead), (0, 0, 0));
}

/// An idle sender waits on the outbox's wake-up channel and until the next due time rather than
/// polling: with its longest wait set to a minute, an item queued while it sleeps is sent at
/// once, and the retry its first attempt asked for (due 1 s later) is made when it falls due.
#[tokio::test]
async fn an_idle_sender_wakes_on_enqueue_and_when_a_retry_falls_due() {
    let cfg = OutboxConfig {
        backoff: relaywatch_core::delivery::backoff::BackoffPolicy {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(1),
            jitter: 0.0,
            ..Default::default()
        },
        ..OutboxConfig::default()
    };
    let (ob, _) = open(cfg).await;
    let attempts: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let seen = attempts.clone();
    let deliver = move |_item: outbox::Item| {
        let n = {
            let mut a = seen.lock().unwrap();
            a.push(Instant::now());
            a.len()
        };
        async move {
            if n == 1 {
                DeliveryResult::retry(None, Some(502), None, ms(1), "bad gateway")
            } else {
                DeliveryResult::delivered(Some(200), None, ms(1))
            }
        }
    };
    let watcher = ob.clone();
    let sender_cfg = SenderConfig {
        idle_poll: Duration::from_secs(60),
        ..SenderConfig::default()
    };
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let sender = tokio::spawn(outbox::run(ob.clone(), sender_cfg, deliver, async move {
        let _ = stop_rx.await;
    }));
    // Let the sender find the outbox empty and go to sleep.
    tokio::time::sleep(ms(300)).await;
    let queued = Instant::now();
    ob.enqueue(&item("ch", "wake-me"), system_now_ms())
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while watcher.history_ok("ch").await.unwrap().is_empty() {
        assert!(Instant::now() < deadline, "the sender never woke");
        tokio::time::sleep(ms(50)).await;
    }
    let _ = stop_tx.send(());
    let stats = sender.await.unwrap();
    assert_eq!((stats.retried, stats.delivered), (1, 1));
    let a = attempts.lock().unwrap().clone();
    // Woken by the enqueue, not by its minute-long wait; the retry waited for its backoff.
    assert!(
        a[0] - queued < Duration::from_secs(10),
        "{:?}",
        a[0] - queued
    );
    assert!(a[1] - a[0] >= ms(900), "retried after {:?}", a[1] - a[0]);
    assert!(
        a[1] - a[0] < Duration::from_secs(10),
        "retried after {:?}",
        a[1] - a[0]
    );
}
