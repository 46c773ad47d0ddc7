//! The drawing context every chart draws through: logical-to-device sizes, the text layer, the
//! header and the "no data" frame. Rule: sizes are logical px (at 800×400) and `Ctx::s` turns them
//! into device px; every label is cleaned of control and bidi characters before it is queued.

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{de, ChartLabels, ChartOptions, Drawn};
use crate::render::clean;
use crate::render::text::{self, HAlign, Label, TextLayer, VAlign};
use crate::render::theme::Colors;

/// Outer padding.
pub(super) const PAD: f32 = 16.0;
pub(super) const TITLE_SIZE: f32 = 15.0;
pub(super) const SUBTITLE_SIZE: f32 = 11.0;
pub(super) const LABEL_SIZE: f32 = 12.0;
pub(super) const TICK_SIZE: f32 = 11.0;
pub(super) const VALUE_SIZE: f32 = 12.0;

pub(super) struct Ctx<'a> {
    /// Device px per logical px.
    pub(super) k: f32,
    pub(super) w: f32,
    pub(super) h: f32,
    pub(super) colors: Colors,
    pub(super) labels: &'a ChartLabels,
    pub(super) texts: TextLayer,
}

impl<'a> Ctx<'a> {
    pub(super) fn new(opts: &ChartOptions, ss: f32, labels: &'a ChartLabels) -> Self {
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

    pub(super) fn s(&self, v: f32) -> f32 {
        v * self.k
    }

    pub(super) fn si(&self, v: f32) -> i32 {
        (v * self.k).round() as i32
    }

    pub(super) fn su(&self, v: f32) -> u32 {
        (v * self.k).round().max(1.0) as u32
    }

    /// Width in device px of `t` at logical size `size`.
    pub(super) fn width(&self, t: &str, size: f32, bold: bool) -> f32 {
        text::text_width(t, self.s(size), bold)
    }

    /// Line height in device px at logical size `size`.
    pub(super) fn line_h(&self, size: f32) -> f32 {
        text::layout("", self.s(size), false).height
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn text(
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
    pub(super) fn clip(&self, t: &str, size: f32, bold: bool, max_w: f32) -> String {
        text::truncate_to_width(t, self.s(size), bold, max_w)
    }

    /// `t` at the largest size from `size` down to 75% of it that fits `max_w`, truncated with
    /// "…" if even that is too wide.
    pub(super) fn fit(&self, t: &str, size: f32, bold: bool, max_w: f32) -> (String, f32) {
        let mut s = size;
        while s > size * 0.75 && self.width(t, s, bold) > max_w {
            s -= 0.5;
        }
        let fitted = text::truncate_to_width(t, self.s(s), bold, max_w);
        (fitted, s)
    }
}

pub(super) fn px(p: (f32, f32)) -> (i32, i32) {
    (p.0.round() as i32, p.1.round() as i32)
}

/// A plotters chart with f64 data coordinates on both axes (the trend and the top keys).
pub(super) type Plot<'c, DB> = ChartContext<'c, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// The device px of data point (`x`, `y`) on `chart`.
pub(super) fn plot_px<DB: DrawingBackend>(chart: &Plot<DB>, x: f64, y: f64) -> (f32, f32) {
    let (px, py) = chart.backend_coord(&(x, y));
    (px as f32, py as f32)
}

/// Background, title (top left) and an optional muted subtitle (top right). Returns the top of
/// the content area in device px.
pub(super) fn header(ctx: &mut Ctx, title: &str, subtitle: Option<&str>) -> f32 {
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
pub(super) fn no_data<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    ctx: &mut Ctx,
    top: f32,
) -> Drawn {
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
