//! The alert state store against a real redis-server: silences and the pause seen by every
//! instance, each repeat of a still-firing alert claimed by exactly one of three instances, and
//! alerts held during quiet hours coming back as one digest when they end.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, FixedOffset, TimeZone, Utc};
use relaywatch_core::config::Lang;
use relaywatch_core::render::message::{AlertState, MessageKind};
use relaywatch_core::render::messages::ErrorRateAlert;
use relaywatch_core::rules::alert_state::{
    digest_key, digest_message, route, AlertPolicyInput, Delivery, RepeatPolicy, Suppression,
};
use relaywatch_core::rules::{Alert, AlertPayload, RuleKind};
use relaywatch_core::source::redis_io::connect;
use relaywatch_core::store::alert_state::AlertStateStore;
use relaywatch_testkit::fresh_db;

fn t(h: i64, m: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 16, 0, 0).unwrap()
        + Duration::hours(h)
        + Duration::minutes(m)
}

async fn store(url: &str) -> AlertStateStore {
    AlertStateStore::new(
        connect(url, StdDuration::from_secs(5)).await.unwrap(),
        "rw:",
    )
}

fn alert(subject: &str, state: AlertState, at: DateTime<Utc>) -> Alert {
    Alert {
        rule: RuleKind::ErrorRate,
        subject: subject.into(),
        state,
        episode: "7".into(),
        first_seen: at,
        at,
        payload: AlertPayload::ErrorRate(ErrorRateAlert {
            subject: subject.into(),
            window_seconds: 60,
            errors: 12,
            requests: 30,
            threshold: 10,
            offenders: Vec::new(),
            sample: None,
        }),
    }
}

fn input(channels: &[&str]) -> AlertPolicyInput {
    AlertPolicyInput {
        enabled: true,
        default_channels: channels.iter().map(|c| c.to_string()).collect(),
        ..AlertPolicyInput::default()
    }
}

#[tokio::test]
async fn silences_and_pause_are_shared_by_every_instance() {
    let url = fresh_db();
    let (mut a, mut b) = (store(&url).await, store(&url).await);
    let s = a
        .add_silence(
            Some(RuleKind::ErrorRate),
            Some("provider:*".into()),
            t(11, 0),
            "upstream maintenance",
            t(9, 0),
        )
        .await
        .unwrap();
    assert_eq!(s.id, "s1");
    let other = a
        .add_silence(None, Some("global".into()), t(12, 0), "noise", t(9, 0))
        .await
        .unwrap();
    assert_eq!(other.id, "s2");

    let seen = b.silences(t(10, 0)).await.unwrap();
    assert_eq!(seen.len(), 2);
    let mut i = input(&["ops"]);
    i.silences = seen;
    let out = route(
        &alert("provider:3", AlertState::Firing, t(10, 0)),
        &i,
        t(10, 0),
    );
    assert!(out.routed.is_empty());
    assert!(matches!(&out.suppressed[0], Suppression::Silenced { id, .. } if id == "s1"));

    assert!(b.expire_silence("s1", t(10, 30)).await.unwrap());
    assert!(!b.expire_silence("s9", t(10, 30)).await.unwrap());
    let left: Vec<String> = a
        .silences(t(10, 31))
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(left, ["s2"]);
    assert!(a.silences(t(12, 0)).await.unwrap().is_empty(), "expired");

    assert_eq!(a.paused_until(t(9, 0)).await.unwrap(), None);
    let far = Utc::now() + Duration::days(1);
    a.pause(far).await.unwrap();
    let until = b.paused_until(t(9, 0)).await.unwrap().unwrap();
    assert_eq!(until.timestamp_millis(), far.timestamp_millis());
    let mut i = input(&["ops"]);
    i.paused_until = Some(until);
    assert!(matches!(
        route(&alert("global", AlertState::Firing, t(9, 0)), &i, t(9, 0)).suppressed[0],
        Suppression::Paused { .. }
    ));
    b.resume().await.unwrap();
    assert_eq!(a.paused_until(t(9, 0)).await.unwrap(), None);
}

