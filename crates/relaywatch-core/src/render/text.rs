//! Text layout and rasterising with per-glyph font fallback. Rule: PNG and SVG lay text out with
//! these same metrics (size = em size in px, line box = DejaVu ascent to descent), so both place
//! every label identically.

use std::fmt::Write as _;

use ab_glyph::{point, Font, FontArc, GlyphId, PxScale};
use plotters::style::RGBColor;

use super::fonts::{self, SVG_FONT_FAMILY};

/// One glyph placed on a line.
#[derive(Clone)]
pub(crate) struct Placed {
    font: &'static FontArc,
    id: GlyphId,
    scale: PxScale,
    /// Pen position from the left of the line.
    x: f32,
}

/// A line of text laid out: glyphs along the baseline and the line box.
#[derive(Clone)]
pub(crate) struct Line {
    pub glyphs: Vec<Placed>,
    /// Advance width in px.
    pub width: f32,
    /// Baseline from the top of the line box, in px.
    pub ascent: f32,
    /// Line box height (ascent plus descent), in px.
    pub height: f32,
}

/// `PxScale` of `font` for an em size of `size` px (ab_glyph scales by ascent-to-descent height).
fn scale_for(font: &FontArc, size: f32) -> (PxScale, f32) {
    let upem = font.units_per_em().unwrap_or(1000.0);
    let px_per_unit = size / upem;
    let h = font.height_unscaled() * px_per_unit;
    (PxScale::from(h), px_per_unit)
}

/// Lays `text` out on one line at em size `size` px; newlines are drawn as spaces.
pub(crate) fn layout(text: &str, size: f32, bold: bool) -> Line {
    let size = size.max(0.0);
    let primary = fonts::primary(bold);
    let upem = primary.units_per_em().unwrap_or(1000.0);
    let ascent = primary.ascent_unscaled() * size / upem;
    let descent = -primary.descent_unscaled() * size / upem;
    let mut glyphs = Vec::with_capacity(text.len());
    let mut x = 0.0f32;
    let mut prev: Option<(&'static FontArc, GlyphId, f32)> = None;
    for c in text.chars() {
        let c = if c.is_control() { ' ' } else { c };
        let (font, _, id) = fonts::resolve(c, bold);
        let (scale, px_per_unit) = scale_for(font, size);
        if let Some((pf, pid, _)) = prev {
            if std::ptr::eq(pf, font) {
                x += font.kern_unscaled(pid, id) * px_per_unit;
            }
        }
        glyphs.push(Placed { font, id, scale, x });
        x += font.h_advance_unscaled(id) * px_per_unit;
        prev = Some((font, id, px_per_unit));
    }
    Line {
        glyphs,
        width: x,
        ascent,
        height: ascent + descent,
    }
}

/// Width and height of `text`'s line box, in whole px.
pub fn measure(text: &str, size: f32, bold: bool) -> (u32, u32) {
    let l = layout(text, size, bold);
    (l.width.ceil() as u32, l.height.ceil() as u32)
}

/// Width of `text` in px (fractional).
pub fn text_width(text: &str, size: f32, bold: bool) -> f32 {
    layout(text, size, bold).width
}

/// Rasterises `text` alone: (width, height, coverage 0–255 row by row over its line box).
pub fn coverage_mask(text: &str, size: f32, bold: bool) -> (u32, u32, Vec<u8>) {
    let line = layout(text, size, bold);
    let (w, h) = (line.width.ceil() as u32, line.height.ceil() as u32);
    let mut mask = vec![0u8; w as usize * h as usize];
    line.rasterize(0.0, 0.0, |x, y, c| {
        if x >= 0 && y >= 0 && (x as u32) < w && (y as u32) < h {
            let i = y as usize * w as usize + x as usize;
            mask[i] = mask[i].max((c * 255.0).round() as u8);
        }
    });
    (w, h, mask)
}

/// Shortens `text` with a trailing "…" until it is at most `max_width` px wide.
pub fn truncate_to_width(text: &str, size: f32, bold: bool, max_width: f32) -> String {
    if text_width(text, size, bold) <= max_width {
        return text.to_string();
    }
    let chars: Vec<char> = text.chars().collect();
    let mut n = chars.len();
    while n > 0 {
        n -= 1;
        let s: String = chars[..n].iter().collect::<String>().trim_end().to_string() + "…";
        if text_width(&s, size, bold) <= max_width {
            return s;
        }
    }
    String::new()
}

impl Line {
    /// Calls `put(x, y, coverage)` for each covered pixel, with (`left`, `top`) the top left of
    /// the line box.
    pub(crate) fn rasterize(&self, left: f32, top: f32, mut put: impl FnMut(i32, i32, f32)) {
        for g in &self.glyphs {
            let glyph =
                g.id.with_scale_and_position(g.scale, point(left + g.x, top + self.ascent));
            if let Some(outlined) = g.font.outline_glyph(glyph) {
                let b = outlined.px_bounds();
                let (bx, by) = (b.min.x as i32, b.min.y as i32);
                outlined.draw(|x, y, c| {
                    if c > 0.0 {
                        put(bx + x as i32, by + y as i32, c.min(1.0));
                    }
                });
            }
        }
    }
}

/// Horizontal anchor of a label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HAlign {
    Left,
    Center,
    Right,
}

