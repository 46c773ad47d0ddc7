//! Chart 3, the usage trend: tokens per day by kind as lines on the left axis, requests as light
//! bars on the right axis, under a centred legend. Rule: both axes share the grid lines (the same
//! number of intervals), and date labels and point markers thin out so they never touch.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::ctx::{header, no_data, plot_px, px, Ctx, Plot, LABEL_SIZE, PAD, TICK_SIZE};
use super::scale::{date_range, fmt_compact, nice_axis, nice_step, short_date};
use super::{de, ChartLabels, Drawn};
use crate::model::{Snapshot, TrendDay};
use crate::render::text::{HAlign, VAlign};
use crate::render::theme;

/// One token line: its name, its colour, its value per day.
type Series<'l> = (&'l str, RGBColor, Vec<f64>);

/// The colour of the requests bars (and their legend swatch).
const REQ_COLOR: RGBColor = theme::OTHER;

/// The two value axes: tokens on the left, requests on the right, over the same intervals.
struct Axes {
    t_step: f64,
    n_int: usize,
    t_top: f64,
    r_top: f64,
    left_ticks: Vec<String>,
    right_ticks: Vec<String>,
}

impl Axes {
    fn new(max_tokens: f64, max_req: f64) -> Self {
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
        Axes {
            t_step,
            n_int,
            t_top,
            r_top,
            left_ticks,
            right_ticks,
        }
    }
}

/// The plot area's edges in device px.
struct Frame {
    left: f32,
    bottom: f32,
    right: f32,
    top: f32,
}

/// The four token lines over `days`.
fn token_series<'l>(days: &[&TrendDay], l: &'l ChartLabels) -> [Series<'l>; 4] {
    [
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
    ]
}

pub(super) fn trend<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    snap: &Snapshot,
    ctx: &mut Ctx,
) -> Drawn {
    let l = ctx.labels;
    let mut days: Vec<_> = snap.trend.iter().collect();
    days.sort_by(|a, b| a.date.cmp(&b.date));
    let range = date_range(snap);
    let top = header(ctx, &l.trend_title, range.as_deref());
    let series = token_series(&days, l);
    let requests: Vec<f64> = days.iter().map(|d| d.requests as f64).collect();
    let max_tokens = series
        .iter()
        .flat_map(|s| s.2.iter().copied())
        .fold(0.0, f64::max);
    let max_req = requests.iter().copied().fold(0.0, f64::max);
    if days.is_empty() || (max_tokens <= 0.0 && max_req <= 0.0) {
        return no_data(root, ctx, top);
    }
    let legend_at = legend(root, ctx, &series, top)?;
    let axes = Axes::new(max_tokens, max_req);
    let n = days.len();
    let mut chart = plot_area(root, ctx, &axes, legend_at, n)?;
    let (left, bottom) = plot_px(&chart, -0.5, 0.0);
    let (right, plot_top) = plot_px(&chart, n as f64 - 0.5, axes.t_top);
    let frame = Frame {
        left,
        bottom,
        right,
        top: plot_top,
    };
    grid(root, ctx, &chart, &axes, &frame)?;
    let slot_w = dates(ctx, &chart, &days, &frame);
    request_bars(&mut chart, &requests, &axes, n)?;
    token_lines(&mut chart, ctx, &series, slot_w)
}

/// Legend row under the title, centred, its text shrunk (down to 9) to fit. Returns its middle
/// line's y and its text size.
fn legend<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    ctx: &mut Ctx,
    series: &[Series],
    top: f32,
) -> Result<(f32, f32), String> {
    let pad = ctx.s(PAD);
    let mut size = LABEL_SIZE;
    let (sw, gap_in, gap_out) = (ctx.s(14.0), ctx.s(6.0), ctx.s(18.0));
    let names: Vec<&str> = series
        .iter()
        .map(|s| s.0)
        .chain(std::iter::once(ctx.labels.requests.as_str()))
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
        legend_swatch(root, ctx, series.get(i).map(|s| s.1), (x, legend_y), sw)?;
        x += sw + gap_in;
        ctx.text(
            *name,
            (x, legend_y),
            size,
            false,
            ctx.colors.muted,
            HAlign::Left,
            VAlign::Center,
        );
        x += ctx.width(name, size, false) + gap_out;
    }
    Ok((legend_y, size))
}

/// A legend swatch of width `sw` at (`x`, `y`): a line with a dot for a token series (`color`),
/// a light bar for the requests (`None`).
fn legend_swatch<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    ctx: &Ctx,
    color: Option<RGBColor>,
    (x, legend_y): (f32, f32),
    sw: f32,
) -> Drawn {
    if let Some(color) = color {
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
            REQ_COLOR.mix(0.45).filled(),
        ))
        .map_err(de)?;
    }
    Ok(())
}

