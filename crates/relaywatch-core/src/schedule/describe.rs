//! Human readings of a [`Spec`] in English and Simplified Chinese ("At 09:00, Monday through
//! Friday" / "周一至周五 09:00"); rule: common patterns read naturally, anything else falls back
//! to a literal but correct reading of each field — never a wrong one.

use super::spec::{bits, Cron, Spec};
use crate::config::Lang;

const EN_DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
const ZH_DAYS: [&str; 7] = ["周日", "周一", "周二", "周三", "周四", "周五", "周六"];
const EN_MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// A reading of the spec for people, in `lang`.
pub fn describe(spec: &Spec, lang: Lang) -> String {
    match spec {
        Spec::Daily { hour, minute } => {
            let t = hhmm(*hour as u32, *minute as u32);
            match lang {
                Lang::En => format!("At {t}, every day"),
                Lang::ZhCn => format!("每天 {t}"),
            }
        }
        Spec::Every { minutes: 1440 } => describe(&Spec::Daily { hour: 0, minute: 0 }, lang),
        Spec::Every { minutes } => {
            let n = *minutes;
            let (en, zh) = if n % 60 == 0 && 1440 % n == 0 {
                let h = n / 60;
                if h == 1 {
                    (
                        "Every hour, on the hour".to_string(),
                        "每小时整点".to_string(),
                    )
                } else {
                    (
                        format!("Every {h} hours from 00:00"),
                        format!("从 00:00 起每 {h} 小时"),
                    )
                }
            } else if 1440 % n == 0 {
                (format!("Every {n} minutes"), format!("每 {n} 分钟"))
            } else {
                (
                    format!("Every {n} minutes, restarting at 00:00 each day"),
                    format!("每 {n} 分钟（每天从 00:00 重新计）"),
                )
            };
            match lang {
                Lang::En => en,
                Lang::ZhCn => zh,
            }
        }
        Spec::Cron(c) => describe_cron(c, lang),
    }
}

fn hhmm(h: u32, m: u32) -> String {
    format!("{h:02}:{m:02}")
}

/// Consecutive runs of values, as (first, last).
fn runs(values: &[u32]) -> Vec<(u32, u32)> {
    let mut out: Vec<(u32, u32)> = Vec::new();
    for &v in values {
        match out.last_mut() {
            Some((_, last)) if *last + 1 == v => *last = v,
            _ => out.push((v, v)),
        }
    }
    out
}

/// `s` when the values are `lo, lo+s, lo+2s, …` to the end of the field (s ≥ 2).
fn step_from(values: &[u32], lo: u32, hi: u32) -> Option<u32> {
    if values.len() < 2 || values[0] != lo {
        return None;
    }
    let s = values[1] - values[0];
    let regular = values.windows(2).all(|w| w[1] - w[0] == s);
    (s >= 2 && regular && values[values.len() - 1] + s > hi).then_some(s)
}

/// "a, b and c" in English; "a、b、c" in Chinese.
fn join(items: &[String], lang: Lang) -> String {
    match lang {
        Lang::ZhCn => items.join("、"),
        Lang::En => match items {
            [] => String::new(),
            [one] => one.clone(),
            [init @ .., last] => format!("{} and {last}", init.join(", ")),
        },
    }
}

/// Numbers with runs compressed: "1-5, 15" (en) / "1–5、15" (zh).
fn numbers(values: &[u32], lang: Lang) -> String {
    let parts: Vec<String> = runs(values)
        .into_iter()
        .map(|(a, b)| match (a == b, b == a + 1) {
            (true, _) => a.to_string(),
            (false, true) => match lang {
                Lang::En => format!("{a}, {b}"),
                Lang::ZhCn => format!("{a}、{b}"),
            },
            (false, false) => match lang {
                Lang::En => format!("{a}-{b}"),
                Lang::ZhCn => format!("{a}–{b}"),
            },
        })
        .collect();
    join(&parts, lang)
}

fn describe_cron(c: &Cron, lang: Lang) -> String {
    let mins: Vec<u32> = bits(c.minutes, 0, 59).collect();
    let hours: Vec<u32> = bits(c.hours as u64, 0, 23).collect();
    let (time, fixed_times) = time_part(&mins, &hours, lang);
    let days = day_part(c, lang);
    match lang {
        Lang::En => {
            let mut out = time;
            match days {
                Some(d) => {
                    out.push_str(", ");
                    out.push_str(&d);
                }
                None if fixed_times => out.push_str(", every day"),
                None => {}
            }
            out
        }
        Lang::ZhCn => match days {
            Some(d) => format!("{d} {time}"),
            None if fixed_times => format!("每天 {time}"),
            None => time,
        },
    }
}

