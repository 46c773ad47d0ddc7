//! CRS's `CostCalculator.formatCost` and the JavaScript `Number.prototype.toFixed` it relies on.
//! Rule kept: a value exactly halfway rounds away from zero (JavaScript), not to even (Rust's
//! `{:.N}`), and `-0` prints as `0`.

/// CRS's `formatCost(cost)`: `$x.xx` when `usd >= 1`, `$x.xxxx` when `usd >= 0.001`, otherwise
/// six decimals (so 0 is `$0.000000` and a negative amount is `$-0.500000`).
pub fn format_cost(usd: f64) -> String {
    let decimals = if usd >= 1.0 {
        2
    } else if usd >= 0.001 {
        4
    } else {
        6
    };
    format!("${}", js_to_fixed(usd, decimals))
}

/// JavaScript's `x.toFixed(decimals)` for `decimals` up to 100: exact decimal rounding with
/// ties away from zero, `NaN`/`Infinity` spelled as JavaScript does, and exponent notation from
/// 1e21 up.
pub fn js_to_fixed(x: f64, decimals: usize) -> String {
    if x.is_nan() {
        return "NaN".to_string();
    }
    if x.is_infinite() {
        return if x > 0.0 { "Infinity" } else { "-Infinity" }.to_string();
    }
    if x == 0.0 {
        return format!("{:.*}", decimals, 0.0f64);
    }
    let (sign, m) = if x < 0.0 { ("-", -x) } else { ("", x) };
    if m >= 1e21 {
        // Number::toString: shortest digits, "e+" exponent.
        return format!("{sign}{}", format!("{m:e}").replace('e', "e+"));
    }
    // A tie has at most `decimals + 1` fractional digits, so 60 more digits show it exactly.
    let long = format!("{:.*}", decimals + 61, m);
    let dot = long.find('.').unwrap_or(long.len());
    let frac = &long[dot + 1..];
    let is_tie = frac.as_bytes().get(decimals) == Some(&b'5')
        && frac.as_bytes()[decimals + 1..].iter().all(|&b| b == b'0');
    if !is_tie {
        return format!("{sign}{:.*}", decimals, m);
    }
    // Round the magnitude up: truncate after `decimals` digits, add one unit in the last place.
    let kept: Vec<u8> = long.as_bytes()[..dot]
        .iter()
        .chain(&frac.as_bytes()[..decimals])
        .copied()
        .collect();
    let mut digits = kept;
    let mut i = digits.len();
    loop {
        if i == 0 {
            digits.insert(0, b'1');
            break;
        }
        i -= 1;
        if digits[i] == b'9' {
            digits[i] = b'0';
        } else {
            digits[i] += 1;
            break;
        }
    }
    let int_len = digits.len() - decimals;
    let int_part = std::str::from_utf8(&digits[..int_len]).unwrap_or("0");
    if decimals == 0 {
        format!("{sign}{int_part}")
    } else {
        let frac_part = std::str::from_utf8(&digits[int_len..]).unwrap_or("");
        format!("{sign}{int_part}.{frac_part}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_cost_boundaries() {
        assert_eq!(format_cost(0.0), "$0.000000");
        assert_eq!(format_cost(-0.0), "$0.000000");
        assert_eq!(format_cost(0.000_123_4), "$0.000123");
        assert_eq!(format_cost(0.000_999_9), "$0.001000");
        assert_eq!(format_cost(0.001), "$0.0010");
        assert_eq!(format_cost(0.123_456), "$0.1235");
        assert_eq!(format_cost(0.999_99), "$1.0000");
        assert_eq!(format_cost(1.0), "$1.00");
        assert_eq!(format_cost(1234.567), "$1234.57");
        assert_eq!(format_cost(-0.5), "$-0.500000");
        assert_eq!(format_cost(f64::NAN), "$NaN");
    }

    #[test]
    fn to_fixed_rounds_exact_ties_away_from_zero() {
        // Exact binary ties: JavaScript rounds up, Rust's {:.N} would round to even.
        assert_eq!(js_to_fixed(0.125, 2), "0.13");
        assert_eq!(js_to_fixed(2.5, 0), "3");
        assert_eq!(js_to_fixed(0.25, 1), "0.3");
        assert_eq!(js_to_fixed(-0.125, 2), "-0.13");
        assert_eq!(js_to_fixed(9.995, 2), "9.99"); // 9.995 is below the tie in binary
        assert_eq!(js_to_fixed(99.5, 0), "100");
        assert_eq!(js_to_fixed(0.375, 2), "0.38");
        // Not ties: the exact value decides.
        assert_eq!(js_to_fixed(1.005, 2), "1.00");
        assert_eq!(js_to_fixed(2.675, 2), "2.67");
        assert_eq!(js_to_fixed(1e21, 2), "1e+21");
        assert_eq!(js_to_fixed(-1e-7, 6), "-0.000000");
    }
}
