//! The one duration grammar every face accepts for silences, pauses and snoozes (`90s`, `30m`,
//! `1h30m`, `1h 30m`, `2d`, `1w`): humantime's units, read to the whole second. Rule: a span is
//! at least one second and at most 366 days, and a bare number is refused: its unit is unsaid.

/// The longest span a silence or pause may take.
pub const MAX_DAYS: i64 = 366;

/// What the user is told a duration must look like.
pub const DURATION_HINT: &str =
    "must be a duration with a unit, such as 90s, 30m, 1h30m or 2d (at most 366d)";

/// `text` as a span of whole seconds, or `None` when it is not one (see [`DURATION_HINT`]).
pub fn parse_duration(text: &str) -> Option<chrono::Duration> {
    let span = humantime::parse_duration(text.trim()).ok()?;
    let secs = i64::try_from(span.as_secs()).ok()?;
    (1..=MAX_DAYS * 86_400)
        .contains(&secs)
        .then(|| chrono::Duration::seconds(secs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn units_combine_and_spaces_are_allowed() {
        assert_eq!(parse_duration("90s"), Some(Duration::seconds(90)));
        assert_eq!(parse_duration("30m"), Some(Duration::minutes(30)));
        assert_eq!(parse_duration("1h30m"), Some(Duration::minutes(90)));
        assert_eq!(parse_duration(" 1h 30m "), Some(Duration::minutes(90)));
        assert_eq!(parse_duration("2d"), Some(Duration::days(2)));
        assert_eq!(parse_duration("1w"), Some(Duration::weeks(1)));
        assert_eq!(parse_duration("366d"), Some(Duration::days(366)));
    }

    #[test]
    fn bare_numbers_zero_and_out_of_range_spans_are_refused() {
        for bad in ["", "30", "1x", "h", "0m", "500ms", "367d", "2y", "-1h"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }
}
