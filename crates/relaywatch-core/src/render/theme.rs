//! Chart themes and the series palette. Rule: every colour a chart draws comes from here, so the
//! light and dark themes differ only in this file.

use plotters::style::RGBColor;

/// Light (white background) or dark (#1f2937 background) charts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Theme {
    #[default]
    Light,
    Dark,
}

/// The colours of one theme.
#[derive(Debug, Clone, Copy)]
pub struct Colors {
    pub background: RGBColor,
    /// Titles, values.
    pub text: RGBColor,
    /// Axis labels, legends, notes.
    pub muted: RGBColor,
    /// Grid lines.
    pub grid: RGBColor,
    /// Axis lines.
    pub axis: RGBColor,
    /// Text drawn on top of a series colour (percent labels in slices).
    pub on_series: RGBColor,
}

impl Theme {
    pub fn colors(self) -> Colors {
        match self {
            Theme::Light => Colors {
                background: RGBColor(0xff, 0xff, 0xff),
                text: RGBColor(0x11, 0x18, 0x27),
                muted: RGBColor(0x4b, 0x55, 0x63),
                grid: RGBColor(0xe5, 0xe7, 0xeb),
                axis: RGBColor(0x9c, 0xa3, 0xaf),
                on_series: RGBColor(0xff, 0xff, 0xff),
            },
            Theme::Dark => Colors {
                background: RGBColor(0x1f, 0x29, 0x37),
                text: RGBColor(0xe5, 0xe7, 0xeb),
                muted: RGBColor(0x9c, 0xa3, 0xaf),
                grid: RGBColor(0x37, 0x41, 0x51),
                axis: RGBColor(0x6b, 0x72, 0x80),
                on_series: RGBColor(0xff, 0xff, 0xff),
            },
        }
    }
}

/// Series colours (Tailwind 500s), used in this order.
pub const PALETTE: [RGBColor; 10] = [
    RGBColor(0x3B, 0x82, 0xF6), // blue
    RGBColor(0x10, 0xB9, 0x81), // emerald
    RGBColor(0xF5, 0x9E, 0x0B), // amber
    RGBColor(0xEF, 0x44, 0x44), // red
    RGBColor(0x8B, 0x5C, 0xF6), // violet
    RGBColor(0xEC, 0x48, 0x99), // pink
    RGBColor(0x06, 0xB6, 0xD4), // cyan
    RGBColor(0x84, 0xCC, 0x16), // lime
    RGBColor(0xF9, 0x73, 0x16), // orange
    RGBColor(0x63, 0x66, 0xF1), // indigo
];

/// The colour of "other" (grey-400).
pub const OTHER: RGBColor = RGBColor(0x9C, 0xA3, 0xAF);

pub const BLUE: RGBColor = PALETTE[0];
pub const GREEN: RGBColor = PALETTE[1];
pub const AMBER: RGBColor = PALETTE[2];
pub const RED: RGBColor = PALETTE[3];
pub const VIOLET: RGBColor = PALETTE[4];
pub const CYAN: RGBColor = PALETTE[6];

/// Palette colour `i`, wrapping around.
pub fn series(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}
