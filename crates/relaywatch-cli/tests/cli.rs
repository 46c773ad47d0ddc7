//! The `relaywatch` binary as a user runs it: demo report, snapshot JSON, real Redis, bad input.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use relaywatch_testkit::{fresh_db, ApiKeySpec, CrsWriter, UsageEvent};

fn relaywatch(args: &[&str]) -> Output {
    relaywatch_env(args, &[])
}

/// Run with a clean environment: no user config, no seed variables leaking in.
fn relaywatch_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let home = std::env::temp_dir().join(format!("rw-home-{}", std::process::id()));
    let mut c = Command::new(env!("CARGO_BIN_EXE_relaywatch"));
    c.args(args)
        .env_clear()
        .env("HOME", &home)
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run relaywatch")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("rw-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn png_size(path: &Path) -> (u32, u32) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let reader = decoder.read_info().unwrap();
    let info = reader.info();
    (info.width, info.height)
}

#[test]
fn demo_report_writes_every_file() {
    let out = temp_dir("demo");
    let o = relaywatch(&[
        "report",
        "--once",
        "--demo",
        "--at",
        "2026-11-22T12:00:00+08:00",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    for stem in ["overview", "models", "trend", "top-keys"] {
        let png = out.join(format!("{stem}.png"));
        assert_eq!(png_size(&png), (800, 400), "{stem}.png");
        let svg = std::fs::read_to_string(out.join(format!("{stem}.svg"))).unwrap();
        assert!(
            svg.starts_with("<svg") || svg.starts_with("<?xml"),
            "{stem}.svg"
        );
    }
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        md.contains("研发部-主力"),
        "Chinese key names reach the report"
    );
    let snap: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("snapshot.json")).unwrap()).unwrap();
    assert_eq!(snap["source"], "demo");
    assert_eq!(snap["today"], "2026-11-22");
    assert_eq!(snap["trend"].as_array().unwrap().len(), 7);
    assert_eq!(snap["top_keys"].as_array().unwrap().len(), 10);
}

