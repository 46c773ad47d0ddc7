//! Checks the throw-away PostgreSQL cluster against a real server; rule: each test works in its own database or its own cluster.

use chrono::{DateTime, Utc};
use relaywatch_testkit::pg::connect;
use relaywatch_testkit::{fresh_database, PgServer};

#[tokio::test]
async fn fresh_databases_are_distinct_on_the_shared_server() {
    let a = fresh_database().await;
    let b = fresh_database().await;
    assert_ne!(a, b);
    let port = PgServer::shared().port();
    assert!(a.starts_with(&format!("postgres://postgres@127.0.0.1:{port}/test_")));
    let client = connect(&b).await;
    let name: String = client
        .query_one("SELECT current_database()::text", &[])
        .await
        .unwrap()
        .get(0);
    assert!(b.ends_with(&format!("/{name}")));
    let now: DateTime<Utc> = client.query_one("SELECT now()", &[]).await.unwrap().get(0);
    assert!(now.timestamp() > 0);
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
