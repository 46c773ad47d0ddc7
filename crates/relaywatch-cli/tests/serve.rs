//! `relaywatch serve` as a real process over a real redis-server seeded with CRS data: the token
//! gate (401 names the fix), the snapshot, channels whose secrets land in the secrets file and
//! never in the config, refused saves that leave the file byte-identical, a test send to a
//! loopback receiver with its reply, ingest onto the events stream, the static UI, and `run
//! --serve` (daemon and web UI in one process) firing a rule on ingested events. Rule:
//! only 127.0.0.1 is connected to; the process dies with its guard.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use relaywatch_testkit::{ApiKeySpec, CrsWriter, RedisServer, UsageEvent};
use serde_json::{json, Value};

fn test_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rw-serve-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A running `relaywatch serve`, killed when dropped.
struct Serve {
    child: Child,
    port: u16,
    token: String,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Serve {
    fn start(dir: &Path) -> Serve {
        Serve::start_as(dir, &["serve"])
    }

    /// Started as `relaywatch <command…> --config … --bind 127.0.0.1:0`.
    fn start_as(dir: &Path, command: &[&str]) -> Serve {
        Serve::start_bin(
            Path::new(env!("CARGO_BIN_EXE_relaywatch")),
            dir,
            command,
            |c| c,
        )
    }

    /// Started as `bin <command…> --config … --bind 127.0.0.1:0`, with an environment of only
    /// HOME, PATH and RELAYWATCH_NO_KEYCHAIN, then whatever `more` adds.
    fn start_bin(
        bin: &Path,
        dir: &Path,
        command: &[&str],
        more: impl FnOnce(&mut Command) -> &mut Command,
    ) -> Serve {
        let mut cmd = Command::new(bin);
        cmd.args(command)
            .arg("--config")
            .arg(dir.join("relaywatch.toml"))
            .arg("--bind")
            .arg("127.0.0.1:0")
            .env_clear()
            .env("HOME", dir)
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RELAYWATCH_NO_KEYCHAIN", "1")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(dir.join("serve.log")).unwrap());
        let mut child = more(&mut cmd).spawn().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL printed: {line:?}"));
        let (base, token) = url.split_once("/#token=").unwrap();
        let port = base.rsplit(':').next().unwrap().parse().unwrap();
        Serve {
            child,
            port,
            token: token.trim().to_string(),
        }
    }

    /// One request; returns status, content type and body.
    fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: &str,
    ) -> (u16, String, String) {
        self.call_as("127.0.0.1", method, path, token, body)
    }

    /// One request with `Host: host`.
    fn call_as(
        &self,
        host: &str,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: &str,
    ) -> (u16, String, String) {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let auth = token
            .map(|t| format!("Authorization: Bearer {t}\r\n"))
            .unwrap_or_default();
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: {host}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).unwrap();
        let text = String::from_utf8_lossy(&buf).into_owned();
        let (head, rest) = text.split_once("\r\n\r\n").unwrap();
        let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
        let ctype = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-type:")
                    .map(|v| v.trim().to_string())
            })
            .unwrap_or_default();
        let body = if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            dechunk(rest)
        } else {
            rest.to_string()
        };
        (status, ctype, body)
    }

    fn api(&self, method: &str, path: &str, body: Value) -> (u16, Value) {
        let text = if body.is_null() {
            String::new()
        } else {
            body.to_string()
        };
        let (status, _, b) = self.call(method, path, Some(&self.token), &text);
        (status, serde_json::from_str(&b).unwrap_or(Value::String(b)))
    }
}

fn dechunk(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&after[..n]);
        rest = &after[n + 2..];
    }
    out
}

/// A loopback webhook receiver: answers `reply`, keeps the bodies.
fn receiver(reply: &'static str) -> (u16, Arc<Mutex<Vec<String>>>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let got = Arc::new(Mutex::new(Vec::new()));
    let seen = got.clone();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut len = 0;
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; len];
            let _ = r.read_exact(&mut body);
            seen.lock()
                .unwrap()
                .push(String::from_utf8_lossy(&body).into_owned());
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}",
                reply.len()
            );
        }
    });
    (port, got)
}

