//! The `Service` facade against a real redis-server seeded with CRS-exact data and temp config
//! folders: snapshot and status, charts, config saves (atomic, refused saves leave the file
//! byte-identical), channels with secrets kept out of the config, history and "Retry now",
//! alerts and silences, schedules, source probe, quota dry run and ingest. Rule: secrets go to
//! the 0600 secrets files here (no keychain is assumed in CI) and never into any answer.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::Utc;
use relaywatch_core::config::channels::{ChannelSettings, ChannelType, SecretRef};
use relaywatch_core::config::Settings;
use relaywatch_core::delivery::drain::outbox_config;
use relaywatch_core::delivery::outbox::{DeliveryResult, NewItem, Outbox};
use relaywatch_core::secret_store::SecretStore;
use relaywatch_core::secrets::assert_no_secret_in;
use relaywatch_core::service::{ChannelInput, Service, ServiceError, Vault};
use relaywatch_testkit::{ApiKeySpec, CrsWriter, RedisServer, UsageEvent};

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rw-app-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn seeded(db: &str) {
    let mut w = CrsWriter::connect(db);
    w.api_key(
        &ApiKeySpec::new(
            "key-a",
            "team-alpha",
            Utc::now() - chrono::Duration::days(3),
        )
        .daily_cost_limit(10.0),
    );
    w.api_key(&ApiKeySpec::new(
        "key-b",
        "team-beta",
        Utc::now() - chrono::Duration::days(2),
    ));
    w.usage(
        &UsageEvent::new("key-a", "claude-sonnet-4-5-20250929", Utc::now())
            .tokens(1000, 500, 0, 0)
            .cost(9.0, 9.0),
    );
    w.flush();
}

fn app_with(d: &Path, toml: &str) -> Service {
    let path = d.join("relaywatch.toml");
    std::fs::write(&path, toml).unwrap();
    Service::open(
        &path,
        SecretStore::default(),
        Vault::Files(d.join("secrets")),
    )
    .unwrap()
}

fn crs_config(db: &str) -> String {
    format!(
        "[source]\nredis_url = \"{db}\"\n[network]\nallow = [\"127.0.0.0/8\"]\nallow_http = true\n"
    )
}

#[tokio::test]
async fn snapshot_status_and_charts_come_from_the_relay() {
    let db = RedisServer::shared().fresh_db();
    seeded(&db);
    let d = dir("snap");
    let app = app_with(&d, &crs_config(&db));
    assert_eq!(app.status(Utc::now()).health, "offline");
    let st = app.refresh().await;
    assert_eq!(st.health, "ok", "{st:?}");
    assert_eq!(st.source.kind, "crs");
    let snap = app.snapshot().await.unwrap();
    assert_eq!(snap.api_keys.total, 2);
    let svg = app.chart_svg("trend", Some("zh-CN"), None).await.unwrap();
    assert!(
        svg.starts_with("<svg") || svg.contains("<svg"),
        "{}",
        &svg[..80]
    );
    let e = app.chart_svg("pie", None, None).await.unwrap_err();
    assert_eq!(e.kind(), "invalid_input");
}

#[tokio::test]
async fn the_snapshot_json_and_charts_are_made_once_per_snapshot_and_follow_a_new_one() {
    let db = RedisServer::shared().fresh_db();
    seeded(&db);
    let d = dir("cache");
    let app = app_with(&d, &crs_config(&db));
    app.refresh().await;
    let json = app.snapshot_json().await.unwrap();
    let snap = app.snapshot().await.unwrap();
    assert_eq!(&*json, serde_json::to_string(&*snap).unwrap());
    let again = app.snapshot_json().await.unwrap();
    assert!(
        std::sync::Arc::ptr_eq(&json, &again),
        "the JSON is made once"
    );
    let dark = app
        .chart_svg("models", Some("en"), Some("dark"))
        .await
        .unwrap();
    let light = app
        .chart_svg("models", Some("en"), Some("light"))
        .await
        .unwrap();
    assert_ne!(dark, light, "theme is part of the chart's key");
    assert_eq!(
        app.chart_svg("models", Some("en"), Some("dark"))
            .await
            .unwrap(),
        dark
    );

    // New usage, a new snapshot: neither the JSON nor the chart is served from the old one.
    let mut w = CrsWriter::connect(&db);
    w.usage(
        &UsageEvent::new("key-b", "claude-opus-4-1-20250805", Utc::now())
            .tokens(5000, 2000, 0, 0)
            .cost(3.0, 3.0),
    );
    w.flush();
    app.refresh().await;
    let fresh = app.snapshot_json().await.unwrap();
    assert!(!std::sync::Arc::ptr_eq(&json, &fresh));
    let now_snap = app.snapshot().await.unwrap();
    assert_eq!(now_snap.usage_today.requests, 2);
    assert_eq!(&*fresh, serde_json::to_string(&*now_snap).unwrap());
    let redrawn = app
        .chart_svg("models", Some("en"), Some("dark"))
        .await
        .unwrap();
    assert_ne!(redrawn, dark, "the models chart now shows the Opus usage");
}

