//! The error-rate alert over a sliding window: the counts, the top offenders per dimension and
//! one sample error. Rule: the sample's error text is cleaned and cut to `ERROR_TEXT_MAX`.

use chrono::{DateTime, FixedOffset};

use super::parts::{alert_level, notice, section, truncate_chars, ERROR_TEXT_MAX};
use crate::config::Lang;
pub use crate::model::{ErrorRateAlert, ErrorSample};
use crate::render::clean;
use crate::render::format::{count, percent};
use crate::render::i18n::{message_texts, with_n, MessageTexts};
use crate::render::message::{AlertState, Fact, Message, MessageKind, Section};

pub fn error_rate(
    a: &ErrorRateAlert,
    state: AlertState,
    at: DateTime<FixedOffset>,
    lang: Lang,
) -> Message {
    let t = message_texts(lang);
    let ratio = if a.requests > 0 {
        percent(a.errors as f64 / a.requests as f64)
    } else {
        "—".into()
    };
    let mut sections = offender_sections(t, &a.offenders);
    if let Some(s) = &a.sample {
        sections.push(sample_section(t, s));
    }
    Message {
        state: Some(state),
        level: alert_level(state),
        title: match state {
            AlertState::Firing => {
                format!(
                    "{} · {}",
                    t.error_rate_firing_title,
                    clean::name(&a.subject)
                )
            }
            AlertState::Resolved => format!(
                "{} · {}",
                t.error_rate_resolved_title,
                clean::name(&a.subject)
            ),
        },
        summary: Some(
            with_n(t.error_rate_summary, a.errors)
                .replace("{window}", &a.window_seconds.to_string()),
        ),
        facts: vec![
            Fact::new(t.errors, count(a.errors)),
            Fact::new(t.requests, count(a.requests)),
            Fact::new(t.error_ratio, ratio),
            Fact::new(t.threshold, count(a.threshold)),
        ],
        sections,
        ..notice(
            MessageKind::ErrorRate,
            at,
            lang,
            serde_json::to_value(a).unwrap_or(serde_json::Value::Null),
        )
    }
}

/// One section per dimension: its top offenders with their counts.
fn offender_sections(t: &MessageTexts, offenders: &[(String, Vec<(String, u64)>)]) -> Vec<Section> {
    let mut sections = Vec::new();
    for (dim, top) in offenders {
        sections.push(Section {
            facts: top
                .iter()
                .map(|(v, n)| Fact::new(clean::name(v), count(*n)))
                .collect(),
            ..section(
                format!("{} · {}", t.top_offenders, clean::name(dim)),
                None,
                true,
            )
        });
    }
    sections
}

/// The sample error: its status, model, provider and key as facts, its error text cut short.
fn sample_section(t: &MessageTexts, s: &ErrorSample) -> Section {
    let mut facts = Vec::new();
    if let Some(c) = s.status_code {
        facts.push(Fact::new(t.status, c.to_string()));
    }
    for (label, v) in [
        (t.model, &s.model),
        (t.provider, &s.provider),
        (t.key, &s.key),
    ] {
        if let Some(v) = v {
            facts.push(Fact::new(label, clean::name(v)));
        }
    }
    Section {
        facts,
        text: s
            .error
            .as_deref()
            .map(|e| truncate_chars(e, ERROR_TEXT_MAX)),
        ..section(t.sample, None, true)
    }
}

#[cfg(test)]
mod tests {
    use chrono::{FixedOffset, TimeZone};

    use super::*;
    use crate::render::message::Level;

    #[test]
    fn error_text_is_truncated_and_alert_states_set_levels() {
        let at = FixedOffset::east_opt(8 * 3600)
            .unwrap()
            .with_ymd_and_hms(2026, 11, 22, 9, 0, 0)
            .unwrap();
        let long = "x".repeat(500);
        let a = ErrorRateAlert {
            subject: "global".into(),
            window_seconds: 60,
            errors: 10,
            requests: 0,
            threshold: 10,
            offenders: Vec::new(),
            sample: Some(ErrorSample {
                status_code: None,
                model: None,
                provider: None,
                key: None,
                error: Some(long),
            }),
        };
        let m = error_rate(&a, AlertState::Firing, at, Lang::En);
        let text = m.sections[0].text.as_ref().unwrap();
        assert_eq!(text.chars().count(), ERROR_TEXT_MAX + 1);
        assert_eq!(m.level, Level::Critical);
        let r = error_rate(&a, AlertState::Resolved, at, Lang::En);
        assert_eq!(r.level, Level::Resolved);
        assert_eq!(
            r.facts[2].value, "—",
            "no requests: no ratio, no division by zero"
        );
    }
}
