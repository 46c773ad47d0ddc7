//! `relaywatch test`: the test message through the real path (secret reference, SSRF guard,
//! the platform's success rule) to loopback receivers that answer as the platform does.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

/// A one-endpoint HTTP/1.1 receiver on 127.0.0.1 that answers every POST with `reply` and
/// records the bodies it got.
struct Receiver {
    port: u16,
    bodies: Arc<Mutex<Vec<String>>>,
}

impl Receiver {
    fn start(status: u16, reply: &'static str) -> Receiver {
        Receiver::start_seq(vec![(status, reply)])
    }

    /// Answers with `replies` in turn, then keeps giving the last one.
    fn start_seq(replies: Vec<(u16, &'static str)>) -> Receiver {
        Receiver::start_headed(replies.into_iter().map(|(s, r)| (s, "", r)).collect())
    }

    /// The same, each reply with extra header lines (`"Retry-After: 5\r\n"`).
    fn start_headed(replies: Vec<(u16, &'static str, &'static str)>) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let seen = bodies.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut len = 0usize;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; len];
                let _ = reader.read_exact(&mut body);
                let n = {
                    let mut seen = seen.lock().unwrap();
                    seen.push(String::from_utf8_lossy(&body).into_owned());
                    seen.len()
                };
                let (status, extra, reply) = replies[(n - 1).min(replies.len() - 1)];
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{reply}",
                    reply.len()
                );
            }
        });
        Receiver { port, bodies }
    }
}

fn run(config: &str, args: &[&str], env: &[(&str, String)]) -> Output {
    run_cmd("test", config, args, env)
}

