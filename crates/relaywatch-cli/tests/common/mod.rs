//! Shared parts of the daemon tests: a loopback HTTP receiver that counts what it gets and
//! answers as a platform does, and `relaywatch run` processes with their config, health and
//! signals. Rule: only 127.0.0.1 is ever connected to; every process dies with its guard.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Got {
    pub path: String,
    pub body: String,
    pub at: Instant,
}

/// An HTTP/1.1 receiver on 127.0.0.1 answering every request with `status` and `reply`.
pub struct Receiver {
    pub port: u16,
    got: Arc<Mutex<Vec<Got>>>,
}

impl Receiver {
    pub fn start(status: u16, reply: &'static str) -> Receiver {
        Receiver::start_on(0, status, reply)
    }

    /// The same on a given port (0: any free one), e.g. a receiver coming back after an outage.
    pub fn start_on(port: u16, status: u16, reply: &'static str) -> Receiver {
        let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let got = Arc::new(Mutex::new(Vec::new()));
        let seen = got.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let seen = seen.clone();
                std::thread::spawn(move || serve(stream, &seen, status, reply));
            }
        });
        Receiver { port, got }
    }

    /// WeCom's success answer.
    pub fn wecom() -> Receiver {
        Receiver::start(200, r#"{"errcode":0,"errmsg":"ok"}"#)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn got(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }

    pub fn count(&self) -> usize {
        self.got.lock().unwrap().len()
    }

    /// Waits until `pred` holds over what was received, up to `within`.
    pub fn wait_for(&self, within: Duration, pred: impl Fn(&[Got]) -> bool) -> bool {
        let deadline = Instant::now() + within;
        loop {
            if pred(&self.got()) {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn serve(mut stream: TcpStream, seen: &Mutex<Vec<Got>>, status: u16, reply: &str) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let path = request_line
            .split_whitespace()
            .nth(1)
            .unwrap_or("")
            .to_string();
        let mut len = 0usize;
        let mut close = false;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            if line == "\r\n" {
                break;
            }
            let lower = line.to_ascii_lowercase();
            if let Some(v) = lower.strip_prefix("content-length:") {
                len = v.trim().parse().unwrap_or(0);
            }
            if lower.starts_with("connection:") && lower.contains("close") {
                close = true;
            }
        }
        let mut body = vec![0; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        seen.lock().unwrap().push(Got {
            path,
            body: String::from_utf8_lossy(&body).into_owned(),
            at: Instant::now(),
        });
        let _ = write!(
            stream,
            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{reply}",
            reply.len()
        );
        if close {
            return;
        }
    }
}

/// A free loopback port (bound and released; fine for tests).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A folder for one test's files.
pub fn test_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rw-daemon-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A running `relaywatch run`, killed when dropped.
pub struct Daemon {
    pub child: Child,
    pub health: u16,
    pub log: PathBuf,
}

impl Daemon {
    /// Starts `relaywatch run --config <dir>/relaywatch.toml` with /health on a free port.
    pub fn start(dir: &PathBuf, name: &str, env: &[(&str, String)]) -> Daemon {
        Daemon::start_with(dir, name, env, &[])
    }

    /// The same with more arguments after `run`'s own (e.g. `--log-format json`).
    pub fn start_with(dir: &PathBuf, name: &str, env: &[(&str, String)], args: &[&str]) -> Daemon {
        let health = free_port();
        let log = dir.join(format!("{name}.log"));
        let mut c = Command::new(env!("CARGO_BIN_EXE_relaywatch"));
        c.arg("run")
            .arg("--config")
            .arg(dir.join("relaywatch.toml"))
            .arg("--health-bind")
            .arg(format!("127.0.0.1:{health}"))
            .args(args)
            .env_clear()
            .env("HOME", dir)
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RELAYWATCH_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        for (k, v) in env {
            c.env(k, v);
        }
        let child = c.spawn().unwrap();
        let d = Daemon { child, health, log };
        d.wait_healthy(Duration::from_secs(20));
        d
    }

    /// `GET /health` as JSON, `None` when it does not answer.
    pub fn health(&self) -> Option<serde_json::Value> {
        let mut s = TcpStream::connect(("127.0.0.1", self.health)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        write!(
            s,
            "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .ok()?;
        let mut buf = String::new();
        s.read_to_string(&mut buf).ok()?;
        let (_, body) = buf.split_once("\r\n\r\n")?;
        serde_json::from_str(body.trim()).ok()
    }

    pub fn wait_healthy(&self, within: Duration) {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if self.health().is_some_and(|h| h["redis"] == "up") {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "relaywatch run did not become healthy:\n{}",
            self.log_text()
        );
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn signal(&self, sig: i32) {
        unsafe {
            libc::kill(self.child.id() as i32, sig);
        }
    }

    /// SIGTERM and wait for the exit status (up to 20 s).
    pub fn terminate(mut self) -> Option<i32> {
        self.signal(libc::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(st)) = self.child.try_wait() {
                return st.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fire time at a whole minute between 6 and 66 s from now, and the UTC cron that fires at it
/// (once a day), for tests that wait for a scheduled report.
pub fn next_minute_cron() -> (String, chrono::DateTime<chrono::Utc>) {
    use chrono::Timelike;
    let now = chrono::Utc::now();
    let fire = (now + chrono::Duration::seconds(66))
        .with_second(0)
        .unwrap()
        .with_nanosecond(0)
        .unwrap();
    (format!("{} {} * * *", fire.minute(), fire.hour()), fire)
}

/// The head every daemon test config starts with: the built-in demo relay, relaywatch's state
/// in `db`, loopback receivers allowed over plain HTTP. Tests append their own tables.
pub fn demo_config(db: &str) -> String {
    format!(
        r#"
[source]
kind = "demo"
[state]
redis_url = "{db}"
[network]
allow = ["127.0.0.0/8"]
allow_http = true
"#
    )
}

/// An error burst XADDed to relaywatch's event stream in one MULTI/EXEC, so no instance reads
/// part of it: `n` upstream 502s from `provider`, key ids cycling over `keys` distinct keys,
/// each event carrying the `extra` fields too.
pub fn push_errors(db: &str, n: usize, provider: &str, keys: usize, extra: &[(&str, &str)]) {
    let mut con = redis::Client::open(db).unwrap().get_connection().unwrap();
    let mut pipe = redis::pipe();
    pipe.atomic();
    let now = chrono::Utc::now().timestamp_millis();
    for i in 0..n {
        let cmd = pipe.cmd("XADD").arg("relaywatch:events").arg("*");
        cmd.arg("ts").arg(now).arg("status_code").arg(502);
        cmd.arg("provider_id").arg(provider);
        for (k, v) in extra {
            cmd.arg(*k).arg(*v);
        }
        cmd.arg("key_id")
            .arg(format!("key-{}", i % keys.max(1)))
            .ignore();
    }
    pipe.exec(&mut con).unwrap();
}

/// A current-thread runtime for the async PostgreSQL helpers of the testkit.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The error-rate firing messages a generic-webhook receiver got.
pub fn error_rate_firings(rx: &Receiver) -> usize {
    rx.got()
        .iter()
        .filter_map(|g| serde_json::from_str::<serde_json::Value>(&g.body).ok())
        .filter(|v| v["kind"] == "error_rate" && v["state"] == "firing")
        .count()
}
