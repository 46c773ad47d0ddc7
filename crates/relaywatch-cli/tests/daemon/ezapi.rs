//! `relaywatch run` tailing EZ-API's `log_records` in a real PostgreSQL: the history already in
//! the table sends nothing, a new burst of 14 errors sends exactly one firing message, a
//! soft-deleted burst none, and a daemon killed mid-burst (SIGKILL) and started again neither
//! loses the burst nor sends it twice; `/health` shows the tail and its lag.

use std::time::Duration;

use chrono::Utc;
use relaywatch_testkit::ezapi::{create_log_records, insert_log_records, LogRecordRow};
use relaywatch_testkit::pg::{connect, PgServer};
use relaywatch_testkit::RedisServer;

use super::common::{error_rate_firings as firings, runtime as rt, test_dir, Daemon, Receiver};

fn config(db: &str) -> String {
    let head = super::common::demo_config(db);
    format!(
        r#"{head}[events]
source = "ezapi"
database_url = {{ env = "RW_EZAPI_DB" }}
[rules.error_rate]
threshold = 10
window_seconds = 60
cooldown_seconds = 300
status_code_threshold = 500
min_requests = 1
dimensions = ["global"]
[rules.breaker]
enabled = false
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

/// A table with two hours of history holding two bursts that fired back then.
fn setup(rt: &tokio::runtime::Runtime) -> (String, tokio_postgres::Client) {
    rt.block_on(async {
        let url = PgServer::shared().fresh_database().await;
        let client = connect(&url).await;
        create_log_records(&client, "log_records").await.unwrap();
        let start = Utc::now() - chrono::Duration::hours(2);
        let mut rows = Vec::new();
        for i in 0..2_000 {
            rows.push(LogRecordRow::ok(start + chrono::Duration::seconds(i * 3)));
        }
        for b in [1_800, 4_000] {
            for i in 0..20 {
                let at =
                    start + chrono::Duration::seconds(b) + chrono::Duration::milliseconds(i * 200);
                rows.push(LogRecordRow::error(at, 502, "history"));
            }
        }
        rows.sort_by_key(|r| r.created_at);
        insert_log_records(&client, "log_records", &rows)
            .await
            .unwrap();
        (url, client)
    })
}

fn errors_now(n: i64, deleted: bool) -> Vec<LogRecordRow> {
    let now = Utc::now();
    (0..n)
        .map(|i| LogRecordRow {
            deleted_at: deleted.then_some(now),
            ..LogRecordRow::error(
                now + chrono::Duration::milliseconds(i * 50),
                502,
                "bad gateway",
            )
        })
        .collect()
}

fn insert(rt: &tokio::runtime::Runtime, client: &tokio_postgres::Client, rows: &[LogRecordRow]) {
    rt.block_on(insert_log_records(client, "log_records", rows))
        .unwrap();
}

fn max_id(rt: &tokio::runtime::Runtime, client: &tokio_postgres::Client) -> i64 {
    rt.block_on(client.query_one("SELECT max(id) FROM log_records", &[]))
        .unwrap()
        .get(0)
}

/// Waits until the daemon's tail has read up to `id`.
fn wait_position(d: &Daemon, id: i64) {
    for _ in 0..200 {
        let h = d.health().unwrap_or_default();
        if h["events"]["state"] == "up" && h["events"]["position"].as_i64() >= Some(id) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("the tail did not reach id {id}:\n{}", d.log_text());
}

fn start(dir: &std::path::PathBuf, name: &str, url: &str, rx: &Receiver) -> Daemon {
    let env = [
        ("RW_GENERIC", rx.url("/hooks/relaywatch")),
        ("RW_EZAPI_DB", url.to_string()),
    ];
    Daemon::start(dir, name, &env)
}

#[test]
fn history_sends_nothing_and_a_new_burst_of_14_fires_once() {
    let rt = rt();
    let (url, client) = setup(&rt);
    let db = RedisServer::shared().fresh_db();
    let rx = Receiver::start(200, "{}");
    let dir = test_dir("ezapi-burst");
    std::fs::write(dir.join("relaywatch.toml"), config(&db)).unwrap();
    let d = start(&dir, "a", &url, &rx);
    wait_position(&d, max_id(&rt, &client));
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(rx.count(), 0, "history was replayed: {:?}", rx.got());

    // A soft-deleted burst is no event.
    insert(&rt, &client, &errors_now(15, true));
    wait_position(&d, max_id(&rt, &client));
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(firings(&rx), 0, "a soft-deleted burst fired");

    insert(&rt, &client, &errors_now(14, false));
    assert!(
        rx.wait_for(Duration::from_secs(20), |_| firings(&rx) >= 1),
        "no firing for a burst of 14\n{}",
        d.log_text()
    );
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(firings(&rx), 1, "{:?}", rx.got());
    let h = d.health().unwrap();
    assert_eq!(h["events"]["source"], "ezapi:log_records");
    assert!(h["events"]["lag_seconds"].as_f64().is_some(), "{h}");
    assert_eq!(h["status"], "ok", "{h}");
}

#[test]
fn a_restart_mid_burst_neither_loses_nor_repeats_it() {
    let rt = rt();
    let (url, client) = setup(&rt);
    let db = RedisServer::shared().fresh_db();
    let rx = Receiver::start(200, "{}");
    let dir = test_dir("ezapi-restart");
    std::fs::write(dir.join("relaywatch.toml"), config(&db)).unwrap();
    let mut d = start(&dir, "a", &url, &rx);
    wait_position(&d, max_id(&rt, &client));
    insert(&rt, &client, &errors_now(6, false));
    wait_position(&d, max_id(&rt, &client));
    d.signal(libc::SIGKILL);
    let _ = d.child.wait();
    // The rest of the burst lands while no daemon runs.
    insert(&rt, &client, &errors_now(8, false));
    let d = start(&dir, "b", &url, &rx);
    assert!(
        rx.wait_for(Duration::from_secs(20), |_| firings(&rx) >= 1),
        "the burst split by a restart did not fire\n{}",
        d.log_text()
    );
    // Killed right after the firing and started again: no second message for it, and more
    // errors inside the cooldown send nothing.
    let mut d = d;
    d.signal(libc::SIGKILL);
    let _ = d.child.wait();
    let d = start(&dir, "c", &url, &rx);
    insert(&rt, &client, &errors_now(12, false));
    wait_position(&d, max_id(&rt, &client));
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(firings(&rx), 1, "{:?}\n{}", rx.got(), d.log_text());
}

#[test]
fn an_unreachable_database_degrades_health_and_says_why() {
    let db = RedisServer::shared().fresh_db();
    let rx = Receiver::start(200, "{}");
    let dir = test_dir("ezapi-down");
    std::fs::write(dir.join("relaywatch.toml"), config(&db)).unwrap();
    let port = super::common::free_port();
    let url = format!("postgres://ez:s3cretPw@127.0.0.1:{port}/ezapi");
    let d = start(&dir, "a", &url, &rx);
    for _ in 0..100 {
        let h = d.health().unwrap_or_default();
        if h["events"]["state"] == "down" {
            assert_eq!(h["status"], "degraded", "{h}");
            let why = h["events"]["error"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            assert!(why.contains("127.0.0.1"), "{why}");
            assert!(!h.to_string().contains("s3cretPw"), "{h}");
            assert!(!d.log_text().contains("s3cretPw"));
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("health never said the database is down:\n{}", d.log_text());
}

#[test]
fn two_instances_on_one_state_redis_tail_once() {
    let rt = rt();
    let (url, client) = setup(&rt);
    let db = RedisServer::shared().fresh_db();
    let rx = Receiver::start(200, "{}");
    let dir = test_dir("ezapi-two");
    std::fs::write(dir.join("relaywatch.toml"), config(&db)).unwrap();
    let a = start(&dir, "a", &url, &rx);
    let b = start(&dir, "b", &url, &rx);
    let states = || {
        let mut s: Vec<String> = [&a, &b]
            .iter()
            .filter_map(|d| d.health())
            .map(|h| {
                h["events"]["state"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            })
            .collect();
        s.sort();
        s
    };
    for _ in 0..100 {
        if states() == ["standby", "up"] {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        states(),
        ["standby", "up"],
        "one instance reads, the other stands by"
    );
    insert(&rt, &client, &errors_now(14, false));
    assert!(rx.wait_for(Duration::from_secs(20), |_| firings(&rx) >= 1));
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(firings(&rx), 1, "{:?}", rx.got());
    // The reader stops: the other takes the lease over and reads what follows.
    let (up, standby) = if a.health().unwrap()["events"]["state"] == "up" {
        (a, b)
    } else {
        (b, a)
    };
    assert_eq!(up.terminate(), Some(0));
    for _ in 0..300 {
        if standby
            .health()
            .is_some_and(|h| h["events"]["state"] == "up")
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    wait_position(&standby, max_id(&rt, &client));
}