#[tokio::test]
async fn a_failed_refresh_keeps_the_old_data_and_marks_it_stale() {
    let db = RedisServer::shared().fresh_db();
    seeded(&db);
    let d = dir("stale");
    let app = app_with(&d, &crs_config(&db));
    app.refresh().await;
    // Point the source at a port where nothing listens; the old snapshot must stay.
    let mut s = app.settings();
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    s.source.redis_url = Some(format!("redis://:pw-xyz-123@127.0.0.1:{dead}/0"));
    s.source.connect_timeout_ms = 300;
    app.save_config(s).unwrap();
    let st = app.refresh().await;
    assert!(st.stale, "{st:?}");
    assert_eq!(st.health, "stale");
    let err = st.last_error.clone().unwrap();
    assert_no_secret_in(&err, "pw-xyz-123");
    assert_eq!(app.snapshot().await.unwrap().api_keys.total, 2);
}

#[tokio::test]
async fn an_invalid_save_returns_every_field_error_and_leaves_the_file_byte_identical() {
    let d = dir("save");
    let app = app_with(&d, "[report]\ntrend_days = 7\n");
    let path = d.join("relaywatch.toml");
    let before = std::fs::read(&path).unwrap();
    let mut s = app.settings();
    s.report.trend_days = 45;
    s.report.top_keys = 0;
    let e = app.save_config(s).unwrap_err();
    let ServiceError::InvalidConfig(fields) = &e else {
        panic!("{e:?}")
    };
    let names: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(names, ["report.trend_days", "report.top_keys"]);
    assert_eq!(std::fs::read(&path).unwrap(), before);
    let v = serde_json::to_value(&e).unwrap();
    assert_eq!(v["error"]["fields"][0]["fix"], "must be between 1 and 30");

    let mut s = app.settings();
    s.report.trend_days = 14;
    app.save_config(s).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("trend_days = 14"), "{text}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}

fn generic(name: &str) -> ChannelSettings {
    ChannelSettings::new(name, ChannelType::Generic)
}

/// A loopback receiver answering every request with `reply`; returns its port.
fn receiver(status: u16, reply: &'static str) -> u16 {
    use std::io::{BufRead, BufReader, Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
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
            let _ = write!(
                s,
                "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}",
                reply.len()
            );
        }
    });
    port
}

#[tokio::test]
async fn a_channel_added_keeps_its_secret_out_of_the_config_and_its_test_send_replies() {
    let d = dir("channel");
    let app = app_with(
        &d,
        "[network]\nallow = [\"127.0.0.0/8\"]\nallow_http = true\n",
    );
    let port = receiver(200, "{\"ok\":true}");
    let url = format!("http://127.0.0.1:{port}/hook/tok-secret-9f3e");
    let view = app
        .add_channel(ChannelInput {
            channel: generic("ops"),
            secrets: [("url".to_string(), url.clone())].into(),
        })
        .unwrap();
    assert_eq!(view.secrets["ops"]["url"], "••••9f3e");
    assert!(view.stored_in.as_deref().unwrap().starts_with("file:"));
    let text = std::fs::read_to_string(d.join("relaywatch.toml")).unwrap();
    assert_no_secret_in(&text, "tok-secret-9f3e");
    assert!(text.contains("relaywatch-ops-url"), "{text}");
    let stored = std::fs::read_to_string(d.join("secrets/relaywatch-ops-url")).unwrap();
    assert_eq!(stored, url);
    assert_no_secret_in(&serde_json::to_string(&view).unwrap(), "tok-secret-9f3e");

    let sent = app.test_channel("ops", None).await.unwrap();
    assert!(sent.delivered, "{sent:?}");
    assert_eq!(sent.attempts[0].status, Some(200));
    assert!(sent.attempts[0].reply.contains("ok"), "{sent:?}");
    assert!(!sent.attempts[0].rule.is_empty());
    assert_no_secret_in(&format!("{sent:?}"), "tok-secret-9f3e");

    // Updating without retyping keeps the stored secret.
    let mut c = generic("ops");
    c.enabled = false;
    let view = app
        .update_channel(
            "ops",
            ChannelInput {
                channel: c,
                secrets: Default::default(),
            },
        )
        .unwrap();
    assert_eq!(view.secrets["ops"]["url"], "••••9f3e");
    assert!(!app.settings().channels[0].enabled);

    let e = app
        .add_channel(ChannelInput {
            channel: generic("ops"),
            secrets: Default::default(),
        })
        .unwrap_err();
    assert_eq!(e.kind(), "conflict");

    app.remove_channel("ops").unwrap();
    assert!(app.settings().channels.is_empty());
    assert!(!d.join("secrets/relaywatch-ops-url").exists());
    assert_eq!(
        app.test_channel("ops", None).await.unwrap_err().kind(),
        "not_found"
    );
}

