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
