//! Config reload under a running daemon: a broken config is refused (the old one keeps running
//! and `/health` says why), a valid one is taken on SIGHUP or when the file changes.

use std::time::{Duration, Instant};

use super::common::{test_dir, Daemon};
use relaywatch_testkit::RedisServer;

fn config(db: &str, schedule: &str) -> String {
    format!(
        r#"
[source]
kind = "demo"
[state]
redis_url = "{db}"
[rules.quota]
enabled = false

[[channels]]
name = "drop"
type = "file"
path = "out"

[schedules.{schedule}]
cron = "0 9 * * *"
tz = "Asia/Shanghai"
"#
    )
}

fn wait_health(
    d: &Daemon,
    within: Duration,
    pred: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = Instant::now() + within;
    loop {
        if let Some(h) = d.health() {
            if pred(&h) {
                return h;
            }
            if Instant::now() > deadline {
                panic!("health never matched: {h}\n{}", d.log_text());
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_bad_config_is_refused_and_a_good_one_is_taken() {
    let db = RedisServer::shared().fresh_db();
    let dir = test_dir("reload");
    let path = dir.join("relaywatch.toml");
    std::fs::write(&path, config(&db, "morning")).unwrap();
    let mut d = Daemon::start(&dir, "a", &[]);
    wait_health(&d, Duration::from_secs(5), |h| {
        h["next_fires"][0]["job"] == "morning"
    });

    // A broken cron: refused, the old config keeps running, /health says why.
    std::fs::write(
        &path,
        config(&db, "morning").replace("0 9 * * *", "0 25 * * *"),
    )
    .unwrap();
    d.signal(libc::SIGHUP);
    let h = wait_health(&d, Duration::from_secs(10), |h| {
        h["reload_error"].is_string()
    });
    let why = h["reload_error"].as_str().unwrap();
    assert!(why.contains("schedules.morning.cron"), "{why}");
    assert!(d.alive());
    assert_eq!(h["next_fires"][0]["job"], "morning", "{h}");

    // A valid change, seen without a signal (the file watcher).
    std::fs::write(&path, config(&db, "evening")).unwrap();
    let h = wait_health(&d, Duration::from_secs(15), |h| {
        h["next_fires"][0]["job"] == "evening"
    });
    assert!(h["reload_error"].is_null(), "{h}");
    assert!(
        d.log_text().contains("reloading the configuration"),
        "{}",
        d.log_text()
    );
    assert_eq!(d.terminate(), Some(0));
}

/// The running config of the refusal test: a state Redis, an error-rate rule and a receiver.
fn delivering_config(db: &str) -> String {
    let head = super::common::demo_config(db);
    format!(
        r#"{head}[rules.error_rate]
window_seconds = 60
threshold = 5
dimensions = ["global"]
[rules.quota]
enabled = false

[[channels]]
name = "ops-hook"
type = "generic"
url = {{ env = "RW_GENERIC" }}
"#
    )
}

#[test]
fn an_empty_file_or_a_config_without_a_state_redis_is_refused_and_delivery_goes_on() {
    let db = RedisServer::shared().fresh_db();
    let rx = super::common::Receiver::start(200, "{}");
    let dir = test_dir("reload-unrunnable");
    let path = dir.join("relaywatch.toml");
    std::fs::write(&path, delivering_config(&db)).unwrap();
    let env = [("RW_GENERIC", rx.url("/hook"))];
    let mut d = Daemon::start(&dir, "a", &env);

    // An empty file (valid TOML: all defaults, so no state Redis) is refused and says why.
    std::fs::write(&path, "").unwrap();
    d.signal(libc::SIGHUP);
    let h = wait_health(&d, Duration::from_secs(10), |h| {
        h["reload_error"].is_string()
    });
    let why = h["reload_error"].as_str().unwrap();
    assert!(why.contains("is empty"), "{why}");
    assert!(why.contains("[state] redis_url"), "{why}");
    assert!(why.contains("the running configuration stays"), "{why}");
    assert!(d.alive(), "{}", d.log_text());
    assert_eq!(h["redis"], "up", "{h}");

    // The daemon still runs the old config: an error burst is alerted to the receiver.
    super::common::push_errors(&db, 8, "p-out", 8, &[]);
    assert!(
        rx.wait_for(Duration::from_secs(15), |g| g
            .iter()
            .any(|g| g.body.contains("error_rate"))),
        "nothing delivered after the refused reload\n{}",
        d.log_text()
    );

    // A valid config that has no state Redis (the source is demo data): refused the same way.
    let no_state = delivering_config(&db).replace(&format!("[state]\nredis_url = \"{db}\"\n"), "");
    assert!(!no_state.contains("redis_url"), "{no_state}");
    std::fs::write(&path, no_state).unwrap();
    d.signal(libc::SIGHUP);
    let h = wait_health(&d, Duration::from_secs(10), |h| {
        h["reload_error"]
            .as_str()
            .is_some_and(|w| w.contains("cannot run the daemon"))
    });
    let why = h["reload_error"].as_str().unwrap();
    assert!(why.contains("[state] redis_url"), "{why}");
    assert!(d.alive(), "{}", d.log_text());

    // The running config saved again clears the error.
    std::fs::write(&path, delivering_config(&db)).unwrap();
    d.signal(libc::SIGHUP);
    wait_health(&d, Duration::from_secs(10), |h| h["reload_error"].is_null());
    assert!(
        !d.log_text().contains("reloading the configuration"),
        "nothing was replaced\n{}",
        d.log_text()
    );
    assert_eq!(d.terminate(), Some(0));
}

/// An editor's save replaces the file by rename; the OS notification on the config's folder is
/// what tells the daemon (no signal, no timer). A file of the same folder under another name
/// changes nothing.
#[test]
fn a_config_replaced_by_rename_is_taken_and_other_files_are_ignored() {
    let db = RedisServer::shared().fresh_db();
    let dir = test_dir("reload-rename");
    let path = dir.join("relaywatch.toml");
    std::fs::write(&path, config(&db, "morning")).unwrap();
    let d = Daemon::start(&dir, "a", &[]);
    wait_health(&d, Duration::from_secs(5), |h| {
        h["next_fires"][0]["job"] == "morning"
    });

    // Another file of the folder, even a valid config: not the daemon's.
    std::fs::write(dir.join("other.toml"), config(&db, "evening")).unwrap();
    std::thread::sleep(Duration::from_secs(2));
    let h = d.health().unwrap();
    assert_eq!(h["next_fires"][0]["job"], "morning", "{h}");

    // Saved as an editor does: a new file renamed over the config.
    let swap = dir.join(".relaywatch.toml.swp");
    std::fs::write(&swap, config(&db, "night")).unwrap();
    std::fs::rename(&swap, &path).unwrap();
    let h = wait_health(&d, Duration::from_secs(10), |h| {
        h["next_fires"][0]["job"] == "night"
    });
    assert!(h["reload_error"].is_null(), "{h}");
    assert_eq!(d.terminate(), Some(0));
}