#[tokio::test]
async fn an_invalid_channel_is_refused_with_fields_and_stores_nothing() {
    let d = dir("badchannel");
    let app = app_with(&d, "");
    let before = std::fs::read(d.join("relaywatch.toml")).unwrap();
    let mut c = generic("tg");
    c.kind = ChannelType::Telegram;
    let e = app
        .add_channel(ChannelInput {
            channel: c,
            secrets: [("url".to_string(), "123456:bot-token-abcdef".to_string())].into(),
        })
        .unwrap_err();
    let v = serde_json::to_value(&e).unwrap();
    assert_eq!(v["error"]["kind"], "invalid_config");
    assert!(
        v["error"]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["field"] == "channels[0].chat_id"),
        "{v}"
    );
    assert_no_secret_in(&v.to_string(), "bot-token-abcdef");
    assert_eq!(std::fs::read(d.join("relaywatch.toml")).unwrap(), before);
    assert!(!d.join("secrets").exists());
}

#[tokio::test]
async fn history_lists_attempts_and_retry_now_requeues_a_dead_item() {
    let db = RedisServer::shared().fresh_db();
    let d = dir("history");
    let app = app_with(
        &d,
        &format!(
            "{}[[channels]]\nname = \"ops\"\ntype = \"generic\"\nurl = {{ env = \"NOPE\" }}\n",
            crs_config(&db)
        ),
    );
    let s = app.settings();
    let ob = Outbox::connect(&db, Duration::from_secs(5), outbox_config(&s))
        .await
        .unwrap();
    let now = relaywatch_core::delivery::outbox::system_now_ms();
    let item = NewItem {
        channel: "ops".into(),
        kind: "alert".into(),
        key: "alert:x".into(),
        payload: b"{}".to_vec(),
    };
    ob.enqueue(&item, now).await.unwrap();
    let claim = ob.claim(now, 1).await.unwrap().remove(0);
    let fail = DeliveryResult::fail(Some(404), None, Duration::from_millis(3), "HTTP 404");
    ob.complete(&claim, &fail, now + 1, 0.5).await.unwrap();

    let h = app.history(None, 20).await.unwrap();
    assert_eq!(h.records.len(), 1, "{h:?}");
    assert_eq!(h.dead.len(), 1);
    let id = h.dead[0].id;
    app.retry_dead(id).await.unwrap();
    assert_eq!(app.history(Some("ops"), 20).await.unwrap().dead.len(), 0);
    assert_eq!(ob.stats().await.unwrap().due, 1);
    assert_eq!(app.retry_dead(id).await.unwrap_err().kind(), "not_found");
    assert_eq!(
        app.history(Some("nope"), 5).await.unwrap_err().kind(),
        "not_found"
    );
}

