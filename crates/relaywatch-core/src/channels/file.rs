//! File channel: a Message as files in a folder, `{kind}-{timestamp}.md` (render::markdown) and
//! each chart as `{kind}-{timestamp}-{stem}.png` beside it, linked from the Markdown. Rule:
//! `files` is pure; `write` only writes what `files` returns, each file whole (temporary name,
//! then rename), so a reader never sees half a report.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{Limits, SizeUnit};
use crate::render::markdown;
use crate::render::message::Message;

/// A local folder has no rate or size limit of its own; this pace only bounds a runaway loop.
pub const RATE_PER_MINUTE: u32 = 600;

pub fn limits() -> Limits {
    Limits {
        rate: RATE_PER_MINUTE,
        per: Duration::from_secs(60),
        max_text: usize::MAX,
        unit: SizeUnit::Bytes,
        images: true,
    }
}

/// `{kind}-{YYYYMMDD-HHMMSS}` in the message's own offset: sorts by time, safe on every file
/// system (no `:`).
pub fn file_stem(m: &Message) -> String {
    format!(
        "{}-{}",
        m.kind.as_str(),
        m.timestamp.format("%Y%m%d-%H%M%S")
    )
}

/// Keep a chart stem to `[A-Za-z0-9._-]` so it cannot leave the folder.
fn safe(stem: &str) -> String {
    let s: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() {
        "chart".into()
    } else {
        s
    }
}

/// The files of one message, (name, bytes), Markdown first.
pub fn files(m: &Message) -> Vec<(String, Vec<u8>)> {
    let base = file_stem(m);
    let mut linked = m.clone();
    for c in &mut linked.charts {
        c.stem = format!("{base}-{}", safe(&c.stem));
    }
    let mut out = vec![(format!("{base}.md"), markdown::render(&linked).into_bytes())];
    for c in &linked.charts {
        out.push((format!("{}.png", c.stem), c.png.as_ref().clone()));
    }
    out
}

/// Write the files of `m` into `dir` (created if missing); the paths written, in order.
pub fn write(dir: &Path, m: &Message) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    for (name, bytes) in files(m) {
        let path = dir.join(&name);
        let tmp = dir.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, &bytes)?;
        std::fs::rename(&tmp, &path)?;
        written.push(path);
    }
    Ok(written)
}
