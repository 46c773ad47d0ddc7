//! Alert rules under three `relaywatch run` processes on one Redis: an error burst XADDed to
//! the event stream gives exactly one firing and one resolved message; an instance killed with
//! SIGKILL mid-burst loses no event (its pending entries are reclaimed) and no message is sent
//! twice.

use std::time::Duration;

use super::common::{test_dir, Daemon, Receiver};
use relaywatch_testkit::RedisServer;

fn config(db: &str, window: u64, threshold: u64) -> String {
    let head = super::common::demo_config(db);
    format!(
        r#"{head}[events]
claim_idle_seconds = 2
[rules.error_rate]
window_seconds = {window}
threshold = {threshold}
dimensions = ["global"]
[rules.quota]
enabled = false
[schedules.none]
cron = "0 0 1 1 *"
enabled = false

[[channels]]
name = "ops-hook"
type = "generic"
url = {{ env = "RW_GENERIC" }}
"#
    )
}

fn alerts(rx: &Receiver) -> Vec<serde_json::Value> {
    rx.got()
        .iter()
        .filter_map(|g| serde_json::from_str::<serde_json::Value>(&g.body).ok())
        .filter(|v| v["kind"] == "error_rate")
        .collect()
}

fn count_state(rx: &Receiver, state: &str) -> usize {
    alerts(rx).iter().filter(|v| v["state"] == state).count()
}

#[test]
fn an_error_burst_fires_once_and_resolves_once_across_three_instances() {
    let db = RedisServer::shared().fresh_db();
    let rx = Receiver::start(200, "{}");
    let dir = test_dir("alerts-burst");
    std::fs::write(dir.join("relaywatch.toml"), config(&db, 6, 10)).unwrap();
    let env = [("RW_GENERIC", rx.url("/hooks/relaywatch"))];
    let daemons: Vec<Daemon> = ["a", "b", "c"]
        .iter()
        .map(|n| Daemon::start(&dir, n, &env))
        .collect();
    push_errors(&db, 15, "3");
    assert!(
        rx.wait_for(Duration::from_secs(10), |_| count_state(&rx, "firing") >= 1),
        "no firing message\n{}",
        daemons[0].log_text()
    );
    assert!(
        rx.wait_for(Duration::from_secs(20), |_| count_state(&rx, "resolved")
            >= 1),
        "no resolved message\n{}",
        daemons[0].log_text()
    );
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(count_state(&rx, "firing"), 1, "{:#?}", alerts(&rx));
    assert_eq!(count_state(&rx, "resolved"), 1, "{:#?}", alerts(&rx));
    let firing = alerts(&rx)
        .into_iter()
        .find(|v| v["state"] == "firing")
        .unwrap();
    assert_eq!(firing["data"]["errors"], 15, "{firing:#}");
    for d in daemons {
        assert_eq!(d.terminate(), Some(0));
    }
}

#[test]
fn an_instance_killed_mid_burst_loses_no_event_and_nothing_is_sent_twice() {
    let db = RedisServer::shared().fresh_db();
    let rx = Receiver::start(200, "{}");
    let dir = test_dir("alerts-kill");
    // Fires only once every one of the 3,000 errors is counted.
    std::fs::write(dir.join("relaywatch.toml"), config(&db, 120, 3_000)).unwrap();
    let env = [("RW_GENERIC", rx.url("/hooks/relaywatch"))];
    let mut daemons: Vec<Daemon> = ["a", "b", "c"]
        .iter()
        .map(|n| Daemon::start(&dir, n, &env))
        .collect();
    for _ in 0..10 {
        push_errors(&db, 150, "7");
    }
    daemons[0].signal(libc::SIGKILL);
    for _ in 0..10 {
        push_errors(&db, 150, "7");
    }
    let _ = daemons[0].child.wait();
    assert!(
        rx.wait_for(Duration::from_secs(30), |_| count_state(&rx, "firing") >= 1),
        "the burst never fired: some events were lost\n{}",
        daemons[1].log_text()
    );
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(count_state(&rx, "firing"), 1, "{:#?}", alerts(&rx));
    let firing = alerts(&rx)
        .into_iter()
        .find(|v| v["state"] == "firing")
        .unwrap();
    assert!(
        firing["data"]["errors"].as_u64().unwrap() >= 3_000,
        "{firing:#}"
    );
    // Nothing is left pending in the group.
    let client = redis::Client::open(db.as_str()).unwrap();
    let mut con = client.get_connection().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let pending: redis::Value = redis::cmd("XPENDING")
            .arg("relaywatch:events")
            .arg("relaywatch")
            .query(&mut con)
            .unwrap();
        let n = match &pending {
            redis::Value::Array(v) => match v.first() {
                Some(redis::Value::Int(n)) => *n,
                _ => -1,
            },
            _ => -1,
        };
        if n == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still pending: {pending:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// `n` upstream 502s from `provider` over three keys, as the relay reports an overload.
fn push_errors(db: &str, n: usize, provider: &str) {
    let extra = [
        ("model", "claude-sonnet-4-5"),
        ("error_message", "upstream overloaded"),
    ];
    super::common::push_errors(db, n, provider, 3, &extra);
}
