//! Schedule benchmark: parsing, next fire times across a year in a DST zone, and the catch-up
//! rule after a long downtime. Prints figures; asserts nothing about speed.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use relaywatch_core::schedule::{due, next_after, next_n, Spec, DEFAULT_GRACE};

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn per(label: &str, n: usize, took: Duration) {
    println!(
        "{label:<52} {n:>8} in {:>9.3} ms  ({:>8.0} ns each)",
        took.as_secs_f64() * 1e3,
        took.as_nanos() as f64 / n as f64
    );
}

fn main() {
    let tz = chrono_tz::America::New_York;
    let start = utc("2026-01-01T00:00:00Z");
    let texts = [
        "0 9 * * 1-5",
        "*/15 * * * *",
        "0 */6 * * *",
        "30 2 * * *",
        "0 0 13 * 5",
        "0 0 29 2 *",
    ];

    let t = Instant::now();
    let n = 10_000;
    for i in 0..n {
        std::hint::black_box(Spec::parse(texts[i % texts.len()]).unwrap());
    }
    per("parse (mixed expressions)", n, t.elapsed());

    for text in texts {
        let spec = Spec::parse(text).unwrap();
        let t = Instant::now();
        let fires = next_n(&spec, tz, start, 1000);
        per(
            &format!("next_n 1000 fires of `{text}` (New York)"),
            fires.len(),
            t.elapsed(),
        );
        let t = Instant::now();
        let mut at = start;
        for _ in 0..200 {
            at = next_after(&spec, tz, at).unwrap();
        }
        per(&format!("next_after x200 of `{text}`"), 200, t.elapsed());
    }

    for (text, label) in [
        ("* * * * *", "every minute"),
        ("*/10 * * * *", "every 10 min"),
    ] {
        let spec = Spec::parse(text).unwrap();
        let last = utc("2025-11-22T00:00:00Z");
        let now = utc("2026-11-22T04:20:00Z");
        let t = Instant::now();
        let d = due(&spec, tz, Some(last), now, DEFAULT_GRACE);
        let skipped = d.skipped.map(|s| s.count).unwrap_or(0);
        per(
            &format!("due() after a year down, {label}: skipped"),
            skipped as usize,
            t.elapsed(),
        );
    }
}
