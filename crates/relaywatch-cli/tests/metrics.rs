//! `/metrics` and the JSON log end to end: `relaywatch run` on a real redis-server delivers a
//! scheduled report and an error-rate alert to a loopback receiver; its `/metrics` parses
//! strictly in both text formats, keeps its labels bounded and holds no secret; a real
//! Prometheus (Debian's `prometheus`, installed by `scripts/setup --deps`) scrapes it every
//! second on loopback and its query API returns the series with sensible values; `serve`
//! answers `/metrics` openly; `--log-format json` and `[log] format = "json"` give JSON lines.
//! Rule: only 127.0.0.1 is connected to; every process dies with its guard.

#[path = "common/mod.rs"]
mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{free_port, test_dir, Daemon, Receiver};
use relaywatch_core::secrets::assert_no_secret_in;
use relaywatch_testkit::RedisServer;

/// The path part of the webhook URL stands for a platform token: it must never show.
const URL_TOKEN: &str = "T0METRICS/B0METRICS/metricsPathToken42";
const SIGNING: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn config(db: &str, extra: &str) -> String {
    let head = common::demo_config(db);
    format!(
        r#"{extra}{head}[events]
claim_idle_seconds = 2
[rules.error_rate]
window_seconds = 60
threshold = 5
dimensions = ["global"]
[rules.quota]
enabled = false
[schedules.metrics-report]
cron = "* * * * *"
tz = "UTC"
kind = "report"

[[channels]]
name = "ops-hook"
type = "generic"
url = {{ env = "RW_GENERIC" }}
secret = {{ env = "RW_SIGNING" }}
"#
    )
}

/// A daemon whose schedule fires at start (a fire less than a minute old counts on a first
/// start) and whose channel posts to `rx`.
fn daemon(name: &str, rx: &Receiver, extra_config: &str, args: &[&str]) -> (Daemon, String) {
    let db = RedisServer::shared().fresh_db();
    let dir = test_dir(&format!("metrics-{name}"));
    std::fs::write(dir.join("relaywatch.toml"), config(&db, extra_config)).unwrap();
    let env = [
        ("RW_GENERIC", rx.url(&format!("/hooks/{URL_TOKEN}"))),
        ("RW_SIGNING", SIGNING.to_string()),
    ];
    (Daemon::start_with(&dir, name, &env, args), db)
}

/// Waits until the receiver has the report and the error-rate firing.
fn wait_for_report_and_alert(rx: &Receiver, d: &Daemon) {
    let kinds = |g: &[common::Got]| -> Vec<String> {
        g.iter()
            .filter_map(|g| serde_json::from_str::<serde_json::Value>(&g.body).ok())
            .map(|v| format!("{}:{}", v["kind"], v["state"]))
            .collect()
    };
    let ok = rx.wait_for(Duration::from_secs(30), |g| {
        let k = kinds(g);
        k.iter().any(|k| k.starts_with("\"report\""))
            && k.iter().any(|k| k == "\"error_rate\":\"firing\"")
    });
    assert!(
        ok,
        "no report and firing yet: {:?}\n{}",
        kinds(&rx.got()),
        d.log_text()
    );
}

