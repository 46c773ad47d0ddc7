//! Chart rendering tests: every kind as PNG and SVG, themes, CJK glyphs, empty data, and preview
//! files in $TMPDIR/charts-preview. Rule: pictures are checked by decoding them, not by trusting
//! the renderer's word.

mod charts_sample;

use std::collections::HashSet;

use charts_sample::{empty_snapshot, sample_snapshot};
use relaywatch_core::render::charts::{
    render_all, render_png, render_svg, ChartError, ChartKind, ChartLabels, ChartOptions, Theme,
};
use relaywatch_core::render::fonts::{self, FontChoice};
use relaywatch_core::render::text::coverage_mask;
use relaywatch_core::Snapshot;

struct Image {
    width: u32,
    height: u32,
    rgb: Vec<u8>,
}

impl Image {
    fn pixel(&self, x: u32, y: u32) -> [u8; 3] {
        let i = (y as usize * self.width as usize + x as usize) * 3;
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }

    fn colors(&self) -> usize {
        self.rgb
            .chunks_exact(3)
            .map(|p| (p[0], p[1], p[2]))
            .collect::<HashSet<_>>()
            .len()
    }
}

fn decode(png_bytes: &[u8]) -> Image {
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder.read_info().expect("PNG header");
    let mut buf = vec![0; reader.output_buffer_size().expect("buffer size")];
    let info = reader.next_frame(&mut buf).expect("PNG frame");
    assert_eq!(info.color_type, png::ColorType::Rgb);
    assert_eq!(info.bit_depth, png::BitDepth::Eight);
    buf.truncate(info.buffer_size());
    Image {
        width: info.width,
        height: info.height,
        rgb: buf,
    }
}

fn png(kind: ChartKind, snap: &Snapshot, opts: &ChartOptions, labels: &ChartLabels) -> Image {
    decode(&render_png(kind, snap, opts, labels).expect("renders PNG"))
}

fn cjk_available() -> bool {
    let found = fonts::cjk_font().is_some();
    assert!(
        found || std::env::var_os("RELAYWATCH_ALLOW_NO_CJK").is_some(),
        "no CJK font found: install fonts-noto-cjk (or set RELAYWATCH_CJK_FONT)"
    );
    found
}

#[test]
fn every_kind_renders_png_and_svg_in_both_languages() {
    let snap = sample_snapshot();
    for labels in [ChartLabels::en(), ChartLabels::zh_cn()] {
        for opts in [
            ChartOptions::default(),
            ChartOptions {
                width: 1200,
                height: 640,
                theme: Theme::Dark,
            },
            ChartOptions {
                width: 480,
                height: 300,
                theme: Theme::Light,
            },
        ] {
            for kind in ChartKind::ALL {
                let img = png(kind, &snap, &opts, &labels);
                assert_eq!(
                    (img.width, img.height),
                    (opts.width, opts.height),
                    "{kind:?}"
                );
                assert!(img.colors() > 20, "{kind:?} is (nearly) one flat colour");

                let svg = render_svg(kind, &snap, &opts, &labels).expect("renders SVG");
                assert!(svg.starts_with("<svg"), "{kind:?}");
                assert!(svg.trim_end().ends_with("</svg>"), "{kind:?}");
                assert!(
                    svg.contains(&format!(
                        "width=\"{}\" height=\"{}\"",
                        opts.width, opts.height
                    )),
                    "{kind:?}"
                );
                assert!(svg.contains(labels.title(kind)), "{kind:?} lacks its title");
                assert!(svg.contains("'Noto Sans CJK SC'"), "{kind:?} font list");
            }
        }
    }
}

#[test]
fn svg_carries_names_and_values() {
    let snap = sample_snapshot();
    let opts = ChartOptions::default();
    let labels = ChartLabels::zh_cn();
    let keys = render_svg(ChartKind::TopKeys, &snap, &opts, &labels).unwrap();
    assert!(keys.contains(">研发部-主力</text>"), "{keys}");
    assert!(keys.contains("$186.42"));
    assert!(keys.contains(">· 8,412 次请求</text>"));
    // Top 10 of 12: the zero key is left out, the 11th is cut.
    assert!(!keys.contains("unused-key"));
    assert!(!keys.contains("实习生沙盒"));

    let models = render_svg(ChartKind::Models, &snap, &opts, &labels).unwrap();
    assert!(models.contains(">claude-sonnet-4-20250514</text>"));
    assert!(
        models.contains(">其他</text>"),
        "11th and 12th models go to other"
    );
    assert!(!models.contains(">kimi-k2-0711-preview</text>"));

    let trend = render_svg(ChartKind::Trend, &snap, &opts, &ChartLabels::en()).unwrap();
    for date in ["06-01", "06-07", "Cache Read", "Requests"] {
        assert!(trend.contains(date), "trend lacks {date}");
    }
    let overview = render_svg(ChartKind::Overview, &snap, &opts, &ChartLabels::en()).unwrap();
    // 24 keys, 12 accounts (8 normal, 2 abnormal), today's requests.
    for v in [">24<", ">12<", ">8<", ">2<", ">4,828<"] {
        assert!(overview.contains(v), "overview lacks {v}");
    }
}

