//! Golden files: compare a rendered text with `tests/golden/<name>`; `UPDATE_GOLDEN=1` writes
//! them instead (review the diff before committing). A missing file is written and fails once,
//! so a new golden is always looked at.

#![allow(dead_code)] // each test binary uses its own share of these helpers

use std::path::PathBuf;
use std::sync::Arc;

use relaywatch_core::channels::Request;
use relaywatch_core::config::Lang;
use relaywatch_core::render::message::{ChartImage, Fact, Message, Section};
use relaywatch_core::secrets::redact_url;
use relaywatch_testkit::samples;
use serde_json::{json, Value};

pub fn golden_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("golden")
        .join(name)
}

pub fn check_golden(name: &str, actual: &str) {
    let path = golden_path(name);
    let update = std::env::var("UPDATE_GOLDEN").is_ok_and(|v| v == "1");
    match std::fs::read_to_string(&path) {
        Ok(expected) if !update => {
            if expected != actual {
                panic!(
                    "golden file {} differs; run with UPDATE_GOLDEN=1 to rewrite it and review the diff\n--- expected\n{expected}\n--- actual\n{actual}",
                    path.display()
                );
            }
        }
        Ok(_) => write(&path, actual),
        Err(_) => {
            write(&path, actual);
            if !update {
                panic!(
                    "golden file {} was missing and has been written: review it and run again",
                    path.display()
                );
            }
        }
    }
}

fn write(path: &std::path::Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Requests as reviewable JSON: redacted URL, headers (credentials masked), body (a multipart
/// `payload_json` shown as JSON, binary parts as `<N bytes>`).
pub fn dump(reqs: &[Request]) -> String {
    let all: Vec<Value> = reqs
        .iter()
        .map(|r| {
            let headers: Vec<(String, String)> = r
                .headers
                .iter()
                .map(|(k, v)| {
                    if k.eq_ignore_ascii_case("authorization") {
                        (k.clone(), "Bearer ***".to_string())
                    } else {
                        (k.clone(), v.clone())
                    }
                })
                .collect();
            let mut body = serde_json::to_value(&r.body).unwrap();
            if let Some(parts) = body.get_mut("parts").and_then(Value::as_array_mut) {
                for p in parts {
                    if p["content_type"] == "application/json" {
                        let text = p["bytes"].as_str().unwrap().to_string();
                        p["bytes"] = serde_json::from_str(&text).unwrap();
                    }
                }
            }
            json!({ "url": redact_url(r.url.expose()), "headers": headers, "body": body })
        })
        .collect();
    serde_json::to_string_pretty(&all).unwrap() + "\n"
}

pub fn both_langs() -> Vec<(String, Lang, Message)> {
    [Lang::En, Lang::ZhCn]
        .into_iter()
        .flat_map(|lang| {
            samples::all(lang)
                .into_iter()
                .map(move |(name, m)| (name, lang, m))
        })
        .collect()
}

/// A message far over every limit: long tables and cells, a long text, many facts and charts.
pub fn oversized() -> Message {
    let (_, mut m) = samples::all(Lang::ZhCn).remove(0);
    m.title = format!("{} {}", m.title, "长".repeat(300));
    m.facts = (0..30)
        .map(|i| Fact::new(format!("指标 {i}"), "值 <!channel> & ".repeat(i * 20)))
        .collect();
    for s in &mut m.sections {
        if let Some(t) = &mut s.table {
            let row = t.rows[0].clone();
            t.rows = (0..80)
                .map(|i| {
                    row.iter()
                        .map(|c| format!("{c}-{i}-{}", "宽".repeat(40)))
                        .collect()
                })
                .collect();
        }
    }
    m.sections.push(Section {
        title: "<@U123> & more".into(),
        facts: Vec::new(),
        table: None,
        text: Some("一行很长的文字 <https://evil.example|click> &\n".repeat(400)),
        optional: false,
    });
    let png = Arc::new(samples::tiny_png());
    m.charts = (0..12)
        .map(|i| ChartImage {
            stem: format!("chart-{i}"),
            title: format!("图 {i}"),
            png: png.clone(),
            svg: None,
        })
        .collect();
    m
}
