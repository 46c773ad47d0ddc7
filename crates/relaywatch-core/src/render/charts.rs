//! The four snapshot charts (system overview, model distribution, usage trend, top API keys) as
//! PNG and SVG, in English or Simplified Chinese. Rule: empty or zero data draws a clean "no data"
//! chart and never panics or divides by zero; plotters draws shapes and every label goes through
//! the per-glyph font-fallback text layer.

use super::format::count;
use std::f64::consts::{FRAC_PI_2, TAU};

use plotters::coord::Shift;
use plotters::prelude::*;

use super::canvas::{downsample, encode_png, finish_svg};
use super::clean;
use super::text::{self, HAlign, Label, TextLayer, VAlign};
pub use super::theme::Theme;
use super::theme::{self, Colors};
use crate::model::Snapshot;

/// Smallest and largest accepted side of a chart, in px.
pub const MIN_SIDE: u32 = 160;
pub const MAX_SIDE: u32 = 8192;

/// Size and look of a chart. Default: 800×400, light.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChartOptions {
    pub width: u32,
    pub height: u32,
    pub theme: Theme,
}

impl Default for ChartOptions {
    fn default() -> Self {
        ChartOptions {
            width: 800,
            height: 400,
            theme: Theme::Light,
        }
    }
}

/// Which chart to draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChartKind {
    /// API keys, service accounts, today's requests and tokens, normal and abnormal accounts.
    Overview,
    /// Doughnut of the top 10 models by all tokens, plus "other".
    Models,
    /// Tokens per day by kind, with requests on a second axis.
    Trend,
    /// Cost per API key (top N), with requests.
    TopKeys,
}

impl ChartKind {
    /// Every chart, in report order.
    pub const ALL: [ChartKind; 4] = [
        ChartKind::Overview,
        ChartKind::Models,
        ChartKind::Trend,
        ChartKind::TopKeys,
    ];

    /// File name without extension: "overview", "models", "trend", "top-keys".
    pub fn file_stem(self) -> &'static str {
        match self {
            ChartKind::Overview => "overview",
            ChartKind::Models => "models",
            ChartKind::Trend => "trend",
            ChartKind::TopKeys => "top-keys",
        }
    }
}

/// One chart in both formats.
#[derive(Debug, Clone)]
pub struct Chart {
    pub kind: ChartKind,
    pub png: Vec<u8>,
    pub svg: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    #[error("invalid chart size {width}x{height}: each side must be {MIN_SIDE} to {MAX_SIDE} px")]
    InvalidSize { width: u32, height: u32 },
    #[error("drawing the {kind} chart failed: {message}")]
    Draw { kind: &'static str, message: String },
    #[error("encoding a chart as PNG failed: {0}")]
    Png(#[from] png::EncodingError),
}

/// Titles, axis names and series names of the charts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartLabels {
    pub overview_title: String,
    pub models_title: String,
    pub trend_title: String,
    pub top_keys_title: String,
    pub api_keys: String,
    pub service_accounts: String,
    pub today_requests: String,
    pub today_tokens_k: String,
    pub normal_accounts: String,
    pub error_accounts: String,
    pub input: String,
    pub output: String,
    pub cache_create: String,
    pub cache_read: String,
    pub requests: String,
    pub tokens_axis: String,
    pub requests_axis: String,
    pub cost_axis: String,
    /// The slice of models past the top 10.
    pub other: String,
    pub no_data: String,
    /// Under the total in the doughnut's hole.
    pub total_tokens: String,
    /// After a request count, e.g. "1,234 req".
    pub requests_unit: String,
    /// Note that the overview's bar heights are logarithmic.
    pub log_scale: String,
}

impl Default for ChartLabels {
    fn default() -> Self {
        ChartLabels::en()
    }
}

impl ChartLabels {
    pub fn en() -> Self {
        ChartLabels {
            overview_title: "System Overview".into(),
            models_title: "Model Distribution".into(),
            trend_title: "Usage Trend".into(),
            top_keys_title: "Top API Keys by Cost".into(),
            api_keys: "API Keys".into(),
            service_accounts: "Service Accounts".into(),
            today_requests: "Today Requests".into(),
            today_tokens_k: "Today Tokens (K)".into(),
            normal_accounts: "Normal Accounts".into(),
            error_accounts: "Error Accounts".into(),
            input: "Input".into(),
            output: "Output".into(),
            cache_create: "Cache Create".into(),
            cache_read: "Cache Read".into(),
            requests: "Requests".into(),
            tokens_axis: "Tokens".into(),
            requests_axis: "Requests".into(),
            cost_axis: "Cost (USD)".into(),
            other: "Other".into(),
            no_data: "No data".into(),
            total_tokens: "tokens".into(),
            requests_unit: "req".into(),
            log_scale: "log scale".into(),
        }
    }

    pub fn zh_cn() -> Self {
        ChartLabels {
            overview_title: "系统概览".into(),
            models_title: "模型使用分布".into(),
            trend_title: "使用趋势".into(),
            top_keys_title: "API Key 费用排行".into(),
            api_keys: "API Key 数".into(),
            service_accounts: "服务账户".into(),
            today_requests: "今日请求".into(),
            today_tokens_k: "今日 Token (千)".into(),
            normal_accounts: "正常账户".into(),
            error_accounts: "异常账户".into(),
            input: "输入".into(),
            output: "输出".into(),
            cache_create: "缓存创建".into(),
            cache_read: "缓存读取".into(),
            requests: "请求数".into(),
            tokens_axis: "Token 数".into(),
            requests_axis: "请求数".into(),
            cost_axis: "费用 (美元)".into(),
            other: "其他".into(),
            no_data: "暂无数据".into(),
            total_tokens: "Token 总量".into(),
            requests_unit: "次请求".into(),
            log_scale: "对数刻度".into(),
        }
    }

