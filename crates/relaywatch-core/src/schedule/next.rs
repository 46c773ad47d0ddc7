//! Fire times: a [`Spec`] on the wall clock of an IANA timezone, as UTC instants in order,
//! stepped by `croner`; rule: pure (the instant to start from is an argument), and across DST
//! Vixie's rules: a fixed time (a cron whose minute and hour fields do not start with `*`, or a
//! daily time) fires once — in a spring-forward gap at the first minute after the gap, in a
//! fall-back overlap at its first occurrence only — while a wildcard cron (`0 * * * *`) or an
//! interval (`every 30 minutes`) fires on each of its times in both passes of a repeated hour
//! and skips the times a gap removes, so it never goes quiet longer than the clock jumps.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, LocalResult, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::spec::{croner_parser, Spec};

/// The first fire strictly after `after`, or `None` if the spec never fires again.
pub fn next_after(spec: &Spec, tz: Tz, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    Fires::new(spec, tz, after).next()
}

/// The next `n` fires strictly after `after`, ascending.
pub fn next_n(spec: &Spec, tz: Tz, after: DateTime<Utc>, n: usize) -> Vec<DateTime<Utc>> {
    Fires::new(spec, tz, after).take(n).collect()
}

/// The instant a local wall-clock time stands for: the earlier one when the time occurs twice,
/// and the end of the gap when it does not occur at all.
pub fn resolve_local(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(a, b) => Some(a.min(b).with_timezone(&Utc)),
        LocalResult::None => (1..=2 * 1440).find_map(|k| {
            tz.from_local_datetime(&(local + Duration::minutes(k)))
                .earliest()
                .map(|t| t.with_timezone(&Utc))
        }),
    }
}

/// A fixed-time cron is split into one croner pattern per time of day up to this many times;
/// beyond, it stays one pattern (and croner treats it as an interval across DST).
const MAX_FIXED_SPLIT: usize = 96;

/// The spec as croner patterns whose fires, merged, are the spec's. croner treats one minute
/// of one hour as a fixed time and anything else as an interval; Vixie treats every cron whose
/// minute and hour fields do not start with `*` as fixed. So a fixed-time cron (`30 1,13 * * *`)
/// becomes one pattern per time of day (`30 1 …`, `30 13 …`), a wildcard cron stays one, a
/// daily time is `m h * * *`, and an interval is one pattern per set of hours sharing the same
/// minutes (every 30 minutes: `0,30 0,1,…,23 * * *`; every 45: three patterns).
fn patterns(spec: &Spec) -> Vec<croner::Cron> {
    let parse = |text: String, and: bool| {
        croner_parser(and)
            .parse(&text)
            .expect("a pattern made of checked fields parses")
    };
    let list = |v: &[u16]| v.iter().map(u16::to_string).collect::<Vec<_>>().join(",");
    if let Spec::Cron(c) = spec {
        let p = &c.croner.pattern;
        let (minutes, hours) = (p.minutes.values(), p.hours.values());
        if c.time_star || minutes.len() * hours.len() > MAX_FIXED_SPLIT {
            return vec![(*c.croner).clone()];
        }
        let days: Vec<&str> = p.as_str().split_whitespace().skip(2).collect();
        let and = p.matches_dom_and_dow();
        return hours
            .iter()
            .flat_map(|h| minutes.iter().map(move |m| (*h, *m)))
            .map(|(h, m)| parse(format!("{m} {h} {}", days.join(" ")), and))
            .collect();
    }
    let mut by_hour: BTreeMap<u16, Vec<u16>> = BTreeMap::new();
    for m in spec.minutes_of_day() {
        by_hour.entry(m / 60).or_default().push(m % 60);
    }
    let mut by_minutes: BTreeMap<Vec<u16>, Vec<u16>> = BTreeMap::new();
    for (hour, minutes) in by_hour {
        by_minutes.entry(minutes).or_default().push(hour);
    }
    by_minutes
        .iter()
        .map(|(minutes, hours)| parse(format!("{} {} * * *", list(minutes), list(hours)), false))
        .collect()
}

