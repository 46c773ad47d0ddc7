//! Checks the throw-away PostgreSQL cluster and EZ-API's `log_records` writers against a real server; rule: expected columns and values are spelled out by hand (from GORM's DDL for EZ-API's `LogRecord`), never computed by the code under test, and each test works in its own database (or its own cluster).

use chrono::{DateTime, Duration, TimeZone, Utc};
use relaywatch_testkit::ezapi::{
    create_log_records, insert_log_records, soft_delete, soft_delete_where,
};
use relaywatch_testkit::pg::connect;
use relaywatch_testkit::{fresh_database, LogRecordRow, PgServer};

fn at(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 14, 9, minute, 7).unwrap() + Duration::microseconds(123_456)
}

/// Ten requests: seven successes on two keys and models, three errors, the last one
/// soft-deleted.
fn ten_rows() -> Vec<LogRecordRow> {
    let mut rows: Vec<LogRecordRow> = (0..7)
        .map(|i| LogRecordRow {
            key_id: 1 + i64::from(i % 2),
            model_name: if i % 2 == 0 {
                "gpt-4o-mini"
            } else {
                "claude-3-5-sonnet"
            }
            .to_string(),
            latency_ms: 100 + i64::from(i),
            ..LogRecordRow::ok(at(i))
        })
        .collect();
    rows.push(LogRecordRow::error(at(7), 502, "upstream timeout"));
    rows.push(LogRecordRow {
        group: "vip".to_string(),
        provider_id: 2,
        provider_type: "anthropic".to_string(),
        provider_name: "anthropic-eu".to_string(),
        client_ip: "10.0.0.8".to_string(),
        ..LogRecordRow::error(at(8), 429, "rate limited")
    });
    rows.push(LogRecordRow {
        deleted_at: Some(at(30)),
        ..LogRecordRow::error(at(9), 500, "boom")
    });
    rows
}

