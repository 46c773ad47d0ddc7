//! Schedule specifications: 5-field cron (Vixie semantics), daily `HH:mm` and clock-aligned
//! intervals of 10–1440 minutes, in one [`Spec`]; rule: a spec that parses can fire
//! (impossible dates such as `0 0 30 2 *` are refused), and every error names the field, the
//! value and the fix. A cron expression is checked here, field by field, for the syntax
//! relaywatch accepts (numbers, names, `*`, `?`, lists, ranges, steps: no `L`, `W`, `#`, `+` or
//! year), then parsed by `croner`, which also steps it (see `next`).

use std::fmt;

#[cfg(test)]
use chrono::NaiveDate;
use croner::parser::{CronParser, Seconds, Year};

/// Allowed interval lengths in minutes for [`Spec::Every`].
pub const INTERVAL_MINUTES: (u32, u32) = (10, 1440);

/// When a job fires, on the wall clock of its timezone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spec {
    /// A cron expression (5 fields, or 6 with a leading seconds field of `0`).
    Cron(Cron),
    /// Once a day at `HH:mm`.
    Daily { hour: u8, minute: u8 },
    /// Every `minutes` minutes, aligned to local midnight: 30 fires at :00 and :30; a length that
    /// does not divide the day (e.g. 25) restarts at 00:00 each day.
    Every { minutes: u32 },
}

/// A parsed cron expression: croner's pattern, and one bit per allowed value of each field
/// (read back from croner, for [`describe`](super::describe)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    pub(crate) text: String,
    /// The expression as croner parsed it, Vixie's day rule applied: what fires.
    pub(crate) croner: Box<croner::Cron>,
    /// The minute or hour field starts with `*` (Vixie's MIN_STAR / HR_STAR): a wildcard job
    /// across DST; otherwise a fixed-time one.
    pub(crate) time_star: bool,
    pub(crate) minutes: u64,
    pub(crate) hours: u32,
    /// Bit d for day-of-month d (1–31).
    pub(crate) days: u32,
    /// Bit m for month m (1–12).
    pub(crate) months: u16,
    /// Bit d for weekday d, 0 = Sunday … 6 = Saturday (7 is folded into 0).
    pub(crate) weekdays: u8,
    /// The day-of-month field starts with `*` (Vixie's DOM_STAR): the day fields are ANDed.
    pub(crate) days_star: bool,
    /// The day-of-week field starts with `*` (Vixie's DOW_STAR).
    pub(crate) weekdays_star: bool,
}

/// Why a schedule text was refused: names the field, the value and the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SpecError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, SpecError> {
    Err(SpecError(msg.into()))
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

struct Field {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
    /// Value of `names[0]`.
    name_base: u32,
    hint: &'static str,
}

const MINUTE: Field = Field {
    name: "minute",
    min: 0,
    max: 59,
    names: &[],
    name_base: 0,
    hint: "0-59",
};
const HOUR: Field = Field {
    name: "hour",
    min: 0,
    max: 23,
    names: &[],
    name_base: 0,
    hint: "0-23",
};
const DAY: Field = Field {
    name: "day-of-month",
    min: 1,
    max: 31,
    names: &[],
    name_base: 0,
    hint: "1-31",
};
const MONTH: Field = Field {
    name: "month",
    min: 1,
    max: 12,
    names: &MONTHS,
    name_base: 1,
    hint: "1-12 or JAN-DEC",
};
const WEEKDAY: Field = Field {
    name: "day-of-week",
    min: 0,
    max: 7,
    names: &WEEKDAYS,
    name_base: 0,
    hint: "0-7 (0 and 7 are Sunday) or SUN-SAT",
};

const EXAMPLES: &str =
    "a cron expression such as `0 9 * * 1-5`, a daily time such as `09:00`, or `every 30 minutes`";

