//! `relaywatch ingest` as a user runs it, against a real redis-server: good lines are pushed,
//! bad lines are reported with their line numbers, `-` reads stdin.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use relaywatch_testkit::fresh_db;

fn relaywatch(args: &[&str], stdin: Option<&str>) -> Output {
    let home = std::env::temp_dir().join(format!("rw-home-{}", std::process::id()));
    let mut c = Command::new(env!("CARGO_BIN_EXE_relaywatch"));
    c.args(args)
        .env_clear()
        .env("HOME", &home)
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().expect("run relaywatch");
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

fn xlen(url: &str, stream: &str) -> u64 {
    let client = redis::Client::open(url).unwrap();
    let mut con = client.get_connection().unwrap();
    redis::cmd("XLEN").arg(stream).query(&mut con).unwrap()
}

#[test]
fn pushes_good_lines_and_names_bad_ones() {
    let url = fresh_db();
    let dir = std::env::temp_dir().join(format!("rw-ingest-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("events.ndjson");
    std::fs::write(
        &file,
        concat!(
            "{\"provider_id\":3,\"status_code\":502,\"error_message\":\"reset\",\"ts\":1800000000000}\n",
            "\n",
            "{\"status_code\":\"abc\"}\n",
            "{\"model\":\"claude-sonnet-4\",\"status_code\":200,\"ts\":\"2026-11-22T10:00:00Z\"}\n",
            "not json\n",
        ),
    )
    .unwrap();
    let o = relaywatch(
        &[
            "ingest",
            file.to_str().unwrap(),
            "--redis",
            &url,
            "--stream",
            "test:events",
        ],
        None,
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "bad lines make exit 1: {out}");
    assert!(
        out.contains("line 3: bad_status_code in `status_code`: abc"),
        "{out}"
    );
    assert!(out.contains("line 5: not_json"), "{out}");
    assert!(out.contains("pushed 2 event(s) to test:events"), "{out}");
    assert!(out.contains("2 bad line(s), 1 blank"), "{out}");
    assert_eq!(xlen(&url, "test:events"), 2);
}

#[test]
fn reads_stdin() {
    let url = fresh_db();
    let lines: String = (0..2500)
        .map(|i| format!("{{\"provider_id\":{},\"status_code\":200}}\n", i % 4))
        .collect();
    let o = relaywatch(&["ingest", "-", "--redis", &url], Some(&lines));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        out.contains("pushed 2500 event(s) to relaywatch:events"),
        "{out}"
    );
    assert_eq!(xlen(&url, "relaywatch:events"), 2500);
}
