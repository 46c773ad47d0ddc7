//! The tray's engine against real parts (no display needed): demo data until a source is
//! configured, pause/resume shared through a real redis-server, "Send report now" queueing in
//! the real outbox, and the daemon starting and stopping on Quit. Each test owns a fresh DB.

use std::time::Duration;

use chrono::{TimeZone, Utc};
use relaywatch_core::config::{load_from_str, Lang, Settings};
use relaywatch_core::daemon::{state_redis_url, RedisState};
use relaywatch_core::delivery::drain::outbox_config;
use relaywatch_core::delivery::outbox::Outbox;
use relaywatch_core::source::redis_io;
use relaywatch_core::store::alert_state::AlertStateStore;
use relaywatch_desktop::backend::Backend;
use relaywatch_desktop::tray_state::{self, TrayState};

fn with_state_redis() -> Settings {
    let url = relaywatch_testkit::fresh_db();
    let text = format!(
        r#"
[source]
kind = "demo"

[state]
redis_url = "{url}"

[[channels]]
name = "team"
type = "generic"
url = {{ env = "RELAYWATCH_DESKTOP_TEST_UNSET_URL" }}
"#
    );
    load_from_str(&text, "test.toml").unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_data_until_a_source_is_configured() {
    let b = Backend::new(Settings::default(), None, None);
    assert!(!b.engine_runs());
    let now = Utc::now();
    assert_eq!(tray_state::state(&b.facts(), now), TrayState::Offline);
    b.refresh(now).await;
    let f = b.facts();
    assert!(f.demo);
    let (snap, at) = f.snapshot.as_ref().expect("a demo snapshot");
    assert_eq!(*at, now);
    assert!(snap.usage_today.requests > 0);
    assert_eq!(tray_state::state(&f, now), TrayState::Ok);
    assert!(tray_state::menu_text(&f, now, Lang::En)
        .status
        .contains("demo data"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_and_resume_are_shared_through_the_state_redis() {
    let settings = with_state_redis();
    let url = state_redis_url(&settings).unwrap().to_string();
    let b = Backend::new(settings.clone(), None, None);
    assert!(b.engine_runs());
    let until = Utc
        .timestamp_millis_opt(Utc::now().timestamp_millis() + 3_600_000)
        .unwrap();
    b.pause(Some(until)).await.unwrap();
    assert!(b.paused(Utc::now()));
    let conn = redis_io::connect(&url, Duration::from_secs(5))
        .await
        .unwrap();
    let mut store = AlertStateStore::new(conn, settings.state.prefix.clone());
    assert_eq!(store.paused_until(Utc::now()).await.unwrap(), Some(until));
    b.pause(None).await.unwrap();
    assert!(!b.paused(Utc::now()));
    assert_eq!(store.paused_until(Utc::now()).await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_report_now_queues_one_item_for_the_channel() {
    let settings = with_state_redis();
    let url = state_redis_url(&settings).unwrap().to_string();
    let b = Backend::new(settings.clone(), None, None);
    assert_eq!(b.report_channels(), vec!["team".to_string()]);
    b.send_report("team", Utc::now()).await.unwrap();
    let ob = Outbox::connect(&url, Duration::from_secs(5), outbox_config(&settings))
        .await
        .unwrap();
    assert_eq!(ob.stats().await.unwrap().due, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_report_without_a_state_redis_says_what_to_set() {
    let b = Backend::new(Settings::default(), None, None);
    let e = b.send_report("team", Utc::now()).await.unwrap_err();
    assert!(e.to_string().contains("[state] redis_url"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_runs_on_the_state_redis_and_stops_on_quit() {
    let b = Backend::new(with_state_redis(), None, None);
    let engine = b.engine_task().expect("a state Redis is configured");
    let task = tokio::spawn(engine);
    let board = b.board.clone().unwrap();
    let mut up = false;
    for _ in 0..200 {
        if board.health().redis == RedisState::Up {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(up, "the engine never reached Redis: {:?}", board.health());
    b.stop_engine(Duration::from_secs(40)).await;
    task.await.unwrap();
}

/// The daemon's hook the desktop listens on: `dispatch` tells the observer of every alert
/// transition (whether or not a channel takes it), and of none while alerts are paused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_tells_the_observer_of_alerts_unless_paused() {
    use relaywatch_core::daemon::{alerts, Context, DaemonOptions, StatusBoard};
    use relaywatch_core::delivery::outbox::DeliveryResult;
    use std::sync::Arc;

    let settings = with_state_redis();
    let url = state_redis_url(&settings).unwrap().to_string();
    let (tx, mut rx) = tokio::sync::broadcast::channel(16);
    let outbox = Outbox::connect(&url, Duration::from_secs(5), outbox_config(&settings))
        .await
        .unwrap();
    let ctx = Context {
        settings: Arc::new(settings.clone()),
        status: StatusBoard::new("t", Utc::now()),
        options: DaemonOptions {
            alert_observer: Some(tx),
            ..DaemonOptions::default()
        },
        outbox,
        deliver: Arc::new(|_| {
            Box::pin(async { DeliveryResult::delivered(Some(200), Some(0), Duration::ZERO) })
        }),
        nudge: tokio::sync::Notify::new(),
        events_db: None,
    };
    let conn = redis_io::connect(&url, Duration::from_secs(5))
        .await
        .unwrap();
    let mut store = AlertStateStore::new(conn, settings.state.prefix.clone());
    let now = Utc::now();
    let sample = relaywatch_desktop::sample::alerts(now);
    alerts::dispatch(&ctx, &mut store, sample.clone(), now)
        .await
        .unwrap();
    assert_eq!(rx.try_recv().unwrap(), sample[0]);
    assert_eq!(rx.try_recv().unwrap(), sample[1]);
    store.pause(now + chrono::Duration::hours(1)).await.unwrap();
    alerts::dispatch(&ctx, &mut store, sample, now)
        .await
        .unwrap();
    assert!(rx.try_recv().is_err());
}
