//! What the tray shows, decided purely from facts and `now`: the state icon (ok, warning,
//! alert, paused, offline, stale — told apart by shape as well as colour) and the menu's text
//! lines (status, today's cost/tokens/requests, error rate, firing alerts, last refresh).
//! Nothing here reads a clock or touches the GUI.

use chrono::{DateTime, Utc};
use relaywatch_core::config::Lang;
use relaywatch_core::model::{Health, Level, RedisState, Snapshot};
use relaywatch_core::service::notices as format;
use serde::Serialize;

use crate::labels as L;

/// The tray icon's state, worst first when several apply (paused overrides all).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TrayState {
    Ok,
    Warning,
    Alert,
    Paused,
    Offline,
    Stale,
}

impl TrayState {
    pub fn as_str(self) -> &'static str {
        match self {
            TrayState::Ok => "ok",
            TrayState::Warning => "warning",
            TrayState::Alert => "alert",
            TrayState::Paused => "paused",
            TrayState::Offline => "offline",
            TrayState::Stale => "stale",
        }
    }

    /// The PNG for this state (64×64, from `icons/make_icons.py`).
    pub fn icon_png(self) -> &'static [u8] {
        match self {
            TrayState::Ok => include_bytes!("../../icons/tray-ok.png"),
            TrayState::Warning => include_bytes!("../../icons/tray-warning.png"),
            TrayState::Alert => include_bytes!("../../icons/tray-alert.png"),
            TrayState::Paused => include_bytes!("../../icons/tray-paused.png"),
            TrayState::Offline => include_bytes!("../../icons/tray-offline.png"),
            TrayState::Stale => include_bytes!("../../icons/tray-stale.png"),
        }
    }
}

/// One alert currently firing, as the desktop heard of it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Firing {
    /// `rule:subject`.
    pub id: String,
    pub level: Level,
    pub title: String,
    pub since: DateTime<Utc>,
}

/// Everything the tray is decided from.
#[derive(Debug, Clone, Default)]
pub struct TrayFacts {
    /// The last snapshot that was read, and when.
    pub snapshot: Option<(Snapshot, DateTime<Utc>)>,
    /// The last refresh attempt failed with this (redacted) reason.
    pub last_error: Option<String>,
    /// The engine's health when it runs (a state Redis is configured).
    pub health: Option<Health>,
    /// Alerts paused until then.
    pub paused_until: Option<DateTime<Utc>>,
    pub firing: Vec<Firing>,
    /// The source is the built-in demo data.
    pub demo: bool,
    /// Seconds between refreshes: data older than two of them (and at least two minutes) is stale.
    pub poll_seconds: u64,
}

/// The icon state for `facts` at `now`.
pub fn state(facts: &TrayFacts, now: DateTime<Utc>) -> TrayState {
    if facts.paused_until.is_some_and(|t| t > now) {
        return TrayState::Paused;
    }
    let Some((_, at)) = &facts.snapshot else {
        return TrayState::Offline;
    };
    if facts
        .health
        .as_ref()
        .is_some_and(|h| h.redis == RedisState::Down)
    {
        return TrayState::Offline;
    }
    let limit = chrono::Duration::seconds((facts.poll_seconds.saturating_mul(2)).max(120) as i64);
    if facts.last_error.is_some() || now - *at > limit {
        return TrayState::Stale;
    }
    if facts.firing.iter().any(|f| f.level == Level::Critical) {
        return TrayState::Alert;
    }
    let failed_delivery = facts
        .health
        .as_ref()
        .and_then(|h| h.last_delivery.as_ref())
        .is_some_and(|d| !d.delivered);
    if failed_delivery || facts.firing.iter().any(|f| f.level == Level::Warning) {
        return TrayState::Warning;
    }
    TrayState::Ok
}

/// The menu's text lines.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MenuText {
    pub status: String,
    pub cost: String,
    pub tokens: String,
    pub requests: String,
    pub error_rate: String,
    pub last_refresh: String,
    /// One line per firing alert, worst first.
    pub firing: Vec<String>,
    pub tooltip: String,
}

fn ago(secs: i64, lang: Lang) -> String {
    match secs {
        s if s < 5 => L::JUST_NOW.get(lang).to_string(),
        s if s < 90 => L::SECONDS_AGO.fill(lang, &[&s.to_string()]),
        s if s < 90 * 60 => L::MINUTES_AGO.fill(lang, &[&((s + 30) / 60).to_string()]),
        s => L::HOURS_AGO.fill(lang, &[&((s + 1800) / 3600).to_string()]),
    }
}

fn local_hm(t: DateTime<Utc>) -> String {
    t.with_timezone(&chrono::Local).format("%H:%M").to_string()
}

