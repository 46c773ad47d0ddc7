//! The `relaywatch` binary on Claude Code Hub and EZ-API, as an operator runs it against a real
//! PostgreSQL: `check-config` masks the database password, `snapshot --json --at` answers the
//! CCH contract, `rules dry-run leaderboard|quota` and `rules replay` print JSON, and bad input
//! is refused by name.

use std::process::{Command, Output};

use chrono::Utc;
use relaywatch_testkit::cch::{create_cch_schema, seed_demo_hub};
use relaywatch_testkit::ezapi::{create_log_records, insert_log_records, LogRecordRow};
use relaywatch_testkit::pg::{connect, PgServer};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn relaywatch(args: &[&str], config: &str, env: &[(&str, &str)]) -> Output {
    let dir = std::env::temp_dir().join(format!(
        "rw-relays-{}-{}",
        std::process::id(),
        args.join("-").len()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("relaywatch-{}.toml", config.len()));
    std::fs::write(&path, config).unwrap();
    let mut c = Command::new(env!("CARGO_BIN_EXE_relaywatch"));
    c.args(args)
        .arg("--config")
        .arg(&path)
        .env_clear()
        .env("HOME", &dir)
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run relaywatch")
}

fn json(o: &Output) -> serde_json::Value {
    assert!(
        o.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

/// CCH's database, with its password in the URL (a role the tests' trust auth ignores).
fn cch_url(rt: &tokio::runtime::Runtime) -> String {
    rt.block_on(async {
        let url = PgServer::shared().fresh_database().await;
        let client = connect(&url).await;
        create_cch_schema(&client).await.unwrap();
        seed_demo_hub(&client, Utc::now()).await.unwrap();
        url.replace("postgres@", "postgres:Hub5ecretPw@")
    })
}

#[test]
fn cch_from_the_command_line() {
    let rt = rt();
    let url = cch_url(&rt);
    let cfg = format!("[source]\nkind = \"cch\"\ndatabase_url = \"{url}\"\n");
    let o = relaywatch(&["check-config"], &cfg, &[]);
    let out = String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{out}");
    assert!(!out.contains("Hub5ecretPw"), "{out}");
    assert!(out.contains("***@127.0.0.1"), "{out}");

    cch_snapshot(&cfg);
    cch_text_and_report(&cfg);
    cch_dry_runs(&cfg);
    cch_refusals(&cfg);
}

/// `snapshot --json` reads the hub: usage, providers, top users, a one-minute window.
fn cch_snapshot(cfg: &str) {
    let at = Utc::now().to_rfc3339();
    let s = json(&relaywatch(&["snapshot", "--json", "--at", &at], cfg, &[]));
    assert_eq!(s["source"], "cch");
    assert!(s["usage_total"]["requests"].as_u64().unwrap() > 0);
    assert!(
        s["providers"].as_array().is_some_and(|p| !p.is_empty()),
        "{s}"
    );
    assert!(
        s["top_users"].as_array().is_some_and(|p| !p.is_empty()),
        "{s}"
    );
    assert_eq!(s["realtime"]["window_minutes"], 1);
}

/// The text snapshot and a one-shot report into a folder.
fn cch_text_and_report(cfg: &str) {
    let text = relaywatch(&["snapshot"], cfg, &[]);
    assert!(
        text.status.success(),
        "{}",
        String::from_utf8_lossy(&text.stderr)
    );
    let out_dir = std::env::temp_dir().join(format!("rw-cch-report-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out_dir);
    let report = relaywatch(
        &["report", "--once", "--out", out_dir.to_str().unwrap()],
        cfg,
        &[],
    );
    assert!(
        report.status.success(),
        "{}",
        String::from_utf8_lossy(&report.stderr)
    );
    assert!(out_dir.join("report.md").exists());
}

/// The leaderboard and quota dry runs over the hub.
fn cch_dry_runs(cfg: &str) {
    let b = json(&relaywatch(
        &[
            "rules",
            "dry-run",
            "leaderboard",
            "--window",
            "rolling_24h",
            "--top",
            "3",
            "--json",
        ],
        cfg,
        &[],
    ));
    assert!(b["entries"].as_array().unwrap().len() <= 3);
    assert!(
        b["totals"]["users"].as_u64().is_some() && b["window"]["from"].is_string(),
        "{b}"
    );
    let q = json(&relaywatch(
        &["rules", "dry-run", "quota", "--json"],
        cfg,
        &[],
    ));
    let items = q["items"].as_array().unwrap();
    assert!(items.iter().any(|i| i["percent"] == 117.5), "{q}");
    assert!(items.iter().all(|i| i["percent"].as_f64().unwrap() >= 80.0));
}

/// A window the leaderboard does not know, and a CCH source without its database URL.
fn cch_refusals(cfg: &str) {
    let bad = relaywatch(
        &["rules", "dry-run", "leaderboard", "--window", "weekly"],
        cfg,
        &[],
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--window"));
    let bad = relaywatch(&["snapshot"], "[source]\nkind = \"cch\"\n", &[]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("source.database_url"));
}

#[test]
fn ezapi_replay_from_the_command_line() {
    let rt = rt();
    let url = rt.block_on(async {
        let url = PgServer::shared().fresh_database().await;
        let client = connect(&url).await;
        create_log_records(&client, "log_records").await.unwrap();
        let t0 = Utc::now() - chrono::Duration::hours(3);
        let rows: Vec<LogRecordRow> = (0..12)
            .map(|i| LogRecordRow::error(t0 + chrono::Duration::seconds(i), 502, "x"))
            .collect();
        insert_log_records(&client, "log_records", &rows)
            .await
            .unwrap();
        url
    });
    let cfg = "[events]\nsource = \"ezapi\"\ndatabase_url = { env = \"EZ_DB\" }\n";
    let r = json(&relaywatch(
        &[
            "rules",
            "replay",
            "error-rate",
            "--from",
            "4h",
            "--to",
            "now",
            "--json",
        ],
        cfg,
        &[("EZ_DB", &url)],
    ));
    assert_eq!(r["summary"]["firing"], 1, "{r}");
    assert_eq!(r["events"][0]["count"], 10);
    assert_eq!(r["source"], "ezapi:log_records");
    let text = relaywatch(
        &["rules", "replay", "error-rate", "--from", "4h"],
        cfg,
        &[("EZ_DB", &url)],
    );
    assert!(String::from_utf8_lossy(&text.stdout).contains("1 firing"));
    let bad = relaywatch(
        &["rules", "replay", "error-rate", "--from", "yesterday"],
        cfg,
        &[("EZ_DB", &url)],
    );
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--from"));
    let missing = relaywatch(&["rules", "replay", "error-rate", "--from", "4h"], cfg, &[]);
    assert!(!missing.status.success());
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("EZ_DB"),
        "{}",
        String::from_utf8_lossy(&missing.stderr)
    );
}
