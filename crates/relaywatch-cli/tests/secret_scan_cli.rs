//! The secret scan through the binary: `relaywatch test` (with and without the state Redis),
//! `history` and `check-config` against a receiver that echoes the request back, a closed port,
//! a URL secret that is not a URL and a TOML error on a line holding a secret, with debug logs
//! on. Rule: no form of any secret (plain, percent-encoded, base64) in stdout or stderr.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Command, Output};

/// A receiver on 127.0.0.1 that answers every request with it echoed back (HTTP 400).
fn echo_receiver() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let _ = stream.set_read_timeout(Some(std::time::Duration::from_millis(300)));
            let mut req = Vec::new();
            let mut buf = [0u8; 16384];
            while let Ok(n) = stream.read(&mut buf) {
                if n == 0 {
                    break;
                }
                req.extend_from_slice(&buf[..n]);
            }
            let text = String::from_utf8_lossy(&req);
            let target = text.split_whitespace().nth(1).unwrap_or("");
            let body = format!("Cannot POST {target}\n{text}");
            let _ = write!(
                stream,
                "HTTP/1.1 400 X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn run(cmd: &[&str], dir: &std::path::Path, config: &str, env: &[(&str, String)]) -> String {
    let path = dir.join(format!("{}.toml", cmd[0]));
    std::fs::write(&path, config).unwrap();
    let mut c = Command::new(env!("CARGO_BIN_EXE_relaywatch"));
    c.arg(cmd[0])
        .args(&cmd[1..])
        .arg("--config")
        .arg(&path)
        .args(["--log-level", "debug"])
        .env_clear()
        .env("HOME", dir)
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    for (k, v) in env {
        c.env(k, v);
    }
    let out: Output = c.output().unwrap();
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn forms(v: &str) -> Vec<String> {
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    use base64::Engine;
    let pct: String = v
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    vec![
        v.to_string(),
        pct,
        STANDARD.encode(v),
        URL_SAFE_NO_PAD.encode(v),
    ]
}

fn scan(place: &str, text: &str, secrets: &[&str]) {
    for s in secrets {
        for f in forms(s) {
            assert!(
                !text.contains(&f),
                "a secret starting {:.5} leaked into {place}:\n{}",
                s,
                text.replace(&f, "<SECRET>")
            );
        }
    }
}

/// A generic channel with signing secret and bearer, one to a closed port, one over TLS to a
/// plain port, one whose URL is no URL, a Telegram bot; all at the echo receiver `port`.
fn channels_toml(port: u16) -> String {
    format!(
        r#"
[network]
allow = ["127.0.0.0/8"]
allow_http = true
timeout_ms = 1000

[delivery]
attempts = 2
backoff_ms = 100

[[channels]]
name = "zap"
type = "generic"
url = {{ env = "RW_ZAP" }}
secret = {{ env = "RW_SIGNING" }}
bearer = {{ env = "RW_BEARER" }}

[[channels]]
name = "teams"
type = "generic"
url = {{ env = "RW_TEAMS" }}

[[channels]]
name = "tls"
type = "generic"
url = {{ env = "RW_APIKEY" }}

[[channels]]
name = "bad"
type = "slack"
url = {{ env = "RW_NOT_URL" }}

[[channels]]
name = "tg"
type = "telegram"
url = {{ env = "RW_TG" }}
chat_id = "-100200"
api_base = "http://127.0.0.1:{port}"
"#
    )
}

#[test]
fn no_secret_reaches_the_terminal() {
    let dir = std::env::temp_dir().join(format!("rw-scan-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let port = echo_receiver();
    let closed = closed_port();
    let (zap, teams, apikey, bearer, signing, not_url, tg) = (
        "zpTok4c1b9e77f0a2d",
        "tmTok88aa03be91c4e",
        "akTok5d2e6f1a0b9c3",
        "beTokf00dcafe1234",
        "whsec_sgTok0a1b2c3d4e5f",
        "693a00000000000000000000000001",
        "7000000001:AAHtgTok99887766",
    );
    let secrets = [zap, teams, apikey, bearer, signing, not_url, tg];
    let env = vec![
        (
            "RW_ZAP",
            format!("http://127.0.0.1:{port}/hooks/catch/123456/{zap}/"),
        ),
        (
            "RW_TEAMS",
            format!("http://127.0.0.1:{closed}/webhookb2/x/IncomingWebhook/{teams}/y"),
        ),
        (
            "RW_APIKEY",
            format!("https://127.0.0.1:{port}/notify?apikey={apikey}"),
        ),
        ("RW_BEARER", bearer.to_string()),
        ("RW_SIGNING", signing.to_string()),
        ("RW_NOT_URL", not_url.to_string()),
        ("RW_TG", tg.to_string()),
    ];
    let channels = channels_toml(port);
    let test = run(&["test", "--all"], &dir, &channels, &env);
    assert!(test.contains("Cannot POST"), "{test}");
    assert!(test.contains("is not a URL"), "{test}");
    scan("`relaywatch test`", &test, &secrets);
    let check = run(&["check-config"], &dir, &channels, &env);
    assert!(check.contains("is not a URL"), "{check}");
    scan("`relaywatch check-config`", &check, &secrets);

    let redis = relaywatch_testkit::fresh_db();
    let with_state = format!("[state]\nredis_url = \"{redis}\"\n{channels}");
    let queued = run(&["test", "--all"], &dir, &with_state, &env);
    scan("`relaywatch test` through the outbox", &queued, &secrets);
    let history = run(&["history"], &dir, &with_state, &env);
    let json = run(&["history", "--json"], &dir, &with_state, &env);
    scan("`relaywatch history --json`", &json, &secrets);
    assert!(history.contains("zap"), "{history}");
    scan("`relaywatch history`", &history, &secrets);

    let hook = format!("http://127.0.0.1:{port}/hooks/catch/1/{zap}/");
    let toml_error = format!("[[channels]]\nname = \"x\"\ntype = \"generic\"\nurll = \"{hook}\"\n");
    let out = run(&["check-config"], &dir, &toml_error, &[]);
    assert!(out.contains("urll"), "{out}");
    scan("a TOML error", &out, &secrets);
    let _ = std::fs::remove_dir_all(&dir);
}
