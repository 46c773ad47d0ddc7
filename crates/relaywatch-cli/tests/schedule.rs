//! `relaywatch schedule preview|list` as a user runs them: readings, fire times in local time
//! and UTC, the config's schedules, and errors that name the value and the fix.

use std::process::{Command, Output};

fn relaywatch(args: &[&str], env: &[(&str, &str)]) -> Output {
    let home = std::env::temp_dir().join(format!("rw-sched-home-{}", std::process::id()));
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

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn preview_reads_the_cron_and_lists_the_next_three_fires() {
    let o = relaywatch(
        &[
            "schedule",
            "preview",
            "0 9 * * 1-5",
            "--tz",
            "Asia/Shanghai",
            "--from",
            "2026-11-20T10:00:00+08:00",
        ],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "schedule: 0 9 * * 1-5\n\
         reading:  At 09:00, Monday through Friday\n\
         timezone: Asia/Shanghai\n\
         next 3 fires:\n  \
         Mon 2026-11-23 09:00 +08:00 (CST)   2026-11-23T01:00:00Z\n  \
         Tue 2026-11-24 09:00 +08:00 (CST)   2026-11-24T01:00:00Z\n  \
         Wed 2026-11-25 09:00 +08:00 (CST)   2026-11-25T01:00:00Z\n"
    );
}

#[test]
fn preview_in_chinese_across_a_dst_change_with_the_system_zone() {
    let o = relaywatch(
        &[
            "schedule",
            "preview",
            "30 2 * * *",
            "--lang",
            "zh-CN",
            "--count",
            "2",
            "--from",
            "2026-03-07T12:00:00Z",
        ],
        &[("TZ", "America/New_York")],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("reading:  每天 02:30\n"), "{out}");
    assert!(
        out.contains("timezone: America/New_York (system)\n"),
        "{out}"
    );
    // 02:30 does not exist on 8 March: it fires when the clock jumps to 03:00 EDT.
    assert!(
        out.contains("Sun 2026-03-08 03:00 -04:00 (EDT)   2026-03-08T07:00:00Z\n"),
        "{out}"
    );
    assert!(
        out.contains("Mon 2026-03-09 02:30 -04:00 (EDT)   2026-03-09T06:30:00Z\n"),
        "{out}"
    );
}

#[test]
fn bad_input_names_the_value_and_the_fix() {
    let o = relaywatch(&["schedule", "preview", "61 9 * * *", "--tz", "UTC"], &[]);
    assert_eq!(o.status.code(), Some(3));
    assert!(
        stderr(&o).contains("`SCHEDULE` = \"61 9 * * *\": minute field `61`: must be 0-59"),
        "{}",
        stderr(&o)
    );
    let o = relaywatch(
        &["schedule", "preview", "@daily", "--tz", "Asia/Shangai"],
        &[],
    );
    assert_eq!(o.status.code(), Some(3));
    assert!(
        stderr(&o)
            .contains("`--tz` = \"Asia/Shangai\": `Asia/Shangai` is not an IANA timezone name"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn list_shows_the_default_schedule_without_a_config() {
    let o = relaywatch(
        &["schedule", "list", "--from", "2026-11-22T00:30:00Z"],
        &[("TZ", "Asia/Shanghai")],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.starts_with("# no [schedules] configured"), "{out}");
    assert!(
        out.contains("[report] report\n  schedule: 0 */6 * * *\n"),
        "{out}"
    );
    assert!(
        out.contains("  reading:  At 00:00, 06:00, 12:00 and 18:00, every day\n"),
        "{out}"
    );
    assert!(
        out.contains("  timezone: Asia/Shanghai (system)\n"),
        "{out}"
    );
    assert!(
        out.contains("Sun 2026-11-22 12:00 +08:00 (CST)   2026-11-22T04:00:00Z"),
        "{out}"
    );
}

#[test]
fn list_shows_the_configured_schedules() {
    let dir = std::env::temp_dir().join(format!("rw-sched-{}-configured", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("relaywatch.toml");
    std::fs::write(
        &file,
        r#"
[[channels]]
name = "team"
type = "file"
path = "/tmp/rw-sched-out"

[schedules.morning]
daily = "09:00"
tz = "Europe/Berlin"
kind = "leaderboard"
lang = "zh-CN"

[schedules.night]
cron = "0 22 * * SAT,SUN"
enabled = false
"#,
    )
    .unwrap();
    let o = relaywatch(
        &[
            "schedule",
            "list",
            "--config",
            file.to_str().unwrap(),
            "--from",
            "2026-11-22T00:30:00Z",
        ],
        &[("TZ", "UTC")],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(!out.contains("[report]"), "{out}");
    assert!(out.contains("[morning] leaderboard\n"), "{out}");
    assert!(out.contains("  reading:  每天 09:00\n"), "{out}");
    assert!(out.contains("  timezone: Europe/Berlin\n"), "{out}");
    assert!(
        out.contains("  leaderboard: top 5, window calendar_day\n"),
        "{out}"
    );
    assert!(out.contains("  channels: team\n"), "{out}");
    assert!(
        out.contains("Sun 2026-11-22 09:00 +01:00 (CET)   2026-11-22T08:00:00Z"),
        "{out}"
    );
    assert!(out.contains("[night] report (disabled)\n"), "{out}");
    assert!(
        out.contains("  reading:  At 22:00, Saturday and Sunday\n"),
        "{out}"
    );

    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn list_refuses_a_day_of_week_out_of_range() {
    let dir = std::env::temp_dir().join(format!("rw-sched-{}-bad", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("relaywatch.toml");
    std::fs::write(&file, "[schedules.x]\ncron = \"0 9 * * 8\"\n").unwrap();
    let o = relaywatch(
        &["schedule", "list", "--config", file.to_str().unwrap()],
        &[],
    );
    assert_eq!(o.status.code(), Some(3));
    assert!(
        stderr(&o).contains("`schedules.x.cron` = \"0 9 * * 8\": day-of-week field `8`"),
        "{}",
        stderr(&o)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
