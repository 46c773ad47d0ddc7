//! `report --once` and `test` through the durable outbox when a state Redis is configured (a
//! real redis-server), `history` reading it back, and `secret set/delete` with the real OS
//! keychain; loopback receivers answer as the platforms do. No output ever shows a secret.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};

const KEY: &str = "0f0f0f0f-fake-4000-8000-key0000000ob";
const SIGNING: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// A one-endpoint HTTP/1.1 receiver on 127.0.0.1 answering with `replies` in turn (the last
/// one repeats); records the bodies.
struct Receiver {
    port: u16,
    bodies: Arc<Mutex<Vec<String>>>,
}

impl Receiver {
    fn start(replies: Vec<(u16, &'static str)>) -> Receiver {
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
                let (status, reply) = replies[(n - 1).min(replies.len() - 1)];
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}",
                    reply.len()
                );
            }
        });
        Receiver { port, bodies }
    }

    fn count(&self) -> usize {
        self.bodies.lock().unwrap().len()
    }
}

struct Run {
    code: Option<i32>,
    out: String,
    err: String,
}

/// Runs `relaywatch <args…> --config <file with config>` (`secret` takes no config) with only
/// `env` set and `stdin` piped in.
fn run(tag: &str, config: &str, args: &[&str], env: &[(&str, String)], stdin: &str) -> Run {
    let dir = std::env::temp_dir().join(format!("rw-outbox-cli-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("relaywatch.toml");
    std::fs::write(&path, config).unwrap();
    let mut c = Command::new(env!("CARGO_BIN_EXE_relaywatch"));
    c.args(args);
    if args[0] != "secret" {
        c.arg("--config").arg(&path);
    }
    c.env_clear()
        .env("HOME", &dir)
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        c.env(k, v);
    }
    let mut child = c.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let o: Output = child.wait_with_output().unwrap();
    Run {
        code: o.status.code(),
        out: String::from_utf8_lossy(&o.stdout).into_owned(),
        err: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn no_secret(r: &Run) {
    for s in [KEY, SIGNING] {
        assert!(!r.out.contains(s), "a secret in stdout: {}", r.out);
        assert!(!r.err.contains(s), "a secret in stderr: {}", r.err);
    }
}

fn config(redis: Option<&str>) -> String {
    let state = redis
        .map(|u| format!("[state]\nredis_url = \"{u}\"\n"))
        .unwrap_or_default();
    format!(
        r#"
{state}
[network]
allow = ["127.0.0.0/8"]
allow_http = true

[delivery]
backoff_ms = 100

[[channels]]
name = "team-wecom"
type = "wecom"
url = {{ env = "RW_WECOM_URL" }}

[[channels]]
name = "ops-hook"
type = "generic"
url = {{ env = "RW_GENERIC_URL" }}
secret = {{ env = "RW_GENERIC_SECRET" }}
"#
    )
}

fn env(wecom: &Receiver, generic: &Receiver) -> Vec<(&'static str, String)> {
    vec![
        (
            "RW_WECOM_URL",
            format!(
                "http://127.0.0.1:{}/cgi-bin/webhook/send?key={KEY}",
                wecom.port
            ),
        ),
        (
            "RW_GENERIC_URL",
            format!("http://127.0.0.1:{}/hook/{KEY}", generic.port),
        ),
        ("RW_GENERIC_SECRET", SIGNING.into()),
    ]
}

#[test]
fn report_once_goes_through_the_outbox_and_history_shows_every_attempt() {
    let redis = relaywatch_testkit::fresh_db();
    let wecom = Receiver::start(vec![(200, r#"{"errcode":0,"errmsg":"ok"}"#)]);
    let generic = Receiver::start(vec![(503, "busy"), (200, "{}")]);
    let cfg = config(Some(&redis));
    let env = env(&wecom, &generic);
    let r = run(
        "report",
        &cfg,
        &[
            "report",
            "--once",
            "--demo",
            "--at",
            "2026-11-22T09:00:00+08:00",
        ],
        &env,
        "",
    );
    assert_eq!(r.code, Some(0), "{}{}", r.out, r.err);
    assert!(
        r.out
            .contains("team-wecom (wecom): delivered (5 request(s), 1 attempt(s))"),
        "{}",
        r.out
    );
    assert!(
        r.out
            .contains("ops-hook (generic): delivered (1 request(s), 2 attempt(s))"),
        "{}",
        r.out
    );
    assert!(
        r.out.contains("attempt 1: failed, will retry (HTTP 503"),
        "{}",
        r.out
    );
    assert!(r.out.contains("rule:  generic: accepted"), "{}", r.out);
    assert!(!r.err.contains("history is not kept"), "{}", r.err);
    assert_eq!(wecom.count(), 5);
    assert_eq!(generic.count(), 2);
    no_secret(&r);

    history_shows_every_attempt(&cfg);
}

/// `history` (text, JSON for one channel, failed only) after the report: the WeCom delivery,
/// and the hook's retry then delivery, newest first; no secret anywhere.
fn history_shows_every_attempt(cfg: &str) {
    let h = run("history", cfg, &["history"], &[], "");
    assert_eq!(h.code, Some(0), "{}{}", h.out, h.err);
    assert!(
        h.out
            .contains("team-wecom: 1 delivered, 0 failed attempt(s) kept"),
        "{}",
        h.out
    );
    assert!(
        h.out
            .contains("ops-hook: 1 delivered, 1 failed attempt(s) kept"),
        "{}",
        h.out
    );
    assert!(h.out.contains("report      retry"), "{}", h.out);
    no_secret(&h);

    let j = run(
        "history-json",
        cfg,
        &["history", "--json", "--channel", "ops-hook"],
        &[],
        "",
    );
    assert_eq!(j.code, Some(0), "{}", j.err);
    let doc: serde_json::Value = serde_json::from_str(&j.out).unwrap();
    let records = doc["channels"][0]["records"].as_array().unwrap();
    assert_eq!(doc["channels"][0]["channel"], "ops-hook");
    assert_eq!(records.len(), 2);
    assert_eq!(records[0]["result"], "delivered", "newest first");
    assert_eq!(records[0]["attempt"], 2);
    assert_eq!(records[1]["result"], "retry");
    assert_eq!(records[1]["status"], 503);
    assert!(records[0]["time"].as_str().unwrap().starts_with("20"));
    no_secret(&j);

    let f = run("history-failed", cfg, &["history", "--failed"], &[], "");
    assert_eq!(f.code, Some(0));
    assert!(!f.out.contains("delivered "), "{}", f.out);
    assert!(f.out.contains("retry"), "{}", f.out);
}

#[test]
fn test_through_the_outbox_prints_the_reply_and_rule_and_records_the_failure() {
    let redis = relaywatch_testkit::fresh_db();
    let wecom = Receiver::start(vec![(
        200,
        r#"{"errcode":93000,"errmsg":"invalid webhook url"}"#,
    )]);
    let generic = Receiver::start(vec![(200, "{}")]);
    let cfg = config(Some(&redis));
    let env = env(&wecom, &generic);
    let r = run("test", &cfg, &["test", "--all"], &env, "");
    assert_eq!(r.code, Some(1), "{}{}", r.out, r.err);
    assert!(
        r.out
            .contains("team-wecom (wecom): NOT delivered, failed for good after 1 attempt(s)"),
        "{}",
        r.out
    );
    assert!(
        r.out.contains("permanent failure (platform code 93000)"),
        "{}",
        r.out
    );
    assert!(
        r.out.contains("invalid webhook url"),
        "the reply: {}",
        r.out
    );
    assert!(r.out.contains("ops-hook (generic): delivered"), "{}", r.out);
    assert_eq!(wecom.count(), 1, "a permanent failure is not retried");
    no_secret(&r);

    let h = run(
        "test-history",
        &cfg,
        &["history", "--failed", "--channel", "team-wecom"],
        &[],
        "",
    );
    assert!(h.out.contains("test        dead"), "{}", h.out);
    assert!(h.out.contains("code 93000"), "{}", h.out);
    no_secret(&h);
}

#[test]
fn without_a_state_redis_delivery_is_direct_and_history_says_why_it_has_nothing() {
    let wecom = Receiver::start(vec![(200, r#"{"errcode":0,"errmsg":"ok"}"#)]);
    let generic = Receiver::start(vec![(200, "{}")]);
    let cfg = config(None);
    let r = run(
        "direct",
        &cfg,
        &["test", "--channel", "team-wecom"],
        &env(&wecom, &generic),
        "",
    );
    assert_eq!(r.code, Some(0), "{}{}", r.out, r.err);
    assert!(r.err.contains("delivery history is not kept"), "{}", r.err);
    assert_eq!(r.err.matches("history is not kept").count(), 1);
    let h = run("no-history", &cfg, &["history"], &[], "");
    assert_ne!(h.code, Some(0));
    assert!(h.err.contains("no delivery history here"), "{}", h.err);
    assert!(h.err.contains("[state] redis_url"), "{}", h.err);
}

#[cfg(feature = "keychain")]
#[test]
fn a_keychain_secret_set_from_stdin_is_used_by_test_then_deleted() {
    let wecom = Receiver::start(vec![(200, r#"{"errcode":0,"errmsg":"ok"}"#)]);
    let name = format!("rw-cli-test-{}-url", std::process::id());
    let url = format!(
        "http://127.0.0.1:{}/cgi-bin/webhook/send?key={KEY}",
        wecom.port
    );
    let cfg = format!(
        r#"
[network]
allow = ["127.0.0.0/8"]
allow_http = true

[[channels]]
name = "team-wecom"
type = "wecom"
url = {{ keychain = "{name}" }}
"#
    );
    let set = run(
        "kc-set",
        &cfg,
        &["secret", "set", &name],
        &[],
        &format!("{url}\n"),
    );
    assert_eq!(
        set.code,
        Some(0),
        "the OS keychain (kernel keyutils on Linux) must work here: {}{}",
        set.out,
        set.err
    );
    no_secret(&set);
    let t = run(
        "kc-test",
        &cfg,
        &["test", "--channel", "team-wecom"],
        &[],
        "",
    );
    assert_eq!(t.code, Some(0), "{}{}", t.out, t.err);
    assert!(t.out.contains("team-wecom (wecom): delivered"), "{}", t.out);
    assert_eq!(wecom.count(), 1);
    no_secret(&t);
    let d = run("kc-del", &cfg, &["secret", "delete", &name], &[], "");
    assert_eq!(d.code, Some(0), "{}{}", d.out, d.err);
    let t = run(
        "kc-gone",
        &cfg,
        &["test", "--channel", "team-wecom"],
        &[],
        "",
    );
    assert_eq!(t.code, Some(1));
    assert!(t.out.contains("no such keychain entry"), "{}", t.out);
    // A value is never taken from the command line.
    let argv = run("kc-argv", &cfg, &["secret", "set", &name, &url], &[], "");
    assert_ne!(argv.code, Some(0));
    let empty = run("kc-empty", &cfg, &["secret", "set", &name], &[], "");
    assert_ne!(empty.code, Some(0));
    assert!(
        empty.err.contains("no secret on standard input"),
        "{}",
        empty.err
    );
}