/// The menu text for `facts` at `now`, in `lang`.
pub fn menu_text(facts: &TrayFacts, now: DateTime<Utc>, lang: Lang) -> MenuText {
    let st = state(facts, now);
    let mut status = match st {
        TrayState::Ok => L::ALL_GOOD.get(lang).to_string(),
        TrayState::Warning => L::WARNING.get(lang).to_string(),
        TrayState::Alert => L::ALERT_FIRING.get(lang).to_string(),
        TrayState::Paused => L::PAUSED_UNTIL.fill(
            lang,
            &[&facts.paused_until.map(local_hm).unwrap_or_default()],
        ),
        TrayState::Offline => match (&facts.snapshot, &facts.health) {
            (None, _) => match &facts.last_error {
                Some(e) => L::OFFLINE.fill(lang, &[e]),
                None => L::STARTING.get(lang).to_string(),
            },
            _ => L::STATE_REDIS_DOWN.get(lang).to_string(),
        },
        TrayState::Stale => match &facts.last_error {
            Some(e) => L::STALE.fill(lang, &[e]),
            None => L::STALE_NO_DATA.get(lang).to_string(),
        },
    };
    if facts.demo {
        status = L::DEMO.fill(lang, &[&status]);
    }
    let (cost, tokens, requests) = match &facts.snapshot {
        Some((s, _)) => (
            format::cost(s.usage_today.cost_usd),
            // All four kinds, as the dashboard's "Tokens today" card counts them.
            format::tokens(s.usage_today.all_tokens),
            format::count(s.usage_today.requests),
        ),
        None => ("—".to_string(), "—".to_string(), "—".to_string()),
    };
    let error_rate = match facts
        .firing
        .iter()
        .find(|f| f.id.starts_with("error_rate:"))
    {
        Some(f) => L::ERROR_RATE_OVER.fill(lang, &[&f.title]),
        None => L::ERROR_RATE_BELOW.get(lang).to_string(),
    };
    let last_refresh = match &facts.snapshot {
        Some((_, at)) => L::LAST_REFRESH.fill(
            lang,
            &[&local_hm(*at), &ago((now - *at).num_seconds(), lang)],
        ),
        None => L::LAST_REFRESH_NEVER.get(lang).to_string(),
    };
    let mut firing: Vec<&Firing> = facts.firing.iter().collect();
    firing.sort_by_key(|f| (f.level != Level::Critical, f.since));
    let firing = firing
        .iter()
        .map(|f| L::FIRING_LINE.fill(lang, &[&f.title, &local_hm(f.since)]))
        .collect();
    let tooltip = format!("relaywatch: {}", status);
    MenuText {
        status,
        cost: L::COST.fill(lang, &[&cost]),
        tokens: L::TOKENS.fill(lang, &[&tokens]),
        requests: L::REQUESTS.fill(lang, &[&requests]),
        error_rate,
        last_refresh,
        firing,
        tooltip,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use relaywatch_core::daemon::StatusBoard;
    use relaywatch_core::model::LastDelivery;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 7, 0, 0).unwrap()
    }

    fn fresh() -> TrayFacts {
        TrayFacts {
            snapshot: Some((
                relaywatch_testkit::samples::sample_snapshot(),
                now() - chrono::Duration::seconds(3),
            )),
            poll_seconds: 5,
            ..Default::default()
        }
    }

    fn firing(level: Level, id: &str) -> Firing {
        Firing {
            id: id.into(),
            level,
            title: "Errors on provider 3".into(),
            since: now(),
        }
    }

    #[test]
    fn fresh_data_without_alerts_is_ok() {
        assert_eq!(state(&fresh(), now()), TrayState::Ok);
        let t = menu_text(&fresh(), now(), Lang::En);
        assert_eq!(t.status, "All good");
        assert!(t.cost.starts_with("Today: "), "{t:?}");
        assert!(t.last_refresh.contains("just now"), "{t:?}");
    }

    #[test]
    fn firing_levels_and_failed_deliveries_raise_the_state() {
        let mut f = fresh();
        f.firing.push(firing(Level::Warning, "quota:80"));
        assert_eq!(state(&f, now()), TrayState::Warning);
        f.firing.push(firing(Level::Critical, "error_rate:global"));
        assert_eq!(state(&f, now()), TrayState::Alert);
        assert!(menu_text(&f, now(), Lang::En)
            .error_rate
            .contains("over threshold"));
        let mut g = fresh();
        let board = StatusBoard::new("t", now());
        let mut h = board.health();
        h.redis = RedisState::Up;
        h.last_delivery = Some(LastDelivery {
            at: now(),
            channel: "team".into(),
            kind: "alert".into(),
            delivered: false,
        });
        g.health = Some(h);
        assert_eq!(state(&g, now()), TrayState::Warning);
    }

    #[test]
    fn no_data_is_offline_old_data_is_stale_and_pause_wins() {
        let mut f = TrayFacts {
            poll_seconds: 5,
            ..Default::default()
        };
        assert_eq!(state(&f, now()), TrayState::Offline);
        f.last_error = Some("cannot reach redis://***@127.0.0.1:1".into());
        assert!(menu_text(&f, now(), Lang::En)
            .status
            .starts_with("Offline: cannot reach"));
        let mut s = fresh();
        s.snapshot.as_mut().unwrap().1 = now() - chrono::Duration::minutes(10);
        assert_eq!(state(&s, now()), TrayState::Stale);
        s.paused_until = Some(now() + chrono::Duration::minutes(30));
        assert_eq!(state(&s, now()), TrayState::Paused);
        s.paused_until = Some(now() - chrono::Duration::minutes(1));
        assert_eq!(state(&s, now()), TrayState::Stale);
    }

    #[test]
    fn demo_data_says_so() {
        let mut f = fresh();
        f.demo = true;
        assert!(menu_text(&f, now(), Lang::En).status.contains("demo data"));
        let zh = menu_text(&f, now(), Lang::ZhCn);
        assert!(zh.status.starts_with("一切正常 — 演示数据"), "{zh:?}");
        assert!(zh.cost.starts_with("今日费用：$"), "{zh:?}");
        assert!(zh.last_refresh.contains("（刚刚）"), "{zh:?}");
    }

    #[test]
    fn every_state_has_a_distinct_png() {
        let all = [
            TrayState::Ok,
            TrayState::Warning,
            TrayState::Alert,
            TrayState::Paused,
            TrayState::Offline,
            TrayState::Stale,
        ];
        for (i, a) in all.iter().enumerate() {
            assert!(a.icon_png().starts_with(b"\x89PNG"));
            for b in &all[i + 1..] {
                assert_ne!(a.icon_png(), b.icon_png());
            }
        }
    }
}
