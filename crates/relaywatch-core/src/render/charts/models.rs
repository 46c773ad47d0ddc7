//! Chart 2, the model distribution: a doughnut of the top 10 models by all tokens (plus "other"),
//! the total in its hole and a legend of name, tokens and share. Rule: slices run clockwise from
//! 12 o'clock parted by a constant-width gap, and a percent label is drawn only where it fits.

use std::f64::consts::{FRAC_PI_2, TAU};

use plotters::coord::Shift;
use plotters::prelude::*;

use super::ctx::{header, no_data, px, Ctx, LABEL_SIZE, PAD};
use super::scale::{date_range, fmt_compact, fmt_pct};
use super::{de, Drawn};
use crate::model::Snapshot;
use crate::render::clean;
use crate::render::text::{HAlign, VAlign};
use crate::render::theme;

/// One slice: the model's name, its tokens, its colour.
type Slice = (String, u64, RGBColor);

/// The doughnut's place and size in device px, and the sum of its slices.
struct Doughnut {
    cx: f32,
    cy: f32,
    r_out: f32,
    r_in: f32,
    total: u64,
}

/// The doughnut's slices: the top 10 models by all tokens, then "other" for the rest.
fn model_slices(snap: &Snapshot, other: &str) -> Vec<Slice> {
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

pub(super) fn models<DB: DrawingBackend>(
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
    let pad = ctx.s(PAD);
    let (content_w, content_h) = (ctx.w - 2.0 * pad, ctx.h - pad - top);
    let region = content_h.min(content_w * 0.42);
    let r_out = (region / 2.0 - ctx.s(2.0)).max(ctx.s(10.0));
    let d = Doughnut {
        cx: pad + ctx.s(8.0) + region / 2.0,
        cy: top + content_h / 2.0,
        r_out,
        r_in: r_out * 0.58,
        total,
    };
    let centres = draw_slices(root, ctx, &d, &slices)?;
    percent_labels(ctx, &d, &slices, &centres);
    hole_total(ctx, &d);
    let lx0 = pad + region + ctx.s(36.0);
    legend(root, ctx, &slices, total, (lx0, top, content_h))
}

/// Slices clockwise from 12 o'clock, parted by a gap of constant width. Returns each slice's
/// middle angle and sweep.
fn draw_slices<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    ctx: &Ctx,
    d: &Doughnut,
    slices: &[Slice],
) -> Result<Vec<(f64, f64)>, String> {
    let gap = if slices.len() > 1 { ctx.s(1.5) } else { 0.0 };
    let step = (1.5f64).to_radians();
    let mut a = -FRAC_PI_2;
    let mut centres = Vec::with_capacity(slices.len());
    for (_, v, color) in slices {
        let sweep = *v as f64 / d.total as f64 * TAU;
        let (a0, a1) = (a, a + sweep);
        a = a1;
        centres.push(((a0 + a1) / 2.0, sweep));
        let (go, gi) = (f64::from(gap / d.r_out), f64::from(gap / d.r_in));
        if sweep <= 2.0 * gi {
            continue;
        }
        let mut pts: Vec<(i32, i32)> = arc(d.cx, d.cy, d.r_out, a0 + go, a1 - go, step).collect();
        pts.extend(arc(d.cx, d.cy, d.r_in, a1 - gi, a0 + gi, step));
        root.draw(&Polygon::new(pts, color.filled())).map_err(de)?;
    }
    Ok(centres)
}

/// Percent labels where the slice is wide enough for them.
fn percent_labels(ctx: &mut Ctx, d: &Doughnut, slices: &[Slice], centres: &[(f64, f64)]) {
    let r_mid = (d.r_out + d.r_in) / 2.0;
    for ((_, v, _), (mid, sweep)) in slices.iter().zip(centres) {
        let label = fmt_pct(*v as f64 / d.total as f64 * 100.0);
        let lw = ctx.width(&label, 11.0, true);
        let band = d.r_out - d.r_in;
        if (*sweep as f32) * r_mid < lw + ctx.s(6.0) || band < lw * 0.8 {
            continue;
        }
        let (x, y) = (
            d.cx + r_mid * mid.cos() as f32,
            d.cy + r_mid * mid.sin() as f32,
        );
        ctx.text(
            label,
            (x, y),
            11.0,
            true,
            ctx.colors.on_series,
            HAlign::Center,
            VAlign::Center,
        );
    }
}

/// The total, and its caption, in the hole.
fn hole_total(ctx: &mut Ctx, d: &Doughnut) {
    let c = ctx.colors;
    let total_size = (20.0 * d.r_in / ctx.s(96.0)).clamp(12.0, 22.0);
    ctx.text(
        fmt_compact(d.total as f64),
        (d.cx, d.cy - ctx.s(2.0)),
        total_size,
        true,
        c.text,
        HAlign::Center,
        VAlign::Bottom,
    );
    let caption = ctx.labels.total_tokens.clone();
    let (caption, cap_size) = ctx.fit(&caption, 11.0, false, d.r_in * 1.6);
    ctx.text(
        caption,
        (d.cx, d.cy + ctx.s(2.0)),
        cap_size,
        false,
        c.muted,
        HAlign::Center,
        VAlign::Top,
    );
}

/// Legend: swatch, name, tokens, share, one row per slice, from `lx0` to the right padding and
/// centred in the content band of height `content_h` under `top`.
fn legend<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    ctx: &mut Ctx,
    slices: &[Slice],
    total: u64,
    (lx0, top, content_h): (f32, f32, f32),
) -> Drawn {
    let c = ctx.colors;
    let lx1 = ctx.w - ctx.s(PAD);
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