#[test]
fn dark_theme_background_is_gray_800() {
    let snap = sample_snapshot();
    let opts = ChartOptions {
        theme: Theme::Dark,
        ..ChartOptions::default()
    };
    for kind in ChartKind::ALL {
        let img = png(kind, &snap, &opts, &ChartLabels::en());
        for (x, y) in [(0, 0), (799, 0), (0, 399), (799, 399), (400, 2)] {
            assert_eq!(img.pixel(x, y), [0x1f, 0x29, 0x37], "{kind:?} at {x},{y}");
        }
        let svg = render_svg(kind, &snap, &opts, &ChartLabels::en()).unwrap();
        assert!(
            svg.contains("#1F2937") || svg.contains("#1f2937"),
            "{kind:?}"
        );
    }
    let light = png(
        ChartKind::Trend,
        &snap,
        &ChartOptions::default(),
        &ChartLabels::en(),
    );
    assert_eq!(light.pixel(0, 0), [0xff, 0xff, 0xff]);
}

#[test]
fn every_char_of_a_chinese_key_name_has_a_real_glyph() {
    if !cjk_available() {
        return;
    }
    let cjk = fonts::cjk_font().unwrap();
    eprintln!(
        "CJK font: {} (face {}, {})",
        cjk.path.display(),
        cjk.index,
        cjk.family
    );
    if cjk.path.to_string_lossy().contains("NotoSansCJK") {
        assert_eq!(
            cjk.family, "Noto Sans CJK SC",
            "the SC face of the collection"
        );
    }
    for bold in [false, true] {
        for (c, choice) in fonts::fonts_for_text("研发部-主力", bold) {
            assert!(
                choice.has_glyph(c),
                "{c} maps to {choice:?} without a glyph"
            );
            if c == '-' {
                assert_eq!(choice, FontChoice::DejaVu { bold });
            } else {
                assert!(matches!(choice, FontChoice::Cjk { .. }), "{c}: {choice:?}");
            }
        }
    }
    assert_eq!(fonts::font_for_char('\u{E000}'), FontChoice::Notdef);
    assert!(!FontChoice::Notdef.has_glyph('研'));

    // Drawn glyphs are real shapes: all different, none is the notdef box.
    let notdef = coverage_mask("\u{E000}", 24.0, false).2;
    let masks: Vec<Vec<u8>> = "研发部主力"
        .chars()
        .map(|c| coverage_mask(&c.to_string(), 24.0, false).2)
        .collect();
    for (i, m) in masks.iter().enumerate() {
        assert!(
            m.iter().filter(|&&v| v > 128).count() > 20,
            "glyph {i} has ink"
        );
        assert_ne!(m, &notdef, "glyph {i} is the notdef box");
        for other in &masks[i + 1..] {
            assert_ne!(m, other, "two glyphs drew the same shape");
        }
    }
}

#[test]
fn chinese_key_name_is_drawn_with_ink_not_boxes() {
    if !cjk_available() {
        return;
    }
    let opts = ChartOptions::default();
    let labels = ChartLabels::en();
    // A second, longer key fixes the width of the name column, so only the first name changes.
    let with_name = |name: &str| {
        let mut s = empty_snapshot();
        let key = |name: &str, cost| relaywatch_core::model::KeyUsage {
            id: name.into(),
            name: name.into(),
            requests: 100,
            all_tokens: 1000,
            cost_usd: cost,
        };
        s.top_keys = vec![key(name, 10.0), key("a-rather-long-latin-key-name", 5.0)];
        png(ChartKind::TopKeys, &s, &opts, &labels)
    };
    let chinese = with_name("研发部-主力");
    let boxes = with_name("\u{E000}\u{E001}\u{E002}-\u{E003}\u{E004}");
    let blank = with_name("-");
    // The name column of the first row: left of the bars, in the upper half.
    let region = |img: &Image| {
        let mut v = Vec::new();
        for y in 45..200 {
            for x in 0..180 {
                v.push(img.pixel(x, y));
            }
        }
        v
    };
    let differ = |a: &Image, b: &Image| {
        region(a)
            .iter()
            .zip(region(b))
            .filter(|(p, q)| p.iter().zip(q).any(|(x, y)| x.abs_diff(*y) > 40))
            .count()
    };
    let dark = |img: &Image| {
        region(img)
            .iter()
            .filter(|p| p.iter().map(|&c| u32::from(c)).sum::<u32>() < 3 * 128)
            .count()
    };
    let ink = differ(&chinese, &blank);
    assert!(ink > 80, "the Chinese name adds ink ({ink} px)");
    assert!(dark(&chinese) > dark(&blank) + 60, "dark text pixels");
    let vs_boxes = differ(&chinese, &boxes);
    eprintln!(
        "ink {ink}, differs from boxes {vs_boxes}, dark {} vs {}",
        dark(&chinese),
        dark(&blank)
    );
    assert!(
        vs_boxes > ink / 3,
        "the Chinese name looks like notdef boxes ({vs_boxes} px differ of {ink})"
    );
}

