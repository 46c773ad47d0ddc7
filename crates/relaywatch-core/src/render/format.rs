//! Numbers as the relay shows them: costs `$x.xx` / `$x.xxxx`, tokens `1.23M` / `4.56K`,
//! counts with thousands separators. Pure.

/// Tokens as CRS's UI shows them: `1.23B`, `4.56M`, `7.89K`, or the plain number.
pub fn tokens(n: u64) -> String {
    let f = n as f64;
    if n >= 1_000_000_000 {
        format!("{:.2}B", f / 1e9)
    } else if n >= 1_000_000 {
        format!("{:.2}M", f / 1e6)
    } else if n >= 1_000 {
        format!("{:.2}K", f / 1e3)
    } else {
        n.to_string()
    }
}

/// A count with thousands separators: `12,345`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut groups: Vec<&str> = Vec::new();
    let mut end = digits.len();
    while end > 3 {
        groups.push(&digits[end - 3..end]);
        end -= 3;
    }
    groups.push(&digits[..end]);
    groups.reverse();
    groups.join(",")
}

/// A cost as CRS formats it.
pub fn cost(usd: f64) -> String {
    crate::pricing::format_cost(usd)
}

/// A share as a percentage with one decimal: `83.4%`.
pub fn percent(ratio: f64) -> String {
    format!("{:.1}%", ratio * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(tokens(1_234_567), "1.23M");
        assert_eq!(tokens(4_560), "4.56K");
        assert_eq!(tokens(999), "999");
        assert_eq!(tokens(2_500_000_000), "2.50B");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(count(12), "12");
        assert_eq!(percent(0.834), "83.4%");
    }
}
