//! A receiver outage under `relaywatch run`: with the default policy's shape scaled down
//! (100 ms doubling to 500 ms, 40 attempts: about 18 s of trying), an alert raised while the
//! receiver is down (connection refused) reaches it once it is back, exactly once, and nothing
//! is dead-lettered.

use std::time::Duration;

use super::common::{free_port, push_errors, test_dir, Daemon, Receiver};
use relaywatch_testkit::RedisServer;

fn config(db: &str) -> String {
    let head = super::common::demo_config(db);
    format!(
        r#"{head}[delivery]
attempts = 40
backoff_ms = 100
backoff_cap_ms = 500
[rules.error_rate]
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
fn an_alert_raised_while_the_receiver_is_down_arrives_once_it_is_back() {
    let db = RedisServer::shared().fresh_db();
    let port = free_port();
    let dir = test_dir("receiver-outage");
    std::fs::write(dir.join("relaywatch.toml"), config(&db)).unwrap();
    let env = [("RW_GENERIC", format!("http://127.0.0.1:{port}/hook"))];
    let mut d = Daemon::start(&dir, "a", &env);
    push_errors(&db, 8, "p-out", 8, &[]);

    // Down: the first attempts fail with connection refused and are retried.
    let mut con = redis::Client::open(db.as_str())
        .unwrap()
        .get_connection()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let failed: Vec<String> = redis::cmd("LRANGE")
            .arg("relaywatch:history:ops-hook:failed")
            .arg(0)
            .arg(-1)
            .query(&mut con)
            .unwrap_or_default();
        if failed.len() >= 3 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no failed attempts recorded: {failed:?}\n{}",
            d.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(6));

    // Back up on the same port: the alert arrives, once.
    let rx = Receiver::start_on(port, 200, "{}");
    let firing = |got: &[super::common::Got]| {
        got.iter()
            .filter(|g| g.body.contains("\"firing\"") && g.body.contains("error_rate"))
            .count()
    };
    assert!(
        rx.wait_for(Duration::from_secs(15), |g| firing(g) >= 1),
        "the alert never arrived after the outage\n{}",
        d.log_text()
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(firing(&rx.got()), 1, "{:#?}", rx.got());
    let dead: Vec<String> = redis::cmd("LRANGE")
        .arg("relaywatch:outbox:dead")
        .arg(0)
        .arg(-1)
        .query(&mut con)
        .unwrap();
    assert!(dead.is_empty(), "dead-lettered: {dead:?}");
    assert!(d.alive());
    assert_eq!(d.terminate(), Some(0));
}
