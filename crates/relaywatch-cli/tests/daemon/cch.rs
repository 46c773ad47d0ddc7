//! `relaywatch run` on Claude Code Hub without any push: it tails `message_request` in a real
//! PostgreSQL written the way CCH writes it (a row when a request starts, completed when it
//! ends): the hub's history sends nothing, a burst of finished errors fires once, and requests
//! still running are waited for — they fire once CCH completes them as errors.

use std::time::Duration;

use chrono::Utc;
use relaywatch_testkit::cch::{
    create_cch_schema, finish_request, insert_requests, insert_started, seed_demo_hub, CchRequest,
    CchSeed,
};
use relaywatch_testkit::pg::{connect, PgServer};
use relaywatch_testkit::RedisServer;

use super::common::{error_rate_firings as firings, runtime as rt, test_dir, Daemon, Receiver};

fn config(db: &str) -> String {
    let head = super::common::demo_config(db).replace(
        "kind = \"demo\"",
        "kind = \"cch\"\ndatabase_url = { env = \"RW_CCH_DB\" }",
    );
    format!(
        r#"{head}[events]
source = "cch"
[rules.error_rate]
threshold = 10
window_seconds = 60
cooldown_seconds = 300
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

fn errors(seed: &CchSeed, n: i64) -> Vec<CchRequest> {
    let k = &seed.keys[0];
    let now = Utc::now();
    (0..n)
        .map(|i| {
            CchRequest::error(
                now + chrono::Duration::milliseconds(i * 20),
                k.user_id,
                &k.key,
                502,
                "upstream reset",
            )
            .with_provider(seed.providers[1].0)
        })
        .collect()
}

fn position(d: &Daemon) -> Option<i64> {
    d.health().and_then(|h| h["events"]["position"].as_i64())
}

#[test]
fn cch_requests_fire_once_and_running_ones_are_waited_for() {
    let rt = rt();
    let (url, client, seed) = rt.block_on(async {
        let url = PgServer::shared().fresh_database().await;
        let client = connect(&url).await;
        create_cch_schema(&client).await.unwrap();
        let seed = seed_demo_hub(&client, Utc::now()).await.unwrap();
        (url, client, seed)
    });
    let db = RedisServer::shared().fresh_db();
    let rx = Receiver::start(200, "{}");
    let dir = test_dir("cch-tail");
    std::fs::write(dir.join("relaywatch.toml"), config(&db)).unwrap();
    let env = [
        ("RW_GENERIC", rx.url("/hooks/relaywatch")),
        ("RW_CCH_DB", url),
    ];
    let d = Daemon::start(&dir, "a", &env);
    let end = *seed.request_ids.iter().max().unwrap() as i64;
    for _ in 0..200 {
        if position(&d) >= Some(end) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        d.health().unwrap()["events"]["source"],
        "cch:message_request"
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(firings(&rx), 0, "the hub's history fired: {:?}", rx.got());

    // Twelve requests start; while they run nothing is judged and the tail waits at them.
    let started = rt
        .block_on(insert_started(&client, &errors(&seed, 12)))
        .unwrap();
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(firings(&rx), 0);
    assert!(
        position(&d) < Some(started[0] as i64),
        "the tail moved past a running request"
    );
    // CCH completes them as errors: one firing.
    let done = errors(&seed, 12);
    rt.block_on(async {
        for (id, end) in started.iter().zip(&done) {
            finish_request(&client, *id, end).await.unwrap();
        }
    });
    assert!(
        rx.wait_for(Duration::from_secs(20), |_| firings(&rx) >= 1),
        "no firing for completed errors\n{}",
        d.log_text()
    );
    // More finished errors inside the cooldown: still one message.
    rt.block_on(insert_requests(&client, &errors(&seed, 5)))
        .unwrap();
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(firings(&rx), 1, "{:?}", rx.got());
}