#[tokio::test]
async fn each_repeat_is_claimed_by_one_of_three_instances() {
    let url = fresh_db();
    let mut s = [store(&url).await, store(&url).await, store(&url).await];
    let firing = alert("provider:3", AlertState::Firing, t(9, 0));
    s[0].record_sent(&firing, t(9, 0)).await.unwrap();
    let policy = RepeatPolicy {
        interval: Some(Duration::minutes(30)),
        max_repeats: 2,
    };
    let mut sent = Vec::new();
    for now in [t(9, 10), t(9, 30), t(9, 40), t(10, 0), t(10, 30), t(12, 0)] {
        let [a, b, c] = &mut s;
        let (x, y, z) = tokio::join!(
            a.take_due_repeats(policy, now),
            b.take_due_repeats(policy, now),
            c.take_due_repeats(policy, now)
        );
        for got in [x, y, z] {
            sent.extend(got.unwrap().into_iter().map(|a| (a.episode, a.at)));
        }
    }
    assert_eq!(
        sent,
        [
            ("7:repeat1".to_string(), t(9, 30)),
            ("7:repeat2".to_string(), t(10, 0))
        ]
    );
    // Resolved: no more repeats, and a new firing counts afresh.
    s[1].record_sent(
        &alert("provider:3", AlertState::Resolved, t(12, 5)),
        t(12, 5),
    )
    .await
    .unwrap();
    assert!(s[2]
        .take_due_repeats(policy, t(14, 0))
        .await
        .unwrap()
        .is_empty());
    let records = s[0].records().await.unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].state, AlertState::Resolved);
}

#[tokio::test]
async fn quiet_hours_hold_alerts_for_one_digest() {
    let url = fresh_db();
    let (mut a, mut b) = (store(&url).await, store(&url).await);
    let mut i = input(&["team-wecom", "ops-slack"]);
    i.quiet_hours.insert(
        "team-wecom".into(),
        relaywatch_core::config::alerts::QuietWindow {
            start: chrono::NaiveTime::from_hms_opt(22, 0, 0).unwrap(),
            end: chrono::NaiveTime::from_hms_opt(8, 0, 0).unwrap(),
            zone: relaywatch_core::config::alerts::QuietZone::Fixed(
                FixedOffset::east_opt(8 * 3600).unwrap(),
            ),
        },
    );
    let mut now_sent = 0;
    for (n, (subject, state, at)) in [
        ("provider:3", AlertState::Firing, t(22, 30)),
        ("provider:3", AlertState::Resolved, t(23, 10)),
        ("global", AlertState::Firing, t(26, 0)),
    ]
    .into_iter()
    .enumerate()
    {
        let al = alert(subject, state, at);
        let out = route(&al, &i, at);
        for r in out.routed {
            match r.delivery {
                Delivery::Now => now_sent += 1,
                Delivery::Digest { release_at } => {
                    assert_eq!(release_at, t(32, 0), "#{n}");
                    let s = if n % 2 == 0 { &mut a } else { &mut b };
                    s.hold(&r.channel, &out.alert, release_at).await.unwrap();
                }
            }
        }
    }
    assert_eq!(now_sent, 3, "the other channel is not quiet");
    assert!(a.due_digests(t(31, 59)).await.unwrap().is_empty());
    let due = b.due_digests(t(32, 0)).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].channel, "team-wecom");
    assert_eq!(due[0].alerts.len(), 3);
    // Another instance reading at once gets the same digest: the outbox keeps one per key.
    let again = a.due_digests(t(32, 0)).await.unwrap();
    assert_eq!(
        digest_key(&again[0].channel, again[0].release_at),
        digest_key(&due[0].channel, due[0].release_at)
    );
    let m = digest_message(
        &due[0].alerts,
        Lang::ZhCn,
        FixedOffset::east_opt(8 * 3600).unwrap(),
        t(32, 0),
    );
    assert_eq!(m.kind, MessageKind::Digest);
    assert_eq!(m.sections[0].table.as_ref().unwrap().rows.len(), 3);
    b.ack_digest(&due[0]).await.unwrap();
    assert!(a.due_digests(t(40, 0)).await.unwrap().is_empty());
}