impl Spec {
    /// Parses a cron expression (`0 9 * * 1-5`, `@daily`, or 6 fields whose seconds are `0`, as
    /// node-cron accepts), a daily time (`09:00`, `daily 09:00`) or an interval (`every 30
    /// minutes`, `every 30m`, `every 2h`).
    pub fn parse(text: &str) -> Result<Spec, SpecError> {
        let t = text.trim();
        if t.is_empty() {
            return err(format!("empty schedule: give {EXAMPLES}"));
        }
        let lower = t.to_ascii_lowercase();
        if let Some(rest) = lower.strip_prefix("every").or(lower.strip_prefix("@every")) {
            return parse_every(t, rest.trim());
        }
        if let Some(rest) = lower.strip_prefix("daily") {
            let rest = rest.trim();
            let rest = rest.strip_prefix("at").map(str::trim).unwrap_or(rest);
            return Spec::daily(rest);
        }
        if t.contains(':') && !t.contains(char::is_whitespace) {
            return Spec::daily(t);
        }
        if let Some(m) = lower.strip_prefix('@') {
            let expanded = match m {
                "hourly" => "0 * * * *",
                "daily" | "midnight" => "0 0 * * *",
                "weekly" => "0 0 * * 0",
                "monthly" => "0 0 1 * *",
                "yearly" | "annually" => "0 0 1 1 *",
                _ => {
                    return err(format!(
                        "`{t}` is not a schedule: use @hourly, @daily, @weekly, @monthly, @yearly, or {EXAMPLES}"
                    ))
                }
            };
            return Cron::parse(expanded).map(Spec::Cron);
        }
        Cron::parse(t).map(Spec::Cron)
    }

    /// A daily time `HH:mm` (24-hour clock).
    pub fn daily(hhmm: &str) -> Result<Spec, SpecError> {
        let bad = || {
            SpecError(format!(
                "daily time `{hhmm}`: must be HH:mm on the 24-hour clock, 00:00-23:59 (e.g. 09:00)"
            ))
        };
        let (h, m) = hhmm.trim().split_once(':').ok_or_else(bad)?;
        let digits = |s: &str, len: std::ops::RangeInclusive<usize>| {
            len.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
        };
        if !digits(h, 1..=2) || !digits(m, 2..=2) {
            return Err(bad());
        }
        let (hour, minute): (u8, u8) =
            (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
        if hour > 23 || minute > 59 {
            return Err(bad());
        }
        Ok(Spec::Daily { hour, minute })
    }

    /// A clock-aligned interval of 10–1440 minutes.
    pub fn every_minutes(minutes: u32) -> Result<Spec, SpecError> {
        let (lo, hi) = INTERVAL_MINUTES;
        if !(lo..=hi).contains(&minutes) {
            return err(format!(
                "interval of {minutes} minutes: must be {lo}-{hi} minutes (for shorter periods use a cron expression such as `*/5 * * * *`)"
            ));
        }
        Ok(Spec::Every { minutes })
    }

    /// The local minutes of the day (0–1439, ascending) at which the job fires on a matching day.
    pub(crate) fn minutes_of_day(&self) -> Vec<u16> {
        match self {
            Spec::Cron(c) => {
                let mut v = Vec::new();
                for h in bits(c.hours as u64, 0, 23) {
                    for m in bits(c.minutes, 0, 59) {
                        v.push((h * 60 + m) as u16);
                    }
                }
                v
            }
            Spec::Daily { hour, minute } => vec![*hour as u16 * 60 + *minute as u16],
            Spec::Every { minutes } => (0..1440u32)
                .step_by(*minutes as usize)
                .map(|m| m as u16)
                .collect(),
        }
    }
}

impl fmt::Display for Spec {
    /// The canonical text, which [`Spec::parse`] reads back to the same spec.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Spec::Cron(c) => f.write_str(&c.text),
            Spec::Daily { hour, minute } => write!(f, "{hour:02}:{minute:02}"),
            Spec::Every { minutes } => write!(f, "every {minutes} minutes"),
        }
    }
}

fn parse_every(original: &str, rest: &str) -> Result<Spec, SpecError> {
    let bad = || {
        SpecError(format!(
            "interval `{original}`: write `every N minutes` (or `every Nm`, `every Nh`) with N giving 10-1440 minutes"
        ))
    };
    let rest = rest.trim();
    if rest == "hour" {
        return Spec::every_minutes(60);
    }
    let split = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let (num, unit) = rest.split_at(split);
    let n: u32 = num.parse().map_err(|_| bad())?;
    let factor = match unit.trim() {
        "" | "m" | "min" | "mins" | "minute" | "minutes" => 1,
        "h" | "hour" | "hours" => 60,
        _ => return Err(bad()),
    };
    Spec::every_minutes(n.saturating_mul(factor))
}

/// The values whose bits are set, from `lo` to `hi`.
pub(crate) fn bits(mask: u64, lo: u32, hi: u32) -> impl Iterator<Item = u32> {
    (lo..=hi).filter(move |v| mask & (1u64 << v) != 0)
}

