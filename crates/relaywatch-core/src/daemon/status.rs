//! The daemon's health as the `/health` endpoint and the tray show it: one shared board that
//! every loop writes its latest fact into, and a JSON view of it that carries nothing secret
//! (the Redis address is masked, errors are redacted before they get here).

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

pub use crate::model::{Health, LastDelivery, NextFire, RedisState, TailHealth};

#[derive(Debug)]
struct Inner {
    health: Health,
    standby: bool,
}

/// The shared, cheaply cloned board. Watchers (the tray) are told when what they show changes:
/// Redis going up or down, standby, a finished delivery, a reload refused or cleared — not the
/// routine facts every ping rewrites.
#[derive(Debug, Clone)]
pub struct StatusBoard(Arc<Mutex<Inner>>, Arc<tokio::sync::watch::Sender<u64>>);

impl StatusBoard {
    pub fn new(instance: &str, now: DateTime<Utc>) -> Self {
        let changes = Arc::new(tokio::sync::watch::Sender::new(0));
        StatusBoard(
            Arc::new(Mutex::new(Inner {
                health: Health {
                    status: "ok".into(),
                    redis: RedisState::Starting,
                    redis_error: None,
                    redis_since: None,
                    last_snapshot_at: None,
                    outbox_depth: None,
                    last_delivery: None,
                    next_fires: Vec::new(),
                    reload_error: None,
                    events: None,
                    instance: instance.to_string(),
                    version: env!("CARGO_PKG_VERSION").to_string(),
                    started_at: now,
                },
                standby: false,
            })),
            changes,
        )
    }

    /// A receiver told of each change watchers show (see the type's doc).
    pub fn changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.1.subscribe()
    }

    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        let mut g = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let before = shown(&g);
        let r = f(&mut g);
        let standby = g.standby;
        let h = &mut g.health;
        let tail_down = h.events.as_ref().is_some_and(|t| t.state == "down");
        h.status = if h.redis == RedisState::Down || tail_down {
            "degraded".into()
        } else if standby {
            "standby".into()
        } else {
            "ok".into()
        };
        if shown(&g) != before {
            self.1.send_modify(|n| *n = n.wrapping_add(1));
        }
        r
    }

    /// A copy of the current health.
    pub fn health(&self) -> Health {
        self.with(|i| i.health.clone())
    }

    /// `true` while the status is `ok` or `standby` (what `relaywatch health` exits 0 on).
    pub fn healthy(&self) -> bool {
        self.health().status != "degraded"
    }

    /// The tail's latest state (see [`TailHealth`]).
    pub fn tail(&self, t: TailHealth) {
        self.with(|i| i.health.events = Some(t));
    }

    pub fn set_standby(&self, standby: bool) {
        self.with(|i| i.standby = standby);
    }

    pub fn redis_up(&self, now: DateTime<Utc>) {
        crate::metrics::state_redis(true);
        self.with(|i| {
            if i.health.redis != RedisState::Up {
                i.health.redis_since = Some(now);
            }
            i.health.redis = RedisState::Up;
            i.health.redis_error = None;
        });
    }

    /// Redis is unreachable; `reason` must already be redacted.
    pub fn redis_down(&self, reason: &str, now: DateTime<Utc>) {
        crate::metrics::state_redis(false);
        self.with(|i| {
            if i.health.redis != RedisState::Down {
                i.health.redis_since = Some(now);
            }
            i.health.redis = RedisState::Down;
            i.health.redis_error = Some(reason.to_string());
        });
    }

    pub fn snapshot_taken(&self, at: DateTime<Utc>) {
        self.with(|i| i.health.last_snapshot_at = Some(at));
    }

    pub fn outbox_depth(&self, depth: u64) {
        self.with(|i| i.health.outbox_depth = Some(depth));
    }

    pub fn delivered(&self, d: LastDelivery) {
        self.with(|i| i.health.last_delivery = Some(d));
    }

    pub fn next_fires(&self, fires: Vec<NextFire>) {
        self.with(|i| i.health.next_fires = fires);
    }

    pub fn reload_error(&self, reason: Option<String>) {
        self.with(|i| i.health.reload_error = reason);
    }
}

/// What a watcher of the board shows (compared before and after each write).
type Shown = (
    RedisState,
    bool,
    Option<LastDelivery>,
    Option<String>,
    Option<String>,
);

fn shown(i: &Inner) -> Shown {
    (
        i.health.redis,
        i.standby,
        i.health.last_delivery.clone(),
        i.health.reload_error.clone(),
        i.health.events.as_ref().map(|t| t.state.clone()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_follows_redis_and_standby() {
        let t = DateTime::parse_from_rfc3339("2026-11-22T09:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let b = StatusBoard::new("host-1", t);
        assert_eq!(b.health().status, "ok");
        b.set_standby(true);
        assert_eq!(b.health().status, "standby");
        assert!(b.healthy());
        b.redis_down("connection refused", t);
        let h = b.health();
        assert_eq!(h.status, "degraded");
        assert_eq!(h.redis_error.as_deref(), Some("connection refused"));
        assert!(!b.healthy());
        b.redis_up(t);
        assert_eq!(b.health().status, "standby");
        assert_eq!(b.health().redis_error, None);
    }

    #[test]
    fn watchers_are_told_of_what_they_show_and_not_of_routine_writes() {
        let t = Utc::now();
        let b = StatusBoard::new("host-1", t);
        let rx = b.changes();
        b.redis_up(t);
        assert!(rx.has_changed().unwrap(), "starting → up is news");
        let seen = *rx.borrow();
        // A ping that finds Redis up again, the depth, the next fires: nothing to show.
        b.redis_up(t);
        b.outbox_depth(3);
        b.next_fires(Vec::new());
        let _ = b.health();
        assert_eq!(*rx.borrow(), seen);
        b.delivered(LastDelivery {
            at: t,
            channel: "ops".into(),
            kind: "alert".into(),
            delivered: false,
        });
        assert_eq!(*rx.borrow(), seen + 1);
        b.redis_down("connection refused", t);
        b.reload_error(Some("bad cron".into()));
        assert_eq!(*rx.borrow(), seen + 3);
    }
}