/// One GET on loopback; returns status, content type and body.
fn get(port: u16, path: &str, host: &str, accept: Option<&str>) -> (u16, String, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let accept = accept
        .map(|a| format!("Accept: {a}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\n{accept}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, rest) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let lower = head.to_ascii_lowercase();
    let ctype = lower
        .lines()
        .find_map(|l| {
            l.strip_prefix("content-type:")
                .map(|v| v.trim().to_string())
        })
        .unwrap_or_default();
    let body = if lower.contains("transfer-encoding: chunked") {
        dechunk(rest)
    } else {
        rest.to_string()
    };
    (status, ctype, body)
}

fn dechunk(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
    out
}

/// One sample of an exposition.
#[derive(Debug, Clone)]
struct Sample {
    name: String,
    labels: Labels,
    value: f64,
}

fn is_name(s: &str) -> bool {
    let mut b = s.bytes();
    matches!(b.next(), Some(c) if c.is_ascii_alphabetic() || c == b'_' || c == b':')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b':')
}

type Labels = Vec<(String, String)>;

/// `name="value",…` up to the closing brace; returns the pairs and what follows the brace.
fn parse_labels(mut s: &str) -> Result<(Labels, &str), String> {
    let mut out = Vec::new();
    loop {
        if let Some(rest) = s.strip_prefix('}') {
            return Ok((out, rest));
        }
        let (name, rest) = s.split_once("=\"").ok_or("label without =\"")?;
        if !is_name(name) {
            return Err(format!("bad label name {name:?}"));
        }
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            match chars.next().ok_or("unterminated label value")? {
                (i, '"') => break i,
                (_, '\\') => match chars.next().ok_or("dangling escape")?.1 {
                    'n' => value.push('\n'),
                    c @ ('\\' | '"') => value.push(c),
                    c => return Err(format!("bad escape \\{c}")),
                },
                (_, c) => value.push(c),
            }
        };
        out.push((name.to_string(), value));
        s = &rest[end + 1..];
        s = s.strip_prefix(',').unwrap_or(s);
    }
}

/// Parses an exposition strictly (every line a comment of a known kind or a sample whose
/// name, labels and value are well formed; OpenMetrics ends with one `# EOF`).
fn parse_exposition(body: &str, openmetrics: bool) -> Result<Vec<Sample>, String> {
    let mut lines: Vec<&str> = body.lines().collect();
    if openmetrics && lines.pop() != Some("# EOF") {
        return Err("OpenMetrics text must end with # EOF".into());
    }
    let mut samples = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let bad = |why: String| format!("line {}: {why}: {line:?}", i + 1);
        if let Some(c) = line.strip_prefix("# ") {
            let mut parts = c.splitn(3, ' ');
            let kind = parts.next().unwrap_or("");
            let name = parts.next().unwrap_or("");
            if !["HELP", "TYPE", "UNIT"].contains(&kind) || !is_name(name) {
                return Err(bad("unknown comment".into()));
            }
            continue;
        }
        let name_end = line
            .find(['{', ' '])
            .ok_or_else(|| bad("no value".into()))?;
        let name = &line[..name_end];
        if !is_name(name) {
            return Err(bad("bad metric name".into()));
        }
        let (labels, rest) = match line[name_end..].strip_prefix('{') {
            Some(l) => parse_labels(l).map_err(bad)?,
            None => (Vec::new(), &line[name_end..]),
        };
        let value = rest
            .strip_prefix(' ')
            .and_then(|v| v.split(' ').next())
            .and_then(|v| v.parse::<f64>().ok())
            .ok_or_else(|| bad("bad value".into()))?;
        samples.push(Sample {
            name: name.to_string(),
            labels,
            value,
        });
    }
    Ok(samples)
}

fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.iter().any(|(a, b)| a == k && b == v))
        })
        .map(|s| s.value)
}

/// Every label is one of the bounded kinds, with a value of its closed set or a config name.
fn assert_bounded_labels(samples: &[Sample]) {
    for s in samples {
        for (k, v) in &s.labels {
            let ok = match k.as_str() {
                "channel" => v == "ops-hook" || v == "other",
                "schedule" => v == "metrics-report" || v == "other",
                "outcome" => ["delivered", "retry", "dead", "failed"].contains(&v.as_str()),
                "rule" => ["error_rate", "breaker", "quota", "leaderboard", "report"]
                    .contains(&v.as_str()),
                "source" => v == "demo" || v == "crs",
                "version" => v == env!("CARGO_PKG_VERSION"),
                "le" => v == "+Inf" || v.parse::<f64>().is_ok(),
                _ => false,
            };
            assert!(ok, "unexpected label {k}={v:?} on {}", s.name);
        }
    }
}