#[test]
fn empty_snapshot_renders_no_data_charts() {
    let snap = empty_snapshot();
    for labels in [ChartLabels::en(), ChartLabels::zh_cn()] {
        for theme in [Theme::Light, Theme::Dark] {
            let opts = ChartOptions {
                theme,
                ..ChartOptions::default()
            };
            for chart in render_all(&snap, &opts, &labels).expect("empty renders") {
                let img = decode(&chart.png);
                assert_eq!((img.width, img.height), (800, 400));
                assert!(img.colors() > 2, "{:?} has its title", chart.kind);
                assert!(
                    chart.svg.contains(&format!(">{}</text>", labels.no_data)),
                    "{:?} says no data",
                    chart.kind
                );
            }
        }
    }
}

#[test]
fn zero_usage_with_rows_is_still_no_data() {
    let mut snap = sample_snapshot();
    for d in &mut snap.trend {
        *d = relaywatch_core::model::TrendDay {
            date: d.date.clone(),
            ..Default::default()
        };
    }
    for m in &mut snap.models {
        m.all_tokens = 0;
    }
    for k in &mut snap.top_keys {
        k.cost_usd = 0.0;
        k.requests = 0;
    }
    let opts = ChartOptions::default();
    let labels = ChartLabels::en();
    for kind in [ChartKind::Models, ChartKind::Trend, ChartKind::TopKeys] {
        let svg = render_svg(kind, &snap, &opts, &labels).unwrap();
        assert!(svg.contains(">No data</text>"), "{kind:?}");
        render_png(kind, &snap, &opts, &labels).unwrap();
    }
    // One day, one model, one key: no division by a zero span.
    let mut one = sample_snapshot();
    one.trend.truncate(1);
    one.models.truncate(1);
    one.top_keys.truncate(1);
    for kind in ChartKind::ALL {
        render_png(kind, &one, &opts, &labels).unwrap();
        render_svg(kind, &one, &opts, &labels).unwrap();
    }
}

#[test]
fn invalid_sizes_are_errors() {
    let snap = sample_snapshot();
    for (w, h) in [(0, 400), (800, 0), (100_000, 400)] {
        let opts = ChartOptions {
            width: w,
            height: h,
            theme: Theme::Light,
        };
        let err = render_png(ChartKind::Overview, &snap, &opts, &ChartLabels::en()).unwrap_err();
        assert!(matches!(err, ChartError::InvalidSize { .. }), "{err}");
    }
}

#[test]
fn file_stems() {
    let stems: Vec<_> = ChartKind::ALL.iter().map(|k| k.file_stem()).collect();
    assert_eq!(stems, ["overview", "models", "trend", "top-keys"]);
}

/// Writes the sample charts (English, Chinese, dark) to $TMPDIR/charts-preview for a person to
/// look at.
#[test]
fn write_previews() {
    let dir = std::env::temp_dir().join("charts-preview");
    std::fs::create_dir_all(&dir).unwrap();
    let snap = sample_snapshot();
    let variants = [
        ("", ChartLabels::en(), Theme::Light, (800, 400)),
        ("-zh", ChartLabels::zh_cn(), Theme::Light, (800, 400)),
        ("-dark", ChartLabels::en(), Theme::Dark, (800, 400)),
        ("-zh-dark", ChartLabels::zh_cn(), Theme::Dark, (800, 400)),
        ("-small-zh", ChartLabels::zh_cn(), Theme::Light, (480, 300)),
        ("-large", ChartLabels::en(), Theme::Light, (1200, 640)),
    ];
    for (suffix, labels, theme, (width, height)) in variants {
        let opts = ChartOptions {
            width,
            height,
            theme,
        };
        for chart in render_all(&snap, &opts, &labels).unwrap() {
            let stem = format!("{}{suffix}", chart.kind.file_stem());
            std::fs::write(dir.join(format!("{stem}.png")), &chart.png).unwrap();
            std::fs::write(dir.join(format!("{stem}.svg")), &chart.svg).unwrap();
        }
    }
    let empty = render_all(
        &empty_snapshot(),
        &ChartOptions::default(),
        &ChartLabels::en(),
    )
    .unwrap();
    for chart in empty {
        let name = format!("{}-empty.png", chart.kind.file_stem());
        std::fs::write(dir.join(name), &chart.png).unwrap();
    }
}