#[tokio::test]
async fn silences_show_in_alerts() {
    let db = RedisServer::shared().fresh_db();
    let d = dir("alerts");
    let app = app_with(&d, &crs_config(&db));
    let now = Utc::now();
    let s = app
        .silence(Some("error_rate"), Some("provider:3"), "1h", "deploy", now)
        .await
        .unwrap();
    assert_eq!(s.ends_at, now + chrono::Duration::hours(1));
    let a = app.alerts(now).await.unwrap();
    assert_eq!(a.silenced.len(), 1);
    assert!(a.firing.is_empty());
    let e = app
        .silence(Some("nope"), None, "1h", "", now)
        .await
        .unwrap_err();
    assert_eq!(e.fields()[0].field, "rule");
    let e = app
        .silence(None, Some("x"), "soon", "", now)
        .await
        .unwrap_err();
    assert_eq!(e.fields()[0].field, "duration");
    // The CLI's grammar (`relaywatch silence add --for 1h30m`): units combine, a bare number is
    // refused rather than read as minutes.
    let s = app
        .silence(Some("breaker"), None, "1h30m", "", now)
        .await
        .unwrap();
    assert_eq!(s.ends_at, now + chrono::Duration::minutes(90));
    let e = app
        .silence(None, Some("x"), "30", "", now)
        .await
        .unwrap_err();
    assert_eq!(e.fields()[0].field, "duration");
}

#[tokio::test]
async fn schedules_are_read_aloud_with_three_next_fires() {
    let d = dir("sched");
    let app = app_with(
        &d,
        "[schedules.daily]\ncron = \"0 9 * * *\"\ntz = \"Asia/Shanghai\"\n",
    );
    let now = Utc::now();
    let s = app.schedules(now);
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].next.len(), 3);
    assert!(!s[0].reading.is_empty());
    let p = app
        .preview_schedule(
            "*/15 9-18 * * 1-5",
            Some("Asia/Shanghai"),
            Some("zh-CN"),
            now,
        )
        .unwrap();
    assert_eq!(p.next.len(), 3);
    let e = app
        .preview_schedule("61 * * * *", None, None, now)
        .unwrap_err();
    assert_eq!(e.fields()[0].field, "cron");
}

#[tokio::test]
async fn test_source_counts_keys_and_masks_failures() {
    let db = RedisServer::shared().fresh_db();
    seeded(&db);
    let d = dir("probe");
    let app = app_with(&d, "");
    let p = app.test_source(Some(&db)).await.unwrap();
    assert!(p.ok, "{p:?}");
    assert_eq!(p.api_keys, 2);
    assert!(p.usage_keys > 0);
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let p = app
        .test_source(Some(&format!("redis://:sekret-pw-77@127.0.0.1:{dead}/0")))
        .await
        .unwrap();
    assert!(!p.ok);
    assert_no_secret_in(&serde_json::to_string(&p).unwrap(), "sekret-pw-77");
}

#[tokio::test]
async fn quota_dry_run_reports_keys_over_a_threshold_and_sends_nothing() {
    let db = RedisServer::shared().fresh_db();
    seeded(&db);
    let d = dir("dry");
    let app = app_with(&d, &crs_config(&db));
    let r = app.dry_run("quota", Utc::now()).await.unwrap();
    assert_eq!(r.rule, "quota");
    assert_eq!(r.alerts.len(), 1, "{r:?}");
    let text = serde_json::to_string(&r).unwrap();
    assert!(
        text.contains("key-a") || text.contains("team-alpha"),
        "{text}"
    );
    assert_eq!(
        app.dry_run("nope", Utc::now()).await.unwrap_err().kind(),
        "invalid_input"
    );
}

#[tokio::test]
async fn ingest_pushes_good_lines_and_names_bad_ones() {
    let db = RedisServer::shared().fresh_db();
    let d = dir("ingest");
    let app = app_with(&d, &crs_config(&db));
    let body =
        "{\"provider_id\":3,\"status_code\":500}\n{\"provider_id\":3,\"status_code\":200}\nnope\n";
    let r = app.ingest(body).await.unwrap();
    assert_eq!(r.pushed, 2);
    assert_eq!(r.bad.len(), 1);
    assert_eq!(r.bad[0].line, 3);
    let client = redis::Client::open(db.as_str()).unwrap();
    let mut con = client.get_multiplexed_async_connection().await.unwrap();
    let n: u64 = redis::cmd("XLEN")
        .arg(&app.settings().events.stream)
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(n, 2);
}

#[test]
fn settings_default_has_a_serve_section() {
    let s = Settings::default();
    assert_eq!(s.serve.bind, "127.0.0.1:8080");
    assert!(s.serve.token.is_none());
    let _ = SecretRef::Env { env: "X".into() };
}
