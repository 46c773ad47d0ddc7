//! Exact money for CCH's `numeric(21, 15)` costs: sums read as PostgreSQL's decimal text and
//! added as integers of 10⁻¹⁵ USD; rule: adding partial sums gives the very number one `sum()`
//! over all the rows gives, and [`Exact::to_f64`] rounds it as PostgreSQL's `::float8` does
//! (once, to the nearest), so a figure summed from kept days equals a fresh read's to the bit.

use std::ops::AddAssign;

/// Fractional digits kept (CCH's `cost_usd` scale).
const SCALE: u32 = 15;

/// A cost in units of 10⁻¹⁵ USD.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Exact(pub i128);

impl Exact {
    /// From PostgreSQL's text of a numeric (`-12.5`, `0.000000000000001`, `3`); digits past the
    /// 15th decimal are rounded half away from zero. `None` for anything else.
    pub fn parse(text: &str) -> Option<Exact> {
        let t = text.trim();
        let (neg, t) = match t.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, t),
        };
        let (int, frac) = t.split_once('.').unwrap_or((t, ""));
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if int.is_empty() && frac.is_empty() || !digits(int) || !digits(frac) {
            return None;
        }
        let mut v: i128 = 0;
        for b in int.bytes() {
            v = v.checked_mul(10)?.checked_add((b - b'0') as i128)?;
        }
        let kept = &frac[..frac.len().min(SCALE as usize)];
        for i in 0..SCALE as usize {
            let d = kept.as_bytes().get(i).map_or(0, |b| (b - b'0') as i128);
            v = v.checked_mul(10)?.checked_add(d)?;
        }
        if frac
            .as_bytes()
            .get(SCALE as usize)
            .is_some_and(|b| *b >= b'5')
        {
            v = v.checked_add(1)?;
        }
        Some(Exact(if neg { -v } else { v }))
    }

    /// The nearest `f64` (through the decimal text, so the rounding is Rust's correct one, the
    /// same PostgreSQL's `float8in` makes).
    pub fn to_f64(self) -> f64 {
        self.to_string().parse().unwrap_or(0.0)
    }
}

impl std::fmt::Display for Exact {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let unit = 10i128.pow(SCALE);
        let sign = if self.0 < 0 { "-" } else { "" };
        let a = self.0.unsigned_abs();
        let unit = unit as u128;
        write!(
            f,
            "{sign}{}.{:0width$}",
            a / unit,
            a % unit,
            width = SCALE as usize
        )
    }
}

impl AddAssign for Exact {
    fn add_assign(&mut self, o: Exact) {
        self.0 = self.0.saturating_add(o.0);
    }
}

impl std::iter::Sum for Exact {
    fn sum<I: Iterator<Item = Exact>>(iter: I) -> Exact {
        let mut t = Exact::default();
        for x in iter {
            t += x;
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_postgres_numeric_text() {
        assert_eq!(Exact::parse("0"), Some(Exact(0)));
        assert_eq!(Exact::parse("1.5"), Some(Exact(1_500_000_000_000_000)));
        assert_eq!(Exact::parse("-0.000000000000001"), Some(Exact(-1)));
        assert_eq!(Exact::parse(".25"), Some(Exact(250_000_000_000_000)));
        // A 16th digit rounds.
        assert_eq!(Exact::parse("0.0000000000000015"), Some(Exact(2)));
        for bad in ["", "-", ".", "1e3", "NaN", "1.2.3", "１"] {
            assert_eq!(Exact::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn parts_add_up_to_the_whole_and_round_once() {
        // 0.1 + 0.2 in floats is 0.30000000000000004; exactly it is 0.3.
        let s: Exact = ["0.1", "0.2"]
            .iter()
            .map(|t| Exact::parse(t).unwrap())
            .sum();
        assert_eq!(s.to_f64(), 0.3);
        assert_eq!(s.to_string(), "0.300000000000000");
        let big = Exact::parse("123456789.123456789012345").unwrap();
        assert_eq!(big.to_string(), "123456789.123456789012345");
        assert_eq!(big.to_f64(), 123456789.12345679);
        assert_eq!(Exact::parse("-2.5").unwrap().to_f64(), -2.5);
    }
}
