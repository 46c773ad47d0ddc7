//! The four snapshot charts (system overview, model distribution, usage trend, top API keys) as
//! PNG and SVG, in English or Simplified Chinese: the public types and entry points, and the
//! dispatch to one module per chart (`overview`, `models`, `trend`, `top_keys`) over the shared
//! drawing context (`ctx`) and number and axis formatting (`scale`). Rule: empty or zero data
//! draws a clean "no data" chart and never panics or divides by zero; plotters draws shapes and
//! every label goes through the per-glyph font-fallback text layer.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::canvas::{downsample, encode_png, finish_svg};
pub use super::theme::Theme;
use crate::model::Snapshot;

mod ctx;
mod models;
mod overview;
mod scale;
mod top_keys;
mod trend;

use ctx::Ctx;

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

impl From<ChartError> for crate::error::Error {
    fn from(e: ChartError) -> Self {
        crate::error::Error::Chart(e.to_string())
    }
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
    /// Claude Code Hub: providers, and those whose breaker is closed / not closed.
    pub providers: String,
    pub closed_providers: String,
    pub tripped_providers: String,
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
            providers: "Providers".into(),
            closed_providers: "Breaker Closed".into(),
            tripped_providers: "Breaker Open".into(),
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
            providers: "供应商".into(),
            closed_providers: "熔断器正常".into(),
            tripped_providers: "熔断中".into(),
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
        ChartKind::Overview => overview::overview(root, snap, ctx),
        ChartKind::Models => models::models(root, snap, ctx),
        ChartKind::Trend => trend::trend(root, snap, ctx),
        ChartKind::TopKeys => top_keys::top_keys(root, snap, ctx),
    }
}