fn days_in_month_max(month: u32) -> u32 {
    match month {
        2 => 29,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl Cron {
    /// Parses 5 fields (minute hour day-of-month month day-of-week), or 6 with a leading seconds
    /// field that must be `0` (node-cron's optional seconds, as the seed reporter accepts).
    pub fn parse(text: &str) -> Result<Cron, SpecError> {
        let fields = five_fields(text)?;
        let numeric = [
            check_field(fields[0], &MINUTE)?,
            check_field(fields[1], &HOUR)?,
            check_field(fields[2], &DAY)?,
            check_field(fields[3], &MONTH)?,
            check_field(fields[4], &WEEKDAY)?,
        ];
        let star = |f: &str| f.starts_with('*') || f.starts_with('?');
        let (days_star, weekdays_star) = (star(fields[2]), star(fields[4]));
        // Vixie's DOM_STAR / DOW_STAR: a day field that starts with `*` ANDs the two; croner
        // ORs them unless told (it only knows a bare `*`).
        let croner = croner_parser(days_star || weekdays_star)
            .parse(&numeric.join(" "))
            .map_err(|e| SpecError(format!("cron `{}`: {e}", text.trim())))?;
        let p = &croner.pattern;
        let mask = |c: &croner::CronComponent| c.values().iter().fold(0u64, |m, v| m | 1 << v);
        let cron = Cron {
            text: fields.join(" "),
            minutes: mask(&p.minutes),
            hours: mask(&p.hours) as u32,
            days: mask(&p.days) as u32,
            months: mask(&p.months) as u16,
            weekdays: mask(&p.days_of_week) as u8,
            days_star,
            weekdays_star,
            time_star: star(fields[0]) || star(fields[1]),
            croner: Box::new(croner),
        };
        cron.check_possible(fields[2], fields[3])?;
        Ok(cron)
    }

    /// Refuses day-of-month and month combinations that never occur (`30 2`), unless the
    /// weekday field can fire on its own (both day fields restricted: Vixie ORs them).
    fn check_possible(&self, day_text: &str, month_text: &str) -> Result<(), SpecError> {
        if !self.days_star && !self.weekdays_star {
            return Ok(());
        }
        let possible = bits(self.months as u64, 1, 12).any(|m| {
            bits(self.days as u64, 1, days_in_month_max(m))
                .next()
                .is_some()
        });
        if possible {
            Ok(())
        } else {
            err(format!(
                "day-of-month `{day_text}` never occurs in month `{month_text}`, so the schedule would never fire: pick days that exist in those months"
            ))
        }
    }

    /// Whether the job may fire on this local calendar day (croner's reading).
    #[cfg(test)]
    pub(crate) fn day_matches(&self, date: NaiveDate) -> bool {
        // At the first minute the job fires in a day, the time matches iff the day does.
        let h = bits(self.hours as u64, 0, 23).next().unwrap_or(0);
        let m = bits(self.minutes, 0, 59).next().unwrap_or(0);
        date.and_hms_opt(h, m, 0)
            .is_some_and(|t| self.croner.is_time_matching(&t).unwrap_or(false))
    }
}

/// croner's parser for relaywatch's crons: 5 fields, no seconds or year; `dom_and_dow` ANDs
/// the day fields.
pub(crate) fn croner_parser(dom_and_dow: bool) -> CronParser {
    CronParser::builder()
        .seconds(Seconds::Disallowed)
        .year(Year::Disallowed)
        .dom_and_dow(dom_and_dow)
        .build()
}

/// The five fields of a cron text: 5 as written, or 6 whose leading seconds field is `0`.
fn five_fields(text: &str) -> Result<Vec<&str>, SpecError> {
    let fields: Vec<&str> = text.split_whitespace().collect();
    match fields.len() {
        5 => Ok(fields),
        6 => {
            if fields[0] != "0" && fields[0] != "00" {
                return err(format!(
                    "seconds field `{}`: relaywatch fires on whole minutes, so a 6-field cron must start with 0 (or drop the seconds field)",
                    fields[0]
                ));
            }
            Ok(fields[1..].to_vec())
        }
        n => err(format!(
            "cron `{}` has {n} field{}: needs 5 (minute hour day-of-month month day-of-week), e.g. `0 9 * * 1-5`",
            text.trim(),
            if n == 1 { "" } else { "s" }
        )),
    }
}

fn parse_value(token: &str, f: &Field) -> Result<u32, SpecError> {
    if let Some(i) = f.names.iter().position(|n| n.eq_ignore_ascii_case(token)) {
        return Ok(f.name_base + i as u32);
    }
    match token.parse::<u32>() {
        Ok(v) if (f.min..=f.max).contains(&v) && token.bytes().all(|b| b.is_ascii_digit()) => Ok(v),
        _ => err(format!("{} field `{token}`: must be {}", f.name, f.hint)),
    }
}

/// Checks one field against the syntax relaywatch accepts and answers it in numbers, as croner
/// reads it: names become numbers, `?` becomes `*`, and Vixie's `a/step` (from a to the
/// field's end) becomes `a-max/step`.
fn check_field(text: &str, f: &Field) -> Result<String, SpecError> {
    let mut items = Vec::new();
    for item in text.split(',') {
        if item.is_empty() {
            return err(format!(
                "{} field `{text}`: empty list item; separate values with single commas, e.g. `1,15`",
                f.name
            ));
        }
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => (r, Some(check_step(item, s, f)?)),
            None => (item, None),
        };
        let any =
            range == "*" || (range == "?" && matches!(f.name, "day-of-month" | "day-of-week"));
        let numeric = if any {
            "*".to_string()
        } else if let Some((a, b)) = range.split_once('-') {
            let (a, b) = (parse_value(a, f)?, parse_value(b, f)?);
            if a > b {
                return err(format!(
                    "{} field `{item}`: range start must not exceed its end (ranges do not wrap; write e.g. `{b}-{}` as two ranges `{a}-{},{}-{b}`)",
                    f.name, a, f.max, f.min
                ));
            }
            format!("{a}-{b}")
        } else {
            let a = parse_value(range, f)?;
            // Vixie: `a/step` means from a to the field's end.
            match step {
                Some(_) => format!("{a}-{}", f.max),
                None => a.to_string(),
            }
        };
        items.push(match step {
            Some(s) => format!("{numeric}/{s}"),
            None => numeric,
        });
    }
    Ok(items.join(","))
}

/// A step of 1 to the field's width.
fn check_step(item: &str, s: &str, f: &Field) -> Result<u32, SpecError> {
    match s.parse() {
        Ok(n) if n >= 1 && n <= f.max - f.min => Ok(n),
        _ => err(format!(
            "{} field `{item}`: step `{s}` must be a whole number from 1 to {}",
            f.name,
            f.max - f.min
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cron(t: &str) -> Cron {
        match Spec::parse(t).unwrap() {
            Spec::Cron(c) => c,
            other => panic!("{other:?}"),
        }
    }

    fn set(mask: u64, lo: u32, hi: u32) -> Vec<u32> {
        bits(mask, lo, hi).collect()
    }

    #[test]
    fn fields_lists_ranges_steps_and_names() {
        let c = cron("*/15 9-17 1,15 jan-Mar,DEC mon-FRI");
        assert_eq!(set(c.minutes, 0, 59), [0, 15, 30, 45]);
        assert_eq!(set(c.hours as u64, 0, 23), (9..=17).collect::<Vec<_>>());
        assert_eq!(set(c.days as u64, 1, 31), [1, 15]);
        assert_eq!(set(c.months as u64, 1, 12), [1, 2, 3, 12]);
        assert_eq!(set(c.weekdays as u64, 0, 6), [1, 2, 3, 4, 5]);
        assert!(!c.days_star && !c.weekdays_star);
        let c = cron("1-10/3 */6 * * *");
        assert_eq!(set(c.minutes, 0, 59), [1, 4, 7, 10]);
        assert_eq!(set(c.hours as u64, 0, 23), [0, 6, 12, 18]);
        let c = cron("5/20 0 * * *");
        assert_eq!(
            set(c.minutes, 0, 59),
            [5, 25, 45],
            "Vixie: a/step runs to the end"
        );
    }

    #[test]
    fn zero_and_seven_are_both_sunday() {
        assert_eq!(cron("0 0 * * 7").weekdays, 1);
        assert_eq!(cron("0 0 * * 0").weekdays, 1);
        assert_eq!(cron("0 0 * * 5-7").weekdays, 0b110_0001);
        assert_eq!(cron("0 0 * * SUN").weekdays, 1);
    }

    #[test]
    fn six_fields_with_zero_seconds_and_macros() {
        assert_eq!(cron("0 0 */6 * * *"), cron("0 */6 * * *"));
        assert_eq!(cron("@daily"), cron("0 0 * * *"));
        assert_eq!(cron("@weekly"), cron("0 0 * * 0"));
        let e = Spec::parse("30 0 9 * * *").unwrap_err().to_string();
        assert!(e.starts_with("seconds field `30`"), "{e}");
    }

    #[test]
    fn daily_and_intervals() {
        assert_eq!(
            Spec::parse("09:00").unwrap(),
            Spec::Daily { hour: 9, minute: 0 }
        );
        assert_eq!(
            Spec::parse("daily at 7:05").unwrap(),
            Spec::Daily { hour: 7, minute: 5 }
        );
        assert_eq!(
            Spec::parse("every 30 minutes").unwrap(),
            Spec::Every { minutes: 30 }
        );
        assert_eq!(
            Spec::parse("Every 2h").unwrap(),
            Spec::Every { minutes: 120 }
        );
        assert_eq!(
            Spec::parse("every hour").unwrap(),
            Spec::Every { minutes: 60 }
        );
        assert_eq!(
            Spec::parse("every 5m").unwrap_err().to_string(),
            "interval of 5 minutes: must be 10-1440 minutes (for shorter periods use a cron expression such as `*/5 * * * *`)"
        );
        assert!(Spec::parse("24:00").is_err());
        assert!(Spec::parse("9:7").is_err());
        let every25 = Spec::every_minutes(25).unwrap().minutes_of_day();
        assert_eq!(every25.first(), Some(&0));
        assert_eq!(every25.last(), Some(&1425));
    }

    #[test]
    fn display_round_trips() {
        for t in ["0  9 * * 1-5", "09:00", "every 45 minutes", "@hourly"] {
            let s = Spec::parse(t).unwrap();
            assert_eq!(Spec::parse(&s.to_string()).unwrap(), s, "{t}");
        }
        assert_eq!(
            Spec::parse(" 0  9 * *   1-5 ").unwrap().to_string(),
            "0 9 * * 1-5"
        );
    }

    #[test]
    fn errors_name_the_field_the_value_and_the_fix() {
        let cases = [
            ("61 * * * *", "minute field `61`: must be 0-59"),
            ("0 24 * * *", "hour field `24`: must be 0-23"),
            ("0 0 0 * *", "day-of-month field `0`: must be 1-31"),
            ("0 0 * 13 *", "month field `13`: must be 1-12 or JAN-DEC"),
            ("0 0 * MON *", "month field `MON`: must be 1-12 or JAN-DEC"),
            (
                "0 0 * * 8",
                "day-of-week field `8`: must be 0-7 (0 and 7 are Sunday) or SUN-SAT",
            ),
            (
                "*/0 * * * *",
                "minute field `*/0`: step `0` must be a whole number from 1 to 59",
            ),
            (
                "*/60 * * * *",
                "minute field `*/60`: step `60` must be a whole number from 1 to 59",
            ),
            (
                "0 0 * * 5-1",
                "day-of-week field `5-1`: range start must not exceed its end",
            ),
            ("0 9 * *", "cron `0 9 * *` has 4 fields: needs 5"),
            ("0 0 30 2 *", "day-of-month `30` never occurs in month `2`"),
            ("1,,2 * * * *", "minute field `1,,2`: empty list item"),
            ("-1 * * * *", "minute field ``: must be 0-59"),
            ("0 0 * * 1 2026", "day-of-week field `2026`"),
            ("0 0 0 * * 1 2026", "cron `0 0 0 * * 1 2026` has 7 fields"),
            ("@reboot", "`@reboot` is not a schedule"),
            ("", "empty schedule"),
        ];
        for (text, want) in cases {
            let got = Spec::parse(text).unwrap_err().to_string();
            assert!(got.starts_with(want), "{text:?}: {got}");
        }
        // Both day fields restricted: ORed, so Feb 30 with a weekday still fires.
        assert!(Spec::parse("0 0 30 2 1").is_ok());
    }

    #[test]
    fn vixie_or_when_both_day_fields_are_restricted() {
        let fri_13 = NaiveDate::from_ymd_opt(2026, 11, 13).unwrap();
        let mon_16 = NaiveDate::from_ymd_opt(2026, 11, 16).unwrap();
        let tue_17 = NaiveDate::from_ymd_opt(2026, 11, 17).unwrap();
        let or = cron("0 0 13 * 1");
        assert!(or.day_matches(fri_13) && or.day_matches(mon_16) && !or.day_matches(tue_17));
        let and = cron("0 0 */2 * 1"); // a `*` start means AND (DOM_STAR)
        assert!(!and.day_matches(fri_13) && !and.day_matches(mon_16));
        assert!(and.day_matches(NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()));
        let wd = cron("0 0 * * 1-5");
        assert!(
            wd.day_matches(fri_13)
                && !wd.day_matches(NaiveDate::from_ymd_opt(2026, 11, 15).unwrap())
        );
    }
}
