//! Number, money, share and date formatting for chart labels, and the maths of nice axis steps.
//! Rule: pure functions that never panic; non-finite or non-positive input gives a zero label or
//! a unit step.

use crate::model::Snapshot;
use crate::render::format::count;

/// "first – last" of the trend's dates, or the one date.
pub(super) fn date_range(snap: &Snapshot) -> Option<String> {
    let first = snap.trend.iter().map(|d| d.date.as_str()).min()?;
    let last = snap.trend.iter().map(|d| d.date.as_str()).max()?;
    Some(if first == last {
        first.to_string()
    } else {
        format!("{first} – {last}")
    })
}

/// Compact figure: 950 → "950", 12_345 → "12.3K", 4_500_000 → "4.5M".
pub(super) fn fmt_compact(v: f64) -> String {
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
pub(super) fn fmt_usd(v: f64) -> String {
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
pub(super) fn fmt_usd_tick(v: f64, step: f64) -> String {
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
pub(super) fn fmt_pct(p: f64) -> String {
    if p > 0.0 && p < 0.1 {
        "<0.1%".into()
    } else {
        format!("{p:.1}%")
    }
}

/// A nice step (1, 2, 2.5 or 5 × 10ⁿ) at least `raw`.
pub(super) fn nice_step(raw: f64) -> f64 {
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
pub(super) fn nice_axis(max: f64, target: usize, integer: bool) -> (f64, usize) {
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
pub(super) fn short_date(d: &str) -> String {
    let b = d.as_bytes();
    if b.len() == 10 && b[4] == b'-' && b[7] == b'-' {
        d[5..].to_string()
    } else {
        d.to_string()
    }
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