#[test]
fn metrics_parse_in_both_formats_with_bounded_labels_and_no_secret() {
    let rx = Receiver::start(200, "{}");
    let (d, db) = daemon("plain", &rx, "", &[]);
    common::push_errors(&db, 12, "3", 12, &[]);
    wait_for_report_and_alert(&rx, &d);

    let (status, ctype, text) = get(d.health, "/metrics", "127.0.0.1", None);
    assert_eq!(status, 200, "{text}");
    assert!(ctype.starts_with("text/plain; version=0.0.4"), "{ctype}");
    let samples = parse_exposition(&text, false).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let accept = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5";
    let (status, ctype, om) = get(d.health, "/metrics", "127.0.0.1", Some(accept));
    assert_eq!(status, 200);
    assert!(ctype.starts_with("application/openmetrics-text"), "{ctype}");
    let om_samples = parse_exposition(&om, true).unwrap_or_else(|e| panic!("{e}\n{om}"));

    for (body, s) in [(&text, &samples), (&om, &om_samples)] {
        assert_bounded_labels(s);
        for secret in [URL_TOKEN, SIGNING, "metricsPathToken42", &rx.url("/hooks")] {
            assert_no_secret_in(body, secret);
        }
        let delivered = [("channel", "ops-hook"), ("outcome", "delivered")];
        assert!(
            value(s, "relaywatch_deliveries_total", &delivered).unwrap_or(0.0) >= 1.0,
            "{body}"
        );
        // Every outcome of a configured channel is there from the start, at 0 until used.
        let failed = [("channel", "ops-hook"), ("outcome", "failed")];
        assert_eq!(value(s, "relaywatch_deliveries_total", &failed), Some(0.0));
        let firing = [("rule", "error_rate")];
        assert!(value(s, "relaywatch_rule_firings_total", &firing).unwrap_or(0.0) >= 1.0);
        assert_eq!(
            value(s, "relaywatch_state_redis_up", &[]),
            Some(1.0),
            "{body}"
        );
        assert!(value(s, "relaywatch_events_consumed_total", &[]).unwrap_or(0.0) >= 12.0);
        assert!(value(s, "relaywatch_snapshot_age_seconds", &[]).is_some_and(|a| a < 120.0));
        let count = [("channel", "ops-hook")];
        let n = value(s, "relaywatch_delivery_duration_seconds_count", &count);
        assert!(n.unwrap_or(0.0) >= 1.0, "{body}");
    }
    // Only the health address's paths are served there: /metrics needs no token.
    assert_eq!(get(d.health, "/metrics", "evil.example", None).0, 200);
    assert_eq!(d.terminate(), Some(0));
}

// ---- a real Prometheus ----------------------------------------------------------------------

/// `prometheus` on PATH (or Debian's /usr/bin), else a failure that says how to install it.
fn prometheus_binary() -> PathBuf {
    let path = std::env::var("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin")])
        .map(|d| d.join("prometheus"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "the Prometheus test needs the `prometheus` binary (Debian's prometheus \
                 package): run scripts/setup --deps, which installs it"
            )
        })
}