/// Every fire strictly after a start instant, ascending; ends when the spec cannot fire again.
#[derive(Debug, Clone)]
pub struct Fires {
    patterns: Vec<croner::Cron>,
    /// The last fire (or the start): the instant, and so the pass of a repeated hour, the next
    /// search starts from.
    last: DateTime<Tz>,
    done: bool,
}

impl Fires {
    pub fn new(spec: &Spec, tz: Tz, after: DateTime<Utc>) -> Fires {
        Fires {
            patterns: patterns(spec),
            last: after.with_timezone(&tz),
            done: false,
        }
    }
}

impl Iterator for Fires {
    type Item = DateTime<Utc>;

    fn next(&mut self) -> Option<DateTime<Utc>> {
        if self.done {
            return None;
        }
        let next = self
            .patterns
            .iter()
            .filter_map(|p| p.find_next_occurrence(&self.last, false).ok())
            .min();
        match next {
            Some(at) => {
                self.last = at;
                Some(at.with_timezone(&Utc))
            }
            None => {
                self.done = true;
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn spec(s: &str) -> Spec {
        Spec::parse(s).unwrap()
    }

    fn local(tz: Tz, fires: &[DateTime<Utc>]) -> Vec<String> {
        fires
            .iter()
            .map(|t| {
                t.with_timezone(&tz)
                    .format("%Y-%m-%d %H:%M %:z")
                    .to_string()
            })
            .collect()
    }

    #[test]
    fn weekdays_at_nine_in_shanghai() {
        let tz = chrono_tz::Asia::Shanghai;
        // Friday 2026-11-20 10:00 local: next are Mon, Tue, Wed 09:00.
        let got = next_n(&spec("0 9 * * 1-5"), tz, utc("2026-11-20T02:00:00Z"), 3);
        assert_eq!(
            local(tz, &got),
            [
                "2026-11-23 09:00 +08:00",
                "2026-11-24 09:00 +08:00",
                "2026-11-25 09:00 +08:00"
            ]
        );
        assert_eq!(got[0], utc("2026-11-23T01:00:00Z"));
    }

    #[test]
    fn strictly_after_and_exact_boundaries() {
        let tz = chrono_tz::UTC;
        let s = spec("0 */6 * * *");
        let at = utc("2026-11-22T06:00:00Z");
        assert_eq!(next_after(&s, tz, at), Some(utc("2026-11-22T12:00:00Z")));
        assert_eq!(next_after(&s, tz, at - Duration::milliseconds(1)), Some(at));
        assert_eq!(
            next_after(&s, tz, utc("2026-12-31T23:59:59Z")),
            Some(utc("2027-01-01T00:00:00Z"))
        );
    }

    #[test]
    fn intervals_align_to_the_local_clock() {
        let tz = chrono_tz::Asia::Kolkata; // +05:30: alignment is local, not UTC
        let got = next_n(
            &Spec::every_minutes(30).unwrap(),
            tz,
            utc("2026-11-22T00:10:00Z"),
            2,
        );
        assert_eq!(
            local(tz, &got),
            ["2026-11-22 06:00 +05:30", "2026-11-22 06:30 +05:30"]
        );
        // 25 does not divide the day: 23:45 is followed by 00:00, then 00:25.
        let got = next_n(
            &Spec::every_minutes(25).unwrap(),
            chrono_tz::UTC,
            utc("2026-11-22T23:40:00Z"),
            3,
        );
        assert_eq!(
            got,
            [
                utc("2026-11-22T23:45:00Z"),
                utc("2026-11-23T00:00:00Z"),
                utc("2026-11-23T00:25:00Z")
            ]
        );
    }

    #[test]
    fn new_york_spring_forward_gap_fires_at_the_end_of_the_gap() {
        let tz = chrono_tz::America::New_York; // 2026-03-08 02:00 EST -> 03:00 EDT
        let got = next_n(&spec("30 2 * * *"), tz, utc("2026-03-07T12:00:00Z"), 3);
        assert_eq!(
            local(tz, &got),
            [
                "2026-03-08 03:00 -04:00",
                "2026-03-09 02:30 -04:00",
                "2026-03-10 02:30 -04:00"
            ]
        );
        // Every 15 minutes: the four gap times collapse into one fire at 03:00.
        let got = next_n(&spec("*/15 * * * *"), tz, utc("2026-03-08T06:40:00Z"), 4);
        assert_eq!(
            local(tz, &got),
            [
                "2026-03-08 01:45 -05:00",
                "2026-03-08 03:00 -04:00",
                "2026-03-08 03:15 -04:00",
                "2026-03-08 03:30 -04:00"
            ]
        );
    }

    #[test]
    fn new_york_fall_back_fires_once_at_the_first_occurrence() {
        let tz = chrono_tz::America::New_York; // 2026-11-01 02:00 EDT -> 01:00 EST
        let s = spec("30 1 * * *");
        let got = next_n(&s, tz, utc("2026-10-31T12:00:00Z"), 2);
        assert_eq!(
            local(tz, &got),
            ["2026-11-01 01:30 -04:00", "2026-11-02 01:30 -05:00"]
        );
        // Asked from inside the repeated hour (01:10 EST, after the first 01:30): no second fire.
        let got = next_after(&s, tz, utc("2026-11-01T06:10:00Z")).unwrap();
        assert_eq!(local(tz, &[got]), ["2026-11-02 01:30 -05:00"]);
        // Every 30 minutes through the night: every 30 real minutes, through both passes of
        // the repeated hour (never 90 minutes without a fire).
        let got = next_n(
            &Spec::every_minutes(30).unwrap(),
            tz,
            utc("2026-11-01T04:50:00Z"),
            6,
        );
        assert_eq!(
            local(tz, &got),
            [
                "2026-11-01 01:00 -04:00",
                "2026-11-01 01:30 -04:00",
                "2026-11-01 01:00 -05:00",
                "2026-11-01 01:30 -05:00",
                "2026-11-01 02:00 -05:00",
                "2026-11-01 02:30 -05:00"
            ]
        );
        assert!(got.windows(2).all(|w| w[1] - w[0] == Duration::minutes(30)));
        // Asked from inside the second pass, it stays on the second pass.
        let got = next_after(
            &Spec::every_minutes(30).unwrap(),
            tz,
            utc("2026-11-01T06:10:00Z"),
        )
        .unwrap();
        assert_eq!(local(tz, &[got]), ["2026-11-01 01:30 -05:00"]);
    }

    #[test]
    fn a_cron_with_several_fixed_times_keeps_the_fixed_time_rules() {
        let tz = chrono_tz::America::New_York;
        // Fall back: 01:30 fires once (the first pass), 13:30 as usual.
        let got = next_n(&spec("30 1,13 * * *"), tz, utc("2026-11-01T04:00:00Z"), 3);
        assert_eq!(
            local(tz, &got),
            [
                "2026-11-01 01:30 -04:00",
                "2026-11-01 13:30 -05:00",
                "2026-11-02 01:30 -05:00"
            ]
        );
        // Spring forward: 02:30 does not exist and fires when the clock reaches 03:00.
        let got = next_n(&spec("30 2,14 * * *"), tz, utc("2026-03-08T05:00:00Z"), 2);
        assert_eq!(
            local(tz, &got),
            ["2026-03-08 03:00 -04:00", "2026-03-08 14:30 -04:00"]
        );
    }

    #[test]
    fn berlin_transitions_2026() {
        let tz = chrono_tz::Europe::Berlin; // 2026-03-29 02:00 -> 03:00; 2026-10-25 03:00 -> 02:00
        let s = Spec::daily("02:30").unwrap();
        let got = next_n(&s, tz, utc("2026-03-28T12:00:00Z"), 2);
        assert_eq!(
            local(tz, &got),
            ["2026-03-29 03:00 +02:00", "2026-03-30 02:30 +02:00"]
        );
        let got = next_n(&s, tz, utc("2026-10-24T12:00:00Z"), 2);
        assert_eq!(
            local(tz, &got),
            ["2026-10-25 02:30 +02:00", "2026-10-26 02:30 +01:00"]
        );
        // Hourly across the fall-back night: every real hour, 02:00 in both passes.
        let got = next_n(&spec("0 * * * *"), tz, utc("2026-10-24T22:30:00Z"), 4);
        assert_eq!(
            local(tz, &got),
            [
                "2026-10-25 01:00 +02:00",
                "2026-10-25 02:00 +02:00",
                "2026-10-25 02:00 +01:00",
                "2026-10-25 03:00 +01:00"
            ]
        );
    }

    #[test]
    fn shanghai_has_no_dst_and_crosses_utc_midnight() {
        let tz = chrono_tz::Asia::Shanghai;
        let got = next_n(&spec("0 0 1 * *"), tz, utc("2026-11-22T00:00:00Z"), 2);
        assert_eq!(
            got,
            [utc("2026-11-30T16:00:00Z"), utc("2026-12-31T16:00:00Z")]
        );
    }

    /// Vixie's day rule on the parsed fields: both day fields restricted are ORed, else ANDed.
    fn vixie_day(c: &crate::schedule::spec::Cron, d: chrono::NaiveDate) -> bool {
        use chrono::Datelike;
        if c.months & (1 << d.month()) == 0 {
            return false;
        }
        let dom = c.days & (1 << d.day()) != 0;
        let dow = c.weekdays & (1 << d.weekday().num_days_from_sunday()) != 0;
        if c.days_star || c.weekdays_star {
            dom && dow
        } else {
            dom || dow
        }
    }

    /// Random cron expressions against a minute-by-minute scan (zones without DST, where the
    /// wall clock is a plain shift of UTC).
    #[test]
    fn agrees_with_a_minute_by_minute_scan() {
        use chrono::Timelike;
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut rnd = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let field = |lo: u64, hi: u64, rnd: &mut dyn FnMut(u64) -> u64| -> String {
            match rnd(5) {
                0 => "*".into(),
                1 => format!("*/{}", 2 + rnd(hi - lo - 1)),
                2 => {
                    let a = lo + rnd(hi - lo + 1);
                    format!("{a}-{}", a + rnd(hi - a + 1))
                }
                3 => format!("{},{}", lo + rnd(hi - lo + 1), lo + rnd(hi - lo + 1)),
                _ => (lo + rnd(hi - lo + 1)).to_string(),
            }
        };
        let start = utc("2026-02-25T13:37:00Z");
        let mut checked = 0;
        for _ in 0..300 {
            let text = format!(
                "{} {} {} {} {}",
                field(0, 59, &mut rnd),
                field(0, 23, &mut rnd),
                field(1, 28, &mut rnd),
                if rnd(3) == 0 {
                    field(1, 12, &mut rnd)
                } else {
                    "*".into()
                },
                field(0, 6, &mut rnd),
            );
            let Ok(s) = Spec::parse(&text) else { continue };
            let Spec::Cron(c) = &s else { unreachable!() };
            for tz in [chrono_tz::UTC, chrono_tz::Asia::Kolkata] {
                let got = next_n(&s, tz, start, 3);
                let mut want = Vec::new();
                let mut t = start;
                while want.len() < 3 && t < start + Duration::days(3000) {
                    t += Duration::minutes(1);
                    let l = t.with_timezone(&tz);
                    if !vixie_day(c, l.date_naive()) || c.hours & (1 << l.hour()) == 0 {
                        // Skip to the last minute of this local hour.
                        t += Duration::minutes(59 - l.minute() as i64);
                        continue;
                    }
                    if c.minutes & (1 << l.minute()) != 0 {
                        want.push(t);
                    }
                }
                assert_eq!(got, want, "{text} in {tz}");
                checked += 1;
            }
        }
        assert!(checked > 300, "{checked}");
    }

    #[test]
    fn rare_and_impossible_days() {
        let tz = chrono_tz::UTC;
        let leap = next_after(&spec("0 0 29 2 *"), tz, utc("2026-11-22T00:00:00Z"));
        assert_eq!(leap, Some(utc("2028-02-29T00:00:00Z")));
        let after_2096 = next_after(&spec("0 0 29 2 *"), tz, utc("2096-03-01T00:00:00Z"));
        assert_eq!(after_2096, Some(utc("2104-02-29T00:00:00Z")));
        let thirteenth = next_after(&spec("0 12 13 * *"), tz, utc("2026-11-22T00:00:00Z")).unwrap();
        assert_eq!(thirteenth, utc("2026-12-13T12:00:00Z"));
    }
}