fn seed(db: &str) {
    let mut w = CrsWriter::connect(db);
    w.api_key(&ApiKeySpec::new(
        "key-a",
        "team-alpha",
        chrono::Utc::now() - chrono::Duration::days(3),
    ));
    w.api_key(&ApiKeySpec::new(
        "key-b",
        "team-beta",
        chrono::Utc::now() - chrono::Duration::days(2),
    ));
    w.usage(
        &UsageEvent::new("key-a", "claude-sonnet-4-5-20250929", chrono::Utc::now())
            .tokens(1000, 500, 0, 0)
            .cost(1.5, 1.5),
    );
    w.flush();
}

fn config(db: &str) -> String {
    format!(
        "[source]\nredis_url = \"{db}\"\n[network]\nallow = [\"127.0.0.0/8\"]\nallow_http = true\n"
    )
}

#[test]
fn the_api_needs_the_token_and_serves_the_snapshot_and_the_ui() {
    let db = RedisServer::shared().fresh_db();
    seed(&db);
    let dir = test_dir("token");
    std::fs::write(dir.join("relaywatch.toml"), config(&db)).unwrap();
    let sv = Serve::start(&dir);
    assert_eq!(sv.token.len(), 64, "32 random bytes as hex");

    let (code, _, body) = sv.call("GET", "/health", None, "");
    assert_eq!(code, 200, "{body}");
    assert!(!body.contains(&sv.token));

    let (code, _, body) = sv.call("GET", "/api/status", None, "");
    assert_eq!(code, 401, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["error"]["kind"], "unauthorized");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Authorization: Bearer"),
        "{v}"
    );
    let (code, _, _) = sv.call("GET", "/api/status", Some("0000"), "");
    assert_eq!(code, 401);
    let (code, _, _) = sv.call("POST", "/ingest", None, "{}\n");
    assert_eq!(code, 401);

    let (code, snap) = sv.api("GET", "/api/snapshot", Value::Null);
    assert_eq!(code, 200, "{snap}");
    assert_eq!(snap["api_keys"]["total"], 2, "{snap}");
    let (code, st) = sv.api("GET", "/api/status", Value::Null);
    assert_eq!(code, 200);
    assert_eq!(st["source"]["kind"], "crs");

    let (code, ctype, svg) = sv.call(
        "GET",
        "/api/charts/overview.svg?lang=zh-CN",
        Some(&sv.token),
        "",
    );
    assert_eq!(code, 200, "{svg}");
    assert!(ctype.starts_with("image/svg+xml"), "{ctype}");
    assert!(svg.contains("<svg"));

    // The token was created, stored in the secrets file and referenced from the config.
    let text = std::fs::read_to_string(dir.join("relaywatch.toml")).unwrap();
    assert!(text.contains("relaywatch-serve-token"), "{text}");
    assert!(!text.contains(&sv.token), "{text}");
    let stored = std::fs::read_to_string(dir.join("secrets/relaywatch-serve-token")).unwrap();
    assert_eq!(stored, sv.token);

    // The static UI is served (the workspace's ui/).
    let (code, ctype, html) = sv.call("GET", "/", None, "");
    assert_eq!(code, 200);
    assert!(ctype.starts_with("text/html"), "{ctype}");
    assert!(html.to_ascii_lowercase().contains("<html") || html.contains("relaywatch"));
    let (code, _, _) = sv.call("GET", "/../Cargo.toml", None, "");
    assert_ne!(code, 200);

    // A second start reuses the token.
    let token = sv.token.clone();
    drop(sv);
    let again = Serve::start(&dir);
    assert_eq!(again.token, token);
}