/// The plot over `n` days, its margins leaving room for the tick labels on both sides, the axis
/// captions and the legend (middle line `legend_y`, text size `size`) above, the dates below.
fn plot_area<'r, DB: DrawingBackend>(
    root: &'r DrawingArea<DB, Shift>,
    ctx: &Ctx,
    axes: &Axes,
    (legend_y, size): (f32, f32),
    n: usize,
) -> Result<Plot<'r, DB>, String> {
    let (pad, l) = (ctx.s(PAD), ctx.labels);
    let tick_w = |ticks: &[String]| {
        ticks
            .iter()
            .map(|t| ctx.width(t, TICK_SIZE, false))
            .fold(0.0, f32::max)
    };
    let cap_h = ctx.line_h(TICK_SIZE);
    let ml = pad
        + tick_w(&axes.left_ticks).max(ctx.width(&l.tokens_axis, TICK_SIZE, false) * 0.5)
        + ctx.s(8.0);
    let mr = pad
        + tick_w(&axes.right_ticks).max(ctx.width(&l.requests_axis, TICK_SIZE, false) * 0.5)
        + ctx.s(8.0);
    let mt = legend_y + ctx.line_h(size) / 2.0 + ctx.s(10.0) + cap_h + ctx.s(4.0);
    let mb = pad + ctx.line_h(TICK_SIZE) + ctx.s(6.0);
    ChartBuilder::on(root)
        .margin_left(ml.round() as u32)
        .margin_right(mr.round() as u32)
        .margin_top(mt.round() as u32)
        .margin_bottom(mb.round() as u32)
        .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), 0f64..axes.t_top)
        .map_err(de)
}

/// Grid, tick labels on both sides, axis captions above them.
fn grid<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    ctx: &mut Ctx,
    chart: &Plot<DB>,
    axes: &Axes,
    f: &Frame,
) -> Drawn {
    let c = ctx.colors;
    for i in 0..=axes.n_int {
        let y = axes.t_step * i as f64;
        let (_, py) = plot_px(chart, 0.0, y);
        let style = if i == 0 { c.axis } else { c.grid };
        root.draw(&PathElement::new(
            vec![px((f.left, py)), px((f.right, py))],
            style.stroke_width(ctx.su(1.0)),
        ))
        .map_err(de)?;
        ctx.text(
            axes.left_ticks[i].clone(),
            (f.left - ctx.s(8.0), py),
            TICK_SIZE,
            false,
            c.muted,
            HAlign::Right,
            VAlign::Center,
        );
        ctx.text(
            axes.right_ticks[i].clone(),
            (f.right + ctx.s(8.0), py),
            TICK_SIZE,
            false,
            c.muted,
            HAlign::Left,
            VAlign::Center,
        );
    }
    let cap_y = f.top - ctx.s(8.0) - ctx.line_h(TICK_SIZE) / 2.0;
    ctx.text(
        ctx.labels.tokens_axis.clone(),
        (f.left - ctx.s(8.0), cap_y),
        TICK_SIZE,
        true,
        c.muted,
        HAlign::Left,
        VAlign::Center,
    );
    ctx.text(
        ctx.labels.requests_axis.clone(),
        (f.right + ctx.s(8.0), cap_y),
        TICK_SIZE,
        true,
        c.muted,
        HAlign::Right,
        VAlign::Center,
    );
    Ok(())
}

/// Dates, thinned out so they never touch (the last day always labelled). Returns the width of
/// one day's slot in device px.
fn dates<DB: DrawingBackend>(
    ctx: &mut Ctx,
    chart: &Plot<DB>,
    days: &[&TrendDay],
    f: &Frame,
) -> f32 {
    let n = days.len();
    let slot_w = (f.right - f.left) / n as f32;
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
        let (x, _) = plot_px(chart, i as f64, 0.0);
        ctx.text(
            short_date(&d.date),
            (x, f.bottom + ctx.s(6.0)),
            TICK_SIZE,
            false,
            ctx.colors.muted,
            HAlign::Center,
            VAlign::Top,
        );
    }
    slot_w
}

/// Requests as light bars on the right axis, behind the lines.
fn request_bars<DB: DrawingBackend>(
    chart: &mut Plot<DB>,
    requests: &[f64],
    axes: &Axes,
    n: usize,
) -> Drawn {
    let scale_req = axes.t_top / axes.r_top;
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
                        REQ_COLOR.mix(0.35).filled(),
                    )
                }),
        )
        .map_err(de)?;
    Ok(())
}

/// Token lines, with point markers while the days (`slot_w` apart) are far enough apart.
fn token_lines<DB: DrawingBackend>(
    chart: &mut Plot<DB>,
    ctx: &Ctx,
    series: &[Series],
    slot_w: f32,
) -> Drawn {
    let stroke = ctx.su(2.0);
    let marker = if slot_w >= ctx.s(16.0) {
        ctx.si(3.0)
    } else {
        0
    };
    for (_, color, values) in series {
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
            let bg = ctx.colors.background;
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
