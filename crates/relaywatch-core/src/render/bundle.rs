//! A full report as named files: `report.md`, `snapshot.json` and each chart as PNG and SVG.
//! Building is pure; `write_to` puts the files in a folder (each written whole, then renamed).

use std::path::Path;
use std::sync::Arc;

use super::charts::{self, ChartLabels, ChartOptions, Theme};
use super::message::{ChartImage, Message};
use super::{markdown, messages};
use crate::config::{Lang, ReportSettings, ThemeSetting};
use crate::error::{Error, Result};
use crate::model::Snapshot;

/// One output file.
pub struct ReportFile {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// Chart options from the report settings.
pub fn chart_options(r: &ReportSettings) -> ChartOptions {
    ChartOptions {
        width: r.chart_width,
        height: r.chart_height,
        theme: match r.chart_theme {
            ThemeSetting::Light => Theme::Light,
            ThemeSetting::Dark => Theme::Dark,
        },
    }
}

/// Chart labels in a language.
pub fn chart_labels(lang: Lang) -> ChartLabels {
    match lang {
        Lang::En => ChartLabels::en(),
        Lang::ZhCn => ChartLabels::zh_cn(),
    }
}

/// The report Message with its four charts.
pub fn report_message(s: &Snapshot, r: &ReportSettings, lang: Lang) -> Result<Message> {
    let labels = chart_labels(lang);
    let charts = charts::render_all(s, &chart_options(r), &labels)?
        .into_iter()
        .map(|c| ChartImage {
            stem: c.kind.file_stem().to_string(),
            title: labels.title(c.kind).to_string(),
            png: Arc::new(c.png),
            svg: Some(Arc::new(c.svg)),
        })
        .collect();
    Ok(messages::report(s, charts, lang))
}

/// Every file of the report: `report.md`, `snapshot.json`, and each chart as PNG and SVG.
pub fn build(s: &Snapshot, r: &ReportSettings, lang: Lang) -> Result<Vec<ReportFile>> {
    let message = report_message(s, r, lang)?;
    let mut files = vec![
        ReportFile {
            name: "report.md".into(),
            bytes: markdown::render(&message).into_bytes(),
        },
        ReportFile {
            name: "snapshot.json".into(),
            bytes: serde_json::to_vec_pretty(s).expect("a Snapshot always serialises"),
        },
    ];
    for chart in &message.charts {
        files.push(ReportFile {
            name: format!("{}.png", chart.stem),
            bytes: chart.png.as_ref().clone(),
        });
        if let Some(svg) = &chart.svg {
            files.push(ReportFile {
                name: format!("{}.svg", chart.stem),
                bytes: svg.as_bytes().to_vec(),
            });
        }
    }
    Ok(files)
}

/// Write the files into `dir` (created if missing); each file is written to a temporary name
/// and renamed, so a reader never sees half a file.
pub fn write_to(dir: &Path, files: &[ReportFile]) -> Result<()> {
    let fail = |path: &Path, e: std::io::Error| Error::Write {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    std::fs::create_dir_all(dir).map_err(|e| fail(dir, e))?;
    for f in files {
        let path = dir.join(&f.name);
        let tmp = dir.join(format!(".{}.tmp", f.name));
        std::fs::write(&tmp, &f.bytes).map_err(|e| fail(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| fail(&path, e))?;
    }
    Ok(())
}