fn run_cmd(cmd: &str, config: &str, args: &[&str], env: &[(&str, String)]) -> Output {
    let dir = std::env::temp_dir().join(format!(
        "rw-test-cmd-{}-{}",
        std::process::id(),
        args.join("-").replace('/', "_")
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("relaywatch.toml");
    std::fs::write(&path, config).unwrap();
    let mut c = Command::new(env!("CARGO_BIN_EXE_relaywatch"));
    c.arg(cmd)
        .arg("--config")
        .arg(&path)
        .args(args)
        .env_clear()
        .env("HOME", &dir)
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

const KEY: &str = "0f0f0f0f-fake-4000-8000-key000000001";

fn wecom_config(allow: bool) -> String {
    format!(
        r#"
[network]
allow = [{}]
allow_http = true

[[channels]]
name = "team-wecom"
type = "wecom"
url = {{ env = "RW_WECOM_URL" }}
lang = "zh-CN"
"#,
        if allow { "\"127.0.0.0/8\"" } else { "" }
    )
}

#[test]
fn test_message_reaches_a_wecom_receiver_and_errcode_zero_is_delivered() {
    let rx = Receiver::start(200, r#"{"errcode":0,"errmsg":"ok"}"#);
    let url = format!(
        "http://127.0.0.1:{}/cgi-bin/webhook/send?key={KEY}",
        rx.port
    );
    let o = run(
        &wecom_config(true),
        &["--channel", "team-wecom"],
        &[("RW_WECOM_URL", url)],
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(out.contains("team-wecom (wecom): delivered"), "{out}");
    assert!(out.contains("wecom: accepted (platform code 0)"), "{out}");
    let bodies = rx.bodies.lock().unwrap();
    assert_eq!(bodies.len(), 1);
    let v: serde_json::Value = serde_json::from_str(&bodies[0]).unwrap();
    assert_eq!(v["msgtype"], "markdown");
    assert!(
        v["markdown"]["content"]
            .as_str()
            .unwrap()
            .contains("测试消息"),
        "{v}"
    );
    assert!(!out.contains(KEY), "the key never reaches the output");
}

#[test]
fn a_platform_error_in_a_200_body_is_not_delivered() {
    let rx = Receiver::start(200, r#"{"errcode":93000,"errmsg":"invalid webhook url"}"#);
    let url = format!(
        "http://127.0.0.1:{}/cgi-bin/webhook/send?key={KEY}",
        rx.port
    );
    let o = run(
        &wecom_config(true),
        &["--channel", "team-wecom"],
        &[("RW_WECOM_URL", url)],
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("NOT delivered"), "{out}");
    assert!(
        out.contains("permanent failure (platform code 93000)"),
        "{out}"
    );
    assert!(!out.contains(KEY), "{out}");
}

#[test]
fn loopback_is_refused_without_the_allowlist_and_nothing_is_sent() {
    let rx = Receiver::start(200, r#"{"errcode":0,"errmsg":"ok"}"#);
    let url = format!(
        "http://127.0.0.1:{}/cgi-bin/webhook/send?key={KEY}",
        rx.port
    );
    let o = run(
        &wecom_config(false),
        &["--channel", "team-wecom"],
        &[("RW_WECOM_URL", url)],
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("loopback"),
        "the refusal names its rule: {out}"
    );
    assert!(
        rx.bodies.lock().unwrap().is_empty(),
        "nothing reached the receiver"
    );
    assert!(!out.contains(KEY), "{out}");
}

#[test]
fn a_missing_secret_names_the_reference() {
    let o = run(&wecom_config(true), &["--channel", "team-wecom"], &[]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1));
    assert!(out.contains("RW_WECOM_URL"), "{out}");
    let o = run(&wecom_config(true), &["--channel", "nope"], &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stdout).contains("no channel named \"nope\""));
}

#[test]
fn report_once_delivers_charts_as_images_to_wecom_and_retries_a_5xx() {
    let wecom = Receiver::start(200, r#"{"errcode":0,"errmsg":"ok"}"#);
    let generic = Receiver::start_seq(vec![(503, "busy"), (200, "{}")]);
    let config = r#"
[network]
allow = ["127.0.0.0/8"]
allow_http = true

[delivery]
backoff_ms = 100

[[channels]]
name = "team-wecom"
type = "wecom"
url = { env = "RW_WECOM_URL" }

[[channels]]
name = "ops-hook"
type = "generic"
url = { env = "RW_GENERIC_URL" }
secret = { env = "RW_GENERIC_SECRET" }
"#;
    let o = run_cmd(
        "report",
        config,
        &["--once", "--demo", "--at", "2026-11-22T09:00:00+08:00"],
        &[
            (
                "RW_WECOM_URL",
                format!(
                    "http://127.0.0.1:{}/cgi-bin/webhook/send?key={KEY}",
                    wecom.port
                ),
            ),
            (
                "RW_GENERIC_URL",
                format!("http://127.0.0.1:{}/hook", generic.port),
            ),
            (
                "RW_GENERIC_SECRET",
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into(),
            ),
        ],
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        out.contains("team-wecom: delivered (5 request(s), 1 attempt(s))"),
        "{out}"
    );
    assert!(
        out.contains("ops-hook: delivered (1 request(s), 2 attempt(s))"),
        "{out}"
    );
    let bodies = wecom.bodies.lock().unwrap();
    let kinds: Vec<String> = bodies
        .iter()
        .map(|b| {
            serde_json::from_str::<serde_json::Value>(b).unwrap()["msgtype"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(kinds, ["markdown", "image", "image", "image", "image"]);
    let generic_bodies = generic.bodies.lock().unwrap();
    assert_eq!(generic_bodies.len(), 2, "the 503 was retried once");
    let doc: serde_json::Value = serde_json::from_str(&generic_bodies[1]).unwrap();
    assert_eq!(doc["version"], "1");
    assert_eq!(doc["kind"], "report");
    assert_eq!(doc["data"]["source"], "demo");
    assert!(!out.contains(KEY));
}

#[test]
fn check_config_says_whether_each_secret_can_be_read_without_showing_it() {
    let config = wecom_config(true);
    let url = format!("https://qyapi.weixin.example/cgi-bin/webhook/send?key={KEY}");
    let o = run_cmd("check-config", &config, &[], &[("RW_WECOM_URL", url)]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains("# channel team-wecom: url from env RW_WECOM_URL: readable"),
        "{out}"
    );
    assert!(!out.contains(KEY), "{out}");
    let o = run_cmd("check-config", &config, &[], &[]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("RW_WECOM_URL is not set"), "{out}");
}

/// `Retry-After: 1e30` through the outbox: read as a day and held to the policy's hour, so the
/// command says the message is still queued and exits at once — no panic, no backtrace, no wait
/// for the claim's lease.
#[test]
fn a_retry_after_of_1e30_neither_panics_nor_stalls_the_test_command() {
    let rx = Receiver::start_headed(vec![(429, "Retry-After: 1e30\r\n", "slow down")]);
    let db = relaywatch_testkit::RedisServer::shared().fresh_db();
    let config = format!(
        r#"
[network]
allow = ["127.0.0.0/8"]
allow_http = true
[state]
redis_url = "{db}"

[[channels]]
name = "ra-hook"
type = "generic"
url = {{ env = "RW_HOOK_URL" }}
"#
    );
    let started = std::time::Instant::now();
    let o = run(
        &config,
        &["--channel", "ra-hook"],
        &[("RW_HOOK_URL", format!("http://127.0.0.1:{}/hook", rx.port))],
    );
    let took = started.elapsed();
    let out = String::from_utf8_lossy(&o.stdout);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        out.contains("NOT delivered yet after 1 attempt(s); still queued"),
        "{out}"
    );
    assert!(out.contains("retry after 86400.0 s"), "{out}");
    assert!(took < std::time::Duration::from_secs(20), "took {took:?}");
    assert_eq!(rx.bodies.lock().unwrap().len(), 1);
}
