//! Chart 4, the top API keys: one horizontal bar per key by cost (top N, as many as fit), its
//! name on the left and "cost · requests" after the bar. Rule: keys with neither cost nor
//! requests are left out; rows are at most 36 px apart and a short list is centred.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::ctx::{header, no_data, plot_px, px, Ctx, Plot, LABEL_SIZE, PAD, TICK_SIZE, VALUE_SIZE};
use super::scale::{fmt_usd, fmt_usd_tick, nice_axis};
use super::{de, ChartLabels, Drawn};
use crate::model::{KeyUsage, Snapshot};
use crate::render::clean;
use crate::render::format::count;
use crate::render::text::{HAlign, VAlign};
use crate::render::theme;

/// The text columns beside the bars.
struct Columns {
    /// Width of the names' column, in device px.
    name_col: f32,
    /// The gap between a cost and its "· requests".
    sep: f32,
    /// Per key: its cost, its "· requests".
    values: Vec<(String, String)>,
}

/// Keys with a cost or requests, dearest first (then most requests, then by name).
fn ranked_keys(snap: &Snapshot) -> Vec<&KeyUsage> {
    let mut keys: Vec<_> = snap
        .top_keys
        .iter()
        .filter(|k| k.cost_usd > 0.0 || k.requests > 0)
        .collect();
    keys.sort_by(|a, b| {
        b.cost_usd
            .total_cmp(&a.cost_usd)
            .then(b.requests.cmp(&a.requests))
            .then(a.name.cmp(&b.name))
    });
    keys
}

/// A key's cleaned name, or its cleaned id when it has no name.
fn name_of(k: &KeyUsage) -> String {
    let name = clean::name(&k.name);
    if name.is_empty() {
        clean::name(&k.id)
    } else {
        name
    }
}

/// The name column (at most 30% of the width) and the value texts of `keys`.
fn columns(ctx: &Ctx, keys: &[&KeyUsage], l: &ChartLabels) -> Columns {
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
    Columns {
        name_col,
        sep,
        values,
    }
}

pub(super) fn top_keys<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    snap: &Snapshot,
    ctx: &mut Ctx,
) -> Drawn {
    let l = ctx.labels;
    let top = header(ctx, &l.top_keys_title, Some(&l.cost_axis));
    let mut keys = ranked_keys(snap);
    if keys.is_empty() {
        return no_data(root, ctx, top);
    }
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
    let cols = columns(ctx, &keys, l);
    let value_col = cols
        .values
        .iter()
        .map(|(a, b)| ctx.width(a, VALUE_SIZE, true) + cols.sep + ctx.width(b, TICK_SIZE, false))
        .fold(0.0, f32::max)
        + ctx.s(8.0);
    let max_cost = keys.iter().map(|k| k.cost_usd).fold(0.0, f64::max);
    let (step, n_int) = nice_axis(max_cost, 5, false);
    let x_top = step * n_int as f64;
    let ml = pad + cols.name_col + ctx.s(10.0);
    let mr = pad + value_col;
    let mut chart = ChartBuilder::on(root)
        .margin_left(ml.round() as u32)
        .margin_right(mr.round() as u32)
        .margin_top(plot_top.round() as u32)
        .margin_bottom(bottom.round() as u32)
        .build_cartesian_2d(0f64..x_top, 0f64..rows as f64)
        .map_err(de)?;
    cost_axis(root, ctx, &chart, (step, n_int), x_top, rows)?;
    let bars = key_rows(ctx, &chart, &keys, &cols);
    chart.draw_series(bars).map_err(de)?;
    Ok(())
}

/// The cost axis: a vertical grid line and a dollar tick under the plot every `step`, over
/// `n_int` intervals up to `x_top`, across the plot's `rows`.
fn cost_axis<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    ctx: &mut Ctx,
    chart: &Plot<DB>,
    (step, n_int): (f64, usize),
    x_top: f64,
    rows: usize,
) -> Drawn {
    let c = ctx.colors;
    let (_, plot_b) = plot_px(chart, 0.0, 0.0);
    let (_, plot_t) = plot_px(chart, x_top, rows as f64);
    for i in 0..=n_int {
        let v = step * i as f64;
        let (x, _) = plot_px(chart, v, 0.0);
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
    Ok(())
}

/// Each key's name, cost and requests as text, top row first. Returns the bars of the keys
/// with a cost, for the chart to draw.
fn key_rows<DB: DrawingBackend>(
    ctx: &mut Ctx,
    chart: &Plot<DB>,
    keys: &[&KeyUsage],
    cols: &Columns,
) -> Vec<Rectangle<(f64, f64)>> {
    let c = ctx.colors;
    let rows = keys.len();
    let (plot_l, plot_b) = plot_px(chart, 0.0, 0.0);
    let (_, plot_t) = plot_px(chart, 0.0, rows as f64);
    let row_px = (plot_b - plot_t) / rows as f32;
    let bar_frac = (ctx.s(18.0) / row_px).min(0.62) as f64;
    let mut bars = Vec::with_capacity(rows);
    for (i, k) in keys.iter().enumerate() {
        let yc = rows as f64 - i as f64 - 0.5;
        let (_, py) = plot_px(chart, 0.0, yc);
        let name = ctx.clip(&name_of(k), LABEL_SIZE, false, cols.name_col);
        ctx.text(
            name,
            (plot_l - ctx.s(10.0), py),
            LABEL_SIZE,
            false,
            c.text,
            HAlign::Right,
            VAlign::Center,
        );
        let (end, _) = plot_px(chart, k.cost_usd, yc);
        let (cost, reqs) = &cols.values[i];
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
            (vx + ctx.width(cost, VALUE_SIZE, true) + cols.sep, py),
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
    bars
}