    /// The title of `kind`.
    pub fn title(&self, kind: ChartKind) -> &str {
        match kind {
            ChartKind::Overview => &self.overview_title,
            ChartKind::Models => &self.models_title,
            ChartKind::Trend => &self.trend_title,
            ChartKind::TopKeys => &self.top_keys_title,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Entry points

/// Draws `kind` as a PNG of `opts.width`×`opts.height`.
pub fn render_png(
    kind: ChartKind,
    snap: &Snapshot,
    opts: &ChartOptions,
    labels: &ChartLabels,
) -> Result<Vec<u8>, ChartError> {
    check_size(opts)?;
    // Supersample 2× (plotters fills polygons without anti-aliasing), unless that gets huge.
    let ss: u32 = if u64::from(opts.width) * u64::from(opts.height) <= 4_000_000 {
        2
    } else {
        1
    };
    let (dw, dh) = (opts.width * ss, opts.height * ss);
    let mut buf = vec![0u8; dw as usize * dh as usize * 3];
    let mut ctx = Ctx::new(opts, ss as f32, labels);
    {
        let root = BitMapBackend::with_buffer(&mut buf, (dw, dh)).into_drawing_area();
        draw(kind, &root, snap, &mut ctx)
            .and_then(|()| root.present().map_err(de))
            .map_err(|message| ChartError::Draw {
                kind: kind.file_stem(),
                message,
            })?;
    }
    ctx.texts.draw_rgb(&mut buf, dw, dh);
    let rgb = downsample(&buf, (dw, dh), ss);
    Ok(encode_png(&rgb, opts.width, opts.height)?)
}

/// Draws `kind` as an SVG document of `opts.width`×`opts.height`.
pub fn render_svg(
    kind: ChartKind,
    snap: &Snapshot,
    opts: &ChartOptions,
    labels: &ChartLabels,
) -> Result<String, ChartError> {
    check_size(opts)?;
    let mut doc = String::with_capacity(32 * 1024);
    let mut ctx = Ctx::new(opts, 1.0, labels);
    {
        let root = SVGBackend::with_string(&mut doc, (opts.width, opts.height)).into_drawing_area();
        draw(kind, &root, snap, &mut ctx)
            .and_then(|()| root.present().map_err(de))
            .map_err(|message| ChartError::Draw {
                kind: kind.file_stem(),
                message,
            })?;
    }
    Ok(finish_svg(doc, &ctx.texts))
}

/// Draws every chart kind as PNG and SVG.
pub fn render_all(
    snap: &Snapshot,
    opts: &ChartOptions,
    labels: &ChartLabels,
) -> Result<Vec<Chart>, ChartError> {
    ChartKind::ALL
        .iter()
        .map(|&kind| {
            Ok(Chart {
                kind,
                png: render_png(kind, snap, opts, labels)?,
                svg: render_svg(kind, snap, opts, labels)?,
            })
        })
        .collect()
}

fn check_size(opts: &ChartOptions) -> Result<(), ChartError> {
    let ok = |v: u32| (MIN_SIDE..=MAX_SIDE).contains(&v);
    if ok(opts.width) && ok(opts.height) {
        Ok(())
    } else {
        Err(ChartError::InvalidSize {
            width: opts.width,
            height: opts.height,
        })
    }
}

fn de<E: std::error::Error + Send + Sync>(e: DrawingAreaErrorKind<E>) -> String {
    e.to_string()
}

type Drawn = Result<(), String>;

fn draw<DB: DrawingBackend>(
    kind: ChartKind,
    root: &DrawingArea<DB, Shift>,
    snap: &Snapshot,
    ctx: &mut Ctx,
) -> Drawn {
    root.fill(&ctx.colors.background).map_err(de)?;
    match kind {
        ChartKind::Overview => overview(root, snap, ctx),
        ChartKind::Models => models(root, snap, ctx),
        ChartKind::Trend => trend(root, snap, ctx),
        ChartKind::TopKeys => top_keys(root, snap, ctx),
    }
}

// ---------------------------------------------------------------------------------------------
// Layout helpers. Sizes are logical px (at 800×400); `Ctx::s` turns them into device px.

/// Outer padding.
const PAD: f32 = 16.0;
const TITLE_SIZE: f32 = 15.0;
const SUBTITLE_SIZE: f32 = 11.0;
const LABEL_SIZE: f32 = 12.0;
const TICK_SIZE: f32 = 11.0;
const VALUE_SIZE: f32 = 12.0;

struct Ctx<'a> {
    /// Device px per logical px.
    k: f32,
    w: f32,
    h: f32,
    colors: Colors,
    labels: &'a ChartLabels,
    texts: TextLayer,
}

impl<'a> Ctx<'a> {
    fn new(opts: &ChartOptions, ss: f32, labels: &'a ChartLabels) -> Self {
        // Text and strokes grow with the chart, around the 800×400 design size.
        let ui = (opts.width as f32 / 800.0)
            .min(opts.height as f32 / 400.0)
            .clamp(0.75, 3.0);
        Ctx {
            k: ss * ui,
            w: opts.width as f32 * ss,
            h: opts.height as f32 * ss,
            colors: opts.theme.colors(),
            labels,
            texts: TextLayer::default(),
        }
    }

    fn s(&self, v: f32) -> f32 {
        v * self.k
    }

    fn si(&self, v: f32) -> i32 {
        (v * self.k).round() as i32
    }

    fn su(&self, v: f32) -> u32 {
        (v * self.k).round().max(1.0) as u32
    }

    /// Width in device px of `t` at logical size `size`.
    fn width(&self, t: &str, size: f32, bold: bool) -> f32 {
        text::text_width(t, self.s(size), bold)
    }

    /// Line height in device px at logical size `size`.
    fn line_h(&self, size: f32) -> f32 {
        text::layout("", self.s(size), false).height
    }

    #[allow(clippy::too_many_arguments)]
    fn text(
        &mut self,
        t: impl Into<String>,
        (x, y): (f32, f32),
        size: f32,
        bold: bool,
        color: RGBColor,
        h: HAlign,
        v: VAlign,
    ) {
        // Whatever a label comes from, no control or bidi character is drawn (`clean`).
        let text: String = t.into().chars().filter_map(clean::line_char).collect();
        self.texts.push(Label {
            text,
            x,
            y,
            size: self.s(size),
            bold,
            color,
            h,
            v,
        });
    }

    /// `t` truncated with "…" to fit `max_w` device px at logical size `size`.
    fn clip(&self, t: &str, size: f32, bold: bool, max_w: f32) -> String {
        text::truncate_to_width(t, self.s(size), bold, max_w)
    }

    /// `t` at the largest size from `size` down to 75% of it that fits `max_w`, truncated with
    /// "…" if even that is too wide.
    fn fit(&self, t: &str, size: f32, bold: bool, max_w: f32) -> (String, f32) {
        let mut s = size;
        while s > size * 0.75 && self.width(t, s, bold) > max_w {
            s -= 0.5;
        }
        let fitted = text::truncate_to_width(t, self.s(s), bold, max_w);
        (fitted, s)
    }
}

fn px(p: (f32, f32)) -> (i32, i32) {
    (p.0.round() as i32, p.1.round() as i32)
}

/// Background, title (top left) and an optional muted subtitle (top right). Returns the top of
/// the content area in device px.
fn header(ctx: &mut Ctx, title: &str, subtitle: Option<&str>) -> f32 {
    let (pad, c) = (ctx.s(PAD), ctx.colors);
    let title_h = ctx.line_h(TITLE_SIZE);
    let sub_w = subtitle.map_or(0.0, |s| ctx.width(s, SUBTITLE_SIZE, false));
    let avail = ctx.w
        - 2.0 * pad
        - if sub_w > 0.0 {
            sub_w + ctx.s(16.0)
        } else {
            0.0
        };
    let (title, size) = ctx.fit(title, TITLE_SIZE, true, avail.max(ctx.s(40.0)));
    ctx.text(
        title,
        (pad, pad),
        size,
        true,
        c.text,
        HAlign::Left,
        VAlign::Top,
    );
    if let Some(sub) = subtitle {
        ctx.text(
            sub,
            (ctx.w - pad, pad + title_h / 2.0),
            SUBTITLE_SIZE,
            false,
            c.muted,
            HAlign::Right,
            VAlign::Center,
        );
    }
    pad + title_h + ctx.s(10.0)
}

/// The centred "no data" note of an empty chart, in a faint frame.
fn no_data<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, ctx: &mut Ctx, top: f32) -> Drawn {
    let pad = ctx.s(PAD);
    root.draw(&Rectangle::new(
        [px((pad, top)), px((ctx.w - pad, ctx.h - pad))],
        ctx.colors.grid.stroke_width(ctx.su(1.0)),
    ))
    .map_err(de)?;
    let msg = ctx.labels.no_data.clone();
    let y = (top + ctx.h - pad) / 2.0;
    ctx.text(
        msg,
        (ctx.w / 2.0, y),
        14.0,
        false,
        ctx.colors.muted,
        HAlign::Center,
        VAlign::Center,
    );
    Ok(())
}

/// "first – last" of the trend's dates, or the one date.
fn date_range(snap: &Snapshot) -> Option<String> {
    let first = snap.trend.iter().map(|d| d.date.as_str()).min()?;
    let last = snap.trend.iter().map(|d| d.date.as_str()).max()?;
    Some(if first == last {
        first.to_string()
    } else {
        format!("{first} – {last}")
    })
}

// ---------------------------------------------------------------------------------------------
// Number formatting

/// Compact figure: 950 → "950", 12_345 → "12.3K", 4_500_000 → "4.5M".
fn fmt_compact(v: f64) -> String {
    if !v.is_finite() || v <= 0.0 {
        return "0".into();
    }
    let (scaled, unit) = if v >= 1e9 {
        (v / 1e9, "B")
    } else if v >= 1e6 {
        (v / 1e6, "M")
    } else if v >= 1e3 {
        (v / 1e3, "K")
    } else {
        (v, "")
    };
    let s = if scaled >= 100.0 || (unit.is_empty() && scaled.fract() == 0.0) {
        format!("{scaled:.0}")
    } else {
        let s = format!("{scaled:.1}");
        s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
    };
    format!("{s}{unit}")
}

/// Dollars with cents and thousands separators: "$1,234.56"; tiny non-zero costs "<$0.01".
fn fmt_usd(v: f64) -> String {
    if !v.is_finite() || v <= 0.0 {
        return "$0.00".into();
    }
    if v < 0.01 {
        return "<$0.01".into();
    }
    let cents = (v * 100.0).round() as u64;
    format!("${}.{:02}", count(cents / 100), cents % 100)
}

/// An axis tick in dollars: "$0", "$2.5", "$1,000".
fn fmt_usd_tick(v: f64, step: f64) -> String {
    if step >= 1.0 || v <= 0.0 {
        return format!("${}", count(v.round() as u64));
    }
    // Enough decimals to tell ticks apart: 0.5 → 1, 0.25 → 2, 0.002 → 3.
    let mut decimals = 0;
    while decimals < 6 && ((step * 10f64.powi(decimals)).fract() * 1e6).round() != 0.0 {
        decimals += 1;
    }
    format!("${v:.*}", decimals as usize)
}

/// A share of the whole: "42.1%", "<0.1%".
fn fmt_pct(p: f64) -> String {
    if p > 0.0 && p < 0.1 {
        "<0.1%".into()
    } else {
        format!("{p:.1}%")
    }
}

/// A nice step (1, 2, 2.5 or 5 × 10ⁿ) at least `raw`.
fn nice_step(raw: f64) -> f64 {
    if !raw.is_finite() || raw <= 0.0 {
        return 1.0;
    }
    let e = 10f64.powf(raw.log10().floor());
    let f = raw / e;
    let n = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 2.5 {
        2.5
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    n * e
}

/// Step and number of intervals of an axis from 0 that covers `max` in about `target` steps.
fn nice_axis(max: f64, target: usize, integer: bool) -> (f64, usize) {
    let target = target.max(1);
    if !max.is_finite() || max <= 0.0 {
        return (1.0, target);
    }
    let mut step = nice_step(max / target as f64);
    if integer {
        step = step.max(1.0);
    }
    let n = ((max / step) - 1e-9).ceil().max(1.0) as usize;
    (step, n)
}

/// "2025-01-07" → "01-07"; anything else as it is.
fn short_date(d: &str) -> String {
    let b = d.as_bytes();
    if b.len() == 10 && b[4] == b'-' && b[7] == b'-' {
        d[5..].to_string()
    } else {
        d.to_string()
    }
}

// ---------------------------------------------------------------------------------------------
// 1. System overview

/// `t` as one line if it fits `max_w`, else broken at the space that best balances two lines.
fn wrap_in_two(ctx: &Ctx, t: &str, size: f32, max_w: f32) -> Vec<String> {
    if ctx.width(t, size, false) <= max_w {
        return vec![t.to_string()];
    }
    t.match_indices(' ')
        .map(|(i, _)| (t[..i].trim_end(), t[i..].trim_start()))
        .filter(|(a, b)| !a.is_empty() && !b.is_empty())
        .min_by(|x, y| {
            let w =
                |(a, b): &(&str, &str)| ctx.width(a, size, false).max(ctx.width(b, size, false));
            w(x).total_cmp(&w(y))
        })
        .map_or_else(
            || vec![t.to_string()],
            |(a, b)| vec![a.to_string(), b.to_string()],
        )
}

fn overview<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    snap: &Snapshot,
    ctx: &mut Ctx,
) -> Drawn {
    let l = ctx.labels;
    let acc = snap.accounts_total();
    // "Tokens" on CRS's today card are input plus output.
    let tokens_k = snap.usage_today.core_tokens as f64 / 1000.0;
    let tokens_label = if tokens_k > 0.0 && tokens_k < 100.0 {
        format!("{tokens_k:.1}")
    } else {
        count(tokens_k.round() as u64)
    };
    let bar = |v: u64| (v as f64, count(v));
    let bars: [(&str, (f64, String), RGBColor); 6] = [
        (&l.api_keys, bar(snap.api_keys.total), theme::BLUE),
        (&l.service_accounts, bar(acc.total), theme::VIOLET),
        (
            &l.today_requests,
            bar(snap.usage_today.requests),
            theme::CYAN,
        ),
        (&l.today_tokens_k, (tokens_k, tokens_label), theme::AMBER),
        (&l.normal_accounts, bar(acc.normal), theme::GREEN),
        (&l.error_accounts, bar(acc.abnormal), theme::RED),
    ];
    let subtitle = if snap.today.is_empty() {
        l.log_scale.clone()
    } else {
        format!("{} · {}", snap.today, l.log_scale)
    };
    let top = header(ctx, &l.overview_title, Some(&subtitle));
    let max = bars.iter().map(|b| b.1 .0).fold(0.0, f64::max);
    if max <= 0.0 {
        return no_data(root, ctx, top);
    }
    let c = ctx.colors;
    let pad = ctx.s(PAD);
    let value_h = ctx.line_h(VALUE_SIZE) + ctx.s(6.0);
    let (x0, x1) = (pad, ctx.w - pad);
    let slot = (x1 - x0) / bars.len() as f32;
    let name_w = slot - ctx.s(8.0);
    let names: Vec<Vec<String>> = bars
        .iter()
        .map(|b| wrap_in_two(ctx, b.0, LABEL_SIZE, name_w))
        .collect();
    let n_lines = names.iter().map(Vec::len).max().unwrap_or(1);
    let cat_h = ctx.line_h(LABEL_SIZE) * n_lines as f32 + ctx.s(10.0);
    let (y_top, y_base) = (top + value_h, ctx.h - pad - cat_h);
    let plot_h = (y_base - y_top).max(1.0);
    // Heights are log(1 + v) so a handful of accounts stays visible next to millions of tokens.
    let denom = max.ln_1p();
    for (i, (_, (v, shown), color)) in bars.iter().enumerate() {
        let cx = x0 + slot * (i as f32 + 0.5);
        let bw = (slot * 0.56).min(ctx.s(72.0));
        let frac = if *v > 0.0 {
            (v.ln_1p() / denom) as f32
        } else {
            0.0
        };
        let bh = if *v > 0.0 {
            (frac * plot_h).max(ctx.s(2.0))
        } else {
            0.0
        };
        if bh > 0.0 {
            root.draw(&Rectangle::new(
                [
                    px((cx - bw / 2.0, y_base - bh)),
                    px((cx + bw / 2.0, y_base)),
                ],
                color.filled(),
            ))
            .map_err(de)?;
        }
        ctx.text(
            shown.clone(),
            (cx, y_base - bh - ctx.s(5.0)),
            VALUE_SIZE,
            true,
            c.text,
            HAlign::Center,
            VAlign::Bottom,
        );
        for (j, line) in names[i].iter().enumerate() {
            let (line, size) = ctx.fit(line, LABEL_SIZE, false, name_w);
            ctx.text(
                line,
                (cx, y_base + ctx.s(8.0) + ctx.line_h(LABEL_SIZE) * j as f32),
                size,
                false,
                c.muted,
                HAlign::Center,
                VAlign::Top,
            );
        }
    }
    root.draw(&PathElement::new(
        vec![px((x0, y_base)), px((x1, y_base))],
        c.axis.stroke_width(ctx.su(1.0)),
    ))
    .map_err(de)?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// 2. Model distribution

/// The doughnut's slices: the top 10 models by all tokens, then "other" for the rest.
fn model_slices(snap: &Snapshot, other: &str) -> Vec<(String, u64, RGBColor)> {
    let mut models: Vec<_> = snap.models.iter().filter(|m| m.all_tokens > 0).collect();
    models.sort_by(|a, b| b.all_tokens.cmp(&a.all_tokens).then(a.model.cmp(&b.model)));
    let mut slices: Vec<_> = models
        .iter()
        .take(10)
        .enumerate()
        .map(|(i, m)| (clean::name(&m.model), m.all_tokens, theme::series(i)))
        .collect();
    let rest: u64 = models.iter().skip(10).map(|m| m.all_tokens).sum();
    if rest > 0 {
        slices.push((other.to_string(), rest, theme::OTHER));
    }
    slices
}

fn arc(cx: f32, cy: f32, r: f32, a0: f64, a1: f64, step: f64) -> impl Iterator<Item = (i32, i32)> {
    let n = (((a1 - a0).abs() / step).ceil() as usize).max(1);
    (0..=n).map(move |i| {
        let a = a0 + (a1 - a0) * i as f64 / n as f64;
        px((cx + r * a.cos() as f32, cy + r * a.sin() as f32))
    })
}

fn models<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    snap: &Snapshot,
    ctx: &mut Ctx,
) -> Drawn {
    let l = ctx.labels;
    let slices = model_slices(snap, &l.other);
    let range = date_range(snap);
    let top = header(ctx, &l.models_title, range.as_deref());
    let total: u64 = slices.iter().map(|s| s.1).sum();
    if total == 0 {
        return no_data(root, ctx, top);
    }
    let c = ctx.colors;
    let pad = ctx.s(PAD);
    let (content_w, content_h) = (ctx.w - 2.0 * pad, ctx.h - pad - top);
    let region = content_h.min(content_w * 0.42);
    let r_out = (region / 2.0 - ctx.s(2.0)).max(ctx.s(10.0));
    let r_in = r_out * 0.58;
    let (cx, cy) = (pad + ctx.s(8.0) + region / 2.0, top + content_h / 2.0);

    // Slices clockwise from 12 o'clock, parted by a gap of constant width.
    let gap = if slices.len() > 1 { ctx.s(1.5) } else { 0.0 };
    let step = (1.5f64).to_radians();
    let mut a = -FRAC_PI_2;
    let mut centres = Vec::with_capacity(slices.len());
    for (_, v, color) in &slices {
        let sweep = *v as f64 / total as f64 * TAU;
        let (a0, a1) = (a, a + sweep);
        a = a1;
        centres.push(((a0 + a1) / 2.0, sweep));
        let (go, gi) = (f64::from(gap / r_out), f64::from(gap / r_in));
        if sweep <= 2.0 * gi {
            continue;
        }
        let mut pts: Vec<(i32, i32)> = arc(cx, cy, r_out, a0 + go, a1 - go, step).collect();
        pts.extend(arc(cx, cy, r_in, a1 - gi, a0 + gi, step));
        root.draw(&Polygon::new(pts, color.filled())).map_err(de)?;
    }

    // Percent labels where the slice is wide enough for them.
    let r_mid = (r_out + r_in) / 2.0;
    for ((_, v, _), (mid, sweep)) in slices.iter().zip(&centres) {
        let label = fmt_pct(*v as f64 / total as f64 * 100.0);
        let lw = ctx.width(&label, 11.0, true);
        let band = r_out - r_in;
        if (*sweep as f32) * r_mid < lw + ctx.s(6.0) || band < lw * 0.8 {
            continue;
        }
        let (x, y) = (cx + r_mid * mid.cos() as f32, cy + r_mid * mid.sin() as f32);
        ctx.text(
            label,
            (x, y),
            11.0,
            true,
            c.on_series,
            HAlign::Center,
            VAlign::Center,
        );
    }

    // Total in the hole.
    let total_size = (20.0 * r_in / ctx.s(96.0)).clamp(12.0, 22.0);
    ctx.text(
        fmt_compact(total as f64),
        (cx, cy - ctx.s(2.0)),
        total_size,
        true,
        c.text,
        HAlign::Center,
        VAlign::Bottom,
    );
    let caption = l.total_tokens.clone();
    let (caption, cap_size) = ctx.fit(&caption, 11.0, false, r_in * 1.6);
    ctx.text(
        caption,
        (cx, cy + ctx.s(2.0)),
        cap_size,
        false,
        c.muted,
        HAlign::Center,
        VAlign::Top,
    );

    // Legend: swatch, name, tokens, share.
    let lx0 = pad + region + ctx.s(36.0);
    let lx1 = ctx.w - pad;
    let n = slices.len() as f32;
    let row = (content_h / n).min(ctx.s(24.0));
    let ly0 = top + (content_h - row * n) / 2.0;
    let pct_w = ctx.width("100.0%", LABEL_SIZE, true);
    let tok_w = slices
        .iter()
        .map(|s| ctx.width(&fmt_compact(s.1 as f64), LABEL_SIZE, false))
        .fold(0.0, f32::max);
    let sw = ctx.s(10.0);
    let name_x = lx0 + sw + ctx.s(8.0);
    let name_max = (lx1 - pct_w - tok_w - ctx.s(24.0) - name_x).max(ctx.s(30.0));
    let label_size = (row / ctx.k * 0.55).min(LABEL_SIZE);
    for (i, (name, v, color)) in slices.iter().enumerate() {
        let y = ly0 + row * (i as f32 + 0.5);
        root.draw(&Rectangle::new(
            [px((lx0, y - sw / 2.0)), px((lx0 + sw, y + sw / 2.0))],
            color.filled(),
        ))
        .map_err(de)?;
        let name = ctx.clip(name, label_size, false, name_max);
        ctx.text(
            name,
            (name_x, y),
            label_size,
            false,
            c.text,
            HAlign::Left,
            VAlign::Center,
        );
        ctx.text(
            fmt_compact(*v as f64),
            (lx1 - pct_w - ctx.s(12.0), y),
            label_size,
            false,
            c.muted,
            HAlign::Right,
            VAlign::Center,
        );
        ctx.text(
            fmt_pct(*v as f64 / total as f64 * 100.0),
            (lx1, y),
            label_size,
            true,
            c.text,
            HAlign::Right,
            VAlign::Center,
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// 3. Usage trend

fn trend<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    snap: &Snapshot,
    ctx: &mut Ctx,
) -> Drawn {
    let l = ctx.labels;
    let mut days: Vec<_> = snap.trend.iter().collect();
    days.sort_by(|a, b| a.date.cmp(&b.date));
    let range = date_range(snap);
    let top = header(ctx, &l.trend_title, range.as_deref());
    let series: [(&str, RGBColor, Vec<f64>); 4] = [
        (
            &l.input,
            theme::BLUE,
            days.iter().map(|d| d.input_tokens as f64).collect(),
        ),
        (
            &l.output,
            theme::GREEN,
            days.iter().map(|d| d.output_tokens as f64).collect(),
        ),
        (
            &l.cache_create,
            theme::AMBER,
            days.iter().map(|d| d.cache_create_tokens as f64).collect(),
        ),
        (
            &l.cache_read,
            theme::VIOLET,
            days.iter().map(|d| d.cache_read_tokens as f64).collect(),
        ),
    ];
    let requests: Vec<f64> = days.iter().map(|d| d.requests as f64).collect();
    let max_tokens = series
        .iter()
        .flat_map(|s| s.2.iter().copied())
        .fold(0.0, f64::max);
    let max_req = requests.iter().copied().fold(0.0, f64::max);
    if days.is_empty() || (max_tokens <= 0.0 && max_req <= 0.0) {
        return no_data(root, ctx, top);
    }
    let c = ctx.colors;
    let pad = ctx.s(PAD);
    let req_color = theme::OTHER;

    // Legend row under the title.
    let mut size = LABEL_SIZE;
    let (sw, gap_in, gap_out) = (ctx.s(14.0), ctx.s(6.0), ctx.s(18.0));
    let names: Vec<&str> = series
        .iter()
        .map(|s| s.0)
        .chain(std::iter::once(l.requests.as_str()))
        .collect();
    let legend_w = |ctx: &Ctx, size: f32| {
        names
            .iter()
            .map(|n| sw + gap_in + ctx.width(n, size, false))
            .sum::<f32>()
            + gap_out * (names.len() - 1) as f32
    };
    while size > 9.0 && legend_w(ctx, size) > ctx.w - 2.0 * pad {
        size -= 0.5;
    }
    let legend_y = top + ctx.line_h(size) / 2.0;
    let mut x = (ctx.w - legend_w(ctx, size)).max(0.0) / 2.0;
    for (i, name) in names.iter().enumerate() {
        if i < series.len() {
            let color = series[i].1;
            root.draw(&Rectangle::new(
                [
                    px((x, legend_y - ctx.s(1.5))),
                    px((x + sw, legend_y + ctx.s(1.5))),
                ],
                color.filled(),
            ))
            .map_err(de)?;
            root.draw(&Circle::new(
                px((x + sw / 2.0, legend_y)),
                ctx.s(3.5),
                color.filled(),
            ))
            .map_err(de)?;
        } else {
            root.draw(&Rectangle::new(
                [
                    px((x + ctx.s(2.0), legend_y - ctx.s(5.0))),
                    px((x + sw - ctx.s(2.0), legend_y + ctx.s(5.0))),
                ],
                req_color.mix(0.45).filled(),
            ))
            .map_err(de)?;
        }
        x += sw + gap_in;
        ctx.text(
            *name,
            (x, legend_y),
            size,
            false,
            c.muted,
            HAlign::Left,
            VAlign::Center,
        );
        x += ctx.width(name, size, false) + gap_out;
    }

    // Axes: tokens on the left, requests on the right, sharing the grid lines.
    let (t_step, n_int) = nice_axis(max_tokens, 5, true);
    let t_top = t_step * n_int as f64;
    let mut r_step = nice_step(max_req / n_int as f64).max(1.0);
    while r_step * (n_int as f64) < max_req {
        r_step = nice_step(r_step * 1.01);
    }
    let r_top = r_step * n_int as f64;
    let left_ticks: Vec<String> = (0..=n_int)
        .map(|i| fmt_compact(t_step * i as f64))
        .collect();
    let right_ticks: Vec<String> = (0..=n_int)
        .map(|i| fmt_compact(r_step * i as f64))
        .collect();
    let tick_w = |ticks: &[String]| {
        ticks
            .iter()
            .map(|t| ctx.width(t, TICK_SIZE, false))
            .fold(0.0, f32::max)
    };
    let cap_h = ctx.line_h(TICK_SIZE);
    let ml = pad
        + tick_w(&left_ticks).max(ctx.width(&l.tokens_axis, TICK_SIZE, false) * 0.5)
        + ctx.s(8.0);
    let mr = pad
        + tick_w(&right_ticks).max(ctx.width(&l.requests_axis, TICK_SIZE, false) * 0.5)
        + ctx.s(8.0);
    let mt = legend_y + ctx.line_h(size) / 2.0 + ctx.s(10.0) + cap_h + ctx.s(4.0);
    let mb = pad + ctx.line_h(TICK_SIZE) + ctx.s(6.0);
    let n = days.len();
    let mut chart = ChartBuilder::on(root)
        .margin_left(ml.round() as u32)
        .margin_right(mr.round() as u32)
        .margin_top(mt.round() as u32)
        .margin_bottom(mb.round() as u32)
        .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), 0f64..t_top)
        .map_err(de)?;
    let to_px = |chart: &ChartContext<DB, _>, x: f64, y: f64| {
        let (px, py) = chart.backend_coord(&(x, y));
        (px as f32, py as f32)
    };
    let (plot_l, plot_b) = to_px(&chart, -0.5, 0.0);
    let (plot_r, plot_t) = to_px(&chart, n as f64 - 0.5, t_top);

    // Grid, tick labels, axis captions.
    for i in 0..=n_int {
        let y = t_step * i as f64;
        let (_, py) = to_px(&chart, 0.0, y);
        let style = if i == 0 { c.axis } else { c.grid };
        root.draw(&PathElement::new(
            vec![px((plot_l, py)), px((plot_r, py))],
            style.stroke_width(ctx.su(1.0)),
        ))
        .map_err(de)?;
        ctx.text(
            left_ticks[i].clone(),
            (plot_l - ctx.s(8.0), py),
            TICK_SIZE,
            false,
            c.muted,
            HAlign::Right,
            VAlign::Center,
        );
        ctx.text(
            right_ticks[i].clone(),
            (plot_r + ctx.s(8.0), py),
            TICK_SIZE,
            false,
            c.muted,
            HAlign::Left,
            VAlign::Center,
        );
    }
    let cap_y = plot_t - ctx.s(8.0) - ctx.line_h(TICK_SIZE) / 2.0;
    ctx.text(
        l.tokens_axis.clone(),
        (plot_l - ctx.s(8.0), cap_y),
        TICK_SIZE,
        true,
        c.muted,
        HAlign::Left,
        VAlign::Center,
    );
    ctx.text(
        l.requests_axis.clone(),
        (plot_r + ctx.s(8.0), cap_y),
        TICK_SIZE,
        true,
        c.muted,
        HAlign::Right,
        VAlign::Center,
    );

    // Dates, thinned out so they never touch.
    let slot_w = (plot_r - plot_l) / n as f32;
    let date_w = days
        .iter()
        .map(|d| ctx.width(&short_date(&d.date), TICK_SIZE, false))
        .fold(0.0, f32::max)
        + ctx.s(10.0);
    let stride = ((date_w / slot_w).ceil() as usize).max(1);
    for (i, d) in days.iter().enumerate() {
        if i % stride != (n - 1) % stride {
            continue;
        }
        let (x, _) = to_px(&chart, i as f64, 0.0);
        ctx.text(
            short_date(&d.date),
            (x, plot_b + ctx.s(6.0)),
            TICK_SIZE,
            false,
            c.muted,
            HAlign::Center,
            VAlign::Top,
        );
    }

    // Requests as light bars on the right axis, behind the lines.
    let scale_req = t_top / r_top;
    let bar_half = if n == 1 { 0.1 } else { 0.28 };
    chart
        .draw_series(
            requests
                .iter()
                .enumerate()
                .filter(|(_, r)| **r > 0.0)
                .map(|(i, r)| {
                    Rectangle::new(
                        [
                            (i as f64 - bar_half, 0.0),
                            (i as f64 + bar_half, r * scale_req),
                        ],
                        req_color.mix(0.35).filled(),
                    )
                }),
        )
        .map_err(de)?;

    // Token lines with point markers.
    let stroke = ctx.su(2.0);
    // Point markers only while the days are far enough apart for them.
    let marker = if slot_w >= ctx.s(16.0) {
        ctx.si(3.0)
    } else {
        0
    };
    for (_, color, values) in &series {
        let pts: Vec<(f64, f64)> = values
            .iter()
            .enumerate()
            .map(|(i, v)| (i as f64, *v))
            .collect();
        chart
            .draw_series(LineSeries::new(
                pts.iter().copied(),
                color.stroke_width(stroke),
            ))
            .map_err(de)?;
        if marker > 0 {
            let bg = c.background;
            let border = ctx.si(1.5);
            chart
                .draw_series(
                    pts.iter()
                        .map(|p| Circle::new(*p, marker + border, bg.filled())),
                )
                .map_err(de)?;
            chart
                .draw_series(pts.iter().map(|p| Circle::new(*p, marker, color.filled())))
                .map_err(de)?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// 4. Top API keys

fn top_keys<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    snap: &Snapshot,
    ctx: &mut Ctx,
) -> Drawn {
    let l = ctx.labels;
    let top = header(ctx, &l.top_keys_title, Some(&l.cost_axis));
    let mut keys: Vec<_> = snap
        .top_keys
        .iter()
        .filter(|k| k.cost_usd > 0.0 || k.requests > 0)
        .collect();
    if keys.is_empty() {
        return no_data(root, ctx, top);
    }
    keys.sort_by(|a, b| {
        b.cost_usd
            .total_cmp(&a.cost_usd)
            .then(b.requests.cmp(&a.requests))
            .then(a.name.cmp(&b.name))
    });
    let c = ctx.colors;
    let pad = ctx.s(PAD);
    let axis_h = ctx.line_h(TICK_SIZE) + ctx.s(8.0);
    let avail_h = ctx.h - pad - axis_h - top;
    let max_rows = ((avail_h / ctx.s(20.0)).floor() as usize).max(1);
    let want = if snap.top_n == 0 {
        10
    } else {
        snap.top_n as usize
    };
    keys.truncate(want.min(max_rows));
    let rows = keys.len();
    // Rows are at most 36 px apart; a short list is centred with its axis under it.
    let plot_h = avail_h.min(ctx.s(36.0) * rows as f32);
    let plot_top = top + (avail_h - plot_h) / 2.0;
    let bottom = ctx.h - plot_top - plot_h;

    let name_of = |k: &crate::model::KeyUsage| {
        let name = clean::name(&k.name);
        if name.is_empty() {
            clean::name(&k.id)
        } else {
            name
        }
    };
    let name_col = keys
        .iter()
        .map(|k| ctx.width(&name_of(k), LABEL_SIZE, false))
        .fold(0.0, f32::max)
        .min(ctx.w * 0.3);
    // Cost, then "· requests" after a fixed gap (no leading spaces: SVG would collapse them).
    let sep = ctx.s(7.0);
    let values: Vec<(String, String)> = keys
        .iter()
        .map(|k| {
            (
                fmt_usd(k.cost_usd),
                format!("· {} {}", count(k.requests), l.requests_unit),
            )
        })
        .collect();
    let value_col = values
        .iter()
        .map(|(a, b)| ctx.width(a, VALUE_SIZE, true) + sep + ctx.width(b, TICK_SIZE, false))
        .fold(0.0, f32::max)
        + ctx.s(8.0);

    let max_cost = keys.iter().map(|k| k.cost_usd).fold(0.0, f64::max);
    let (step, n_int) = nice_axis(max_cost, 5, false);
    let x_top = step * n_int as f64;
    let ml = pad + name_col + ctx.s(10.0);
    let mr = pad + value_col;
    let mut chart = ChartBuilder::on(root)
        .margin_left(ml.round() as u32)
        .margin_right(mr.round() as u32)
        .margin_top(plot_top.round() as u32)
        .margin_bottom(bottom.round() as u32)
        .build_cartesian_2d(0f64..x_top, 0f64..rows as f64)
        .map_err(de)?;
    let to_px = |x: f64, y: f64| {
        let (px, py) = chart.backend_coord(&(x, y));
        (px as f32, py as f32)
    };
    let (plot_l, plot_b) = to_px(0.0, 0.0);
    let (_, plot_t) = to_px(x_top, rows as f64);
    let row_px = (plot_b - plot_t) / rows as f32;

    for i in 0..=n_int {
        let v = step * i as f64;
        let (x, _) = to_px(v, 0.0);
        let style = if i == 0 { c.axis } else { c.grid };
        root.draw(&PathElement::new(
            vec![px((x, plot_t)), px((x, plot_b))],
            style.stroke_width(ctx.su(1.0)),
        ))
        .map_err(de)?;
        ctx.text(
            fmt_usd_tick(v, step),
            (x, plot_b + ctx.s(6.0)),
            TICK_SIZE,
            false,
            c.muted,
            HAlign::Center,
            VAlign::Top,
        );
    }

    let bar_frac = (ctx.s(18.0) / row_px).min(0.62) as f64;
    let mut bars = Vec::with_capacity(rows);
    for (i, k) in keys.iter().enumerate() {
        let yc = rows as f64 - i as f64 - 0.5;
        let (_, py) = to_px(0.0, yc);
        let name = ctx.clip(&name_of(k), LABEL_SIZE, false, name_col);
        ctx.text(
            name,
            (plot_l - ctx.s(10.0), py),
            LABEL_SIZE,
            false,
            c.text,
            HAlign::Right,
            VAlign::Center,
        );
        let (end, _) = to_px(k.cost_usd, yc);
        let (cost, reqs) = &values[i];
        let vx = end + ctx.s(6.0);
        ctx.text(
            cost.clone(),
            (vx, py),
            VALUE_SIZE,
            true,
            c.text,
            HAlign::Left,
            VAlign::Center,
        );
        ctx.text(
            reqs.clone(),
            (vx + ctx.width(cost, VALUE_SIZE, true) + sep, py),
            TICK_SIZE,
            false,
            c.muted,
            HAlign::Left,
            VAlign::Center,
        );
        if k.cost_usd > 0.0 {
            bars.push(Rectangle::new(
                [
                    (0.0, yc - bar_frac / 2.0),
                    (k.cost_usd, yc + bar_frac / 2.0),
                ],
                theme::BLUE.filled(),
            ));
        }
    }
    chart.draw_series(bars).map_err(de)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_numbers() {
        assert_eq!(count(0), "0");
        assert_eq!(count(1234567), "1,234,567");
        assert_eq!(count(123456), "123,456");
        assert_eq!(count(12), "12");
        assert_eq!(count(1000), "1,000");
        assert_eq!(fmt_compact(950.0), "950");
        assert_eq!(fmt_compact(12_345.0), "12.3K");
        assert_eq!(fmt_compact(4_000_000.0), "4M");
        assert_eq!(fmt_compact(250_000.0), "250K");
        assert_eq!(fmt_usd(1234.567), "$1,234.57");
        assert_eq!(fmt_usd(0.001), "<$0.01");
        assert_eq!(fmt_pct(0.01), "<0.1%");
        assert_eq!(fmt_usd_tick(50.0, 25.0), "$50");
        assert_eq!(fmt_usd_tick(0.5, 0.5), "$0.5");
        assert_eq!(fmt_usd_tick(0.75, 0.25), "$0.75");
        assert_eq!(fmt_usd_tick(0.004, 0.002), "$0.004");
    }

    #[test]
    fn nice_axes_cover_the_max() {
        for max in [0.3, 1.0, 7.0, 99.0, 12_345.0, 9_999_999.0] {
            let (step, n) = nice_axis(max, 5, false);
            assert!(step * n as f64 >= max, "{max}");
            assert!((1..=10).contains(&n), "{max} {n}");
        }
        assert_eq!(nice_axis(0.0, 5, true), (1.0, 5));
        assert_eq!(nice_axis(3.0, 5, true).0, 1.0);
    }

    #[test]
    fn short_dates() {
        assert_eq!(short_date("2025-01-07"), "01-07");
        assert_eq!(short_date("Jan 7"), "Jan 7");
    }
}