/// The time-of-day reading, and whether it is a short list of fixed times.
fn time_part(mins: &[u32], hours: &[u32], lang: Lang) -> (String, bool) {
    let en = lang == Lang::En;
    if mins.len() * hours.len() <= 6 {
        let times: Vec<String> = hours
            .iter()
            .flat_map(|&h| mins.iter().map(move |&m| hhmm(h, m)))
            .collect();
        let list = join(&times, lang);
        return (if en { format!("At {list}") } else { list }, true);
    }
    if let Some(every) = every_minutes_part(mins, hours, lang) {
        return (every, false);
    }
    if let Some(hourly) = hourly_part(mins, hours, lang) {
        return (hourly, false);
    }
    let (m, h) = (numbers(mins, lang), numbers(hours, lang));
    (
        if en {
            format!("At minute {m} past hour {h}")
        } else {
            format!("{h} 时的第 {m} 分")
        },
        false,
    )
}

/// "Every minute" / "Every 15 minutes", within spans of hours unless all day; `None` unless
/// the minutes are all or a regular step from 0.
fn every_minutes_part(mins: &[u32], hours: &[u32], lang: Lang) -> Option<String> {
    let en = lang == Lang::En;
    let every = match (mins.len(), step_from(mins, 0, 59)) {
        (60, _) => {
            if en {
                "Every minute".to_string()
            } else {
                "每分钟".to_string()
            }
        }
        (_, Some(s)) => {
            if en {
                format!("Every {s} minutes")
            } else {
                format!("每 {s} 分钟")
            }
        }
        _ => return None,
    };
    if hours.len() == 24 {
        return Some(every);
    }
    let spans: Vec<String> = runs(hours)
        .into_iter()
        .map(|(a, b)| format!("{}–{}", hhmm(a, 0), hhmm(b, 59)))
        .collect();
    let spans = join(&spans, lang);
    Some(if en {
        format!("{every} between {spans}")
    } else {
        format!("{spans} {every}")
    })
}

/// One minute of every hour, or of every n-th hour from 00:00; `None` otherwise.
fn hourly_part(mins: &[u32], hours: &[u32], lang: Lang) -> Option<String> {
    let en = lang == Lang::En;
    let [m] = mins else {
        return None;
    };
    let at = |m: u32| match (en, m) {
        (true, 0) => "on the hour".to_string(),
        (true, m) => format!("at minute {m}"),
        (false, 0) => "整点".to_string(),
        (false, m) => format!("第 {m} 分"),
    };
    if hours.len() == 24 {
        return Some(if en {
            format!("Every hour, {}", at(*m))
        } else {
            format!("每小时{}", at(*m))
        });
    }
    let s = step_from(hours, 0, 23)?;
    Some(if en {
        format!("Every {s} hours from 00:{m:02}, {}", at(*m))
    } else {
        format!("从 00:{m:02} 起每 {s} 小时")
    })
}

/// The days the cron fires on, or `None` for every day of every month.
fn day_part(c: &Cron, lang: Lang) -> Option<String> {
    let en = lang == Lang::En;
    let dom: Vec<u32> = bits(c.days as u64, 1, 31).collect();
    let months: Vec<u32> = bits(c.months as u64, 1, 12).collect();
    let dom_all = dom.len() == 31;
    let dow_all = c.weekdays == 0x7f;
    let months_all = months.len() == 12;
    let month_text = (!months_all).then(|| month_phrase(&months, lang));
    let dom_text = (!dom_all).then(|| {
        let n = numbers(&dom, lang);
        if en {
            if dom.len() == 1 {
                format!("on day {n} of the month")
            } else {
                format!("on days {n} of the month")
            }
        } else {
            match &month_text {
                Some(_) => format!("{n} 日"),
                None => format!("每月 {n} 日"),
            }
        }
    });
    let dow_text = (!dow_all).then(|| weekday_phrase(c.weekdays, lang));
    let days = match (dom_text, dow_text) {
        (None, None) => None,
        (Some(d), None) | (None, Some(d)) => Some(d),
        (Some(d), Some(w)) => Some(match (c.days_star || c.weekdays_star, en) {
            (true, true) => format!("{d}, if it is {w}"),
            (true, false) => format!("{d}（且为{w}）"),
            (false, true) => format!("{d} or {w}"),
            (false, false) => format!("{d}或{w}"),
        }),
    };
    match (days, month_text) {
        (d, None) => d,
        (None, Some(m)) => Some(if en {
            format!("every day in {m}")
        } else {
            format!("{m}每天")
        }),
        (Some(d), Some(m)) => Some(if en {
            format!("{d}, in {m}")
        } else {
            format!("{m} {d}")
        }),
    }
}

