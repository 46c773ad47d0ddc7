//! Sample alerts for `--demo-alert`: two transitions at once (an error-rate alert and a
//! breaker alert), sent through the same channel the daemon reports alerts on, so the
//! grouping, filtering and native notification path can be seen and tested without a relay.

use chrono::{DateTime, Utc};
use relaywatch_core::model::{
    Alert, AlertPayload, AlertState, BreakerAlert, ErrorRateAlert, RuleKind,
};

/// Two firing alerts as of `now`.
pub fn alerts(now: DateTime<Utc>) -> Vec<Alert> {
    let episode = now.timestamp().to_string();
    vec![
        Alert {
            rule: RuleKind::ErrorRate,
            subject: "provider:demo".into(),
            state: AlertState::Firing,
            episode: episode.clone(),
            first_seen: now,
            at: now,
            payload: AlertPayload::ErrorRate(ErrorRateAlert {
                subject: "provider:demo".into(),
                window_seconds: 60,
                errors: 14,
                requests: 52,
                threshold: 10,
                offenders: vec![("status".into(), vec![("529".into(), 9), ("500".into(), 5)])],
                sample: None,
            }),
        },
        Alert {
            rule: RuleKind::Breaker,
            subject: "account:demo".into(),
            state: AlertState::Firing,
            episode,
            first_seen: now,
            at: now,
            payload: AlertPayload::Breaker(BreakerAlert {
                subject: "account:demo".into(),
                failures: 5,
                expected_recovery: None,
                last_error: Some("upstream returned 529".into()),
                name: None,
            }),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use relaywatch_core::config::Lang;

    #[test]
    fn sample_alerts_render_with_titles() {
        let tz = chrono::FixedOffset::east_opt(0).unwrap();
        for a in alerts(Utc::now()) {
            let m = a.message(Lang::En, tz);
            assert!(!m.title.is_empty());
        }
    }
}
