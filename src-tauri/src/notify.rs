//! Native desktop notifications: alerts heard together become ONE grouped notification (the
//! worst level sets the urgency), a delivery that finally failed becomes a local one. Building
//! a note is pure; `show` is the thin notify-rust edge (D-Bus `org.freedesktop.Notifications`
//! on Linux). Notes carry titles and channel names only, never a webhook URL or token.

use relaywatch_core::config::Lang;
use relaywatch_core::model::{LastDelivery, Level};
use relaywatch_core::service::notices::Message;
use serde::Serialize;

use crate::labels as L;

/// The app name notifications are sent under.
pub const APP_NAME: &str = "relaywatch";

/// How pressing a note is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Urgency {
    Low,
    Normal,
    Critical,
}

/// One notification to show.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Note {
    pub summary: String,
    pub body: String,
    pub urgency: Urgency,
}

/// The part of a rendered alert message a note shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Heard {
    pub level: Level,
    pub title: String,
    pub summary: Option<String>,
}

impl Heard {
    pub fn from_message(m: &Message) -> Heard {
        Heard {
            level: m.level,
            title: m.title.clone(),
            summary: m.summary.clone(),
        }
    }
}

fn rank(l: Level) -> u8 {
    match l {
        Level::Critical => 3,
        Level::Warning => 2,
        Level::Resolved => 1,
        Level::Info => 0,
    }
}

fn urgency(l: Level) -> Urgency {
    match l {
        Level::Critical => Urgency::Critical,
        Level::Warning => Urgency::Normal,
        Level::Resolved | Level::Info => Urgency::Low,
    }
}

/// Most lines a grouped note lists before "… and N more".
pub const GROUP_LINES: usize = 5;

/// One note for alerts heard together; `None` for none.
pub fn group(heard: &[Heard], lang: Lang) -> Option<Note> {
    let worst = heard.iter().map(|h| h.level).max_by_key(|l| rank(*l))?;
    if let [one] = heard {
        return Some(Note {
            summary: one.title.clone(),
            body: one.summary.clone().unwrap_or_default(),
            urgency: urgency(one.level),
        });
    }
    let mut sorted: Vec<&Heard> = heard.iter().collect();
    sorted.sort_by_key(|h| std::cmp::Reverse(rank(h.level)));
    let mut body: Vec<String> = sorted
        .iter()
        .take(GROUP_LINES)
        .map(|h| format!("• {}", h.title))
        .collect();
    if heard.len() > GROUP_LINES {
        body.push(L::AND_MORE.fill(lang, &[&(heard.len() - GROUP_LINES).to_string()]));
    }
    let resolved = heard.iter().filter(|h| h.level == Level::Resolved).count();
    let summary = if resolved == heard.len() {
        L::ALERTS_RESOLVED.fill(lang, &[&heard.len().to_string()])
    } else {
        L::ALERTS.fill(lang, &[&heard.len().to_string()])
    };
    Some(Note {
        summary,
        body: body.join("\n"),
        urgency: urgency(worst),
    })
}

/// The local note for a chat delivery that failed for good.
pub fn delivery_failed(d: &LastDelivery, lang: Lang) -> Note {
    Note {
        summary: L::DELIVERY_FAILED.fill(lang, &[&d.channel]),
        body: L::DELIVERY_FAILED_BODY.fill(lang, &[&d.kind]),
        urgency: Urgency::Normal,
    }
}

/// Shows `note` through the desktop's notification server.
pub fn show(note: &Note) -> Result<(), String> {
    let mut n = notify_rust::Notification::new();
    n.appname(APP_NAME)
        .summary(&note.summary)
        .body(&note.body)
        .icon("dialog-information");
    #[cfg(all(unix, not(target_os = "macos")))]
    {
        n.urgency(match note.urgency {
            Urgency::Low => notify_rust::Urgency::Low,
            Urgency::Normal => notify_rust::Urgency::Normal,
            Urgency::Critical => notify_rust::Urgency::Critical,
        });
    }
    n.show().map(|_| ()).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(level: Level, title: &str) -> Heard {
        Heard {
            level,
            title: title.into(),
            summary: Some("details".into()),
        }
    }

    #[test]
    fn one_alert_is_its_own_note() {
        let n = group(&[h(Level::Warning, "Quota 80% on key a")], Lang::En).unwrap();
        assert_eq!(n.summary, "Quota 80% on key a");
        assert_eq!(n.body, "details");
        assert_eq!(n.urgency, Urgency::Normal);
        assert_eq!(group(&[], Lang::En), None);
    }

    #[test]
    fn several_alerts_group_into_one_note_worst_first() {
        let mut heard = vec![
            h(Level::Warning, "w1"),
            h(Level::Critical, "c1"),
            h(Level::Resolved, "r1"),
        ];
        for i in 0..4 {
            heard.push(h(Level::Warning, &format!("w{}", i + 2)));
        }
        let n = group(&heard, Lang::En).unwrap();
        assert_eq!(n.summary, "relaywatch: 7 alerts");
        assert_eq!(n.urgency, Urgency::Critical);
        assert!(n.body.starts_with("• c1\n• w1"), "{}", n.body);
        assert!(n.body.ends_with("… and 2 more"), "{}", n.body);
        let all_clear = group(
            &[h(Level::Resolved, "a"), h(Level::Resolved, "b")],
            Lang::En,
        )
        .unwrap();
        assert_eq!(all_clear.summary, "relaywatch: 2 alerts resolved");
        assert_eq!(all_clear.urgency, Urgency::Low);
        let zh = group(&heard, Lang::ZhCn).unwrap();
        assert_eq!(zh.summary, "relaywatch：7 条告警");
        assert!(zh.body.ends_with("… 另有 2 条"), "{}", zh.body);
    }

    #[test]
    fn failed_delivery_names_the_channel_only() {
        let d = LastDelivery {
            at: chrono::Utc::now(),
            channel: "team".into(),
            kind: "alert".into(),
            delivered: false,
        };
        let n = delivery_failed(&d, Lang::En);
        assert_eq!(n.summary, "relaywatch: delivery to team failed");
        assert!(!n.body.contains("http"));
        let zh = delivery_failed(&d, Lang::ZhCn);
        assert_eq!(zh.summary, "relaywatch：发往 team 的消息投递失败");
    }
}