/// Vertical anchor of a label, on its line box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VAlign {
    Top,
    Center,
    Bottom,
}

/// One label of a chart, in device px.
#[derive(Debug, Clone)]
pub(crate) struct Label {
    pub text: String,
    pub x: f32,
    pub y: f32,
    pub size: f32,
    pub bold: bool,
    pub color: RGBColor,
    pub h: HAlign,
    pub v: VAlign,
}

impl Label {
    /// Top left of the line box.
    fn origin(&self, line: &Line) -> (f32, f32) {
        let left = match self.h {
            HAlign::Left => self.x,
            HAlign::Center => self.x - line.width / 2.0,
            HAlign::Right => self.x - line.width,
        };
        let top = match self.v {
            VAlign::Top => self.y,
            VAlign::Center => self.y - line.height / 2.0,
            VAlign::Bottom => self.y - line.height,
        };
        (left, top)
    }
}

/// The text of a chart, drawn after (on top of) its shapes.
#[derive(Debug, Default)]
pub(crate) struct TextLayer {
    labels: Vec<Label>,
}

fn escape_xml(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
}

impl TextLayer {
    pub(crate) fn push(&mut self, label: Label) {
        if !label.text.is_empty() && label.size > 0.0 {
            self.labels.push(label);
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.labels.len()
    }

    /// Alpha-blends every label onto an RGB8 buffer of `w`×`h` px.
    pub(crate) fn draw_rgb(&self, buf: &mut [u8], w: u32, h: u32) {
        let (w, h) = (w as i32, h as i32);
        for label in &self.labels {
            let line = layout(&label.text, label.size, label.bold);
            let (left, top) = label.origin(&line);
            let RGBColor(r, g, b) = label.color;
            line.rasterize(left, top, |x, y, a| {
                if x < 0 || y < 0 || x >= w || y >= h {
                    return;
                }
                let i = (y as usize * w as usize + x as usize) * 3;
                for (dst, src) in buf[i..i + 3].iter_mut().zip([r, g, b]) {
                    let v = f32::from(*dst) * (1.0 - a) + f32::from(src) * a;
                    *dst = (v + 0.5) as u8;
                }
            });
        }
    }

    /// Writes the labels as SVG `<text>` elements in a group naming the font-family fallback
    /// list; positions use the same metrics as the bitmap (baseline = top + ascent).
    pub(crate) fn write_svg(&self, out: &mut String) {
        if self.labels.is_empty() {
            return;
        }
        let _ = writeln!(
            out,
            "<g font-family=\"{SVG_FONT_FAMILY}\" xml:space=\"preserve\" style=\"white-space:pre\">"
        );
        for label in &self.labels {
            let line = layout(&label.text, label.size, label.bold);
            let (_, top) = label.origin(&line);
            let anchor = match label.h {
                HAlign::Left => "start",
                HAlign::Center => "middle",
                HAlign::Right => "end",
            };
            let RGBColor(r, g, b) = label.color;
            let _ = write!(
                out,
                "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"{:.1}\" text-anchor=\"{anchor}\" \
                 fill=\"#{r:02x}{g:02x}{b:02x}\"{}>",
                label.x,
                top + line.ascent,
                label.size,
                if label.bold {
                    " font-weight=\"bold\""
                } else {
                    ""
                },
            );
            escape_xml(&label.text, out);
            out.push_str("</text>\n");
        }
        out.push_str("</g>\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_latin_text() {
        let (w, h) = measure("Hello", 20.0, false);
        assert!(w > 40 && w < 80, "width {w}");
        assert_eq!(h, 24); // DejaVu's line box is 1.164 em
        assert_eq!(measure("", 20.0, false).0, 0);
    }

    #[test]
    fn truncates_with_ellipsis() {
        let s = truncate_to_width("a very long model name indeed", 12.0, false, 60.0);
        assert!(s.ends_with('…'));
        assert!(text_width(&s, 12.0, false) <= 60.0);
        assert_eq!(truncate_to_width("short", 12.0, false, 200.0), "short");
    }

    #[test]
    fn rasterizes_ink() {
        let mut ink = 0.0;
        layout("Ag", 16.0, true).rasterize(0.0, 0.0, |_, _, c| ink += c);
        assert!(ink > 10.0);
    }

    #[test]
    fn svg_text_is_escaped() {
        let mut layer = TextLayer::default();
        layer.push(Label {
            text: "a<b & 研发".into(),
            x: 10.0,
            y: 10.0,
            size: 12.0,
            bold: false,
            color: RGBColor(0, 0, 0),
            h: HAlign::Left,
            v: VAlign::Top,
        });
        let mut out = String::new();
        layer.write_svg(&mut out);
        assert!(out.contains(">a&lt;b &amp; 研发</text>"), "{out}");
    }
}