fn month_phrase(months: &[u32], lang: Lang) -> String {
    let parts: Vec<String> = runs(months)
        .into_iter()
        .flat_map(|(a, b)| {
            let name = |m: u32| match lang {
                Lang::En => EN_MONTHS[m as usize - 1].to_string(),
                Lang::ZhCn => format!("{m} 月"),
            };
            if b >= a + 2 {
                vec![match lang {
                    Lang::En => format!("{} through {}", name(a), name(b)),
                    Lang::ZhCn => format!("{a}–{b} 月"),
                }]
            } else {
                (a..=b).map(name).collect()
            }
        })
        .collect();
    join(&parts, lang)
}

/// Weekdays Monday first: "Monday through Friday", "Saturday and Sunday", "周一至周五".
fn weekday_phrase(mask: u8, lang: Lang) -> String {
    // Positions 0..7 = Monday..Sunday.
    let order: Vec<u32> = (0..7u32)
        .filter(|p| mask & (1 << ((p + 1) % 7)) != 0)
        .collect();
    let name = |p: u32| {
        let d = ((p + 1) % 7) as usize;
        match lang {
            Lang::En => EN_DAYS[d].to_string(),
            Lang::ZhCn => ZH_DAYS[d].to_string(),
        }
    };
    let parts: Vec<String> = runs(&order)
        .into_iter()
        .flat_map(|(a, b)| {
            if b >= a + 2 {
                vec![match lang {
                    Lang::En => format!("{} through {}", name(a), name(b)),
                    Lang::ZhCn => format!("{}至{}", name(a), name(b)),
                }]
            } else {
                (a..=b).map(name).collect()
            }
        })
        .collect();
    let text = join(&parts, lang);
    if lang == Lang::En && order.len() == 1 {
        format!("on {text}")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn both(text: &str) -> (String, String) {
        let s = Spec::parse(text).unwrap();
        (describe(&s, Lang::En), describe(&s, Lang::ZhCn))
    }

    #[test]
    fn common_patterns_read_naturally() {
        let cases = [
            (
                "0 9 * * 1-5",
                "At 09:00, Monday through Friday",
                "周一至周五 09:00",
            ),
            ("0 9 * * *", "At 09:00, every day", "每天 09:00"),
            ("30 8 * * MON", "At 08:30, on Monday", "周一 08:30"),
            (
                "0 10 * * 6,0",
                "At 10:00, Saturday and Sunday",
                "周六、周日 10:00",
            ),
            (
                "0 */6 * * *",
                "At 00:00, 06:00, 12:00 and 18:00, every day",
                "每天 00:00、06:00、12:00、18:00",
            ),
            ("*/15 * * * *", "Every 15 minutes", "每 15 分钟"),
            ("* * * * *", "Every minute", "每分钟"),
            ("0 * * * *", "Every hour, on the hour", "每小时整点"),
            ("5 * * * *", "Every hour, at minute 5", "每小时第 5 分"),
            (
                "*/10 9-17 * * 1-5",
                "Every 10 minutes between 09:00–17:59, Monday through Friday",
                "周一至周五 09:00–17:59 每 10 分钟",
            ),
            (
                "0 0 1 * *",
                "At 00:00, on day 1 of the month",
                "每月 1 日 00:00",
            ),
            (
                "0 8 1,15 * *",
                "At 08:00, on days 1 and 15 of the month",
                "每月 1、15 日 08:00",
            ),
            (
                "0 0 1 1 *",
                "At 00:00, on day 1 of the month, in January",
                "1 月 1 日 00:00",
            ),
            (
                "0 12 13 * 5",
                "At 12:00, on day 13 of the month or on Friday",
                "每月 13 日或周五 12:00",
            ),
            (
                "0 */2 * * *",
                "Every 2 hours from 00:00, on the hour",
                "从 00:00 起每 2 小时",
            ),
            (
                "7,19,44 3,9,15,21 * * *",
                "At minute 7, 19 and 44 past hour 3, 9, 15 and 21",
                "3、9、15、21 时的第 7、19、44 分",
            ),
        ];
        for (text, en, zh) in cases {
            assert_eq!(both(text), (en.to_string(), zh.to_string()), "{text}");
        }
    }

    #[test]
    fn daily_and_intervals() {
        assert_eq!(
            both("09:00"),
            ("At 09:00, every day".into(), "每天 09:00".into())
        );
        assert_eq!(
            both("every 30 minutes"),
            ("Every 30 minutes".into(), "每 30 分钟".into())
        );
        assert_eq!(
            both("every 60 minutes"),
            ("Every hour, on the hour".into(), "每小时整点".into())
        );
        assert_eq!(
            both("every 6h"),
            (
                "Every 6 hours from 00:00".into(),
                "从 00:00 起每 6 小时".into()
            )
        );
        assert_eq!(
            both("every 25 minutes").0,
            "Every 25 minutes, restarting at 00:00 each day"
        );
        assert_eq!(both("every 1440 minutes").1, "每天 00:00");
    }
}
