//! The quota rule under three `relaywatch run` processes reading one CRS Redis: a key's cost
//! crossing 80 % then 100 % of its daily limit is exactly two messages, and later runs send
//! nothing more.

use std::time::Duration;

use super::common::{test_dir, Daemon, Receiver};
use relaywatch_testkit::{ApiKeySpec, CrsWriter, RedisServer, UsageEvent};

fn quota_messages(rx: &Receiver) -> Vec<serde_json::Value> {
    rx.got()
        .iter()
        .filter_map(|g| serde_json::from_str::<serde_json::Value>(&g.body).ok())
        .filter(|v| v["kind"] == "quota")
        .collect()
}

fn three(dir: &std::path::PathBuf, env: &[(&str, String)]) -> Vec<Daemon> {
    ["a", "b", "c"]
        .iter()
        .map(|n| Daemon::start(dir, n, env))
        .collect()
}

fn spend(w: &mut CrsWriter, usd: f64) {
    w.usage(
        &UsageEvent::new(
            "key-quota",
            "claude-sonnet-4-5-20250929",
            chrono::Utc::now(),
        )
        .tokens(1000, 500, 0, 0)
        .cost(usd, usd),
    );
}

/// The daemons' config: the CRS Redis `db`, the quota rule every 10 minutes, one webhook.
fn write_config(dir: &std::path::Path, db: &str) {
    std::fs::write(
        dir.join("relaywatch.toml"),
        format!(
            r#"
[source]
redis_url = "{db}"
[network]
allow = ["127.0.0.0/8"]
allow_http = true
[rules.quota]
interval_minutes = 10
[schedules.none]
cron = "0 0 1 1 *"
enabled = false

[[channels]]
name = "ops-hook"
type = "generic"
url = {{ env = "RW_GENERIC" }}
"#
        ),
    )
    .unwrap();
}

/// Three daemons run until `rx` holds `want` quota messages (or 15 s), three more seconds,
/// then stop cleanly.
fn three_until(
    dir: &std::path::PathBuf,
    env: &[(&str, String)],
    rx: &Receiver,
    want: usize,
    what: &str,
) {
    let run = three(dir, env);
    assert!(
        rx.wait_for(Duration::from_secs(15), |_| quota_messages(rx).len()
            >= want),
        "no {what} message\n{}",
        run[0].log_text()
    );
    std::thread::sleep(Duration::from_secs(3));
    for d in run {
        assert_eq!(d.terminate(), Some(0));
    }
}

#[test]
fn crossing_80_then_100_percent_is_two_messages_and_no_more() {
    let db = RedisServer::shared().fresh_db();
    let mut w = CrsWriter::connect(&db);
    w.api_key(
        &ApiKeySpec::new(
            "key-quota",
            "team-alpha",
            chrono::Utc::now() - chrono::Duration::days(3),
        )
        .daily_cost_limit(10.0),
    );
    spend(&mut w, 8.5);
    let rx = Receiver::start(200, "{}");
    let dir = test_dir("quota");
    write_config(&dir, &db);
    let env = [("RW_GENERIC", rx.url("/hooks/relaywatch"))];

    three_until(&dir, &env, &rx, 1, "80 %");
    let first = quota_messages(&rx);
    assert_eq!(first.len(), 1, "{first:#?}");
    assert_eq!(first[0]["state"], "firing");
    assert_eq!(
        first[0]["data"]["items"][0]["threshold_pct"], 80,
        "{:#}",
        first[0]
    );

    spend(&mut w, 2.0);
    three_until(&dir, &env, &rx, 2, "100 %");
    let second = quota_messages(&rx);
    assert_eq!(second.len(), 2, "{second:#?}");
    assert_eq!(
        second[1]["data"]["items"][0]["threshold_pct"], 100,
        "{:#}",
        second[1]
    );
    assert_eq!(second[1]["level"], "critical");

    // Later runs: nothing new.
    let run = three(&dir, &env);
    std::thread::sleep(Duration::from_secs(6));
    assert_eq!(quota_messages(&rx).len(), 2, "{:#?}", quota_messages(&rx));
    for d in run {
        assert_eq!(d.terminate(), Some(0));
    }
}
