//! The seed reporter's environment runs unchanged: `DASHBOARD_WEBHOOK_*` define the report's
//! channel and schedule, and without `DASHBOARD_WEBHOOK_ENABLE=true` the daemon stands by.

use std::time::Duration;

use super::common::{self, test_dir, Daemon, Receiver};
use relaywatch_testkit::RedisServer;

fn config(db: &str) -> String {
    common::demo_config(db)
}

#[test]
fn without_enable_the_daemon_stands_by_healthy_and_silent() {
    let db = RedisServer::shared().fresh_db();
    let rx = Receiver::wecom();
    let (cron, _) = common::next_minute_cron();
    let dir = test_dir("seed-standby");
    std::fs::write(dir.join("relaywatch.toml"), config(&db)).unwrap();
    let d = Daemon::start(
        &dir,
        "a",
        &[
            (
                "DASHBOARD_WEBHOOK_URL",
                rx.url("/cgi-bin/webhook/send?key=k"),
            ),
            ("DASHBOARD_WEBHOOK_TYPE", "wecom".into()),
            ("DASHBOARD_WEBHOOK_INTERVAL", cron),
        ],
    );
    let h = d.health().unwrap();
    assert_eq!(h["status"], "standby", "{h}");
    assert_eq!(h["next_fires"], serde_json::json!([]), "{h}");
    let code = std::process::Command::new(env!("CARGO_BIN_EXE_relaywatch"))
        .args(["health", "--bind", &format!("127.0.0.1:{}", d.health)])
        .output()
        .unwrap()
        .status
        .code();
    assert_eq!(code, Some(0), "standby is healthy");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(rx.count(), 0);
    assert!(d.log_text().contains("standing by"), "{}", d.log_text());
}

#[test]
fn seed_variables_deliver_the_report_with_charts_to_wecom() {
    let db = RedisServer::shared().fresh_db();
    let rx = Receiver::wecom();
    let (cron, fire) = common::next_minute_cron();
    let dir = test_dir("seed-wecom");
    std::fs::write(dir.join("relaywatch.toml"), config(&db)).unwrap();
    let d = Daemon::start(
        &dir,
        "a",
        &[
            ("DASHBOARD_WEBHOOK_ENABLE", "true".into()),
            (
                "DASHBOARD_WEBHOOK_URL",
                rx.url("/cgi-bin/webhook/send?key=k"),
            ),
            ("DASHBOARD_WEBHOOK_TYPE", "workwx".into()),
            ("DASHBOARD_WEBHOOK_INTERVAL", cron),
            ("DASHBOARD_SCHEDULE_TIMEZONE", "UTC".into()),
        ],
    );
    let h = d.health().unwrap();
    assert_eq!(h["status"], "ok", "{h}");
    assert_eq!(h["next_fires"][0]["job"], "dashboard", "{h}");
    let wait = (fire - chrono::Utc::now()).to_std().unwrap_or_default() + Duration::from_secs(30);
    let images = |g: &[common::Got]| {
        g.iter()
            .filter(|r| r.body.contains(r#""msgtype":"image""#))
            .count()
    };
    assert!(
        rx.wait_for(wait, |g| images(g) >= 4),
        "no report with four charts arrived ({} requests)\n{}",
        rx.count(),
        d.log_text()
    );
    let got = rx.got();
    assert!(got
        .iter()
        .any(|r| r.body.contains(r#""msgtype":"markdown""#)));
    assert!(got.iter().all(|r| r.path.contains("key=k")));
    assert!(
        !d.log_text().contains("key=k"),
        "the webhook key leaked into the log"
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut h = d.health().unwrap();
    while h["last_delivery"].is_null() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        h = d.health().unwrap();
    }
    assert_eq!(h["last_delivery"]["channel"], "dashboard", "{h}");
    assert_eq!(h["last_delivery"]["delivered"], true, "{h}");
}
