//! Redis outages under a running `relaywatch run`: the daemon stays up, `/health` says the
//! state Redis is down (and `relaywatch health` exits 1), and service is back within seconds
//! of Redis returning — whether Redis froze (SIGSTOP: timeouts) or died and restarted empty.

use super::common;

use std::time::{Duration, Instant};

use common::{test_dir, Daemon, Receiver};
use relaywatch_testkit::RedisServer;

fn config(redis: &RedisServer) -> String {
    format!(
        r#"
[source]
kind = "demo"
connect_timeout_ms = 1000
[state]
redis_url = "{}"
[network]
allow = ["127.0.0.0/8"]
allow_http = true
[rules.error_rate]
window_seconds = 600
threshold = 5
dimensions = ["global"]
[schedules.none]
cron = "0 0 1 1 *"
enabled = false

[[channels]]
name = "ops-hook"
type = "generic"
url = {{ env = "RW_GENERIC" }}
"#,
        redis.url()
    )
}

fn error_rate(rx: &Receiver, state: &str) -> usize {
    rx.got()
        .iter()
        .filter_map(|g| serde_json::from_str::<serde_json::Value>(&g.body).ok())
        .filter(|v| v["kind"] == "error_rate" && v["state"] == state)
        .count()
}

fn wait_until(within: Duration, mut f: impl FnMut() -> bool) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < within {
        if f() {
            return Some(started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

fn health_cli(port: u16) -> i32 {
    std::process::Command::new(env!("CARGO_BIN_EXE_relaywatch"))
        .args(["health", "--bind", &format!("127.0.0.1:{port}")])
        .output()
        .unwrap()
        .status
        .code()
        .unwrap_or(-1)
}

/// Six errors while Redis is up: one error-rate alert fires.
fn fire_before_the_outage(redis: &RedisServer, rx: &Receiver, d: &Daemon) {
    {
        let client = redis::Client::open(redis.url().as_str()).unwrap();
        let mut con = client.get_connection().unwrap();
        for _ in 0..6 {
            redis::cmd("XADD")
                .arg("relaywatch:events")
                .arg("*")
                .arg("status_code")
                .arg(500)
                .exec(&mut con)
                .unwrap();
        }
    }
    assert!(
        rx.wait_for(Duration::from_secs(10), |_| error_rate(rx, "firing") == 1),
        "no firing before the outage\n{}",
        d.log_text()
    );
}

/// `/health` says Redis is down within 15 s, the status is degraded with the error, and
/// `relaywatch health` exits 1; how long that took.
fn assert_seen_down(d: &Daemon) -> Duration {
    let seen_down = wait_until(Duration::from_secs(15), || {
        d.health().is_some_and(|h| h["redis"] == "down")
    });
    assert!(
        seen_down.is_some(),
        "health never said Redis is down:\n{}",
        d.log_text()
    );
    let h = d.health().unwrap();
    assert_eq!(h["status"], "degraded", "{h}");
    assert!(
        h["redis_error"].as_str().is_some_and(|e| !e.is_empty()),
        "{h}"
    );
    assert_eq!(health_cli(d.health), 1);

    seen_down.unwrap()
}

fn outage(name: &str, freeze: bool, outage: Duration) {
    let redis = RedisServer::start();
    let dir = test_dir(name);
    std::fs::write(dir.join("relaywatch.toml"), config(&redis)).unwrap();
    let rx = Receiver::start(200, "{}");
    let mut d = Daemon::start(&dir, "a", &[("RW_GENERIC", rx.url("/hooks/x"))]);
    assert_eq!(health_cli(d.health), 0);
    // An alert firing before the outage: the outage must neither resolve nor repeat it.
    fire_before_the_outage(&redis, &rx, &d);

    if freeze {
        redis.pause();
    } else {
        redis.stop();
    }
    let seen_down = assert_seen_down(&d);
    std::thread::sleep(outage.saturating_sub(seen_down));
    assert!(
        d.alive(),
        "the daemon exited during the outage:\n{}",
        d.log_text()
    );
    assert!(
        d.health().is_some(),
        "/health stopped answering during the outage"
    );

    if freeze {
        redis.resume();
    } else {
        redis.start_again();
    }
    let back = wait_until(Duration::from_secs(15), || {
        d.health().is_some_and(|h| h["redis"] == "up")
    });
    let back = back.unwrap_or_else(|| panic!("never recovered:\n{}", d.log_text()));
    eprintln!(
        "{name}: service back {} ms after Redis returned",
        back.as_millis()
    );
    assert!(
        back <= Duration::from_secs(6),
        "took {back:?} to recover (reconnect backoff is capped at 5 s)"
    );
    assert_eq!(health_cli(d.health), 0);
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(
        error_rate(&rx, "firing"),
        1,
        "a second firing after the outage"
    );
    assert_eq!(
        error_rate(&rx, "resolved"),
        0,
        "the outage resolved an alert"
    );
    assert_eq!(d.terminate(), Some(0));
}

#[test]
fn redis_frozen_for_20_seconds_is_survived_and_service_resumes() {
    outage("freeze", true, Duration::from_secs(20));
}

#[test]
fn redis_killed_and_restarted_empty_is_survived() {
    outage("kill", false, Duration::from_secs(8));
}
