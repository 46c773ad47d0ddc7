//! File channel: golden file sets for every sample in both languages (names, Markdown text,
//! PNGs by size), chart links that match the written names, and `write` into a temporary folder.
//! Rule: writes only under the system temporary folder, and removes what it wrote.

#[path = "common/golden.rs"]
mod golden;

use relaywatch_core::channels::file;
use relaywatch_core::config::Lang;
use relaywatch_testkit::samples;
use serde_json::{json, Value};

fn dump(files: &[(String, Vec<u8>)]) -> String {
    let v: Vec<Value> = files
        .iter()
        .map(|(name, bytes)| {
            let content = if name.ends_with(".md") {
                Value::String(String::from_utf8(bytes.clone()).unwrap())
            } else {
                Value::String(format!("<{} bytes>", bytes.len()))
            };
            json!({ "name": name, "content": content })
        })
        .collect();
    serde_json::to_string_pretty(&v).unwrap() + "\n"
}

#[test]
fn golden_files_for_every_sample() {
    for lang in [Lang::En, Lang::ZhCn] {
        for (name, msg) in samples::all(lang) {
            let files = file::files(&msg);
            golden::check_golden(
                &format!("file/{name}.{}.json", lang.as_str()),
                &dump(&files),
            );
        }
    }
}

#[test]
fn names_and_chart_links_agree() {
    let (_, report) = samples::all(Lang::ZhCn).remove(0);
    let files = file::files(&report);
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "report-20261122-090000.md",
            "report-20261122-090000-overview.png",
            "report-20261122-090000-models.png",
            "report-20261122-090000-trend.png",
            "report-20261122-090000-top-keys.png",
        ]
    );
    let md = String::from_utf8(files[0].1.clone()).unwrap();
    for png in &names[1..] {
        assert!(
            md.contains(&format!("]({png})")),
            "{png} linked from the Markdown"
        );
    }
    assert_eq!(files[1].1, samples::tiny_png());
    let (_, alert) = samples::all(Lang::En)
        .into_iter()
        .find(|(n, _)| n == "error-rate-firing")
        .unwrap();
    let files = file::files(&alert);
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].0, "error_rate-20261122-090000.md");
}

#[test]
fn write_puts_whole_files_in_the_folder() {
    let dir = std::env::temp_dir().join(format!("relaywatch-file-channel-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (_, report) = samples::all(Lang::En).remove(0);
    let paths = file::write(&dir.join("reports"), &report).unwrap();
    assert_eq!(paths.len(), 5);
    for (p, (name, bytes)) in paths.iter().zip(file::files(&report)) {
        assert_eq!(p.file_name().unwrap().to_str().unwrap(), name);
        assert_eq!(std::fs::read(p).unwrap(), bytes);
    }
    let leftovers: Vec<_> = std::fs::read_dir(dir.join("reports"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "no temporary files left");
    // Writing again replaces the files.
    assert_eq!(file::write(&dir.join("reports"), &report).unwrap(), paths);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn chart_stems_cannot_leave_the_folder() {
    let (_, mut report) = samples::all(Lang::En).remove(0);
    report.charts[0].stem = "../../etc/passwd".into();
    let files = file::files(&report);
    assert!(files
        .iter()
        .all(|(n, _)| !n.contains('/') && !n.contains("..")));
    assert_eq!(files[1].0, "report-20261122-090000-______etc_passwd.png");
}