/// A Prometheus on a free loopback port scraping `target` every second; killed when dropped.
struct Prometheus {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Prometheus {
    fn start(dir: &Path, target: u16) -> Prometheus {
        let bin = prometheus_binary();
        let port = free_port();
        let cfg = dir.join("prometheus.yml");
        std::fs::write(
            &cfg,
            format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
                 scrape_configs:\n  - job_name: relaywatch\n    static_configs:\n      \
                 - targets: ['127.0.0.1:{target}']\n"
            ),
        )
        .unwrap();
        let child = Command::new(bin)
            .arg(format!("--config.file={}", cfg.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("tsdb").display()
            ))
            .arg("--log.level=warn")
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("prometheus.log")).unwrap())
            .spawn()
            .unwrap();
        let p = Prometheus {
            child,
            port,
            dir: dir.to_path_buf(),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if TcpStream::connect(("127.0.0.1", port)).is_ok()
                && get(port, "/-/ready", "127.0.0.1", None).0 == 200
            {
                return p;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("prometheus did not become ready:\n{}", p.log());
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("prometheus.log")).unwrap_or_default()
    }

    /// The first value of an instant query, `None` while it has no result.
    fn query(&self, q: &str) -> Option<f64> {
        let encoded: String = q
            .bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'-' | b'.' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect();
        let (status, _, body) = get(
            self.port,
            &format!("/api/v1/query?query={encoded}"),
            "127.0.0.1",
            None,
        );
        assert_eq!(status, 200, "query {q}: {body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["status"], "success", "{body}");
        v["data"]["result"][0]["value"][1]
            .as_str()
            .and_then(|s| s.parse().ok())
    }

    /// Polls `q` until its value satisfies `ok` (60 s at most); returns the last value.
    fn wait(&self, q: &str, what: &str, ok: impl Fn(f64) -> bool) -> f64 {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut last = None;
        while Instant::now() < deadline {
            last = self.query(q);
            if let Some(v) = last.filter(|v| ok(*v)) {
                eprintln!("Prometheus: {q} = {v}");
                return v;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        panic!(
            "Prometheus: `{q}` is {last:?}, expected {what}\n{}",
            self.log()
        );
    }
}

#[test]
fn a_real_prometheus_scrapes_the_daemon_and_reads_the_series_back() {
    let bin = prometheus_binary();
    let rx = Receiver::start(200, "{}");
    let (d, db) = daemon("prometheus", &rx, "", &[]);
    common::push_errors(&db, 12, "3", 12, &[]);
    wait_for_report_and_alert(&rx, &d);
    let dir = test_dir("metrics-prometheus-tsdb");
    let p = Prometheus::start(&dir, d.health);
    eprintln!("scraping with {}", bin.display());

    p.wait(r#"up{job="relaywatch"}"#, "1 (scraped and parsed)", |v| {
        v == 1.0
    });
    let delivered = r#"relaywatch_deliveries_total{channel="ops-hook",outcome="delivered"}"#;
    p.wait(delivered, ">= 2 (report and alert)", |v| v >= 2.0);
    p.wait(
        r#"relaywatch_rule_firings_total{rule="error_rate"}"#,
        ">= 1",
        |v| v >= 1.0,
    );
    p.wait(
        r#"relaywatch_rule_firings_total{rule="report"}"#,
        ">= 1",
        |v| v >= 1.0,
    );
    p.wait(
        r#"relaywatch_schedule_fires_total{schedule="metrics-report"}"#,
        ">= 1",
        |v| v >= 1.0,
    );
    p.wait(
        r#"relaywatch_rule_evaluations_total{rule="error_rate"}"#,
        ">= 1",
        |v| v >= 1.0,
    );
    p.wait("relaywatch_state_redis_up", "1", |v| v == 1.0);
    p.wait("relaywatch_outbox_depth", "0 after delivery", |v| v == 0.0);
    p.wait("relaywatch_outbox_dead_letters", "0", |v| v == 0.0);
    p.wait(
        r#"relaywatch_delivery_duration_seconds_count{channel="ops-hook"}"#,
        ">= 2",
        |v| v >= 2.0,
    );
    p.wait(
        r#"relaywatch_delivery_duration_seconds_sum{channel="ops-hook"}"#,
        "between 0 and 60 s",
        |v| (0.0..60.0).contains(&v),
    );
    p.wait("relaywatch_events_consumed_total", ">= 12", |v| v >= 12.0);
    p.wait("relaywatch_events_stream_lag_seconds", "< 30 s", |v| {
        (0.0..30.0).contains(&v)
    });
    p.wait("relaywatch_snapshot_age_seconds", "< 120 s", |v| {
        (0.0..120.0).contains(&v)
    });
    p.wait(
        r#"relaywatch_snapshot_duration_seconds_count{source="demo"}"#,
        ">= 1",
        |v| v >= 1.0,
    );
    p.wait(r#"relaywatch_build_info{version!=""}"#, "1", |v| v == 1.0);
    drop(p);
    assert_eq!(d.terminate(), Some(0));
}

// ---- serve ----------------------------------------------------------------------------------

#[test]
fn serve_answers_metrics_without_a_token_under_any_host() {
    let dir = test_dir("metrics-serve");
    std::fs::write(dir.join("relaywatch.toml"), "[source]\nkind = \"demo\"\n").unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_relaywatch"))
        .args(["serve", "--log-format", "json", "--config"])
        .arg(dir.join("relaywatch.toml"))
        .args(["--bind", "127.0.0.1:0"])
        .env_clear()
        .env("HOME", &dir)
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RELAYWATCH_NO_KEYCHAIN", "1")
        .env("RELAYWATCH_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(dir.join("serve.log")).unwrap())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.split_whitespace().find(|w| w.starts_with("http://"));
    let (base, token) = url.and_then(|u| u.split_once("/#token=")).unwrap();
    let port: u16 = base.rsplit(':').next().unwrap().parse().unwrap();
    let token = token.trim().to_string();

    // The dashboard refresh at start takes a snapshot; /metrics shows it.
    let deadline = Instant::now() + Duration::from_secs(30);
    let samples = loop {
        let (status, _, body) = get(port, "/metrics", "evil.example", None);
        assert_eq!(status, 200, "{body}");
        assert_no_secret_in(&body, &token);
        let s = parse_exposition(&body, false).unwrap_or_else(|e| panic!("{e}\n{body}"));
        let snap = [("source", "demo")];
        if value(&s, "relaywatch_snapshot_duration_seconds_count", &snap).is_some() {
            break s;
        }
        assert!(Instant::now() < deadline, "no snapshot metrics:\n{body}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(value(&samples, "relaywatch_snapshot_age_seconds", &[]).is_some());
    // The API under that Host is refused; /metrics is not the API.
    assert_eq!(get(port, "/api/status", "evil.example", None).0, 403);
    let _ = child.kill();
    let _ = child.wait();
    let log = std::fs::read_to_string(dir.join("serve.log")).unwrap();
    assert_no_secret_in(&log, &token);
    assert_json_lines(&log, 1);
}

// ---- structured logs --------------------------------------------------------------------------

/// Every line is one JSON object with time, level, target, message and fields;
/// at least `min` lines.
fn assert_json_lines(log: &str, min: usize) -> Vec<serde_json::Value> {
    let lines: Vec<serde_json::Value> = log
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}\n{log}")))
        .collect();
    assert!(lines.len() >= min, "{} lines:\n{log}", lines.len());
    for v in &lines {
        assert!(v["time"].as_str().is_some_and(|t| t.contains('T')), "{v}");
        assert!(
            ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"]
                .contains(&v["level"].as_str().unwrap_or("")),
            "{v}"
        );
        assert!(v["target"].as_str().is_some_and(|t| !t.is_empty()), "{v}");
        assert!(v["message"].is_string(), "{v}");
        assert!(v["fields"].is_object(), "{v}");
    }
    lines
}

#[test]
fn run_logs_json_lines_by_flag_or_config_and_the_flag_wins() {
    let rx = Receiver::start(200, "{}");
    let (d, db) = daemon("json-flag", &rx, "", &["--log-format", "json"]);
    common::push_errors(&db, 12, "3", 12, &[]);
    wait_for_report_and_alert(&rx, &d);
    let log = d.log.clone();
    assert_eq!(d.terminate(), Some(0));
    let text = std::fs::read_to_string(&log).unwrap();
    let lines = assert_json_lines(&text, 3);
    let messages: Vec<&str> = lines.iter().filter_map(|v| v["message"].as_str()).collect();
    assert!(
        messages.iter().any(|m| m.contains("health on http://")),
        "{text}"
    );
    assert!(messages.iter().any(|m| m.contains("error_rate")), "{text}");
    assert!(messages.iter().any(|m| m.ends_with(": stopped")), "{text}");
    assert!(lines.iter().any(|v| v["target"] != "relaywatch"), "{text}");
    for secret in [URL_TOKEN, SIGNING] {
        assert_no_secret_in(&text, secret);
    }

    let (d, _) = daemon("json-config", &rx, "[log]\nformat = \"json\"\n", &[]);
    let log = d.log.clone();
    assert_eq!(d.terminate(), Some(0));
    assert_json_lines(&std::fs::read_to_string(&log).unwrap(), 2);

    let json_config = "[log]\nformat = \"json\"\n";
    let (d, _) = daemon("json-text", &rx, json_config, &["--log-format", "text"]);
    let log = d.log.clone();
    assert_eq!(d.terminate(), Some(0));
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.lines()
            .any(|l| l.starts_with("relaywatch ") && l.contains("health on")),
        "{text}"
    );
    assert!(
        text.lines()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_err()),
        "{text}"
    );
}
