//! relaywatch's peak RSS, measured on the real `relaywatch snapshot --json` process.

use super::*;

/// A `VmHWM:`-style line of /proc/`pid`/status, in KiB.
pub(crate) fn proc_kib(pid: &str, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The `relaywatch` binary: RELAYWATCH_BIN, else next to this bench's target dir.
pub(crate) fn relaywatch_bin() -> Option<std::path::PathBuf> {
    if let Ok(p) = std::env::var("RELAYWATCH_BIN") {
        return Some(p.into());
    }
    let exe = std::env::current_exe().ok()?;
    let bin = exe.parent()?.parent()?.join("relaywatch");
    bin.is_file().then_some(bin)
}

/// Runs `relaywatch snapshot --json` on the hub (under /usr/bin/time when present); prints its
/// wall time and peak RSS. Falls back to this process's VmHWM when there is no binary.
pub(crate) fn peak_rss(url: &str) {
    let Some(bin) = relaywatch_bin() else {
        let kib = proc_kib("self", "VmHWM:").unwrap_or(0);
        println!(
            "peak RSS: this bench process {:.1} MB (no relaywatch binary; build it with \
             `cargo build --release -p relaywatch-cli`)   [target ≤ 50 MB for relaywatch]",
            kib as f64 / 1024.0
        );
        return;
    };
    let dir = std::env::temp_dir().join(format!("relaywatch-cch-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("relaywatch.toml");
    std::fs::write(
        &config,
        format!("[source]\nkind = \"cch\"\ndatabase_url = \"{url}\"\n"),
    )
    .unwrap();
    let time_out = dir.join("time.txt");
    let use_time = std::path::Path::new("/usr/bin/time").is_file();
    let mut cmd = if use_time {
        let mut c = std::process::Command::new("/usr/bin/time");
        c.arg("-f").arg("%M").arg("-o").arg(&time_out).arg(&bin);
        c
    } else {
        std::process::Command::new(&bin)
    };
    cmd.args(["snapshot", "--json", "--config"]).arg(&config);
    cmd.stdout(std::process::Stdio::null())
        .env("RELAYWATCH_LOG", "warn");
    let t = Instant::now();
    let mut child = cmd.spawn().expect("spawn relaywatch");
    let pid = child.id().to_string();
    let mut polled = 0;
    while child.try_wait().unwrap().is_none() {
        polled = polled.max(proc_kib(&pid, "VmHWM:").unwrap_or(0));
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let wall = t.elapsed().as_secs_f64() * 1000.0;
    let kib = std::fs::read_to_string(&time_out)
        .ok()
        .and_then(|s| s.trim().lines().last()?.trim().parse().ok())
        .unwrap_or(polled);
    let _ = std::fs::remove_dir_all(&dir);
    let mb = kib as f64 / 1024.0;
    let met = if mb <= 50.0 { "met" } else { "MISSED" };
    println!(
        "peak RSS: relaywatch snapshot --json (process) {mb:.1} MB, wall {wall:.0} ms   [target ≤ 50 MB: {met}]"
    );
}
