//! Scheduled reports under three `relaywatch run` processes sharing one Redis: a report due in
//! a few seconds reaches each channel exactly once, in its channel's language.

use super::common;

use std::path::Path;
use std::time::Duration;

use chrono::Utc;
use common::{test_dir, Daemon, Receiver};
use relaywatch_testkit::RedisServer;

/// The daemons' config: the demo relay, a Slack channel and a zh-CN generic hook, and a
/// report at `cron`.
fn write_config(dir: &Path, db: &str, cron: &str) {
    let head = common::demo_config(db);
    std::fs::write(
        dir.join("relaywatch.toml"),
        format!(
            r#"{head}
[[channels]]
name = "team-slack"
type = "slack"
url = {{ env = "RW_SLACK" }}

[[channels]]
name = "ops-hook"
type = "generic"
url = {{ env = "RW_GENERIC" }}
lang = "zh-CN"

[schedules.morning]
cron = "{cron}"
tz = "UTC"
kind = "report"
"#
        ),
    )
    .unwrap();
}

#[test]
fn a_scheduled_report_is_delivered_once_per_channel_by_three_instances() {
    let redis = RedisServer::shared();
    let db = redis.fresh_db();
    let slack = Receiver::start(200, "ok");
    let generic = Receiver::start(200, "{}");
    let (cron, fire) = common::next_minute_cron();
    let dir = test_dir("schedule");
    write_config(&dir, &db, &cron);
    let env = [
        ("RW_SLACK", slack.url("/services/T000/B000/XXXX")),
        ("RW_GENERIC", generic.url("/hooks/relaywatch")),
    ];
    let daemons: Vec<Daemon> = ["a", "b", "c"]
        .iter()
        .map(|n| Daemon::start(&dir, n, &env))
        .collect();
    let h = daemons[0].health().unwrap();
    assert_eq!(h["next_fires"][0]["job"], "morning", "{h}");
    assert_eq!(
        h["next_fires"][0]["at"].as_str().unwrap(),
        fire.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "{h}"
    );

    let wait = (fire - Utc::now()).to_std().unwrap_or_default() + Duration::from_secs(30);
    assert!(
        slack.wait_for(wait, |g| !g.is_empty()) && generic.wait_for(wait, |g| !g.is_empty()),
        "the report did not arrive: slack {} generic {}\n{}",
        slack.count(),
        generic.count(),
        daemons[0].log_text()
    );
    // Give the other instances every chance to send a duplicate.
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(slack.count(), 1, "slack got {} reports", slack.count());
    assert_eq!(
        generic.count(),
        1,
        "generic got {} reports",
        generic.count()
    );
    let body: serde_json::Value = serde_json::from_str(&generic.got()[0].body).unwrap();
    assert_eq!(body["kind"], "report");
    assert_eq!(body["version"], "1");
    assert!(
        body["title"]
            .as_str()
            .unwrap()
            .chars()
            .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
        "the zh-CN channel got {}",
        body["title"]
    );
    assert!(slack.got()[0].body.contains("blocks"));
    for d in daemons {
        assert_eq!(d.terminate(), Some(0));
    }
}
