//! Chart bench: renders the four PNG charts of the sample snapshot at 800×400, N times, and
//! prints the median and p95 time of the four together. Rule: plain `main`, no harness; the
//! budget is 60 ms for all four in release mode.

#[path = "../tests/charts_sample.rs"]
mod charts_sample;

use std::time::{Duration, Instant};

use relaywatch_core::render::charts::{render_png, ChartKind, ChartLabels, ChartOptions, Theme};

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

fn main() {
    let runs: usize = std::env::var("CHART_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(40);
    let snap = charts_sample::sample_snapshot();
    for (name, labels, theme) in [
        ("en light", ChartLabels::en(), Theme::Light),
        ("zh-CN dark", ChartLabels::zh_cn(), Theme::Dark),
    ] {
        let opts = ChartOptions {
            width: 800,
            height: 400,
            theme,
        };
        // Warm-up: loads the fonts (the CJK face is read once, on first use).
        let first = Instant::now();
        for kind in ChartKind::ALL {
            render_png(kind, &snap, &opts, &labels).expect("chart renders");
        }
        let first = first.elapsed();

        let mut all = Vec::with_capacity(runs);
        let mut per_kind = [Duration::ZERO; 4];
        let mut bytes = 0;
        for _ in 0..runs {
            let start = Instant::now();
            for (i, kind) in ChartKind::ALL.into_iter().enumerate() {
                let t = Instant::now();
                bytes = render_png(kind, &snap, &opts, &labels)
                    .expect("chart renders")
                    .len();
                per_kind[i] += t.elapsed();
            }
            all.push(start.elapsed());
        }
        all.sort();
        println!(
            "charts ({name}, 800x400, 4 PNGs, {runs} runs): median {:.1} ms, p95 {:.1} ms, \
             min {:.1} ms, first run {:.1} ms (font loading included)",
            percentile(&all, 0.5),
            percentile(&all, 0.95),
            percentile(&all, 0.0),
            first.as_secs_f64() * 1000.0,
        );
        let means: Vec<String> = ChartKind::ALL
            .iter()
            .zip(per_kind)
            .map(|(k, d)| {
                format!(
                    "{} {:.1}",
                    k.file_stem(),
                    d.as_secs_f64() * 1000.0 / runs as f64
                )
            })
            .collect();
        println!(
            "  mean ms per chart: {}; last PNG {} bytes",
            means.join(", "),
            bytes
        );
    }
}
