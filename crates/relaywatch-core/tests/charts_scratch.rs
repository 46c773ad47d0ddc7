mod charts_sample;
use relaywatch_core::render::charts::*;
#[test]
fn scratch() {
    let dir = std::env::temp_dir().join("charts-preview");
    std::fs::create_dir_all(&dir).unwrap();
    let mut s = charts_sample::sample_snapshot();
    // 30 days
    let base = s.trend.clone();
    s.trend = (0..30)
        .map(|i| {
            let mut d = base[i % 7].clone();
            d.date = format!("2025-05-{:02}", i + 1);
            d
        })
        .collect();
    s.top_keys[0].name = "研发部-主力-超长的名字用于测试截断效果是否正常工作".into();
    s.models[0].model = "anthropic/claude-sonnet-4-20250514-with-a-very-long-suffix".into();
    for (name, opts) in [
        (
            "s-en",
            ChartOptions {
                width: 480,
                height: 300,
                theme: Theme::Light,
            },
        ),
        (
            "w-en",
            ChartOptions {
                width: 1000,
                height: 360,
                theme: Theme::Dark,
            },
        ),
    ] {
        for c in render_all(&s, &opts, &ChartLabels::en()).unwrap() {
            std::fs::write(
                dir.join(format!("{}-{name}.png", c.kind.file_stem())),
                &c.png,
            )
            .unwrap();
        }
    }
}