#[test]
fn report_in_chinese_and_dark_theme_from_env() {
    let out = temp_dir("zh");
    let o = relaywatch_env(
        &[
            "report",
            "--once",
            "--demo",
            "--lang",
            "zh-CN",
            "--out",
            out.to_str().unwrap(),
        ],
        &[
            ("DASHBOARD_CHART_THEME", "dark"),
            ("DASHBOARD_CHART_WIDTH", "1000"),
            ("DASHBOARD_CHART_HEIGHT", "500"),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("中转服务仪表盘报告"), "{md}");
    assert_eq!(png_size(&out.join("trend.png")), (1000, 500));
}

#[test]
fn snapshot_json_is_reproducible_with_at() {
    let args = [
        "snapshot",
        "--demo",
        "--json",
        "--days",
        "14",
        "--top",
        "5",
        "--at",
        "2026-11-21T09:00:00+08:00",
    ];
    let a = relaywatch(&args);
    let b = relaywatch(&args);
    assert!(a.status.success(), "{}", stderr(&a));
    assert_eq!(a.stdout, b.stdout, "same moment, same snapshot");
    let v: serde_json::Value = serde_json::from_slice(&a.stdout).unwrap();
    assert_eq!(v["generated_at"], "2026-11-21T09:00:00+08:00");
    assert_eq!(v["trend"].as_array().unwrap().len(), 14);
    assert_eq!(v["top_keys"].as_array().unwrap().len(), 5);
    for field in [
        "api_keys",
        "accounts",
        "usage_today",
        "usage_total",
        "realtime",
        "models",
        "key_limits",
    ] {
        assert!(!v[field].is_null(), "{field} present");
    }
    for f in [
        "requests",
        "input_tokens",
        "output_tokens",
        "cache_create_tokens",
        "cache_read_tokens",
        "all_tokens",
        "cost_usd",
    ] {
        assert!(v["usage_today"][f].is_number(), "usage_today.{f}");
    }
}

#[test]
fn snapshot_reads_a_real_crs_redis() {
    let url = fresh_db();
    let now = chrono::Utc::now();
    let mut w = CrsWriter::connect(&url);
    w.api_key(&ApiKeySpec::new(
        "k-1",
        "cli-key",
        now - chrono::Duration::days(2),
    ));
    w.usage(
        &UsageEvent::new("k-1", "claude-sonnet-4-5-20250929", now)
            .tokens(1000, 100, 0, 0)
            .cost(0.0045, 0.0045),
    );
    w.flush();
    let o = relaywatch(&["snapshot", "--redis", &url, "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["source"], "crs");
    assert_eq!(v["api_keys"]["total"], 1);
    assert_eq!(v["usage_today"]["requests"], 1);
    assert_eq!(v["top_keys"][0]["name"], "cli-key");
}

#[test]
fn unreachable_redis_is_one_line_exit_2_password_masked() {
    let started = Instant::now();
    let o = relaywatch(&[
        "snapshot",
        "--redis",
        "redis://:topsecret@127.0.0.1:1/0",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("redis://***@127.0.0.1:1/0"), "{err}");
    assert!(!err.contains("topsecret"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(6));
}

#[test]
fn invalid_config_names_field_value_and_range() {
    let dir = temp_dir("cfg");
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("relaywatch.toml");
    std::fs::write(&cfg, "[report]\ntrend_days = 45\nchart_theme = \"light\"\n").unwrap();
    let o = relaywatch(&["check-config", "--config", cfg.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3));
    let err = stderr(&o);
    assert!(
        err.contains("`report.trend_days` = 45: must be between 1 and 30"),
        "{err}"
    );

    let o = relaywatch_env(
        &["snapshot", "--demo", "--json"],
        &[("DASHBOARD_TOP_API_KEYS", "99")],
    );
    assert_eq!(o.status.code(), Some(3));
    assert!(
        stderr(&o).contains("DASHBOARD_TOP_API_KEYS"),
        "{}",
        stderr(&o)
    );

    let o = relaywatch(&["snapshot", "--demo", "--days", "0"]);
    assert_eq!(o.status.code(), Some(3));
    assert!(stderr(&o).contains("report.trend_days"), "{}", stderr(&o));

    let o = relaywatch(&["snapshot", "--demo", "--at", "yesterday"]);
    assert_eq!(o.status.code(), Some(3));
    assert!(stderr(&o).contains("--at"), "{}", stderr(&o));
}

#[test]
fn check_config_masks_the_redis_password() {
    let dir = temp_dir("mask");
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("relaywatch.toml");
    std::fs::write(
        &cfg,
        "[source]\nredis_url = \"redis://:s3cr3t-pass@10.1.2.3:6379/1\"\n",
    )
    .unwrap();
    let o = relaywatch(&["check-config", "--config", cfg.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("redis://***@10.1.2.3:6379/1"), "{out}");
    assert!(!out.contains("s3cr3t"), "{out}");
}

#[test]
fn every_command_has_help() {
    for cmd in [
        vec!["--help"],
        vec!["snapshot", "--help"],
        vec!["report", "--help"],
        vec!["check-config", "--help"],
    ] {
        let o = relaywatch(&cmd);
        assert!(o.status.success(), "{cmd:?}");
        assert!(
            String::from_utf8_lossy(&o.stdout).contains("Usage"),
            "{cmd:?}"
        );
    }
}

/// `relaywatch silence add --for 1h30m` ends 90 minutes after it starts, as the same silence
/// from the web UI or the desktop does (one grammar); a bare number is refused with the hint.
#[test]
fn silence_for_1h30m_ends_ninety_minutes_later() {
    let db = fresh_db();
    let dir = temp_dir("silence");
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("relaywatch.toml");
    std::fs::write(&cfg, format!("[state]\nredis_url = \"{db}\"\n")).unwrap();
    let cfg = cfg.to_str().unwrap();
    let add = |d: &str| {
        let args = ["silence", "add", "--config", cfg, "--rule", "breaker"];
        relaywatch(&[&args[..], &["--for", d, "--reason", "deploy"]].concat())
    };
    let o = add("1h30m");
    assert!(o.status.success(), "{}", stderr(&o));
    let o = relaywatch(&["silence", "list", "--config", cfg, "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let s = &v["silences"][0];
    let at = |k: &str| chrono::DateTime::parse_from_rfc3339(s[k].as_str().unwrap()).unwrap();
    assert_eq!(
        at("ends_at") - at("starts_at"),
        chrono::Duration::minutes(90)
    );
    let o = add("30");
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("must be a duration with a unit"),
        "{}",
        stderr(&o)
    );
}