#[tokio::test]
async fn log_records_are_created_as_gorm_does_and_read_back() {
    let url = fresh_database().await;
    assert!(url.starts_with(&format!(
        "postgres://postgres@127.0.0.1:{}/test_",
        PgServer::shared().port()
    )));
    let client = connect(&url).await;
    create_log_records(&client, "log_records").await.unwrap();

    let columns: Vec<(String, String)> = client
        .query(
            "SELECT column_name::text, data_type::text FROM information_schema.columns \
             WHERE table_name = 'log_records' ORDER BY ordinal_position",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let tz = "timestamp with time zone";
    let expected = [
        ("id", "bigint"),
        ("created_at", tz),
        ("updated_at", tz),
        ("deleted_at", tz),
        ("group", "text"),
        ("key_id", "bigint"),
        ("model_name", "text"),
        ("provider_id", "bigint"),
        ("provider_type", "text"),
        ("provider_name", "text"),
        ("status_code", "bigint"),
        ("latency_ms", "bigint"),
        ("tokens_in", "bigint"),
        ("tokens_out", "bigint"),
        ("error_message", "text"),
        ("client_ip", "text"),
        ("request_size", "bigint"),
        ("response_size", "bigint"),
        ("audit_reason", "text"),
        ("request_body", "text"),
        ("response_body", "text"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(c, t)| (c.to_string(), t.to_string()))
        .collect();
    assert_eq!(columns, expected);
    let index: String = client
        .query_one(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'idx_log_records_deleted_at'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        index,
        "CREATE INDEX idx_log_records_deleted_at ON public.log_records USING btree (deleted_at)"
    );

    insert_log_records(&client, "log_records", &ten_rows())
        .await
        .unwrap();
    check_rows_read_back(&client).await;
}

async fn check_rows_read_back(client: &tokio_postgres::Client) {
    let rows = client
        .query(
            "SELECT id, created_at, updated_at, deleted_at, \"group\", key_id, model_name, \
             provider_id, provider_type, provider_name, status_code, latency_ms, tokens_in, \
             tokens_out, error_message, client_ip, request_size, response_size, audit_reason, \
             request_body, response_body FROM log_records ORDER BY id",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 10);
    let ids: Vec<i64> = rows.iter().map(|r| r.get("id")).collect();
    assert_eq!(ids, (1..=10).collect::<Vec<i64>>());
    for (i, row) in rows.iter().enumerate() {
        let created: DateTime<Utc> = row.get("created_at");
        assert_eq!(created, at(i as u32), "row {i}: microseconds kept");
        let updated: DateTime<Utc> = row.get("updated_at");
        assert_eq!(updated, created, "row {i}: updated_at = created_at");
        assert_eq!(row.get::<_, i64>("request_size"), 0);
        assert_eq!(row.get::<_, i64>("response_size"), 0);
        for empty in ["audit_reason", "request_body", "response_body"] {
            assert_eq!(
                row.get::<_, Option<String>>(empty).as_deref(),
                Some(""),
                "{empty}"
            );
        }
    }
    let first = &rows[0];
    assert_eq!(first.get::<_, Option<DateTime<Utc>>>("deleted_at"), None);
    assert_eq!(first.get::<_, String>("group"), "default");
    assert_eq!(first.get::<_, i64>("key_id"), 1);
    assert_eq!(first.get::<_, String>("model_name"), "gpt-4o-mini");
    assert_eq!(first.get::<_, i64>("provider_id"), 1);
    assert_eq!(first.get::<_, String>("provider_type"), "openai");
    assert_eq!(first.get::<_, String>("provider_name"), "openai-main");
    assert_eq!(first.get::<_, i64>("status_code"), 200);
    assert_eq!(first.get::<_, i64>("latency_ms"), 100);
    assert_eq!(first.get::<_, i64>("tokens_in"), 100);
    assert_eq!(first.get::<_, i64>("tokens_out"), 50);
    assert_eq!(first.get::<_, String>("error_message"), "");
    assert_eq!(first.get::<_, String>("client_ip"), "127.0.0.1");
    assert_eq!(rows[1].get::<_, i64>("key_id"), 2);
    assert_eq!(rows[1].get::<_, String>("model_name"), "claude-3-5-sonnet");
    let vip = &rows[8];
    assert_eq!(vip.get::<_, String>("group"), "vip");
    assert_eq!(vip.get::<_, i64>("status_code"), 429);
    assert_eq!(vip.get::<_, String>("error_message"), "rate limited");
    assert_eq!(vip.get::<_, i64>("tokens_out"), 0);
    assert_eq!(vip.get::<_, String>("provider_name"), "anthropic-eu");
    assert_eq!(vip.get::<_, String>("client_ip"), "10.0.0.8");
    let deleted = &rows[9];
    assert_eq!(
        deleted.get::<_, Option<DateTime<Utc>>>("deleted_at"),
        Some(at(30))
    );
    assert_eq!(deleted.get::<_, String>("error_message"), "boom");
    let live: i64 = client
        .query_one(
            "SELECT count(*) FROM log_records WHERE deleted_at IS NULL",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(live, 9);
}

#[tokio::test]
async fn soft_deletes_set_deleted_at_once_like_gorm() {
    let url = fresh_database().await;
    let client = connect(&url).await;
    create_log_records(&client, "ez_logs").await.unwrap();
    insert_log_records(&client, "ez_logs", &ten_rows())
        .await
        .unwrap();
    // Row 10 is deleted already: GORM's Delete leaves it (and its deleted_at) alone.
    assert_eq!(soft_delete(&client, "ez_logs", &[2, 10]).await.unwrap(), 1);
    assert_eq!(
        soft_delete_where(&client, "ez_logs", "status_code >= 500")
            .await
            .unwrap(),
        1,
        "only row 8 (502) is still live among the 5xx"
    );
    let deleted: Vec<i64> = client
        .query(
            "SELECT id FROM ez_logs WHERE deleted_at IS NOT NULL ORDER BY id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(deleted, vec![2, 8, 10]);
    let kept: DateTime<Utc> = client
        .query_one("SELECT deleted_at FROM ez_logs WHERE id = 10", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(kept, at(30));
    let index: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_indexes WHERE indexname = 'idx_ez_logs_deleted_at'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(index, 1);
}

#[tokio::test]
async fn each_fresh_database_is_its_own_and_empty() {
    let a = fresh_database().await;
    let b = fresh_database().await;
    assert_ne!(a, b);
    let ca = connect(&a).await;
    let cb = connect(&b).await;
    create_log_records(&ca, "log_records").await.unwrap();
    let tables: i64 = cb
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(tables, 0, "b does not see a's table");
    // And b can make a table of the same name.
    create_log_records(&cb, "log_records").await.unwrap();
    let name_a: String = ca
        .query_one("SELECT current_database()::text", &[])
        .await
        .unwrap()
        .get(0);
    let name_b: String = cb
        .query_one("SELECT current_database()::text", &[])
        .await
        .unwrap()
        .get(0);
    assert_ne!(name_a, name_b);
    assert!(a.ends_with(&format!("/{name_a}")));
}

#[tokio::test]
async fn own_server_is_loopback_unsynced_not_root_and_gone_after_drop() {
    let server = PgServer::start().unwrap();
    assert_eq!(
        server.url(),
        format!("postgres://postgres@127.0.0.1:{}/postgres", server.port())
    );
    let dir = server.dir().to_path_buf();
    let client = connect(&server.url()).await;
    for (setting, value) in [
        ("listen_addresses", "127.0.0.1"),
        ("fsync", "off"),
        ("synchronous_commit", "off"),
        ("full_page_writes", "off"),
        ("server_encoding", "UTF8"),
    ] {
        let shown: String = client
            .query_one(&format!("SHOW {setting}"), &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(shown, value, "{setting}");
    }
    let collate: String = client
        .query_one(
            "SELECT datcollate::text FROM pg_database WHERE datname = current_database()",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(collate, "C");
    let pid_file = std::fs::read_to_string(dir.join("data/postmaster.pid")).unwrap();
    let pid = pid_file.lines().next().unwrap().trim().to_string();
    let proc_dir = format!("/proc/{pid}");
    assert!(is_running(&proc_dir));
    assert_ne!(owner_uid(&proc_dir), 0, "postgres never runs as root");
    drop(client);
    drop(server);
    assert!(!is_running(&proc_dir), "postmaster {pid} still runs");
    assert!(!dir.exists(), "{} is left", dir.display());
}

/// True while `/proc/<pid>` is a live process (not gone, not a zombie awaiting its reaper).
fn is_running(proc_dir: &str) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("{proc_dir}/stat")) else {
        return false;
    };
    let state = stat.rsplit_once(')').map(|(_, rest)| rest.trim_start());
    !matches!(
        state.and_then(|s| s.chars().next()),
        Some('Z') | Some('X') | None
    )
}

fn owner_uid(path: &str) -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).unwrap().uid()
}