#[test]
fn channels_keep_secrets_out_of_the_config_and_a_test_send_returns_the_reply() {
    let db = RedisServer::shared().fresh_db();
    let dir = test_dir("channels");
    std::fs::write(dir.join("relaywatch.toml"), config(&db)).unwrap();
    let sv = Serve::start(&dir);
    let (port, got) = receiver(r#"{"accepted":true}"#);
    let hook = format!("http://127.0.0.1:{port}/hook/whk-secret-4c7d");

    let (code, v) = sv.api(
        "POST",
        "/api/channels",
        json!({ "channel": { "name": "ops", "type": "generic" }, "secrets": { "url": hook } }),
    );
    assert_eq!(code, 201, "{v}");
    assert_eq!(v["secrets"]["ops"]["url"], "••••4c7d");
    assert!(!v.to_string().contains("whk-secret-4c7d"));
    let text = std::fs::read_to_string(dir.join("relaywatch.toml")).unwrap();
    assert!(!text.contains("whk-secret-4c7d"), "{text}");
    assert!(text.contains("relaywatch-ops-url"), "{text}");
    assert_eq!(
        std::fs::read_to_string(dir.join("secrets/relaywatch-ops-url")).unwrap(),
        hook
    );

    let (code, v) = sv.api("POST", "/api/channels/ops/test", Value::Null);
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["delivered"], true, "{v}");
    assert_eq!(v["attempts"][0]["status"], 200);
    assert!(
        v["attempts"][0]["reply"]
            .as_str()
            .unwrap()
            .contains("accepted"),
        "{v}"
    );
    assert!(!v["attempts"][0]["rule"].as_str().unwrap().is_empty());
    assert_eq!(got.lock().unwrap().len(), 1);

    // An invalid value: every field error, and the file stays byte-identical.
    let before = std::fs::read(dir.join("relaywatch.toml")).unwrap();
    let (_, cfg) = sv.api("GET", "/api/config", Value::Null);
    let mut settings = cfg["settings"].clone();
    settings["report"]["trend_days"] = json!(45);
    settings["serve"]["refresh_secs"] = json!(1);
    let (code, v) = sv.api("PUT", "/api/config", json!({ "settings": settings }));
    assert_eq!(code, 422, "{v}");
    let fields: Vec<&str> = v["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["report.trend_days", "serve.refresh_secs"], "{v}");
    assert_eq!(std::fs::read(dir.join("relaywatch.toml")).unwrap(), before);

    // The masked config sent back unchanged saves without losing the Redis URL or the secret.
    let (code, v) = sv.api("PUT", "/api/config", json!({ "settings": cfg["settings"] }));
    assert_eq!(code, 200, "{v}");
    let text = std::fs::read_to_string(dir.join("relaywatch.toml")).unwrap();
    assert!(text.contains(&db), "{text}");

    let (code, v) = sv.api("DELETE", "/api/channels/ops", Value::Null);
    assert_eq!(code, 200, "{v}");
    assert!(!dir.join("secrets/relaywatch-ops-url").exists());
    let (code, v) = sv.api("POST", "/api/channels/ops/test", Value::Null);
    assert_eq!(code, 404, "{v}");
}

#[test]
fn ingest_pushes_ndjson_events_onto_the_stream() {
    let db = RedisServer::shared().fresh_db();
    let dir = test_dir("ingest");
    std::fs::write(dir.join("relaywatch.toml"), config(&db)).unwrap();
    let sv = Serve::start(&dir);
    let body = "{\"provider_id\":3,\"status_code\":502,\"model\":\"m\"}\n{\"provider_id\":3,\"status_code\":200}\nbroken\n";
    let (code, _, text) = sv.call("POST", "/ingest", Some(&sv.token), body);
    assert_eq!(code, 200, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["pushed"], 2, "{v}");
    assert_eq!(v["bad"][0]["line"], 3, "{v}");
    let mut con = redis::Client::open(db.as_str())
        .unwrap()
        .get_connection()
        .unwrap();
    let n: u64 = redis::cmd("XLEN")
        .arg(v["stream"].as_str().unwrap())
        .query(&mut con)
        .unwrap();
    assert_eq!(n, 2);
}

#[test]
fn run_serve_runs_the_daemon_and_the_web_ui_in_one_process() {
    let db = RedisServer::shared().fresh_db();
    let dir = test_dir("run-serve");
    std::fs::write(
        dir.join("relaywatch.toml"),
        format!(
            "{}[rules.error_rate]\nwindow_seconds = 300\nthreshold = 5\ndimensions = [\"global\"]\n",
            config(&db)
        ),
    )
    .unwrap();
    let sv = Serve::start_as(&dir, &["run", "--serve"]);
    let (code, _, health) = sv.call("GET", "/health", None, "");
    assert_eq!(code, 200, "{health}");
    let (code, _, page) = sv.call("GET", "/", None, "");
    assert_eq!(code, 200);
    assert!(page.contains("<html"), "the web UI is served: {page:.200}");
    let burst: String = (0..8)
        .map(|i| format!("{{\"provider_id\":\"p-run\",\"status_code\":502,\"key_id\":\"k{i}\"}}\n"))
        .collect();
    let (code, _, text) = sv.call("POST", "/ingest", Some(&sv.token), &burst);
    assert_eq!(code, 200, "{text}");
    // The daemon in the same process consumes the stream and fires the rule.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let firing = loop {
        let (code, v) = sv.api("GET", "/api/alerts", Value::Null);
        assert_eq!(code, 200, "{v}");
        if let Some(a) = v["firing"]
            .as_array()
            .and_then(|f| f.iter().find(|a| a["rule"] == "error_rate"))
        {
            break a.clone();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no error-rate alert fired in 60 s: {v}\n{}",
            std::fs::read_to_string(dir.join("serve.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(firing["subject"], "global", "{firing}");
}

/// DNS rebinding: a page on another name that resolves to 127.0.0.1 reaches the port, but
/// `/api` and `/ingest` refuse its `Host` even with the right token; loopback names, the bind
/// address and `[serve] hosts` pass; `/health` and the UI answer any Host.
#[test]
fn the_api_answers_only_loopback_the_bind_address_and_listed_hosts() {
    let db = RedisServer::shared().fresh_db();
    let dir = test_dir("hosts");
    std::fs::write(
        dir.join("relaywatch.toml"),
        format!(
            "{}[serve]\nhosts = [\"relaywatch.example.lan\"]\n",
            config(&db)
        ),
    )
    .unwrap();
    let sv = Serve::start(&dir);
    let t = Some(sv.token.as_str());
    let port = sv.port;
    for host in [
        "attacker.example".to_string(),
        format!("attacker.example:{port}"),
        format!("localhost.attacker.example:{port}"),
        format!("127.0.0.1.nip.io:{port}"),
        format!("10.9.8.7:{port}"),
    ] {
        let (code, _, body) = sv.call_as(&host, "GET", "/api/status", t, "");
        assert_eq!(code, 403, "{host}: {body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["error"]["kind"], "forbidden_host", "{v}");
        let msg = v["error"]["message"].as_str().unwrap();
        assert!(msg.contains("[serve] hosts"), "{msg}");
        assert!(!body.contains(&sv.token));
        let (code, _, body) = sv.call_as(&host, "POST", "/ingest", t, "{\"status_code\":500}\n");
        assert_eq!(code, 403, "{host}: {body}");
        // Checked before the token: no way to probe it from there.
        let (code, _, _) = sv.call_as(&host, "GET", "/api/status", Some("0000"), "");
        assert_eq!(code, 403);
        // Open routes stay open.
        let (code, _, _) = sv.call_as(&host, "GET", "/health", None, "");
        assert_eq!(code, 200, "{host}");
    }
    for host in [
        "localhost".to_string(),
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        format!("[::1]:{port}"),
        "relaywatch.example.lan".to_string(),
        format!("RelayWatch.Example.LAN:{port}"),
    ] {
        let (code, _, body) = sv.call_as(&host, "GET", "/api/status", t, "");
        assert_eq!(code, 200, "{host}: {body}");
    }
    // The right Host still needs the token.
    let (code, _, _) = sv.call_as("localhost", "GET", "/api/status", None, "");
    assert_eq!(code, 401);
}

/// Only files inside the UI folder are served: a symlink in it that points outside (to a file
/// or a folder) is refused like `..`; a link that stays inside works.
#[test]
fn symlinks_out_of_the_ui_folder_are_not_followed() {
    let db = RedisServer::shared().fresh_db();
    let dir = test_dir("symlinks");
    std::fs::write(dir.join("relaywatch.toml"), config(&db)).unwrap();
    let ui = dir.join("ui");
    let outside = dir.join("outside");
    std::fs::create_dir_all(ui.join("js")).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(ui.join("index.html"), "<html>inside</html>").unwrap();
    std::fs::write(ui.join("js/app.js"), "// inside").unwrap();
    std::fs::write(outside.join("secret.txt"), "OUTSIDE-SECRET").unwrap();
    std::os::unix::fs::symlink(outside.join("secret.txt"), ui.join("leak.txt")).unwrap();
    std::os::unix::fs::symlink("../outside", ui.join("out")).unwrap();
    std::os::unix::fs::symlink(&outside, ui.join("js/abs")).unwrap();
    std::os::unix::fs::symlink("index.html", ui.join("alias.html")).unwrap();
    let ui_arg = ui.to_str().unwrap().to_string();
    let sv = Serve::start_as(&dir, &["serve", "--ui", &ui_arg]);

    let (code, ctype, body) = sv.call("GET", "/", None, "");
    assert_eq!((code, body.as_str()), (200, "<html>inside</html>"));
    assert!(ctype.starts_with("text/html"), "{ctype}");
    let (code, _, body) = sv.call("GET", "/js/app.js", None, "");
    assert_eq!((code, body.as_str()), (200, "// inside"));
    let (code, _, body) = sv.call("GET", "/alias.html", None, "");
    assert_eq!((code, body.as_str()), (200, "<html>inside</html>"));
    for path in [
        "/leak.txt",
        "/out/secret.txt",
        "/js/abs/secret.txt",
        "/../outside/secret.txt",
        "/js/../../outside/secret.txt",
        "/%2e%2e/outside/secret.txt",
    ] {
        let (code, _, body) = sv.call("GET", path, None, "");
        assert_eq!(code, 404, "{path}: {body}");
        assert!(!body.contains("OUTSIDE-SECRET"), "{path}");
    }
}

/// The web UI built into the binary answers with no `--ui` and `RELAYWATCH_UI` unset, from a copy
/// of the binary outside the source tree started with `/` as its working directory: `/`,
/// `/index.html`, `/js/…`, `/css/…` and the favicon are the files of `ui/`, with their content
/// types; `..` is refused there too. `RELAYWATCH_UI` and `--ui` still override it, and a `--ui`
/// that is not a folder is refused naming the option (exit 3).
#[test]
fn the_ui_built_into_the_binary_answers_outside_the_source_tree() {
    let db = RedisServer::shared().fresh_db();
    let dir = test_dir("embedded");
    std::fs::write(dir.join("relaywatch.toml"), config(&db)).unwrap();
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    let bin = dir.join("bin/relaywatch");
    std::fs::copy(env!("CARGO_BIN_EXE_relaywatch"), &bin).unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui");
    let sv = Serve::start_bin(&bin, &dir, &["serve"], |c| c.current_dir("/"));
    for (url, file, ctype) in [
        ("/", "index.html", "text/html; charset=utf-8"),
        ("/index.html", "index.html", "text/html; charset=utf-8"),
        (
            "/settings.html",
            "settings.html",
            "text/html; charset=utf-8",
        ),
        ("/js/api.js", "js/api.js", "text/javascript; charset=utf-8"),
        (
            "/js/dashboard.js",
            "js/dashboard.js",
            "text/javascript; charset=utf-8",
        ),
        ("/css/app.css", "css/app.css", "text/css; charset=utf-8"),
    ] {
        let (code, got_type, body) = sv.call("GET", url, None, "");
        assert_eq!((code, got_type.as_str()), (200, ctype), "{url}");
        let want = std::fs::read_to_string(src.join(file)).unwrap();
        assert!(body == want, "{url}: not the bytes of ui/{file}");
    }
    let (code, ctype, _) = sv.call("GET", "/favicon.png", None, "");
    assert_eq!((code, ctype.as_str()), (200, "image/png"));
    for url in ["/../Cargo.toml", "/js/../../Cargo.toml", "/nope.js", "/js/"] {
        let (code, _, _) = sv.call("GET", url, None, "");
        assert_eq!(code, 404, "{url}");
    }
    drop(sv);

    // RELAYWATCH_UI (and --ui, see the symlink test) still serve a folder instead.
    let mine = dir.join("my-ui");
    std::fs::create_dir_all(&mine).unwrap();
    std::fs::write(mine.join("index.html"), "<html>mine</html>").unwrap();
    let sv = Serve::start_bin(&bin, &dir, &["serve"], |c| {
        c.current_dir("/").env("RELAYWATCH_UI", &mine)
    });
    let (code, _, body) = sv.call("GET", "/", None, "");
    assert_eq!((code, body.as_str()), (200, "<html>mine</html>"));
    drop(sv);

    let out = Command::new(&bin)
        .args(["serve", "--bind", "127.0.0.1:0", "--ui", "/no/such/ui"])
        .arg("--config")
        .arg(dir.join("relaywatch.toml"))
        .env_clear()
        .env("HOME", &dir)
        .env("RELAYWATCH_NO_KEYCHAIN", "1")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains("--ui (or RELAYWATCH_UI)") && err.contains("/no/such/ui"),
        "{err}"
    );
}

/// `relaywatch silence add --for 1h30m` and `POST /api/silences` with `1h30m` (what the web UI
/// sends, and what the desktop's `silence` command hands the same `Service::silence`) both end
/// 90 minutes after they start: one duration grammar for every face; a bare number is refused
/// by both.
#[test]
fn a_silence_for_1h30m_ends_alike_from_the_cli_and_the_api() {
    let db = RedisServer::shared().fresh_db();
    let dir = test_dir("silence");
    let cfg = dir.join("relaywatch.toml");
    std::fs::write(&cfg, config(&db)).unwrap();
    let cli = |d: &str| {
        Command::new(env!("CARGO_BIN_EXE_relaywatch"))
            .args(["silence", "add", "--config"])
            .arg(&cfg)
            .args(["--rule", "breaker", "--for", d, "--reason", "deploy"])
            .env_clear()
            .env("HOME", &dir)
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RELAYWATCH_NO_KEYCHAIN", "1")
            .output()
            .unwrap()
    };
    let o = cli("1h30m");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = cli("30");
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("must be a duration with a unit"), "{err}");

    let sv = Serve::start(&dir);
    let body = json!({ "rule": "breaker", "duration": "1h30m", "reason": "deploy" });
    let (code, made) = sv.api("POST", "/api/silences", body);
    assert_eq!(code, 201, "{made}");
    let (code, bad) = sv.api(
        "POST",
        "/api/silences",
        json!({ "rule": "breaker", "duration": "30" }),
    );
    assert_eq!(code, 400, "{bad}");
    assert_eq!(bad["error"]["fields"][0]["field"], "duration", "{bad}");

    let (code, alerts) = sv.api("GET", "/api/alerts", Value::Null);
    assert_eq!(code, 200, "{alerts}");
    let silenced = alerts["silenced"].as_array().unwrap();
    assert_eq!(silenced.len(), 2, "the CLI's and the API's: {alerts}");
    for s in silenced {
        let at = |k: &str| chrono::DateTime::parse_from_rfc3339(s[k].as_str().unwrap()).unwrap();
        assert_eq!(
            at("ends_at") - at("starts_at"),
            chrono::Duration::minutes(90),
            "{s}"
        );
    }
}
