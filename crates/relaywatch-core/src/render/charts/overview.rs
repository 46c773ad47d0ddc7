//! Chart 1, the system overview: one bar per headline figure (API keys, accounts, today's
//! requests and tokens, normal and abnormal accounts). Rule: bar heights are log(1 + v) so a
//! handful of accounts stays visible next to millions of tokens; a zero figure draws no bar.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::ctx::{header, no_data, px, Ctx, LABEL_SIZE, PAD, VALUE_SIZE};
use super::{de, ChartLabels, Drawn};
use crate::model::Snapshot;
use crate::render::format::count;
use crate::render::text::{HAlign, VAlign};
use crate::render::theme;

/// One bar: its name, its value with the figure shown above it, its colour.
type Bar<'l> = (&'l str, (f64, String), RGBColor);

/// Where the bars go, in device px.
struct Layout {
    x0: f32,
    slot: f32,
    name_w: f32,
    y_base: f32,
    plot_h: f32,
    /// log(1 + the largest value): the full bar height.
    denom: f64,
}

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

/// The six bars, in order.
fn bars<'l>(snap: &Snapshot, l: &'l ChartLabels) -> [Bar<'l>; 6] {
    let acc = snap.accounts_total();
    // "Tokens" on CRS's today card are input plus output.
    let tokens_k = snap.usage_today.core_tokens as f64 / 1000.0;
    let tokens_label = if tokens_k > 0.0 && tokens_k < 100.0 {
        format!("{tokens_k:.1}")
    } else {
        count(tokens_k.round() as u64)
    };
    let bar = |v: u64| (v as f64, count(v));
    if !snap.providers.is_empty() {
        // Claude Code Hub: its providers and their breakers stand where CRS's accounts do.
        let closed = snap
            .providers
            .iter()
            .filter(|p| p.breaker.state == "closed")
            .count() as u64;
        let all = snap.providers.len() as u64;
        return [
            (&l.api_keys, bar(snap.api_keys.total), theme::BLUE),
            (&l.providers, bar(all), theme::VIOLET),
            (
                &l.today_requests,
                bar(snap.usage_today.requests),
                theme::CYAN,
            ),
            (&l.today_tokens_k, (tokens_k, tokens_label), theme::AMBER),
            (&l.closed_providers, bar(closed), theme::GREEN),
            (&l.tripped_providers, bar(all - closed), theme::RED),
        ];
    }
    [
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
    ]
}

pub(super) fn overview<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    snap: &Snapshot,
    ctx: &mut Ctx,
) -> Drawn {
    let l = ctx.labels;
    let bars = bars(snap, l);
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
    let layout = Layout {
        x0,
        slot,
        name_w,
        y_base,
        plot_h: (y_base - y_top).max(1.0),
        denom: max.ln_1p(),
    };
    for (i, bar) in bars.iter().enumerate() {
        draw_bar(root, ctx, &layout, i, bar, &names[i])?;
    }
    root.draw(&PathElement::new(
        vec![px((x0, y_base)), px((x1, y_base))],
        ctx.colors.axis.stroke_width(ctx.su(1.0)),
    ))
    .map_err(de)?;
    Ok(())
}

/// Bar `i`: the bar itself, its figure above it and its name (one or two lines) below.
fn draw_bar<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    ctx: &mut Ctx,
    at: &Layout,
    i: usize,
    (_, (v, shown), color): &Bar,
    name: &[String],
) -> Drawn {
    let c = ctx.colors;
    let cx = at.x0 + at.slot * (i as f32 + 0.5);
    let bw = (at.slot * 0.56).min(ctx.s(72.0));
    let frac = if *v > 0.0 {
        (v.ln_1p() / at.denom) as f32
    } else {
        0.0
    };
    let bh = if *v > 0.0 {
        (frac * at.plot_h).max(ctx.s(2.0))
    } else {
        0.0
    };
    if bh > 0.0 {
        root.draw(&Rectangle::new(
            [
                px((cx - bw / 2.0, at.y_base - bh)),
                px((cx + bw / 2.0, at.y_base)),
            ],
            color.filled(),
        ))
        .map_err(de)?;
    }
    ctx.text(
        shown.clone(),
        (cx, at.y_base - bh - ctx.s(5.0)),
        VALUE_SIZE,
        true,
        c.text,
        HAlign::Center,
        VAlign::Bottom,
    );
    for (j, line) in name.iter().enumerate() {
        let (line, size) = ctx.fit(line, LABEL_SIZE, false, at.name_w);
        let y = at.y_base + ctx.s(8.0) + ctx.line_h(LABEL_SIZE) * j as f32;
        ctx.text(
            line,
            (cx, y),
            size,
            false,
            c.muted,
            HAlign::Center,
            VAlign::Top,
        );
    }
    Ok(())
}
